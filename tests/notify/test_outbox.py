"""The outbox: at most one e-mail per (year, ministry, slot), and a crash leaves it 'uncertain'."""

from __future__ import annotations

import os

import pytest

from annex.notify.outbox import Outbox


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
        from annex.notify.outbox import outbox_table

        with box.engine.begin() as conn:
            conn.execute(outbox_table.delete().where(outbox_table.c.slot.like("test-%")))
        box.close()


def test_a_partly_refused_message_is_sent_once_and_the_refused_address_recorded(outbox):
    """Over real SMTP: one Cc refused with 550 → the others got it, so it is 'sent', never re-sent."""
    import socket
    from email.message import EmailMessage

    from aiosmtpd.controller import Controller

    from annex.model.config import Smtp
    from annex.notify.mail import SmtpMailer
    from annex.notify.outbox import deliver

    class RefuseOne:
        def __init__(self):
            self.delivered: list[list[str]] = []

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("gone@"):
                return "550 5.1.1 no such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            self.delivered.append(list(envelope.rcpt_tos))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = RefuseOne()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mailer = SmtpMailer(Smtp(host="127.0.0.1", port=port, sender="annex@csti.example"))
        message = EmailMessage()
        message["To"], message["Cc"], message["Subject"] = "a@mext.example", "gone@csti.example", "督促"
        message["Message-ID"] = "<t-1@csti.example>"
        message.set_content("本文")
        assert deliver(outbox, mailer, 2026, "文", "after-1", message) == "sent"
        assert deliver(outbox, mailer, 2026, "文", "after-1", message) == "already"
        assert handler.delivered == [["a@mext.example"]]
        [entry] = outbox.entries(2026, slot="after-1")
        assert entry.state == "sent" and "gone@csti.example" in entry.error and "550" in entry.error
    finally:
        controller.stop()
