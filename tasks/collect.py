"""Collect: every file of submissions/<Y>/ hashed, archived and in the ledger before anything parses it."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from annex.validation.validate import Reference
from annex.workspace import collect as intake
from annex.workspace.layout import Workspace
from annex.workspace.master import load_reference as read_reference


@task(name="collect", cache_policy=NO_CACHE)
def collect(ws: Workspace, year: int) -> tuple[list[intake.Received], list[str]]:
    return intake.receive(ws, year)


@task(name="reference", cache_policy=NO_CACHE)
def load_reference(ws: Workspace, year: int) -> tuple[Reference, str]:
    """What submissions are compared with (master(Y-1), the templates), and its fingerprint for the cache."""
    reference = read_reference(ws, year)
    return reference, reference.fingerprint()
