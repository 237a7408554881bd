"""Feedback: a workbook per submission, and one e-mail per file at most once (retried on SMTP trouble)."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from annex import pipeline
from annex.outbox import Outbox, TransientMailError
from annex.submission import Submission
from annex.workspace import Workspace
from tasks.mailer import smtp_mailer


@task(name="feedback-workbooks", cache_policy=NO_CACHE)
def feedback_workbooks(ws: Workspace, year: int, pairs: list[tuple[pipeline.Received, Submission]]) -> dict[str, Path]:
    return pipeline.write_feedback(ws, year, pairs)


def _transient(task, task_run, state) -> bool:
    return isinstance(state.result(raise_on_failure=False), TransientMailError)


@task(name="feedback-mail", task_run_name="feedback-mail-{sub.sha256:.12}", cache_policy=NO_CACHE,
      retries=3, retry_delay_seconds=[5, 30, 120], retry_jitter_factor=0.5, retry_condition_fn=_transient)
def send_feedback(ws: Workspace, year: int, sub: Submission, path: Path | None) -> str | None:
    with Outbox.open(ws.ledger_url) as outbox:
        return pipeline.send_feedback_once(ws, year, sub, path, outbox, smtp_mailer(ws.config.settings.smtp))


@task(name="conflict-notice", task_run_name="conflict-notice-{ministry}", cache_policy=NO_CACHE,
      retries=3, retry_delay_seconds=[5, 30, 120], retry_jitter_factor=0.5, retry_condition_fn=_transient)
def send_conflict_notice(ws: Workspace, year: int, ministry: str, conflicts: list, path: Path | None) -> str | None:
    with Outbox.open(ws.ledger_url) as outbox:
        return pipeline.send_conflict_notice_once(ws, year, ministry, conflicts, path, outbox, smtp_mailer(ws.config.settings.smtp))
