"""Preflight: the bytes are judged before any parser runs — type, container, zip members, inflated
sizes and ratio, DTDs, declared and real sheet extent, macros, encryption."""

from __future__ import annotations

import dataclasses
import re
import time
import zipfile

import hostile
import pytest
from corpus_distribution import distributed
from hostile import OK_ROWS, shared_catalogue, sheet_xml, write_xlsx
from hypothesis import given, settings
from hypothesis import strategies as st

from annex.intake.preflight import (
    _TAG_RE,
    Limits,
    Preflight,
    SheetInfo,
    _Malformed,
    _SheetScanner,
    _tag_pattern,
    preflight,
)
from annex.model.contract import ENTRY_COLUMNS

pytestmark = pytest.mark.reliability  # the bad-input catalogue (issue 14)


@pytest.fixture(scope="module")
def valid() -> bytes:
    return distributed().path("文").read_bytes()


@pytest.fixture(scope="module")
def catalogue():
    return shared_catalogue(distributed().path("デジ"))  # written once a session, shared by the catalogue tests


def test_a_distributed_template_passes(tmp_path, valid):
    path = tmp_path / "t.xlsx"
    path.write_bytes(valid)
    result = preflight(path)
    assert result.ok and result.kind == "xlsx", result.issues
    names = {s.name: s for s in result.sheets}
    assert names["_annex"].state == "veryHidden" and names["記入シート"].max_col == ENTRY_COLUMNS == 15


@pytest.mark.parametrize(
    "name",
    [
        "empty.xlsx",
        "text.xlsx",
        "csv_renamed.xlsx",
        "xls_renamed.xlsx",
        "truncated.xlsx",
        "deflate_damaged.xlsx",
        "encrypted.xlsx",
        "macro.xlsx",
        "zip_slip.xlsx",
        "zipbomb_cells.xlsx",
        "zipbomb_whitespace.xlsx",
        "huge_shared_string.xlsx",
        "billion_laughs_sst.xlsx",
        "billion_laughs_sheet.xlsx",
        "xxe_file.xlsx",
        "xxe_external_dtd.xlsx",
        "cell_at_XFD1048576.xlsx",
        "cell_at_XFD2.xlsx",
        "row_2000000.xlsx",
        "million_rows_claimed.xlsx",
    ],
)
def test_each_hostile_file_gets_its_rule_quickly(catalogue, name):
    path, code = catalogue[name]
    # CPU seconds, not wall: the bound is on the work a hostile file can cause (no bomb expanded),
    # which a loaded machine does not change; the 30 s wall bar is hostile_run's, in a child process.
    start = time.process_time()
    result = preflight(path, display_name=name)
    assert time.process_time() - start < 5
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
    rows = OK_ROWS.replace(
        '<c r="B2" t="inlineStr"><is><t>x</t></is></c>', '<c r="B2" t="str"><f>cmd|\' /C calc\'!A0</f><v>0</v></c>'
    )
    result = preflight(write_xlsx(tmp_path / "f.xlsx", sheet_xml(rows)))
    assert result.ok and result.sheets[0].formulas == ["B2"]


def test_member_cap_holds_without_a_suspicious_ratio(tmp_path):
    import os

    big = os.urandom(3 * 2**20).hex()  # incompressible: ratio ~2, size over a lowered cap
    path = write_xlsx(tmp_path / "big.xlsx", sst=f'<sst xmlns="x"><si><t>{big}</t></si></sst>')
    [issue] = preflight(path, limits=Limits(member_bytes=2**20)).issues
    assert issue.rule == "F-TOO-LARGE" and "sharedStrings" in issue.message


def test_a_bomb_whose_zip_directory_says_what_it_is_is_refused_before_inflating(catalogue):
    result = preflight(catalogue["zipbomb_cells.xlsx"][0])
    [issue] = result.issues
    assert issue.rule == "F-TOO-LARGE" and "sheet1.xml" in issue.message and "圧縮爆弾の疑い" in issue.message
    assert result.inflated_bytes == 0


