"""Sending e-mail: one small protocol, a live SMTP implementation and a recorded one.

Credentials never come from a file in the repository: SmtpMailer takes them as arguments,
read by the caller from the environment (or, in flows, from a Prefect Secret block).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email.policy
import functools
import os
import re
import smtplib
import socket
import ssl
import unicodedata
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Protocol

import jinja2

from annex.io.files import write_atomically
from annex.model.config import EMAIL_ADDRESS, Config, Smtp
from annex.model.errors import AnnexError


class MailError(AnnexError):
    """The message was not delivered: nothing reached the recipients.

    ``permanent``: the server refused it for good (5xx); retrying cannot help. Otherwise the
    failure is transient (4xx, connection refused or reset, a timeout before the body was sent).
    """

    def __init__(self, message: str, *, hint: str | None = None, permanent: bool = False):
        super().__init__(message, hint=hint)
        self.permanent = permanent


class MailUncertain(MailError):
    """The body was handed to the server but its answer never came (timeout, dropped connection):
    the message may have been delivered. Never re-sent automatically; a person checks the mail log."""


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> dict[str, str]:
        """Hand the message over; returns the recipients the server refused (address → reason)."""
        ...


class _TrackedSMTP(smtplib.SMTP):
    """smtplib.SMTP that remembers whether the message body (with its final ".") was written to
    the server: before that, a failure means "not delivered"; after it, only the server's answer
    can tell, and a lost answer means "maybe delivered"."""

    body_sent = False

    def data(self, msg):  # as smtplib.SMTP.data (3.11), plus the one flag
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        if isinstance(msg, str):
            msg = smtplib._fix_eols(msg).encode("ascii")
        q = smtplib._quote_periods(msg)
        if q[-2:] != smtplib.bCRLF:
            q = q + smtplib.bCRLF
        self.send(q + b"." + smtplib.bCRLF)
        self.body_sent = True
        return self.getreply()


class _TrackedSMTP_SSL(_TrackedSMTP, smtplib.SMTP_SSL):
    pass


def _code_of(exc: BaseException) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return min(codes) if codes else None  # permanent only when every recipient got a 5xx
    return getattr(exc, "smtp_code", None)


def network_reason(exc: OSError) -> str:
    """A network error as the secretariat reads it."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "応答がありません（タイムアウト）"
    if isinstance(exc, ConnectionRefusedError):
        return "接続を拒否されました"
    if isinstance(exc, ConnectionResetError):
        return "接続が切れました"
    if isinstance(exc, socket.gaierror):
        return "ホスト名が見つかりません"
    return " ".join(str(exc.strerror or exc or type(exc).__name__).split())


def _reason(exc: BaseException) -> str:
    """The server's answer (code and text) or the network error, in one line."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{a}: {_reply(c, r)}" for a, (c, r) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib turns a read that timed out into "Connection unexpectedly closed: timed out"
        return "応答がありません（タイムアウト）" if isinstance(exc.__context__, TimeoutError) else "接続が切れました"
    if isinstance(exc, OSError):
        return network_reason(exc)
    return " ".join(str(exc or type(exc).__name__).split())


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {' '.join((text.decode(errors='replace') if isinstance(text, bytes) else str(text)).split())}"


@dataclass
class SmtpMailer:
    settings: Smtp
    username: str | None = field(default=None, repr=False)  # credentials: never in a repr or a log line
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls, settings: Smtp) -> "SmtpMailer":
        return cls(settings, os.environ.get(settings.username_env), os.environ.get(settings.password_env))

    def send(self, message: EmailMessage) -> dict[str, str]:
        """Deliver over SMTP. Raises MailError (not delivered; ``permanent`` for a 5xx) or
        MailUncertain (the body went out, the answer did not come back)."""
        s = self.settings
        if s.host is None:
            raise MailError("メールサーバー（config/annex.yaml の smtp.host）が設定されていません", permanent=True)
        if "From" not in message:
            message["From"] = s.sender
        if "Message-ID" not in message:
            message["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
        where = f"メールサーバー {s.host}:{s.port}"
        client: _TrackedSMTP | None = None
        try:
            if s.security == "ssl":
                client = _TrackedSMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=ssl.create_default_context())
            else:
                client = _TrackedSMTP(s.host, s.port, timeout=s.timeout_seconds)
            if s.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username and self.password:
                client.login(self.username, self.password)
            refused = client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            reason = self._redact(_reason(exc))
            if client is not None:
                client.close()
            code = _code_of(exc)
            if client is not None and client.body_sent and code is None:
                raise MailUncertain(
                    f"{where} に本文を渡した後、応答がありません（{reason}）。届いている可能性があります"
                ) from None
            # from None: the server's own exception may quote what was sent (AUTH), never shown
            raise MailError(f"{where} に送信できません（{reason}）", permanent=code is not None and code >= 500) from None
        # The server took the message (250 for DATA): whatever QUIT answers (421, a dropped
        # line), it was delivered, and saying otherwise would send it twice.
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.quit()
        client.close()
        # Some recipients refused while others accepted: the message went out, so it must not be
        # sent again, but the refused addresses are reported for a person to fix.
        return {address: _reply(code, reason) for address, (code, reason) in refused.items()}

    def _redact(self, text: str) -> str:
        """Credentials never leave in an error: a server may echo what AUTH sent (plain or base64)."""
        for secret in (self.password, self.username):
            if secret:
                for form in {secret, *_base64_forms(secret, self.username or "", self.password or "")}:
                    text = text.replace(form, "***")
        return text


def _base64_forms(secret: str, username: str, password: str) -> list[str]:
    raw = [secret, f"\0{username}\0{password}", f"{username}\0{password}"]
    return [base64.b64encode(r.encode()).decode() for r in raw]


def probe(settings: Smtp) -> str | None:
    """Whether the server takes mail now: it must answer the connection with its 220 greeting (a
    port that is open but says 421 is as down as a closed one). None, or why not, in Japanese."""
    where = f"メールサーバー {settings.host}:{settings.port}"
    timeout = min(settings.timeout_seconds, 5)
    try:
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    except smtplib.SMTPConnectError as exc:
        return f"{where} が受け付けていません（{_reply(exc.smtp_code, exc.smtp_error)}）"
    except (OSError, smtplib.SMTPException) as exc:
        return f"{where} に接続できません（{_reason(exc)}）"
    with contextlib.suppress(OSError, smtplib.SMTPException):
        client.quit()
    client.close()
    return None


@dataclass
class EmlMailer:
    """No mail server configured: each message becomes an RFC 5322 .eml file (attachments
    included) in ``folder``, named after its deterministic Message-ID, for a person to open in a
    mail client and send. Whether it was already written is the outbox's business, as for SMTP."""

    folder: Path

    def send(self, message: EmailMessage) -> dict[str, str]:
        path = self.path_of(message)
        data = message.as_bytes(policy=email.policy.SMTP)  # CRLF line ends, as on the wire
        try:
            write_atomically(path, lambda p: p.write_bytes(data))
        except OSError as exc:
            raise MailError(f"メールをファイル {path} に保存できません（{exc.strerror or exc}）") from exc
        return {}

    def path_of(self, message: EmailMessage) -> Path:
        return self.folder / eml_name(str(message["Message-ID"] or ""))


