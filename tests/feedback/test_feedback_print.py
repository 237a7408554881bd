"""The 検証結果 sheet as an officer reads it: on screen (openpyxl) and printed (LibreOffice)."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
from corpus_distribution import distributed
from printed import A4_LANDSCAPE, print_workbook

from annex.feedback.workbook import ISSUE_HEADERS, ISSUE_WIDTHS
from annex.io.workers import WorkerPool
from annex.io.xlsx import FONT_NAME, line_count, text_width
from annex.model.contract import HEADER_ROW, SHEET_ENTRY, SHEET_RESULT
from annex.workspace.collect import feedback_folder, feedback_name, validate_files
from annex.workspace.master import load_reference


@pytest.fixture(scope="module")
def returned(tmp_path_factory):
    """文's template sent back in a sub-folder with a deleted column label (見出し), a half-width
    katakana text and a new line tagged only with another ministry."""
    d = distributed()
    folder = tmp_path_factory.mktemp("fbp") / "文部科学省"
    folder.mkdir()
    path = folder / "文_回答.xlsx"
    shutil.copyfile(d.path("文"), path)
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_ENTRY]
    header = next(c for c in ws[HEADER_ROW] if c.value == "見出し")
    header.value = None
    owned = [r for r in range(4, ws.max_row + 1) if ws[f"A{r}"].value and ws[f"L{r}"].protection.locked is False]
    ws[f"H{owned[0]}"], ws[f"L{owned[0]}"] = "ｶﾞｽの利用を推進。", "修正"
    wb.save(path)
    with WorkerPool(workers=1) as pool:
        [sub] = validate_files(d.workspace, 2026, [path], pool=pool, reference=load_reference(d.workspace, 2026))
    target = feedback_folder(d.workspace, 2026) / feedback_name(d.workspace, sub)
    return d, sub, target, header.coordinate


def _cells(ws):
    return [c for row in ws.iter_rows() for c in row if c.value is not None]


def test_results_show_what_the_officer_needs_and_nothing_internal(returned):
    d, sub, target, _ = returned
    ws = openpyxl.load_workbook(target)[SHEET_RESULT]
    values = [str(c.value) for c in _cells(ws)]
    assert not any("SHA" in v or sub.sha256[:12] in v for v in values)  # no hash shown to officers
    assert "文_回答.xlsx" in values and not any("文部科学省/" in v for v in values)  # the file, no folder
    assert "文（文部科学省・スポーツ庁・文化庁）" in values  # the ministry in full, not 「文」
    assert "S-COLUMN-MISSING" in values


def test_results_wrap_fit_their_labels_and_rows_are_tall_enough(returned):
    _, sub, target, _ = returned
    ws = openpyxl.load_workbook(target)[SHEET_RESULT]
    head = next(r for r in range(1, 20) if ws.cell(row=r, column=1).value == "No.")
    for c, (label, width) in enumerate(zip(ISSUE_HEADERS, ISSUE_WIDTHS), start=1):
        assert ws.cell(row=head, column=c).value == label
        assert ws.column_dimensions[openpyxl.utils.get_column_letter(c)].width == width >= text_width(label) + 1
    message, fix = ISSUE_HEADERS.index("内容") + 1, ISSUE_HEADERS.index("修正のしかた") + 1
    for r in range(head + 1, head + 1 + len(sub.issues)):
        for c in (message, fix):
            cell = ws.cell(row=r, column=c)
            assert cell.alignment.wrap_text and cell.font.name == FONT_NAME
            lines = line_count(str(cell.value or ""), ISSUE_WIDTHS[c - 1])
            assert ws.row_dimensions[r].height >= 13.5 * lines
    assert ws.print_title_rows == f"${head}:${head}"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.sheet_properties.pageSetUpPr.fitToPage and int(ws.page_setup.fitToWidth) == 1
    assert ws.cell(row=3, column=1).value == "判定" and "A3:C3" in {str(m) for m in ws.merged_cells.ranges}


def test_the_cell_of_a_deleted_column_label_can_be_typed_in(returned):
    _, sub, target, header = returned
    assert any(i.rule == "S-COLUMN-MISSING" and i.location.cell == header for i in sub.issues)
    ws = openpyxl.load_workbook(target)[SHEET_ENTRY]
    assert ws.protection.sheet  # still protected, but the marked cell is open
    assert ws[header].protection.locked is False
    for issue in sub.issues:
        if issue.location.sheet == SHEET_ENTRY and issue.location.cell:
            assert ws[issue.location.cell].protection.locked is False


@pytest.mark.libreoffice
def test_results_print_one_page_wide_on_a4_landscape(returned, tmp_path):
    _, sub, target, _ = returned
    only = tmp_path / "results.xlsx"  # the 検証結果 sheet alone, as the officer prints it
    wb = openpyxl.load_workbook(target)
    for name in wb.sheetnames[1:]:
        del wb[name]
    wb.save(only)
    printed = print_workbook(only, tmp_path / "pdf")
    assert printed.page_size == pytest.approx(A4_LANDSCAPE, abs=1)
    assert printed.pages == 1  # was four pages for one issue: cell, code, message and fix apart
    page = printed.page_texts()[0]
    for label in ("No.", "重要度", "内容", "修正のしかた", "コード"):
        assert label in page
    assert all(i.rule in page for i in sub.issues)
    assert any("IPAexGothic" in f for f in printed.fonts)
