"""Reminders: which ministries are due at an instant, and why, and the e-mail each one gets.

Pure: slots come from config (deadline in JST, days before, daily after the deadline, send
time), the status of each ministry comes from the ledger, and the instant is given. Sending,
and remembering what was sent, belong to the outbox (annex/outbox.py) and the flow.

A slot is current from its instant until the next slot's (the last one for a day), so a slot
that falls on a weekend, when the schedule does not fire, is sent on the next working day, and
a slot already superseded is never sent late. No slot before the deadline outlives it: the first
after-deadline slot begins at the deadline itself, and what a message says (days left, days
overdue) is computed from the instant it is composed for, never from the slot's own date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from annex.model.config import Config, Ministry, Settings
from annex.model.errors import InputError
from annex.model.labels import JST, format_date, format_instant
from annex.model.rules import RULES
from annex.notify.mail import compose_message, sender_of
from annex.notify.mail import message_id as mail_message_id

Status = Literal["受理", "差戻し", "保留（検証待ち）", "未提出"]
# A ministry whose newest file is held (the machine failed to check it, not the file): it has
# submitted, so it is neither reminded nor told 差戻し; the next run checks the file again.
HELD: Status = "保留（検証待ち）"
AFTER_DEADLINE_DAYS_WITHOUT_WINDOW = 30


@dataclass(frozen=True)
class Slot:
    key: str  # stable: "before-7", "after-2026-05-30"; with the year and ministry, the outbox key
    at: dt.datetime  # aware, Asia/Tokyo
    days_before: int | None  # None after the deadline
    ends: dt.datetime | None = None  # when the next slot (or the deadline) takes over; None: a day later

    @property
    def after_deadline(self) -> bool:
        return self.days_before is None

    @property
    def label(self) -> str:
        if self.days_before is not None:
            return f"締切{self.days_before}日前"
        return f"締切後（{format_date(self.at)}）"


@dataclass(frozen=True)
class MinistryStatus:
    """What the ledger says about one ministry this year (its latest submission)."""

    ministry: str  # abbr
    status: Status
    file: str | None = None
    received_at: dt.datetime | None = None
    errors: int = 0
    issue_counts: dict[str, int] = field(default_factory=dict)  # rule code → count, where known
    sha256: str | None = None  # of that submission: finds its feedback workbook
    version: int | None = None  # its version number (1, 2, … per ministry in order of receipt)


@dataclass(frozen=True)
class Due:
    ministry: Ministry
    slot: Slot
    status: MinistryStatus
    rows: int  # rows (取組) of the template the ministry owns or appears in
    at: dt.datetime | None = None  # the instant the reminder is for (days left / overdue count from it)
    # What the message attaches: the ministry's template again (未提出) or its marked workbook
    # (差戻し), as (file, the name the officer sees); filled in where the workspace is known.
    attachment: tuple[Path, str] | None = None

    @property
    def reason(self) -> str:
        s = self.status
        if s.status == "未提出":
            return f"未提出（記入シート: 取組 {self.rows} 件）"
        counts = "、".join(f"{code} {n}件" for code, n in s.issue_counts.items()) or f"エラー {s.errors}件"
        return f"差戻し（{Path(s.file).name if s.file else '-'}: {counts}）"

    @property
    def recipients(self) -> list[str]:
        return list(self.ministry.contacts)


def _at(day: dt.date, send_time: str) -> dt.datetime:
    hour, minute = (int(p) for p in send_time.split(":"))
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=JST)


def slots(settings: Settings) -> list[Slot]:
    """Every reminder slot of the year, in time order, each with the instant the next one takes over."""
    deadline = settings.deadline.astimezone(JST)
    r = settings.reminders
    starts: list[tuple[str, dt.datetime, int | None]] = []
    for days in sorted(set(r.days_before), reverse=True):
        at = _at(deadline.date() - dt.timedelta(days=days), r.send_time)
        if at < deadline:
            starts.append((f"before-{days}", at, days))
    if r.daily_after_deadline:
        window = settings.collection_window
        end = window.end.astimezone(JST) if window else deadline + dt.timedelta(days=AFTER_DEADLINE_DAYS_WITHOUT_WINDOW)
        day = deadline.date()
        while (at := _at(day, r.send_time)) <= end:
            if at > deadline:
                starts.append((f"after-{day.isoformat()}", at, None))
            elif day == deadline.date():
                # The deadline day's send time has passed when the deadline falls: the overdue slot
                # of that day begins at the deadline, so no 「締切1日前」 survives the deadline.
                starts.append((f"after-{day.isoformat()}", deadline, None))
            day += dt.timedelta(days=1)
    result = []
    for i, (key, at, days) in enumerate(starts):
        ends = starts[i + 1][1] if i + 1 < len(starts) else at + dt.timedelta(days=1)
        if days is not None:
            ends = min(ends, deadline)
        result.append(Slot(key, at, days, ends))
    return result


def current_slot(all_slots: list[Slot], at: dt.datetime) -> Slot | None:
    """The slot in force at an instant: the latest one begun, until the next begins (a slot before
    the deadline ends at the deadline; the last one after a day)."""
    if at.tzinfo is None:
        raise ValueError("reminder instants must carry a time zone")
    for slot in all_slots:
        ends = slot.ends or slot.at + dt.timedelta(days=1)
        if slot.at <= at < ends:
            return slot
    return None


def due(
    config: Config,
    at: dt.datetime,
    statuses: dict[str, MinistryStatus],
    expected: dict[str, list[str]],
) -> tuple[Slot | None, list[Due]]:
    """Who is to be reminded at ``at``: each expected ministry without an accepted submission.

    ``expected`` maps ministry abbr → the row ids of its template (who was sent one). The
    secretariat and abolished ministries are never reminded.
    """
    slot = current_slot(slots(config.settings), at)
    if slot is None:
        return None, []
    result = []
    for ministry in config.ministries:
        if ministry.abbr not in expected or ministry.abolished or ministry.abbr == config.secretariat.abbr:
            continue
        status = statuses.get(ministry.abbr) or MinistryStatus(ministry.abbr, "未提出")
        if status.status in ("受理", HELD):
            continue
        result.append(Due(ministry, slot, status, len(expected[ministry.abbr]), at))
    return slot, result


def held_back(config: Config, statuses: dict[str, MinistryStatus], expected: dict[str, list[str]]) -> list[MinistryStatus]:
    """The expected ministries not reminded because their file is held (保留): listed with why."""
    return [
        statuses[m.abbr]
        for m in config.ministries
        if m.abbr in expected and m.abbr in statuses and statuses[m.abbr].status == HELD
    ]


def held_lines(held: list[MinistryStatus]) -> list[str]:
    return [
        f"  - {s.ministry}: {HELD}（{Path(s.file).name if s.file else '-'}）→ 送りません"
        "（提出物は受け取り済みで、処理側の問題で検証を保留しています。次回の実行で検証します）"
        for s in held
    ]


# -- the e-mail ----------------------------------------------------------------------------------


def message_id(year: int, ministry: Ministry, slot: Slot, sender: str) -> str:
    """Deterministic, so the mail server's log proves what was sent for an uncertain entry."""
    return mail_message_id(f"{year}-{ministry.slug}-{slot.key}", sender)