def test_the_scan_stops_once_a_sheet_is_refused(catalogue):
    """A bomb the caps on size and ratio let through (here: lifted) is refused at its first row
    past the limit, or its first cell outside the template; the rest of its 139 MB is never inflated."""
    bomb = catalogue["zipbomb_cells.xlsx"][0]  # rows of 100 cells <c><v>1</v></c>, no addresses
    lifted = {"ratio": 1e9, "member_bytes": 2**30, "total_bytes": 2**30}

    result = preflight(bomb, limits=Limits(rows=1_000, entry_columns=100, **lifted))
    [issue] = result.issues
    assert issue.rule == "F-TOO-LARGE" and issue.location.sheet == "記入シート" and "行数 1,001" in issue.message
    assert result.inflated_bytes <= 3 * 2**20  # the 1 MiB chunks holding the first 1,001 rows (1.5 MB), of 139 MB

    result = preflight(bomb, limits=Limits(**lifted))  # the 記入シート's 15 columns: P1 is outside
    [issue] = result.issues
    assert (issue.rule, issue.location.cell) == ("F-OUTSIDE-TEMPLATE", "P1")
    assert result.inflated_bytes <= 2 * 2**20  # the first chunk, and the small parts before it


def test_a_file_over_the_upload_cap_is_refused_without_reading(tmp_path, valid):
    path = tmp_path / "big.xlsx"
    path.write_bytes(valid)
    [issue] = preflight(path, limits=Limits(file_bytes=1000)).issues
    assert issue.rule == "F-TOO-LARGE"


# -- where the cells are: every way valid XML may write an address ---------------------------------
FORMULA_B2 = '<c r="B2" t="str"><f>cmd|\' /C calc\'!A0</f><v>0</v></c>'
FAR_ROWS = (
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
    f'<row r="2"><c r="A2"><v>1</v></c>{FORMULA_B2}</row>'
    '<row r="30000"><c r="CZ30000"><v>1</v></c></row>'
)


def _outside_and_formulas(path):
    result = preflight(path, display_name="x.xlsx")
    return ([(i.rule, i.location.sheet, i.location.cell, i.message) for i in result.issues], result.sheets[0].formulas)


@pytest.fixture(scope="module")
def double_quoted(tmp_path_factory):
    """The reference: a formula in B2 and a value at CZ30000, written as Excel writes them."""
    seen = _outside_and_formulas(write_xlsx(tmp_path_factory.mktemp("dq") / "x.xlsx", sheet_xml(FAR_ROWS)))
    [(code, sheet, cell, message)], formulas = seen
    assert (code, sheet, cell, formulas) == ("F-OUTSIDE-TEMPLATE", "記入シート", "CZ30000", ["B2"])
    assert "記入シート!CZ30000" in message
    return seen


@pytest.mark.parametrize("variant", ["single_quotes", "no_r_attributes", "namespace_prefix", "gt_in_a_value"])
def test_every_way_of_writing_an_address_is_read_like_excels(tmp_path, double_quoted, variant):
    if variant == "single_quotes":
        sheet = sheet_xml(FAR_ROWS.replace('"', "'"))
    elif variant == "no_r_attributes":  # Excel allows omitting r: next column in the row, next row in sheetData
        sheet = sheet_xml(
            '<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row>'
            "<row><c><v>1</v></c><c t=\"str\"><f>cmd|' /C calc'!A0</f><v>0</v></c></row>"
            '<row r="29999"/><row>' + '<c s="1"/>' * 103 + "<c><v>1</v></c></row>"
        )
    elif variant == "namespace_prefix":  # <x:c>: the main namespace under a prefix; every reader accepts it
        body = sheet_xml(FAR_ROWS).split("<worksheet", 1)[1]
        body = re.sub(r"<(/?)(worksheet|dimension|sheetData|row|c|f|v)\b", r"<\1x:\2", "<worksheet" + body)
        sheet = body.replace(' xmlns="', ' xmlns:x="', 1)
    else:  # ">" is legal inside an attribute value and must not end the tag early
        sheet = sheet_xml(FAR_ROWS.replace('<c r="CZ30000">', '<c s="1" cm=">" r="CZ30000">'))
    assert _outside_and_formulas(write_xlsx(tmp_path / "x.xlsx", sheet)) == double_quoted


