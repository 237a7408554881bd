"""A catalogue of hostile and broken submissions, built from raw OOXML parts with zipfile so that
no library "cleans" the payload on the way out.

Adapted from research/badfiles/gen.py, gen_extra.py and gen_corrupt.py (measured there against
every reader); sizes are scaled so the whole catalogue is generated in about a second, while each
bomb still inflates far past the preflight caps.
"""

from __future__ import annotations

import atexit
import io
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
CT = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WB = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="記入シート" sheetId="1" r:id="rId1"/></sheets></workbook>"""
WB_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""
SST_OK = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst {NS} count="2" uniqueCount="2"><si><t>項目ID</t></si><si><t>記載内容</t></si></sst>'
OK_ROWS = (
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
    '<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="inlineStr"><is><t>x</t></is></c></row>'
)


def sheet_xml(rows: str, dim: str = "A1:B2", prolog: str = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n') -> str:
    return f'{prolog}<worksheet {NS}><dimension ref="{dim}"/><sheetData>{rows}</sheetData></worksheet>'


def write_xlsx(
    path: Path | io.BytesIO,
    sheet: str | None = None,
    sst: str | None = SST_OK,
    extra: dict | None = None,
    stream_sheet: Callable | None = None,
    ct: str = CT,
) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", RELS)
        z.writestr("xl/workbook.xml", WB)
        z.writestr("xl/_rels/workbook.xml.rels", WB_RELS)
        if stream_sheet is not None:
            with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
                stream_sheet(f)
        else:
            z.writestr("xl/worksheets/sheet1.xml", sheet if sheet is not None else sheet_xml(OK_ROWS))
        if sst is not None:
            z.writestr("xl/sharedStrings.xml", sst)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


LOL = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
"""


def legacy_xls_bytes() -> bytes:
    """A minimal Compound File (CFB v3) holding one 'Workbook' stream: what a BIFF8 .xls is made of."""
    sector = 512
    payload = b"\x09\x08\x10\x00\x00\x06\x05\x00" + b"\x00" * (4096 - 8)  # BIFF8 BOF, padded
    n_data = len(payload) // sector
    free, end, fatsect, nostream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, 1, 1, 0, 4096, end, 0, end, 0)
    difat = [0] + [free] * 108
    struct.pack_into("<109I", header, 76, *difat)
    fat = [fatsect, end] + [3 + i for i in range(n_data - 1)] + [end]
    fat += [free] * (128 - len(fat))
    fat_bytes = struct.pack("<128I", *fat)

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00" if name else b""
        data = bytearray(128)
        data[0 : len(raw)] = raw
        struct.pack_into("<HBB", data, 64, len(raw), kind, 1)
        struct.pack_into("<III", data, 68, nostream, nostream, child)
        struct.pack_into("<IQ", data, 116, start, size)
        return bytes(data)

    directory = entry("Root Entry", 5, 1, end, 0) + entry("Workbook", 2, nostream, 2, len(payload))
    directory += entry("", 0, nostream, 0, 0) * 2
    return bytes(header) + fat_bytes + directory + payload


def _cell_bomb(f) -> None:  # 1.6 GB of <c><v>1</v></c> in research; 128 MiB here is enough to trip every cap
    f.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet {NS}><sheetData>'.encode())
    row = b"<row>" + b"<c><v>1</v></c>" * 100 + b"</row>"
    chunk = row * 1024
    for _ in range(90):
        f.write(chunk)
    f.write(b"</sheetData></worksheet>")


def _whitespace_bomb(f) -> None:
    f.write(sheet_xml(OK_ROWS).split("</sheetData>")[0].encode())
    block = b" " * (1 << 20)
    for _ in range(256):
        f.write(block)
    f.write(b"</sheetData></worksheet>")


