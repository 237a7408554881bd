"""Lint master(Y) → output/<Y>/lint.json and lint.xlsx (the notation report for the secretariat)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from annex.workspace.layout import Workspace
from annex.workspace.lint import LintResult, lint_year


@task(name="lint", cache_policy=NO_CACHE)
def lint(ws: Workspace, year: int) -> LintResult:
    return lint_year(ws, year)