def test_a_cell_without_r_continues_from_the_previous_cell_of_its_row(tmp_path):
    rows = OK_ROWS + '<row r="3"><c r="O3"><v>1</v></c><c><v>2</v></c></row>'  # O (脚注) is 記入シート's last column
    [issue] = preflight(write_xlsx(tmp_path / "x.xlsx", sheet_xml(rows))).issues
    assert (issue.rule, issue.location.cell) == ("F-OUTSIDE-TEMPLATE", "P3")


@pytest.mark.parametrize("quote", ['"', "'"])
def test_a_single_quoted_row_past_the_excel_grid_is_corrupt(tmp_path, quote):
    rows = OK_ROWS + '<row r="2000000"><c r="A2000000"><v>7</v></c></row>'
    [issue] = preflight(write_xlsx(tmp_path / "x.xlsx", sheet_xml(rows.replace('"', quote)))).issues
    assert issue.rule == "F-CORRUPT" and issue.location.sheet == "記入シート"


@pytest.mark.parametrize("attrs", ['r="&#88;FD1"', 'r="xfd1"', 'r=""', 'r="A1" r="XFD1"'])
def test_an_address_the_scanner_cannot_read_refuses_the_sheet(tmp_path, attrs):
    """openpyxl decodes r="&#88;FD1" to XFD1 (calamine fails on it): no such cell may pass unseen."""
    rows = OK_ROWS + f'<row r="3"><c {attrs}><v>1</v></c></row>'
    [issue] = preflight(write_xlsx(tmp_path / "x.xlsx", sheet_xml(rows)), display_name="x.xlsx").issues
    assert (issue.rule, issue.location.file, issue.location.sheet) == ("F-CORRUPT", "x.xlsx", "記入シート")
    assert "記入シート" in issue.message


# -- a chunk boundary never hides a cell or a formula --------------------------------------------------
def _scan(pieces: list[bytes]) -> SheetInfo:
    info = SheetInfo("記入シート", "xl/worksheets/sheet1.xml")
    scanner = _SheetScanner(info, 20_000, 14)
    for piece in pieces:
        scanner.feed(piece)
    scanner.feed(b"", final=True)
    return info


def test_a_formula_cut_by_the_chunk_boundary_is_found():
    sheet = sheet_xml(
        OK_ROWS.replace('<c r="B2" t="inlineStr"><is><t>x</t></is></c>', '<c r="B2"><f>1+1</f><v>2</v></c>')
    ).encode()
    at = sheet.index(b'<c r="B2">') + len(b'<c r="B2">')
    for split in (at, at + 1, at + 2):  # after <c r="B2">, after "<", after "<f"
        assert _scan([sheet[:split], sheet[split:]]).formulas == ["B2"], sheet[:split][-12:]


def test_no_split_point_changes_what_the_scanner_finds():
    pad = "p" * 400  # a start tag longer than any tail kept between chunks
    rows = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        f'<row r="2"><c r="B2" t="str">\n <f>SUM(1)</f><v>1</v></c><c r="C2" xx="{pad}"><v>1</v></c></row>'
        f'<row><c/><c><f>1</f></c></row><row r="9" xx="{pad}"><c r="XFD9" xx="{pad}"><v>1</v></c></row>'
    )
    sheet = sheet_xml(rows, dim="A1:XFD9").encode()
    whole = _scan([sheet])
    assert (whole.formulas, whole.beyond, whole.max_row, whole.max_col, whole.rows_seen, whole.declared) == (
        ["B2", "B3"],
        "XFD9",
        9,
        16_384,
        4,
        "A1:XFD9",
    )
    for split in range(1, len(sheet)):
        assert _scan([sheet[:split], sheet[split:]]) == whole, split


