"""Which cells of 記入シート the reader looks at with openpyxl (issue 13): not the template's own
live checks and not formatted empty cells, but every typed or formula value a ministry put there,
an error value included although fastexcel shows it as nothing."""

from __future__ import annotations

from corpus_distribution import distributed
from hostile import _cells, _entry_part, _rewrite, owned_lines

from annex.intake.preflight import preflight
from annex.intake.reader import live_cells, read_workbook
from annex.model.contract import SHEET_ENTRY


def test_a_template_as_distributed_needs_no_note_though_it_holds_live_checks_and_empty_formatted_cells(tmp_path):
    template = distributed().path("デジ")
    info = preflight(template, template.name).sheet(SHEET_ENTRY)
    assert info.formulas and info.typed  # the live checks, and <c t="n"></c> as openpyxl writes an empty cell
    assert not info.errors  # so the empty typed cells are dropped by what fastexcel shows
    raw = read_workbook(template)
    assert raw.readable and raw.notes == []
    assert raw.formulas == info.formulas and all(live_cells(raw.entry)(a) for a in raw.formulas)


def test_an_error_value_or_a_number_typed_in_a_line_is_still_noted_as_shown(tmp_path):
    valid = distributed().path("デジ").read_bytes()
    (r1, _), (r2, _) = owned_lines(valid, 2)
    part = _entry_part(valid)
    cells = {f"H{r1}": f'<c r="H{r1}" t="e"><v>#N/A</v></c>', f"H{r2}": f'<c r="H{r2}"><v>0.5</v></c>'}
    path = tmp_path / "typed.xlsx"
    path.write_bytes(_rewrite(valid, {part: _cells(cells)}))
    import fastexcel

    shown_by_fastexcel = fastexcel.read_excel(str(path)).load_sheet(SHEET_ENTRY, header_row=None, dtypes="string")
    assert list(shown_by_fastexcel.to_polars().row(r1 - 1))[7] is None  # the error value, as nothing
    assert preflight(path).sheet(SHEET_ENTRY).errors  # seen by preflight: the reader reads no part again
    raw = read_workbook(path)
    assert raw.entry.value(r1, 8) == "#N/A"  # as Excel shows it
    notes = {n.address: n for n in raw.notes}
    assert set(notes) == {f"H{r1}", f"H{r2}"}  # the live checks are not among them
    assert notes[f"H{r1}"].kind == "エラー値" and notes[f"H{r1}"].shown == "#N/A"
    assert notes[f"H{r2}"].kind == "数値" and notes[f"H{r2}"].shown == "0.5" == raw.entry.value(r2, 8)