def compose(config: Config, item: Due, templates) -> EmailMessage:
    """The reminder for one ministry (one ministry per message; the secretariat in Cc after the deadline).

    ``templates``: the jinja2 environment of the e-mail templates (annex.notify.mail.template_environment).
    """
    settings = config.settings
    deadline = settings.deadline
    # From the instant the reminder is for, not the slot's date: a slot sent late (a weekend, a
    # manual run) must not promise a day that has already gone.
    moment = (item.at or item.slot.at).astimezone(JST)
    after_deadline = item.slot.after_deadline or moment >= deadline
    days_left = (deadline.astimezone(JST).date() - moment.date()).days
    issues = [
        {"code": code, "title": RULES[code].title if code in RULES else code, "count": count}
        for code, count in item.status.issue_counts.items()
    ]
    context = {
        "title": settings.title,
        "year": settings.year,
        "ministry": item.ministry.names[0],
        "abbr": item.ministry.abbr,
        "status": item.status.status,
        # Only the name the ministry gave its file: the folder is the secretariat's own business.
        "file": Path(item.status.file).name if item.status.file else None,
        "received_at": format_instant(item.status.received_at) if item.status.received_at else None,
        "issues": issues,
        "errors": item.status.errors,
        "rows": item.rows,
        "deadline": format_instant(deadline),
        "after_deadline": after_deadline,
        "days_left": days_left,
        "days_over": -days_left,  # 0 on the deadline day, after the deadline hour
        "secretariat": config.secretariat,
        "attachment": item.attachment[1] if item.attachment else None,
    }
    kind = "再提出のお願い" if item.status.status == "差戻し" else "提出のお願い"
    when = "締切を過ぎています" if after_deadline else f"締切 {format_instant(deadline)}"
    cc = [config.secretariat.email] if after_deadline and settings.reminders.cc_secretariat_after_deadline else None
    return compose_message(
        templates,
        "reminder",
        context,
        subject=f"【{kind}】{settings.title}（{when}）",
        sender=sender_of(config),
        to=item.recipients,
        cc=cc,
        message_id=message_id(settings.year, item.ministry, item.slot, settings.smtp.sender),
        attachment=(item.attachment[0].read_bytes(), item.attachment[1]) if item.attachment else None,
    )


