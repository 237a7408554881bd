"""The SMTP mailer for flows: credentials from a Prefect Secret block when config names one,
else from the environment variables config names. Never from a file in the repository."""

from __future__ import annotations

from annex.model.config import Smtp
from annex.notify.mail import EmlMailer, Mailer, SmtpMailer
from annex.notify.outbox import TransientMailError
from annex.workspace.layout import Workspace
from annex.workspace.notify import mail_folder


def _transient(task, task_run, state) -> bool:
    return isinstance(state.result(raise_on_failure=False), TransientMailError)


# Every e-mail task retries on a temporary SMTP failure only (a permanent one is recorded, not retried).
MAIL_RETRIES = dict(retries=3, retry_delay_seconds=[5, 30, 120], retry_jitter_factor=0.5, retry_condition_fn=_transient)


def delivery_outcome(state, *, to_files: bool = False) -> str:
    """What an e-mail task's final state means: sent (saved, as an .eml file, when ``to_files``),
    already (sent before), no-contact or failed."""
    if not state.is_completed():
        return "failed"
    outcome = state.result() or "already"
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
