"""The feedback copy made at the package level (annex.feedback.package) reads back as the openpyxl
copy did, carries what Excel adds to a saved workbook without its formulas, calculation chain or
printer settings, and leaves every file of another kind to openpyxl."""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from corpus_distribution import distributed

from annex.feedback import workbook as feedback
from annex.feedback.package import Mark, NotPlain, Package, mark_cells, neutralise_formulas, plain_workbook
from annex.intake.reader import read_workbook
from annex.model.contract import SHEET_ENTRY, SHEET_RESULT
from annex.validation.validate import validate_batch
from annex.workspace.master import load_reference

STYLE_ATTRIBUTES = ("font", "fill", "border", "alignment", "protection", "number_format")


@pytest.fixture(scope="module")
def returned(tmp_path_factory):
    """デジ's template sent back with a half-width katakana text (an error) and a formula-like text."""
    d = distributed()
    path = tmp_path_factory.mktemp("pkg") / "デジ_回答.xlsx"
    shutil.copyfile(d.path("デジ"), path)
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_ENTRY]
    owned = [r for r in range(4, ws.max_row + 1) if ws[f"A{r}"].value and ws[f"L{r}"].protection.locked is False]
    ws[f"H{owned[0]}"], ws[f"L{owned[0]}"] = "ｶﾞｽの利用を推進。", "修正"
    ws[f"H{owned[1]}"], ws[f"L{owned[1]}"] = "=1+2 と書かれた記載。", "修正"
    ws[f"H{owned[1]}"].data_type = "s"
    wb.save(path)
    return d, path, owned


def _validated(d, path: Path):
    [sub] = validate_batch(
        [(read_workbook(path, path.name), hashlib.sha256(path.read_bytes()).hexdigest())], load_reference(d.workspace, 2026)
    )
    return sub


def _cells_alike(fast: Path, slow: Path) -> None:
    """What openpyxl reads from both copies is the same: sheets, values, types, looks, notes, links, layout."""
    a, b = openpyxl.load_workbook(fast), openpyxl.load_workbook(slow)
    assert a.sheetnames == b.sheetnames and a.active.title == b.active.title == SHEET_RESULT
    for name in a.sheetnames:
        x, y = a[name], b[name]
        assert (x.sheet_state, x.protection.sheet, bool(x.sheet_view.tabSelected)) == (
            y.sheet_state,
            y.protection.sheet,
            bool(y.sheet_view.tabSelected),
        ), name
        assert (x.print_title_rows, x.print_area, x.freeze_panes) == (y.print_title_rows, y.print_area, y.freeze_panes), name
        assert {str(m) for m in x.merged_cells.ranges} == {str(m) for m in y.merged_cells.ranges}, name
        assert len(x.data_validations.dataValidation) == len(y.data_validations.dataValidation), name
        assert {k: d.width for k, d in x.column_dimensions.items()} == {k: d.width for k, d in y.column_dimensions.items()}
        assert {k: d.height for k, d in x.row_dimensions.items() if d.height} == {
            k: d.height for k, d in y.row_dimensions.items() if d.height
        }, name
        for at in sorted(set(x._cells) | set(y._cells)):
            cx, cy = x.cell(*at), y.cell(*at)
            where = f"{name}!{cx.coordinate}"
            assert (cx.value or None, cx.data_type if cx.value else None) == (
                cy.value or None,
                cy.data_type if cy.value else None,
            ), where
            for attribute in STYLE_ATTRIBUTES:
                assert repr(getattr(cx, attribute)) == repr(getattr(cy, attribute)), (where, attribute)
            assert (cx.comment and cx.comment.text) == (cy.comment and cy.comment.text), where
            assert (cx.hyperlink and cx.hyperlink.location) == (cy.hyperlink and cy.hyperlink.location), where


