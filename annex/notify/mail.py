"""Sending e-mail: one small protocol, a live SMTP implementation and a recorded one.

Credentials never come from a file in the repository: SmtpMailer takes them as arguments,
read by the caller from the environment (or, in flows, from a Prefect Secret block).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Protocol

import jinja2

from annex.io.files import write_atomically
from annex.model.config import Config, Smtp
from annex.model.errors import AnnexError


class MailError(AnnexError):
    """The message could not be handed to the mail server."""


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> dict[str, str]:
        """Hand the message over; returns the recipients the server refused (address → reason)."""
        ...


@dataclass
class SmtpMailer:
    settings: Smtp
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_environment(cls, settings: Smtp) -> "SmtpMailer":
        return cls(settings, os.environ.get(settings.username_env), os.environ.get(settings.password_env))

    def send(self, message: EmailMessage) -> dict[str, str]:
        s = self.settings
        if s.host is None:
            raise MailError("メールサーバー（config/annex.yaml の smtp.host）が設定されていません")
        if "From" not in message:
            message["From"] = s.sender
        if "Message-ID" not in message:
            message["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
        try:
            if s.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_seconds, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.username and self.password:
                    client.login(self.username, self.password)
                refused = client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(
                f"メールサーバー {s.host}:{s.port} に送信できません（{exc}）", hint="config/annex.yaml の smtp を確認してください"
            ) from exc
        # Some recipients refused while others accepted: the message went out, so it must not be
        # sent again, but the refused addresses are reported for a person to fix.
        return {
            address: f"{code} {reason.decode(errors='replace') if isinstance(reason, bytes) else reason}"
            for address, (code, reason) in refused.items()
        }


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
    local, _, domain = config.settings.smtp.sender.partition("@")
    return Address(display_name=config.secretariat.display_name, username=local, domain=domain)


XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def template_environment(*folders: Path) -> Any:
    """jinja2 for e-mail templates: the first folder that has a template wins (a workspace's own
    templates/email/ before the bundled one); HTML templates are autoescaped, a missing variable
    is an error rather than an empty string."""
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(f)) for f in folders if f.is_dir()]),
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
    message["Subject"] = " ".join(subject.split())  # a header is one line, whatever the config says
    message["From"] = sender
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    if message_id:
        message["Message-ID"] = message_id
    message["Date"] = dt.datetime.now(dt.UTC)
    message.set_content(env.get_template(f"{template}.txt.j2").render(context))
    message.add_alternative(env.get_template(f"{template}.html.j2").render(context), subtype="html")
    if attachment is not None:
        data, filename = attachment
        message.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=filename)
    return message
