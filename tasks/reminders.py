"""Reminder tasks: plan who is due, send each reminder through the outbox (at most once per slot)."""

from __future__ import annotations

import datetime as dt

from prefect import task
from prefect.cache_policies import NO_CACHE

from annex.notify import reminders
from annex.notify.outbox import Entry, Outbox, Outcome
from annex.workspace import notify
from annex.workspace.layout import Workspace
from tasks.mailer import mailer_for


@task(name="outbox-recover", cache_policy=NO_CACHE)
def recover_outbox(ws: Workspace, year: int, kinds: tuple[str, ...] = notify.REMINDER_KINDS) -> list[Entry]:
    """Messages of these kinds left queued by a crashed run become 'uncertain' (never re-sent
    automatically); returns every message of the year a person must check."""
    return notify.recover(ws, year, kinds)


@task(name="plan-reminders", cache_policy=NO_CACHE)
def plan_reminders(ws: Workspace, year: int, at: dt.datetime) -> tuple[reminders.Slot | None, list[reminders.Due]]:
    return notify.plan(ws, year, at)


@task(name="send-reminder", task_run_name="remind-{item.ministry.slug}", cache_policy=NO_CACHE)
def send_reminder(ws: Workspace, year: int, item: reminders.Due) -> Outcome:
    with Outbox.open(ws.ledger_url) as outbox:
        return notify.send_reminder_once(ws, year, item, outbox, mailer_for(ws, year))
