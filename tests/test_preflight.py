"""Preflight: the bytes are judged before any parser runs — type, container, zip members, inflated
sizes and ratio, DTDs, declared and real sheet extent, macros, encryption."""

from __future__ import annotations

import time

import pytest

from annex.preflight import Limits, preflight
from corpus_distribution import distributed
from hostile import OK_ROWS, make_catalogue, sheet_xml, write_xlsx


@pytest.fixture(scope="module")
def valid() -> bytes:
    return distributed().path("文").read_bytes()


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory, valid):
    return make_catalogue(tmp_path_factory.mktemp("hostile"), valid)


def test_a_distributed_template_passes(tmp_path, valid):
    path = tmp_path / "t.xlsx"
    path.write_bytes(valid)
    result = preflight(path)
    assert result.ok and result.kind == "xlsx", result.issues
    names = {s.name: s for s in result.sheets}
    assert names["_annex"].state == "veryHidden" and names["記入シート"].max_col == 14


@pytest.mark.parametrize("name", [
    "empty.xlsx", "text.xlsx", "csv_renamed.xlsx", "xls_renamed.xlsx", "truncated.xlsx", "deflate_damaged.xlsx",
    "encrypted.xlsx", "macro.xlsx", "zip_slip.xlsx", "zipbomb_cells.xlsx", "zipbomb_whitespace.xlsx",
    "huge_shared_string.xlsx", "billion_laughs_sst.xlsx", "billion_laughs_sheet.xlsx", "xxe_file.xlsx",
    "xxe_external_dtd.xlsx", "cell_at_XFD1048576.xlsx", "cell_at_XFD2.xlsx", "row_2000000.xlsx", "million_rows_claimed.xlsx",
])
def test_each_hostile_file_gets_its_rule_quickly(catalogue, name):
    path, code = catalogue[name]
    start = time.perf_counter()
    result = preflight(path, display_name=name)
    assert time.perf_counter() - start < 5
    assert [i.rule for i in result.issues] == [code]
    issue = result.issues[0]
    assert issue.location.file == name and issue.message and issue.severity == "error"


def test_outside_cells_are_named(catalogue):
    for name, cell in (("cell_at_XFD1048576.xlsx", "XFD1048576"), ("cell_at_XFD2.xlsx", "XFD2")):
        [issue] = preflight(catalogue[name][0]).issues
        assert (issue.location.sheet, issue.location.cell) == ("記入シート", cell)
        assert f"記入シート!{cell}" in issue.message


def test_a_declared_full_grid_with_few_cells_is_accepted(tmp_path):
    path = write_xlsx(tmp_path / "dim.xlsx", sheet_xml(OK_ROWS, dim="A1:XFD1048576"))
    assert preflight(path).ok


def test_formula_cells_are_found_in_the_xml(tmp_path):
    rows = OK_ROWS.replace('<c r="B2" t="inlineStr"><is><t>x</t></is></c>',
                           '<c r="B2" t="str"><f>cmd|\' /C calc\'!A0</f><v>0</v></c>')
    result = preflight(write_xlsx(tmp_path / "f.xlsx", sheet_xml(rows)))
    assert result.ok and result.sheets[0].formulas == ["B2"]


def test_member_cap_holds_without_a_suspicious_ratio(tmp_path):
    import os

    big = os.urandom(3 * 2**20).hex()  # incompressible: ratio ~2, size over a lowered cap
    path = write_xlsx(tmp_path / "big.xlsx", sst=f'<sst xmlns="x"><si><t>{big}</t></si></sst>')
    [issue] = preflight(path, limits=Limits(member_bytes=2**20)).issues
    assert issue.rule == "F-TOO-LARGE" and "sharedStrings" in issue.message


def test_a_file_over_the_upload_cap_is_refused_without_reading(tmp_path, valid):
    path = tmp_path / "big.xlsx"
    path.write_bytes(valid)
    [issue] = preflight(path, limits=Limits(file_bytes=1000)).issues
    assert issue.rule == "F-TOO-LARGE"
