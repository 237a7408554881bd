"""Reading a submission: runs inside a memory-limited worker (annex.io.workers), never in the
process that drives the batch.

The order is fixed: preflight (annex.intake.preflight) on the bytes first; only a file it passes is
opened with fastexcel (calamine, Rust: 27 ms for 2,000 lines against 211 ms for openpyxl).
Sheets are read by their exact name, never by index (a very-hidden first sheet is never read
by accident), and every cell is read as text, verbatim: "00123" stays "00123", "NA" stays "NA",
only a truly empty cell is missing. Formula cells are found by preflight in the XML itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from annex.intake.preflight import DEFAULT_LIMITS, TYPED_CAP, Limits, SheetInfo, column_index, preflight
from annex.model.contract import (
    COLUMN_BY_KEY,
    HEADER_SEARCH_ROWS,
    LIVE_LABEL,
    META_KEYS,
    SHEET_ENTRY,
    SHEET_GUIDE,
    SHEET_LISTS,
    SHEET_META,
    SHEET_RESULT,
    TITLE_ROW,
)
from annex.model.issues import Issue, Location
from annex.model.rules import rule


@dataclass
class Grid:
    """A sheet's values as text, positioned: rows[i][j] is the cell at row i+1, column first_col+j."""

    rows: list[list[str | None]] = field(default_factory=list)
    first_col: int = 1  # 1-based column of rows[*][0]

    def value(self, row: int, col: int) -> str | None:
        """1-based row and column → the cell's text, None if empty or outside."""
        if row < 1 or row > len(self.rows):
            return None
        j = col - self.first_col
        cells = self.rows[row - 1]
        return cells[j] if 0 <= j < len(cells) else None


@dataclass(frozen=True)
class CellNote:
    """A 記入シート cell whose text is not simply what Excel stored as text."""

    address: str  # A1
    formula: bool  # the cell holds a formula
    kind: str | None  # not stored as text: 数値 / 日付・時刻 / 論理値 / エラー値; None for a text result
    shown: str | None  # the text the cell shows; None when it cannot be reproduced (or no cached value)
    format: str = ""  # the number format applied


@dataclass
class RawWorkbook:
    """What a worker hands back: plain data, picklable, no library objects."""

    file: str  # display name
    entry: Grid | None = None  # 記入シート, None when the sheet is missing; typed cells already as shown
    meta: dict[str, str] | None = None  # _annex key → value, None when the sheet is missing
    formulas: list[str] = field(default_factory=list)  # A1 addresses in 記入シート
    notes: list[CellNote] = field(default_factory=list)  # formula and typed cells of 記入シート
    entry_state: str = "visible"  # 記入シート's visibility
    others: dict[str, Grid] = field(default_factory=dict)  # other sheets but the template's own (記入要領, リスト, _annex)
    issues: list[Issue] = field(default_factory=list)  # file-level problems (preflight's included)

    @property
    def readable(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)


def _grid(reader, name: str) -> Grid:
    sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
    columns = sheet.available_columns()
    frame = sheet.to_polars()
    first = (columns[0].absolute_index + 1) if columns else 1
    return Grid(rows=[list(r) for r in frame.iter_rows()], first_col=first)


def _meta(grid: Grid) -> dict[str, str]:
    """Key/value pairs: a known key in one cell, its value in the next non-empty cell to the right."""
    found: dict[str, str] = {}
    for cells in grid.rows:
        values = [c for c in cells if c not in (None, "")]
        if len(values) >= 2 and values[0].strip() in META_KEYS and values[0].strip() not in found:
            found[values[0].strip()] = values[1]
        elif len(values) == 1 and values[0].strip() in META_KEYS:
            found.setdefault(values[0].strip(), "")
    return found


