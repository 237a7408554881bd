"""SMTP faults against a real server on loopback (aiosmtpd), each simulated as a mail server does
it: the 250 for the body arriving after the client's timeout, a dropped line after the body, 421
to QUIT, 451 and 550 at RCPT, a refused connection, an AUTH reply that echoes the credentials.

What must hold (issue 14): a message that may have been delivered is 要確認 and never sent
again; a transient refusal is tried a few times, seconds apart, then left for the next run,
which sends it once; a 5xx is not retried; nothing is recorded as sent that the server did not
take; no credential in any error."""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpServer

from annex.model.config import Smtp
from annex.notify.mail import MailError, SmtpMailer
from annex.notify.outbox import Outbox, deliver

pytestmark = pytest.mark.reliability

TIMEOUT = 0.4  # the client's timeout (smtp.timeout_seconds), short so that the faults cost little


class Faulty:
    """A handler whose behaviour each test sets: ``rcpt`` / ``data`` replies, or a delay."""

    def __init__(self) -> None:
        self.rcpt_reply = "250 OK"
        self.data_delay = 0.0
        self.drop_after_body = False
        self.rcpt_attempts = 0
        self.bodies: list[str] = []  # Message-IDs of the bodies the server received

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_attempts += 1
        if not self.rcpt_reply.startswith("250"):
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import email

        self.bodies.append(email.message_from_bytes(envelope.content)["Message-ID"])
        if self.drop_after_body:
            server.transport.close()
            return "250 OK"  # never reaches the client: the line is gone
        await asyncio.sleep(self.data_delay)
        return "250 OK"


class QuitWith421(SmtpServer):
    async def smtp_QUIT(self, arg):
        await self.push("421 4.3.2 shutting down")
        self.transport.close()


class EchoingAuth(SmtpServer):
    """A server that quotes the AUTH line it got in its refusal (some do, in their logs and replies)."""

    async def smtp_AUTH(self, arg):
        await self.push(f"535 5.7.8 authentication failed for {arg}")


