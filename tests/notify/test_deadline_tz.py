"""A deadline at 23:59 JST checked from a machine whose clock and zone are UTC (issue 14): at the
boundary minutes the right slot, the right ministries, the right words (本日 / 締切を過ぎています,
days overdue) and the secretariat in Cc exactly from the deadline on — the clock fixed with
time-machine, the host's TZ set to UTC, "now" read as the CLI reads it."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine

from annex.model.config import JST, bundled_path
from annex.notify.reminders import MinistryStatus, compose, due, parse_instant
from annex.workspace.layout import Workspace
from annex.workspace.status import time_to_deadline

pytestmark = pytest.mark.reliability

UTC = dt.UTC


@pytest.fixture
def utc_host(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    assert time.strftime("%z") == "+0000"
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("late-deadline")
    (root / "config").mkdir()
    text = bundled_path("annex.yaml").read_text(encoding="utf-8")
    assert "deadline: 2026-05-29T17:00:00+09:00" in text
    (root / "config" / "annex.yaml").write_text(
        text.replace("deadline: 2026-05-29T17:00:00+09:00", "deadline: 2026-05-29T23:59:00+09:00"), encoding="utf-8"
    )
    return Workspace.at(root)


EXPECTED = {"文": ["r1"], "総": ["r2"], "経": ["r3"]}
STATUSES = {"経": MinistryStatus("経", "受理", "meti.xlsx"), "総": MinistryStatus("総", "差戻し", "soumu.xlsx", errors=2)}

# (the clock in UTC, the slot in force, what the reminder says, secretariat in Cc, annex status)
BOUNDARIES = [
    (dt.datetime(2026, 5, 21, 23, 59, tzinfo=UTC), None, None, None, "あと7日"),  # 5/22 08:59 JST (UTC date: 5/21)
    (dt.datetime(2026, 5, 22, 0, 0, tzinfo=UTC), "before-7", "あと7日", False, "あと7日"),  # 5/22 09:00 JST
    (dt.datetime(2026, 5, 28, 14, 59, tzinfo=UTC), "before-1", "あと1日", False, "あと1日"),  # 5/28 23:59 JST
    (dt.datetime(2026, 5, 28, 15, 0, tzinfo=UTC), "before-1", "提出締切は本日、", False, "本日締切"),  # 5/29 00:00 JST
    (dt.datetime(2026, 5, 29, 14, 58, tzinfo=UTC), "before-1", "提出締切は本日、", False, "本日締切"),  # 23:58 JST
    (
        dt.datetime(2026, 5, 29, 14, 59, tzinfo=UTC),
        "after-2026-05-29",
        "締切を過ぎています（提出締切 2026年5月29日（金） 23:59）",
        True,
        "締切を過ぎています",
    ),
    (
        dt.datetime(2026, 5, 29, 15, 0, tzinfo=UTC),
        "after-2026-05-29",
        "23:59、1日経過）",
        True,
        "締切を過ぎています（1日経過）",
    ),  # 5/30 00:00 JST
    (
        dt.datetime(2026, 5, 29, 23, 59, tzinfo=UTC),
        "after-2026-05-29",
        "1日経過",
        True,
        "締切を過ぎています（1日経過）",
    ),  # 5/30 08:59 JST
    (
        dt.datetime(2026, 5, 30, 0, 0, tzinfo=UTC),
        "after-2026-05-30",
        "1日経過",
        True,
        "締切を過ぎています（1日経過）",
    ),  # 5/30 09:00 JST
]


@pytest.mark.parametrize(
    ("clock", "slot_key", "says", "cc", "status"), BOUNDARIES, ids=[b[0].strftime("%m%d-%H%MZ") for b in BOUNDARIES]
)
def test_reminders_at_the_boundary_minutes_of_a_2359_jst_deadline_on_a_utc_host(
    utc_host, workspace, clock, slot_key, says, cc, status
):
    config = workspace.config
    with time_machine.travel(clock, tick=False):
        now = parse_instant(None)  # what `annex remind` without --at uses
        assert now == clock and dt.datetime.now().astimezone().utcoffset() == dt.timedelta(0)  # the host is in UTC
        slot, items = due(config, now, STATUSES, EXPECTED)
        assert time_to_deadline(config.settings.deadline, now) == status
        if slot_key is None:
            assert slot is None and items == []
            return
        assert slot.key == slot_key
        assert {(i.ministry.abbr, i.status.status) for i in items} == {("文", "未提出"), ("総", "差戻し")}  # 経 accepted
        message = compose(config, next(i for i in items if i.ministry.abbr == "文"), workspace.email_templates())
    text = message.get_body(("plain",)).get_content()
    assert says in text, text
    assert ("締切を過ぎています" in message["Subject"]) == cc
    assert (message["Cc"] == config.secretariat.email) == cc and (message["Cc"] is None) == (not cc)
    if not cc:
        assert "締切を過ぎています" not in text
    if "日経過" not in says and cc:
        assert "日経過" not in text  # the deadline minute itself: overdue, 0 days


def test_an_instant_typed_without_a_zone_is_japan_time_on_a_utc_host(utc_host):
    assert parse_instant("2026-05-29T23:59") == dt.datetime(2026, 5, 29, 14, 59, tzinfo=UTC)
    assert parse_instant("2026-05-29T23:59").astimezone(JST).hour == 23
