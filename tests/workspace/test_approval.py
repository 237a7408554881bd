"""Approval before publishing, without Prefect: what is approved is what is published (by hash),
a changed file refuses the publication, a send-back leaves the previous publication in place,
and `annex approve` answers every mistake with one Japanese line."""

from __future__ import annotations

import hashlib
import json

import pytest

from annex.model.errors import AnnexError
from annex.workspace import approval
from annex.workspace.layout import Workspace
from flows.cli import main

YEAR = 2026


def _outputs(ws: Workspace, version: str) -> dict[str, bytes]:
    """A run's outputs as they lie in output/<Y>/ (contents differ per version, as runs do)."""
    out = ws.output(YEAR)
    out.mkdir(parents=True, exist_ok=True)
    files = {name: f"{name} {version}".encode() for name in ("annex.docx", "annex.pdf", "master.json", "changes.xlsx")}
    for name, data in files.items():
        (out / name).write_bytes(data)
    (out / "lint.json").write_text("{}", encoding="utf-8")  # not part of a publication
    return files


def _published(ws: Workspace) -> dict[str, bytes]:
    folder = ws.output(YEAR) / approval.PUBLISHED_FOLDER
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_approved_files_are_published_exactly_and_the_previous_publication_moves_to_history(tmp_path):
    ws = Workspace.at(tmp_path)
    first = _outputs(ws, "first")
    record = approval.request_approval(ws, YEAR, flow_run_id="run-1", waits_in=approval.IN_WORKSPACE)
    assert record["files"] == {name: _sha(data) for name, data in first.items()}
    assert approval.read_record(ws, YEAR)["state"] == approval.WAITING

    lines = approval.decide(ws, YEAR, approval.waiting_record(ws, YEAR), send_back_comment=None, by="山田")
    published = _published(ws)
    manifest = json.loads(published.pop(approval.MANIFEST))
    assert published == first and manifest["files"] == record["files"] and manifest["flow_run_id"] == "run-1"
    assert manifest["approved_by"] == "山田" and lines[0].startswith(f"公開しました: output/{YEAR}/published/")
    assert approval.read_record(ws, YEAR)["state"] == approval.PUBLISHED
    with pytest.raises(AnnexError, match="承認・公開済みです"):
        approval.waiting_record(ws, YEAR)

    second = _outputs(ws, "second")
    record = approval.request_approval(ws, YEAR, flow_run_id="run-2", waits_in=approval.IN_WORKSPACE)
    approval.decide(ws, YEAR, record, send_back_comment=None, by="山田")
    assert {k: v for k, v in _published(ws).items() if k != approval.MANIFEST} == second
    [history] = (ws.output(YEAR) / approval.HISTORY_FOLDER).iterdir()  # nothing is ever lost
    assert {p.name: p.read_bytes() for p in history.iterdir() if p.name != approval.MANIFEST} == first


def test_a_file_changed_after_the_request_refuses_the_whole_publication(tmp_path):
    ws = Workspace.at(tmp_path)
    first = _outputs(ws, "first")
    approval.decide(
        ws, YEAR, approval.request_approval(ws, YEAR, flow_run_id="run-1", waits_in="workspace"), send_back_comment=None, by="a"
    )
    _outputs(ws, "second")
    record = approval.request_approval(ws, YEAR, flow_run_id="run-2", waits_in="workspace")
    (ws.output(YEAR) / "annex.docx").write_bytes(b"edited by hand after the review")
    (ws.output(YEAR) / "annex.pdf").unlink()
    with pytest.raises(AnnexError) as refused:
        approval.decide(ws, YEAR, record, send_back_comment=None, by="a")
    message = str(refused.value)
    assert "公開しませんでした" in message and "公開済みの版はそのままです" in message
    assert f"output/{YEAR}/annex.docx が変更されています（依頼時 {record['files']['annex.docx'][:12]}…" in message
    assert f"output/{YEAR}/annex.pdf がありません" in message
    assert {k: v for k, v in _published(ws).items() if k != approval.MANIFEST} == first
    assert not [p for p in ws.output(YEAR).iterdir() if p.name.startswith(".annex-")]  # no staging left behind
    assert approval.read_record(ws, YEAR)["state"] == approval.WAITING  # still undecided