def _server(handler, server_class=None) -> tuple[Controller, int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    class Fixed(Controller):
        def factory(self):
            if server_class is None:
                return super().factory()
            return server_class(self.handler, auth_require_tls=False, **self.SMTP_kwargs)

    controller = Fixed(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    yield box
    box.close()


def _message(n: int = 1) -> EmailMessage:
    message = EmailMessage()
    message["To"], message["Subject"] = "annex-contact@mext.example", "検証結果"
    message["Message-ID"] = f"<annex-2026-feedback-{n}@csti.example>"
    message.set_content("本文")
    return message


def _mailer(port: int, **extra) -> SmtpMailer:
    return SmtpMailer(Smtp(host="127.0.0.1", port=port, sender="annex@csti.example", timeout_seconds=TIMEOUT), **extra)


@pytest.mark.parametrize("fault", ["250 after the timeout", "line dropped after the body"])
def test_a_body_whose_answer_is_lost_is_uncertain_and_never_sent_again(outbox, fault):
    handler = Faulty()
    if fault == "250 after the timeout":
        handler.data_delay = TIMEOUT * 3
    else:
        handler.drop_after_body = True
    controller, port = _server(handler)
    try:
        mailer = _mailer(port)
        assert deliver(outbox, mailer, 2026, "文", "feedback-1", _message(), retries=3, retry_delay=0) == "uncertain"
        assert deliver(outbox, mailer, 2026, "文", "feedback-1", _message(), retries=3, retry_delay=0) == "uncertain"
        if handler.data_delay:
            time.sleep(handler.data_delay)  # the slow server finishes its 250 (it took the message)
        [entry] = outbox.entries(2026)
        assert entry.state == "uncertain" and entry.attempts == 1
        assert "届いている可能性があります" in entry.error and "Traceback" not in entry.error
        assert ("応答がありません（タイムアウト）" in entry.error) == (fault == "250 after the timeout")
        assert handler.bodies == ["<annex-2026-feedback-1@csti.example>"]  # once, never five times
        assert [e.message_id for e in outbox.to_check(2026)] == ["<annex-2026-feedback-1@csti.example>"]
    finally:
        controller.stop()


def test_a_421_to_quit_after_the_250_is_recorded_as_sent_once(outbox):
    handler = Faulty()
    controller, port = _server(handler, QuitWith421)
    try:
        mailer = _mailer(port)
        assert deliver(outbox, mailer, 2026, "文", "feedback-1", _message(), retries=3, retry_delay=0) == "sent"
        assert deliver(outbox, mailer, 2026, "文", "feedback-1", _message(), retries=3, retry_delay=0) == "already"
        assert handler.bodies == ["<annex-2026-feedback-1@csti.example>"]
        assert outbox.state_of(2026, "文", "feedback-1") == "sent"
    finally:
        controller.stop()


def test_a_451_at_rcpt_is_retried_briefly_then_left_and_the_next_run_sends_it_once(outbox):
    handler = Faulty()
    handler.rcpt_reply = "451 4.3.0 try again later"
    controller, port = _server(handler)
    try:
        mailer = _mailer(port)
        started = time.monotonic()
        outcome = deliver(outbox, mailer, 2026, "文", "feedback-1", _message(), retries=2, retry_delay=0.05)
        assert outcome == "deferred" and time.monotonic() - started < 5  # seconds, not the 128 s of before
        assert handler.rcpt_attempts == 3 and handler.bodies == []  # 1 + 2 retries, nothing delivered
        [entry] = outbox.entries(2026)
        assert entry.state == "failed" and "451 4.3.0 try again later" in entry.error  # not sent: the next run sends
        handler.rcpt_reply = "250 OK"  # the next run: the server accepts again
        assert deliver(outbox, mailer, 2026, "文", "feedback-1", _message(), retries=2, retry_delay=0.05) == "sent"
        assert deliver(outbox, mailer, 2026, "文", "feedback-1", _message(), retries=2, retry_delay=0.05) == "already"
        assert handler.bodies == ["<annex-2026-feedback-1@csti.example>"]
    finally:
        controller.stop()


def test_a_550_is_permanent_at_once_and_never_recorded_as_sent(outbox):
    handler = Faulty()
    handler.rcpt_reply = "550 5.1.1 no such user"
    controller, port = _server(handler)
    try:
        outcome = deliver(outbox, _mailer(port), 2026, "文", "feedback-1", _message(), retries=5, retry_delay=1)
        assert outcome == "failed" and handler.rcpt_attempts == 1 and handler.bodies == []
        [entry] = outbox.entries(2026)
        assert entry.state == "failed" and "550 5.1.1 no such user" in entry.error
    finally:
        controller.stop()


def test_a_refused_connection_is_retried_a_bounded_number_of_times_then_left_for_the_next_run(outbox):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pauses: list[float] = []
    outcome = deliver(outbox, _mailer(port), 2026, "文", "feedback-1", _message(), retries=2, retry_delay=3, sleep=pauses.append)
    assert outcome == "deferred" and pauses == [3, 3]  # the configured pause, twice, then no more
    [entry] = outbox.entries(2026)
    assert entry.state == "failed" and "接続を拒否されました" in entry.error


def test_credentials_never_appear_in_an_error_even_when_the_server_echoes_them(outbox):
    handler = Faulty()
    controller, port = _server(handler, EchoingAuth)
    user, password = "canary-user-7f3a", "canary-pass-9b1c"
    try:
        mailer = _mailer(port, username=user, password=password)
        with pytest.raises(MailError) as raised:
            mailer.send(_message())
        assert raised.value.permanent and "535" in str(raised.value)
        assert deliver(outbox, mailer, 2026, "文", "feedback-1", _message()) == "failed"
    finally:
        controller.stop()
    forms = {password, user}
    forms |= {base64.b64encode(f"\0{user}\0{password}".encode()).decode(), base64.b64encode(user.encode()).decode()}
    forms |= {base64.b64encode(password.encode()).decode()}
    [entry] = outbox.entries(2026)
    seen = " ".join([str(raised.value), repr(raised.value), entry.error or "", repr(mailer), repr(raised.value.__cause__)])
    assert "***" in str(raised.value)  # the server did echo them: redacted
    assert not [f for f in forms if f in seen]


def test_a_server_is_down_when_its_port_is_closed_or_it_greets_with_421_and_up_when_it_greets_with_220():
    import threading

    from annex.notify.mail import probe

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()

    def greet_421():
        connection, _ = busy.accept()
        connection.sendall(b"421 4.3.2 too busy, try later\r\n")
        connection.close()

    threading.Thread(target=greet_421, daemon=True).start()
    settings = {"host": "127.0.0.1", "sender": "annex@csti.example", "timeout_seconds": TIMEOUT}
    try:
        said = probe(Smtp(port=busy.getsockname()[1], **settings))
    finally:
        busy.close()
    assert said is not None and "受け付けていません" in said and "421 4.3.2 too busy, try later" in said
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert "接続を拒否されました" in probe(Smtp(port=port, **settings))
    controller, port = _server(Faulty())
    try:
        assert probe(Smtp(port=port, **settings)) is None
    finally:
        controller.stop()
