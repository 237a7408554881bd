"""Notation rules in a ministry's feedback: warnings at the cell and the character, with the
suggestion, only for what the ministry wrote; configurable per rule; never the quoted Basic Plan."""

from __future__ import annotations

import dataclasses
import shutil

import openpyxl
import pytest
from corpus_distribution import distributed

from annex.feedback.workbook import ISSUE_HEADERS
from annex.io.workers import WorkerPool
from annex.model.contract import QUOTED_FIELDS, SHEET_ENTRY
from annex.workspace.collect import feedback_folder, feedback_name, validate_files
from annex.workspace.master import load_reference

EDITED = "全国４箇所で連携企画を実施し、AI 人材を育成。"  # 箇 at 3; 「 」 at 17; AI at 15


@pytest.fixture(scope="module")
def env():
    d = distributed()
    return d, load_reference(d.workspace, 2026)


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(workers=2) as p:
        yield p


def _owned(ws):
    return [r for r in range(4, ws.max_row + 1) if ws[f"A{r}"].value and ws[f"L{r}"].protection.locked is False]


def _submit(tmp_path, d, ministry="文", name="x.xlsx", edit=None):
    path = tmp_path / name
    shutil.copyfile(d.path(ministry), path)
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_ENTRY]
    rows = _owned(ws)
    if edit:
        edit(ws, rows)
    wb.save(path)
    return path, rows


def test_a_notation_hit_is_a_warning_at_cell_and_character_with_its_correction(tmp_path, pool, env):
    d, ref = env

    def edit(ws, rows):
        ws[f"H{rows[0]}"], ws[f"L{rows[0]}"] = EDITED, "修正"

    path, rows = _submit(tmp_path, d, edit=edit)
    [sub] = validate_files(d.workspace, 2026, [path], pool=pool, reference=ref)
    notation = {(i.rule, i.location.offset): i for i in sub.issues if i.rule.startswith("N-")}
    assert set(notation) == {("N-COUNTER", 3), ("N-WIDTH-ACRONYM", 15), ("N-SPACE", 17)}
    counter = notation[("N-COUNTER", 3)]
    assert counter.severity == "warning" and counter.location.cell == f"H{rows[0]}"
    assert counter.suggestion == "「箇」を「か」にしてください。"
    assert notation[("N-WIDTH-ACRONYM", 15)].suggestion == "「AI」を「ＡＩ」にしてください。"
    assert "（「…実施し、AI（空白）人材を育成。」）" in notation[("N-SPACE", 17)].message  # where the space is, as written
    assert sub.verdict == "受理（警告あり）"
    line = next(ln for ln in sub.lines if ln.excel_row == rows[0])
    assert line.text == EDITED  # reported, never applied
    # the feedback workbook names the character: 「4文字目」 for offset 3
    wb = openpyxl.load_workbook(feedback_folder(d.workspace, 2026) / feedback_name(d.workspace, sub))
    res = wb["検証結果"]
    content = ISSUE_HEADERS.index("内容") + 1
    messages = [res.cell(row=r, column=content).value or "" for r in range(1, res.max_row + 1)]
    assert any(m.startswith("4文字目: ") and "箇" in m for m in messages)


def test_published_spellings_carried_into_an_edit_are_not_the_ministrys(tmp_path, pool, env):
    """The published text has 「18 機関」 (spaces): editing the number keeps the spaces, which are
    the secretariat's to fix annex-wide, so the edit gets no N-SPACE."""
    d, ref = env

    def edit(ws, rows):
        target = next(r for r in rows if " 機関" in (ws[f"H{r}"].value or ""))
        ws[f"H{target}"] = ws[f"H{target}"].value.replace("18 機関", "20 機関")
        ws[f"L{target}"] = "修正"

    path, _ = _submit(tmp_path, d, edit=edit)
    [sub] = validate_files(d.workspace, 2026, [path], pool=pool, feedback=False, reference=ref)
    assert sub.verdict == "受理", sub.issues


def test_a_rule_set_off_in_config_is_not_reported_and_others_still_are(tmp_path, pool, env):
    d, ref = env
    quiet = dataclasses.replace(ref, severities={"N-COUNTER": "off", "N-SPACE": "error"})

    def edit(ws, rows):
        ws[f"H{rows[0]}"], ws[f"L{rows[0]}"] = EDITED, "修正"

    path, _ = _submit(tmp_path, d, edit=edit)
    [sub] = validate_files(d.workspace, 2026, [path], pool=pool, feedback=False, reference=quiet)
    codes = {(i.rule, i.severity) for i in sub.issues}
    assert ("N-SPACE", "error") in codes and not any(c == "N-COUNTER" for c, _ in codes)
    assert sub.verdict == "差戻し"


def test_the_quoted_basic_plan_lines_get_no_notation_issue(tmp_path, pool, env):
    """基本計画における具体的な取組 is quoted: the secretariat's template carries it, and its spelling
    (「ＣＯ2」, spaces) is the Basic Plan's, never reported or corrected."""
    d, ref = env
    labels = set(QUOTED_FIELDS.values())

    def edit(ws, rows):
        r = next(r for r in range(4, ws.max_row + 1) if ws[f"F{r}"].value in labels and ws[f"H{r}"].value)
        ws[f"H{r}"], ws[f"L{r}"] = ws[f"H{r}"].value + " 全国４箇所 AI", "修正"

    path, _ = _submit(tmp_path, d, ministry=d.workspace.config.secretariat.abbr, name="s.xlsx", edit=edit)
    [sub] = validate_files(d.workspace, 2026, [path], pool=pool, feedback=False, reference=ref)
    assert "L-QUOTED-CHANGED" in {i.rule for i in sub.issues}  # the words may not change at all
    assert not [i for i in sub.issues if i.rule.startswith("N-")]
