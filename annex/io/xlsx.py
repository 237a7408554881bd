"""Plain, person-readable tables written as .xlsx (masters, reports).

Every text goes in as a string cell: ministry text starting with = + - @ must never become a
formula (CWE-1236), and characters XML cannot hold are shown as U+FFFD rather than crashing
the writer (validation reports them separately, at their cell).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADER_FONT = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
EXCEL_CELL_LIMIT = 32767


def xml_safe(text: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def text_cell_value(value: Any) -> Any:
    """Value to store: numbers and booleans as they are, everything else as verbatim text."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return xml_safe(str(value))


def set_text(cell: Any, value: Any) -> None:
    """Assign to an openpyxl cell so that text always stays text."""
    cell.value = text_cell_value(value)
    if isinstance(cell.value, str):
        cell.data_type = "s"


@dataclass
class Sheet:
    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: dict[str, float] = field(default_factory=dict)  # header → width
    wrap: Sequence[str] = ()  # headers whose cells wrap


def write_tables(path: Path, sheets: Sequence[Sheet]) -> None:
    """Write sheets of plain rows, with a bold frozen header and an autofilter."""
    wb = Workbook(write_only=True)
    for spec in sheets:
        ws = wb.create_sheet(spec.title)
        ws.freeze_panes = "A2"
        for i, header in enumerate(spec.headers, start=1):
            ws.column_dimensions[get_column_letter(i)].width = spec.widths.get(header, max(10, len(header) * 2.2))
        header_cells = []
        for header in spec.headers:
            c = WriteOnlyCell(ws, value=header)
            c.font, c.fill = HEADER_FONT, HEADER_FILL
            header_cells.append(c)
        ws.append(header_cells)
        wrap = {spec.headers.index(h) for h in spec.wrap}
        count = 0
        for row in spec.rows:
            cells = []
            for i, value in enumerate(row):
                c = WriteOnlyCell(ws)
                set_text(c, value)
                if i in wrap:
                    c.alignment = WRAP
                cells.append(c)
            ws.append(cells)
            count += 1
        ws.auto_filter.ref = f"A1:{get_column_letter(len(spec.headers))}{count + 1}"
    wb.save(path)
