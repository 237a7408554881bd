"""Reminders: slots from config, who is due and why, the e-mail; and the flow against a real SMTP server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from annex.model.config import JST, shipped_template
from annex.notify.mail import template_environment
from annex.notify.reminders import MinistryStatus, compose, current_slot, due, slots
from annex.workspace.layout import Workspace

PROJECT_ROOT = Path(__file__).resolve().parents[2]

TEMPLATES = template_environment(shipped_template("email"))


@pytest.fixture(scope="module")
def config():
    return Workspace.at(PROJECT_ROOT / "tests" / "no-such-workspace").config  # the bundled defaults


def jst(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=JST)


# -- slots -------------------------------------------------------------------------------------


def test_slots_are_7_3_1_days_before_then_daily_after_the_deadline_at_send_time_jst(config):
    all_slots = slots(config.settings)  # deadline 2026-05-29 17:00 JST, window ends 2026-06-12 18:00
    keys = [s.key for s in all_slots]
    assert keys[:5] == ["before-7", "before-3", "before-1", "after-2026-05-29", "after-2026-05-30"]
    assert keys[-1] == "after-2026-06-12"
    assert len(keys) == 3 + 15
    # the deadline day's overdue slot begins at the deadline itself; every other one at send time
    assert all_slots[3].at == config.settings.deadline and all_slots[2].ends == config.settings.deadline
    assert all(s.at.astimezone(JST).strftime("%H:%M") == "09:00" for s in all_slots if s.key != "after-2026-05-29")
    assert all_slots[0].at == jst(2026, 5, 22, 9, 0)
    assert [s.after_deadline for s in all_slots[2:4]] == [False, True]
    assert all_slots[0].label == "締切7日前" and all_slots[4].label == "締切後（5月30日（土））"


def test_the_current_slot_runs_until_the_next_one_so_a_weekend_slot_goes_out_on_monday(config):
    all_slots = slots(config.settings)
    assert current_slot(all_slots, jst(2026, 5, 22, 8, 59)) is None
    assert current_slot(all_slots, jst(2026, 5, 22, 9, 0)).key == "before-7"
    assert current_slot(all_slots, jst(2026, 5, 25, 9, 0)).key == "before-7"  # Monday, still before-3's eve
    assert current_slot(all_slots, jst(2026, 5, 29, 16, 59)).key == "before-1"
    assert current_slot(all_slots, jst(2026, 5, 29, 17, 0)).key == "after-2026-05-29"  # no 「1日前」 after the deadline
    assert current_slot(all_slots, jst(2026, 5, 30, 0, 0)).key == "after-2026-05-29"
    assert current_slot(all_slots, jst(2026, 6, 1, 9, 0)).key == "after-2026-06-01"
    assert current_slot(all_slots, jst(2026, 6, 13, 9, 1)) is None  # window closed
    # the same instant written in UTC gives the same slot
    assert current_slot(all_slots, dt.datetime(2026, 5, 26, 0, 0, tzinfo=dt.UTC)).key == "before-3"
    with pytest.raises(ValueError):
        current_slot(all_slots, dt.datetime(2026, 5, 26, 9, 0))


# -- who is due, and why -----------------------------------------------------------------------

EXPECTED = {"文": ["r1", "r2"], "経": ["r3"], "総": ["r4"], "科技": ["r5"], "ＩＴ": ["r6"]}
STATUSES = {
    "経": MinistryStatus("経", "受理", "meti.xlsx"),
    "総": MinistryStatus("総", "差戻し", "soumu.xlsx", jst(2026, 5, 20, 10, 0), 4, {"L-TAG-UNKNOWN": 3, "L-TEXT-EMPTY": 1}),
}


def test_due_are_the_expected_ministries_without_an_accepted_submission(config):
    slot, items = due(config, jst(2026, 5, 26, 9, 0), STATUSES, EXPECTED)
    assert slot.key == "before-3"
    # 経 accepted; 科技 is the secretariat; ＩＴ is abolished; ministries without a template are not expected
    assert {(i.ministry.abbr, i.status.status) for i in items} == {("文", "未提出"), ("総", "差戻し")}
    reasons = {i.ministry.abbr: i.reason for i in items}
    assert reasons["文"] == "未提出（記入シート: 取組 2 件）"
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
    assert "まだ届いていません" in text and "担当の取組 2件" in text and "あと3日" in text
    assert "行分" not in text and "annex から" not in text
    assert config.secretariat.display_name in text and config.secretariat.display_name in str(missing["From"])

    returned = compose(config, next(i for i in after if i.ministry.abbr == "総"), TEMPLATES)
    assert returned["Cc"] == config.secretariat.email
    assert "【再提出のお願い】" in returned["Subject"]
    text = returned.get_body(("plain",)).get_content()
    assert "soumu.xlsx" in text and "略称表にないタグ（L-TAG-UNKNOWN）: 3件" in text
    assert "締切を過ぎています（提出締切 2026年5月29日（金） 17:00、3日経過）" in text
    html = returned.get_body(("html",)).get_content()
    assert "<li>略称表にないタグ（L-TAG-UNKNOWN）: 3件</li>" in html


def test_the_reminder_says_what_the_time_to_the_deadline_is_whenever_it_is_sent(config):
    """Every hour from the first slot to the window's end: before the deadline the days left (or
    「本日」) counted from that instant, from the deadline on 「締切を過ぎています」 with the
    secretariat in Cc — never a day left that is gone (issue 12, point 2)."""
    deadline = config.settings.deadline
    moment, seen = jst(2026, 5, 22, 9, 0), set()
    while (found := due(config, moment, {}, {"文": ["r1"]}))[0] is not None or moment < deadline:
        slot, items = found
        if slot is not None:
            message = compose(config, items[0], TEMPLATES)
            text = message.get_body(("plain",)).get_content()
            days = (deadline.date() - moment.date()).days
            if moment >= deadline:
                assert slot.after_deadline and "締切を過ぎています" in text and "あと" not in text, moment
                assert message["Cc"] == config.secretariat.email and "締切を過ぎています" in message["Subject"]
                over = (moment.date() - deadline.date()).days
                assert (f"、{over}日経過）" in text) == (over > 0), moment
            else:
                assert not slot.after_deadline and message["Cc"] is None, moment
                assert (f"あと{days}日" if days else "提出締切は本日、") in text, moment
            seen.add(slot.key)
        moment += dt.timedelta(hours=1)
    assert len(seen) == len(slots(config.settings))


def test_a_reminder_the_night_after_the_deadline_is_overdue_with_the_secretariat_in_copy(config):
    slot, items = due(config, jst(2026, 5, 30, 0, 0), {}, {"文": ["r1"]})
    message = compose(config, items[0], TEMPLATES)
    text = message.get_body(("plain",)).get_content()
    assert slot.key == "after-2026-05-29" and slot.label == "締切後（5月29日（金））"
    assert "締切を過ぎています（提出締切 2026年5月29日（金） 17:00、1日経過）" in text and "あと1日" not in text
    assert message["Cc"] == config.secretariat.email


def test_html_reminder_escapes_what_ministries_wrote(config):
    hostile = {"総": MinistryStatus("総", "差戻し", '<script>x"><a href=.xlsx', None, 1, {"L-TEXT-EMPTY": 1})}
    _, items = due(config, jst(2026, 5, 26, 9, 0), hostile, {"総": ["r"]})
    html = compose(config, items[0], TEMPLATES).get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html


# -- the flow, against a real SMTP server --------------------------------------------------------


@pytest.fixture
def reminder_workspace(sample_workspace, smtp):
    """The sample workspace, its mail going to the test's SMTP server, with ledger statuses recorded."""
    from annex.model.config import bundled_path

    port = smtp.port
    (sample_workspace / "config").mkdir(exist_ok=True)
    text = (
        bundled_path("annex.yaml")
        .read_text(encoding="utf-8")
        .replace("port: 8025", f"port: {port}")
        .replace("# host: 127.0.0.1", "host: 127.0.0.1")
    )
    (sample_workspace / "config" / "annex.yaml").write_text(text, encoding="utf-8")
    return Workspace.at(sample_workspace)


