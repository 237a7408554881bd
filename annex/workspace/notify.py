"""E-mail and reminders from a workspace: feedback and 統合時の調整 notices sent at most once (the
outbox), and the reminder plan read from the ledger and the templates that were sent."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from annex.feedback.conflicts import compose_conflict_email, notice_slot
from annex.feedback.workbook import compose_feedback_email
from annex.io.runlock import run_lock
from annex.master.importer import read_annex_file
from annex.master.store import read_master
from annex.model.contract import feedback_attachment_name
from annex.model.errors import AnnexError
from annex.model.issues import Submission
from annex.model.labels import format_instant
from annex.model.ownership import ministries_in_annex
from annex.notify.mail import EmlMailer, Mailer, SmtpMailer, compose_message, message_id, probe, sender_of
from annex.notify.outbox import Entry, Outbox, Outcome, deliver
from annex.notify.reminders import (
    Due,
    MinistryStatus,
    ReminderReport,
    Slot,
    compose,
    due,
    held_back,
    slots,
    statuses_from_ledger,
)
from annex.workspace.collect import feedback_file_name, feedback_folder
from annex.workspace.distribute import DistributeResult, template_path
from annex.workspace.layout import Workspace

# The outbox slots each kind of run sends (its prefixes): a run recovers only its own kinds, under
# the lock that keeps two runs of that kind apart, so it never calls a live run's message stale.
FEEDBACK_KINDS = ("feedback-", "conflict-")  # annex run and intake, under the "run" lock
REMINDER_KINDS = ("before-", "after-")  # the reminders flow, under the "reminders" lock
REQUEST_KINDS = ("request",)  # distribute --send, under the "send-request" lock


def deliver_once(workspace: Workspace, outbox, mailer, year: int, ministry: str, slot: str, message) -> Outcome:
    """deliver() with the workspace's retry policy (smtp.retries, smtp.retry_delay_seconds)."""
    smtp = workspace.config.settings.smtp
    return deliver(outbox, mailer, year, ministry, slot, message, retries=smtp.retries, retry_delay=smtp.retry_delay_seconds)


def recover(workspace: Workspace, year: int, kinds: tuple[str, ...]) -> list[Entry]:
    """Messages of these kinds left queued by a run that died become uncertain; returns every
    message of the year a person must check."""
    with Outbox.open(workspace.ledger_url) as outbox:
        return outbox.recover(year, kinds)


def to_check(workspace: Workspace, year: int) -> list[Entry]:
    """Every message of the year a person must check (uncertain, or left queued)."""
    with Outbox.open(workspace.ledger_url) as outbox:
        return outbox.to_check(year)


def not_sent(workspace: Workspace, year: int) -> list[Entry]:
    """Every message of the year refused or left unsent (state failed): the next run sends them."""
    with Outbox.open(workspace.ledger_url) as outbox:
        return outbox.entries(year, state="failed")


def send_feedback_once(
    workspace: Workspace, year: int, sub: Submission, path: Path | None, outbox, mailer, in_use: str | None = None
) -> str | None:
    """The feedback e-mail for one file, at most once (outbox key feedback-<sha256>)."""
    if sub.ministry not in workspace.config.ministry_by_abbr:
        return "no-ministry"  # nobody to write to: the run lists the file for the secretariat
    try:
        message = compose_feedback_email(workspace.config, workspace.email_templates(), sub, path, in_use)
    except ValueError:  # the ministry has no contact registered
        return "no-contact"
    message["Message-ID"] = message_id(f"{year}-feedback-{sub.sha256[:16]}", workspace.config.settings.smtp.sender)
    message.replace_header("From", sender_of(workspace.config))  # every message names the same sender
    return deliver_once(workspace, outbox, mailer, year, sub.ministry, f"feedback-{sub.sha256[:16]}", message)


def send_conflict_notice_once(
    workspace: Workspace, year: int, ministry: str, conflicts, path: Path | None, outbox, mailer
) -> str | None:
    """The 統合時の調整 notice for one ministry, once per distinct set of conflicts."""
    try:
        message = compose_conflict_email(workspace.config, workspace.email_templates(), ministry, conflicts, path)
    except ValueError:  # the ministry has no contact registered
        return "no-contact"
    slot = notice_slot(ministry, conflicts)
    message["Message-ID"] = message_id(f"{year}-{slot}", workspace.config.settings.smtp.sender)
    message.replace_header("From", sender_of(workspace.config))
    return deliver_once(workspace, outbox, mailer, year, ministry, slot, message)


@dataclasses.dataclass
class Batch:
    """What became of a batch of once-only messages: one outcome each, in order; ``stopped`` says
    why the rest were not tried (the mail server went away mid-batch), else None."""

    outcomes: list[str]
    stopped: str | None = None