def _edited(source: Path, target: Path, edits: dict[str, bytes | None]) -> Path:
    """A copy of a workbook with parts replaced, added (bytes) or removed (None)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if info.filename not in edits:
                out.writestr(info, src.read(info))
        for name, data in edits.items():
            if data is not None:
                out.writestr(name, data)
    return target


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_template_is_marked_at_the_package_level_as_openpyxl_marked_it(returned, tmp_path, monkeypatch):
    d, path, owned = returned
    sub = _validated(d, path)
    assert sub.verdict == "差戻し" and any(i.rule == "L-HALFWIDTH-KANA" for i in sub.issues)

    def no_openpyxl(*args):
        raise AssertionError("a template as sent must not need openpyxl")

    monkeypatch.setattr(feedback, "_write_with_openpyxl", no_openpyxl)
    fast = Path(feedback.write_feedback_workbook(str(path), sub, str(tmp_path / "fast.xlsx"), "デジ（デジタル庁）"))
    monkeypatch.undo()
    slow = tmp_path / "openpyxl.xlsx"
    feedback._write_with_openpyxl(str(path), sub, slow, "デジ（デジタル庁）")
    _cells_alike(fast, slow)
    ws = openpyxl.load_workbook(fast)[SHEET_ENTRY]
    assert ws[f"H{owned[0]}"].fill.fgColor.rgb.endswith(feedback.FILL_ERROR.fgColor.rgb[-6:])
    assert ws[f"H{owned[0]}"].protection.locked is False and "L-HALFWIDTH-KANA" in ws[f"H{owned[0]}"].comment.text
    assert ws[f"H{owned[1]}"].value == "=1+2 と書かれた記載。" and ws[f"H{owned[1]}"].data_type == "s"
    parts = _parts(fast)
    assert not any(re.search(rb"<(\w+:)?f[\s>/]", data) for name, data in parts.items() if name.startswith("xl/worksheets/"))


def test_what_excel_adds_is_carried_without_formulas_chain_or_printer(returned, tmp_path):
    """As Excel saves a workbook: a calculation chain, printer settings, custom properties, a text
    formula whose cached result looks like a formula, the entry sheet's tab selected."""
    d, path, owned = returned
    parts = _parts(path)
    entry = next(n for n in parts if n.startswith("xl/worksheets/sheet1"))
    sheet = parts[entry].decode()
    sheet = sheet.replace("<sheetView ", '<sheetView tabSelected="1" ', 1)
    sheet = re.sub(r'<c r="B1"( [^>]*)?(/>|>.*?</c>)', "", sheet, count=1)  # the formula cell goes there
    extension = (  # an Excel 2010 validation whose formula openpyxl never carried
        '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
        'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        '<x14:dataValidations xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main" count="1">'
        '<x14:dataValidation type="list"><x14:formula1><xm:f>WEBSERVICE("http://127.0.0.1/x")</xm:f></x14:formula1>'
        "<xm:sqref>B2</xm:sqref></x14:dataValidation></x14:dataValidations></ext></extLst>"
    )
    sheet = sheet.replace("</worksheet>", extension + "</worksheet>")
    formula_cell = '<c r="B1" t="str"><f>"=HYPERLINK(""x"")"</f><v>=HYPERLINK("x")</v></c>'
    sheet = sheet.replace("</row>", formula_cell + "</row>", 1)
    sheet = sheet.replace(
        "<pageSetup ", '<pageSetup xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1" ', 1
    )
    rels_name = entry.replace("worksheets/", "worksheets/_rels/") + ".rels"
    assert rels_name not in parts
    doc_rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet_rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{doc_rel}/printerSettings" Target="../printerSettings/printerSettings1.bin"/>'
        "</Relationships>"
    )
    book_rels = (
        parts["xl/_rels/workbook.xml.rels"]
        .decode()
        .replace(
            "</Relationships>", f'<Relationship Id="rId99" Type="{doc_rel}/calcChain" Target="calcChain.xml"/></Relationships>'
        )
    )
    types = (
        parts["[Content_Types].xml"]
        .decode()
        .replace(
            "</Types>",
            '<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/>'
            '<Default Extension="bin" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.printerSettings"/></Types>',
        )
    )
    excel = _edited(
        path,
        tmp_path / "excel.xlsx",
        {
            entry: sheet.encode(),
            rels_name: sheet_rels.encode(),
            "xl/printerSettings/printerSettings1.bin": b"\x00DEVMODE",
            "xl/calcChain.xml": b'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><c r="B1" i="1"/></calcChain>',
            "xl/_rels/workbook.xml.rels": book_rels.encode(),
            "[Content_Types].xml": types.encode(),
            "docProps/app.xml": (
                '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
                'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><TitlesOfParts>'
                '<vt:vector size="1" baseType="lpstr"><vt:lpstr>記入シート</vt:lpstr></vt:vector></TitlesOfParts></Properties>'
            ).encode(),
        },
    )
    sub = _validated(d, path)
    package = Package.read(excel)
    book = plain_workbook(package)  # plain: the fast path takes it
    assert book.sheet_names[0] == SHEET_ENTRY
    out = Path(feedback.write_feedback_workbook(str(excel), sub, str(tmp_path / "out.xlsx")))

    written = _parts(out)
    assert "xl/calcChain.xml" not in written and not any("printerSettings" in n for n in written)
    assert b"TitlesOfParts" not in written["docProps/app.xml"]  # a sheet list without 検証結果 is not kept
    assert (
        b"calcChain" not in written["xl/_rels/workbook.xml.rels"]
        and b"r:id" not in re.search(rb"<pageSetup[^>]*>", written[entry]).group()
    )
    overrides = re.findall(rb'PartName="/([^"]+)"', written["[Content_Types].xml"])
    assert {o.decode() for o in overrides} <= set(written)  # no content type for a part that is gone
    assert not re.search(rb"<(\w+:)?f[\s>/]", written[entry]) and b"WEBSERVICE" not in written[entry]
    wb = openpyxl.load_workbook(out)
    assert wb[SHEET_ENTRY]["B1"].value == '=HYPERLINK("x")' and wb[SHEET_ENTRY]["B1"].data_type == "s"
    assert [ws.title for ws in wb.worksheets if ws.sheet_view.tabSelected] == [SHEET_RESULT]
    assert wb[SHEET_ENTRY].print_area == openpyxl.load_workbook(path)[SHEET_ENTRY].print_area  # its names moved with it


