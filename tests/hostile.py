"""A catalogue of hostile and broken submissions, built from raw OOXML parts with zipfile so that
no library "cleans" the payload on the way out.

Adapted from research/badfiles/gen.py, gen_extra.py and gen_corrupt.py (measured there against
every reader); sizes are scaled so the whole catalogue is generated in about a second, while each
bomb still inflates far past the preflight caps.
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
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
    path: Path,
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
