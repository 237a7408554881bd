"""The template as a ministry receives it, read back with openpyxl (and once with LibreOffice)."""

from __future__ import annotations

import shutil
import subprocess

import openpyxl
import pytest
from corpus_distribution import GENERATED_AT, distributed

from annex.distribute.template import (
    LETTER,
    PROTECTION_PASSWORD,
    SPARE_LINES_PER_ROW,
    plan_templates,
    preamble_items,
    read_lines,
    read_meta,
    workbook_checksum,
    write_template,
)
from annex.model.annex import Bullet
from annex.model.contract import (
    ACTIONS,
    COLUMN_BY_KEY,
    COLUMNS,
    FIELD_POLICY,
    FIELD_STATUS,
    FIRST_DATA_ROW,
    HEADER_ROW,
    LABELS,
    LIVE_KEY,
    LIVE_LABEL,
    META_KEYS,
    PREAMBLE_FIELDS,
    RELISTED_VALUE,
    SHEET_ENTRY,
    SHEET_GUIDE,
    SHEET_KEYS,
    SHEET_LISTS,
    SHEET_META,
    TEMPLATE_VERSION,
    TITLE_ROW,
    heading_text,
    parse_heading,
)
from annex.model.issues import SYSTEM_RULES
from annex.model.labels import format_instant
from annex.model.rules import RULES

ALL = sorted(distributed().plans)
SMALL = "宇宙"  # a one-row template, for the checks that need only one


def validation_cells(ws) -> dict[str, tuple[str, set[str]]]:
    """Column letter → (formula1, cells) of every list validation on the sheet."""
    found = {}
    for dv in ws.data_validations.dataValidation:
        if dv.type == "list":
            cells = set()
            for rng in dv.sqref.ranges:
                for r in range(rng.min_row, rng.max_row + 1):
                    for c in range(rng.min_col, rng.max_col + 1):
                        cells.add(f"{openpyxl.utils.get_column_letter(c)}{r}")
            letter = next(iter(cells)).rstrip("0123456789")
            found[letter] = (dv.formula1, cells, dv)
    return found


@pytest.mark.parametrize("ministry", ALL)
def test_labels_protection_and_metadata_of_every_template(ministry):
    d = distributed()
    wb = d.workbook(ministry)
    ws = wb[SHEET_ENTRY]
    # the contract's labels in order, and the live checks' チェック after 対応 (not a column the validator reads)
    assert [c.value for c in ws[HEADER_ROW]][: len(SHEET_KEYS)] == [
        LIVE_LABEL if key == LIVE_KEY else COLUMN_BY_KEY[key].label for key in SHEET_KEYS
    ]
    assert [label for label in (c.value for c in ws[HEADER_ROW]) if label != LIVE_LABEL][: len(LABELS)] == list(LABELS)
    assert wb.sheetnames[0] == SHEET_ENTRY and wb.active.title == SHEET_ENTRY
    assert {name: wb[name].sheet_state for name in wb.sheetnames} == {
        SHEET_ENTRY: "visible",
        SHEET_GUIDE: "visible",
        SHEET_LISTS: "hidden",
        SHEET_META: "veryHidden",
    }
    for name in wb.sheetnames:
        assert wb[name].protection.sheet, name
    assert wb.security.lockStructure and wb.security.workbookPassword
    meta = read_meta(wb)
    assert tuple(meta) == META_KEYS
    plan = d.plans[ministry]
    assert (meta["ministry"], meta["ministry_slug"], meta["year"], meta["template_version"]) == (
        ministry,
        plan.slug,
        2026,
        TEMPLATE_VERSION,
    )
    assert meta["generated_at"] == GENERATED_AT.isoformat()
    assert meta["source_master"].startswith("master 2025 sha256:")
    assert meta["checksum"] == workbook_checksum(wb) == plan.checksum
    assert len(read_lines(ws)) == len(plan.lines)


def test_title_row_names_year_annex_ministry_and_deadline():
    d = distributed()
    title = d.workbook("文")[SHEET_ENTRY][f"A{TITLE_ROW}"].value
    deadline = d.workspace.config.settings.deadline
    for part in ("2026年度", "統合イノベーション戦略2026 別添", "文", "文部科学省", format_instant(deadline)):
        assert part in title