# -- the edges: reading the instant, the templates sent and the ledger ------------------------------


def parse_instant(text: str | None, now: dt.datetime | None = None) -> dt.datetime:
    """An ISO instant (2026-05-20T09:00+09:00); without a zone it is Japan time; None is now."""
    if text is None:
        return now or dt.datetime.now(JST)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"日時として読めません: {text}", hint="例: 2026-05-20T09:00+09:00") from None
    return moment.replace(tzinfo=JST) if moment.tzinfo is None else moment


# -- a run's report ----------------------------------------------------------------------------------

OUTCOME_JA = {
    "sent": "送信しました",
    "saved": ".eml ファイルに保存しました",
    "failed": "送信失敗（メールサーバーが受け付けません。宛先を確認してください）",
    "deferred": "一時的に送れませんでした（次回の実行で送ります）",
    "unreachable": "未送信（次回の実行で送ります）",
    "uncertain": "要確認（届いたか不明のため自動では再送しません）",
    "already": "この回は送信済みのため送りません",
    "no-contact": "宛先未登録（config/ministries.yaml の contacts に登録してください）",
    "would-send": "送信予定",
}


@dataclass
class ReminderReport:
    year: int
    at: dt.datetime
    slot: Slot | None
    items: list[Due]
    outcomes: dict[str, str]  # ministry abbr → key of OUTCOME_JA
    uncertain: list = field(default_factory=list)  # outbox entries a person must check
    all_slots: list[Slot] = field(default_factory=list)
    upcoming: list[Due] = field(default_factory=list)  # no slot in force: who the next slot would remind
    mail_folder: str | None = None  # no mail server configured: where the messages are saved as .eml
    unreachable: str | None = None  # why the mail server could not be reached (nothing was sent)
    held: list[MinistryStatus] = field(default_factory=list)  # not reminded: their file is held (保留)

    def count(self, outcome: str) -> int:
        return sum(1 for o in self.outcomes.values() if o == outcome)

    def lines(self) -> list[str]:
        head = f"督促 {self.year}年度 {format_instant(self.at)} 時点"
        if self.slot is None:
            upcoming = [s for s in self.all_slots if s.at > self.at]
            after = (
                f"次の督促は {format_instant(upcoming[0].at)}（{upcoming[0].label}）です"
                if upcoming
                else "督促の期間は終わりました"
            )
            lines = [f"{head}: 督促の時期ではありません。{after}"]
            if self.upcoming:
                lines.append(f"  現時点の提出状況のままなら、次回の対象は {len(self.upcoming)} 府省庁です:")
                lines += [f"  - {i.ministry.abbr}: {i.reason}" for i in self.upcoming]
            return lines + held_lines(self.held)
        lines = [f"{head}: {self.slot.label}（{self.slot.key}）— 対象 {len(self.items)} 府省庁"]
        if self.unreachable and (waiting := self.count("unreachable")):
            lines.append(f"  {self.unreachable}。督促 {waiting} 件は送らず、次回の実行で送ります")
        for item in self.items:
            lines.append(
                f"  - {item.ministry.abbr}: {item.reason} → {OUTCOME_JA[self.outcomes[item.ministry.abbr]]}"
                + (f"（宛先: {', '.join(item.recipients)}）" if item.recipients else "")
            )
        if self.mail_folder and self.items:
            lines.append(f"  メールサーバーが設定されていないため、メールは {self.mail_folder} に .eml ファイルとして保存します")
        return lines + held_lines(self.held) + check_lines(self.uncertain)

    def to_dict(self) -> dict:
        return {
            "year": self.year,
            "at": self.at.isoformat(),
            "slot": self.slot.key if self.slot else None,
            "due": [
                {
                    "ministry": i.ministry.abbr,
                    "status": i.status.status,
                    "reason": i.reason,
                    "recipients": i.recipients,
                    "outcome": self.outcomes[i.ministry.abbr],
                }
                for i in self.items
            ],
            "counts": {o: self.count(o) for o in sorted(set(self.outcomes.values()))},
            "uncertain": [{"ministry": e.ministry, "slot": e.slot, "message_id": e.message_id} for e in self.uncertain],
            "unreachable": self.unreachable,
            "held": [{"ministry": s.ministry, "file": Path(s.file).name if s.file else None} for s in self.held],
            "mail_folder": self.mail_folder,
            "lines": self.lines(),
        }


