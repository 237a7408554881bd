"""Reconcile 再掲 and merge the newest accepted submission of each ministry into master(Y)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from annex.model.issues import Submission
from annex.workspace.layout import Workspace
from annex.workspace.merge import MergeSummary, merge_submissions


@task(name="reconcile-and-merge", cache_policy=NO_CACHE)
def merge(ws: Workspace, year: int, accepted: dict[str, Submission]) -> MergeSummary:
    return merge_submissions(ws, year, accepted)
