"""Distribute tasks: master(Y-1) (imported from the baseline on a fresh workspace) → templates."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from annex.workspace import notify
from annex.workspace.distribute import DistributeResult, distribute_year
from annex.workspace.layout import Workspace
from annex.workspace.master import previous_master as read_previous_master


@task(name="previous-master", cache_policy=NO_CACHE)
def previous_master(ws: Workspace, year: int) -> str:
    """Where master(Y-1) comes from (imported from the configured baseline when missing)."""
    return read_previous_master(ws, year)[1]


@task(name="distribute", cache_policy=NO_CACHE)
def distribute_templates(ws: Workspace, year: int) -> DistributeResult:
    return distribute_year(ws, year)


@task(name="send-templates", cache_policy=NO_CACHE)
def send_templates(ws: Workspace, result: DistributeResult) -> dict[str, str]:
    """Each ministry's template by e-mail (or .eml), once per ministry and year through the outbox."""
    from tasks.mailer import mailer_for

    return notify.send_templates(ws, result, mailer_for(ws, result.year))