@pytest.fixture
def recorded(reminder_workspace):
    """The ledger: 文 and 経 accepted (経 after a returned version), 総 returned, nobody else has sent anything."""

    ledger = reminder_workspace.ledger()
    for n, (ministry, status, errors) in enumerate(
        [("経", "rejected", 2), ("文", "accepted", 0), ("経", "accepted_with_warnings", 0), ("総", "rejected", 4)]
    ):
        entry, _ = ledger.record_received(
            year=2026,
            path=f"{ministry}-{n}.xlsx",
            sha256=f"{n:064d}",
            size=1,
            archive_path=f"x/{n}",
            received_at=jst(2026, 5, 20, 10, n),
        )
        ledger.record_validation(entry.id, ministry=ministry, template_version="1", status=status, errors=errors, warnings=0)
    ledger.close()


def test_statuses_from_the_ledger_accepted_wins_else_the_newest_returned(reminder_workspace, recorded):
    from annex.workspace.notify import ledger_statuses

    statuses = ledger_statuses(reminder_workspace, 2026)
    assert {m: s.status for m, s in statuses.items()} == {"経": "受理", "文": "受理", "総": "差戻し"}
    assert statuses["総"].errors == 4 and statuses["総"].file == "総-3.xlsx"


@pytest.mark.e2e
def test_two_runs_for_the_same_slot_send_one_email_per_pending_ministry(prefect_server, smtp, reminder_workspace, recorded):
    from annex.workspace.notify import plan
    from flows.reminders import send_reminders

    sink = smtp
    ws = reminder_workspace
    before = "2026-05-26T09:00+09:00"  # slot before-3
    _, items = plan(ws, 2026, dt.datetime.fromisoformat(before))
    pending = {i.ministry.slug for i in items if i.recipients}
    assert len(pending) >= 10 and "mic" in pending

    first = send_reminders(str(ws.root), 2026, before)
    second = send_reminders(str(ws.root), 2026, before)

    assert len(sink.messages) == len(pending)
    counts = {m["Message-ID"] for _, m in sink.messages}
    assert len(counts) == len(pending)  # one per ministry, none twice
    assert all(f"-{slug}-before-3@" in " ".join(counts) for slug in pending)
    assert not any(slug in mid for mid in counts for slug in ("-mext-", "-meti-", "-csti-"))  # accepted, secretariat
    assert all(m["Cc"] is None and ws.config.secretariat.email not in rcpts for rcpts, m in sink.messages)
    assert {d["outcome"] for d in first["due"]} <= {"sent", "no-contact"}
    assert {d["outcome"] for d in second["due"]} <= {"already", "no-contact"}
    assert any("総: 差戻し（総-3.xlsx: エラー 4件）" in line for line in first["lines"])
    text = next(m for _, m in sink.messages if "-mic-" in m["Message-ID"]).get_body(("plain",)).get_content()
    assert "総-3.xlsx" in text and "エラー 4件" in text
    # the run refreshed status.html: the reminders just sent are on it
    page = (ws.output(2026) / "status.html").read_text(encoding="utf-8")
    soumu = page[page.index('data-ministry="総"') :].split("</tr>")[0]
    assert "<td>1回（最終: 締切3日前）</td>" in soumu


