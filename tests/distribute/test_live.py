"""The live checks inside a template (issue 17): each mistake the catalogue can state as a formula is
planted in one template, LibreOffice recalculates it headless, and the computed チェック column and
count are read back; the server-side validator judges the same lines the same, with or without
the formulas."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from corpus_distribution import GENERATED_AT, distributed

import annex.distribute.template as template_module
from annex.distribute import live as live_module
from annex.distribute.live import ID_SEPARATOR, checks, id_chunks
from annex.distribute.template import LETTER, LIST_COLUMNS, plan_templates, read_meta, write_template
from annex.intake.reader import read_workbook
from annex.io.xlsx import set_text
from annex.model.contract import (
    COLUMN_BY_KEY,
    FIRST_DATA_ROW,
    HEADER_ROW,
    LIVE_LABEL,
    LIVE_MARK,
    SHEET_ENTRY,
    SHEET_GUIDE,
    SHEET_LISTS,
    TITLE_ROW,
)
from annex.model.rules import RULES, TEXT_LIMIT, live_rules
from annex.validation.validate import validate_batch
from annex.workspace.master import load_reference

MINISTRY = "総"
SECRETARIAT = "科技"  # its preamble and quoted lines (あるべき姿, 具体的な取組) must flag nothing either
CHECK = LETTER["check"]
COUNT_CELL = f"{LETTER['text']}{TITLE_ROW + 1}"
NOTE_OF = {check.note.format(limit=TEXT_LIMIT): rule.code for rule, check in checks()}
LIVE_CODES = {rule.code for rule in live_rules()}


def _cell(ws, key: str, r: int):
    return ws[f"{LETTER[key]}{r}"]


def _put(ws, r: int, **values: str) -> None:
    for key, value in values.items():
        set_text(_cell(ws, key, r), value)


def plant(ws) -> dict[int, set[str]]:
    """Every mistake of issue 17's point 1, one per line, as an officer (or a paste) would leave it;
    two correct edits beside them. Returns sheet row → the rule codes that line must raise."""
    owned = [
        r
        for r in range(FIRST_DATA_ROW, ws.max_row + 1)
        if _cell(ws, "item_id", r).value and _cell(ws, "action", r).protection.locked is False
    ]
    spare = [
        r for r in range(FIRST_DATA_ROW, ws.max_row + 1) if not _cell(ws, "item_id", r).value and _cell(ws, "row_id", r).value
    ]
    text = lambda r: _cell(ws, "text", r).value  # noqa: E731
    expected: dict[int, set[str]] = {}
    o, s = iter(owned), iter(spare)

    def at(lines, codes: set[str], **values: str) -> None:
        r = next(lines)
        _put(ws, r, **values)
        expected[r] = codes

    at(o, {"L-ACTION-INVALID"}, action="修正済み")  # pasted past the dropdown
    at(o, {"L-FIELD-INVALID"}, field="実施状況", action="修正")
    at(o, {"L-TEXT-EMPTY"}, text="", action="修正")
    at(o, {"L-EDIT-UNCHANGED"}, action="修正")
    r = next(o)
    _put(ws, r, text=text(r) + "さらに拡充する。")  # edited, 対応 left at 変更なし
    expected[r] = {"L-UNCHANGED-BUT-EDITED"}
    at(o, {"L-HALFWIDTH-KANA"}, text="ｺﾝﾋﾟｭｰﾀの活用を進める。", action="修正")
    r = next(o)
    _put(ws, r, heading="＜ﾃﾞｰﾀ連携＞", action="修正")
    expected[r] = {"L-HALFWIDTH-KANA"}
    r = next(o)
    _put(ws, r, text="・" + text(r), action="修正")
    expected[r] = {"L-TYPED-BULLET"}
    r = next(o)
    _put(ws, r, text=text(r) + "【総、経】", action="修正")
    expected[r] = {"L-TYPED-TAGS"}
    r = next(o)
    _put(ws, r, text=text(r) + "（再掲）", action="修正")
    expected[r] = {"L-TYPED-RELISTED"}
    r = next(o)
    _put(ws, r, text=text(r) + "¹²", action="修正")  # a footnote number copied as a superscript
    expected[r] = {"L-TYPED-NOTE-NUMBER"}
    at(o, {"L-RELISTED-UNKNOWN"}, relisted="再掲", relisted_of="9-（９）-99-p01", action="修正")
    at(o, {"L-RELISTED-UNKNOWN"}, relisted="再掲", relisted_of="4-*", action="修正")  # no wildcard: exact, as the validator
    at(o, {"L-TEXT-TOO-LONG"}, text="あ" * (TEXT_LIMIT + 1), action="修正")
    at(o, {"L-TAG-UNKNOWN"}, tags="総、ＮＩＳＣＸ", action="修正")
    at(o, set(), text="令和７年度は、地域の情報通信基盤の整備を進めた。", action="修正")  # a correct edit
    at(o, set(), tags="【総,経】", action="修正")  # tags in a spelling the validator also reads: no problem
    at(s, {"L-FIELD-INVALID"}, text="新たに、地域の通信網を整備する。", tags="総", action="新規")  # 新規 without 欄
    at(s, {"L-TEXT-EMPTY"}, field="今後の取組方針", tags="総", action="新規")  # 新規 without text
    at(s, {"L-ACTION-INVALID"}, field="今後の取組方針", text="地域の通信網を整備する。", tags="総")  # no 対応
    at(s, {"L-TAGS-EMPTY"}, field="今後の取組方針", text="地域の通信網を整備する。", action="新規")
    at(s, set(), field="今後の取組方針", text="地域の通信網を一層整備する。", tags="総、経", action="新規")  # correct
    return expected


def _soffice() -> str:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    return soffice


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The planted and the untouched template, both recalculated by LibreOffice in one run."""
    d = distributed()
    root = tmp_path_factory.mktemp("live")
    untouched = root / "untouched.xlsx"
    shutil.copyfile(d.path(MINISTRY), untouched)
    wb = openpyxl.load_workbook(untouched)
    expected = plant(wb[SHEET_ENTRY])
    planted = root / "planted.xlsx"
    wb.save(planted)
    secretariat = root / "secretariat.xlsx"
    shutil.copyfile(d.path(SECRETARIAT), secretariat)
    partial, relisted = _partial_template(root / "partial.xlsx", d)
    return SimpleNamespace(
        root=root,
        planted=planted,
        untouched=untouched,
        secretariat=secretariat,
        expected=expected,
        partial=partial,
        relisted=relisted,
    )