def live_cells(grid: Grid | None):
    """Whether a formula cell is one of the template's own live checks (annex.distribute.live): the
    チェック column below its label, and the count above 記載内容. They are not the ministry's input and
    are never read; every other formula is reported as before."""
    label_row, check_col, text_col = None, None, None
    for r in range(1, min(HEADER_SEARCH_ROWS, len(grid.rows) if grid else 0) + 1):
        for j, value in enumerate(grid.rows[r - 1]):  # type: ignore[union-attr]
            if value is not None and value.strip() == LIVE_LABEL:
                label_row, check_col = r, grid.first_col + j  # type: ignore[union-attr]
            elif value is not None and value.strip() == COLUMN_BY_KEY["text"].label and label_row in (None, r):
                text_col = grid.first_col + j  # type: ignore[union-attr]
        if label_row is not None:
            break
    if label_row is None:
        return lambda cell: False

    def live(cell: str) -> bool:
        m = re.fullmatch(r"([A-Z]+)(\d+)", cell)
        if not m:
            return False
        col, row = column_index(m.group(1)), int(m.group(2))
        return (col == check_col and row > label_row) or (col == text_col and row == TITLE_ROW + 1)

    return live


# Sheets of the template itself, never compared with 記入シート (検証結果: a feedback workbook sent back).
TEMPLATE_SHEETS = frozenset({SHEET_ENTRY, SHEET_GUIDE, SHEET_LISTS, SHEET_META, SHEET_RESULT})


def read_workbook(path: str | Path, display_name: str | None = None, limits: Limits = DEFAULT_LIMITS) -> RawWorkbook:
    """Preflight, then read 記入シート (as the officer sees it), the metadata sheet and any other
    sheet (a copy of 記入シート must not hold the edits unseen). Never raises for bad input."""
    path = Path(path)
    name = display_name or path.name
    checked = preflight(path, name, limits)
    raw = RawWorkbook(name)
    raw.issues.extend(checked.issues)
    if not checked.ok:
        return raw
    entry_info: SheetInfo | None = checked.sheet(SHEET_ENTRY)
    try:
        import fastexcel  # heavy (Rust, polars): loaded only in the reading worker, never in the parent

        reader = fastexcel.read_excel(str(path))
        names = set(reader.sheet_names)
        if SHEET_ENTRY in names:
            raw.entry = _grid(reader, SHEET_ENTRY)
        if SHEET_META in names:
            raw.meta = _meta(_grid(reader, SHEET_META))
        for sheet in checked.sheets:
            if sheet.name not in TEMPLATE_SHEETS and sheet.name in names and sheet.max_row:
                raw.others[sheet.name] = _grid(reader, sheet.name)
    except MemoryError:
        raw.issues.append(rule("F-TOO-LARGE").issue(Location(name), detail="読み取りに必要なメモリが上限を超えました"))
        return raw
    except Exception as exc:  # calamine's errors are not fit to show; map them to our rule
        detail = "パスワードで保護されています" if "Password" in type(exc).__name__ else f"{type(exc).__name__}"
        raw.issues.append(rule("F-UNREADABLE").issue(Location(name), detail=detail))
        return raw
    if entry_info is not None:
        raw.entry_state = entry_info.state
        raw.formulas = list(entry_info.formulas)
        if raw.entry is not None and (entry_info.formulas or entry_info.typed):
            if len(entry_info.typed) >= TYPED_CAP:
                detail = f"シート「{SHEET_ENTRY}」に数値・日付のセルが {TYPED_CAP:,} 個以上あります"
                raw.issues.append(rule("F-TOO-LARGE").issue(Location(name, SHEET_ENTRY), detail=detail))
                return raw
            formulas, typed = _to_note(entry_info, raw.entry)
            try:
                raw.notes = _cell_notes(path, formulas, typed, raw.entry) if formulas or typed else []
            except MemoryError:
                raw.issues.append(rule("F-TOO-LARGE").issue(Location(name), detail="読み取りに必要なメモリが上限を超えました"))
            except Exception as exc:  # openpyxl on a damaged part: a located refusal, never a traceback
                raw.issues.append(rule("F-UNREADABLE").issue(Location(name, SHEET_ENTRY), detail=f"{type(exc).__name__}"))
    return raw