# -- the canonical-cell shortcut reads every sheet as the general scan does ------------------------
REFERENCE = _tag_pattern(canonical=False)  # _GENERAL_TAG alone: the scan before the shortcuts


def _outcome(pieces: list[bytes], pattern, rows: int = 20_000, cols: int = 14):
    """Everything the scanner found, or the reason it refused the sheet."""
    info = SheetInfo("記入シート", "xl/worksheets/sheet1.xml")
    scanner = _SheetScanner(info, rows, cols, pattern)
    try:
        for piece in pieces:
            scanner.feed(piece)
        scanner.feed(b"", final=True)
    except _Malformed as exc:
        return ("malformed", exc.args)
    return dataclasses.asdict(info)


def test_the_shortcut_reads_every_sheet_of_the_catalogue_and_the_templates_as_the_general_scan(catalogue):
    paths = [path for path, _ in catalogue.values()] + [distributed().path(m) for m in ("文", "デジ")]
    compared = 0
    for path in paths:
        if not zipfile.is_zipfile(path):
            continue
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.filename.startswith("xl/worksheets/"):
                    continue
                try:
                    with z.open(info) as member:
                        data = member.read(4 * 2**20)  # a bomb's first 4 MiB: its cells are all alike
                except Exception:  # a damaged member: preflight refuses it before any scan result counts
                    continue
                pieces = [data[i : i + 2**16] for i in range(0, len(data), 2**16)] or [b""]
                assert _outcome(pieces, _TAG_RE) == _outcome(pieces, REFERENCE), (
                    path.name,
                    info.filename,
                )
                compared += 1
    assert compared > 20


# Tags the shortcut must take, tags it must leave to the general scan, and tags around them.
TAG_SPELLINGS = (
    '<c r="A1">',
    '<c r="B2" s="3">',
    '<c r="C3" s="3" t="s">',
    '<c r="D4" t="inlineStr">',
    '<c r="E5" s="1" t="n">',
    '<c r="F6" t="e">',
    '<c r="F7" t = "e">',
    "<x:c r='F8' t='e'>",
    '<c r="XFD1048576" s="1"/>',
    '<c r="AAAA2"/>',
    '<c r="A05" t="n">',
    '<c r="G7" s="1" t="str"/>',
    '<c r="G8" t="str">',
    '<c r="H8" t="s" s="1">',
    "<c r='I9' t=\"n\">",
    '<c  r="J10">',
    '<c r="K11" s="1" t="n" cm="1">',
    '<c r="L12" t="">',
    '<c r="M13" s="123456789012">',
    '<c r="N14" s=">">',
    '<c r="a15">',
    '<c r="AAAAA16">',
    '<c r="O17" r="P17">',
    '<c r="Q18" t="n" t="s">',
    '<x:c r="R19" t="n">',
    "<c>",
    "<c/>",
    '<c s="2">',
    '<c r="S20"\n t="n">',
    "<row>",
    '<row r="3">',
    '<row r="7" spans="1:3" ht="15">',
    "</row>",
    "<f>SUM(1)</f>",
    '<f t="shared" si="0"/>',
    "<x:f>1</x:f>",
    "<v>1</v>",
    "<is><t>x</t></is>",
    "</c>",
    "<t>",
    "</t>",
    '<dimension ref="A1:C3"/>',
    "</sheetData>",
    "<c r=",
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(TAG_SPELLINGS), max_size=40),
    st.lists(st.integers(1, 400), max_size=4),
)
def test_the_shortcut_reads_any_sequence_of_tags_as_the_general_scan(tags, cuts):
    """Bounds of 5 rows and 3 columns so that "beyond the template" is exercised too."""
    sheet = sheet_xml("".join(tags)).encode()
    points = sorted({min(c, len(sheet)) for c in cuts})
    pieces = [sheet[a:b] for a, b in zip([0, *points], [*points, len(sheet)])]
    assert _outcome(pieces, _TAG_RE, 5, 3) == _outcome(pieces, REFERENCE, 5, 3)


