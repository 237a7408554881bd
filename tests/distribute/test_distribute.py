"""annex distribute over the whole corpus: who gets which lines, and what happens on bad input."""

from __future__ import annotations

import json
import os

import pytest
from corpus_distribution import distributed

from annex.distribute.template import plan_templates, read_lines
from annex.io.files import TEMP_SUFFIX
from annex.model.config import bundled_path
from annex.model.contract import SHEET_ENTRY, preamble_items, quoted_items
from annex.model.errors import AnnexError
from annex.model.ownership import bullet_owners, ministries_in_annex
from annex.workspace.distribute import distribute_year
from annex.workspace.layout import Workspace
from annex.workspace.master import import_into_workspace
from flows.cli import main


def test_one_template_per_ministry_in_the_annex_plus_the_secretariat():
    d = distributed()
    config = d.workspace.config
    present = ministries_in_annex(d.master, config.tags, config.secretariat.abbr)
    assert {t.ministry for t in d.result.templates} == set(present) | {config.secretariat.abbr}
    assert len(d.result.templates) == 22
    for t in d.result.templates:
        # the file says the ministry and the year in Japanese: 文部科学省_2026別添記入シート.xlsx
        first_name = config.ministry_by_abbr[t.ministry].names[0]
        assert t.path == d.workspace.root / "output" / "2026" / "templates" / f"{first_name}_2026別添記入シート.xlsx"
        assert t.path.exists()
    names = {t.ministry: t.path.name for t in d.result.templates}
    assert names["文"] == "文部科学省_2026別添記入シート.xlsx"
    assert len(set(names.values())) == len(names)  # 人事院 and 国家公安委員会 (npa-*) can no longer be swapped
    assert not list(d.result.folder.glob(f"*{TEMP_SUFFIX}"))


def test_union_of_item_ids_equals_the_masters_bullets():
    d = distributed()
    ids: set[str] = set()
    for t in d.result.templates:
        ids |= {line["item_id"] for line in read_lines(d.workbook(t.ministry)[SHEET_ENTRY]) if line["item_id"]}
    bullets = {b.id for _, _, b in d.master.bullets()}
    assert len(bullets) == 461
    assert ids == bullets | set(preamble_items(d.master)) | set(quoted_items(d.master))


def test_every_bullet_is_in_the_workbook_of_each_of_its_owners_as_editable():
    d = distributed()
    config = d.workspace.config
    editable: dict[str, set[str]] = {}
    for t in d.result.templates:
        plan = d.plans[t.ministry]
        editable[t.ministry] = set(plan.owned_ids)
        # the workbook on disk holds what the plan says
        assert [line["item_id"] for line in read_lines(d.workbook(t.ministry)[SHEET_ENTRY])] == [
            line.values["item_id"] for line in plan.lines
        ]
    checked = 0
    for row, column, bullet in d.master.bullets():
        for owner in bullet_owners(row, column, bullet, config.tags, config.secretariat.abbr):
            assert bullet.id in editable[owner], (bullet.id, owner)
            checked += 1
    assert checked > 461


def test_a_workbook_holds_exactly_the_rows_its_ministry_owns_or_appears_in():
    d = distributed()
    config = d.workspace.config
    rows_of = ministries_in_annex(d.master, config.tags, config.secretariat.abbr)
    for ministry, plan in d.plans.items():
        table_lines = [line for line in plan.lines if line.kind not in ("preamble", "quoted")]
        rows = list(dict.fromkeys(line.values["row_id"] for line in table_lines))
        assert rows == rows_of.get(ministry, []), ministry
        for row_id in rows:  # every bullet of such a row is shown (context lines for the others)
            row = d.master.row_index()[row_id]
            shown = {line.values["item_id"] for line in table_lines if line.values["row_id"] == row_id and line.prefilled}
            assert shown == {b.id for b in row.status + row.policy}


def test_ministry_without_contact_gets_its_workbook_with_a_warning():
    d = distributed()
    t = next(t for t in d.result.templates if t.ministry == "内閣人事局")
    assert t.path.exists() and t.lines > 0
    assert len(t.warnings) == 1 and "連絡先" in t.warnings[0] and "内閣人事局" in t.warnings[0]
    assert d.result.warnings == list(t.warnings)