@pytest.mark.parametrize("ministry", ["文", "科技", SMALL])
def test_locked_cells_follow_the_column_specs_and_line_kinds(ministry):
    d = distributed()
    ws = d.workbook(ministry)[SHEET_ENTRY]
    kinds = set()
    for i, line in enumerate(d.plans[ministry].lines):
        r = FIRST_DATA_ROW + i
        kinds.add(line.kind)
        for spec in COLUMNS:
            cell = ws[f"{LETTER[spec.key]}{r}"]
            expected_locked = (
                line.kind == "context" or not spec.editable or (line.kind == "quoted" and spec.key not in ("text", "action"))
            )
            assert cell.protection.locked == expected_locked, (ministry, line.kind, spec.label, cell.coordinate)
        fill = ws[f"{LETTER['item_id']}{r}"].fill.fgColor.rgb
        assert fill.endswith({"context": "EDEDED"}.get(line.kind, "D9D9D9"))
    assert "spare" in kinds and ("owned" in kinds) == bool(d.plans[ministry].owned_ids)
    assert ("quoted" in kinds) == (ministry == "科技")  # the preamble's and the measures' marks: the secretariat's
    if ministry == SMALL:  # named only by its row's measure: every status bullet there reports on another's policy
        assert not d.plans[ministry].owned_ids
    for header in ws[HEADER_ROW][: len(COLUMNS)]:
        assert header.protection.locked


def test_prefilled_lines_carry_last_years_text_and_the_annex_tag_spelling():
    d = distributed()
    index = d.master.bullet_index()
    lines = read_lines(d.workbook("文")[SHEET_ENTRY])
    seen = 0
    for line in lines:
        if not line["item_id"]:
            assert not line["text"] and not line["action"] and line["row_id"]  # a spare line
            continue
        row, column, bullet = index[line["item_id"]]
        assert line["text"] == line["previous_text"] == bullet.text
        assert line["action"] == "変更なし"
        assert line["field"] == (FIELD_STATUS if column == "status" else FIELD_POLICY)
        assert line["tags"] == "、".join(d.workspace.config.tags.spelled(bullet.tags))
        assert line["row_id"] == row.id
        assert line["relisted"] == (RELISTED_VALUE if bullet.relisted else "")
        seen += 1
    assert seen == len(d.plans["文"].item_ids) > 300
    assert any(line["tags"] == "科技、文、経" for line in lines)
    # last year's aliases (NISC, 個情委) are pre-filled in the table's spelling
    nisc = read_lines(d.workbook("ＮＩＳＣ")[SHEET_ENTRY])
    published = {b.id: b.tags for _, _, b in d.master.bullets()}
    assert any(
        "NISC" in published[line["item_id"]] and "ＮＩＳＣ" in line["tags"].split("、") for line in nisc if line["item_id"]
    )
    assert not any("NISC" in line["tags"].split("、") or "個情委" in line["tags"].split("、") for line in nisc)


def test_spare_lines_under_every_row():
    plan = distributed().plans["経"]
    rows = list(dict.fromkeys(line.values["row_id"] for line in plan.lines))
    for row_id in rows:
        block = [line for line in plan.lines if line.values["row_id"] == row_id]
        assert [line.kind for line in block[-SPARE_LINES_PER_ROW:]] == ["spare"] * SPARE_LINES_PER_ROW
        assert all(line.kind != "spare" for line in block[:-SPARE_LINES_PER_ROW])


@pytest.mark.parametrize("ministry", ["経", "科技"])
def test_dropdowns_reference_ranges_on_the_hidden_list_sheet(ministry):
    d = distributed()
    wb = d.workbook(ministry)
    ws, lists = wb[SHEET_ENTRY], wb[SHEET_LISTS]
    found = validation_cells(ws)
    plan = d.plans[ministry]
    editable_rows = [FIRST_DATA_ROW + i for i, line in enumerate(plan.lines) if line.editable]
    context_rows = [FIRST_DATA_ROW + i for i, line in enumerate(plan.lines) if not line.editable]
    expected_values = {"field": list(plan.fields), "action": list(ACTIONS), "relisted": [RELISTED_VALUE], "tags": plan.valid_tags}
    for key, values in expected_values.items():
        formula, cells, dv = found[LETTER[key]]
        assert formula.startswith(f"'{SHEET_LISTS}'!$"), formula  # never an inline "a,b,c" list
        ref = formula.split("!")[1].replace("$", "")
        listed = [c.value for row in lists[ref] for c in row]
        assert listed == values
        assert {f"{LETTER[key]}{r}" for r in editable_rows} == cells
        assert not cells & {f"{LETTER[key]}{r}" for r in context_rows}
        assert dv.showErrorMessage == (key != "tags")  # 担当府省 holds several tags: the validator is strict
    assert "ＮＩＳＣ" in expected_values["tags"] and "関係府省" in expected_values["tags"]
    if ministry == "科技":
        assert set(PREAMBLE_FIELDS.values()) <= set(expected_values["field"])
    else:
        assert expected_values["field"] == [FIELD_STATUS, FIELD_POLICY]
    prompts = {str(dv.sqref): dv.prompt for dv in ws.data_validations.dataValidation if dv.type is None}
    assert prompts[f"{LETTER['text']}{HEADER_ROW}"] == next(c.help for c in COLUMNS if c.key == "text")