RESOLVE_HINT = (
    "    確認のしかた: メールサーバーの記録で Message-ID を探し、届いていれば annex mail --sent <Message-ID>、"
    "届いていなければ annex mail --resend <Message-ID>（次回の実行で1回だけ送ります）"
)


def check_lines(entries) -> list[str]:
    """The messages a person must check (outbox entries uncertain or left queued), and how."""
    if not entries:
        return []
    lines = [
        f"  ! 要確認: {e.ministry} {e.slot}（{e.message_id}、宛先 {e.recipients}）— {e.error or e.state_ja}" for e in entries
    ]
    return [*lines, RESOLVE_HINT]


def statuses_from_ledger(entries) -> dict[str, MinistryStatus]:
    """Ministry → 受理 if any of its submissions was accepted (the newest accepted one is merged,
    whatever newer file is held), else 保留（検証待ち） or 差戻し as its newest file is held (no
    verdict yet: the machine failed) or returned. Files whose ministry could not be told count
    for nobody."""
    result: dict[str, MinistryStatus] = {}
    for e in entries:  # in order of receipt
        if not e.ministry:
            continue
        if e.status == "received":  # a held file (annex.intake.ledger.record_held)
            if e.ministry not in result or result[e.ministry].status != "受理":
                result[e.ministry] = MinistryStatus(e.ministry, HELD, e.path, e.received_at, sha256=e.sha256)
        elif e.accepted:
            result[e.ministry] = MinistryStatus(e.ministry, "受理", e.path, e.received_at, sha256=e.sha256, version=e.version)
        elif e.ministry not in result or result[e.ministry].status != "受理":
            result[e.ministry] = MinistryStatus(
                e.ministry, "差戻し", e.path, e.received_at, e.errors, sha256=e.sha256, version=e.version
            )
    return result
