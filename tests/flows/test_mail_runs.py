"""E-mail in real flow runs (the session's Prefect server, aiosmtpd on loopback), issue 14:

- the mail server down: `annex remind` checks once, says so in one line, sends next time, once;
- the sample workspace's intake run (the feedback path `annex run` shares, flows/steps.py), after a
  run that died mid-send: the queued message counts 要確認, never 送信済み, and is not sent;
- then `annex run` (its 統合時の調整 notices: two ministries edit a line they share differently)
  and `annex remind` on the same workspace and server: with SMTP credentials, each ministry's
  e-mails of every kind (feedback, 統合時の調整, reminder), their attachments and its feedback
  workbook hold no line owned only by another ministry, and the credentials appear in no log,
  artifact, output or error.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from pathlib import Path

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from run_fixtures import CONFLICTING, configure_smtp, free_port, plant_conflict

from annex.notify.outbox import Outbox

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]
ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "submissions" / "2026"
PLAN = json.loads((ROOT / "tools" / "sample_plan.json").read_text(encoding="utf-8"))
IN_WINDOW = "2026-05-20T10:00+09:00"


@pytest.fixture
def remind_workspace(sample_workspace):
    return configure_smtp(sample_workspace, free_port())  # nobody listens there yet: the server is down


def test_remind_with_the_mail_server_down_says_so_once_and_the_next_run_sends_each_once(prefect_server, remind_workspace, capsys):
    from flows.cli import main

    ws = remind_workspace
    port = ws.config.settings.smtp.port
    args = ["remind", "--workspace", str(ws.root), "--at", "2026-05-26T09:00+09:00"]
    main(args)
    captured = capsys.readouterr()
    down = [line for line in captured.out.splitlines() if "接続できません" in line and "次回の実行で送ります" in line]
    assert len(down) == 1 and "督促" in down[0], captured.out
    assert "Traceback" not in captured.out + captured.err
    with Outbox.open(ws.ledger_url) as outbox:
        assert outbox.entries(2026) == []  # nothing claimed: nothing recorded as sent, all left for next time

    class Sink:
        def __init__(self):
            self.ids: list[str] = []

        async def handle_DATA(self, server, session, envelope):
            import email

            self.ids.append(email.message_from_bytes(envelope.content)["Message-ID"])
            return "250 OK"

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        main(args)
        first = capsys.readouterr().out
    finally:
        controller.stop()
    assert sink.ids and len(sink.ids) == len(set(sink.ids))  # each pending ministry once
    assert "送信しました" in first and "接続できません" not in first
    with Outbox.open(ws.ledger_url) as outbox:
        assert {e.message_id for e in outbox.entries(2026)} == set(sink.ids)
        assert {e.state for e in outbox.entries(2026)} == {"sent"} and {e.attempts for e in outbox.entries(2026)} == {1}


# -- the sample workspace's run: isolation and credentials ------------------------------------------

USER, PASSWORD = "canary-smtp-user-4c1d", "canary-smtp-pass-e83f"


class AuthSink:
    """A real SMTP server that requires AUTH (the canary credentials) and keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = getattr(auth_data, "login", b"") == USER.encode() and getattr(auth_data, "password", b"") == PASSWORD.encode()
    return AuthResult(success=ok)


def _owned_only_by(ministry: str, cells: dict[str, object], change: dict) -> str | None:
    """The text a change of the plan puts in a line whose only owner is ``ministry`` (its tags,
    read back from the ministry's own file: A1 → value)."""
    text = change.get("new_text") or change.get("text")
    if not text or change["op"] == "delete" or "tags" not in change.get("cells", {}):
        return None
    return text if str(cells.get(change["cells"]["tags"]) or "").strip() == ministry else None


def _cells(path: Path) -> dict[str, object]:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return {c.coordinate: c.value for row in book["記入シート"].iter_rows() for c in row if getattr(c, "value", None)}
    finally:
        book.close()