def test_sending_back_records_the_comment_and_leaves_the_previous_publication_in_place(tmp_path):
    ws = Workspace.at(tmp_path)
    _outputs(ws, "first")
    record = approval.request_approval(ws, YEAR, flow_run_id="run-1", waits_in="workspace")
    lines = approval.decide(ws, YEAR, record, send_back_comment="文の記載を確認", by="a")
    assert lines == [
        "差し戻しました（コメント: 文の記載を確認）。今回の出力は公開していません",
        f"  {YEAR}年度に公開済みの版はまだありません",
    ]
    assert not (ws.output(YEAR) / approval.PUBLISHED_FOLDER).exists()

    approval.decide(
        ws, YEAR, approval.request_approval(ws, YEAR, flow_run_id="run-2", waits_in="workspace"), send_back_comment=None, by="a"
    )
    before = _published(ws)
    _outputs(ws, "third")
    record = approval.request_approval(ws, YEAR, flow_run_id="run-3", waits_in="workspace")
    lines = approval.decide(ws, YEAR, record, send_back_comment="脚注を直してください", by="a")
    assert _published(ws) == before
    published_at = json.loads(before[approval.MANIFEST])["published_at"]
    assert published_at.endswith("+09:00")  # recorded in Japan time whatever the machine's zone
    assert "年" in approval.shown(published_at) and "T" not in approval.shown(published_at)
    assert lines[1] == f"  前回の公開（{approval.shown(published_at)}）は output/{YEAR}/published/ にそのまま残っています"
    decided = approval.read_record(ws, YEAR)
    assert decided["state"] == approval.SENT_BACK and decided["comment"] == "脚注を直してください"


def test_a_direct_publication_supersedes_a_waiting_request(tmp_path):
    ws = Workspace.at(tmp_path)
    _outputs(ws, "first")
    approval.request_approval(ws, YEAR, flow_run_id="run-1", waits_in="workspace")
    approval.supersede_waiting(ws, YEAR, "run-2")
    with pytest.raises(AnnexError, match="後の実行（公開済み）で置き換えられました"):
        approval.waiting_record(ws, YEAR)


def test_annex_approve_mistakes_are_one_japanese_line(tmp_path, capsys):
    ws = Workspace.at(tmp_path)
    cases = [
        (
            ["approve", "--workspace", str(tmp_path)],
            f"エラー: {YEAR}年度に承認待ちの実行はありません（承認待ちの実行は annex run --review --year {YEAR}（本番では Prefect の annual）で作ります）",
        ),
        (["approve", "--workspace", str(tmp_path), "--send-back", " "], "エラー: --send-back には差し戻す理由を書いてください"),
    ]
    for argv, expected in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        err = capsys.readouterr().err
        assert exit_info.value.code != 0 and err.startswith(expected) and err.count("\n") == 1, err

    files = _outputs(ws, "first")
    approval.request_approval(ws, YEAR, flow_run_id="run-1", waits_in="workspace")
    main(["approve", "--workspace", str(tmp_path), "--by", "事務局 佐藤"])
    out = capsys.readouterr().out
    assert out.startswith(f"公開しました: output/{YEAR}/published/") and "annex approve（事務局 佐藤）" in out
    assert f"annex.docx  SHA-256 {_sha(files['annex.docx'])[:16]}…" in out
    with pytest.raises(SystemExit):
        main(["approve", "--workspace", str(tmp_path)])
    assert "承認・公開済みです" in capsys.readouterr().err


def test_a_decision_never_overwrites_the_run_json_of_a_later_run(tmp_path):
    from annex.workspace.run import record_publication, write_run_json

    ws = Workspace.at(tmp_path)
    ws.output(YEAR).mkdir(parents=True)
    paused = {"flow_run_id": "run-1", "publication": {"state": approval.WAITING}}
    write_run_json(ws, YEAR, paused)
    assert record_publication(ws, YEAR, paused | {"publication": {"state": approval.SENT_BACK}})
    assert json.loads((ws.output(YEAR) / "run.json").read_text())["publication"]["state"] == approval.SENT_BACK
    write_run_json(ws, YEAR, {"flow_run_id": "run-2"})  # a run started while run-1 waited
    assert not record_publication(ws, YEAR, paused | {"publication": {"state": approval.PUBLISHED}})
    assert json.loads((ws.output(YEAR) / "run.json").read_text()) == {"flow_run_id": "run-2"}
