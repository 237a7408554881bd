"""Feedback workbooks read back: 検証結果 first with the verdict and a link per issue, problem
cells filled and commented in the ministry's own copy, ministry text never a formula."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
from corpus_distribution import distributed
from hostile import make_catalogue

from annex.feedback.workbook import FILL_ERROR, FILL_WARNING, ISSUE_HEADERS, LABEL_SPAN
from annex.io.workers import WorkerPool
from annex.workspace.collect import feedback_folder, feedback_name, validate_files
from annex.workspace.master import load_reference

CODE_COLUMN = openpyxl.utils.get_column_letter(ISSUE_HEADERS.index("コード") + 1)
INJECTIONS = ['=HYPERLINK("http://127.0.0.1/x?"&A2,"click")', "=cmd|' /C calc'!A0", "+1+2", "-1+2", "@SUM(1,2)"]


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = distributed()
    folder = tmp_path_factory.mktemp("fb")
    path = folder / "文の提出.xlsx"
    shutil.copyfile(d.path("文"), path)
    wb = openpyxl.load_workbook(path)
    ws = wb["記入シート"]
    owned = [r for r in range(4, ws.max_row + 1) if ws[f"A{r}"].value and ws[f"L{r}"].protection.locked is False]
    ws[f"H{owned[0]}"], ws[f"L{owned[0]}"] = "ｶﾞｽ", "修正"  # error
    spare = [r for r in range(4, ws.max_row + 1) if not ws[f"A{r}"].value and ws[f"B{r}"].value][: len(INJECTIONS) + 1]
    for r, text in zip(spare, INJECTIONS + [ws[f"H{owned[1]}"].value]):
        for col, v in (("F", "今後の取組方針"), ("H", text), ("I", "文"), ("L", "新規")):
            ws[f"{col}{r}"] = v
            ws[f"{col}{r}"].data_type = "s"
    wb.save(path)
    bad = make_catalogue(folder / "bad", d.path("文").read_bytes())["encrypted.xlsx"][0]
    ref = load_reference(d.workspace, 2026)
    with WorkerPool(workers=2) as pool:
        subs = validate_files(d.workspace, 2026, [path, bad], pool=pool, reference=ref)
    return d, subs, owned, spare


def _book(d, sub):
    return openpyxl.load_workbook(feedback_folder(d.workspace, 2026) / feedback_name(d.workspace, sub))


def test_results_sheet_first_with_verdict_and_links(result):
    d, (sub, _), owned, spare = result
    assert sub.verdict == "差戻し"
    wb = _book(d, sub)
    assert wb.sheetnames[0] == "検証結果" and wb.active.title == "検証結果"
    res = wb["検証結果"]
    assert res.cell(row=3, column=LABEL_SPAN + 1).value == "差戻し"
    links = {c.hyperlink.location for row in res.iter_rows() for c in row if c.hyperlink}
    for issue in sub.issues:
        if issue.location.cell:
            assert f"'記入シート'!{issue.location.cell}" in links
    codes = [c.value for c in res[CODE_COLUMN]]
    assert "L-HALFWIDTH-KANA" in codes and "X-DUPLICATE-TEXT" in codes


def test_problem_cells_are_filled_and_commented(result):
    d, (sub, _), owned, spare = result
    ws = _book(d, sub)["記入シート"]
    error_cell = ws[f"H{owned[0]}"]
    assert error_cell.fill.fgColor.rgb.endswith(FILL_ERROR.fgColor.rgb[-6:])
    assert "L-HALFWIDTH-KANA" in error_cell.comment.text and "半角カタカナ" in error_cell.comment.text
    warn_cell = ws[f"H{spare[len(INJECTIONS)]}"]
    assert warn_cell.fill.fgColor.rgb.endswith(FILL_WARNING.fgColor.rgb[-6:])
    assert "X-DUPLICATE-TEXT" in warn_cell.comment.text


def test_formula_injection_stays_text(result):
    d, (sub, _), owned, spare = result
    path = feedback_folder(d.workspace, 2026) / feedback_name(d.workspace, sub)
    ws = openpyxl.load_workbook(path)["記入シート"]
    for r, text in zip(spare, INJECTIONS):
        cell = ws[f"H{r}"]
        assert cell.value == text and cell.data_type == "s"
    import zipfile

    with zipfile.ZipFile(path) as z:
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_an_unopenable_file_gets_a_results_only_workbook(result):
    d, (_, enc), _, _ = result
    assert enc.verdict == "差戻し" and enc.errors[0].rule == "F-ENCRYPTED"
    wb = _book(d, enc)
    assert wb.sheetnames == ["検証結果"]
    assert any("F-ENCRYPTED" == c.value for c in wb["検証結果"][CODE_COLUMN])


def test_a_ministry_can_correct_its_marked_copy_and_send_it_back(tmp_path):
    """Officers fix the workbook they got back: the feedback copy keeps the template's metadata,
    so once corrected it validates like the template itself."""
    from pathlib import Path

    from annex.model.contract import typed_markup

    d = distributed()
    sample = Path(__file__).resolve().parents[2] / "submissions" / "2026" / "国交省 別添回答 0527.xlsx"
    ref = load_reference(d.workspace, 2026)
    with WorkerPool(workers=1) as pool:
        [first] = validate_files(d.workspace, 2026, [sample], pool=pool, reference=ref)
        assert first.verdict == "差戻し"
        marked = feedback_folder(d.workspace, 2026) / feedback_name(d.workspace, first)
        corrected = tmp_path / "国交省 別添回答 再提出.xlsx"
        wb = openpyxl.load_workbook(marked)
        ws = wb["記入シート"]
        for issue in first.issues:  # what the 検証結果 sheet asks for
            cell = ws[issue.location.cell]
            if issue.rule.startswith("L-TYPED-"):  # the text as the suggestion gives it
                cell.value = typed_markup(cell.value).text
            else:
                cell.value = {"S-COLUMN-MISSING": "見出し", "L-ACTION-INVALID": "修正"}[issue.rule]
        wb.save(corrected)
        [second] = validate_files(d.workspace, 2026, [corrected], pool=pool, reference=ref, feedback=False)
    assert second.ministry == "国" and second.verdict == "受理", second.issues
