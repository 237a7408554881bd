"""Inspect a received file before any spreadsheet parser touches it.

Measured (research/reliability_security.md §0, §3): no Excel reader is safe on untrusted input.
calamine aborts the whole process on a 1.9 KB workbook whose one cell is XFD1048576, and a
2 MB file inflating to 2 GiB is read "successfully" by every reader. So this module looks at the
bytes only — magic number, OLE container, zip directory, every member inflated as a stream under
hard caps — and finds out, without an XML parser, where each worksheet's value cells are.
Only a file that passes is handed to a reader (annex.workbook), and even then in a
memory-limited worker (annex.isolation).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from defusedxml import ElementTree as SafeET

from .rules import rule
from .sheet import COLUMNS, SHEET_ENTRY
from .submission import Issue, Location

EXCEL_MAX_ROW = 1_048_576
EXCEL_MAX_COL = 16_384

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"

NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass(frozen=True)
class Limits:
    """Caps a submission must stay under. A ministry template is a few hundred lines (< 1 MB)."""

    file_bytes: int = 20 * 2**20
    members: int = 2_000
    member_bytes: int = 64 * 2**20  # one inflated part
    total_bytes: int = 256 * 2**20  # all inflated parts
    ratio: float = 100.0  # inflated / compressed, checked once a part passes ratio_floor
    ratio_floor: int = 2**20
    rows: int = 20_000  # value cells below this row are outside any template
    columns: int = 100  # value cells right of this column (CV) are outside any template
    entry_columns: int = len(COLUMNS)  # 記入シート: nothing right of the last template column


DEFAULT_LIMITS = Limits()

SheetState = Literal["visible", "hidden", "veryHidden"]


@dataclass
class SheetInfo:
    name: str
    part: str  # zip member, e.g. xl/worksheets/sheet1.xml
    state: SheetState = "visible"
    declared: str | None = None  # <dimension ref>
    max_row: int = 0  # of cells holding a value
    max_col: int = 0
    rows_seen: int = 0  # <row> elements (rows without r= count too)
    max_row_attr: int = 0  # largest <row r="…">, values or not
    formulas: list[str] = field(default_factory=list)  # A1 addresses of formula cells
    beyond: str | None = None  # the first value cell outside the template's bounds


@dataclass
class Preflight:
    """What the bytes say. ``issues`` holds file-level rejections; empty means safe to parse."""

    file: str
    size: int
    kind: Literal["xlsx", "ole-encrypted", "ole-legacy", "text", "empty", "zip", "unknown"] = "unknown"
    sheets: list[SheetInfo] = field(default_factory=list)
    inflated_bytes: int = 0
    external_links: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    def sheet(self, name: str) -> SheetInfo | None:
        return next((s for s in self.sheets if s.name == name), None)


class _Reject(Exception):
    def __init__(self, issue: Issue):
        self.issue = issue


def column_letter(index: int) -> str:
    """1 → A, 27 → AA."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def _reject(code: str, file: str, at_sheet: str | None = None, at_cell: str | None = None, **fields: object) -> _Reject:
    return _Reject(rule(code).issue(Location(file, at_sheet, at_cell), **fields))


# Value cells: <c r="B7" ...>content</c>; a self-closing <c r="B7" s="3"/> holds no value.
_CELL_RE = re.compile(rb"<c\b([^>]*?)(/?)>(\s*<f\b)?")
_R_ATTR_RE = re.compile(rb'\br="([A-Z]{1,4})(\d{1,9})"')
_ROW_RE = re.compile(rb"<row\b([^>]*?)/?>")
_ROW_R_RE = re.compile(rb'\br="(\d{1,9})"')
_DIM_RE = re.compile(rb'<dimension\b[^>]*\bref="([^"]{1,64})"')
_DTD_RE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_TAIL = 256  # bytes kept between chunks so that a tag cut by a chunk boundary is still seen


