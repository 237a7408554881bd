"""Distribute tasks: master(Y-1) (imported from the baseline on a fresh workspace) → templates."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from annex.distribute import DistributeResult, distribute_year
from annex.run import ensure_previous_master
from annex.workspace import Workspace


@task(name="previous-master", cache_policy=NO_CACHE)
def previous_master(ws: Workspace, year: int) -> Path | None:
    return ensure_previous_master(ws, year)


@task(name="distribute", cache_policy=NO_CACHE)
def distribute_templates(ws: Workspace, year: int) -> DistributeResult:
    return distribute_year(ws, year)
