"""distribute: one pre-filled template per ministry for the year (the `annex distribute` command as a flow)."""

from __future__ import annotations

from prefect import flow

from annex.workspace.layout import Workspace
from flows.progress import note
from tasks.distribute import distribute_templates, previous_master


@flow(name="distribute")
def distribute(workspace: str = ".", year: int | None = None) -> dict:
    ws = Workspace.at(workspace)
    year = ws.year(year)
    note(f"前年度マスター: {previous_master(ws, year)}")
    result = distribute_templates(ws, year)
    note(f"様式 {len(result.templates)} 府省分を作成しました: {result.folder}")
    return {"year": year, "templates": [str(p) for p in result.paths], "warnings": result.warnings}