def test_a_copy_sent_back_gets_new_results_and_its_notes_replaced(returned, tmp_path):
    """A ministry returns the marked copy itself: the old 検証結果 goes, a cell marked again gets
    the new note, a note on a cell not marked again stays."""
    d, path, owned = returned
    sub = _validated(d, path)
    first = Path(feedback.write_feedback_workbook(str(path), sub, str(tmp_path / "first.xlsx")))
    package = Package.read(first)
    book = plain_workbook(package)
    book.remove_sheet(SHEET_RESULT)
    neutralise_formulas(package, book)
    again = {(SHEET_ENTRY, f"H{owned[1]}"): Mark(feedback.FILL_WARNING, "もう一度")}
    mark_cells(package, book, again)
    feedback.graft_first_sheet(book, feedback._results_sheet(sub, {*book.sheet_names, SHEET_RESULT}, None))
    second = tmp_path / "second.xlsx"
    second.write_bytes(package.to_bytes())

    wb = openpyxl.load_workbook(second)
    assert wb.sheetnames.count(SHEET_RESULT) == 1 and wb.sheetnames[0] == SHEET_RESULT
    ws = wb[SHEET_ENTRY]
    assert ws[f"H{owned[1]}"].comment.text == "もう一度"
    assert "L-HALFWIDTH-KANA" in ws[f"H{owned[0]}"].comment.text  # the earlier note, kept
    with zipfile.ZipFile(second) as archive:
        assert len([n for n in archive.namelist() if n.startswith("xl/comments/")]) == 1


def test_a_mark_where_the_file_has_no_cell_makes_one_in_order(returned, tmp_path):
    d, path, _ = returned
    package = Package.read(path)
    book = plain_workbook(package)
    far = openpyxl.load_workbook(path)[SHEET_ENTRY].max_row + 3
    marks = {
        (SHEET_ENTRY, f"B{far}"): Mark(feedback.FILL_ERROR, "ここ"),
        (SHEET_ENTRY, "XFD1"): Mark(feedback.FILL_WARNING, "端"),
    }
    marks[(SHEET_ENTRY, "A0")] = marks[("ない", "A1")] = Mark(feedback.FILL_ERROR, "どこでもない")  # skipped
    mark_cells(package, book, marks)
    out = tmp_path / "far.xlsx"
    out.write_bytes(package.to_bytes())
    ws = openpyxl.load_workbook(out)[SHEET_ENTRY]
    assert ws[f"B{far}"].fill.fgColor.rgb.endswith("FFC7CE") and ws[f"B{far}"].comment.text == "ここ"
    assert ws["XFD1"].fill.fgColor.rgb.endswith("FFEB9C") and ws["XFD1"].protection.locked is False


def test_parts_of_other_kinds_are_left_to_openpyxl(returned, tmp_path):
    """An external link (with its part, a name and a formula that uses it): not plain; openpyxl
    makes the copy, without the link, as before."""
    d, path, owned = returned
    parts = _parts(path)
    doc_rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    book_rels = (
        parts["xl/_rels/workbook.xml.rels"]
        .decode()
        .replace(
            "</Relationships>",
            f'<Relationship Id="rId98" Type="{doc_rel}/externalLink" Target="externalLinks/externalLink1.xml"/></Relationships>',
        )
    )
    link = (
        '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<externalBook xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1"/></externalLink>'
    )
    link_rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{doc_rel}/externalLinkPath" Target="file:///C:/kyoku/linked-book-7f3a.xlsx" TargetMode="External"/>'
        "</Relationships>"
    )
    types = (
        parts["[Content_Types].xml"]
        .decode()
        .replace(
            "</Types>",
            '<Override PartName="/xl/externalLinks/externalLink1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>',
        )
    )
    linked = _edited(
        path,
        tmp_path / "linked.xlsx",
        {
            "xl/_rels/workbook.xml.rels": book_rels.encode(),
            "xl/externalLinks/externalLink1.xml": link.encode(),
            "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels.encode(),
            "[Content_Types].xml": types.encode(),
        },
    )
    with pytest.raises(NotPlain):
        plain_workbook(Package.read(linked))
    sub = _validated(d, path)
    out = Path(feedback.write_feedback_workbook(str(linked), sub, str(tmp_path / "out.xlsx")))
    written = _parts(out)
    assert not any("externalLink" in n for n in written) and b"linked-book-7f3a" not in b"".join(written.values())
    ws = openpyxl.load_workbook(out)[SHEET_ENTRY]
    assert "L-HALFWIDTH-KANA" in ws[f"H{owned[0]}"].comment.text


def test_a_part_declaring_a_dtd_is_refused_not_expanded(returned, tmp_path):
    d, path, _ = returned
    parts = _parts(path)
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    hostile = _edited(path, tmp_path / "dtd.xlsx", {"xl/workbook.xml": bomb + parts["xl/workbook.xml"].split(b"?>", 1)[-1]})
    with pytest.raises(ValueError, match="DTD"):
        plain_workbook(Package.read(hostile))