def test_layout_widths_freeze_and_a4_landscape_print_with_repeated_header():
    ws = distributed().workbook("文")[SHEET_ENTRY]
    assert ws.freeze_panes == f"A{FIRST_DATA_ROW}"
    assert ws.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.sheet_properties.pageSetUpPr.fitToPage and int(ws.page_setup.fitToWidth) == 1
    for spec in COLUMNS:
        assert ws.column_dimensions[LETTER[spec.key]].width == spec.width
    assert ws[f"{LETTER['text']}{FIRST_DATA_ROW}"].alignment.wrap_text


def test_checksum_detects_a_typed_over_locked_cell(tmp_path):
    source = distributed().path(SMALL)
    wb = openpyxl.load_workbook(source)
    meta = read_meta(wb)
    assert workbook_checksum(wb) == meta["checksum"]
    wb[SHEET_ENTRY][f"{LETTER['previous_text']}{FIRST_DATA_ROW}"].value = "書き換えた前年度の記載"
    assert workbook_checksum(wb) != meta["checksum"]
    wb = openpyxl.load_workbook(source)
    wb[SHEET_ENTRY][f"{LETTER['text']}{FIRST_DATA_ROW}"].value = "記載内容の修正（記入欄）"
    assert workbook_checksum(wb) == meta["checksum"]  # editable cells are not part of it


def test_guide_is_generated_from_the_rule_catalogue_with_deadline_and_address():
    d = distributed()
    ws = d.workbook("文")[SHEET_GUIDE]
    texts = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    joined = "\n".join(texts)
    for code, rule in RULES.items():
        if code in SYSTEM_RULES:  # about annex's machine, nothing an officer can do: not in the guide
            assert code not in texts
            continue
        assert code in texts and rule.title in texts
    assert "{" not in joined  # every template field filled
    config = d.workspace.config
    assert format_instant(config.settings.deadline) in joined
    assert config.secretariat.email in joined and config.secretariat.name in joined
    for spec in COLUMNS:
        assert spec.label in texts and spec.help in texts
    assert "参考表示" in joined  # the decision on other ministries' bullets is stated


def test_secretariat_template_holds_the_preamble_with_deterministic_ids():
    d = distributed()
    lines = read_lines(d.workbook("科技")[SHEET_ENTRY])
    preamble = [line for line in lines if line["field"] in PREAMBLE_FIELDS.values()]
    items = preamble_items(d.master)
    assert [line["item_id"] for line in preamble] == list(items)
    chapter3 = d.master.chapters[0].preamble
    counts = {label: sum(1 for line in preamble if line["field"] == label) for label in PREAMBLE_FIELDS.values()}
    assert counts == {
        "目標": len(chapter3.goals),
        "主要指標": len(chapter3.key_indicators),
        "参考指標": len(chapter3.reference_indicators),
    }
    assert preamble[0]["item_id"] == "3-goals-01" and preamble[0]["row_id"] == "3-preamble"
    first_key = next(line for line in preamble if line["field"] == "主要指標")
    assert first_key["item_id"] == "3-key-01" and first_key["footnotes"] == "［注165］" + d.master.footnotes["165"]
    # the reference stands in 記載内容 where the published text cites it: 「…水準［注165］を視野に…」
    indicator = chapter3.key_indicators[0]
    [(number, offset)] = indicator.footnote_marks()
    assert first_key["text"] == indicator.text[:offset] + "［注165］" + indicator.text[offset:] == first_key["previous_text"]
    assert "水準［注165］を視野に" in first_key["text"]
    guide = "\n".join(str(c.value) for row in d.workbook("科技")[SHEET_GUIDE].iter_rows() for c in row if c.value)
    assert d.master.footnotes["165"] in guide
    assert not any(line["field"] in PREAMBLE_FIELDS.values() for line in read_lines(d.workbook("文")[SHEET_ENTRY]))