# -- the structure is read once, and nothing is kept that nobody reads ------------------------------
def test_two_sheets_naming_one_part_are_each_scanned_with_their_own_bounds(tmp_path):
    wb = hostile.WB.replace("</sheets>", '<sheet name="別" sheetId="2" r:id="rId1"/></sheets>')
    rows = OK_ROWS.replace('<c r="B2" t="inlineStr"><is><t>x</t></is></c>', FORMULA_B2)
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in (
            ("[Content_Types].xml", hostile.CT),
            ("_rels/.rels", hostile.RELS),
            ("xl/workbook.xml", wb),
            ("xl/_rels/workbook.xml.rels", hostile.WB_RELS),
            ("xl/worksheets/sheet1.xml", sheet_xml(rows)),
            ("xl/sharedStrings.xml", hostile.SST_OK),
        ):
            z.writestr(name, data)
    result = preflight(path)
    assert result.ok and [s.formulas for s in result.sheets] == [["B2"], ["B2"]]


def test_every_part_is_inflated_exactly_once(tmp_path, valid, monkeypatch):
    path = tmp_path / "t.xlsx"
    path.write_bytes(valid)
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def counting_open(self, name, *args, **kwargs):
        opened.append(name if isinstance(name, str) else name.filename)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", counting_open)
    assert preflight(path).ok
    assert "xl/workbook.xml" in opened and "[Content_Types].xml" in opened
    assert len(opened) == len(set(opened)), sorted(opened)


def test_an_oversized_workbook_part_is_corrupt(tmp_path):
    wb = hostile.WB.replace("</workbook>", "<!--" + " " * (5 * 2**20) + "--></workbook>")
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (
            ("[Content_Types].xml", hostile.CT),
            ("xl/workbook.xml", wb),
            ("xl/_rels/workbook.xml.rels", hostile.WB_RELS),
            ("xl/worksheets/sheet1.xml", sheet_xml(OK_ROWS)),
        ):
            z.writestr(name, data)
    [issue] = preflight(path, limits=Limits(ratio=1e9)).issues
    assert issue.rule == "F-CORRUPT" and "xl/workbook.xml" in issue.message


def test_external_links_are_accepted_and_not_recorded(tmp_path):
    link = f'<externalLink {hostile.NS}><externalBook r:id="rId1" xmlns:r="x"/></externalLink>'
    result = preflight(write_xlsx(tmp_path / "x.xlsx", extra={"xl/externalLinks/externalLink1.xml": link}))
    assert result.ok
    assert "external_links" not in {f.name for f in dataclasses.fields(Preflight)}


def test_a_list_validation_in_the_extension_list_is_not_a_formula_cell(tmp_path):
    """Excel keeps a cross-sheet list validation as <xm:f> after sheetData: no cell of its own."""
    ext = (
        '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" xmlns:x14="x14"><x14:dataValidations count="1" '
        'xmlns:xm="xm"><x14:dataValidation type="list"><x14:formula1><xm:f>_annex!$A$1:$A$3</xm:f></x14:formula1>'
        "<xm:sqref>B2</xm:sqref></x14:dataValidation></x14:dataValidations></ext></extLst>"
    )
    sheet = sheet_xml(OK_ROWS).replace("</worksheet>", ext + "</worksheet>")
    result = preflight(write_xlsx(tmp_path / "x.xlsx", sheet))
    assert result.ok and result.sheets[0].formulas == []


def test_every_rule_preflight_refuses_with_is_one_feedback_never_opens():
    """feedback.copy_allowed trusts REJECTING_RULES: a new refusal code must be listed there."""
    import re
    from pathlib import Path

    from annex.intake import preflight

    used = set(re.findall(r'"(F-[A-Z-]+)"', Path(preflight.__file__).read_text(encoding="utf-8")))
    assert used == preflight.REJECTING_RULES
