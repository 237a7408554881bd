"""The SMTP mailer for flows: credentials from a Prefect Secret block when config names one,
else from the environment variables config names. Never from a file in the repository.

E-mail tasks are never retried by Prefect: a task retry re-sends a message whose answer was
lost (the ministry then gets it five times) and waits minutes. Temporary refusals are retried
inside annex.notify.outbox.deliver, a few seconds apart (smtp.retries, smtp.retry_delay_seconds)."""

from __future__ import annotations

from annex.model.config import Smtp
from annex.notify.mail import EmlMailer, Mailer, SmtpMailer
from annex.workspace.layout import Workspace
from annex.workspace.notify import mail_folder


def delivery_outcome(state, *, to_files: bool = False) -> str:
    """What an e-mail task's final state means: sent (saved, as an .eml file, when ``to_files``),
    already (sent before), uncertain, deferred, failed, no-contact or no-ministry."""
    if not state.is_completed():
        return "failed"
    return as_counted(state.result() or "already", to_files=to_files)


def as_counted(outcome: str, *, to_files: bool = False) -> str:
    """A message's outcome as the run counts it: a message "sent" to .eml files is "saved"."""
    return "saved" if to_files and outcome == "sent" else outcome


def mailer_for(ws: Workspace, year: int) -> Mailer:
    """SMTP when config names a server; else every message is saved as an .eml file under output/<Y>/mail/."""
    settings = ws.config.settings.smtp
    return smtp_mailer(settings) if settings.host else EmlMailer(mail_folder(ws, year))


def smtp_mailer(settings: Smtp) -> SmtpMailer:
    mailer = SmtpMailer.from_environment(settings)
    if settings.password_block:
        from prefect.blocks.system import Secret

        mailer.password = Secret.load(settings.password_block).get()
    return mailer