def send_batch(workspace: Workspace, sends: list[Callable[[], str | None]]) -> Batch:
    """Send the messages one after the other, each at most once (the callables share one outbox).
    A message that raises is failed and the others go on; after a deferred one the server is
    checked, and if it has gone the rest wait for the next run (one probe, not a retry each)."""
    settings = workspace.config.settings.smtp
    outcomes: list[str] = []
    for send in sends:
        try:
            outcomes.append(send() or "already")
        except Exception:  # a fault of ours in this message only: counted, logged, the batch goes on
            logging.getLogger(__name__).exception("メール %d 件目の送信処理が失敗しました", len(outcomes) + 1)
            outcomes.append("failed")
        if outcomes[-1] == "deferred" and len(outcomes) < len(sends) and (reason := smtp_unreachable(settings)):
            return Batch(outcomes + ["unreachable"] * (len(sends) - len(outcomes)), reason)
    return Batch(outcomes)


def send_reminder_once(workspace: Workspace, year: int, item: Due, outbox, mailer) -> Outcome:
    """One ministry's reminder for its slot, at most once (outbox key: the slot)."""
    message = compose(workspace.config, item, workspace.email_templates())
    return deliver_once(workspace, outbox, mailer, year, item.ministry.abbr, item.slot.key, message)


def mail_folder(workspace: Workspace, year: int) -> Path:
    """Where the messages go as .eml files when no mail server is configured."""
    return workspace.output(year) / "mail"


def saves_to_files(workspace: Workspace) -> bool:
    return not workspace.config.settings.smtp.host


def default_mailer(workspace: Workspace, year: int) -> Mailer:
    """Without Prefect (the CLI): SMTP with the environment's credentials when a server is
    configured, else .eml files under output/<Y>/mail/."""
    settings = workspace.config.settings.smtp
    return SmtpMailer.from_environment(settings) if settings.host else EmlMailer(mail_folder(workspace, year))


def smtp_unreachable(settings) -> str | None:
    """Why the mail server cannot be reached (then e-mail waits for the next run), or None
    (also when none is configured: the messages are then saved as files)."""
    return probe(settings) if settings.host else None


# -- reminders -------------------------------------------------------------------------------------
def expected_ministries(workspace: Workspace, year: int) -> dict[str, list[str]]:
    """Ministry → rows of its template for ``year``: from master(year-1), else the baseline annex."""
    config = workspace.config
    path = workspace.master_json(year - 1)
    annex = read_master(path) if path.exists() else read_annex_file(workspace.baseline_file())
    return ministries_in_annex(annex, config.tags, config.secretariat.abbr)


def preview(workspace: Workspace, year: int, at: dt.datetime) -> ReminderReport:
    """What a run at ``at`` would do, read-only (annex remind --dry-run)."""
    slot, items = plan(workspace, year, at)
    with Outbox.open(workspace.ledger_url) as outbox:
        states = {i.ministry.abbr: outbox.state_of(year, i.ministry.abbr, i.slot.key) for i in items}
        outcomes = {
            i.ministry.abbr: "no-contact"
            if not i.recipients
            else "already"
            if states[i.ministry.abbr] == "sent"
            else "uncertain"
            if states[i.ministry.abbr] in ("queued", "uncertain")  # maybe delivered: never counted as sent
            else "would-send"
            for i in items
        }
        uncertain = outbox.to_check(year)
    all_slots = slots(workspace.config.settings)
    upcoming: list[Due] = []
    if slot is None and (later := [s for s in all_slots if s.at > at]):
        upcoming = plan(workspace, year, later[0].at)[1]
    folder = str(mail_folder(workspace, year)) if saves_to_files(workspace) else None
    return ReminderReport(
        year, at, slot, items, outcomes, uncertain, all_slots, upcoming, folder, held=held_ministries(workspace, year)
    )


def held_ministries(workspace: Workspace, year: int) -> list[MinistryStatus]:
    """The ministries no reminder goes to because their file is held (保留), for the report."""
    return held_back(workspace.config, ledger_statuses(workspace, year), expected_ministries(workspace, year))


def plan(workspace: Workspace, year: int, at: dt.datetime) -> tuple[Slot | None, list[Due]]:
    """Who is due at ``at``, from the ledger and the templates that were sent, each with what
    its reminder attaches."""
    slot, items = due(workspace.config, at, ledger_statuses(workspace, year), expected_ministries(workspace, year))
    return slot, [dataclasses.replace(i, attachment=reminder_attachment(workspace, year, i)) for i in items]


