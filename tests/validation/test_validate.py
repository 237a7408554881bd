"""Validation: the sample submissions get exactly their planted issues, at their cells; scenario
workbooks made from a real distributed template each get the rule they break."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import openpyxl
import pytest
from corpus_distribution import distributed

from annex.distribute.template import LETTER
from annex.io.workers import WorkerPool
from annex.model.config import bundled_path
from annex.model.contract import COLUMNS, SHEET_ENTRY, SHEET_META
from annex.model.rules import RULES
from annex.validation.validate import held
from annex.workspace.collect import validate_files
from annex.workspace.layout import Workspace
from annex.workspace.master import load_reference

ROOT = Path(__file__).resolve().parents[2]
PLAN = __import__("json").loads((ROOT / "tools" / "sample_plan.json").read_text(encoding="utf-8"))
SAMPLES = ROOT / "submissions" / str(PLAN["year"])


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(workers=2) as p:
        yield p


@pytest.fixture(scope="module")
def env():
    d = distributed()
    return d, load_reference(d.workspace, 2026)


@pytest.fixture(scope="module")
def samples(pool, env):
    d, ref = env
    paths = [SAMPLES / f["file"] for f in PLAN["files"]]
    subs = validate_files(d.workspace, 2026, paths, pool=pool, feedback=False, reference=ref)
    return {f["file"]: s for f, s in zip(PLAN["files"], subs)}


@pytest.mark.parametrize("entry", PLAN["files"], ids=[f["slug"] for f in PLAN["files"]])
def test_sample_gets_exactly_the_planted_issues(samples, entry):
    sub = samples[entry["file"]]
    assert sub.verdict == entry["expected_verdict"]
    assert sub.ministry == entry["ministry"]  # from the metadata, whatever the file is called
    planted = {(m["rule"], m["cell"]) for m in entry["mistakes"]}
    tolerated = {code for m in entry["mistakes"] for code in m["may_also_report"]}
    found = {(i.rule, i.location.cell) for i in sub.issues if i.rule not in tolerated}
    assert found == planted
    for issue in sub.issues:
        assert issue.location.file == Path(entry["file"]).name
        if issue.location.cell:
            assert issue.location.sheet == SHEET_ENTRY
        assert issue.message and issue.rule in RULES
    for m in entry["mistakes"]:
        issue = next(i for i in sub.issues if (i.rule, i.location.cell) == (m["rule"], m["cell"]))
        assert issue.location.item_id == m["item_id"]


def test_the_clean_samples_are_accepted_without_warnings(samples):
    clean = [f for f in PLAN["files"] if f["expected_verdict"] == "受理"]
    assert clean
    for f in clean:
        assert samples[f["file"]].verdict == "受理", samples[f["file"]].issues


def test_accepted_lines_carry_the_planted_edits(samples):
    entry = next(f for f in PLAN["files"] if f["changes"] and f["expected_verdict"] == "受理")
    sub = samples[entry["file"]]
    by_id = {ln.item_id: ln for ln in sub.lines if ln.item_id}
    for change in entry["changes"]:
        if change["op"] == "edit":
            assert by_id[change["item_id"]].text == change["new_text"]
            assert by_id[change["item_id"]].action == "修正"


# -- scenario workbooks made from a distributed template ------------------------------------
def _template_copy(tmp_path: Path, ministry: str = "文", name: str = "x.xlsx") -> tuple[Path, openpyxl.Workbook, list[int]]:
    d = distributed()
    path = tmp_path / name
    shutil.copyfile(d.path(ministry), path)
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_ENTRY]
    owned = [r for r in range(4, ws.max_row + 1) if ws[f"A{r}"].value and ws[f"L{r}"].protection.locked is False]
    return path, wb, owned


def _validate(pool, env, *paths: Path):
    d, ref = env
    return validate_files(d.workspace, 2026, list(paths), pool=pool, feedback=False, reference=ref)


def _spare_row(ws) -> int:
    return next(r for r in range(4, ws.max_row + 1) if not ws[f"A{r}"].value and ws[f"B{r}"].value and not ws[f"H{r}"].value)


def test_untouched_template_is_accepted(tmp_path, pool, env):
    path, _, _ = _template_copy(tmp_path)
    [sub] = _validate(pool, env, path)
    assert sub.verdict == "受理" and sub.issues == []
    assert sub.ministry == "文" and sub.year == 2026 and sub.template_version


def test_text_is_read_verbatim_never_as_numbers_or_missing(tmp_path, pool, env):
    path, wb, _ = _template_copy(tmp_path)
    ws = wb[SHEET_ENTRY]
    rows = []
    for value in ("00123", "NA", "=1+2 と書いた計画", "1e3"):
        r = _spare_row(ws)
        for col, v in (("F", "今後の取組方針"), ("H", value), ("I", "文"), ("L", "新規")):
            ws[f"{col}{r}"] = v
            ws[f"{col}{r}"].data_type = "s"
        rows.append(r)
    wb.save(path)
    [sub] = _validate(pool, env, path)
    texts = {ln.excel_row: ln.text for ln in sub.lines}
    assert [texts[r] for r in rows] == ["00123", "NA", "=1+2 と書いた計画", "1e3"]
    # accepted; the notation warnings these odd texts get (no 「。」, a space) are tests/lint's matter
    assert sub.accepted and not [i for i in sub.issues if not i.rule.startswith("N-")], sub.issues


def test_line_rules_are_located(tmp_path, pool, env):
    path, wb, owned = _template_copy(tmp_path)
    ws = wb[SHEET_ENTRY]
    r1, r2, r3 = owned[0], owned[1], owned[2]
    ws[f"H{r1}"], ws[f"L{r1}"] = "ｶﾞｽの供給", "修正"
    ws[f"H{r2}"], ws[f"L{r2}"] = "テキスト\u200bを修正", "修正"  # a zero-width space: invisible, and a control character
    ws[f"A{r3}"] = "9-Z-99-P99"  # an invented id
    s = _spare_row(ws)
    ws[f"A{s}"] = owned[3] and ws[f"A{owned[3]}"].value  # a 新規 line carrying an id (and a duplicate id)
    ws[f"F{s}"], ws[f"H{s}"], ws[f"I{s}"], ws[f"L{s}"] = "今後の取組方針", "新しい取組", "文", "新規"
    s2 = _spare_row(ws)
    ws[f"F{s2}"], ws[f"H{s2}"], ws[f"I{s2}"], ws[f"L{s2}"] = "欄の誤り", "さらに新しい取組", "文部", "追加"
    ws[f"K{s2}"] = "0-X-00-P00"
    wb.save(path)
    [sub] = _validate(pool, env, path)
    found = {(i.rule, i.location.cell) for i in sub.issues}
    assert ("L-HALFWIDTH-KANA", f"H{r1}") in found
    assert ("L-CONTROL-CHAR", f"H{r2}") in found
    assert ("L-ID-ALTERED", f"A{r3}") in found
    assert ("L-NEW-WITH-ID", f"A{s}") in found
    assert ("X-DUPLICATE-ID", f"A{s}") in found and ("X-DUPLICATE-ID", f"A{owned[3]}") in found
    assert ("L-FIELD-INVALID", f"F{s2}") in found
    assert ("L-TAG-UNKNOWN", f"I{s2}") in found
    assert ("L-ACTION-INVALID", f"L{s2}") in found
    assert ("L-RELISTED-UNKNOWN", f"K{s2}") in found
    kana = next(i for i in sub.issues if i.rule == "L-HALFWIDTH-KANA")
    assert "ガス" in kana.suggestion
    tag = next(i for i in sub.issues if i.rule == "L-TAG-UNKNOWN")
    assert tag.suggestion and "「文」" in tag.suggestion
    assert sub.verdict == "差戻し"


def test_duplicate_text_without_relisting_is_a_warning(tmp_path, pool, env):
    path, wb, owned = _template_copy(tmp_path)
    ws = wb[SHEET_ENTRY]
    s = _spare_row(ws)
    ws[f"F{s}"], ws[f"H{s}"], ws[f"I{s}"], ws[f"L{s}"] = "今後の取組方針", ws[f"H{owned[0]}"].value, "文", "新規"
    wb.save(path)
    [sub] = _validate(pool, env, path)
    assert [(i.rule, i.severity, i.location.cell) for i in sub.issues] == [("X-DUPLICATE-TEXT", "warning", f"H{s}")]
    assert sub.verdict == "受理（警告あり）"


def test_file_level_metadata_rules(tmp_path, pool, env):
    wrong_year, wb, _ = _template_copy(tmp_path, name="year.xlsx")
    meta = wb[SHEET_META]
    row = next(r for r in range(1, 10) if meta[f"A{r}"].value == "year")
    meta[f"B{row}"] = 2025
    wb.save(wrong_year)
    foreign, wb, _ = _template_copy(tmp_path, name="foreign.xlsx")
    del wb[SHEET_META]
    wb.save(foreign)
    tampered, wb, _ = _template_copy(tmp_path, name="tampered.xlsx")
    meta = wb[SHEET_META]
    row = next(r for r in range(1, 10) if meta[f"A{r}"].value == "checksum")
    meta[f"B{row}"] = "0" * 64
    wb.save(tampered)
    subs = _validate(pool, env, wrong_year, foreign, tampered)
    assert [[i.rule for i in s.errors] for s in subs] == [["F-WRONG-YEAR"], ["F-FOREIGN"], ["F-TAMPERED"]]


def _set_meta(wb, key: str, value) -> None:
    meta = wb[SHEET_META]
    meta[f"B{next(r for r in range(1, 10) if meta[f'A{r}'].value == key)}"] = value


def test_a_downgraded_outdated_template_still_has_its_lines_read_and_checked(tmp_path, pool, env):
    d, ref = env
    downgraded = (d, dataclasses.replace(ref, severities={"F-OUTDATED": "warning"}))
    clean, wb, owned = _template_copy(tmp_path, name="clean.xlsx")
    _set_meta(wb, "template_version", "2025.1")
    ws = wb[SHEET_ENTRY]
    ws[f"H{owned[0]}"], ws[f"L{owned[0]}"] = "古い様式で修正した記載。", "修正"
    wb.save(clean)
    faulty, wb, owned = _template_copy(tmp_path, name="faulty.xlsx")
    _set_meta(wb, "template_version", "2025.1")
    ws = wb[SHEET_ENTRY]
    ws[f"H{owned[0]}"], ws[f"L{owned[0]}"] = "ｶﾞｽの供給。", "修正"
    wb.save(faulty)

    ok, bad = _validate(pool, downgraded, clean, faulty)
    assert [(i.rule, i.severity) for i in ok.issues] == [("F-OUTDATED", "warning")]
    assert ok.verdict == "受理（警告あり）"
    edited = next(ln for ln in ok.lines if ln.excel_row == owned[0])
    assert edited.text == "古い様式で修正した記載。" and edited.action == "修正"  # the edit reaches merge
    assert [(i.rule, i.severity, i.location.cell) for i in bad.issues] == [
        ("F-OUTDATED", "warning", None),
        ("L-HALFWIDTH-KANA", "error", f"H{owned[0]}"),
    ]
    assert bad.verdict == "差戻し"
    # with the catalogue's severity the outdated workbook is returned, its lines not read
    [returned] = _validate(pool, env, clean)
    assert [(i.rule, i.severity) for i in returned.issues] == [("F-OUTDATED", "error")] and returned.lines == []


def test_severity_overrides_reach_every_issue_but_never_accept_an_unread_submission(tmp_path, pool, env):
    d, ref = env
    severities = {
        "L-LOOKALIKE": "error",
        "X-DUPLICATE-TEXT": "error",
        "S-SHEET-MISSING": "warning",
        "F-UNREADABLE": "warning",
        "F-NOT-XLSX": "warning",
        "F-UNKNOWN-MINISTRY": "warning",
    }
    overridden = (d, dataclasses.replace(ref, severities=severities))
    lines, wb, owned = _template_copy(tmp_path, name="lines.xlsx")
    ws = wb[SHEET_ENTRY]
    ws[f"H{owned[0]}"], ws[f"L{owned[0]}"] = "ガ―スの供給。", "修正"
    s = _spare_row(ws)
    ws[f"F{s}"], ws[f"H{s}"], ws[f"I{s}"], ws[f"L{s}"] = "今後の取組方針", ws[f"H{owned[1]}"].value, "文", "新規"
    wb.save(lines)
    no_sheet, wb, _ = _template_copy(tmp_path, name="no_sheet.xlsx")
    wb[SHEET_ENTRY].title = "記入"
    wb.save(no_sheet)
    unknown, wb, _ = _template_copy(tmp_path, name="unknown.xlsx")
    _set_meta(wb, "ministry", "謎")
    wb.save(unknown)
    text = tmp_path / "text.xlsx"
    text.write_text("府省,記載\n文,テキスト\n", encoding="utf-8")

    subs = _validate(pool, overridden, lines, no_sheet, unknown, text)
    # the copied bullet's published spaces get notation warnings on the new line: tests/lint's matter
    assert [(i.rule, i.severity, i.location.cell) for i in subs[0].issues if not i.rule.startswith("N-")] == [
        ("L-LOOKALIKE", "error", f"H{owned[0]}"),
        ("X-DUPLICATE-TEXT", "error", f"H{s}"),
    ]
    # a rule that leaves nothing to read (or no ministry to read it for) stays an error
    for sub, code in zip(subs[1:], ("S-SHEET-MISSING", "F-UNKNOWN-MINISTRY", "F-NOT-XLSX")):
        assert [(i.rule, i.severity) for i in sub.issues] == [(code, "error")] and sub.verdict == "差戻し"
    # a read the machine interrupted is held, whatever the severities: never 差戻し, never accepted
    crashed = held("x.xlsx", "0" * 64, "読み取り処理が異常終了しました")
    assert [(i.rule, i.severity) for i in crashed.issues] == [("F-READ-INTERRUPTED", "error")]
    assert crashed.verdict == "保留" and crashed.held and not crashed.accepted


def test_structure_rules(tmp_path, pool, env):
    renamed, wb, _ = _template_copy(tmp_path, name="renamed.xlsx")
    wb[SHEET_ENTRY]["H3"] = "記載"
    wb.save(renamed)
    moved, wb, _ = _template_copy(tmp_path, name="moved.xlsx")
    ws = wb[SHEET_ENTRY]
    ws.protection.sheet = False
    ws.insert_rows(1)
    wb.save(moved)
    missing, wb, _ = _template_copy(tmp_path, name="missing.xlsx")
    wb[SHEET_ENTRY].title = "記入"
    wb.save(missing)
    subs = _validate(pool, env, renamed, moved, missing)
    col = next(i for i in subs[0].issues if i.rule == "S-COLUMN-MISSING")
    assert col.location.cell == "H3" and "記載内容" in col.message and "「記載」" in col.suggestion
    assert ("S-HEADER-MOVED", "A4") in {(i.rule, i.location.cell) for i in subs[1].issues}
    assert [i.rule for i in subs[2].errors] == ["S-SHEET-MISSING"]


def test_a_very_hidden_first_sheet_is_never_read(tmp_path, pool, env):
    path, wb, _ = _template_copy(tmp_path)
    junk = wb.create_sheet("junk", 0)
    junk["A1"], junk["A2"] = "X-999", 1e9
    junk.sheet_state = "veryHidden"
    wb.active = 1
    wb.save(path)
    [sub] = _validate(pool, env, path)
    assert sub.verdict == "受理" and all("X-999" not in (ln.text or "") for ln in sub.lines)


def test_changes_to_other_ministries_bullets_are_refused(tmp_path, pool, env):
    path, wb, _ = _template_copy(tmp_path)
    ws = wb[SHEET_ENTRY]
    context = next(r for r in range(4, ws.max_row + 1) if ws[f"A{r}"].value and ws[f"L{r}"].protection.locked)
    ws[f"H{context}"] = "他府省の記載を書き換え"
    wb.save(path)
    [sub] = _validate(pool, env, path)
    assert [(i.rule, i.location.cell) for i in sub.errors] == [("L-NOT-OWNER", f"H{context}")]


def test_the_validation_cache_key_follows_master_and_config_changes(tmp_path):
    """An unchanged file is validated again when master(Y-1) or the config changed, never otherwise."""
    d = distributed()
    ws = Workspace.at(tmp_path / "ws")
    shutil.copytree(d.workspace.output(2025), ws.output(2025))
    first = load_reference(ws, 2026).fingerprint()
    assert load_reference(ws, 2026).fingerprint() == first
    master = ws.master_json(2025)
    master.write_text(master.read_text(encoding="utf-8").replace("。", "．", 1), encoding="utf-8")
    edited = load_reference(ws, 2026).fingerprint()
    assert edited != first
    (ws.root / "config").mkdir()
    (ws.root / "config" / "annex.yaml").write_text(
        bundled_path("annex.yaml")
        .read_text(encoding="utf-8")
        .replace("rule_severities: {}", "rule_severities:\n  L-LOOKALIKE: error"),
        encoding="utf-8",
    )
    assert load_reference(Workspace.at(ws.root), 2026).fingerprint() not in (first, edited)


# -- footnote marks ［注N］ in 記載内容 -------------------------------------------------------------
def _preamble_rows(ws) -> dict[str, int]:
    return {ws[f"A{r}"].value: r for r in range(4, ws.max_row + 1) if str(ws[f"A{r}"].value or "").startswith("3-")}


def test_footnote_marks_are_read_where_they_stand_and_mistyped_ones_are_located(tmp_path, pool, env):
    """The secretariat's workbook shows 「…水準［注165］を視野に…」: a mark moved is read at its new
    place; one typed 「[注166]」, one citing a footnote that does not exist, one deleted are issues."""
    from annex.merge.merge import merge

    d, ref = env
    path, wb, _ = _template_copy(tmp_path, "科技", "secretariat.xlsx")
    ws = wb[SHEET_ENTRY]
    rows = _preamble_rows(ws)
    moved, mangled, unknown, removed = (rows[f"3-{k}"] for k in ("key-01", "key-02", "ref-01", "ref-02"))
    text = ws[f"H{moved}"].value
    assert "水準［注165］を視野に" in text
    ws[f"H{moved}"] = text.replace("［注165］", "") + "［注165］"  # the reference moved to the end
    ws[f"H{mangled}"] = ws[f"H{mangled}"].value.replace("［注166］", "[注166]")
    ws[f"H{unknown}"] = ws[f"H{unknown}"].value + "［注999］"
    ws[f"H{removed}"] = ws[f"H{removed}"].value.replace("［注168］", "")
    for r in (moved, mangled, unknown, removed):
        ws[f"L{r}"] = "修正"
    wb.save(path)
    [sub] = _validate(pool, env, path)
    found = {(i.rule, i.location.cell): i for i in sub.issues}
    assert found[("L-NOTE-MANGLED", f"H{mangled}")].suggestion == "「[注166]」を「［注166］」に直してください。"
    assert ("L-NOTE-UNKNOWN", f"H{unknown}") in found and "［注999］" in found[("L-NOTE-UNKNOWN", f"H{unknown}")].message
    assert found[("L-NOTE-REMOVED", f"H{removed}")].severity == "warning"
    assert {i.rule for i in sub.issues} == {"L-NOTE-MANGLED", "L-NOTE-UNKNOWN", "L-NOTE-REMOVED"}
    line = next(ln for ln in sub.lines if ln.excel_row == moved)
    assert "［注" not in line.text and line.footnotes == [165] and line.footnote_offsets == [len(line.text)]

    # the moved mark and the removed one, as merged (the returned file aside, a clean copy of those two edits)
    path2, wb2, _ = _template_copy(tmp_path, "科技", "secretariat-ok.xlsx")
    ws2 = wb2[SHEET_ENTRY]
    for r in (moved, removed):
        ws2[f"H{r}"] = ws[f"H{r}"].value
        ws2[f"L{r}"] = "修正"
    wb2.save(path2)
    [ok] = _validate(pool, env, path2)
    assert ok.accepted, ok.issues
    result = merge(ref.annex, {"科技": ok}, d.workspace.config, year=2026)
    pre = result.annex.chapters[0].preamble
    assert pre.key_indicators[0].footnote_marks() == [(165, len(pre.key_indicators[0].text))]
    assert pre.reference_indicators[1].footnotes == [] and pre.reference_indicators[1].footnote_offsets is None


def test_the_secretariat_places_the_footnotes_of_the_vision_and_the_measures_but_not_their_words(tmp_path, pool, env):
    """あるべき姿 and 基本計画における具体的な取組 are quoted from the Basic Plan: the secretariat's
    workbook shows their ［注N］ marks in 記載内容 (only 記載内容 and 対応 unlocked); a mark moved,
    added or removed is merged, a word changed is a located error, and no one else may send them."""
    import datetime as dt

    from annex.distribute.template import write_template
    from annex.merge.merge import merge
    from annex.model.annex import VisionFootnotes
    from annex.model.contract import measure_item_id, quoted_items, vision_item_id
    from annex.validation.validate import Reference

    d, _ = env
    config = d.workspace.config
    annex = d.master.model_copy(deep=True)
    chapter = annex.chapters[0]
    rows = [row for section in chapter.sections for row in section.rows]
    cited, moved, plain = rows[0], rows[1], rows[2]  # hand-made: the bundled part cites no footnote here
    cited.measure_footnotes, cited.measure_footnote_offsets = [165], [4]
    moved.measure_footnotes, moved.measure_footnote_offsets = [166], [len(moved.measure)]
    chapter.preamble.vision_footnotes = [VisionFootnotes(paragraph=0, footnotes=[167], offsets=[3])]
    annex = type(annex).model_validate(annex.model_dump())  # the validators check the offsets
    chapter = annex.chapters[0]
    cited, moved, plain = (annex.row_index()[r.id] for r in (cited, moved, plain))
    ref = Reference.for_annex(config, 2026, annex)
    plan = ref.plans["科技"]
    path = tmp_path / "secretariat.xlsx"
    write_template(path, plan, config, generated_at=dt.datetime(2026, 4, 1, tzinfo=dt.UTC), source_master="test")

    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_ENTRY]
    at = {ws[f"A{r}"].value: r for r in range(4, ws.max_row + 1) if ws[f"A{r}"].value}
    assert list(quoted_items(annex)) == [v for v in at if v.endswith("-measure") or "-vision-" in v]
    r_cited, r_moved, r_plain = (at[measure_item_id(r)] for r in (cited, moved, plain))
    r_vision = at[vision_item_id(chapter, 1)]
    assert ws[f"H{r_cited}"].value == cited.measure[:4] + "［注165］" + cited.measure[4:]
    assert ws[f"F{r_cited}"].value == "基本計画における具体的な取組" and ws[f"{LETTER['footnotes']}{r_cited}"].value.startswith(
        "［注165］"
    )
    assert ws[f"H{r_vision}"].value == chapter.preamble.vision[0][:3] + "［注167］" + chapter.preamble.vision[0][3:]
    unlocked = {spec.label for spec in COLUMNS if ws[f"{LETTER[spec.key]}{r_cited}"].protection.locked is False}
    assert unlocked == {"記載内容", "対応"}

    # moved to the end, a new one cited, removed from the vision paragraph
    ws[f"H{r_cited}"] = cited.measure + "［注165］"
    ws[f"H{r_plain}"] = plain.measure[:2] + "［注168］" + plain.measure[2:]
    ws[f"H{r_vision}"] = chapter.preamble.vision[0]
    for r in (r_cited, r_plain, r_vision):
        ws[f"L{r}"] = "修正"
    wb.save(path)
    [ok] = validate_files(d.workspace, 2026, [path], pool=pool, feedback=False, reference=ref)
    assert ok.accepted and {i.rule for i in ok.issues} == {"L-NOTE-REMOVED"}, ok.issues
    result = merge(annex, {"科技": ok}, config, year=2026)
    merged = result.annex.row_index()
    assert merged[cited.id].measure_footnote_marks() == [(165, len(cited.measure))]
    assert merged[plain.id].measure_footnote_marks() == [(168, 2)] and merged[plain.id].measure == plain.measure
    assert merged[moved.id].measure_footnote_marks() == [(166, len(moved.measure))]
    assert result.annex.chapters[0].preamble.vision_footnotes is None
    changed = {c.item_id: c for c in result.changes if c.column in ("measure", "vision")}
    assert set(changed) == {measure_item_id(cited), measure_item_id(plain), vision_item_id(chapter, 1)}
    assert changed[measure_item_id(plain)].new == plain.measure[:2] + "［注168］" + plain.measure[2:]

    # a word of the Basic Plan changed, a quoted line added: errors at their cells, nothing merged
    ws[f"H{r_moved}"] = moved.measure.replace(moved.measure[0], "＊", 1)
    ws[f"L{r_moved}"] = "修正"
    spare = _spare_row(ws)
    ws[f"F{spare}"], ws[f"H{spare}"], ws[f"L{spare}"] = "基本計画における具体的な取組", "新しい取組", "新規"
    wb.save(path)
    [bad] = validate_files(d.workspace, 2026, [path], pool=pool, feedback=False, reference=ref)
    found = {(i.rule, i.location.cell): i for i in bad.issues if i.rule == "L-QUOTED-CHANGED"}
    assert set(found) == {("L-QUOTED-CHANGED", f"H{r_moved}"), ("L-QUOTED-CHANGED", f"L{spare}")}
    assert not bad.accepted
    assert "文言は変更できません" in found[("L-QUOTED-CHANGED", f"H{r_moved}")].message
    assert moved.measure[:20] in found[("L-QUOTED-CHANGED", f"H{r_moved}")].suggestion


def test_markup_typed_into_the_text_is_located_with_the_text_as_it_should_be(tmp_path, pool, env):
    """Officers copy last year's look: a leading ・, a trailing 【tags】 block, a typed （再掲） and a
    superscript footnote number would each be printed twice; each is an error at its cell, with the
    corrected text proposed, and the text is never rewritten."""
    path, wb, owned = _template_copy(tmp_path, "文")
    ws = wb[SHEET_ENTRY]
    bullet, tags, relisted, note, clean = owned[:5]
    base = {r: ws[f"H{r}"].value for r in owned[:5]}
    ws[f"H{bullet}"] = "・" + base[bullet]
    ws[f"H{tags}"] = base[tags] + "【文、経】"
    ws[f"H{relisted}"] = base[relisted] + "（再掲）"
    ws[f"H{note}"] = base[note].replace("。", "¹⁶⁵。", 1) if "。" in base[note] else base[note] + "¹⁶⁵"
    ws[f"H{clean}"] = base[clean] + "　令和８年度も継続。"
    for r in owned[:5]:
        ws[f"L{r}"] = "修正"
    wb.save(path)
    [sub] = _validate(pool, env, path)
    found = {(i.rule, i.location.cell): i for i in sub.issues}
    assert set(found) == {
        ("L-TYPED-BULLET", f"H{bullet}"),
        ("L-TYPED-TAGS", f"H{tags}"),
        ("L-TYPED-RELISTED", f"H{relisted}"),
        ("L-TYPED-NOTE-NUMBER", f"H{note}"),
    }
    assert not sub.accepted and all(i.severity == "error" for i in sub.issues)
    assert found[("L-TYPED-BULLET", f"H{bullet}")].suggestion == f"次のとおり直してください: {base[bullet]}"
    tag_issue = found[("L-TYPED-TAGS", f"H{tags}")]
    assert "【文、経】" in tag_issue.message and base[tags] in tag_issue.suggestion and "「文、経」" in tag_issue.suggestion
    assert base[relisted] in found[("L-TYPED-RELISTED", f"H{relisted}")].suggestion
    assert "［注165］" in found[("L-TYPED-NOTE-NUMBER", f"H{note}")].suggestion
    line = next(ln for ln in sub.lines if ln.excel_row == bullet)
    assert line.text == "・" + base[bullet]  # reported, never rewritten


def test_a_configured_alias_is_the_tag_it_stands_for_wherever_it_is_typed(tmp_path, pool, env):
    """tags.yaml maps NISC → ＮＩＳＣ: typed in a submission it is a warning naming the table's
    spelling, the line is accepted and merged with ＮＩＳＣ; retyping a pre-filled tag as its alias
    changes nothing."""
    from annex.merge.merge import merge

    d, ref = env
    path, wb, owned = _template_copy(tmp_path, "総")
    ws = wb[SHEET_ENTRY]
    target = next(r for r in owned if ws[f"I{r}"].value == "総" and ws[f"F{r}"].value == "今後の取組方針")
    ws[f"I{target}"] = "総、NISC"
    ws[f"L{target}"] = "修正"
    wb.save(path)
    [sub] = _validate(pool, env, path)
    assert sub.accepted
    [issue] = sub.issues
    assert (issue.rule, issue.location.cell, issue.severity) == ("L-TAG-ALIAS", f"I{target}", "warning")
    assert "「ＮＩＳＣ」" in issue.message
    item_id = ws[f"A{target}"].value
    result = merge(ref.annex, {"総": sub}, d.workspace.config, year=2026)
    assert result.annex.bullet_index()[item_id][2].tags == ["総", "ＮＩＳＣ"]