def _texts_of_workbook(data: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row if v)
    finally:
        book.close()


FLOWS = ("intake", "annual-consolidation", "reminders")


def _flow_logs_and_artifacts(workspace: str) -> str:
    """Everything Prefect keeps of the runs on this workspace (intake, annual, reminders): their
    parameters, logs, artifacts."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowFilter,
        FlowFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )

    async def read():
        found: list[str] = []
        async with get_client() as client:
            runs = await client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=list(FLOWS))), limit=200)
            ours = [r for r in runs if r.parameters.get("workspace") == workspace]
            assert len(ours) == len(FLOWS), [r.name for r in ours]  # one run of each
            for run in ours:
                logs: list = []
                log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id]))
                while page := await client.read_logs(log_filter=log_filter, limit=200, offset=len(logs)):
                    logs += page
                artifacts = await client.read_artifacts(
                    artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
                )
                assert logs or artifacts  # what is searched is really there
                found += [
                    json.dumps(run.parameters, ensure_ascii=False),
                    *(log.message for log in logs),
                    *(json.dumps(a.model_dump(mode="json"), ensure_ascii=False) for a in artifacts),
                ]
        return found

    return "\n".join(asyncio.run(read()))


def test_the_sample_run_after_a_killed_one_mails_each_ministry_only_its_own_lines_and_no_credential(
    prefect_server, sample_workspace, monkeypatch, caplog, capsys
):
    """One intake run over every sample return, then `annex run` and `annex remind` on the same
    workspace (one workspace serves every check: the runs are the expensive part)."""
    from flows.annual import annual_consolidation
    from flows.cli import main
    from flows.intake import intake
    from flows.reminders import send_reminders

    sink = AuthSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, authenticator=_authenticator, auth_require_tls=False)
    controller.start()
    monkeypatch.setenv("ANNEX_SMTP_USERNAME", USER)
    monkeypatch.setenv("ANNEX_SMTP_PASSWORD", PASSWORD)
    ws = configure_smtp(sample_workspace, port)
    shared_line = plant_conflict(SAMPLES, ws.submissions(2026))  # 科技 and 文 edit a line they share
    # A run killed while handing 外's feedback to the server left its row queued.
    sample = "外務省_別添記入シート.xlsx"
    sha = hashlib.sha256((SAMPLES / sample).read_bytes()).hexdigest()
    killed = f"<annex-2026-feedback-{sha[:16]}@csti.example>"
    with Outbox.open(ws.ledger_url) as outbox:
        assert outbox.claim(2026, "外", f"feedback-{sha[:16]}", message_id=killed, recipients=["x"], subject="s")
    try:
        with caplog.at_level("INFO"):
            result = intake(str(ws.root), 2026, IN_WINDOW)
            assert not [m for _, m in sink.messages if m["Message-ID"] == killed]
            main(["mail", "--workspace", str(ws.root)])
            listed = capsys.readouterr().out
            main(["mail", "--workspace", str(ws.root), "--resend", killed.strip("<>")])
            resend = capsys.readouterr().out
            with Outbox.open(ws.ledger_url) as outbox:
                resend_state = outbox.state_of(2026, "外", f"feedback-{sha[:16]}")
            annual = annual_consolidation(str(ws.root), 2026)
            reminded = send_reminders(str(ws.root), 2026, "2026-05-26T09:00+09:00")  # before the deadline: no Cc
    finally:
        controller.stop()

    config = ws.config
    # what each ministry wrote in lines it alone owns (from the plan, read back from its file)
    own: dict[str, list[str]] = {}
    for f in PLAN["files"]:
        cells = _cells(SAMPLES / f["file"])
        for change in f.get("changes", []):
            if text := _owned_only_by(f["ministry"], cells, change):
                own.setdefault(f["ministry"], []).append(text)
    assert len(own) >= 10  # the check has something to find
    sent = result["feedback_mail"]["feedback"]
    assert sent.get("sent", 0) >= 18 and not sent.get("failed") and not sent.get("already")
    assert sent["uncertain"] == 1  # the killed run's message: never counted as sent, never sent again
    assert "要確認 1 件" in listed and killed in listed and "annex mail --sent" in listed
    assert "次回の実行で1回だけ送ります" in resend and resend_state == "failed"  # the next run sends it, once
    nobody = {k: n for k, n in sent.items() if k in ("no-contact", "no-ministry")}  # as in intake: no address
    assert annual["feedback_mail"]["feedback"] == {**nobody, "already": sent["sent"], "sent": 1}
    assert len([m for _, m in sink.messages if m["Message-ID"] == killed]) == 1  # sent by `annex run`, once
    assert annual["feedback_mail"]["conflict_notice"] == {"sent": 2}
    assert reminded["due"] and set(reminded["counts"]) == {"sent"}
    ids = [m["Message-ID"] for _, m in sink.messages]
    assert len(ids) == len(set(ids))  # every message once, across the three runs

    def kind(message) -> str:
        local = str(message["Message-ID"]).strip("<>").split("@")[0]
        return next((k for k in ("feedback", "conflict", "before", "after") if f"-{k}-" in local), "other")

    by_address = {a: m.abbr for m in config.ministries for a in m.contacts}
    seen_ministries, kinds = set(), {}
    for rcpts, message in sink.messages:
        [ministry] = {by_address[r] for r in rcpts}  # one ministry per message, its contacts only
        seen_ministries.add(ministry)
        kinds.setdefault(kind(message), set()).add(ministry)
        if kind(message) == "conflict":  # the notice names the shared line and attaches the ministry's workbook
            [attachment] = list(message.iter_attachments())
            assert shared_line in _texts_of_workbook(attachment.get_content()) and "統合時の調整" in str(message["Subject"])
        parts = [message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content(), str(message["Subject"])]
        parts += [_texts_of_workbook(a.get_content()) for a in message.iter_attachments()]
        body = "\n".join(parts)
        leaked = [(other, t) for other, texts in own.items() if other != ministry for t in texts if t in body]
        assert not leaked, (ministry, leaked[:2])
    assert len(seen_ministries) >= 18
    assert kinds["conflict"] == set(CONFLICTING)  # every kind was checked: feedback, 統合時の調整, reminders
    assert len(kinds["feedback"]) >= 18 and kinds["before"] >= {"総", "環", "国"} and "other" not in kinds
    slug_of = {m.slug: m.abbr for m in config.ministries}
    workbooks = list((ws.output(2026) / "feedback").glob("*.xlsx"))
    assert len(workbooks) >= 18
    for path in workbooks:
        ministry = slug_of[path.stem.rsplit("-", 1)[0]]
        text = _texts_of_workbook(path.read_bytes())
        leaked = [(other, t) for other, texts in own.items() if other != ministry for t in texts if t in text]
        assert not leaked, (path.name, leaked[:2])
        assert all(t in text for t in own.get(ministry, [])), path.name  # its own lines are there: the check can see

    # the credentials: nowhere but in the AUTH exchange itself
    import base64

    forms = {USER, PASSWORD, base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()}
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]  # not the test server's own log
    haystack = [json.dumps(x, ensure_ascii=False, default=str) for x in (result, annual, reminded)]
    haystack += [*ours, _flow_logs_and_artifacts(str(ws.root))]
    with Outbox.open(ws.ledger_url) as outbox:
        haystack += [repr(e) for e in outbox.entries(2026)]
    for path in [*ws.root.rglob("*")]:
        if path.is_file() and path.suffix in (".json", ".eml", ".log", ".txt", ".yaml", ".sqlite"):
            haystack.append(path.read_bytes().decode("utf-8", "replace"))
    haystack += [m.as_string() for _, m in sink.messages]
    assert not [f for f in forms if any(f in h for h in haystack)]
