"""Plain, person-readable tables written as .xlsx (masters, reports), and the look every sheet
annex writes shares: one Japanese font, wrapped text, widths that fit their labels, explicit row
heights, and one print set-up (A4 landscape, one page wide, header rows repeated).

Every text goes in as a string cell: ministry text starting with = + - @ must never become a
formula (CWE-1236), and characters XML cannot hold are shown as U+FFFD rather than crashing
the writer (validation reports them separately, at their cell).
"""

from __future__ import annotations

import copy
import functools
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter
import xlsxwriter.exceptions
import xlsxwriter.worksheet
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.merge import MergedCellRange
from openpyxl.worksheet.page import PageMargins

# ＭＳ Ｐゴシック: on every Japanese Windows and in Office for Mac, so Excel shows it as named;
# LibreOffice finds it through the fontconfig alias scripts/setup.sh installs
# (scripts/fontconfig/65-annex-japanese.conf → IPAexゴシック, designed on its metrics).
FONT_NAME = "ＭＳ Ｐゴシック"
FONT_SIZE = 10
FONT_CHARSET = 128  # SHIFTJIS_CHARSET: Excel then treats the font as Japanese
LINE_HEIGHT = 13.5  # points per wrapped line at FONT_SIZE, with the line gap Excel and LibreOffice add
MAX_ROW_HEIGHT = 409  # Excel's limit
CHAR_UNITS = 1.9  # column-width units of one full-width character at FONT_SIZE in Excel (half-width: half)

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
WRAP = Alignment(wrap_text=True, vertical="top")
EXCEL_CELL_LIMIT = 32767  # characters in a cell, counted in UTF-16 units (an emoji is 2)
# A longer text is kept whole in a sheet of its own, in parts under the limit, its cell saying where.
OVERFLOW_SHEET = "長文"
OVERFLOW_PART = 30_000
OVERFLOW_HEADERS = ("No.", "シート", "セル", "部分", "本文")


def font(*, bold: bool = False, size: float = FONT_SIZE, color: str | None = None, underline: str | None = None) -> Font:
    """The sheet font (every cell annex styles), bold or coloured where a cell needs it."""
    return Font(name=FONT_NAME, charset=FONT_CHARSET, size=size, bold=bold, color=color, underline=underline)


BODY_FONT = font()
HEADER_FONT = font(bold=True)
# the dark look of the labels in the workbooks a ministry receives back (feedback sheets)
FEEDBACK_HEADER_LOOK = (font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="1F4E78"))
TITLE_FONT = font(bold=True, size=14)


def use_sheet_font(wb: Workbook) -> None:
    """Make the sheet font the workbook's default (empty cells, the Normal style, column units).

    openpyxl has no public setter: the default is the first font of the stylesheet, which a
    fresh workbook holds alone, so it is replaced before any cell is styled."""
    assert len(wb._fonts) == 1, "call use_sheet_font on a fresh workbook"
    wb._fonts = IndexedList([BODY_FONT])
    wb._named_styles["Normal"].font = BODY_FONT


@functools.cache
def _char_units(ch: str) -> float:
    return CHAR_UNITS if unicodedata.east_asian_width(ch) in "WFA" else CHAR_UNITS / 2


@functools.lru_cache(maxsize=1 << 16, typed=True)  # typed: 1 and True are spelled differently
def text_width(text: str) -> float:
    """Width of the longest line of text in column units (a full-width character counts double)."""
    # per character, cached, and per text: every cell of every report is measured (widths and row
    # heights), and a table repeats its short values (府省, 欄, reasons) on thousands of lines
    return max(sum(map(_char_units, line), 0.0) for line in str(text).split("\n"))


def line_count(text: str, width: float) -> int:
    """Lines a wrapped cell of this column width shows text in."""
    room = max(1.0, width - 1)  # the cell's inner padding
    return sum(max(1, math.ceil(text_width(part) / room)) for part in str(text).split("\n")) if text else 1


def row_height(texts: Iterable[tuple[str, float]], *, minimum_lines: int = 1) -> float:
    """An explicit height for a row of wrapped cells (text, column width): Excel does not fit row
    heights on open, so without one a wrapped text is cut at one line."""
    lines = max([minimum_lines, *(line_count(t, w) for t, w in texts if t)])
    return min(MAX_ROW_HEIGHT, LINE_HEIGHT * lines + 4)


