"""notify — e-mail over SMTP, the outbox that sends each message at most once, reminder slots."""

from annex.notify.mail import SmtpMailer, compose_message, template_environment
from annex.notify.outbox import Outbox, deliver
from annex.notify.reminders import compose, due, slots

__all__ = ["Outbox", "SmtpMailer", "compose", "compose_message", "deliver", "due", "slots", "template_environment"]
