"""reminders: e-mail every ministry still missing or returned, at most once per reminder slot, then
refresh output/<Y>/status.html (linked from the Prefect UI)."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_table_artifact

from annex.io.runlock import run_lock
from annex.notify import reminders
from annex.workspace import notify
from annex.workspace.layout import Workspace
from tasks.mailer import delivery_outcome
from tasks.reminders import plan_reminders, recover_outbox, send_reminder
from tasks.status import refresh_status_page


@flow(name="reminders")
def send_reminders(workspace: str = ".", year: int | None = None, at: str | None = None) -> dict:
    """Reminders due at ``at`` (ISO, default now) for the workspace's year."""
    ws = Workspace.at(workspace)
    year = ws.year(year)
    moment = reminders.parse_instant(at)
    with run_lock(ws.archive, "reminders", year):
        recover_outbox(ws, year)
        slot, items = plan_reminders(ws, year, moment)
        to_files = notify.saves_to_files(ws)
        settings = ws.config.settings.smtp
        outcomes = {item.ministry.abbr: "no-contact" for item in items if not item.recipients}
        pending = [item for item in items if item.recipients]
        # Checked once, as `annex run` does: a server that is down costs one line, not three
        # retries per ministry; nothing is claimed, so the next run sends every one of them.
        unreachable = notify.smtp_unreachable(settings) if pending else None
        for item in pending:
            if unreachable:
                outcomes[item.ministry.abbr] = "unreachable"
                continue
            outcomes[item.ministry.abbr] = delivery_outcome(send_reminder(ws, year, item, return_state=True), to_files=to_files)
            if outcomes[item.ministry.abbr] == "deferred":
                unreachable = notify.smtp_unreachable(settings)  # gone mid-batch: the rest wait too
        uncertain = notify.to_check(ws, year)
        refresh_status_page(ws, year, moment)  # the reminders just sent are on the page
    report = reminders.ReminderReport(
        year,
        moment,
        slot,
        items,
        outcomes,
        uncertain,
        reminders.slots(ws.config.settings),
        mail_folder=str(notify.mail_folder(ws, year)) if to_files else None,
        unreachable=unreachable,
        held=notify.held_ministries(ws, year),
    )
    create_table_artifact(
        key=f"reminders-{year}",
        table=[
            {"府省庁": d["ministry"], "状況": d["status"], "理由": d["reason"], "結果": reminders.OUTCOME_JA[d["outcome"]]}
            for d in report.to_dict()["due"]
        ],
        description="\n".join(report.lines()[: 2 if unreachable else 1]),
    )
    return report.to_dict()
