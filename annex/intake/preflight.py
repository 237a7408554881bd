"""Inspect a received file before any spreadsheet parser touches it.

Measured (research/reliability_security.md §0, §3): no Excel reader is safe on untrusted input.
calamine aborts the whole process on a 1.9 KB workbook whose one cell is XFD1048576, and a
2 MB file inflating to 2 GiB is read "successfully" by every reader. So this module looks at the
bytes only — magic number, OLE container, zip directory, every member inflated as a stream under
hard caps — and finds out, without an XML parser, where each worksheet's value cells are.
Only a file that passes is handed to a reader (annex.intake.reader), and even then in a
memory-limited worker (annex.io.workers).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from defusedxml import ElementTree as SafeET

from annex.model.contract import ENTRY_COLUMNS, SHEET_ENTRY
from annex.model.issues import Issue, Location
from annex.model.rules import BLOCKING, rule

# Every rule preflight refuses a file with (and the worker pool's F-TOO-LARGE / F-UNREADABLE):
# a file refused with one of these is never opened by a parser, not even to mark feedback on it.
REJECTING_RULES = frozenset(
    {"F-NOT-XLSX", "F-LEGACY-XLS", "F-ENCRYPTED", "F-MACRO", "F-CORRUPT", "F-TOO-LARGE", "F-OUTSIDE-TEMPLATE", "F-UNREADABLE"}
)
assert REJECTING_RULES <= BLOCKING

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
    entry_columns: int = ENTRY_COLUMNS  # 記入シート: nothing right of the last template column (チェック included)


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
    max_row_attr: int = 0  # largest row number, given by <row r="…"> or implied by position; values or not
    formulas: list[str] = field(default_factory=list)  # A1 addresses of formula cells
    typed: list[str] = field(
        default_factory=list
    )  # A1 addresses of value cells not stored as text (number, date, boolean, error)
    beyond: str | None = None  # the first value cell outside the template's bounds
    errors: bool = False  # a value cell holds an error value (t="e": #N/A, #DIV/0! …), which readers show as nothing


@dataclass
class Preflight:
    """What the bytes say. ``issues`` holds file-level rejections; empty means safe to parse."""

    file: str
    size: int
    kind: Literal["xlsx", "ole-encrypted", "ole-legacy", "text", "empty", "zip", "unknown"] = "unknown"
    sheets: list[SheetInfo] = field(default_factory=list)
    inflated_bytes: int = 0
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


# Column letters ↔ numbers, cached for the columns a workbook can have (a hostile file's other
# letters are computed, not cached: the caches stay bounded).
_COLUMN_INDEX: dict[bytes, int] = {}
_COLUMN_LETTERS: dict[int, str] = {}


def _column_of(letters: bytes) -> int:
    col = column_index(letters.decode())
    if col <= EXCEL_MAX_COL:
        _COLUMN_INDEX[letters] = col
        _COLUMN_LETTERS[col] = letters.decode()
    return col


def _reject(code: str, file: str, at_sheet: str | None = None, at_cell: str | None = None, **fields: object) -> _Reject:
    return _Reject(rule(code).issue(Location(file, at_sheet, at_cell), **fields))


# Worksheet tags, found without an XML parser. Attribute values may be in either quote style and
# may hold ">"; element names may carry a namespace prefix (<x:c>), which every reader accepts.
# Groups: the name of an end tag (</row>, </sheetData>), or the name, attributes and "/" of a start tag.
_ATTRS = rb"""((?:[^>"']|"[^"]*"|'[^']*')*?)"""
_PREFIX = rb"(?:[A-Za-z_][\w.\-]*:)?"
_GENERAL_TAG = rb"<(?:/" + _PREFIX + rb"(row|sheetData)\s*|" + _PREFIX + rb"(c|row|f|dimension)(?=[\s/>])" + _ATTRS + rb"(/?))>"
# The cell tag as Excel, openpyxl and XlsxWriter write it, e.g. <c r="B7" s="3" t="s">: its address
# and type taken by the regex itself, not by _attribute (which was most of the scan's time). It is
# tried first at each "<" and matches only where _GENERAL_TAG matches the same span with the same
# reading (no prefix, r/s/t once each, no quote or ">" inside a value); any other spelling of a
# tag falls through to _GENERAL_TAG.
_CANONICAL_CELL = rb'<c r="([A-Z]{1,4})(\d{1,9})"(?: s="\d{1,9}")?(?: t="([A-Za-z]{1,9})")?(/?)>'


def _tag_pattern(canonical: bool = True) -> re.Pattern[bytes]:
    """Groups: canonical cell (letters, digits, type, "/"), then _GENERAL_TAG's four. Without
    ``canonical``, _GENERAL_TAG alone: the reference tests/intake/test_preflight.py compares with."""
    # <t>, </t>, <is>, </is>, <v>, </v>, </c> (most of a sheet's tags) can never match _GENERAL_TAG:
    # said up front, they fail at once instead of after its alternatives (a fifth of the scan).
    general = rb"<(?!(?:/?(?:t|is|v)|/c)>)" + _GENERAL_TAG[1:]
    if not canonical:  # the scan as it was before both shortcuts, groups kept in place
        return re.compile(rb"(?!)()()()()|" + _GENERAL_TAG)
    return re.compile(_CANONICAL_CELL + b"|" + general)


_TAG_RE = _tag_pattern()
_ATTR_RE = re.compile(rb"""([^\s=/>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_REF_RE = re.compile(rb"([A-Z]{1,4})(\d{1,9})")
_ROW_NO_RE = re.compile(rb"\d{1,9}")
_COMPLETE_TAG_RE = re.compile(rb"<" + _ATTRS + rb">")
_DTD_RE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_ERROR_CELL = re.compile(rb"""\st\s*=\s*["']e["']""")  # t="e" among a cell's attributes, in any spacing
_TEXT_TYPES = (b"s", b"inlineStr", b"str")  # <c t="…">: shared, inline and formula strings; the rest is typed
TYPED_CAP = 10_000  # addresses kept per sheet: a template has none, and beyond that only the count matters
_OPEN_TAG_CAP = 2**20  # a start tag still unfinished after this many bytes is not a worksheet's


class _Malformed(Exception):
    """The scanner cannot tell where a worksheet's cells are; the sheet is refused as corrupt.

    args: (detail, sheet name) once raised out of _SheetScanner.feed; (detail,) inside it.
    """


def _attribute(attrs: bytes, wanted: bytes) -> bytes | None:
    """The value of an unprefixed attribute, in either quote style; None when absent."""
    if wanted not in attrs:
        return None
    found = None
    for name, double, single in _ATTR_RE.findall(attrs):
        if name == wanted:
            if found is not None:
                raise _Malformed(f"属性 {wanted.decode()} が重複しています")
            found = double or single
    return found


class _SheetScanner:
    """Finds value cells, rows, formulas and the declared dimension in a streamed worksheet.

    A cell's address is its r attribute, or — as Excel allows omitting it — the next column in its
    row; a <row> without r is the row after the previous one. Tags cut by a chunk boundary are kept
    whole for the next chunk, and the current cell carries over, so a boundary never hides a cell
    or the <f> of a formula cell. An <f> belongs to the last value cell until the next cell, row or
    the end of sheetData (only <c> may stand in a row, so </c> need not be tracked).
    """

    def __init__(self, info: SheetInfo, max_row: int, max_col: int, pattern: re.Pattern[bytes] = _TAG_RE):
        self.info = info
        self.pattern = pattern
        self.buffer = b""
        self.max_row, self.max_col = max_row, max_col
        self.row = 0  # current row number
        self.col = 0  # column of the previous cell in the current row
        self.cell: tuple[int, int] | None = None  # (column, row) of the value cell an <f> would belong to

    @property
    def decided(self) -> bool:
        """More rows than any template, or a value cell outside its bounds: the sheet is refused
        (_check_extent), and the scan stops there — a hostile sheet of millions of cells would
        otherwise cost seconds of CPU after its fate is known."""
        return self.info.beyond is not None or self.info.rows_seen > self.max_row

    def feed(self, chunk: bytes, final: bool = False) -> None:
        if self.decided:
            return
        data = self.buffer + chunk
        cut = len(data)
        if not final:
            start = data.rfind(b"<")
            if start >= 0 and not _COMPLETE_TAG_RE.match(data, start):
                cut = start  # the last tag is unfinished: keep it whole for the next chunk
                if len(data) - cut > _OPEN_TAG_CAP:
                    raise _Malformed(f"シート「{self.info.name}」: 終わらないタグがあります", self.info.name)
        work, self.buffer = data[:cut], data[cut:]
        try:
            self._scan(work)
        except _Malformed as exc:
            raise _Malformed(f"シート「{self.info.name}」: {exc}", self.info.name) from None

    def _scan(self, work: bytes) -> None:
        info = self.info
        limit_row, limit_col = self.max_row, self.max_col
        row, col, cell = self.row, self.col, self.cell
        max_row, max_col = info.max_row, info.max_col
        typed = info.typed
        typed_open = len(typed) < TYPED_CAP
        columns, letters_of = _COLUMN_INDEX, _COLUMN_LETTERS
        try:
            # One pass; this loop is the hot path (thousands of cells a sheet, nearly all canonical).
            for letters, digits, kind, closed, end, name, attrs, empty in self.pattern.findall(work):
                if letters:  # a canonical cell: address and type already split by the regex
                    col = columns.get(letters) or _column_of(letters)
                    row_no = int(digits)
                    if closed:  # <c r="B7" s="3"/>
                        cell = None
                        continue
                    is_text = kind in _TEXT_TYPES
                    if kind == b"e":
                        info.errors = True
                elif name == b"c":  # any other spelling of a cell tag
                    given = _attribute(attrs, b"r") if b"r" in attrs else None
                    if given is None:
                        col += 1
                        row_no = row or 1
                    else:
                        ref = _CELL_REF_RE.fullmatch(given)
                        if not ref:
                            raise _Malformed(f"セル番地「{given[:20].decode('utf-8', 'replace')}」が不正です")
                        col, row_no = column_index(ref.group(1).decode()), int(ref.group(2))
                    if empty:  # self-closing <c r="B7" s="3"/>: formatted but holds no value
                        cell = None
                        continue
                    is_text = b"t=" in attrs and _attribute(attrs, b"t") in _TEXT_TYPES
                    if not is_text and _ERROR_CELL.search(attrs):
                        info.errors = True
                else:  # <f>, <row>, </row>, </sheetData>, <dimension>
                    if name == b"f":
                        if cell is not None:
                            info.formulas.append(f"{column_letter(cell[0])}{cell[1]}")
                            cell = None  # one entry per cell
                    elif name == b"row":
                        info.rows_seen += 1
                        given = _attribute(attrs, b"r") if b"r" in attrs else None
                        if given is None:
                            row += 1
                        elif _ROW_NO_RE.fullmatch(given):
                            row = int(given)
                        else:
                            raise _Malformed(f"行番号「{given[:20].decode('utf-8', 'replace')}」が不正です")
                        col, cell = 0, None
                        if row > info.max_row_attr:
                            info.max_row_attr = row
                        if info.rows_seen > limit_row:
                            break  # decided
                    elif end:  # </row>, </sheetData>
                        cell = None
                    elif info.declared is None:  # <dimension>
                        ref = _attribute(attrs, b"ref")
                        if ref is not None:
                            info.declared = ref[:200].decode("ascii", "replace")
                    continue
                cell = (col, row_no)
                if typed_open and not is_text:
                    typed.append(f"{letters_of.get(col) or column_letter(col)}{row_no}")
                    typed_open = len(typed) < TYPED_CAP
                if row_no > max_row:
                    max_row = row_no
                if col > max_col:
                    max_col = col
                if row_no > limit_row or col > limit_col:
                    info.beyond = f"{column_letter(col)}{row_no}"
                    break  # decided
        finally:
            self.row, self.col, self.cell = row, col, cell
            info.max_row, info.max_col = max_row, max_col


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
    import olefile  # only for OLE containers (encrypted / .xls), rare: not loaded for every file

    try:
        with olefile.OleFileIO(str(path)) as ole:
            if ole.exists("EncryptionInfo") or ole.exists("EncryptedPackage"):
                return "ole-encrypted"
            if ole.exists("Workbook") or ole.exists("Book"):
                try:
                    import msoffcrypto  # only for OLE containers, as olefile above

                    with open(path, "rb") as handle:
                        if msoffcrypto.OfficeFile(handle).is_encrypted():
                            return "ole-encrypted"
                except Exception:
                    pass
                return "ole-legacy"
    except Exception:
        return "ole-unknown"
    return "ole-unknown"


_STRUCTURE_PARTS = ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels")
_STRUCTURE_PART_BYTES = 4 * 2**20  # each of the above; a template's are a few KB


def _sheet_map(parts: dict[str, bytes], file: str) -> list[SheetInfo]:
    """Sheet names, states and parts from xl/workbook.xml and its rels (defusedxml, DTD already refused)."""
    try:
        workbook = SafeET.fromstring(parts["xl/workbook.xml"])
        rels_name = "xl/_rels/workbook.xml.rels"
        rels = SafeET.fromstring(parts[rels_name]) if rels_name in parts else None
    except Exception as exc:
        raise _reject(
            "F-CORRUPT", file, detail=f"ブックの構成情報（xl/workbook.xml）が読めません: {type(exc).__name__}"
        ) from None
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
        sheets.append(
            SheetInfo(
                name=element.get("name", ""),
                part=targets.get(rid, ""),
                state=state if state in ("visible", "hidden", "veryHidden") else "visible",
            )
        )
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
    # The sizes the zip directory declares, before inflating anything: a bomb that says what it is
    # is refused at once. One that lies is caught while it inflates (_inflate), where zipfile also
    # stops a part at its declared size.
    declared = 0
    for info in infos:
        declared += info.file_size
        _check_inflated(info.filename, info.file_size, declared, info.compress_size, file, limits)
    result.kind = "xlsx"

    # Small structural parts first: they are scanned for DTDs before defusedxml reads the kept bytes.
    parts = {name: _inflate(zf, zf.getinfo(name), result, limits, keep=True) for name in _STRUCTURE_PARTS if name in names}
    if b"macroEnabled" in parts["[Content_Types].xml"]:
        raise _reject("F-MACRO", file)
    result.sheets = _sheet_map(parts, file)
    by_part: dict[str, list[SheetInfo]] = {}
    for sheet in result.sheets:  # two sheets naming one part: each is scanned with its own bounds
        by_part.setdefault(sheet.part, []).append(sheet)
    for info in infos:
        if info.filename in parts or info.is_dir():
            continue
        _inflate(zf, info, result, limits, by_part.get(info.filename, []))
    for sheet in result.sheets:
        _check_extent(sheet, file, limits)


def _check_inflated(name: str, inflated: int, total: int, compressed: int, file: str, limits: Limits) -> None:
    """The caps on one part's inflated size, all parts' together, and its ratio to the compressed size."""
    if inflated > limits.member_bytes:
        raise _reject(
            "F-TOO-LARGE", file, detail=f"{name} が展開後 {limits.member_bytes // 2**20} MB を超えます（圧縮爆弾の疑い）"
        )
    if total > limits.total_bytes:
        raise _reject("F-TOO-LARGE", file, detail=f"展開後の合計が {limits.total_bytes // 2**20} MB を超えます（圧縮爆弾の疑い）")
    if inflated > limits.ratio_floor and inflated > limits.ratio * max(compressed, 1):
        raise _reject("F-TOO-LARGE", file, detail=f"{name} の圧縮率が {limits.ratio:.0f} 倍を超えます（圧縮爆弾の疑い）")


def _inflate(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    result: Preflight,
    limits: Limits,
    sheets: Sequence[SheetInfo] = (),
    keep: bool = False,
) -> bytes:
    """Inflate one part as a stream under the caps; scan XML for DTDs and worksheets for cells.

    With ``keep`` (a small structural part) the inflated bytes are returned; otherwise b"".
    """
    file = result.file
    name = info.filename
    is_xml = name.endswith((".xml", ".rels", ".vml"))
    scanners = [_SheetScanner(s, limits.rows, limits.entry_columns if s.name == SHEET_ENTRY else limits.columns) for s in sheets]
    kept: list[bytes] = []
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
                _check_inflated(name, inflated, result.inflated_bytes, info.compress_size, file, limits)
                if keep:
                    if inflated > _STRUCTURE_PART_BYTES:
                        raise _reject(
                            "F-CORRUPT", file, detail=f"{name} が大きすぎます（{_STRUCTURE_PART_BYTES // 2**20} MB 超）"
                        )
                    kept.append(chunk)
                if is_xml:
                    if first and (chunk[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in chunk[:64]):
                        raise _reject("F-UNREADABLE", file, detail=f"{name} が UTF-8 以外の XML です")
                    if _DTD_RE.search(tail + chunk):
                        raise _reject("F-UNREADABLE", file, detail=f"{name} に DTD・実体宣言があります（XML 攻撃の疑い）")
                    tail = chunk[-16:]
                for scanner in scanners:
                    scanner.feed(chunk)
                    if scanner.decided:  # the rest of a hostile sheet could only cost time
                        _check_extent(scanner.info, file, limits)
                first = False
        for scanner in scanners:
            scanner.feed(b"", final=True)
    except _Reject:
        raise
    except _Malformed as exc:
        raise _reject("F-CORRUPT", file, exc.args[1], detail=exc.args[0]) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise _reject("F-CORRUPT", file, detail=f"{name} が壊れています: {type(exc).__name__}") from None
    return b"".join(kept)


def _check_extent(sheet: SheetInfo, file: str, limits: Limits) -> None:
    if sheet.declared:
        last = sheet.declared.split(":")[-1]
        match = re.fullmatch(r"\$?([A-Z]{1,4})\$?(\d{1,9})", last)
        if not match:
            raise _reject(
                "F-CORRUPT", file, sheet.name, detail=f"シート「{sheet.name}」の範囲指定「{sheet.declared[:40]}」が不正です"
            )
        if int(match.group(2)) > EXCEL_MAX_ROW or column_index(match.group(1)) > EXCEL_MAX_COL:
            raise _reject(
                "F-CORRUPT",
                file,
                sheet.name,
                detail=f"シート「{sheet.name}」の範囲「{sheet.declared[:40]}」が Excel の上限を超えます",
            )
    if max(sheet.max_row, sheet.max_row_attr) > EXCEL_MAX_ROW or sheet.max_col > EXCEL_MAX_COL:
        raise _reject(
            "F-CORRUPT",
            file,
            sheet.name,
            detail=f"シート「{sheet.name}」に Excel の上限を超える行番号（{max(sheet.max_row, sheet.max_row_attr)}）または列があります",
        )
    if sheet.rows_seen > limits.rows:
        raise _reject(
            "F-TOO-LARGE", file, sheet.name, detail=f"シート「{sheet.name}」の行数 {sheet.rows_seen:,}、上限 {limits.rows:,}"
        )
    if sheet.beyond is not None:  # the scanner's bounds are the template's (_inflate)
        raise _reject("F-OUTSIDE-TEMPLATE", file, sheet.name, sheet.beyond, cell=f"{sheet.name}!{sheet.beyond}")