class _SheetScanner:
    """Finds value cells, rows, formulas and the declared dimension in a streamed worksheet."""

    def __init__(self, info: SheetInfo, max_row: int, max_col: int):
        self.info = info
        self.buffer = b""
        self.max_row, self.max_col = max_row, max_col

    def feed(self, chunk: bytes, final: bool = False) -> None:
        data = self.buffer + chunk
        cut = len(data) if final else max(0, data.rfind(b"<", 0, max(0, len(data) - 1)))
        if not final and len(data) - cut > _TAIL:  # no tag start near the end: keep a short tail
            cut = len(data) - _TAIL
        work, self.buffer = data[:cut], data[cut:]
        info = self.info
        if info.declared is None:
            dim = _DIM_RE.search(work)
            if dim:
                info.declared = dim.group(1).decode("ascii", "replace")
        for row in _ROW_RE.finditer(work):
            info.rows_seen += 1
            r = _ROW_R_RE.search(row.group(1))
            if r:
                info.max_row_attr = max(info.max_row_attr, int(r.group(1)))
        for cell in _CELL_RE.finditer(work):
            if cell.group(2):  # self-closing: formatted but empty
                continue
            ref = _R_ATTR_RE.search(cell.group(1))
            if not ref:
                continue
            col, row_no = column_index(ref.group(1).decode()), int(ref.group(2))
            info.max_row = max(info.max_row, row_no)
            info.max_col = max(info.max_col, col)
            if info.beyond is None and (row_no > self.max_row or col > self.max_col):
                info.beyond = f"{ref.group(1).decode()}{row_no}"
            if cell.group(3):
                info.formulas.append(f"{ref.group(1).decode()}{row_no}")


def _safe_part_name(name: str) -> bool:
    if not name or "\x00" in name or name.startswith(("/", "\\")) or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return False
    return ".." not in posixpath.normpath(name).split("/") and ".." not in name.split("/")


def _sniff(head: bytes) -> str:
    if not head:
        return "empty"
    if head.startswith(OLE_MAGIC):
        return "ole"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(EMPTY_ZIP_MAGIC):
        return "zip-empty"
    sample = head[:4096]
    if b"\x00" not in sample:
        return "text"
    return "unknown"


def _classify_ole(path: Path) -> str:
    """An OLE/CFB container is either an encrypted OOXML workbook or a legacy .xls (or other)."""
    import olefile  # installed with msoffcrypto-tool

    try:
        with olefile.OleFileIO(str(path)) as ole:
            if ole.exists("EncryptionInfo") or ole.exists("EncryptedPackage"):
                return "ole-encrypted"
            if ole.exists("Workbook") or ole.exists("Book"):
                try:
                    import msoffcrypto

                    with open(path, "rb") as handle:
                        if msoffcrypto.OfficeFile(handle).is_encrypted():
                            return "ole-encrypted"
                except Exception:
                    pass
                return "ole-legacy"
    except Exception:
        return "ole-unknown"
    return "ole-unknown"


def _read_small(zf: zipfile.ZipFile, name: str, limit: int = 4 * 2**20) -> bytes:
    with zf.open(name) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{name} が大きすぎます")
    return data


def _sheet_map(zf: zipfile.ZipFile, names: set[str], file: str) -> list[SheetInfo]:
    """Sheet names, states and parts from xl/workbook.xml and its rels (defusedxml, DTD already refused)."""
    try:
        workbook = SafeET.fromstring(_read_small(zf, "xl/workbook.xml"))
        rels_name = "xl/_rels/workbook.xml.rels"
        rels = SafeET.fromstring(_read_small(zf, rels_name)) if rels_name in names else None
    except Exception as exc:
        raise _reject("F-CORRUPT", file, detail=f"ブックの構成情報（xl/workbook.xml）が読めません: {type(exc).__name__}") from None
    targets: dict[str, str] = {}
    if rels is not None:
        for rel in rels.iter(f"{NS_PKG_REL}Relationship"):
            target = rel.get("Target", "")
            if target.startswith("/"):
                part = target.lstrip("/")
            else:
                part = posixpath.normpath(posixpath.join("xl", target))
            targets[rel.get("Id", "")] = part
    sheets: list[SheetInfo] = []
    for element in workbook.iter(f"{NS_MAIN}sheet"):
        rid = element.get(f"{NS_REL}id", "")
        state = element.get("state", "visible")
        sheets.append(SheetInfo(
            name=element.get("name", ""),
            part=targets.get(rid, ""),
            state=state if state in ("visible", "hidden", "veryHidden") else "visible",
        ))
    return sheets


