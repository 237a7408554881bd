"""Feedback: a workbook per submission, and the run's e-mails — each message at most once (through
the outbox), all of a kind sent by one task (a task run costs the Prefect server more than a message)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from annex.io.workers import SharedWorkers, release_workers
from annex.model.issues import Submission
from annex.notify.outbox import Outbox
from annex.workspace import collect, notify
from annex.workspace.layout import Workspace
from tasks.mailer import mailer_for


@task(name="feedback-workbooks", cache_policy=NO_CACHE)
def feedback_workbooks(ws: Workspace, year: int, pairs: list[tuple[collect.Received, Submission]]) -> dict[str, Path]:
    """On the workers the validations borrowed (still running), then stopped: nothing after needs them."""
    try:
        return collect.write_feedback(ws, year, [(item.stored, sub) for item, sub in pairs], SharedWorkers(), overwrite=False)
    finally:
        release_workers()


@task(name="feedback-mail", cache_policy=NO_CACHE)
def send_feedback_mail(ws: Workspace, year: int, files: list[tuple[Submission, Path | None, str | None]]) -> notify.Batch:
    """Each file's feedback e-mail: (submission, its feedback workbook, the version still in use)."""
    mailer = mailer_for(ws, year)
    with Outbox.open(ws.ledger_url) as outbox:
        return notify.send_batch(
            ws, [partial(notify.send_feedback_once, ws, year, sub, path, outbox, mailer, in_use) for sub, path, in_use in files]
        )


@task(name="conflict-notice", cache_policy=NO_CACHE)
def send_conflict_notices(ws: Workspace, year: int, notices: list[tuple[str, list, Path | None]]) -> notify.Batch:
    """Each ministry's 統合時の調整 notice: (ministry, its conflicts, its feedback workbook)."""
    mailer = mailer_for(ws, year)
    with Outbox.open(ws.ledger_url) as outbox:
        return notify.send_batch(
            ws,
            [
                partial(notify.send_conflict_notice_once, ws, year, ministry, conflicts, path, outbox, mailer)
                for ministry, conflicts, path in notices
            ],
        )
