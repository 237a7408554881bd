"""A shared bullet edited differently by two owners: the first-listed tag's version wins, and BOTH
ministries are told — in their feedback workbook (統合時の調整) and, in the flow, by e-mail once."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest
from corpus_distribution import distributed

from annex.feedback.conflicts import CONFLICT_SHEET, compose_conflict_email
from annex.model.config import bundled_path
from annex.model.contract import SHEET_ENTRY
from annex.workspace.layout import Workspace
from annex.workspace.merge import merge_year


def _shared_policy_bullet() -> tuple[str, list[str]]:
    d = distributed()
    for _row, column, bullet in d.master.bullets():
        if column == "policy" and bullet.tags[:2] == ["科技", "文"]:
            return bullet.id, bullet.tags
    raise AssertionError("the corpus has a policy bullet tagged 【科技、文…】")


def _edit(source: Path, target: Path, item_id: str, text: str) -> None:
    wb = openpyxl.load_workbook(source)
    ws = wb[SHEET_ENTRY]
    header = {ws.cell(row=3, column=c).value: c for c in range(1, ws.max_column + 1)}
    row = next(r for r in range(4, ws.max_row + 1) if ws.cell(row=r, column=header["項目ID"]).value == item_id)
    ws.cell(row=row, column=header["記載内容"]).value = text
    ws.cell(row=row, column=header["対応"]).value = "修正"
    wb.save(target)


@pytest.fixture
def conflicted(tmp_path) -> tuple[Workspace, str]:
    d = distributed()
    item_id, _ = _shared_policy_bullet()
    ws = Workspace.at(tmp_path / "ws")
    shutil.copytree(d.workspace.output(2025), ws.output(2025))
    inbox = ws.submissions(2026)
    inbox.mkdir(parents=True)
    _edit(d.path("科技"), inbox / "科技.xlsx", item_id, "科技の版で修正した記載。")
    _edit(d.path("文"), inbox / "文科省.xlsx", item_id, "文部科学省の版で修正した記載。")
    return ws, item_id


def _conflict_rows(path: Path) -> list[tuple]:
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.sheetnames[1] == CONFLICT_SHEET  # right after 検証結果, where the officer looks first
    return [r for r in wb[CONFLICT_SHEET].iter_rows(min_row=5, values_only=True) if r[0]]


def test_both_ministries_feedback_names_the_conflict(conflicted):
    ws, item_id = conflicted
    summary = merge_year(ws, 2026)
    [conflict] = summary.result.conflicts
    assert conflict.item_id == item_id and conflict.winner == "科技"
    text = {b.id: b.text for _, _, b in summary.result.annex.bullets()}[item_id]
    assert text == "科技の版で修正した記載。"
    assert set(summary.conflict_feedback) == {"科技", "文"}
    for ministry, own, adopted in (("科技", "科技の版", "貴府省の版"), ("文", "文部科学省の版", "科技の版")):
        [row] = _conflict_rows(summary.conflict_feedback[ministry])
        assert row[0] == item_id and own in row[3] and adopted == row[5]
        other = "文部科学省の版" if ministry == "科技" else "科技の版"
        assert other in row[4]


def test_a_conflict_that_no_longer_stands_leaves_the_feedback(conflicted):
    ws, _ = conflicted
    first = merge_year(ws, 2026)
    kagi = first.conflict_feedback["科技"]
    shutil.copyfile(distributed().path("文"), ws.submissions(2026) / "文科省_再提出.xlsx")  # 文 withdraws its edit
    second = merge_year(ws, 2026)
    assert second.result.conflicts == [] and second.conflict_feedback == {}
    assert CONFLICT_SHEET not in openpyxl.load_workbook(kagi, read_only=True).sheetnames


def test_the_conflict_email_goes_to_the_ministry_contacts_with_both_versions(conflicted):
    ws, item_id = conflicted
    summary = merge_year(ws, 2026)
    message = compose_conflict_email(
        ws.config, ws.email_templates(), "文", summary.result.conflicts_of("文"), summary.conflict_feedback["文"]
    )
    assert message["To"] == "annex-contact@mext.example"
    assert "統合時の調整" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert item_id in body and "科技の版で修正した記載。" in body and "文部科学省の版で修正した記載。" in body
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == summary.conflict_feedback["文"].name


@pytest.mark.e2e
def test_the_annual_run_mails_each_conflicting_ministry_once(prefect_server, smtp, conflicted):
    from flows.annual import annual_consolidation

    ws, item_id = conflicted
    (ws.root / "config").mkdir()
    text = (
        bundled_path("annex.yaml")
        .read_text(encoding="utf-8")
        .replace("port: 8025", f"port: {smtp.port}")
        .replace("# host: 127.0.0.1", "host: 127.0.0.1")
    )
    (ws.root / "config" / "annex.yaml").write_text(text, encoding="utf-8")
    summary = annual_consolidation(str(ws.root), 2026)
    assert summary["feedback_mail"] == {"feedback": {"sent": 2}, "conflict_notice": {"sent": 2}}
    assert "  メール: フィードバック 送信 2件、統合時の調整 送信 2件" in summary["lines"]
    notices = [(rcpts, m) for rcpts, m in smtp.messages if "統合時の調整" in m["Subject"]]
    assert sorted(r[0] for r, _ in notices) == ["annex-contact@csti.example", "annex-contact@mext.example"]
    assert all(item_id in m.get_body(("plain",)).get_content() for _, m in notices)
    annual_consolidation(str(ws.root), 2026)  # the same conflicts again: not announced twice
    assert len([m for _, m in smtp.messages if "統合時の調整" in m["Subject"]]) == 2