def make_catalogue(folder: Path, valid: bytes) -> dict[str, tuple[Path, str]]:
    """Write every hostile case into folder. Returns name → (path, the rule code that must answer it).

    ``valid`` is a real template workbook; cases that damage a file start from it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    cases: dict[str, tuple[Path, str]] = {}

    def add(name: str, code: str, write: Callable[[Path], object]) -> None:
        path = folder / name
        write(path)
        cases[name] = (path, code)

    add("empty.xlsx", "F-NOT-XLSX", lambda p: p.write_bytes(b""))
    add("text.xlsx", "F-NOT-XLSX", lambda p: p.write_bytes(b"This is not a spreadsheet\n" * 40))
    add("csv_renamed.xlsx", "F-NOT-XLSX", lambda p: p.write_text("項目ID,記載内容\n1,x\n", encoding="utf-8"))
    add("xls_renamed.xlsx", "F-LEGACY-XLS", lambda p: p.write_bytes(legacy_xls_bytes()))
    add("truncated.xlsx", "F-CORRUPT", lambda p: p.write_bytes(valid[: len(valid) // 2]))
    add("deflate_damaged.xlsx", "F-CORRUPT", lambda p: p.write_bytes(_damage_member(valid)))

    def encrypted(p: Path) -> None:
        from msoffcrypto.format.ooxml import OOXMLFile

        with open(p, "wb") as out:
            OOXMLFile(io.BytesIO(valid)).encrypt("secret", out)

    add("encrypted.xlsx", "F-ENCRYPTED", encrypted)
    add(
        "macro.xlsx",
        "F-MACRO",
        lambda p: p.write_bytes(_with_extra_part(valid, "xl/vbaProject.bin", b"\xd0\xcf\x11\xe0fake-vba")),
    )
    add("zip_slip.xlsx", "F-UNREADABLE", lambda p: p.write_bytes(_with_extra_part(valid, "../../evil.xml", b"<x/>")))
    add("zipbomb_cells.xlsx", "F-TOO-LARGE", lambda p: write_xlsx(p, stream_sheet=_cell_bomb))
    add("zipbomb_whitespace.xlsx", "F-TOO-LARGE", lambda p: write_xlsx(p, stream_sheet=_whitespace_bomb))
    add(
        "huge_shared_string.xlsx",
        "F-TOO-LARGE",
        lambda p: write_xlsx(p, sst=f'<?xml version="1.0"?>\n<sst {NS}><si><t>{"A" * (80 * 2**20)}</t></si></sst>'),
    )
    add("billion_laughs_sst.xlsx", "F-UNREADABLE", lambda p: write_xlsx(p, sst=LOL + f"<sst {NS}><si><t>&lol9;</t></si></sst>"))
    add(
        "billion_laughs_sheet.xlsx",
        "F-UNREADABLE",
        lambda p: write_xlsx(p, sheet_xml('<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>', prolog=LOL)),
    )
    add(
        "xxe_file.xlsx",
        "F-UNREADABLE",
        lambda p: write_xlsx(
            p,
            sst=(
                '<?xml version="1.0"?>\n<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>\n'
                f"<sst {NS}><si><t>&xxe;</t></si></sst>"
            ),
        ),
    )
    add(
        "xxe_external_dtd.xlsx",
        "F-UNREADABLE",
        lambda p: write_xlsx(
            p,
            sst=(
                f'<?xml version="1.0"?>\n<!DOCTYPE sst SYSTEM "http://127.0.0.1:9/evil.dtd">\n<sst {NS}><si><t>x</t></si></sst>'
            ),
        ),
    )
    add(
        "cell_at_XFD1048576.xlsx",
        "F-OUTSIDE-TEMPLATE",
        lambda p: write_xlsx(
            p, sheet_xml(OK_ROWS + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', dim="A1:XFD1048576")
        ),
    )
    add(
        "cell_at_XFD2.xlsx",
        "F-OUTSIDE-TEMPLATE",
        lambda p: write_xlsx(
            p,
            sheet_xml(
                '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2"><v>1</v></c><c r="XFD2"><v>1</v></c></row>',
                dim="A1:XFD2",
            ),
        ),
    )
    add(
        "row_2000000.xlsx",
        "F-CORRUPT",
        lambda p: write_xlsx(p, sheet_xml(OK_ROWS + '<row r="2000000"><c r="A2000000"><v>7</v></c></row>', dim="A1:B2000000")),
    )
    add("million_rows_claimed.xlsx", "F-TOO-LARGE", lambda p: write_xlsx(p, stream_sheet=_many_rows))
    return cases


@lru_cache(maxsize=2)
def shared_catalogue(template: Path) -> dict[str, tuple[Path, str]]:
    """make_catalogue once per session and template (the bombs take seconds to write), in a
    temporary folder removed at exit; shared by the catalogue tests."""
    folder = Path(tempfile.mkdtemp(prefix="annex-hostile-"))
    atexit.register(shutil.rmtree, folder, True)
    return make_catalogue(folder, template.read_bytes())


def _many_rows(f) -> None:  # a sheet that really holds 50,000 rows (no r= attributes): far past any template
    f.write(f'<?xml version="1.0"?>\n<worksheet {NS}><dimension ref="A1:A1048576"/><sheetData>'.encode())
    f.write(b"<row><c><v>1</v></c></row>" * 50_000)
    f.write(b"</sheetData></worksheet>")


def _with_extra_part(valid: bytes, name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(valid)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr(name, data)
    return out.getvalue()


def _damage_member(valid: bytes) -> bytes:
    """Flip bytes inside the compressed data of the largest worksheet (F02b)."""
    with zipfile.ZipFile(io.BytesIO(valid)) as z:
        info = max((i for i in z.infolist() if i.filename.startswith("xl/worksheets/")), key=lambda i: i.compress_size)
    data = bytearray(valid)
    off = info.header_offset
    n, e = struct.unpack("<HH", data[off + 26 : off + 30])
    start = off + 30 + n + e
    for k in range(start + 1, start + min(info.compress_size, 64)):
        data[k] ^= 0xFF
    return bytes(data)


def cell_text_workbook(path: Path, text: str) -> Path:
    """A raw workbook whose 記入シート!B2 holds text (e.g. 40,000 characters, which Excel cannot store)."""
    from xml.sax.saxutils import escape

    return write_xlsx(
        path,
        sheet_xml(
            f'<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="B2" t="inlineStr"><is><t>{escape(text)}</t></is></c></row>'
        ),
    )


# -- workbook content: cases built from a real template, as a ministry's Excel would save them ----
@dataclass(frozen=True)
class Expect:
    """One planted case in a content workbook: at ``cell`` (記入シート unless ``sheet``), ``rule``
    must be reported (None: nothing but notation may be); the line's 記載内容 must read ``text``."""

    case: str  # what it is, e.g. "C01 DDE formula"
    cell: str
    rule: str | None
    item: str | None = None
    text: str | None = None
    sheet: str = "記入シート"


