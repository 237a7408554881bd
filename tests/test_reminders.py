"""Reminders: slots from config, who is due and why, the e-mail; and the flow against a real SMTP server."""

from __future__ import annotations

import datetime as dt

import pytest

from annex.config import JST
from annex.reminders import MinistryStatus, compose, current_slot, due, slots
from annex.workspace import PROJECT_ROOT, Workspace

TEMPLATES = PROJECT_ROOT / "templates" / "email"


@pytest.fixture(scope="module")
def config():
    return Workspace.at(PROJECT_ROOT / "tests" / "no-such-workspace").config  # the bundled defaults


def jst(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=JST)


# -- slots -------------------------------------------------------------------------------------


def test_slots_are_7_3_1_days_before_then_daily_after_the_deadline_at_send_time_jst(config):
    all_slots = slots(config.settings)  # deadline 2026-05-29 17:00 JST, window ends 2026-06-12 18:00
    keys = [s.key for s in all_slots]
    assert keys[:4] == ["before-7", "before-3", "before-1", "after-2026-05-30"]
    assert keys[-1] == "after-2026-06-12"
    assert len(keys) == 3 + 14
    assert all(s.at.astimezone(JST).strftime("%H:%M") == "09:00" for s in all_slots)
    assert all_slots[0].at == jst(2026, 5, 22, 9, 0)
    assert [s.after_deadline for s in all_slots[2:4]] == [False, True]
    assert all_slots[0].label == "締切7日前" and all_slots[3].label == "締切後（5月30日（土））"


def test_the_current_slot_runs_until_the_next_one_so_a_weekend_slot_goes_out_on_monday(config):
    all_slots = slots(config.settings)
    assert current_slot(all_slots, jst(2026, 5, 22, 8, 59)) is None
    assert current_slot(all_slots, jst(2026, 5, 22, 9, 0)).key == "before-7"
    assert current_slot(all_slots, jst(2026, 5, 25, 9, 0)).key == "before-7"  # Monday, still before-3's eve
    assert current_slot(all_slots, jst(2026, 5, 29, 16, 59)).key == "before-1"
    assert current_slot(all_slots, jst(2026, 5, 29, 17, 1)).key == "before-1"  # deadline passed, no new slot yet
    assert current_slot(all_slots, jst(2026, 6, 1, 9, 0)).key == "after-2026-06-01"
    assert current_slot(all_slots, jst(2026, 6, 13, 9, 1)) is None  # window closed
    # the same instant written in UTC gives the same slot
    assert current_slot(all_slots, dt.datetime(2026, 5, 26, 0, 0, tzinfo=dt.timezone.utc)).key == "before-3"
    with pytest.raises(ValueError):
        current_slot(all_slots, dt.datetime(2026, 5, 26, 9, 0))


# -- who is due, and why -----------------------------------------------------------------------

EXPECTED = {"文": ["r1", "r2"], "経": ["r3"], "総": ["r4"], "科技": ["r5"], "ＩＴ": ["r6"]}
STATUSES = {
    "経": MinistryStatus("経", "受理", "meti.xlsx"),
    "総": MinistryStatus("総", "差戻し", "soumu.xlsx", jst(2026, 5, 20, 10, 0), {"L-TAG-UNKNOWN": 3, "L-TEXT-EMPTY": 1}),
}


def test_due_are_the_expected_ministries_without_an_accepted_submission(config):
    slot, items = due(config, jst(2026, 5, 26, 9, 0), STATUSES, EXPECTED)
    assert slot.key == "before-3"
    # 経 accepted; 科技 is the secretariat; ＩＴ is abolished; ministries without a template are not expected
    assert {(i.ministry.abbr, i.status.status) for i in items} == {("文", "未提出"), ("総", "差戻し")}
    reasons = {i.ministry.abbr: i.reason for i in items}
    assert reasons["文"] == "未提出（様式 2 行分）"
    assert reasons["総"] == "差戻し（soumu.xlsx: L-TAG-UNKNOWN 3件、L-TEXT-EMPTY 1件）"
    assert due(config, jst(2026, 5, 1, 9, 0), STATUSES, EXPECTED) == (None, [])


def test_the_reminder_names_what_is_missing_and_cc_the_secretariat_only_after_the_deadline(config):
    _, before = due(config, jst(2026, 5, 26, 9, 0), STATUSES, EXPECTED)
    _, after = due(config, jst(2026, 6, 1, 9, 0), STATUSES, EXPECTED)
    missing = compose(config, next(i for i in before if i.ministry.abbr == "文"), TEMPLATES)
    assert missing["To"] == "annex-contact@mext.example" and missing["Cc"] is None
    assert missing["Message-ID"] == "<annex-2026-mext-before-3@csti.example>"
    assert "【提出のお願い】" in missing["Subject"] and "\n" not in missing["Subject"]
    text = missing.get_body(("plain",)).get_content()
    assert "まだ届いていません" in text and "2行分" in text and "あと3日" in text

    returned = compose(config, next(i for i in after if i.ministry.abbr == "総"), TEMPLATES)
    assert returned["Cc"] == config.secretariat.email
    assert "【再提出のお願い】" in returned["Subject"]
    text = returned.get_body(("plain",)).get_content()
    assert "soumu.xlsx" in text and "略称表にないタグ（L-TAG-UNKNOWN）: 3件" in text and "3日過ぎています" in text
    html = returned.get_body(("html",)).get_content()
    assert "<li>略称表にないタグ（L-TAG-UNKNOWN）: 3件</li>" in html


def test_html_reminder_escapes_what_ministries_wrote(config):
    hostile = {"総": MinistryStatus("総", "差戻し", '<script>x</script>"><a href=.xlsx', None, {"L-TEXT-EMPTY": 1})}
    _, items = due(config, jst(2026, 5, 26, 9, 0), hostile, {"総": ["r"]})
    html = compose(config, items[0], TEMPLATES).get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
