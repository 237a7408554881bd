"""A text longer than Excel's cell limit (32,767 characters, counted in UTF-16 units) is never cut
in a table annex writes (master.xlsx, every report): its cell says where the whole text is, and
the sheet 長文 holds it in parts that join back to the text (issue 14)."""

from __future__ import annotations

import openpyxl
import pytest

from annex.io.xlsx import EXCEL_CELL_LIMIT, OVERFLOW_SHEET, Sheet, excel_length, write_tables

pytestmark = pytest.mark.reliability


def test_a_40000_character_heading_is_kept_whole(tmp_path):
    heading = "＜見出し＞" * 8_000 + "😀" * 10  # 40,010 characters (the emoji count double in Excel)
    other = "あ" * 33_000
    path = tmp_path / "master.xlsx"
    write_tables(
        path,
        [
            Sheet("マスター", ("項目ID", "見出し"), [("3-①-01-S01", heading), ("3-①-01-S02", "短い見出し")]),
            Sheet("変更", ("変更後",), [(other,)]),
        ],
    )
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["マスター", "変更", OVERFLOW_SHEET]
    cell = wb["マスター"]["B2"].value
    assert cell.startswith(heading[:100]) and f"シート「{OVERFLOW_SHEET}」の No.1" in cell and "40,010 字" in cell
    assert wb["マスター"]["B3"].value == "短い見出し"
    rows = list(wb[OVERFLOW_SHEET].iter_rows(min_row=2, values_only=True))
    assert all(excel_length(r[4]) <= EXCEL_CELL_LIMIT for r in rows)
    assert "".join(r[4] for r in rows if r[0] == 1) == heading and {r[1:3] for r in rows if r[0] == 1} == {("マスター", "B2")}
    assert "".join(r[4] for r in rows if r[0] == 2) == other and wb["変更"]["A2"].value.endswith("No.2］")
