"""Reminder tasks: plan who is due, send each reminder through the outbox (retried on SMTP trouble)."""

from __future__ import annotations

import datetime as dt

from prefect import task
from prefect.cache_policies import NO_CACHE

from annex.notify import reminders
from annex.notify.outbox import Entry, Outbox, State, deliver
from annex.workspace import notify
from annex.workspace.layout import Workspace
from tasks.mailer import MAIL_RETRIES, mailer_for


@task(name="outbox-recover", cache_policy=NO_CACHE)
def recover_outbox(ws: Workspace, year: int) -> list[Entry]:
    """Messages left queued by a crashed run become 'uncertain' (never re-sent automatically)."""
    with Outbox.open(ws.ledger_url) as outbox:
        return outbox.recover(year)


@task(name="plan-reminders", cache_policy=NO_CACHE)
def plan_reminders(ws: Workspace, year: int, at: dt.datetime) -> tuple[reminders.Slot | None, list[reminders.Due]]:
    return notify.plan(ws, year, at)


@task(name="send-reminder", task_run_name="remind-{item.ministry.slug}", cache_policy=NO_CACHE, **MAIL_RETRIES)
def send_reminder(ws: Workspace, year: int, item: reminders.Due) -> State | None:
    message = reminders.compose(ws.config, item, ws.email_templates())
    with Outbox.open(ws.ledger_url) as outbox:
        return deliver(outbox, mailer_for(ws, year), year, item.ministry.abbr, item.slot.key, message)