@pytest.mark.e2e
def test_after_the_deadline_the_secretariat_is_in_copy_and_a_crashed_send_is_not_repeated(
    prefect_server, smtp, reminder_workspace, recorded
):
    from annex.notify.outbox import Outbox
    from flows.reminders import send_reminders

    sink = smtp
    ws = reminder_workspace
    secretariat = ws.config.secretariat.email
    # A previous run died while handing 総's reminder to the server: its row is still queued.
    with Outbox.open(ws.ledger_url) as outbox:
        assert outbox.claim(
            2026, "総", "after-2026-06-01", message_id="<x>", recipients=["annex-contact@mic.example"], subject="s"
        )

    result = send_reminders(str(ws.root), 2026, "2026-06-01T09:00+09:00")

    assert sink.messages and all(m["Cc"] == secretariat and secretariat in rcpts for rcpts, m in sink.messages)
    assert not any("-mic-" in m["Message-ID"] for _, m in sink.messages)  # uncertain: a person decides
    assert [u["ministry"] for u in result["uncertain"]] == ["総"]
    assert any(line.startswith("  ! 要確認: 総") for line in result["lines"])
    with Outbox.open(ws.ledger_url) as outbox:
        assert outbox.state_of(2026, "総", "after-2026-06-01") == "uncertain"
        assert {e.state for e in outbox.entries(2026, slot="after-2026-06-01") if e.ministry != "総"} <= {"sent"}


