"""The outbox: every e-mail with a side effect is recorded before and after it is sent.

Measured (research/reliability_security.md §0 item 10, §4 S7): after a kill -9 in the middle of
20 reminders, Prefect's default cache re-sent 8 on the re-run and input-keyed caching still 1;
only our own states got it to 0, with the message in flight flagged for a person.

States, per (year, ministry, slot) — a slot is a reminder slot such as ``before-7`` or
``after-2026-06-01``, or any other once-only message key:

    queued ──send ok──────────────▶ sent       (250 for the body; whatever QUIT answers)
       │  └─refused / unreachable───▶ failed     (nothing delivered: a later run sends it again)
       ├──body sent, answer lost───▶ uncertain  (maybe delivered: never re-sent automatically)
       └──crash────────────────────▶ uncertain  (found queued by the next run of its kind)

An uncertain message is listed for a person, who checks the mail server's log for its
deterministic Message-ID and records what happened (``annex mail --sent`` / ``--resend``).

The table lives in the same database as the ledger (``Workspace.ledger_url``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from annex.io.database import engine_for
from annex.io.faults import checkpoint
from annex.notify.mail import Mailer, MailError, MailUncertain

State = Literal["queued", "sent", "failed", "uncertain"]
STATE_JA: dict[str, str] = {
    "queued": "要確認（送信中のまま）",
    "sent": "送信済み",
    "failed": "未送信（送信失敗）",
    "uncertain": "要確認（届いたか不明）",
}
CRASHED = "送信中に実行が中断されました。届いたかどうかはメールサーバーの記録で確認してください。"

metadata = MetaData()
outbox_table = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("year", Integer, nullable=False),
    Column("ministry", String(64), nullable=False),
    Column("slot", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("recipients", Text, nullable=False),  # comma-separated To + Cc, for the person who checks
    Column("subject", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("year", "ministry", "slot", name="uq_outbox_year_ministry_slot"),
)


@dataclass(frozen=True)
class Entry:
    year: int
    ministry: str
    slot: str
    state: State
    message_id: str
    recipients: str
    subject: str
    attempts: int
    error: str | None
    updated_at: dt.datetime

    @property
    def state_ja(self) -> str:
        return STATE_JA[self.state]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Outbox:
    def __init__(self, url: str):
        self.engine = engine_for(url)
        metadata.create_all(self.engine)

    @classmethod
    @contextlib.contextmanager
    def open(cls, url: str) -> Iterator["Outbox"]:
        outbox = cls(url)
        try:
            yield outbox
        finally:
            outbox.close()

    def close(self) -> None:
        self.engine.dispose()

    # -- a run's lifecycle ---------------------------------------------------------------------
    def recover(self, year: int, kinds: tuple[str, ...] | None = None) -> list[Entry]:
        """At the start of a run: a message of its kinds (slot prefixes: ``feedback-``, ``before-`` …;
        None: all) still queued was in flight when an earlier run died. The caller holds the lock
        of the runs that send those kinds, so no live run can still be sending them. Returns every
        uncertain entry of the year (those of other kinds too: all wait for the same person)."""
        t = outbox_table
        where = [t.c.year == year, t.c.state == "queued"]
        if kinds is not None:
            where.append(or_(*(t.c.slot.startswith(k, autoescape=True) for k in kinds)))
        with self.engine.begin() as conn:
            conn.execute(update(t).where(*where).values(state="uncertain", error=CRASHED, updated_at=_now()))
        return self.to_check(year)

    def to_check(self, year: int) -> list[Entry]:
        """What a person must look at: uncertain messages, and queued ones a run left behind."""
        return [e for e in self.entries(year) if e.state in ("uncertain", "queued")]

    def claim(self, year: int, ministry: str, slot: str, *, message_id: str, recipients: list[str], subject: str) -> bool:
        """Record the intent to send; False if this message was already sent, is uncertain or in flight.

        A ``failed`` row may be claimed again: nothing reached the recipient.
        """
        t = outbox_table
        now = _now()
        values = dict(
            state="queued", message_id=message_id, recipients=", ".join(recipients), subject=subject, error=None, updated_at=now
        )
        with self.engine.begin() as conn:
            try:
                conn.execute(insert(t).values(year=year, ministry=ministry, slot=slot, attempts=1, created_at=now, **values))
                return True
            except IntegrityError:
                pass
        with self.engine.begin() as conn:
            result = conn.execute(
                update(t)
                .where(t.c.year == year, t.c.ministry == ministry, t.c.slot == slot, t.c.state == "failed")
                .values(attempts=t.c.attempts + 1, **values)
            )
            return result.rowcount == 1

    def mark_sent(self, year: int, ministry: str, slot: str, note: str | None = None) -> None:
        self._set(year, ministry, slot, "sent", note)

    def mark_failed(self, year: int, ministry: str, slot: str, error: str) -> None:
        self._set(year, ministry, slot, "failed", error)

    def mark_uncertain(self, year: int, ministry: str, slot: str, error: str) -> None:
        self._set(year, ministry, slot, "uncertain", error)

    def resolve(self, year: int, ministry: str, slot: str, state: Literal["sent", "failed"]) -> None:
        """A person decided what happened to an uncertain message (failed lets a later run re-send)."""
        note = (
            "担当者が届いたことを確認しました"
            if state == "sent"
            else "担当者が届いていないことを確認しました（次回の実行で再送）"
        )
        self._set(year, ministry, slot, state, note)

    def find(self, year: int, message_id: str) -> Entry | None:
        """The entry of a Message-ID, written with or without its angle brackets."""
        wanted = message_id.strip().strip("<>")
        return next((e for e in self.entries(year) if e.message_id.strip("<>") == wanted), None)

    def _set(self, year: int, ministry: str, slot: str, state: State, error: str | None) -> None:
        t = outbox_table
        with self.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.year == year, t.c.ministry == ministry, t.c.slot == slot)
                .values(state=state, error=error, updated_at=_now())
            )

    # -- reading -----------------------------------------------------------------------------
    def entries(self, year: int, *, state: State | None = None, slot: str | None = None) -> list[Entry]:
        t = outbox_table
        query = select(t).where(t.c.year == year).order_by(t.c.slot, t.c.ministry)
        if state is not None:
            query = query.where(t.c.state == state)
        if slot is not None:
            query = query.where(t.c.slot == slot)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Entry(
                year=r["year"],
                ministry=r["ministry"],
                slot=r["slot"],
                state=r["state"],
                message_id=r["message_id"],
                recipients=r["recipients"],
                subject=r["subject"],
                attempts=r["attempts"],
                error=r["error"],
                updated_at=r["updated_at"],
            )
            for r in rows
        ]

    def state_of(self, year: int, ministry: str, slot: str) -> State | None:
        t = outbox_table
        with self.engine.connect() as conn:
            return conn.execute(
                select(t.c.state).where(t.c.year == year, t.c.ministry == ministry, t.c.slot == slot)
            ).scalar_one_or_none()


# -- sending through the outbox --------------------------------------------------------------------

# What deliver() says happened to one message:
#   sent       the server took it (now, or: some recipients refused, the others got it)
#   already    sent by an earlier run: nothing to do
#   uncertain  maybe delivered (the answer to the body was lost, or an earlier run died while
#              sending): never re-sent automatically, listed for a person
#   deferred   not delivered, the server refused for now (4xx, unreachable): the next run sends it
#   failed     not delivered, refused for good (5xx): a person fixes the address or the server
Outcome = Literal["sent", "already", "uncertain", "deferred", "failed"]


def deliver(
    outbox: Outbox,
    mailer: Mailer,
    year: int,
    ministry: str,
    slot: str,
    message: EmailMessage,
    *,
    retries: int = 0,
    retry_delay: float = 0.0,
    sleep=time.sleep,
) -> Outcome:
    """Send one once-only message. A transient failure is tried again ``retries`` times,
    ``retry_delay`` seconds apart, here (seconds, not the minutes of a task retry), then left
    for the next run; a permanent one is not tried again; a maybe-delivered one never is."""
    recipients = [a.strip() for h in ("To", "Cc") for a in (message.get(h) or "").split(",") if a.strip()]
    if not outbox.claim(
        year, ministry, slot, message_id=message["Message-ID"], recipients=recipients, subject=message["Subject"]
    ):
        return "already" if outbox.state_of(year, ministry, slot) == "sent" else "uncertain"
    attempt = 0
    while True:
        try:
            refused = mailer.send(message) or {}
        except MailUncertain as exc:
            outbox.mark_uncertain(year, ministry, slot, str(exc))
            return "uncertain"
        except MailError as exc:
            if exc.permanent or attempt >= retries:
                outbox.mark_failed(year, ministry, slot, str(exc))
                return "failed" if exc.permanent else "deferred"
            attempt += 1
            sleep(retry_delay)
            continue
        checkpoint("mail:delivered", slot)  # the server has it, the outbox does not know yet
        note = "; ".join(f"受信拒否 {address}: {reason}" for address, reason in refused.items()) or None
        outbox.mark_sent(year, ministry, slot, note)  # sent: it reached the others, and must not go twice
        return "sent"
