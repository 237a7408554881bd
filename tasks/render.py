"""Render master(Y) → annex-context.json, annex.docx, annex.pdf; LibreOffice is retried when it fails."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import task_run

from annex.render.pdf import find_soffice
from annex.workspace.layout import Workspace
from annex.workspace.render import RenderResult, render_year

RETRIES = 2


class PdfNotProduced(RuntimeError):
    """LibreOffice is installed but produced no valid PDF: worth another try."""


@task(
    name="render",
    cache_policy=NO_CACHE,
    retries=RETRIES,
    retry_delay_seconds=5,
    retry_condition_fn=lambda task, run, state: isinstance(state.result(raise_on_failure=False), PdfNotProduced),
)
def render(ws: Workspace, year: int) -> RenderResult:
    result = render_year(ws, year)
    if not result.pdf_produced and find_soffice() and task_run.run_count <= RETRIES:
        raise PdfNotProduced(result.pdf_reason)
    return result  # the Word file is delivered even when the last try made no PDF; the reason is reported
