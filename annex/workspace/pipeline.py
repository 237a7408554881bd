"""The annual run's stages cut where the orchestrator needs them, from collect's public pieces.

``collect_and_validate`` does receive → validate → record → feedback in one call; the flow needs
each file validated on its own (a failure boundary per ministry, and a cache keyed on the file's
bytes), so here the same steps (annex.workspace.collect's receive / read_and_validate / record_validations)
are exposed one by one, each opening and closing the ledger itself. Nothing here parses a file in-process:
reading happens in annex.io.workers's worker pool, as in collect.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from annex.workspace import collect
from annex.workspace.collect import Received, feedback_folder, feedback_name, read_and_validate
from annex.intake.ledger import Ledger, LedgerEntry
from annex.notify.mail import message_id
from annex.model.rules import CATALOGUE_VERSION
from annex.model.contract import TEMPLATE_VERSION
from annex.model.issues import Submission
from annex.validation.validate import Reference, rejected_unreadable


def receive(workspace, year: int) -> tuple[list[Received], list[str]]:
    """Hash, archive and record every file of the inbox before anything parses it; (files, ignored)."""
    with Ledger.open(workspace) as ledger:
        return collect.receive(workspace, year, ledger)


def validation_key(sha256: str, reference_fingerprint: str) -> str:
    """What a validation result depends on: the bytes, the rules, the template layout, the reference."""
    return f"validate-{sha256}-{CATALOGUE_VERSION}-{TEMPLATE_VERSION}-{reference_fingerprint}"


def validate_received(item: Received, ref: Reference) -> Submission:
    """Read one archived file in a one-worker pool and validate it."""
    from annex.io.workers import WorkerPool

    with WorkerPool(workers=1) as pool:
        return read_and_validate([(item.stored, item.name, item.sha256)], ref, pool)[0]


def validation_failed(item: Received, detail: str) -> Submission:
    """A file whose validation task failed outright: returned, never merged, the reason kept."""
    return rejected_unreadable(item.name, item.sha256, "F-UNREADABLE", detail)


def record_validations(workspace, pairs: list[tuple[Received, Submission]]) -> list[LedgerEntry]:
    with Ledger.open(workspace) as ledger:
        return collect.record_validations(workspace, ledger, pairs)


def newest_accepted(workspace, year: int) -> dict[str, LedgerEntry]:
    with Ledger.open(workspace) as ledger:
        return ledger.newest_accepted(year)


def feedback_path(workspace, year: int, sub: Submission) -> Path:
    return feedback_folder(workspace, year) / feedback_name(workspace, sub)


def write_feedback(workspace, year: int, pairs: list[tuple[Received, Submission]]) -> dict[str, Path]:
    """Feedback workbooks (sha256 → path) for the submissions that have none yet."""
    from annex.workspace.collect import write_feedback as write_workbooks
    from annex.io.workers import DEFAULT_WORKERS, WorkerPool

    todo = [(item.stored, sub) for item, sub in pairs if not feedback_path(workspace, year, sub).exists()]
    if todo:
        with WorkerPool(workers=min(DEFAULT_WORKERS, len(todo))) as pool:  # no idle workers for one file
            write_workbooks(workspace, year, todo, pool)
    return {sub.sha256: feedback_path(workspace, year, sub) for _, sub in pairs}


def version_in_use(newest: dict[str, LedgerEntry], sub: Submission) -> str | None:
    """For a returned file: the name of its ministry's earlier accepted version, which stays in the annex."""
    kept = newest.get(sub.ministry or "")
    return Path(kept.path).name if not sub.accepted and kept is not None and kept.sha256 != sub.sha256 else None


def send_feedback_once(workspace, year: int, sub: Submission, path: Path | None, outbox, mailer,
                       in_use: str | None = None) -> str | None:
    """The feedback e-mail for one file, at most once (outbox key feedback-<sha256>)."""
    from annex.feedback.workbook import compose_feedback_email
    from annex.notify.outbox import deliver

    if sub.ministry not in workspace.config.ministry_by_abbr:
        return "no-contact"
    try:
        message = compose_feedback_email(workspace, sub, path, in_use)
    except ValueError:  # the ministry has no contact registered
        return "no-contact"
    message["Message-ID"] = message_id(f"{year}-feedback-{sub.sha256[:16]}", workspace.config.settings.smtp.sender)
    return deliver(outbox, mailer, year, sub.ministry, f"feedback-{sub.sha256[:16]}", message)


def send_conflict_notice_once(workspace, year: int, ministry: str, conflicts, path: Path | None, outbox, mailer) -> str | None:
    """The 統合時の調整 notice for one ministry, once per distinct set of conflicts."""
    from annex.feedback.conflicts import compose_conflict_email, notice_slot
    from annex.notify.outbox import deliver

    try:
        message = compose_conflict_email(workspace, ministry, conflicts, path)
    except ValueError:  # the ministry has no contact registered
        return "no-contact"
    slot = notice_slot(ministry, conflicts)
    message["Message-ID"] = message_id(f"{year}-{slot}", workspace.config.settings.smtp.sender)
    return deliver(outbox, mailer, year, ministry, slot, message)


def issue_counts(submissions: list[Submission]) -> Counter:
    return Counter(issue.rule for sub in submissions for issue in sub.issues)


def smtp_unreachable(settings) -> str | None:
    """Why the mail server cannot be reached (then e-mail waits for the next run), or None."""
    import socket

    try:
        with socket.create_connection((settings.host, settings.port), timeout=3):
            return None
    except OSError as exc:
        return f"メールサーバー {settings.host}:{settings.port} に接続できません（{exc.strerror or exc}）"