@dataclass(frozen=True)
class ContentCase:
    path: Path
    accepted: bool
    expects: tuple[Expect, ...]


def owned_lines(valid: bytes, count: int) -> list[tuple[int, str]]:
    """(Excel row, 項目ID) of the first lines of 記入シート the ministry may edit (記載内容 unlocked)."""
    import openpyxl

    ws = openpyxl.load_workbook(io.BytesIO(valid))["記入シート"]
    found = [
        (r, ws[f"A{r}"].value)
        for r in range(4, ws.max_row + 1)
        if ws[f"A{r}"].value and ws[f"H{r}"].protection.locked is False and ws[f"F{r}"].value
    ]
    assert len(found) >= count, "the template has too few editable lines"
    return found[:count]


def _rewrite(data: bytes, edits: dict[str, Callable[[str], str]]) -> bytes:
    """The workbook with XML parts rewritten (the other zip entries as they were)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename in edits:
                body = edits[info.filename](body.decode("utf-8")).encode("utf-8")
            dst.writestr(info, body)
    return out.getvalue()


def _entry_part(data: bytes) -> str:
    """The zip member of 記入シート, from the workbook's relationships."""
    import re

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    rid = re.search(r'<sheet [^>]*name="記入シート"[^>]*r:id="([^"]+)"', workbook).group(1)
    rel = next(r for r in re.findall(r"<Relationship [^>]*>", rels) if f'Id="{rid}"' in r)
    return "xl/" + re.search(r'Target="([^"]+)"', rel).group(1).lstrip("/").removeprefix("xl/")


