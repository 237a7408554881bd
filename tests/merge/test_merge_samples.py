"""Merging the committed sample submissions (submissions/2026) into master(2026).

The counts must equal what tools/make_samples.py planted (tools/sample_plan.json), the edited
original must carry its re-listing along, and an edited re-listing alone must be reverted.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter as openpyxl_letter
from printed import A4_LANDSCAPE, print_workbook

from annex.io.xlsx import FONT_NAME, line_count, text_width
from annex.merge.merge import OUTCOME_LABELS, merge
from annex.merge.reconcile import KIND_LABELS
from annex.merge.reports import STATUS_MERGED, STATUS_MISSING, STATUS_RETURNED
from annex.model.labels import MEASURE_LABEL
from annex.workspace.master import previous_master
from annex.workspace.merge import merge_submissions

ROOT = Path(__file__).resolve().parents[2]
PLAN = json.loads((ROOT / "tools" / "sample_plan.json").read_text(encoding="utf-8"))
YEAR = PLAN["year"]


@pytest.fixture(scope="module")
def merged(merged_samples):
    return merged_samples  # conftest: merged once for the session (tests/render/test_redline.py reads it too)


@pytest.fixture(scope="module")
def accepted(merged):
    from annex.workspace.collect import accepted_submissions

    ws, _ = merged
    return {m: sub for m, (_, sub) in accepted_submissions(ws, YEAR).items()}


def test_counts_equal_what_the_sample_generator_planted(merged):
    _, summary = merged
    expected = PLAN["expected_merge"]
    counts = summary.counts
    assert {k: counts[k] for k in ("added", "modified", "deleted", "carried")} == {
        k: expected[k] for k in ("added", "modified", "deleted", "carried")
    }
    changes = summary.result.changes
    assert sorted(c.item_id for c in changes if c.kind == "modified") == sorted(expected["modified_ids"])
    assert sorted(c.item_id for c in changes if c.kind == "deleted") == sorted(expected["deleted_ids"])
    assert counts["conflicts"] == 0 and counts["not_merged"] == 0


def test_missing_and_returned_ministries_are_carried_over_as_not_updated(merged):
    _, summary = merged
    missing = {m["ministry"] for m in PLAN["not_submitted"]} | set(PLAN["faulty"])
    assert set(summary.result.carried_over) == missing
    assert set(PLAN["unchanged"]) <= set(summary.merged_files)  # 宇宙 returned its workbook unchanged: merged, not 未更新
    master = summary.result.annex
    not_updated = [b for _, _, b in master.bullets() if b.not_updated]
    assert len(not_updated) == summary.counts["not_updated"] > 0
    assert {c.item_id for c in summary.result.changes if c.kind == "not_updated"} == {b.id for b in not_updated}


def test_the_edited_original_changes_every_relisting(merged):
    _, summary = merged
    planted = PLAN["relisted_original_edited"]
    index = summary.result.annex.bullet_index()
    original = index[planted["item_id"]][2]
    for copy in planted["copies"]:
        relisting = index[copy][2]
        assert (relisting.text, relisting.tags, relisting.relisted_of) == (original.text, original.tags, planted["item_id"])
    synced = [d for d in summary.result.decisions if d.kind == "synced"]
    assert [d.item_id for d in synced] == planted["copies"]
    assert not [d for d in summary.result.decisions if d.kind == "drift_reverted"]


def test_editing_a_relisting_alone_is_reported_as_drift_and_reverted(merged, accepted):
    ws, _ = merged
    planted = PLAN["relisted_original_edited"]
    copy = planted["copies"][0]
    previous, source = previous_master(ws, YEAR)
    before = previous.bullet_index()[copy][2].text
    sub = accepted[planted["ministry"]]
    lines = []
    for ln in sub.lines:
        if ln.item_id == planted["item_id"]:  # leave the original as it was
            ln = dataclasses.replace(ln, action="変更なし", text=previous.bullet_index()[planted["item_id"]][2].text)
        elif ln.item_id == copy:  # edit only the re-listing
            ln = dataclasses.replace(ln, action="修正", text=before + "（再掲だけ修正）")
        lines.append(ln)
    subs = dict(accepted) | {planted["ministry"]: dataclasses.replace(sub, lines=lines)}
    result = merge_submissions(ws, YEAR, subs, write=False, previous=(previous, source)).result
    assert result.annex.bullet_index()[copy][2].text == before
    (drift,) = [d for d in result.decisions if d.kind == "drift_reverted"]
    assert drift.item_id == copy and drift.original_id == planted["item_id"] and "（再掲だけ修正）" in drift.before
    assert [o.outcome for o in result.outcomes if o.item_id == copy and o.ministry == planted["ministry"]] == ["drift_reverted"]


def test_merge_is_idempotent_and_independent_of_arrival_order(merged, accepted):
    ws, summary = merged
    previous, _ = previous_master(ws, YEAR)
    config = ws.config
    again = merge(previous, accepted, config, year=YEAR)
    reversed_order = merge(previous, dict(reversed(list(accepted.items()))), config, year=YEAR)
    assert again.annex.to_json() == summary.result.annex.to_json() == reversed_order.annex.to_json()
    assert reversed_order.changes == again.changes
    assert ws.master_json(YEAR).read_text(encoding="utf-8") == summary.result.annex.to_json()


def test_outputs_read_back(merged):
    ws, summary = merged
    folder = ws.output(YEAR)
    master = json.loads((folder / "master.json").read_text(encoding="utf-8"))
    assert master["year"] == YEAR and master["retired_ids"] == PLAN["expected_merge"]["deleted_ids"]
    edited = summary.result.annex.bullet_index()[PLAN["expected_merge"]["modified_ids"][0]][2]
    assert edited.provenance.sheet == "記入シート" and edited.provenance.cell and len(edited.provenance.sha256) == 64
    changes = load_workbook(folder / "changes.xlsx", read_only=True)
    assert changes.sheetnames == ["概要", "変更", "未更新", "反映しなかった行", "提出状況"]
    edits = list(changes["変更"].iter_rows(min_row=2, values_only=True))
    e = PLAN["expected_merge"]
    assert len(edits) == e["added"] + e["modified"] + e["deleted"]
    overview = list(changes["概要"].iter_rows(values_only=True))
    header, body, total = overview[0], overview[1:-1], overview[-1]
    assert total[0] == "合計"
    for column in range(3, len(header)):  # the 合計 row is the sum of the ministries' rows
        assert total[column] == sum(r[column] or 0 for r in body), header[column]
    assert [total[header.index(label)] for label in ("新規", "修正", "削除")] == [e["added"], e["modified"], e["deleted"]]
    recon = load_workbook(folder / "reconciliation.xlsx", read_only=True)
    kinds = [r[0] for r in recon["再掲"].iter_rows(min_row=2, values_only=True)]
    assert kinds.count(KIND_LABELS["synced"]) == 1 and len(kinds) >= 40
    header = next(recon["再掲"].iter_rows(max_row=1, values_only=True))
    for row in recon["再掲"].iter_rows(min_row=2, values_only=True):  # labels, never codes (exact_text, orphan)
        assert not set(row) & set(KIND_LABELS), row
    assert "種別コード" not in header


def test_changes_tell_accepted_returned_and_missing_ministries_apart(merged):
    ws, _ = merged
    changes = load_workbook(ws.output(YEAR) / "changes.xlsx")
    status = {r[0]: r for r in changes["提出状況"].iter_rows(min_row=2, values_only=True)}
    files = {f["ministry"]: f["file"] for f in PLAN["files"]}
    for ministry in PLAN["faulty"]:  # 総・国・環: submitted, returned — with the file that was returned
        assert status[ministry][2] == STATUS_RETURNED and status[ministry][3] == files[ministry], status[ministry]
    for missing in PLAN["not_submitted"]:  # 海洋: never submitted
        assert status[missing["ministry"]][2] == STATUS_MISSING
    accepted = [m for m in files if m not in PLAN["faulty"]]
    assert all(status[m][2] == STATUS_MERGED and Path(files[m]).name == status[m][3] for m in accepted)
    overview = {r[0]: r for r in changes["概要"].iter_rows(min_row=2, values_only=True)}
    assert overview["総"][1] == STATUS_RETURNED and overview["海洋"][1] == STATUS_MISSING
    not_applied = list(changes["反映しなかった行"].iter_rows(min_row=2, values_only=True))
    assert all(r[5] != OUTCOME_LABELS["applied"] for r in not_applied)  # only lines left out, with their reason
    assert all(r[6] for r in not_applied)


def test_report_columns_fit_their_labels_and_every_cell_wraps(merged):
    ws, _ = merged
    for name in ("changes.xlsx", "reconciliation.xlsx"):
        wb = load_workbook(ws.output(YEAR) / name)
        for sheet in wb.worksheets:
            for cell in sheet[1]:
                width = sheet.column_dimensions[cell.column_letter].width
                assert width >= min(text_width(cell.value) + 1, 30), (name, sheet.title, cell.value, width)
                assert cell.font.name == FONT_NAME
            for row in sheet.iter_rows(min_row=2, max_row=min(20, sheet.max_row)):
                assert all(c.alignment.wrap_text for c in row)
            assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.fitToWidth) == 1
            assert sheet.print_title_rows == "$1:$1"


@pytest.mark.libreoffice
def test_changes_print_one_page_wide_per_sheet(merged, tmp_path):
    ws, _ = merged
    wb = load_workbook(ws.output(YEAR) / "changes.xlsx")
    last = {sheet.title: sheet.cell(row=1, column=sheet.max_column).value for sheet in wb.worksheets}
    printed = print_workbook(ws.output(YEAR) / "changes.xlsx", tmp_path)
    assert printed.page_size == pytest.approx(A4_LANDSCAPE, abs=1)
    assert printed.pages <= 12  # was 16, with columns split over pages
    for page in printed.page_texts():
        if not page.strip():
            continue
        title = page.strip().splitlines()[0].strip()  # the page header names the sheet
        assert "府省" in page and last[title] in page, title  # the whole width of the sheet on every page


def test_master_xlsx_rows_are_as_tall_as_their_own_text_not_the_repeated_measure(merged):
    ws, _ = merged
    sheet = load_workbook(ws.output(YEAR) / "master.xlsx")["マスター"]
    headers = [c.value for c in sheet[1]]
    text_col, measure_col = headers.index("記載内容") + 1, headers.index(MEASURE_LABEL) + 1
    width = {c: sheet.column_dimensions[openpyxl_letter(c)].width for c in (text_col, measure_col)}
    exploded = 0
    for r in range(2, sheet.max_row + 1):
        text = line_count(sheet.cell(row=r, column=text_col).value or "", width[text_col])
        measure = line_count(sheet.cell(row=r, column=measure_col).value or "", width[measure_col])
        height = sheet.row_dimensions[r].height
        assert height >= 13.5 * text  # the bullet's own text is never cut
        exploded += measure > text + 4 and height >= 13.5 * measure
    assert exploded == 0  # the measure, the same on every line of its row, does not make each row tall


def test_the_review_copy_marks_what_is_not_updated_and_what_changed(merged):
    """The published annex.docx looks final; annex-review.docx shows the secretariat each 未更新
    bullet in yellow and this year's modified and new ones in their colours, and the render's
    warnings name the ministries whose bullets are 未更新."""
    import zipfile

    from lxml import etree

    from annex.workspace.render import render_year

    ws, summary = merged
    result = render_year(ws, YEAR, pdf=False)
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

    def highlighted(path: Path) -> dict[str, set[str]]:
        body = etree.fromstring(zipfile.ZipFile(path).read("word/document.xml"))
        out: dict[str, set[str]] = {}
        for p in body.iter(f"{w}p"):
            colours = {h.get(f"{w}val") for h in p.iter(f"{w}highlight")}
            for colour in colours:
                out.setdefault(colour, set()).add("".join(t.text or "" for t in p.iter(f"{w}t")))
        return out

    assert highlighted(result.docx_path) == {}
    marks = highlighted(result.review_path)
    annex = summary.result.annex
    index = annex.bullet_index()
    not_updated = [b for _, _, b in annex.bullets() if b.not_updated]
    assert len(not_updated) == summary.counts["not_updated"] > 0
    assert {b.rendered() for b in not_updated} <= marks["yellow"]
    for item_id in PLAN["expected_merge"]["modified_ids"]:
        assert index[item_id][2].rendered() in marks["cyan"], item_id
    added = [c.item_id for c in summary.result.changes if c.kind == "added"]
    assert {index[i][2].rendered() for i in added} <= marks["green"]
    assert result.review_counts["not_updated"] == len(not_updated)
    [legend] = [p for p in marks["yellow"] if p.startswith("【確認用】")]
    assert f"未更新（前年度の記載のまま） {len(not_updated)}件" in legend and "annex.docx" in legend
    missing = {m["ministry"] for m in PLAN["not_submitted"]} | set(PLAN["faulty"])
    owners = {c.ministry for c in summary.result.changes if c.kind == "not_updated"}
    assert owners <= set(result.not_updated) <= missing and sum(result.not_updated.values()) >= len(not_updated)
    [warning] = [x for x in result.warnings if x.startswith("未更新")]
    assert all(f"{m} {n}件" in warning for m, n in result.not_updated.items())
    context = json.loads(result.context_path.read_text(encoding="utf-8"))
    assert warning in context["warnings"]
