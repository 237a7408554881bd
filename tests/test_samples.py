"""The committed sample submissions hold exactly what tools/sample_plan.json says was planted."""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path

import openpyxl
import pytest
from corpus_distribution import distributed

from annex.distribute.template import LETTER, read_lines, read_meta, workbook_checksum
from annex.model.contract import ACTIONS, HEADER_ROW, LABELS, SHEET_ENTRY, SHEET_META
from annex.model.rules import RULES

ROOT = Path(__file__).resolve().parents[1]
SUBMISSIONS = ROOT / "submissions" / "2026"
PLAN = json.loads((ROOT / "tools" / "sample_plan.json").read_text(encoding="utf-8"))
FILES = {f["file"]: f for f in PLAN["files"]}


@cache
def sample(file: str):
    return openpyxl.load_workbook(SUBMISSIONS / file)


def test_every_file_under_submissions_is_in_the_plan_and_back():
    on_disk = {str(p.relative_to(SUBMISSIONS)) for p in SUBMISSIONS.rglob("*") if p.is_file()}
    assert on_disk == set(FILES)
    assert any("/" in name for name in on_disk)  # some in a sub-folder, as ministries send them


def test_the_plan_covers_the_scenarios_the_main_job_needs():
    kinds = [f["kind"] for f in PLAN["files"]]
    assert kinds.count("unchanged") == 1 and kinds.count("faulty") == 3
    assert kinds.count("updated") > len(kinds) / 2
    submitted = {f["ministry"] for f in PLAN["files"]}
    assert len(PLAN["not_submitted"]) == 1 and PLAN["not_submitted"][0]["ministry"] not in submitted
    assert submitted | {PLAN["not_submitted"][0]["ministry"]} == set(distributed().plans)
    rules = [m["rule"] for f in PLAN["files"] for m in f["mistakes"]]
    assert len(set(rules)) >= 8 and set(rules) <= set(RULES)
    assert {
        "L-TAG-UNKNOWN",
        "L-TEXT-EMPTY",
        "L-HALFWIDTH-KANA",
        "L-LOCKED-CHANGED",
        "L-RELISTED-UNKNOWN",
        "S-COLUMN-MISSING",
        "L-TAG-MISSING-SELF",
        "L-ACTION-INVALID",
    } <= set(rules)
    for f in PLAN["files"]:
        assert (f["expected_verdict"] == "差戻し") == bool(f["mistakes"]) == (f["kind"] == "faulty")
    ops = [c["op"] for f in PLAN["files"] if f["kind"] == "updated" for c in f["changes"]]
    assert ops.count("delete") == 1 and ops.count("new") >= 3 and ops.count("edit") >= 5
    r6 = [
        c
        for f in PLAN["files"]
        for c in f["changes"]
        if "令和６年度" in c.get("old_text", "") and "令和７年度" in c.get("new_text", "")
    ]
    assert len(r6) >= 3


@pytest.mark.parametrize("file", sorted(FILES))
def test_samples_keep_what_the_validator_needs(file):
    wb = sample(file)
    ws = wb[SHEET_ENTRY]
    entry = FILES[file]
    assert wb[SHEET_META].sheet_state == "veryHidden" and wb.sheetnames[0] == SHEET_ENTRY
    assert ws.protection.sheet and wb[SHEET_META].protection.sheet and wb.security.lockStructure
    fields = "'リスト'!$A$2:$A$6" if entry["ministry"] == "科技" else "'リスト'!$A$2:$A$3"
    formulas = {dv.formula1 for dv in ws.data_validations.dataValidation if dv.type == "list"}
    assert formulas == {fields, "'リスト'!$B$2:$B$5", "'リスト'!$C$2:$C$2", "'リスト'!$D$2:$D$45"}
    meta = read_meta(wb)
    assert meta["ministry"] == entry["ministry"] and meta["ministry_slug"] == entry["slug"] and meta["year"] == 2026
    tampered = any(m["rule"] == "L-LOCKED-CHANGED" for m in entry["mistakes"])
    assert (workbook_checksum(wb) == meta["checksum"]) != tampered
    # an unlocked cell stays unlocked after the officer's edit (openpyxl keeps cell protection)
    first_owned = next(i for i, line in enumerate(distributed().plans[entry["ministry"]].lines) if line.kind != "context")
    assert not ws[f"{LETTER['text']}{HEADER_ROW + 1 + first_owned}"].protection.locked


def test_unchanged_sample_has_the_templates_content():
    entry = next(f for f in PLAN["files"] if f["kind"] == "unchanged")
    assert read_lines(sample(entry["file"])[SHEET_ENTRY]) == read_lines(distributed().workbook(entry["ministry"])[SHEET_ENTRY])