def fitted_width(label: str, values: Iterable[Any], *, minimum: float = 6, maximum: float = 60) -> float:
    """A column width that shows its label on one line and its values unwrapped where they are
    short, wrapping only beyond ``maximum``."""
    widest = max([text_width(label), *(text_width(v) for v in values if v is not None and v != "")])
    return round(min(max(widest + 2, minimum), max(maximum, text_width(label) + 2)), 1)


def print_setup(
    ws: Any,
    *,
    title_rows: str | None = None,
    header: str | None = None,
    last_column: int | None = None,
    last_row: int | None = None,
) -> None:
    """The one print set-up of every sheet: A4 landscape, fitted to one page wide (as many pages
    long as needed), the header rows repeated on every page, page numbers in the footer."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True
    if title_rows:
        ws.print_title_rows = title_rows
    if last_column and last_row:
        ws.print_area = f"A1:{get_column_letter(last_column)}{last_row}"
    ws.oddFooter.center.text = "&P / &N"
    ws.oddFooter.center.font = FONT_NAME
    if header:
        ws.oddHeader.right.text = header
        ws.oddHeader.right.font = FONT_NAME


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


def excel_length(text: str) -> int:
    """A text's length as Excel counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def excel_parts(text: str, size: int = OVERFLOW_PART) -> list[str]:
    """Split a text into parts of at most ``size`` UTF-16 units, never inside a character."""
    parts, current, units = [], [], 0
    for ch in text:
        width = 2 if ord(ch) > 0xFFFF else 1
        if units + width > size:
            parts.append("".join(current))
            current, units = [], 0
        current.append(ch)
        units += width
    parts.append("".join(current))
    return parts


def _overflowed(text: str, number: int) -> str:
    """What a cell too long for Excel holds: its beginning and where the whole text is."""
    return f"{text[:200]}…［全 {len(text):,} 字。Excel のセルの上限を超えるため、全文はシート「{OVERFLOW_SHEET}」の No.{number}］"


@dataclass
class Sheet:
    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: dict[str, float] = field(default_factory=dict)  # header → width (else fitted to label and values)
    # Columns repeating the same long context on every line (master.xlsx's 基本計画): they do not
    # make each row tall, so a repeated text may be cut there — the row's own texts never are.
    height_ignores: Sequence[str] = ()


def write_header_row(ws: Any, row: int, headers: Sequence[str], widths: Sequence[float], *, look=None) -> None:
    """A table's column labels in ``row`` (wrapped, in the header look) and its column widths.
    ``look`` is (font, fill); the default is the light look of the secretariat's tables."""
    header_font, header_fill = look or (HEADER_FONT, HEADER_FILL)
    for i, (header, width) in enumerate(zip(headers, widths), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
        cell = ws.cell(row=row, column=i)
        set_text(cell, header)
        cell.font, cell.fill, cell.alignment = header_font, header_fill, WRAP


def write_tables(path: Path, sheets: Sequence[Sheet]) -> None:
    """Write sheets of plain rows: a bold frozen header, an autofilter, every cell wrapped, widths
    fitted to labels and values, rows as tall as their text, the print set-up of print_setup.

    Written with XlsxWriter row by row (constant_memory): a master of 200,000 lines took openpyxl
    minutes and gigabytes, a cell object each. The look is the one the openpyxl helpers give."""
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "default_format_properties": {"font_name": FONT_NAME, "font_size": FONT_SIZE, "font_charset": FONT_CHARSET},
        },
    )
    looks = _Looks(wb)
    overflow: list[tuple] = []  # (No., sheet, cell, part, text): texts longer than a cell can hold, whole
    for spec in sheets:
        ws = wb.add_worksheet(spec.title, worksheet_class=_TableSheet)
        rows = [list(r) for r in spec.rows]
        for r, row in enumerate(rows, start=2):
            for i, value in enumerate(row):
                if isinstance(value, str) and len(value) > EXCEL_CELL_LIMIT // 2 and excel_length(value) > EXCEL_CELL_LIMIT:
                    number = len({o[0] for o in overflow}) + 1
                    parts = excel_parts(value)
                    address = f"{get_column_letter(i + 1)}{r}"
                    overflow += [(number, spec.title, address, f"{k}/{len(parts)}", p) for k, p in enumerate(parts, 1)]
                    row[i] = _overflowed(value, number)
        widths = [
            spec.widths.get(h) or fitted_width(h, (r[i] for r in rows if i < len(r)), maximum=40)
            for i, h in enumerate(spec.headers)
        ]
        _write_header(ws, spec.headers, widths, looks.header)
        measured = [(i, w) for i, (w, h) in enumerate(zip(widths, spec.headers)) if h not in spec.height_ignores]
        for r, row in enumerate(rows, start=1):
            # the height first: in constant_memory mode a row is final once the next one is written
            ws.set_row(r, row_height((str(row[i]), w) for i, w in measured if i < len(row) and row[i] not in (None, "")))
            for i, value in enumerate(row):
                _write_value(ws, r, i, value, looks.wrapped)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, len(rows), len(spec.headers) - 1)
        _print_setup(ws, spec.title)
    if overflow:
        _write_overflow(wb, overflow, looks)
    _close(wb)


