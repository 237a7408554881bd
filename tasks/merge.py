"""Reconcile 再掲 and merge the newest accepted submission of each ministry into master(Y)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from annex.model.issues import Submission
from annex.workspace.layout import Workspace
from annex.workspace.merge import MergeSummary, merge_submissions, merge_warnings


@task(name="reconcile-and-merge", cache_policy=NO_CACHE)
def merge(ws: Workspace, year: int, accepted: dict[str, Submission], *, received: int) -> MergeSummary:
    summary = merge_submissions(ws, year, accepted)
    summary.warnings = merge_warnings(ws, year, summary, received=received)
    return summary