def _cells(cells: dict[str, str]) -> Callable[[str], str]:
    """Replace <c r="…"> elements (self-closing or not) by raw XML, address → element."""
    import re

    def edit(xml: str) -> str:
        for address, element in cells.items():
            pattern = re.compile(rf'<c r="{address}"(?:[^>]*?/>|[^>]*?>.*?</c>)', re.S)
            assert pattern.search(xml), address
            xml = pattern.sub(lambda _m, e=element: e, xml, count=1)
        return xml

    return edit


def _text(address: str, text: str) -> str:
    from xml.sax.saxutils import escape

    return f'<c r="{address}" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def _edited(valid: bytes, edit: Callable) -> bytes:
    """The template edited with openpyxl as an officer's Excel would: edit(workbook, 記入シート)."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(valid))
    edit(wb, wb["記入シート"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def make_content_catalogue(folder: Path, valid: bytes) -> dict[str, ContentCase]:
    """Every workbook-content case of research/reliability_security.md §2.2–2.3 (C01–C20, F18–F20)
    and of issue 14, planted in real templates (several cases a workbook, each at its own line).
    Returns file name → case."""
    import datetime as dt
    import re

    folder.mkdir(parents=True, exist_ok=True)
    lines = owned_lines(valid, 8)
    part = _entry_part(valid)
    cases: dict[str, ContentCase] = {}

    def add(name: str, data: bytes, accepted: bool, *expects: Expect) -> None:
        (folder / name).write_bytes(data)
        cases[name] = ContentCase(folder / name, accepted, expects)

    def edit_lines(values: dict[int, str]) -> dict[str, str]:
        """Raw 記載内容 cells for line indexes, each line's 対応 set to 修正."""
        cells = {}
        for k, element in values.items():
            r = lines[k][0]
            cells[f"H{r}"] = element.replace("{cell}", f"H{r}")
            cells[f"L{r}"] = _text(f"L{r}", "修正")
        return cells

    def at(k: int) -> tuple[str, str]:
        return f"H{lines[k][0]}", lines[k][1]

    # C01 / C03: formulas saved by Excel with their values: the shown text is read, and said so;
    # C02 / issue 14: a formula never calculated (written by a script): no text to read, located
    formulas = {
        0: '<c r="{cell}" t="str"><f>"令和"&amp;8&amp;"年度に実証事業を開始する。"</f><v>令和8年度に実証事業を開始する。</v></c>',
        1: '<c r="{cell}" t="str"><f>cmd|\' /C calc\'!A0</f><v>計算機を起動する。</v></c>',
        2: '<c r="{cell}" t="str"><f>HYPERLINK("http://127.0.0.1:9/x","詳細はこちら。")</f><v>詳細はこちら。</v></c>',
        3: '<c r="{cell}"><f>2+3</f><v>0</v></c>',  # XlsxWriter's cached 0
        4: '<c r="{cell}" t="str"><f>"令和"&amp;8&amp;"年度…"</f></c>',
    }
    add(
        "formulas.xlsx",
        _rewrite(valid, {part: _cells(edit_lines(formulas))}),
        False,
        Expect("C01 formula in a text column (issue 14)", at(0)[0], "F-FORMULA", at(0)[1], "令和8年度に実証事業を開始する。"),
        Expect("C01 DDE formula", at(1)[0], "F-FORMULA", at(1)[1], "計算機を起動する。"),
        Expect("C01 HYPERLINK formula", at(2)[0], "F-FORMULA", at(2)[1], "詳細はこちら。"),
        Expect("C03 numeric formula result", at(3)[0], "F-FORMULA", at(3)[1], "0"),
        Expect("C02 formula without a cached value (issue 14)", at(4)[0], "F-FORMULA-NOT-CALCULATED"),
    )

    # C10 / issue 14: values Excel converted as they were typed, each read as it is displayed;
    # an era date (令和8年4月1日) depends on the calendar: not guessed, located
    typed = (
        ("TRUE typed: a boolean", True, None, "TRUE"),
        ("2026/4/1 typed: a date", dt.datetime(2026, 4, 1), "yyyy/m/d", "2026/4/1"),
        ("a date in built-in format 14", dt.datetime(2026, 5, 2), "mm-dd-yy", "2026/5/2"),
        ("50% typed: a percentage", 0.5, "0%", "50%"),
        ("1,234,567.89 typed: grouped digits", 1234567.89, "#,##0.00", "1,234,567.89"),
        ("a number in General", 7654321.5, None, "7654321.5"),
        ("12件: a custom format", 12, '0"件"', "12件"),
    )
    era = '[$-ja-JP-x-gannen]ggge"年"m"月"d"日"'

    def typed_edit(wb, ws) -> None:
        for k, (_, value, fmt, _) in enumerate((*typed, ("era", dt.datetime(2026, 4, 1), era, None))):
            r = lines[k][0]
            ws[f"H{r}"], ws[f"L{r}"] = value, "修正"
            if fmt:
                ws[f"H{r}"].number_format = fmt

    add(
        "typed_values.xlsx",
        _edited(valid, typed_edit),
        False,
        *(Expect(f"C10 {what}", at(k)[0], "F-TYPED-VALUE", at(k)[1], text) for k, (what, _, _, text) in enumerate(typed)),
        Expect("C10 an era date", at(len(typed))[0], "F-VALUE-UNSHOWN"),
    )

    # C09 / C11: text that looks like a number, or like "missing", stays verbatim
    verbatim = ("00123", "1e3", "NA", "NULL", "None", "nan")
    add(
        "verbatim_text.xlsx",
        _rewrite(valid, {part: _cells(edit_lines({k: _text("{cell}", t) for k, t in enumerate(verbatim)}))}),
        True,
        *(Expect(f"C09/C11 text 「{t}」", at(k)[0], None, at(k)[1], t) for k, t in enumerate(verbatim)),
    )

    # C04 / issue 14: the entry sheet copied, the copy edited, the original hidden; a very hidden
    # first sheet of junk beside it, never read
    def copied(wb, ws) -> None:
        copy = wb.copy_worksheet(ws)
        copy.title = "記入シート (2)"
        r = lines[0][0]
        copy[f"H{r}"], copy[f"L{r}"] = "写しのシートで修正した記載。", "修正"
        ws.sheet_state = "hidden"
        junk = wb.create_sheet("Sheet0", 0)
        junk["A1"], junk["B1"] = "X-999", 1e9
        junk.sheet_state = "veryHidden"

    add(
        "copied_sheet.xlsx",
        _edited(valid, copied),
        False,
        Expect("C04 an edited copy of 記入シート (issue 14)", at(0)[0], "S-SHEET-COPIED", sheet="記入シート (2)"),
    )

    # C05 merged 記載内容 over two lines (the second reads empty); C13/C14 characters; C16 / issue 14
    # texts longer than Excel's cell limit, in 記載内容 and in 見出し
    r0, r1 = lines[0][0], lines[1][0]
    g6 = f"G{lines[6][0]}"
    cells = edit_lines(
        {
            0: _text("{cell}", "結合したセルの記載。"),
            1: '<c r="{cell}" s="1"/>',
            2: '<c r="{cell}" t="inlineStr"><is><t>制御_x0001_文字。</t></is></c>',
            3: _text("{cell}", "ゼロ\u200b幅の文字。"),
            4: _text("{cell}", "右から左\u202e。"),
            5: _text("{cell}", "あ" * 40_000),
            6: _text("{cell}", "見出しの長い記載。"),
        }
    )
    cells[g6] = _text(g6, "見" * 40_000)
    merged = f'<mergeCell ref="H{r0}:H{r1}"/>'

    def merge(xml: str) -> str:
        xml = _cells(cells)(xml)
        if "<mergeCells" in xml:
            return re.sub(r'<mergeCells count="(\d+)">', lambda m: f'<mergeCells count="{int(m.group(1)) + 1}">{merged}', xml)
        return xml.replace("</sheetData>", f'</sheetData><mergeCells count="1">{merged}</mergeCells>')

    add(
        "cells.xlsx",
        _rewrite(valid, {part: merge}),
        False,
        Expect("C05 merged cells", at(1)[0], "L-TEXT-EMPTY"),
        Expect("C14 a control character (_x0001_)", at(2)[0], "L-CONTROL-CHAR"),
        Expect("C13 a zero-width space", at(3)[0], "L-CONTROL-CHAR"),
        Expect("C13 a bidi override", at(4)[0], "L-CONTROL-CHAR"),
        Expect("C16 記載内容 of 40,000 characters", at(5)[0], "L-TEXT-TOO-LONG"),
        Expect("C16 見出し of 40,000 characters (issue 14)", g6, "L-HEADING-TOO-LONG"),
    )

    # F18 / C20 / issue 14: the whole grid declared, 10,000 styled rows holding junk in a reference
    # column, and one styled empty cell at XFD1048576: answered within the bounds, the junk named
    rows = "".join(
        f'<row r="{r}"><c r="A{r}" s="1"/><c r="H{r}" s="1"/><c r="N{r}" t="inlineStr"><is><t>junk</t></is></c></row>'
        for r in range(2_000, 12_000)
    )
    end = '<row r="1048576"><c r="XFD1048576" s="1"/></row>'

    def extent(xml: str) -> str:
        xml = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', xml)
        return xml.replace("</sheetData>", rows + end + "</sheetData>")

    add(
        "extent.xlsx",
        _rewrite(valid, {part: extent}),
        True,
        Expect("C20 10,000 junk rows; F18 the whole grid declared; a styled cell at XFD1048576", "N2000", "L-STRAY-CONTENT"),
    )
    return cases


