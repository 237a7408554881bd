"""status.html refreshed after intake and reminders; the Prefect UI links to it (an artifact)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from annex.workspace.layout import Workspace
from annex.workspace.status import VERDICTS, status_report
from annex.workspace.status_page import write_status_page


@task(name="status-page", cache_policy=NO_CACHE)
def refresh_status_page(ws: Workspace, year: int, at: dt.datetime) -> Path:
    report = status_report(ws, year, at)
    path = write_status_page(ws, report)
    counts = "・".join(f"{v} {report.count(v)}" for v in VERDICTS)
    create_markdown_artifact(
        key=f"status-{year}",
        description=f"{year}年度 提出状況のページ（status.html）",
        markdown=f"[提出状況（status.html）を開く]({path.resolve().as_uri()})\n\n{counts}\n\nファイル: `{path.resolve()}`",
    )
    return path