class _TableSheet(xlsxwriter.worksheet.Worksheet):
    """An XlsxWriter sheet that writes text as openpyxl did and states what readers otherwise assume.

    - Text is verbatim: XlsxWriter writes a text that looks like "<r>…</r>" as raw rich-text XML
      and turns "\r" and a literal "_x0041_" into Excel escapes; a ministry's text is never markup
      and reads back as written ("\r" as a character reference, as lxml wrote it).
    - fitToWidth="1" (openpyxl reads its absence as no fit; the print set-up is read back) and one
      <col> per column (openpyxl gives a column inside a range of equal widths the default width)."""

    @staticmethod
    def _escape_control_characters(data: Any) -> Any:
        # only XML's two non-characters (xml_safe leaves them), as Excel escapes them
        return data.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_") if isinstance(data, str) else data

    def _escape_data(self, data: Any) -> Any:
        data = super()._escape_data(data)
        return data.replace("\r", "&#13;") if isinstance(data, str) else data  # a bare CR would be read as LF

    def _xml_rich_inline_string(self, string: str, attributes: list | None = None) -> None:
        self._xml_inline_string(string, bool(string != string.strip()), attributes or [])

    def _write_cols(self) -> None:
        if not self.col_info:
            return
        self._xml_start_tag("cols")
        for col in sorted(self.col_info):
            self._write_col_info(col, col, self.col_info[col])
        self._xml_end_tag("cols")

    def _write_page_setup(self) -> None:
        write = self._xml_empty_tag

        def with_width(tag: str, attributes: list | None = None) -> None:
            attributes = list(attributes or [])
            if tag == "pageSetup" and self.fit_page and all(key != "fitToWidth" for key, _ in attributes):
                attributes.insert(1 if attributes and attributes[0][0] == "paperSize" else 0, ("fitToWidth", self.fit_width))
            write(tag, attributes)

        self._xml_empty_tag = with_width  # type: ignore[method-assign]
        try:
            super()._write_page_setup()
        finally:
            del self._xml_empty_tag


class _Looks:
    """The two cell looks of write_tables, as XlsxWriter formats of one workbook."""

    def __init__(self, wb: Any) -> None:
        header_fill = HEADER_FILL.fgColor.rgb[-6:]
        self.header = wb.add_format(
            {"bold": True, "pattern": 1, "fg_color": f"#{header_fill}", "text_wrap": True, "valign": "top"}
        )
        self.wrapped = wb.add_format({"text_wrap": True, "valign": "top"})


def _column_pixels(width: float) -> int:
    """XlsxWriter stores widths in whole pixels (7 a character unit): the width openpyxl stored as
    given, never narrower (a wrapped text must not need a line more than its row height allows)."""
    return math.ceil(round(width * 7, 6))


def _write_header(ws: Any, headers: Sequence[str], widths: Sequence[float], look: Any) -> None:
    for i, (header, width) in enumerate(zip(headers, widths)):
        ws.set_column_pixels(i, i, _column_pixels(width))
        _write_value(ws, 0, i, header, look)


def _write_value(ws: Any, r: int, c: int, value: Any, look: Any) -> None:
    """A value as set_text stores it: numbers and booleans as such, everything else verbatim text
    (never a formula, whatever it starts with)."""
    if value is None or value == "":
        ws.write_blank(r, c, None, look)
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value, look)
    elif isinstance(value, (int, float)):
        ws.write_number(r, c, value, look)
    else:
        ws.write_string(r, c, xml_safe(str(value)), look)