# -- fuzzing the reader: OOXML parts mutated in memory ------------------------------------------
SNIPPETS = (
    '<c r="XFD1048576"><v>1</v></c>',
    '<row r="2000000"><c r="A2000000"><v>7</v></c></row>',
    '<c r="B2" t="s"><v>99999</v></c>',
    '<c r="B2" t="b"><v>2</v></c>',
    '<c r="B2" t="e"><v>#DIV/0!</v></c>',
    '<c r="B2" t="d"><v>not-a-date</v></c>',
    '<c r="B2" s="4294967296"><v>1e308</v></c>',
    '<c r="B2"><f>1/0</f></c>',
    "<!DOCTYPE x [<!ENTITY a 'b'>]>",
    "&lol;",
    "_x0001__xD800_",
    '<dimension ref="A1:XFD1048576"/>',
    "</sheetData>",
    "<row>",
    "\x00",
    "\ufeff",
    '<c r="A0"><v>1</v></c>',
    '<c r="AAAAA1"><v>1</v></c>',
)
FUZZ_PARTS = ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "xl/workbook.xml", "[Content_Types].xml")


def fuzz_base() -> dict[str, bytes]:
    """The parts of a small raw workbook (記入シート with a header and a line) to mutate."""
    out = io.BytesIO()
    write_xlsx(out)
    with zipfile.ZipFile(out) as z:
        return {name: z.read(name) for name in z.namelist()}


