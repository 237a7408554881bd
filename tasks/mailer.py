"""The SMTP mailer for flows: credentials from a Prefect Secret block when config names one,
else from the environment variables config names. Never from a file in the repository."""

from __future__ import annotations

from annex.config import Smtp
from annex.mail import SmtpMailer


def smtp_mailer(settings: Smtp) -> SmtpMailer:
    mailer = SmtpMailer.from_environment(settings)
    if settings.password_block:
        from prefect.blocks.system import Secret

        mailer.password = Secret.load(settings.password_block).get()
    return mailer
