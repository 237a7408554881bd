"""distribute: one pre-filled template per ministry for the year (the `annex distribute` command as a flow)."""

from __future__ import annotations

from prefect import flow

from annex.workspace.layout import Workspace
from flows.progress import note
from tasks.distribute import distribute_templates, previous_master, send_templates


@flow(name="distribute")
def distribute(workspace: str = ".", year: int | None = None, send: bool = False) -> dict:
    """The templates for the year; with ``send``, each ministry's e-mailed to it (提出依頼), once."""
    ws = Workspace.at(workspace)
    year = ws.year(year)
    note(f"前年度マスター: {previous_master(ws, year)}")
    result = distribute_templates(ws, year)
    note(f"記入シート {len(result.templates)} 府省分を作成しました: {result.folder}")
    sent = send_templates(ws, result) if send else {}
    if sent:
        note(f"提出依頼: {len(sent)} 府省（" + "、".join(f"{m} {o}" for m, o in sent.items()) + "）")
    return {"year": year, "templates": [str(p) for p in result.paths], "warnings": result.warnings, "sent": sent}
