"""End to end: `annex run` through the CLI on a copy of the sample workspace, against the session's
Prefect server; figures from tools/sample_plan.json, every output read back, the run's state
checked through Prefect's API, and an unchanged submission never validated twice."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
PLAN = json.loads((ROOT / "tools" / "sample_plan.json").read_text(encoding="utf-8"))


def _annex_run(workspace: Path, api_url: str, *options: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_API_URL": api_url}
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--workspace", str(workspace), *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def _task_runs(flow_run_id: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read():
        async with get_client() as client:
            flow_run = await client.read_flow_run(flow_run_id)
            tasks = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run.id])))
            return runs[0], tasks

    return asyncio.run(read())


def _progress_artifacts(flow_run_id: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterType

    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), type=ArtifactFilterType(any_=["progress"])
            )
        )


def test_annex_run_on_the_sample_workspace(prefect_server, sample_workspace, capsys):
    # what secretariats find in the inbox besides workbooks: an answer sent as PDF, Excel's lock file
    inbox = sample_workspace / "submissions" / "2026"
    (inbox / "国交省 別添回答.pdf").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    (inbox / "~$国交省 別添回答 0527.xlsx").write_bytes(b"\x00" * 165)
    done = _annex_run(sample_workspace, prefect_server)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.splitlines()[0] == f"Prefect サーバー {prefect_server} で実行します"  # not 一時サーバー: one is configured
    assert "収集: 22 ファイル（対象外 1）" in out and "検証 22/22" in out
    assert "対象外: ~$国交省 別添回答 0527.xlsx — Excel が開いている間に作る一時ファイル" in out
    [pdf_line] = [line for line in out.splitlines() if "国交省 別添回答.pdf →" in line and "検証" in line]
    assert "府省不明" in pdf_line and "Excel" in pdf_line and "事務局で確認" in pdf_line
    assert any("→ 受理（文" in line for line in out.splitlines())
    assert any("→ 差戻し（国: 「" in line for line in out.splitlines())
    assert "府省庁: 受理 18・差戻し 3・保留（検証待ち） 0・未提出 1" in out
    assert "府省の分からないファイル 1 件（事務局で確認してください）:" in out
    not_updated = {m["ministry"] for m in PLAN["not_submitted"]} | set(PLAN["faulty"])
    [line] = [x for x in out.splitlines() if x.startswith("  未更新（提出がなく前年度の記載のまま）")]
    assert "annex-review.docx" in line and any(m in line for m in not_updated)

    summary = json.loads((sample_workspace / "output" / "2026" / "run.json").read_text(encoding="utf-8"))
    assert sorted(summary["ministries"]["returned"]) == sorted(PLAN["faulty"])
    assert summary["ministries"]["missing"] == [m["ministry"] for m in PLAN["not_submitted"]]
    assert summary["ministry_counts"] == {"accepted": 18, "returned": 3, "held": 0, "missing": 1}

    def keys(value):  # run.json is a machine file: English keys all the way down (values may be Japanese)
        if not isinstance(value, dict):
            return []
        return [
            *value,
            *(k for name, v in value.items() if name not in ("merged_files", "not_updated_by_ministry") for k in keys(v)),
        ]

    # (merged_files and not_updated_by_ministry are keyed by ministry abbreviations: data, not names of fields)
    assert all(k.isascii() for k in keys(summary)), [k for k in keys(summary) if not k.isascii()]
    [unattributed] = summary["unattributed_files"]
    assert unattributed.startswith("国交省 別添回答.pdf → 府省不明")
    assert set(summary["not_updated_by_ministry"]) <= not_updated and summary["bullets"]["not_updated"] > 0
    expected = PLAN["expected_merge"]
    assert {k: summary["bullets"][k] for k in ("added", "modified", "deleted", "carried")} == {
        k: expected[k] for k in ("added", "modified", "deleted", "carried")
    }
    assert summary["relisted"]["linked"] > 0 and summary["relisted"]["total"] >= summary["relisted"]["linked"]
    also = {code for f in PLAN["files"] for m in f["mistakes"] for code in m["may_also_report"]}
    assert set(PLAN["mistake_rules"]) | {"F-NOT-XLSX"} <= set(summary["issues_by_rule"])
    assert set(summary["issues_by_rule"]) <= set(PLAN["mistake_rules"]) | {"F-NOT-XLSX"} | also
    names = {Path(f).name for f in summary["files"]}
    assert {
        "master.json",
        "master.xlsx",
        "changes.xlsx",
        "reconciliation.xlsx",
        "annex-context.json",
        "annex.docx",
        "annex-review.docx",
        "annex-redline.docx",
        "lint.json",
        "lint.xlsx",
        "status.html",
        "run.json",
    } <= names
    page = (sample_workspace / "output" / "2026" / "status.html").read_text(encoding="utf-8")
    assert page.count('data-ministry="') >= 22 and "差戻し" in page  # refreshed by the run, every ministry on it
    # the notation report of the merged master: its total is the sum of its rules, and named in the summary
    lint = json.loads((sample_workspace / "output" / "2026" / "lint.json").read_text(encoding="utf-8"))
    assert summary["lint"]["total"] == lint["total"] == sum(summary["lint"]["by_rule"].values()) > 0
    assert f"表記チェック（マスター全体）: {lint['total']} 件" in out
    assert len([f for f in summary["files"] if "/feedback/" in f]) == 22
    if summary["pdf"]["produced"]:
        assert (sample_workspace / "output" / "2026" / "annex.pdf").read_bytes().startswith(b"%PDF-")
    elif os.environ.get("ANNEX_REQUIRE_ALL"):
        pytest.fail(f"no PDF: {summary['pdf']['reason']}")
    for name in summary["files"]:
        path = sample_workspace / name
        assert path.exists() and path.stat().st_size > 0, name
    for line in (f"  出力 {len(summary['files'])} ファイル:", "output/2026/run.json"):
        assert line in out
    assert "Traceback" not in done.stderr

    flow_run, tasks = _task_runs(summary["flow_run_id"])
    assert flow_run.name and flow_run.state.is_completed()
    validations = [t for t in tasks if t.name.startswith("validate-")]
    assert len(validations) == 22
    [progress] = _progress_artifacts(summary["flow_run_id"])  # the UI's bar, updated now and then: full at the end
    assert progress.description == "提出物の検証" and float(progress.data) == 100.0

    # No mail server in the bundled config: every message of the run is an .eml file instead.
    mail = sample_workspace / "output" / "2026" / "mail"
    saved = sum(outcomes.get("saved", 0) for outcomes in summary["feedback_mail"].values())
    emls = sorted(mail.glob("*.eml"))
    assert saved >= 18 and len(emls) == saved, summary["feedback_mail"]
    assert "未送信" not in out and f"{mail}" in out and ".eml ファイルとして保存しました" in out
    first_written = {p.name: p.stat().st_mtime_ns for p in emls}
    _read_back_feedback_eml(emls)

    # Without --review the run published what it made: output/2026/published/, the same files by hash.
    first_publication = _publication(sample_workspace)
    assert first_publication["flow_run_id"] == summary["flow_run_id"]
    assert first_publication["approved_by"] == "承認手続きなし（annex run）"
    assert {"annex.docx", "master.json", "master.xlsx", "changes.xlsx"} <= set(first_publication["files"])
    assert "公開しました: output/2026/published/" in out

    # The same files again, with --review: every validation comes from the cache, nothing is merged
    # differently, and nothing is published until `annex approve`.
    again = _annex_run(sample_workspace, prefect_server, "--review")
    assert again.returncode == 0, again.stdout + again.stderr
    second = json.loads((sample_workspace / "output" / "2026" / "run.json").read_text(encoding="utf-8"))
    assert "承認待ち: 次のファイルを公開する前に事務局の承認が必要です" in again.stdout
    assert "    公開する: annex approve --year 2026" in again.stdout and "--send-back" in again.stdout
    assert _publication(sample_workspace) == first_publication  # the previous publication, untouched
    record = json.loads((sample_workspace / "output" / "2026" / "approval.json").read_text(encoding="utf-8"))
    assert record["state"] == "waiting" and record["waits_in"] == "workspace"  # the temporary server is gone
    assert record["flow_run_id"] == second["flow_run_id"] and second["publication"]["state"] == "waiting"
    assert record["files"] == {name: _sha256(sample_workspace / "output" / "2026" / name) for name in record["files"]}
    _approve(sample_workspace, record, capsys)
    assert second["bullets"] == summary["bullets"] and second["ministries"] == summary["ministries"]
    flow_run, tasks = _task_runs(second["flow_run_id"])
    assert flow_run.state.is_completed()
    validations = [t for t in tasks if t.name.startswith("validate-")]
    assert validations and all(t.state.name == "Cached" for t in validations), {t.state.name for t in validations}
    # once per message, for files as for SMTP: the re-run writes none again
    assert {p.name: p.stat().st_mtime_ns for p in mail.glob("*.eml")} == first_written
    assert not any("saved" in outcomes for outcomes in second["feedback_mail"].values()), second["feedback_mail"]


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _publication(workspace: Path) -> dict:
    """output/2026/published/: its manifest, checked against the copies it lists."""
    folder = workspace / "output" / "2026" / "published"
    manifest = json.loads((folder / "published.json").read_text(encoding="utf-8"))
    assert {p.name for p in folder.iterdir()} == {*manifest["files"], "published.json"}
    assert {name: _sha256(folder / name) for name in manifest["files"]} == manifest["files"]
    return manifest


def _approve(workspace: Path, record: dict, capsys) -> None:
    """`annex approve` refuses a file changed since the run stopped, then publishes the exact files."""
    from flows.cli import main

    docx = workspace / "output" / "2026" / "annex.docx"
    reviewed = docx.read_bytes()
    docx.write_bytes(reviewed + b"\0")  # someone saved it in Word after the review
    with pytest.raises(SystemExit) as refused:
        main(["approve", "--workspace", str(workspace), "--year", "2026"])
    err = capsys.readouterr().err
    assert refused.value.code != 0 and err.startswith("エラー: 承認を依頼した後に出力が変わったため、公開しませんでした")
    assert "output/2026/annex.docx が変更されています" in err and err.count("\n") == 1
    docx.write_bytes(reviewed)
    main(["approve", "--workspace", str(workspace), "--year", "2026"])
    assert capsys.readouterr().out.startswith("公開しました: output/2026/published/")
    published = _publication(workspace)
    assert published["files"] == record["files"] and published["flow_run_id"] == record["flow_run_id"]


def _read_back_feedback_eml(emls: list[Path]) -> None:
    """Each .eml parses as the message a mail client shows: From the secretariat by name, To the
    ministry's contacts, Japanese text, and the feedback workbook attached (openpyxl opens it)."""
    import email
    import io
    from email import policy
    from email.header import decode_header, make_header

    import openpyxl

    from annex.workspace.layout import Workspace

    config = Workspace.at(ROOT / "tests" / "no-such-workspace").config
    contacts = {a for m in config.ministries for a in m.contacts}
    returned = 0
    for path in emls:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert message["Message-ID"] == f"<annex-{path.stem}@csti.example>"
        # decoded as RFC 2047 says (mail clients do); Python 3.11's policy.default parser puts a
        # space between two encoded words of a display name, so the raw header is decoded here
        raw_from = email.message_from_bytes(path.read_bytes())["From"]
        assert str(make_header(decode_header(raw_from))).startswith(config.secretariat.display_name + " <")
        assert set(a.strip() for a in str(message["To"]).split(",")) <= contacts
        text = message.get_body(("plain",)).get_content()
        assert "ご担当者様" in text and "annex から" not in text
        attachments = list(message.iter_attachments())
        assert len(attachments) == 1 and attachments[0].get_filename().endswith(".xlsx")
        workbook = openpyxl.load_workbook(io.BytesIO(attachments[0].get_content()))
        assert workbook.sheetnames[0] == "検証結果"
        returned += "差戻し" in message["Subject"]
    assert returned == 3


def test_a_second_run_is_refused_while_the_first_holds_the_workspace(sample_workspace):
    from annex.io.runlock import run_lock

    with run_lock(sample_workspace / "archive", "run", 2026):
        refused = subprocess.run(
            [sys.executable, "-m", "flows.cli", "run", "--workspace", str(sample_workspace)],
            env={**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"},
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
    assert refused.returncode != 0
    assert "実行中" in refused.stderr + refused.stdout
