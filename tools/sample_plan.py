"""What tools/make_samples.py planted in submissions/2026/ — for tests of validate and merge.

The data is tools/sample_plan.json (written by the generator, committed beside it; never under
submissions/, where every file is collected as a submission). Cells are A1 addresses on sheet
記入シート. Typical use in a test::

    from tools.sample_plan import load_plan, expected_issues   # or json.load the file
    plan = load_plan()
    for f in plan["files"]:
        issues = validate(ROOT / "submissions/2026" / f["file"])
        assert {(i.rule, i.location.cell) for i in issues if i.severity == "error"} >= expected_issues(f)

- ``files[].expected_verdict``: 受理 or 差戻し;
- ``files[].changes``: edit / delete / new, with item id, old/new text or tags and their cells;
- ``files[].mistakes``: rule code, sheet, cell, item id, description, and ``may_also_report``
  (rules a validator may legitimately add, e.g. F-TAMPERED for a typed-over locked cell);
- ``expected_merge``: added / modified / deleted / carried over the accepted files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PLAN_PATH = Path(__file__).resolve().parent / "sample_plan.json"
ROOT = PLAN_PATH.parent.parent


def load_plan(path: Path = PLAN_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def submission_path(entry: dict[str, Any], root: Path = ROOT) -> Path:
    plan = load_plan()
    return root / "submissions" / str(plan["year"]) / entry["file"]


def expected_issues(entry: dict[str, Any]) -> set[tuple[str, str | None]]:
    """(rule code, cell) of every mistake planted in one file."""
    return {(m["rule"], m["cell"]) for m in entry["mistakes"]}


def tolerated_rules(entry: dict[str, Any]) -> set[str]:
    """Rules a validator may report in addition to the planted ones, for this file."""
    return {code for m in entry["mistakes"] for code in m["may_also_report"]}


def by_ministry(plan: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    plan = plan or load_plan()
    return {f["ministry"]: f for f in plan["files"]}