def preflight(path: Path, display_name: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Preflight:
    """Look at a file's bytes and decide whether it may be parsed. Never raises for bad input."""
    file = display_name or path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        result = Preflight(file, 0)
        result.issues.append(rule("F-UNREADABLE").issue(Location(file), detail=f"ファイルを開けません: {exc.strerror}"))
        return result
    result = Preflight(file, size)
    try:
        _preflight(path, result, limits)
    except _Reject as rejection:
        result.issues.append(rejection.issue)
    except Exception as exc:  # the gate itself must never crash the batch
        result.issues.append(rule("F-UNREADABLE").issue(Location(file), detail=f"検査中の予期しないエラー: {type(exc).__name__}"))
    return result


def _preflight(path: Path, result: Preflight, limits: Limits) -> None:
    file = result.file
    with open(path, "rb") as handle:
        head = handle.read(8192)
    kind = _sniff(head)
    if kind == "empty":
        result.kind = "empty"
        raise _reject("F-NOT-XLSX", file, detail="0 バイトの空のファイルです")
    if kind == "ole":
        ole_kind = _classify_ole(path)
        if ole_kind == "ole-encrypted":
            result.kind = "ole-encrypted"
            raise _reject("F-ENCRYPTED", file)
        if ole_kind == "ole-legacy":
            result.kind = "ole-legacy"
            raise _reject("F-LEGACY-XLS", file)
        raise _reject("F-NOT-XLSX", file, detail="Excel ブックではない OLE 形式のファイルです")
    if kind == "text":
        result.kind = "text"
        looks_csv = head.count(b",") + head.count(b"\t") > 0 and b"\n" in head
        raise _reject("F-NOT-XLSX", file, detail="CSV などのテキストファイルです" if looks_csv else "テキストファイルです")
    if kind == "zip-empty":
        raise _reject("F-NOT-XLSX", file, detail="空の zip ファイルです")
    if kind != "zip":
        raise _reject("F-NOT-XLSX", file, detail="形式を判別できません")
    if result.size > limits.file_bytes:
        raise _reject("F-TOO-LARGE", file, detail=f"{result.size / 2**20:.1f} MB、上限 {limits.file_bytes // 2**20} MB")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _reject("F-CORRUPT", file, detail=f"zip として読めません: {exc}") from None
    with zf:
        _inspect_zip(zf, result, limits)


def _inspect_zip(zf: zipfile.ZipFile, result: Preflight, limits: Limits) -> None:
    file = result.file
    infos = zf.infolist()
    if len(infos) > limits.members:
        raise _reject("F-TOO-LARGE", file, detail=f"部品数 {len(infos)}")
    names = {i.filename for i in infos}
    for info in infos:
        if not _safe_part_name(info.filename):
            raise _reject("F-UNREADABLE", file, detail=f"不正な部品名「{info.filename[:80]}」")
        if info.flag_bits & 0x1:
            raise _reject("F-ENCRYPTED", file)
    if "xl/workbook.bin" in names:
        raise _reject("F-NOT-XLSX", file, detail="バイナリ形式（.xlsb）です")
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        detail = "OpenDocument（.ods）です" if "content.xml" in names else "Excel ブックの構成要素がない zip ファイルです"
        raise _reject("F-NOT-XLSX", file, detail=detail)
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise _reject("F-MACRO", file)
    result.kind = "xlsx"
    result.external_links = sorted(n for n in names if n.startswith("xl/externalLinks/") and n.endswith(".xml"))

    # Small structural parts first: they are scanned for DTDs before defusedxml reads them.
    first = [n for n in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels") if n in names]
    for name in first:
        _inflate(zf, zf.getinfo(name), result, limits, None)
    content_types = _read_small(zf, "[Content_Types].xml")
    if b"macroEnabled" in content_types:
        raise _reject("F-MACRO", file)
    result.sheets = _sheet_map(zf, names, file)
    by_part = {s.part: s for s in result.sheets}
    for info in infos:
        if info.filename in first or info.is_dir():
            continue
        _inflate(zf, info, result, limits, by_part.get(info.filename))
    for sheet in result.sheets:
        _check_extent(sheet, file, limits)


def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo, result: Preflight, limits: Limits, sheet: SheetInfo | None) -> None:
    """Inflate one part as a stream under the caps; scan XML for DTDs and worksheets for cells."""
    file = result.file
    name = info.filename
    is_xml = name.endswith((".xml", ".rels", ".vml"))
    scanner = None
    if sheet is not None:
        scanner = _SheetScanner(sheet, limits.rows, limits.entry_columns if sheet.name == SHEET_ENTRY else limits.columns)
    inflated = 0
    tail = b""
    try:
        with zf.open(info) as member:
            first = True
            while True:
                chunk = member.read(2**20)
                if not chunk:
                    break
                inflated += len(chunk)
                result.inflated_bytes += len(chunk)
                if inflated > limits.member_bytes:
                    raise _reject("F-TOO-LARGE", file, detail=f"{name} が展開後 {limits.member_bytes // 2**20} MB を超えます（圧縮爆弾の疑い）")
                if result.inflated_bytes > limits.total_bytes:
                    raise _reject("F-TOO-LARGE", file, detail=f"展開後の合計が {limits.total_bytes // 2**20} MB を超えます（圧縮爆弾の疑い）")
                if inflated > limits.ratio_floor and inflated > limits.ratio * max(info.compress_size, 1):
                    raise _reject("F-TOO-LARGE", file, detail=f"{name} の圧縮率が {limits.ratio:.0f} 倍を超えます（圧縮爆弾の疑い）")
                if is_xml:
                    if first and (chunk[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in chunk[:64]):
                        raise _reject("F-UNREADABLE", file, detail=f"{name} が UTF-8 以外の XML です")
                    if _DTD_RE.search(tail + chunk):
                        raise _reject("F-UNREADABLE", file, detail=f"{name} に DTD・実体宣言があります（XML 攻撃の疑い）")
                    tail = chunk[-16:]
                if scanner is not None:
                    scanner.feed(chunk)
                first = False
    except _Reject:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise _reject("F-CORRUPT", file, detail=f"{name} が壊れています: {type(exc).__name__}") from None
    if scanner is not None:
        scanner.feed(b"", final=True)


def _check_extent(sheet: SheetInfo, file: str, limits: Limits) -> None:
    if sheet.declared:
        last = sheet.declared.split(":")[-1]
        match = re.fullmatch(r"\$?([A-Z]{1,4})\$?(\d{1,9})", last)
        if not match:
            raise _reject("F-CORRUPT", file, sheet.name, detail=f"シート「{sheet.name}」の範囲指定「{sheet.declared[:40]}」が不正です")
        if int(match.group(2)) > EXCEL_MAX_ROW or column_index(match.group(1)) > EXCEL_MAX_COL:
            raise _reject("F-CORRUPT", file, sheet.name, detail=f"シート「{sheet.name}」の範囲「{sheet.declared[:40]}」が Excel の上限を超えます")
    if max(sheet.max_row, sheet.max_row_attr) > EXCEL_MAX_ROW or sheet.max_col > EXCEL_MAX_COL:
        raise _reject("F-CORRUPT", file, sheet.name,
                      detail=f"シート「{sheet.name}」に Excel の上限を超える行番号（{max(sheet.max_row, sheet.max_row_attr)}）または列があります")
    if sheet.rows_seen > limits.rows:
        raise _reject("F-TOO-LARGE", file, sheet.name, detail=f"シート「{sheet.name}」の行数 {sheet.rows_seen:,}、上限 {limits.rows:,}")
    max_col = limits.entry_columns if sheet.name == SHEET_ENTRY else limits.columns
    if sheet.max_row > limits.rows or sheet.max_col > max_col:
        cell = sheet.beyond or f"{column_letter(sheet.max_col)}{sheet.max_row}"
        raise _reject("F-OUTSIDE-TEMPLATE", file, sheet.name, cell, cell=f"{sheet.name}!{cell}")