def eml_name(message_id: str) -> str:
    """<annex-2026-mext-before-3@csti.example> → 2026-mext-before-3.eml"""
    local = message_id.strip("<>").partition("@")[0].removeprefix("annex-") or "message"
    return f"{re.sub(r'[^A-Za-z0-9._-]', '_', local)}.eml"


def message_id(local: str, sender: str) -> str:
    """A deterministic Message-ID (<annex-local@sender's domain>): a mail server's log can then
    prove whether a message the outbox marks uncertain was in fact sent."""
    return f"<annex-{local}@{sender.rpartition('@')[2] or 'annex.invalid'}>"


def sender_of(config: Config) -> Address:
    """The From of every message: the secretariat's display name (config) and the sender address.

    An Address, not formataddr's string: that one arrives pre-encoded, and the message's own
    folding then cuts the encoded name so that mail clients show it with stray spaces."""
    local, _, domain = check_address(config.settings.smtp.sender, "config/annex.yaml の smtp.sender").partition("@")
    return Address(display_name=one_line(config.secretariat.display_name), username=local, domain=domain)


def check_address(address: str, where: str) -> str:
    if not EMAIL_ADDRESS.fullmatch(address or ""):  # config checks it too; data never reaches here unchecked
        raise MailError(
            f"{where}: メールアドレスの形式ではありません: {address!r}",
            hint="「名前@ドメイン」の形で1件ずつ書いてください（改行・カンマ・表示名は使えません）",
            permanent=True,
        )
    return address


def one_line(text: str) -> str:
    """A header value from config or data: control characters (CR, LF, tab …) become spaces, runs of
    spaces one — a header is one line, whatever the config or the data says."""
    return " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in text).split())


XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def template_environment(*folders: Path) -> Any:
    """jinja2 for e-mail templates: the first folder that has a template wins (a workspace's own
    templates/email/ before the bundled one); HTML templates are autoescaped, a missing variable
    is an error rather than an empty string.

    One environment per set of folders and of the files in them, for the process: it keeps the
    templates it compiled (a run's forty messages compile each template once, not forty times);
    jinja2 compiles one again when its file changes, and a template added to a workspace's own
    folder makes a new environment, in which it wins."""
    present = tuple((str(f), tuple(sorted(os.listdir(f)))) for f in folders if f.is_dir())
    return _environment(present)


@functools.lru_cache(maxsize=16)
def _environment(folders: tuple[tuple[str, tuple[str, ...]], ...]) -> Any:
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(folder) for folder, _ in folders]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False, default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def compose_message(
    env: Any,
    template: str,
    context: dict[str, Any],
    *,
    subject: str,
    sender: str | Address,
    to: list[str],
    cc: list[str] | None = None,
    message_id: str | None = None,
    attachment: tuple[bytes, str] | None = None,
) -> EmailMessage:
    """A plain-text message with an HTML alternative, from <template>.txt.j2 and <template>.html.j2."""
    message = EmailMessage()
    message["Subject"] = one_line(subject)
    message["From"] = check_address(sender, "差出人") if isinstance(sender, str) else sender
    message["To"] = ", ".join(check_address(a, "宛先（config/ministries.yaml の contacts）") for a in to)
    if cc:
        message["Cc"] = ", ".join(check_address(a, "Cc（config/annex.yaml の secretariat.email）") for a in cc)
    if message_id:
        message["Message-ID"] = message_id
    message["Date"] = dt.datetime.now(dt.UTC)
    message.set_content(env.get_template(f"{template}.txt.j2").render(context))
    message.add_alternative(env.get_template(f"{template}.html.j2").render(context), subtype="html")
    if attachment is not None:
        data, filename = attachment
        message.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=one_line(filename))
    return message