PARTIAL_LIMIT = 100  # the bundled annex has ~1,000 item ids: with this limit its templates list only their own
INVENTED_ID = "9-（９）-99-p01"


def _partial_plan(d):
    """MINISTRY's plan as planned for an annex above the id-list limit (the limit lowered)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(template_module, "WHOLE_ID_LIST_LIMIT", PARTIAL_LIMIT)
        return next(p for p in plan_templates(d.master, d.workspace.config, 2026) if p.ministry == MINISTRY)


def _partial_template(path: Path, d) -> tuple[Path, dict[str, int]]:
    """MINISTRY's template with its partial id list, written as distribute writes it, then three 再掲
    typed in: an id on its list, a valid id of another ministry's section (not on it), an invented id.
    Returns the file and which sheet row holds which."""
    plan = _partial_plan(d)
    meta = read_meta(d.workbook(MINISTRY))
    write_template(path, plan, d.workspace.config, generated_at=GENERATED_AT, source_master=meta["source_master"])
    listed = set(plan.known_ids)
    foreign = next(i for i in d.master.bullet_index() if i not in listed)
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET_ENTRY]
    owned = [
        r
        for r in range(FIRST_DATA_ROW, ws.max_row + 1)
        if _cell(ws, "item_id", r).value and _cell(ws, "action", r).protection.locked is False
    ]
    rows = dict(zip(("listed", "foreign", "invented"), owned))
    cited = {"listed": plan.owned_ids[-1], "foreign": foreign, "invented": INVENTED_ID}
    for name, r in rows.items():
        _put(ws, r, relisted="再掲", relisted_of=cited[name], action="修正")
    wb.save(path)
    return path, rows


@pytest.fixture(scope="module")
def recalculated(live):
    out = live.root / "calc"
    profile = (live.root / "lo-profile").resolve().as_uri()
    command = [_soffice(), f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to", "xlsx"]
    files = [str(live.planted), str(live.untouched), str(live.secretariat), str(live.partial)]
    done = subprocess.run([*command, "--outdir", str(out), *files], capture_output=True, text=True, timeout=240)
    paths = {p.stem: p for p in out.glob("*.xlsx")}
    assert set(paths) == {"planted", "untouched", "secretariat", "partial"}, done.stdout + done.stderr
    return {name: openpyxl.load_workbook(p, data_only=True)[SHEET_ENTRY] for name, p in paths.items()}, paths


def _notes(ws) -> dict[int, list[str]]:
    """Sheet row → the problems its チェック cell names (as computed), for every row that names one."""
    found = {}
    for r in range(FIRST_DATA_ROW, ws.max_row + 1):
        value = ws[f"{CHECK}{r}"].value or ""
        notes = [n.strip() for n in value.split(LIVE_MARK) if n.strip()]
        if notes:
            found[r] = notes
    return found


@pytest.mark.libreoffice
def test_libreoffice_flags_every_planted_line_in_the_check_column_and_counts_them(live, recalculated):
    sheets, _ = recalculated
    expected = live.expected
    notes = _notes(sheets["planted"])
    flagged = {r: {NOTE_OF[n] for n in ns} for r, ns in notes.items()}
    assert flagged == {r: codes for r, codes in expected.items() if codes}  # the two correct lines say nothing
    assert set().union(*expected.values()) >= LIVE_CODES  # every live rule of the catalogue was planted
    assert sheets["planted"][COUNT_CELL].value == f"未解決の指摘 {sum(len(ns) for ns in notes.values())}件"
    assert sheets["planted"][f"{CHECK}{HEADER_ROW}"].value == LIVE_LABEL


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", ["untouched", "secretariat"])
def test_an_untouched_template_flags_nothing(recalculated, name):
    sheets, _ = recalculated
    assert sheets[name].max_row > 100 and _notes(sheets[name]) == {}
    assert sheets[name][COUNT_CELL].value == "未解決の指摘 0件"
    # Calc kept every rule it was given (it read them all): the colours and the refusing validation
    written = distributed().workbook(SECRETARIAT if name == "secretariat" else MINISTRY)[SHEET_ENTRY]
    assert len(sheets[name].conditional_formatting) == len(written.conditional_formatting)
    assert [dv.type for dv in sheets[name].data_validations.dataValidation if dv.type == "custom"] == ["custom"]


@cache
def _reference():
    return load_reference(distributed().workspace, 2026)


def _judged(*paths: Path) -> list[list[tuple]]:
    ref = _reference()
    raws = [(read_workbook(p, "提出.xlsx"), "0" * 64) for p in paths]
    return [[(i.rule, i.severity, i.location, i.message) for i in sub.issues] for sub in validate_batch(raws, ref)]


def _row(cell: str) -> int:
    return int(re.sub(r"^[A-Z]+", "", cell))


@pytest.mark.libreoffice
def test_the_validator_reports_the_live_rules_on_exactly_the_lines_the_template_flagged(live, recalculated):
    sheets, _ = recalculated
    [issues] = _judged(live.planted)
    by_row: dict[int, set[str]] = {}
    for rule, _, where, _ in issues:
        if rule in LIVE_CODES and where.cell:
            by_row.setdefault(_row(where.cell), set()).add(rule)
    flagged = {r: {NOTE_OF[n] for n in ns} for r, ns in _notes(sheets["planted"]).items()}
    assert by_row == flagged


def _without_live_checks(source: Path, target: Path) -> None:
    """The live checks bypassed: every formula of チェック and the count deleted, no colours, no
    validations (what another program, or pasting values, leaves)."""
    wb = openpyxl.load_workbook(source)
    ws = wb[SHEET_ENTRY]
    for r in range(1, ws.max_row + 1):
        ws[f"{CHECK}{r}"].value = None if r != HEADER_ROW else ws[f"{CHECK}{r}"].value
    ws[COUNT_CELL].value = None
    ws.conditional_formatting = openpyxl.formatting.formatting.ConditionalFormattingList()
    ws.data_validations.dataValidation = []
    wb.save(target)


@pytest.mark.libreoffice
def test_a_workbook_whose_live_checks_were_bypassed_is_judged_exactly_the_same(live, recalculated, tmp_path):
    planted = live.planted
    bare = tmp_path / "bare.xlsx"
    _without_live_checks(planted, bare)
    _, converted = recalculated
    typed, r = tmp_path / "typed.xlsx", _typed_formula(live.untouched, tmp_path / "typed.xlsx")
    with_formulas, without, computed, clean, secretariat, formula = _judged(
        planted, bare, converted["planted"], live.untouched, live.secretariat, typed
    )  # one batch: the line checks run once
    assert with_formulas == without == computed  # formulas, none, or their values saved by Calc: one verdict
    assert not any(rule == "F-FORMULA" for rule, *_ in with_formulas)  # the template's own formulas are not the ministry's
    assert {rule for rule, *_ in with_formulas} >= LIVE_CODES
    assert clean == secretariat == []
    # a formula the ministry types is still reported, at its cell, and only there (saved by openpyxl,
    # it has no computed value: F-FORMULA-NOT-CALCULATED; Excel would save one: F-FORMULA)
    typed = [where.cell for rule, _, where, _ in formula if rule in ("F-FORMULA", "F-FORMULA-NOT-CALCULATED")]
    assert typed == [f"{LETTER['text']}{r}"]


def _typed_formula(source: Path, target: Path) -> int:
    wb = openpyxl.load_workbook(source)
    ws = wb[SHEET_ENTRY]
    r = next(r for r in range(FIRST_DATA_ROW, ws.max_row + 1) if _cell(ws, "action", r).protection.locked is False)
    _cell(ws, "text", r).value = '="令和７年度"&"に実施した。"'
    wb.save(target)
    return r


# -- the formulas themselves, without LibreOffice ---------------------------------------------
# Functions of Excel 2016 that compute the same in LibreOffice Calc; nothing newer (no TEXTJOIN,
# no dynamic arrays, no LET or LAMBDA).
EXCEL_2016 = {"IF", "AND", "OR", "NOT", "EXACT", "TRIM", "LEN", "LEFT", "RIGHT", "FIND", "ISNUMBER", "ISNA"}
EXCEL_2016 |= {"MATCH", "SUMPRODUCT", "SUBSTITUTE", "CHAR", "FALSE"}


def _formulas(ws) -> list[str]:
    out = [ws[f"{CHECK}{FIRST_DATA_ROW}"].value, ws[COUNT_CELL].value]
    out += [rule.formula[0] for cf in ws.conditional_formatting for rule in cf.rules]
    out += [dv.formula1 for dv in ws.data_validations.dataValidation if dv.type == "custom"]
    return out


def test_every_formula_uses_excel_2016_functions_only_and_validations_fit_excel():
    ws = distributed().workbook(MINISTRY)[SHEET_ENTRY]
    formulas = _formulas(ws)
    used = {name for f in formulas for name in re.findall(r"([A-Z][A-Z0-9.]*)\(", re.sub(r'"[^"]*"', '""', f))}
    assert used and used <= EXCEL_2016, used - EXCEL_2016
    for dv in ws.data_validations.dataValidation:
        assert len(dv.formula1 or "") <= 255  # Excel's limit for a validation formula: longer asks to repair


def test_the_template_colours_each_live_rule_in_its_column_and_locks_the_check_column():
    with zipfile.ZipFile(distributed().path(MINISTRY)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    ws = distributed().workbook(MINISTRY)[SHEET_ENTRY]
    # the チェック formula is stored once for the column (a copy per line made the template twice its size)
    assert (
        sheet.count('t="shared"') == ws.max_row - FIRST_DATA_ROW + 1
        and len(re.findall(r"<f[ >]", sheet)) == ws.max_row - FIRST_DATA_ROW + 2
    )
    last = ws.max_row
    coloured = {str(cf.sqref): len(cf.rules) for cf in ws.conditional_formatting}
    for column in {check.column for _, check in checks()}:
        assert coloured[f"{LETTER[column]}{FIRST_DATA_ROW}:{LETTER[column]}{last}"] == sum(
            1 for _, check in checks() if check.column == column
        )
    assert coloured[COUNT_CELL] == 1
    for r in range(FIRST_DATA_ROW, last + 1):
        assert ws[f"{CHECK}{r}"].protection.locked and ws[f"{CHECK}{r}"].data_type == "f"
    assert ws.protection.sheet


def test_values_outside_a_list_are_refused_with_a_japanese_message():
    ws = distributed().workbook(MINISTRY)[SHEET_ENTRY]
    refusing = {
        re.match(r"[A-Z]+", str(dv.sqref)).group(0): dv for dv in ws.data_validations.dataValidation if dv.showErrorMessage
    }
    assert {LETTER[k] for k in ("field", "action", "relisted", "relisted_of")} <= set(refusing)
    for dv in refusing.values():
        assert re.search(r"[ぁ-んァ-ヶ一-龥]", dv.error)
    assert refusing[LETTER["relisted_of"]].type == "custom"


def test_every_live_check_belongs_to_a_rule_the_validator_reports_at_that_column():
    for rule, check in checks():
        assert rule.code in RULES and check.column in COLUMN_BY_KEY and check.note and LIVE_MARK not in check.note


# -- a template that lists only part of the item ids (an annex above WHOLE_ID_LIST_LIMIT) --------
PARTIAL_NOTE = next(c.partial.note for r in live_rules() for c in r.live if c.partial and c.partial.name == "ids")


def test_id_chunks_fill_each_cell_up_to_the_limit_and_keep_every_id_in_order(monkeypatch):
    ids = [f"{n % 9 + 1}-（{n % 7 + 1}）-{n:03d}-p{n % 13:02d}" + "x" * (n % 11) for n in range(5_000)]
    chunks = id_chunks(ids)
    assert len(chunks) > 2  # the list crosses chunk boundaries
    assert all(c.startswith(ID_SEPARATOR) and c.endswith(ID_SEPARATOR) and len(c) <= live_module.ID_CHUNK for c in chunks)
    assert [i for c in chunks for i in c.split(ID_SEPARATOR)[1:-1]] == ids
    for chunk, after in zip(chunks, chunks[1:]):  # as few cells as hold them: the next id did not fit
        assert len(chunk) + len(after.split(ID_SEPARATOR)[1]) + 1 > live_module.ID_CHUNK
    assert id_chunks([]) == [ID_SEPARATOR]
    monkeypatch.setattr(live_module, "ID_CHUNK", 12)  # the exact cells, small enough to read
    assert id_chunks(["a1", "b22", "c333", "d4444", "e" * 20, "f6"]) == ["|a1|b22|", "|c333|d4444|", "|" + "e" * 20 + "|", "|f6|"]


def test_above_the_limit_a_template_lists_only_its_ministrys_ids_on_the_list_sheet(live):
    d = distributed()
    plan, whole = _partial_plan(d), d.plans[MINISTRY]
    assert whole.partial_lists == frozenset() and len(whole.known_ids) > PARTIAL_LIMIT
    assert plan.partial_lists == {"ids"}
    assert set(plan.item_ids) <= set(plan.known_ids) < set(whole.known_ids)
    assert len(plan.known_ids) < len(whole.known_ids) / 2
    # every row of the sections the template shows, and every chapter's preamble items
    sections = {id(s) for _, s, row in d.master.rows() if row.id in {line.values["row_id"] for line in plan.lines}}
    beside = {b.id for _, s, row in d.master.rows() if id(s) in sections for c in ("status", "policy") for b in row.bullets(c)}
    assert beside - {None} <= set(plan.known_ids)
    assert {i for i in whole.known_ids if "-goals-" in i or "-vision-" in i} <= set(plan.known_ids)
    # the リスト sheet read back holds exactly them
    wb = openpyxl.load_workbook(live.partial)
    lists = wb[SHEET_LISTS]
    column = LIST_COLUMNS["ids"]
    cells = [lists[f"{column}{r}"].value for r in range(2, lists.max_row + 1) if lists[f"{column}{r}"].value]
    assert [i for c in cells for i in c.split(ID_SEPARATOR)[1:-1]] == plan.known_ids
    # nothing refuses a 再掲元項目ID; the colour is a warning's; 記入要領 says why
    ws = wb[SHEET_ENTRY]
    assert not [dv for dv in ws.data_validations.dataValidation if dv.type == "custom"]
    relisted_column = f"{LETTER['relisted_of']}{FIRST_DATA_ROW}:{LETTER['relisted_of']}{ws.max_row}"
    [rule] = [r for cf in ws.conditional_formatting if str(cf.sqref) == relisted_column for r in cf.rules]
    assert rule.dxf.fill.fgColor.rgb.endswith(template_module.FILL_LIVE_WARNING.fgColor.rgb[-6:])
    guide = " ".join(str(c.value) for row in wb[SHEET_GUIDE].iter_rows() for c in row if c.value)
    assert "一覧にない項目IDは記入中は警告にとどめ、提出後に事務局側で確認します" in guide
    untouched_guide = " ".join(str(c.value) for row in d.workbook(MINISTRY)[SHEET_GUIDE].iter_rows() for c in row if c.value)
    assert "一覧にない項目ID" not in untouched_guide


# -- a template that lists only part of the tags (an abbreviation table above WHOLE_TAG_LIST_LIMIT) ---
PARTIAL_TAG_LIMIT = 10  # the bundled table has ~45 tags: with this limit each template lists only those its rows name


def test_above_the_tag_limit_a_template_lists_the_tags_its_rows_name_and_the_validator_still_judges(tmp_path):
    d = distributed()
    config = d.workspace.config
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(template_module, "WHOLE_TAG_LIST_LIMIT", PARTIAL_TAG_LIMIT)
        plan = next(p for p in plan_templates(d.master, config, 2026) if p.ministry == MINISTRY)
    whole, tags = d.plans[MINISTRY], config.tags
    assert "tag_list" in plan.partial_lists and "tag_list" not in whole.partial_lists
    assert plan.all_tags == len(whole.valid_tags) > PARTIAL_TAG_LIMIT
    # its own, the secretariat's, every body named in the rows it shows, the pseudo-tags; in the table's order
    shown = {line.values["row_id"] for line in plan.lines}
    named = {
        abbr
        for _, _, row in d.master.rows()
        if row.id in shown
        for column in ("status", "policy")
        for b in row.bullets(column)
        for abbr in tags.ministries_of(b.tags)
    }
    assert set(plan.valid_tags) == named | {MINISTRY, SECRETARIAT} | set(tags.pseudo_tags)
    assert plan.valid_tags == [t for t in whole.valid_tags if t in plan.valid_tags] and len(plan.valid_tags) < plan.all_tags
    assert set(plan.accepted_tags) - set(plan.valid_tags) == set(whole.accepted_tags) - set(whole.valid_tags)  # aliases, groups
    foreign = next(t for t in tags.ministries if t not in plan.valid_tags and t in config.ministry_by_abbr)

    path = tmp_path / "partial-tags.xlsx"
    write_template(path, plan, config, generated_at=GENERATED_AT, source_master=read_meta(d.workbook(MINISTRY))["source_master"])
    wb = openpyxl.load_workbook(path)
    lists = wb[SHEET_LISTS]
    for key, expected in (("tags", plan.valid_tags), ("tag_list", plan.accepted_tags)):
        column = LIST_COLUMNS[key]
        cells = [lists[f"{column}{r}"].value for r in range(2, lists.max_row + 1)]
        assert [c for c in cells if c] == expected and cells[: len(expected)] == expected, key
    guide = [str(c.value) for row in wb[SHEET_GUIDE].iter_rows() for c in row if c.value]
    table = guide.index("略称") + 2  # the 略称表's rows follow its header row (略称, 府省名)
    assert guide[table::2][: len(plan.valid_tags)] == plan.valid_tags and foreign not in guide
    text = " ".join(guide)
    assert f"全 {plan.all_tags} 件のうち {len(plan.valid_tags)} 件" in text and "ほかの府省等の略称も使えます" in text
    assert "略称表にない略称は記入中は警告にとどめ、提出後に事務局側で確認します" in text
    ws = wb[SHEET_ENTRY]
    tag_range = template_module.list_range("tag_list", len(plan.accepted_tags))
    [rule] = [r for cf in ws.conditional_formatting for r in cf.rules if any(tag_range in f for f in r.formula)]
    assert rule.dxf.fill.fgColor.rgb.endswith(template_module.FILL_LIVE_WARNING.fgColor.rgb[-6:])

    # a body its rows do not name, and an invented tag, typed by the ministry: only the invented one is refused
    owned = [
        r
        for r in range(FIRST_DATA_ROW, ws.max_row + 1)
        if _cell(ws, "item_id", r).value and _cell(ws, "action", r).protection.locked is False
    ]
    _put(ws, owned[0], tags=f"{MINISTRY}、{foreign}", action="修正")
    _put(ws, owned[1], tags=f"{MINISTRY}、存在しない庁", action="修正")
    wb.save(path)
    [issues] = _judged(path)
    unknown = {_row(where.cell): severity for rule, severity, where, _ in issues if rule == "L-TAG-UNKNOWN"}
    assert unknown == {owned[1]: "error"}


@pytest.mark.libreoffice
def test_a_valid_id_missing_from_a_partial_list_is_a_warning_and_the_validator_accepts_it(live, recalculated):
    sheets, _ = recalculated
    notes = _notes(sheets["partial"])
    rows = live.relisted
    assert notes == {rows["foreign"]: [PARTIAL_NOTE], rows["invented"]: [PARTIAL_NOTE]}  # the listed id says nothing
    assert sheets["partial"][COUNT_CELL].value == "未解決の指摘 2件"
    [issues] = _judged(live.partial)
    relisted = {_row(where.cell): severity for rule, severity, where, _ in issues if rule == "L-RELISTED-UNKNOWN"}
    assert relisted == {rows["invented"]: "error"}  # the foreign id is valid: the validator knows every id
