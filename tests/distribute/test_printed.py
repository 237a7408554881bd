"""The template as an officer reads it on screen and on paper: 国交省's workbook (the biggest:
two chapter-４ rows of 150 and 50 lines) read back with openpyxl and printed by LibreOffice."""

from __future__ import annotations

import re
import subprocess

import pytest
from corpus_distribution import distributed
from printed import A4_LANDSCAPE, print_workbook

from annex.distribute.template import LETTER, PRINTED_COLUMNS, read_lines
from annex.io.xlsx import FONT_NAME, line_count
from annex.model.contract import COLUMN_BY_KEY, COLUMNS, FIRST_DATA_ROW, SHEET_ENTRY, SHEET_GUIDE

BIG = "国"


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    return print_workbook(distributed().path(BIG), tmp_path_factory.mktemp("print"))


def test_row_context_stands_once_per_row_and_the_plan_says_the_same():
    d = distributed()
    lines = read_lines(d.workbook(BIG)[SHEET_ENTRY])
    rows = [ln["row_id"] for ln in lines]
    firsts = [i for i, r in enumerate(rows) if i == 0 or rows[i - 1] != r]
    assert len(firsts) < len(lines) / 10  # 208 lines, 2 rows (plus their spare lines)
    for i, line in enumerate(lines):
        shown = bool(line["measure"]) and bool(line["chapter"]) and bool(line["section"])
        assert shown == (i in firsts), (i, line["item_id"])
    plan = d.plans[BIG]
    assert [ln.values["measure"] for ln in plan.lines] == [ln["measure"] for ln in lines]


def test_nested_headings_are_one_per_line_never_joined_by_a_bracket():
    lines = read_lines(distributed().workbook(BIG)[SHEET_ENTRY])
    nested = [ln["heading"] for ln in lines if "\n" in ln["heading"]]
    assert nested and nested[0].split("\n")[0].startswith("＜") and nested[0].split("\n")[1].startswith("≪")
    assert not any("＞ ＞" in ln["heading"] or " ＞ " in ln["heading"] for ln in lines)


def test_every_cell_is_set_in_the_japanese_font_and_rows_fit_their_text():
    ws = distributed().workbook(BIG)[SHEET_ENTRY]
    assert ws["A1"].font.name == FONT_NAME
    for r in range(FIRST_DATA_ROW, FIRST_DATA_ROW + 40):
        for spec in COLUMNS:
            cell = ws[f"{LETTER[spec.key]}{r}"]
            assert cell.font.name == FONT_NAME and cell.alignment.wrap_text
        text = ws[f"{LETTER['text']}{r}"].value or ""
        measure = ws[f"{LETTER['measure']}{r}"].value or ""
        needed = max(line_count(text, COLUMN_BY_KEY["text"].width), line_count(measure, COLUMN_BY_KEY["measure"].width))
        assert ws.row_dimensions[r].height >= 13.5 * needed  # the whole text shown, the measure too


@pytest.mark.libreoffice
def test_it_prints_one_page_wide_on_a4_landscape_readably(printed):
    ws = distributed().workbook(BIG)[SHEET_ENTRY]
    assert ws.print_area.endswith(f"${LETTER['action']}${ws.max_row}") and PRINTED_COLUMNS == 12
    assert printed.page_size == pytest.approx(A4_LANDSCAPE, abs=1)
    entry_pages = [p for p in printed.page_texts() if "記入要領（" not in p and p.strip()]
    lines = len(read_lines(ws))
    assert 10 <= len(entry_pages) <= lines / 6  # was 19 pages of 5 pt; now fewer lines per page, readable
    for page in entry_pages:  # every page holds the whole width: the first and the last printed column
        assert "項目ID" in page and "対応" in page
    assert all(re.search("IPAex|NotoSansCJK", f) for f in printed.fonts if "DejaVu" not in f)
    assert any("IPAexGothic" in f for f in printed.fonts)  # ＭＳ Ｐゴシック found through the setup's alias


@pytest.mark.libreoffice
def test_printed_text_is_at_least_six_and_a_half_points(printed):
    bbox = subprocess.run(
        ["pdftotext", "-f", "2", "-l", "2", "-bbox", str(printed.pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    word = re.search(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">記載内容<', bbox)
    assert word, "the header row is repeated on page 2"
    per_char = (float(word.group(2)) - float(word.group(1))) / 4
    assert per_char >= 6.5  # a full-width character is as wide as the font size


@pytest.mark.libreoffice
def test_guide_spreads_its_texts_over_the_wide_columns_and_prints_whole(printed):
    ws = distributed().workbook(BIG)[SHEET_GUIDE]
    merged = {str(r) for r in ws.merged_cells.ranges}
    rows = {ws.cell(row=r, column=1).value: r for r in range(1, ws.max_row + 1)}
    for label in ("提出先", "提出方法", "1", "7"):
        assert f"B{rows[label]}:D{rows[label]}" in merged, label
        assert ws.row_dimensions[rows[label]].height <= 45  # was 138 pt, squeezed into column B
    assert "A1:D1" in merged
    guide_pages = [p for p in printed.page_texts() if "記入要領（" in p]
    assert 1 <= len(guide_pages) <= 8
    email = distributed().workspace.config.secretariat.email
    assert email in "\n".join(guide_pages)  # the address on one line, not broken at the column edge
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.fitToWidth) == 1