def test_remind_dry_run_lists_who_and_why_without_prefect_or_mail(reminder_workspace, recorded, capsys, smtp):
    from flows.cli import main

    main(["remind", "--workspace", str(reminder_workspace.root), "--at", "2026-05-26T09:00+09:00", "--dry-run"])
    out = capsys.readouterr().out
    assert "締切3日前（before-3）" in out
    assert "  - 総: 差戻し（総-3.xlsx: エラー 4件） → 送信予定（宛先: annex-contact@mic.example）" in out
    assert "  - 文:" not in out and "  - 経:" not in out
    main(["remind", "--workspace", str(reminder_workspace.root), "--at", "2026-05-20T09:00+09:00", "--dry-run"])
    early = capsys.readouterr().out
    assert "次の督促は 2026年5月22日（金） 09:00（締切7日前）です" in early
    assert "次回の対象は" in early and "  - 総: 差戻し（総-3.xlsx: エラー 4件）" in early  # who, if nothing changes
    assert "  - 文:" not in early and "送信予定" not in early
    assert smtp.messages == []


def record_held(workspace, n: int, path: str, ministry: str | None) -> None:
    """A file held (保留: the machine failed to check it): received, its ministry noted, no verdict."""
    with workspace.open_ledger() as ledger:
        entry, _ = ledger.record_received(
            year=2026, path=path, sha256=f"{n:064d}", size=1, archive_path=f"x/{n}", received_at=jst(2026, 5, 21, 10, n)
        )
        held = ledger.record_held(entry.id, ministry=ministry)
    assert held.status == "received" and held.ministry == ministry and held.version is None


def test_a_held_file_is_submitted_so_its_ministry_is_not_reminded_and_dry_run_says_why(
    reminder_workspace, recorded, capsys, smtp
):
    """保留 is its own state: not 未提出 (no reminder), not 差戻し; beside an accepted version it stays 受理."""
    from annex.notify.reminders import HELD
    from annex.workspace.notify import ledger_statuses
    from flows.cli import main

    record_held(reminder_workspace, 10, "外務省_回答.xlsx", "外")  # its only file
    record_held(reminder_workspace, 11, "文-新.xlsx", "文")  # newer than its accepted version
    record_held(reminder_workspace, 12, "総-新.xlsx", "総")  # newer than its returned version
    record_held(reminder_workspace, 13, "回答.xlsx", None)  # no ministry could be told: counts for nobody
    statuses = ledger_statuses(reminder_workspace, 2026)
    assert {m: s.status for m, s in statuses.items()} == {"経": "受理", "文": "受理", "総": HELD, "外": HELD}
    assert statuses["文"].file == "文-1.xlsx"  # the accepted one is used
    assert statuses["外"].file == "外務省_回答.xlsx" and statuses["外"].errors == 0

    main(["remind", "--workspace", str(reminder_workspace.root), "--at", "2026-05-26T09:00+09:00", "--dry-run"])
    out = capsys.readouterr().out
    for abbr, name in (("外", "外務省_回答.xlsx"), ("総", "総-新.xlsx")):
        assert (
            f"  - {abbr}: 保留（検証待ち）（{name}）→ 送りません（提出物は受け取り済みで、処理側の問題で検証を保留しています"
            in out
        )
        assert f"  - {abbr}: 未提出" not in out and f"  - {abbr}: 差戻し" not in out
    assert "  - 文:" not in out
    main(["remind", "--workspace", str(reminder_workspace.root), "--at", "2026-05-20T09:00+09:00", "--dry-run"])
    early = capsys.readouterr().out  # no slot in force: who the next would remind, and who it would not
    assert "  - 外: 保留（検証待ち）（外務省_回答.xlsx）→ 送りません" in early and "  - 外: 未提出" not in early
    assert smtp.messages == []
