"""The deadline is printed by one formatter, in Japan time, wherever config gives it in another zone:
記入要領, the feedback e-mail and the reminder say the same 17:00."""

from __future__ import annotations

import datetime as dt

import openpyxl

from annex.distribute.template import plan_templates, write_template
from annex.feedback.workbook import feedback_context
from annex.master.importer import import_annex, read_annex_file
from annex.model.config import bundled_path
from annex.model.contract import SHEET_GUIDE
from annex.model.issues import Submission
from annex.model.labels import JST, format_instant
from annex.notify.reminders import compose as compose_reminder
from annex.notify.reminders import due
from annex.workspace.layout import Workspace

PRINTED = "2026年5月29日（金） 17:00"


def _workspace_with_a_utc_deadline(tmp_path) -> Workspace:
    (tmp_path / "config").mkdir()
    text = bundled_path("annex.yaml").read_text(encoding="utf-8")
    assert "deadline: 2026-05-29T17:00:00+09:00" in text
    (tmp_path / "config" / "annex.yaml").write_text(
        text.replace("deadline: 2026-05-29T17:00:00+09:00", "deadline: 2026-05-29T08:00:00Z"), encoding="utf-8"
    )
    ws = Workspace.at(tmp_path)
    assert ws.config.settings.deadline.utcoffset() == dt.timedelta(0)  # config kept the zone it was given
    return ws


def test_a_utc_deadline_is_printed_in_japan_time_by_the_guide_the_feedback_and_the_reminder(tmp_path):
    ws = _workspace_with_a_utc_deadline(tmp_path)
    config = ws.config
    assert format_instant(config.settings.deadline) == PRINTED

    annex = import_annex(read_annex_file(bundled_path("annex_2025.json")), config.tags, 2025).annex
    plan = next(p for p in plan_templates(annex, config, 2026) if p.ministry == "文")
    out = tmp_path / "文.xlsx"
    write_template(out, plan, config, generated_at=dt.datetime(2026, 4, 1, tzinfo=JST), source_master="test")
    guide = openpyxl.load_workbook(out)[SHEET_GUIDE]
    cells = [str(c.value) for row in guide.iter_rows() for c in row if c.value]
    assert any(PRINTED in c for c in cells), "記入要領 does not print the deadline in JST"
    assert not any("08:00" in c for c in cells)

    sub = Submission(file="文.xlsx", sha256="0" * 64, ministry="文", year=2026, template_version=None)
    assert feedback_context(config, sub, None)["deadline"] == PRINTED

    _, items = due(config, dt.datetime(2026, 5, 26, 9, 0, tzinfo=JST), {}, {"文": ["3-①-01"]})
    reminder = compose_reminder(config, next(i for i in items if i.ministry.abbr == "文"), ws.email_templates())
    body = reminder.get_body(("plain",)).get_content()
    assert PRINTED in body and "08:00" not in body