def test_text_that_looks_like_a_formula_stays_text(tmp_path):
    d = distributed()
    annex = d.master.model_copy(deep=True)
    row = annex.row_index()[d.plans["宇宙"].lines[0].values["row_id"]]
    payloads = ['=HYPERLINK("http://127.0.0.1/x?"&A2,"click")', "=cmd|' /C calc'!A0", "+1+2", "@SUM(1,2)"]
    for bullet, payload in zip(row.policy, payloads):
        bullet.text = payload
    plan = next(p for p in plan_templates(annex, d.workspace.config, 2026) if p.ministry == "宇宙")
    path = tmp_path / "t.xlsx"
    write_template(path, plan, d.workspace.config, generated_at=GENERATED_AT, source_master="test")
    ws = openpyxl.load_workbook(path)[SHEET_ENTRY]
    found = [c for r in ws.iter_rows() for c in r if c.value in payloads]
    assert {c.value for c in found} == set(payloads)
    assert all(c.data_type == "s" for c in found)


def test_heading_round_trip():
    nested = Bullet(text="x", heading="≪研究開発力の強化≫", heading_path=["＜ＡＩのイノベーション＞", "≪研究開発力の強化≫"])
    assert parse_heading(heading_text(nested.heading, nested.heading_path)) == (
        "≪研究開発力の強化≫",
        ["＜ＡＩのイノベーション＞", "≪研究開発力の強化≫"],
    )
    assert parse_heading(heading_text("＜推進体制＞", None)) == ("＜推進体制＞", None)
    assert parse_heading("") == (None, None)
    written = heading_text(nested.heading, nested.heading_path)
    assert written == "＜ＡＩのイノベーション＞\n≪研究開発力の強化≫"  # one per line: no bracket next to a separator
    # workbooks sent before (and typed by hand): the old separator, Windows line breaks
    old = "＜ＡＩのイノベーション＞ ＞ ≪研究開発力の強化≫"
    assert parse_heading(old) == parse_heading(written) == parse_heading(written.replace("\n", "\r\n"))


def test_protection_password_is_the_documented_constant():
    from openpyxl.utils.protection import hash_password

    wb = distributed().workbook(SMALL)
    assert wb[SHEET_ENTRY].protection.password == hash_password(PROTECTION_PASSWORD)


@pytest.mark.libreoffice
def test_libreoffice_opens_a_template_and_converts_it_to_pdf(tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed")
    source = tmp_path / "template.xlsx"
    shutil.copyfile(distributed().path(SMALL), source)
    profile = (tmp_path / "lo-profile").resolve().as_uri()
    done = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    pdf = tmp_path / "template.pdf"
    assert pdf.exists(), done.stdout + done.stderr
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 5000


def test_status_bullets_of_other_ministries_are_locked_context_even_in_a_shared_row():
    """4-（１）-01 is shared by about twenty ministries: ＮＩＳＣ sees 警察庁's 「警察活動の高度化…」 grey and locked."""
    d = distributed()
    row = d.master.row_index()["4-（１）-01"]
    police = next(b for b in row.status if b.text.startswith("警察活動の高度化"))
    kinds = {ln.values["item_id"]: ln.kind for ln in d.plans["ＮＩＳＣ"].lines if ln.values.get("item_id")}
    assert kinds[police.id] == "context"
    assert d.plans["警"].lines and {ln.values["item_id"]: ln.kind for ln in d.plans["警"].lines}[police.id] == "owned"
    ws = d.workbook("ＮＩＳＣ")[SHEET_ENTRY]
    r = next(FIRST_DATA_ROW + i for i, ln in enumerate(d.plans["ＮＩＳＣ"].lines) if ln.values.get("item_id") == police.id)
    assert ws[f"{LETTER['text']}{r}"].protection.locked
    status_in_row = [
        ln for ln in d.plans["ＮＩＳＣ"].lines if ln.values.get("row_id") == row.id and ln.values["field"] == "実施状況・現状分析"
    ]
    assert sum(ln.kind == "owned" for ln in status_in_row) < len(status_in_row) / 4