def _print_setup(ws: Any, header: str) -> None:
    """print_setup for an XlsxWriter sheet: A4 landscape, one page wide, header row repeated,
    the sheet's name top right and page numbers in the footer, in the sheet font."""
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.center_horizontally()
    ws.repeat_rows(0)
    ws.set_header(f'&R&"{FONT_NAME}"{header.replace("&", "&&")}', {"margin": 0.3})
    ws.set_footer(f'&C&"{FONT_NAME}"&P / &N', {"margin": 0.3})


def _close(wb: Any) -> None:
    """Write the workbook; a file system error surfaces as the OSError it is (a full disk is one
    message, not a traceback), not as XlsxWriter's own exception."""
    try:
        wb.close()
    except xlsxwriter.exceptions.FileCreateError as exc:
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else exc.__context__
        if isinstance(cause, OSError):
            raise cause from None
        raise


class SharedFormula(ArrayFormula):
    """A formula stored once for a column of cells (SpreadsheetML's <f t="shared">, as Excel itself
    saves a filled-down formula): the first cell holds its text, the others only the index, and each
    cell computes it with its relative references shifted. A long per-line formula written into
    every cell made a template twice its size. openpyxl has no writer for it, but writes an
    ArrayFormula's attributes as they are; openpyxl and LibreOffice read it back per cell."""

    t = "shared"

    def __init__(self, index: int, ref: str | None = None, text: str = "="):
        super().__init__(ref, text)
        self.index = index

    def __iter__(self):
        yield "t", self.t
        if self.ref:
            yield "ref", self.ref
        yield "si", str(self.index)


def fill_down_formula(ws: Any, column: str, first: int, last: int, formula: str, index: int) -> None:
    """formula (written for row first, "=…") in column from row first to last, stored once.
    index tells apart the shared formulas of one sheet (0, 1, …)."""
    ws[f"{column}{first}"].value = SharedFormula(index, f"{column}{first}:{column}{last}", formula)
    for r in range(first + 1, last + 1):
        ws[f"{column}{r}"].value = SharedFormula(index)


class Look:
    """A cell look (font, fill, border, alignment, protection: openpyxl cell attributes) given to
    many cells: the first gets each style as usual, the others a copy of the style indices it then
    holds, which is what assigning each style again would store, without hashing every style object
    once more per cell (openpyxl hashes them whole: most of a template's CPU). For fresh cells only."""

    def __init__(self, **styles: Any) -> None:
        self.styles = styles
        self._indices: Any = None

    def apply(self, cell: Any) -> None:
        if self._indices is None:
            for name, style in self.styles.items():
                setattr(cell, name, style)
            self._indices = copy.copy(cell._style)
        else:
            cell._style = copy.copy(self._indices)


def merge_new(ws: Any, row: int, first_column: int, last_column: int) -> None:
    """ws.merge_cells on one row's span that overlaps no merged range of the sheet (the caller knows:
    each row merged at most once). openpyxl's merge_cells first compares the span with every merged
    range of the sheet: quadratic, ~2 s CPU for the 2,000 rows of a nationwide survey's 略称表."""
    merged = MergedCellRange(ws, f"{get_column_letter(first_column)}{row}:{get_column_letter(last_column)}{row}")
    ws.merged_cells.ranges.add(merged)
    ws._clean_merge_range(merged)  # the rest of merge_cells: covered cells become MergedCell


def _write_overflow(wb: Any, overflow: list[tuple], looks: _Looks) -> None:
    """The 長文 sheet: each too-long text in order, in parts; the parts of one No. joined are the text."""
    ws = wb.add_worksheet(OVERFLOW_SHEET, worksheet_class=_TableSheet)
    _write_header(ws, OVERFLOW_HEADERS, (6, 14, 8, 8, 100), looks.header)
    for r, values in enumerate(overflow, start=1):
        ws.set_row(r, MAX_ROW_HEIGHT)
        for i, value in enumerate(values):
            _write_value(ws, r, i, value, looks.wrapped)
    ws.freeze_panes(1, 0)
    _print_setup(ws, f"{OVERFLOW_SHEET}（同じ No. の部分をつなげたものが全文です）")
