"""intake: only the files that arrived since the last run: validate them, send their feedback,
and refresh output/<Y>/status.html (linked from the Prefect UI).

Scheduled every 15 minutes (flows/deploy.py, prefect.yaml); outside the collection window, or
while the annual run holds the workspace, it does nothing.
"""

from __future__ import annotations

from prefect import flow
from prefect.utilities.annotations import opaque

from annex.io.runlock import RunLocked, run_lock
from annex.model.labels import format_instant
from annex.notify.reminders import parse_instant
from annex.workspace.layout import Workspace
from annex.workspace.run import mail_counts
from flows.progress import note
from flows.steps import mail_feedback, validate_all
from tasks.collect import collect, load_reference
from tasks.feedback import feedback_workbooks
from tasks.status import refresh_status_page
from tasks.validate import record_validations


@flow(name="intake")
def intake(workspace: str = ".", year: int | None = None, at: str | None = None) -> dict:
    ws = Workspace.at(workspace)
    year = ws.year(year)
    moment = parse_instant(at)
    window = ws.config.settings.collection_window
    if window is not None and not window.start <= moment <= window.end:
        note(f"受付期間外です（{format_instant(window.start)} 〜 {format_instant(window.end)}）")
        return {"year": year, "new": 0, "skipped": "outside-window"}
    try:
        with run_lock(ws.archive, "run", year, "intake"):
            received, _ = collect(ws, year)
            new = [item for item in received if not item.validated]
            if not new:
                refresh_status_page(ws, year, moment)  # the days to the deadline move on all the same
                return {"year": year, "new": 0}
            note(f"新着 {len(new)} ファイル")
            ref, fingerprint = load_reference(ws, year)
            submissions = validate_all(new, ref, fingerprint)  # each file's verdict noted there, 保留 too
            pairs = [(item, submissions[item.sha256]) for item in new]
            record_validations(ws, opaque(pairs))  # a held file stays unvalidated: tried again
            mail = mail_feedback(ws, year, pairs, feedback_workbooks(ws, year, opaque(pairs)))
            refresh_status_page(ws, year, moment)
    except RunLocked as exc:
        note(f"今回は見送ります: {exc}")
        return {"year": year, "new": 0, "skipped": "locked"}
    return {"year": year, "new": len(new), "verdicts": {s.file: s.verdict for _, s in pairs}, "feedback_mail": mail_counts(mail)}
