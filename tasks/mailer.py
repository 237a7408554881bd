"""The SMTP mailer for flows: credentials from a Prefect Secret block when config names one,
else from the environment variables config names. Never from a file in the repository."""

from __future__ import annotations

from annex.model.config import Smtp
from annex.notify.mail import SmtpMailer
from annex.notify.outbox import TransientMailError


def _transient(task, task_run, state) -> bool:
    return isinstance(state.result(raise_on_failure=False), TransientMailError)


# Every e-mail task retries on a temporary SMTP failure only (a permanent one is recorded, not retried).
MAIL_RETRIES = dict(retries=3, retry_delay_seconds=[5, 30, 120], retry_jitter_factor=0.5, retry_condition_fn=_transient)


def delivery_outcome(state) -> str:
    """What an e-mail task's final state means: sent, already (sent before), no-contact or failed."""
    if not state.is_completed():
        return "failed"
    return state.result() or "already"


def smtp_mailer(settings: Smtp) -> SmtpMailer:
    mailer = SmtpMailer.from_environment(settings)
    if settings.password_block:
        from prefect.blocks.system import Secret

        mailer.password = Secret.load(settings.password_block).get()
    return mailer
