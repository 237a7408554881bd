"""What the officer sees in a cell reaches the master and the annex, a hostile file never stops the
returns beside it, and ministry text that looks like a formula stays text in every workbook annex
writes (issue 14). One merge of three returns made from the real templates, then the annex
rendered and next year's template written from the master."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from corpus_distribution import GENERATED_AT, distributed
from hostile import owned_lines

from annex.distribute.template import LETTER, plan_templates, write_template
from annex.io.xlsx import set_text
from annex.master.store import read_master
from annex.model.contract import TITLE_ROW
from annex.render.reader import read_annex_docx
from annex.workspace.layout import Workspace
from annex.workspace.merge import merge_year
from annex.workspace.render import render_year

pytestmark = pytest.mark.reliability

# Typed as an officer types them: Excel stores a boolean, a date, numbers with formats.
TYPED = (
    (True, None, "TRUE"),
    (dt.datetime(2026, 4, 1), "yyyy/m/d", "2026/4/1"),
    (0.5, "0%", "50%"),
    (1234567.89, "#,##0.00", "1,234,567.89"),
)
# research/reliability_security.md §5.1, plus the CR variant: each must stay text everywhere.
PAYLOADS = (
    '=HYPERLINK("http://127.0.0.1:9/x?"&A2,"click")',
    "=cmd|' /C calc'!A0",
    "+1+2",
    "-1+2",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
)


def _return(path: Path, edit) -> Path:
    wb = openpyxl.load_workbook(path)
    edit(wb["記入シート"])
    out = path.parent.parent.parent.parent / "submissions" / "2026" / path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    d = distributed()
    root = tmp_path_factory.mktemp("content") / "ws"
    ws = Workspace.at(root)
    shutil.copytree(d.workspace.output(2025), ws.output(2025))  # master(2025)
    shutil.copytree(d.workspace.output(2026) / "templates", ws.output(2026) / "templates")  # as sent: no feedback of other tests
    templates = {m: ws.output(2026) / "templates" / d.path(m).name for m in ("文", "外", "デジ")}
    mext = owned_lines(templates["文"].read_bytes(), len(TYPED) + len(PAYLOADS))
    mofa = owned_lines(templates["外"].read_bytes(), 1)
    digital = owned_lines(templates["デジ"].read_bytes(), 1)

    def typed_and_payloads(sheet) -> None:
        for (r, _), (value, fmt, _) in zip(mext, TYPED):
            sheet[f"H{r}"], sheet[f"L{r}"] = value, "修正"
            if fmt:
                sheet[f"H{r}"].number_format = fmt
        for (r, _), text in zip(mext[len(TYPED) :], PAYLOADS):
            set_text(sheet[f"H{r}"], text)  # a string cell, as a crafted file holds it
            sheet[f"L{r}"] = "修正"

    def plain(sheet) -> None:
        r = mofa[0][0]
        sheet[f"H{r}"], sheet[f"L{r}"] = "外務省が通常どおり修正した記載。", "修正"

    def formula(sheet) -> None:  # issue 14: written by a script, so never calculated
        r = digital[0][0]
        sheet[f"H{r}"], sheet[f"L{r}"] = '="令和"&8&"年度…"', "修正"

    _return(templates["文"], typed_and_payloads)
    _return(templates["外"], plain)
    _return(templates["デジ"], formula)
    summary = merge_year(ws, 2026)
    render_year(ws, 2026, pdf=False)
    master = read_master(ws.master_json(2026))
    plan = next(p for p in plan_templates(master, ws.config, 2027) if p.ministry == "文")
    template_2027 = root / "template-2027.xlsx"
    write_template(template_2027, plan, ws.config, generated_at=GENERATED_AT, source_master="master.json")
    return ws, summary, master, mext, mofa, digital, template_2027


def test_a_formula_file_does_not_stop_the_returns_beside_it(merged):
    ws, summary, master, mext, mofa, digital, _ = merged
    assert set(summary.merged_files) == {"文", "外"}
    index = master.bullet_index()
    assert index[mofa[0][1]][2].text == "外務省が通常どおり修正した記載。"
    feedback = openpyxl.load_workbook(next((ws.output(2026) / "feedback").glob("digital-*.xlsx")))
    codes = [row[8] for row in feedback["検証結果"].iter_rows(values_only=True) if row and row[8]]
    assert "F-FORMULA-NOT-CALCULATED" in codes


def test_typed_values_reach_the_master_and_the_annex_as_displayed(merged):
    ws, _, master, mext, *_ = merged
    index = master.bullet_index()
    wanted = [shown for _, _, shown in TYPED]
    assert [index[item][2].text for _, item in mext[: len(TYPED)]] == wanted
    sheet = openpyxl.load_workbook(ws.output(2026) / "master.xlsx").worksheets[0]
    cells = {c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)}
    assert set(wanted) <= cells
    annex = read_annex_docx(ws.output(2026) / "annex.docx")
    printed = {b.id: b.text for _, _, b in annex.bullets()}
    assert [printed[item] for _, item in mext[: len(TYPED)]] == wanted


def _workbooks(ws, template_2027: Path) -> list[Path]:
    out = ws.output(2026)
    return [
        out / "master.xlsx",
        out / "changes.xlsx",
        out / "reconciliation.xlsx",
        *(out / "feedback").glob("*.xlsx"),
        template_2027,
    ]


def test_formula_like_text_stays_text_in_every_workbook_written(merged):
    ws, _, master, mext, _, _, template_2027 = merged
    index = master.bullet_index()
    payload_ids = [item for _, item in mext[len(TYPED) :]]
    assert [index[i][2].text for i in payload_ids] == list(PAYLOADS)  # verbatim in the master
    for path in _workbooks(ws, template_2027):
        with zipfile.ZipFile(path) as z:
            sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
            for name in sheets:
                xml = z.read(name)
                if path == template_2027 and name == "xl/worksheets/sheet1.xml":  # 記入シート: its live checks only
                    formulas = set(re.findall(rb'<c r="([A-Z]+[0-9]+)"[^>]*><f[ >/]', xml))
                    check, count = LETTER["check"].encode(), f"{LETTER['text']}{TITLE_ROW + 1}".encode()
                    assert formulas and all(c.rstrip(b"0123456789") == check or c == count for c in formulas), formulas
                    continue
                assert b"<f>" not in xml and not re.search(rb"<f[ >]", xml), (path.name, name)
                assert b"<hyperlink " not in xml or path.parent.name == "feedback", (path.name, name)  # 検証結果 links its cells
    # read back: the exact text, as text, where annex wrote it for the officer or the secretariat
    for path in (ws.output(2026) / "master.xlsx", template_2027):
        values = {c.value: c.data_type for s in openpyxl.load_workbook(path) for row in s.iter_rows() for c in row}
        for text in PAYLOADS:
            assert values.get(text) == "s", (path.name, text)
