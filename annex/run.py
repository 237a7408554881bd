"""The annual run's edges that belong to no single stage: the previous year's master, run.json."""

from __future__ import annotations

import json
from pathlib import Path

from .fileio import write_atomically


def ensure_previous_master(workspace, year: int) -> Path | None:
    """master(year-1) must exist; on a fresh workspace it is imported from the configured baseline.

    Returns the path imported, or None when the master was already there.
    """
    from .errors import InputError
    from .importer import import_into_workspace

    path = workspace.master_json(year - 1)
    if path.exists():
        return None
    baseline = workspace.config.settings.baseline
    if baseline.year != year - 1:
        raise InputError(
            f"{year - 1}年度のマスター {path} がありません",
            hint=f"annex import で {year - 1}年度の別添を取り込んでください（baseline は {baseline.year}年度です）",
        )
    import_into_workspace(workspace, workspace.baseline_file(), baseline.year)
    return path


def write_run_json(workspace, year: int, summary: dict) -> Path:
    text = json.dumps(summary, ensure_ascii=False, indent=1) + "\n"
    return write_atomically(workspace.output(year) / "run.json", lambda p: p.write_text(text, encoding="utf-8"))