def _to_note(info: SheetInfo, grid: Grid) -> tuple[list[str], list[str]]:
    """The formula and typed cells of 記入シート that need openpyxl to tell what they show.

    Not the template's own live checks (validation never reads those: ``live_cells``), and not a
    "typed" cell that holds no value: openpyxl writes an empty formatted cell as <c t="n"></c>, so
    a template edited by openpyxl has thousands, and opening the whole sheet with openpyxl for them
    was two thirds of reading such a file. fastexcel shows both an empty cell and an error value as
    nothing, so that is trusted only in a sheet without error values (SheetInfo.errors)."""
    live = live_cells(grid)
    formulas = [a for a in info.formulas if not live(a)]
    typed = list(info.typed)
    if typed and not info.errors:  # preflight saw every cell's type: the part is not read again
        typed = _holding_values(typed, grid)
    return formulas, typed


def _holding_values(addresses: list[str], grid: Grid) -> list[str]:
    """The addresses whose grid cell holds text. A template has thousands of formatted empty cells
    (~5,000 a survey return): each column's index is worked out once, not per address."""
    columns: dict[str, int] = {}
    kept = []
    for address in addresses:
        letters = address.rstrip("0123456789")
        col = columns.get(letters) or columns.setdefault(letters, column_index(letters))
        if grid.value(int(address[len(letters) :]), col) not in (None, ""):
            kept.append(address)
    return kept


def _cell_notes(path: Path, formula_cells: list[str], typed_cells: list[str], grid: Grid) -> list[CellNote]:
    """What the formula and typed cells of 記入シート show, and the grid set to that text.

    fastexcel gives a typed cell's raw value as text (「true」, 「2026-04-01 00:00:00」, 「0.5」);
    openpyxl (read-only, cached values) gives the value and its number format, for these cells
    only, within the rectangle that holds them (preflight has bounded the sheet already)."""
    import openpyxl  # only for a workbook holding formula or typed cells (rare)
    from openpyxl import load_workbook  # (the same import)

    from annex.intake.display import shown_text  # loads ssf: only for such a workbook

    wanted = {_rc(a): a for a in dict.fromkeys([*formula_cells, *typed_cells])}
    formulas = set(formula_cells)
    typed = set(typed_cells)
    rows = [r for r, _ in wanted]
    cols = [c for _, c in wanted]
    notes: dict[str, CellNote] = {}
    if not openpyxl.DEFUSEDXML:  # preflight refuses DTDs; openpyxl must refuse entities too (defusedxml)
        raise RuntimeError("openpyxl without defusedxml: XML entities would be expanded")
    wb = load_workbook(path, read_only=True, data_only=True, keep_links=False, keep_vba=False, rich_text=False)
    try:
        ws = wb[SHEET_ENTRY]
        ws.reset_dimensions()  # the declared <dimension> may claim the whole grid
        for row in ws.iter_rows(min_row=min(rows), max_row=max(rows), min_col=min(cols), max_col=max(cols)):
            for cell in row:
                address = wanted.get((cell.row, cell.column)) if hasattr(cell, "row") else None
                if address is None:
                    continue
                value = cell.value
                if address in typed and value is not None:
                    custom = cell.number_format if cell.style_array.numFmtId >= 164 else None
                    shown = shown_text(value, cell.style_array.numFmtId, custom, wb.epoch)
                    notes[address] = CellNote(address, address in formulas, shown.kind, shown.text, shown.format)
                    _set(grid, cell.row, cell.column, shown.text)
                elif address in formulas:  # a text result, or no cached value at all (None)
                    shown_value = None if value is None else str(value)
                    notes[address] = CellNote(address, True, None, shown_value)
    finally:
        wb.close()
    for address in formulas - set(notes):  # openpyxl saw nothing there: a formula without a value
        notes[address] = CellNote(address, True, None, None)
    return sorted(notes.values(), key=lambda n: _rc(n.address))


def _rc(address: str) -> tuple[int, int]:
    letters = address.rstrip("0123456789")
    return int(address[len(letters) :]), column_index(letters)


def _set(grid: Grid, row: int, col: int, text: str | None) -> None:
    """Put a cell's shown text into the grid (None leaves the reader's text; the cell is an error anyway)."""
    if text is None or row < 1:
        return
    while len(grid.rows) < row:
        grid.rows.append([])
    cells = grid.rows[row - 1]
    j = col - grid.first_col
    if j < 0:
        return
    cells.extend([None] * (j + 1 - len(cells)))
    cells[j] = text
