"""One way of writing a date in every message (issue 12, point 12): annex.model.labels.format_instant."""

from __future__ import annotations

import datetime as dt
import re

from corpus_distribution import distributed

from annex.model.config import JST, shipped_template
from annex.model.labels import format_instant
from annex.notify.mail import template_environment
from annex.notify.reminders import MinistryStatus, compose, due
from annex.workspace.notify import compose_request

# a date as any hand could write it: 2026年05月29日 17:00, 2026年5月29日（金）17:00, …
DATE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日(?:\s*[（(].[）)])?(?:\s*\d{1,2}[:：]\d{2})?")
TEMPLATES = template_environment(shipped_template("email"))


def dates_in(message) -> set[str]:
    text = message.get_body(("plain",)).get_content() + message.get_body(("html",)).get_content() + message["Subject"]
    return {m.group(0).strip() for m in DATE.finditer(text)}


def test_every_date_in_a_message_is_written_by_format_instant():
    d = distributed()
    config = d.workspace.config
    received = dt.datetime(2026, 5, 3, 1, 5, tzinfo=dt.UTC)  # given in UTC, printed in Japan time
    statuses = {"総": MinistryStatus("総", "差戻し", "x/soumu.xlsx", received, 1)}
    messages = [compose_request(d.workspace, 2026, "文", d.path("文"), 3)]
    for at in (dt.datetime(2026, 5, 26, 9, tzinfo=JST), dt.datetime(2026, 6, 1, 9, tzinfo=JST)):
        messages += [compose(config, item, TEMPLATES) for item in due(config, at, statuses, {"文": ["r"], "総": ["r"]})[1]]
    allowed = {format_instant(config.settings.deadline), format_instant(received)}
    seen = set().union(*(dates_in(m) for m in messages))
    assert format_instant(received) == "2026年5月3日（日） 10:05"
    assert seen == allowed, seen


def test_no_template_formats_a_date_itself():
    for path in shipped_template("email").glob("*.j2"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"strftime|%Y|%m|\|\s*date", text), path.name