@pytest.mark.parametrize("file", sorted(FILES))
def test_planted_cells_hold_the_planted_values_and_nothing_else_changed(file):
    entry = FILES[file]
    ws = sample(file)[SHEET_ENTRY]
    template = distributed().workbook(entry["ministry"])[SHEET_ENTRY]
    touched: dict[str, str | None] = {}
    for change in entry["changes"] + [m["change"] for m in entry["mistakes"]]:
        op = change["op"]
        if op == "edit":
            if "new_text" in change:
                touched[change["text_cell"]] = change["new_text"] or None
            if "new_tags" in change:
                touched[change["tags_cell"]] = change["new_tags"]
            touched[change["action_cell"]] = change["action"]
            assert ws[change["cells"]["item_id"]].value == change["item_id"]
        elif op == "delete":
            touched[change["action_cell"]] = "削除"
            assert ws[change["cells"]["item_id"]].value == change["item_id"]
        elif op == "new":
            cells = change["cells"]
            assert ws[cells["item_id"]].value is None and ws[cells["item_id"].replace("A", "B", 1)].value == change["row_id"]
            touched.update(
                {
                    cells["field"]: change["field"],
                    cells["text"]: change["text"],
                    cells["tags"]: change["tags"],
                    cells["action"]: "新規",
                }
            )
            if change["relisted_of"]:
                touched.update({cells["relisted"]: "再掲", cells["relisted_of"]: change["relisted_of"]})
        elif op == "set_cell":
            touched[change["cells"][change["key"]]] = change["new_value"]
        elif op == "clear_header":
            touched[change["cells"]["header"]] = None
    for address, value in touched.items():
        assert ws[address].value == value, address
    differing = {
        c.coordinate
        for row in template.iter_rows(min_row=HEADER_ROW, max_row=template.max_row, max_col=len(LABELS))
        for c in row
        if ws[c.coordinate].value != c.value
    }
    assert differing == set(touched)


def test_mistakes_are_located_where_the_rule_looks():
    for entry in PLAN["files"]:
        ws = sample(entry["file"])[SHEET_ENTRY]
        for m in entry["mistakes"]:
            value = ws[m["cell"]].value
            rule = m["rule"]
            if rule == "L-TAG-UNKNOWN":
                assert any(t not in distributed().workspace.config.tags.ministries for t in value.split("、"))
            elif rule == "L-TEXT-EMPTY":
                assert value is None and ws[m["cell"].replace("H", "L", 1)].value == "修正"
            elif rule == "L-HALFWIDTH-KANA":
                assert any("\uff66" <= ch <= "\uff9f" for ch in value)
            elif rule == "L-LOCKED-CHANGED":
                assert ws[m["cell"]].protection.locked and value == m["change"]["new_value"]
            elif rule == "L-RELISTED-UNKNOWN":
                known = {b.id for _, _, b in distributed().master.bullets()}
                assert value not in known and ws[m["cell"].replace("K", "J", 1)].value == "再掲"
            elif rule == "L-TAG-MISSING-SELF":
                assert entry["ministry"] not in value.split("、")
            elif rule == "S-COLUMN-MISSING":
                assert m["cell"].endswith(str(HEADER_ROW)) and value is None
                assert m["change"]["label"] in LABELS
            elif rule == "L-ACTION-INVALID":
                assert value not in ACTIONS
            elif rule == "L-TYPED-BULLET":
                assert value.startswith("・")
            else:  # pragma: no cover - a new planted rule needs its check here
                pytest.fail(f"no check for {rule}")


def test_expected_merge_counts_match_the_master_and_the_accepted_files():
    d = distributed()
    known = {b.id for _, _, b in d.master.bullets()}
    merge = PLAN["expected_merge"]
    assert PLAN["master_bullets"] == len(known)
    assert set(merge["modified_ids"]) <= known and set(merge["deleted_ids"]) <= known
    assert merge["carried"] + merge["modified"] + merge["deleted"] == len(known)
    original = PLAN["relisted_original_edited"]
    index = d.master.bullet_index()
    assert original["item_id"] in merge["modified_ids"]
    for copy in original["copies"]:
        assert index[copy][2].relisted and index[copy][2].text == index[original["item_id"]][2].text
        assert copy not in merge["modified_ids"]


@pytest.fixture
def make_samples(monkeypatch):
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "tools" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_samples", module)  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_regenerating_gives_identical_files(tmp_path, make_samples):
    plan = make_samples.generate(tmp_path / "out", tmp_path / "plan.json")
    assert (tmp_path / "plan.json").read_bytes() == (ROOT / "tools" / "sample_plan.json").read_bytes()
    # content, not zip bytes: another openpyxl may write the same workbook differently
    for entry in plan["files"]:
        assert make_samples.content_differences(SUBMISSIONS / entry["file"], tmp_path / "out" / entry["file"]) == []


def test_content_comparison_names_the_changed_cell(tmp_path, make_samples):
    entry = next(f for f in PLAN["files"] if any("text_cell" in c for c in f["changes"]))
    address = next(c["text_cell"] for c in entry["changes"] if "text_cell" in c)
    wb = openpyxl.load_workbook(SUBMISSIONS / entry["file"])
    wb[SHEET_ENTRY][address].value = "書き換えた記載"
    wb.save(tmp_path / "changed.xlsx")
    found = make_samples.content_differences(SUBMISSIONS / entry["file"], tmp_path / "changed.xlsx")
    assert len(found) == 1 and f"{SHEET_ENTRY}!{address}: value" in found[0] and "changed.xlsx" in found[0]


def test_content_comparison_ignores_how_the_zip_was_written(tmp_path, make_samples):
    file = PLAN["files"][0]["file"]
    openpyxl.load_workbook(SUBMISSIONS / file).save(tmp_path / "resaved.xlsx")
    assert (tmp_path / "resaved.xlsx").read_bytes() != (SUBMISSIONS / file).read_bytes()
    assert make_samples.content_differences(SUBMISSIONS / file, tmp_path / "resaved.xlsx") == []
