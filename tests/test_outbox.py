"""The outbox: at most one e-mail per (year, ministry, slot), and a crash leaves it 'uncertain'."""

from __future__ import annotations

import os

import pytest

from annex.outbox import Outbox


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(f"sqlite:///{tmp_path / 'archive' / 'ledger.sqlite'}")
    yield box
    box.close()


def _claim(box: Outbox, ministry: str = "文", slot: str = "before-7") -> bool:
    return box.claim(2026, ministry, slot, message_id=f"<{ministry}-{slot}@x>", recipients=["a@x.example"], subject="件名")


def test_a_message_is_claimed_once_and_a_failed_one_may_be_claimed_again(outbox):
    assert _claim(outbox)
    assert not _claim(outbox)  # queued: in flight
    outbox.mark_failed(2026, "文", "before-7", "451 try later")
    assert _claim(outbox)  # nothing reached the ministry: may be sent again
    outbox.mark_sent(2026, "文", "before-7")
    assert not _claim(outbox)
    assert _claim(outbox, slot="before-3") and _claim(outbox, ministry="経")
    [entry] = [e for e in outbox.entries(2026, slot="before-7") if e.ministry == "文"]
    assert entry.state == "sent" and entry.attempts == 2


def test_a_queued_message_found_at_start_becomes_uncertain_and_is_not_sent_again(outbox):
    assert _claim(outbox)  # the run died here, before the server answered
    [uncertain] = outbox.recover(2026)
    assert (uncertain.ministry, uncertain.slot, uncertain.state) == ("文", "before-7", "uncertain")
    assert "確認" in uncertain.error and uncertain.state_ja.startswith("要確認")
    assert not _claim(outbox)
    outbox.resolve(2026, "文", "before-7", "failed")  # a person found it was never delivered
    assert _claim(outbox)


@pytest.mark.postgres
def test_the_outbox_works_on_postgresql(tmp_path):
    url = os.environ.get("ANNEX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        box = Outbox(url)
    except Exception as exc:  # noqa: BLE001 - only an unreachable server skips, and only outside CI
        if os.environ.get("ANNEX_REQUIRE_ALL"):
            raise
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    try:
        slot = f"test-{os.getpid()}"
        assert _claim(box, slot=slot) and not _claim(box, slot=slot)
        assert [e.slot for e in box.recover(2026) if e.slot == slot] == [slot]
    finally:
        from annex.outbox import outbox_table

        with box.engine.begin() as conn:
            conn.execute(outbox_table.delete().where(outbox_table.c.slot.like("test-%")))
        box.close()