@pytest.fixture
def imported(tmp_path):
    ws = Workspace.at(tmp_path)
    import_into_workspace(ws, bundled_path("annex_2025.json"), 2025)
    return ws


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def test_cli_prints_file_lines_and_warnings_per_ministry(imported, capsys):
    """Warnings, not errors: a ministry without a contact, a tag outside the abbreviation table."""
    path = imported.master_json(2025)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["chapters"][0]["sections"][0]["rows"][0]["policy"][0]["tags"].append("文化省")
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    code, out, err = run_cli(capsys, "distribute", "--year", "2026", "--workspace", str(imported.root))
    assert code == 0, err
    assert "「文化省」は略称表にありません" in out
    assert "文（文部科学省・スポーツ庁・文化庁）" in out and "文部科学省_2026別添記入シート.xlsx" in out
    assert "警告: 内閣人事局" in out
    assert "計 22 府省" in out
    assert len(list((imported.root / "output" / "2026" / "templates").glob("*.xlsx"))) == 22


def test_missing_master_is_one_japanese_line_and_nothing_is_written(tmp_path, capsys):
    """2027 needs master(2026), which only a 2026 run makes (the baseline is 2025's annex)."""
    code, out, err = run_cli(capsys, "distribute", "--year", "2027", "--workspace", str(tmp_path))
    assert code != 0
    assert err.count("\n") == 1 and err.startswith("エラー: 2027年度の処理には前年度の別添が要ります: 2026年度のマスター")
    assert "annex run --year 2026" in err and "annex import" in err
    assert not (tmp_path / "output").exists()


def _with_tag(extra: list[str]):
    """The bundled master with the first policy bullet given one more tag; (master, bullet id)."""
    d = distributed()
    master = d.master.model_copy(deep=True)
    bullet = master.chapters[0].sections[0].rows[0].policy[0]
    bullet.tags = bullet.tags + extra
    return d, master, bullet.id


def _plans(d, master):
    return {p.ministry: p for p in plan_templates(master, d.workspace.config, 2026)}


def test_an_unknown_tag_blocks_nobody_its_bullet_goes_to_the_secretariat_and_is_reported():
    """One bullet with a tag outside the table must not stop forty ministries' templates."""
    d, master, item = _with_tag(["文化省"])
    plans = _plans(d, master)
    assert set(plans) == set(d.plans)  # every ministry still gets its template
    [warning] = [w for w in plans["科技"].unmapped_tags if "文化省" in w]
    assert item in warning and "「文化省」" in warning and "\n" not in warning
    assert not any(p.unmapped_tags for m, p in plans.items() if m != "科技")
    row, column, bullet = master.bullet_index()[item]
    assert "科技" in bullet_owners(row, column, bullet, d.workspace.config.tags, "科技")
    assert item in plans["科技"].owned_ids  # the secretariat can correct the tag
    assert item in plans["文"].owned_ids  # and its own ministries still own it


def test_a_group_label_used_as_a_tag_names_the_offices_under_it():
    """内閣官房 is a parent label of the abbreviation table; the bundled config maps it to its offices."""
    d, master, item = _with_tag(["内閣官房"])
    plans = _plans(d, master)
    assert not plans["科技"].unmapped_tags
    config = d.workspace.config
    assert "ＮＩＳＣ" in config.tag_groups["内閣官房"] and "科技" not in config.tag_groups["内閣官房"]
    assert item in plans["ＮＩＳＣ"].owned_ids


def test_unwritable_output_folder_is_refused_before_anything_is_written(imported):
    (imported.root / "output" / "2026").write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(AnnexError) as error:
        distribute_year(imported, 2026)
    assert "出力フォルダ" in str(error.value) and "\n" not in str(error.value)


def test_a_failure_half_way_publishes_nothing_and_keeps_the_previous_templates(imported, monkeypatch):
    first = distribute_year(imported, 2026)
    before = {p: p.read_bytes() for p in first.paths}
    import annex.workspace.distribute as module

    calls = {"n": 0}
    real = module.write_template

    def failing(path, plan, config, **kw):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        real(path, plan, config, **kw)

    monkeypatch.setattr(module, "write_template", failing)
    from annex.io.files import WriteError

    with pytest.raises(WriteError, match="ディスクの空き容量がありません"):  # one message for the CLI, not an OSError
        distribute_year(imported, 2026)
    folder = first.folder
    assert sorted(os.listdir(folder)) == sorted(p.name for p in first.paths)  # no temp file left behind
    assert {p: p.read_bytes() for p in first.paths} == before


def test_template_file_names_tell_ministries_apart_that_slugs_do_not():
    from annex.workspace.distribute import template_filename

    config = distributed().workspace.config
    names = {m.slug: template_filename(m, 2026) for m in config.ministries}
    assert names["npa-personnel"] == "人事院_2026別添記入シート.xlsx"
    assert names["npa-police"] == "国家公安委員会_2026別添記入シート.xlsx"
    assert len(set(names.values())) == len(names)
    assert not any(c in n for n in names.values() for c in '\\/:*?"<>|')