def reminder_attachment(workspace: Workspace, year: int, item: Due) -> tuple[Path, str] | None:
    """差戻し: the marked workbook of the returned file (named as in its feedback e-mail);
    未提出: the ministry's template again. None when the file is not there (nothing distributed)."""
    status, slug = item.status, item.ministry.slug
    if status.status == "差戻し" and status.sha256:
        path = feedback_folder(workspace, year) / feedback_file_name(slug, status.sha256)
        name = feedback_attachment_name(item.ministry.names[0], year, status.sha256)
    else:
        path = template_path(workspace, year, item.ministry)
        name = path.name
    return (path, name) if path.is_file() else None


def ledger_statuses(workspace: Workspace, year: int) -> dict[str, MinistryStatus]:
    with workspace.open_ledger() as ledger:
        return statuses_from_ledger(ledger.entries(year))


# -- the templates (提出依頼) ----------------------------------------------------------------------
REQUEST_SLOT = "request"  # once per ministry and year: the template is asked for once
REQUEST_OUTCOME_JA = {
    "sent": "送信しました",
    "saved": ".eml ファイルに保存しました",
    "already": "送付済み（前回までに）のため送りません",
    "no-contact": "宛先未登録のため送りません（config/ministries.yaml の contacts に登録してください）",
    "failed": "送信失敗（メールサーバーが受け付けません。宛先を確認してください。次回の --send で再送します）",
    "deferred": "一時的に送れませんでした（次回の --send で送ります）",
    "uncertain": "要確認（届いたか不明のため自動では再送しません。annex mail で確認してください）",
}


def compose_request(workspace: Workspace, year: int, ministry_abbr: str, path: Path, rows: int):
    """The 提出依頼 for one ministry: what (its template, attached), by when, how to return it, whom to ask."""
    config = workspace.config
    ministry = config.ministry_by_abbr[ministry_abbr]
    settings = config.settings
    context = {
        "title": config.title_for(year),
        "year": year,
        "source_year": year - 1,
        "ministry": ministry.names[0],
        "rows": rows,
        "attachment": path.name,
        "deadline": format_instant(settings.deadline),
        "secretariat": config.secretariat,
    }
    message = compose_message(
        workspace.email_templates(),
        "request",
        context,
        subject=f"【提出依頼】{config.title_for(year)} 記入シート（締切 {format_instant(settings.deadline)}）",
        sender=sender_of(config),
        to=list(ministry.contacts),
        message_id=message_id(f"{year}-{ministry.slug}-{REQUEST_SLOT}", settings.smtp.sender),
        attachment=(path.read_bytes(), path.name),
    )
    message["Reply-To"] = config.secretariat.email  # the officer returns the workbook by replying
    return message


def send_template_once(workspace: Workspace, year: int, ministry_abbr: str, path: Path, rows: int, outbox, mailer) -> str | None:
    """One ministry's template by e-mail, at most once (outbox key ``request``)."""
    if not workspace.config.ministry_by_abbr[ministry_abbr].contacts:
        return "no-contact"
    message = compose_request(workspace, year, ministry_abbr, path, rows)
    return deliver_once(workspace, outbox, mailer, year, ministry_abbr, REQUEST_SLOT, message)


def send_templates(workspace: Workspace, result: DistributeResult, mailer: Mailer) -> dict[str, str]:
    """Every ministry's template (not the secretariat's own), each once; ministry → outcome
    (sent / saved / already / no-contact / failed). A message the server refused for now is
    recorded as failed and goes on the next ``--send``."""
    year = result.year
    rows = expected_ministries(workspace, year)
    to_files = isinstance(mailer, EmlMailer)
    outcomes: dict[str, str] = {}
    with run_lock(workspace.archive, "send-request", year), Outbox.open(workspace.ledger_url) as outbox:
        outbox.recover(year, REQUEST_KINDS)
        for t in result.templates:
            if t.ministry == workspace.config.secretariat.abbr:
                continue
            outcome = send_template_once(workspace, year, t.ministry, t.path, len(rows.get(t.ministry, [])), outbox, mailer)
            outcomes[t.ministry] = "saved" if to_files and outcome == "sent" else outcome
    return outcomes


# -- a person resolves what the outbox could not know -----------------------------------------------
def resolve_message(workspace: Workspace, year: int, message_id: str, delivered: bool) -> Entry:
    """After checking the mail server's log: ``delivered`` records it as sent (never sent again);
    otherwise as not delivered, so that the next run of its kind sends it once."""
    with Outbox.open(workspace.ledger_url) as outbox:
        entry = outbox.find(year, message_id)
        if entry is None:
            raise AnnexError(
                f"{year}年度の送信記録に Message-ID {message_id} はありません", hint="annex mail で要確認のメールを一覧できます"
            )
        if entry.state == "sent" and not delivered:
            raise AnnexError(f"{entry.message_id} は送信済みです（{entry.ministry}）。再送はしません")
        outbox.resolve(year, entry.ministry, entry.slot, "sent" if delivered else "failed")
        return outbox.find(year, message_id)  # type: ignore[return-value]
