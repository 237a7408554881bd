"""Feedback: a workbook per submission, and one e-mail per file at most once (through the outbox)."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from annex.model.issues import Submission
from annex.notify.outbox import Outbox
from annex.workspace import collect, notify
from annex.workspace.layout import Workspace
from tasks.mailer import mailer_for


@task(name="feedback-workbooks", cache_policy=NO_CACHE)
def feedback_workbooks(ws: Workspace, year: int, pairs: list[tuple[collect.Received, Submission]]) -> dict[str, Path]:
    return collect.write_feedback(ws, year, [(item.stored, sub) for item, sub in pairs], overwrite=False)


@task(name="feedback-mail", task_run_name="feedback-mail-{sub.sha256:.12}", cache_policy=NO_CACHE)
def send_feedback(ws: Workspace, year: int, sub: Submission, path: Path | None, in_use: str | None = None) -> str | None:
    with Outbox.open(ws.ledger_url) as outbox:
        return notify.send_feedback_once(ws, year, sub, path, outbox, mailer_for(ws, year), in_use)


@task(name="conflict-notice", task_run_name="conflict-notice-{ministry}", cache_policy=NO_CACHE)
def send_conflict_notice(ws: Workspace, year: int, ministry: str, conflicts: list, path: Path | None) -> str | None:
    with Outbox.open(ws.ledger_url) as outbox:
        return notify.send_conflict_notice_once(ws, year, ministry, conflicts, path, outbox, mailer_for(ws, year))