def mutated(parts: dict[str, bytes], part: str, kind: str, at: float, payload: bytes) -> bytes:
    """The workbook with one part mutated: a byte flipped, a snippet inserted, a range cut or
    doubled, or the part truncated, at relative position ``at``."""
    data = parts[part]
    i = min(len(data) - 1, int(at * len(data)))
    if kind == "flip":
        data = data[:i] + bytes([data[i] ^ (payload[0] if payload else 0xFF)]) + data[i + 1 :]
    elif kind == "insert":
        data = data[:i] + payload + data[i:]
    elif kind == "cut":
        data = data[:i] + data[i + max(1, len(payload)) :]
    elif kind == "double":
        data = data[:i] + data[i : i + 64] * 3 + data[i:]
    else:  # truncate
        data = data[:i]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            z.writestr(name, data if name == part else body)
    return out.getvalue()


def read_summary(data: bytes) -> tuple[bool, list[tuple[str, str, str]]]:
    """Read one workbook's bytes as the workers do; (readable, [(rule, severity, message)]).
    Runs in a worker: a parser that aborts kills the worker, never the test."""
    from annex.intake.reader import read_workbook

    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        handle.write(data)
        handle.flush()
        raw = read_workbook(handle.name, "fuzz.xlsx")
    return raw.readable, [(i.rule, i.severity, i.message) for i in raw.issues]
