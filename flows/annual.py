"""annual-consolidation: collect → validate each submission → feedback → reconcile → merge → render →
(approval) → publish."""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow
from prefect.runtime import deployment, flow_run
from prefect.settings import PREFECT_API_URL
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import opaque

from annex.io.faults import checkpoint
from annex.io.files import sweep_orphans
from annex.io.runlock import run_lock
from annex.io.workers import DEFAULT_WORKERS, start_workers
from annex.model.issues import Submission
from annex.notify.reminders import parse_instant
from annex.workspace import approval
from annex.workspace import collect as collect_steps
from annex.workspace.layout import Workspace
from annex.workspace.run import build_summary, ministry_table, summary_lines
from flows.approval import DIRECTLY, wait_for_approval
from flows.progress import note
from flows.server import check_api_reachable
from flows.steps import dask_task_runner, mail_feedback, send_mail, validate_all
from tasks.collect import collect, load_reference
from tasks.distribute import previous_master
from tasks.feedback import feedback_workbooks, send_conflict_notices
from tasks.lint import lint
from tasks.merge import merge
from tasks.publish import publish, publish_annex, request_approval
from tasks.render import render
from tasks.status import refresh_status_page
from tasks.validate import Shared, record_validations, validate_or_hold


def accepted_submissions(
    ws: Workspace, year: int, submissions: dict[str, Submission], ref, fingerprint: str
) -> dict[str, Submission]:
    """Each ministry's newest accepted version: validated in this run, or (no longer in the inbox)
    validated again from the archive by the cached validation task."""

    def revalidate(items):
        return [validate_or_hold(item, Shared(ref), fingerprint) for item in items]

    newest = collect_steps.accepted_submissions(ws, year, known=submissions, revalidate=revalidate)
    return {ministry: sub for ministry, (_, sub) in newest.items()}


def notify_conflicts(ws: Workspace, year: int, merged) -> dict[str, int]:
    """Both ministries of every conflict are told (feedback sheet 統合時の調整, already written, and e-mail)."""
    involved = sorted({m for c in merged.result.conflicts for m in c.ministries})
    if involved:
        note(f"  競合 {len(merged.result.conflicts)} 件: {'、'.join(involved)} に「統合時の調整」を知らせます")
    notices = [(m, merged.result.conflicts_of(m), merged.conflict_feedback.get(m)) for m in involved]
    return send_mail(
        ws, year, "統合時の調整", len(notices), lambda: send_conflict_notices(ws, year, opaque(notices), return_state=True)
    )


def consolidate(ws: Workspace, year: int, started: float) -> tuple[dict, dict[str, str], dict[str, Path]]:
    """collect → validate → feedback → merge → lint → render; the run's figures, table and links."""
    note(f"{year}年度の取りまとめ（作業フォルダ {ws.root}）")
    if swept := sweep_orphans(ws.root / "output") + sweep_orphans(ws.archive):
        note(f"  中断された実行の一時ファイル {swept} 件を削除しました")
    note(f"前年度マスター: {previous_master(ws, year)}")
    received, ignored = collect(ws, year)
    note(f"収集: {len(received)} ファイル（対象外 {len(ignored)}）")
    for line in collect_steps.inbox_lines(received, ignored):
        note(f"  {line}")
    checkpoint("run:collected")
    ref, fingerprint = load_reference(ws, year)
    submissions = validate_all(received, ref, fingerprint)
    pairs = [(item, submissions[item.sha256]) for item in received]
    entries = record_validations(ws, opaque(pairs))
    note(f"フィードバック: {len(pairs)} 件の検証結果（Excel）を作成し、メールで知らせます")
    paths = feedback_workbooks(ws, year, opaque(pairs))
    checkpoint("run:feedback-written")
    mail = mail_feedback(ws, year, pairs, paths)
    checkpoint("run:feedback-mailed")
    accepted = accepted_submissions(ws, year, submissions, ref, fingerprint)
    note(f"統合: 受理された {len(accepted)} 府省の提出物を前年度マスターに反映します（再掲の照合を含む）")
    merged = merge(ws, year, opaque(accepted), received=len(received))
    checkpoint("run:merged")
    mail |= notify_conflicts(ws, year, merged)
    note("出力: Word と PDF を作成します")
    rendering = render.submit(ws, year)  # LibreOffice's PDF, the longest step, runs while the rest is written
    linted = lint(ws, year)
    note(f"表記チェック: {linted.report.total} 件（output/{year}/lint.xlsx）")
    status_page = refresh_status_page(ws, year, parse_instant(None))  # the secretariat's page, as of now
    rendered = rendering.result()
    checkpoint("run:rendered")
    ministries = ministry_table(ws, year, entries)
    files = [*merged.written, *linted.paths, *rendered.written, status_page, *paths.values(), ws.output(year) / "run.json"]
    summary = build_summary(
        ws,
        year,
        ministries=ministries,
        merge=merged,
        render=rendered,
        issues=dict(collect_steps.issue_counts(list(submissions.values()))),
        mail=mail,
        files=files,
        unattributed=collect_steps.unattributed(pairs, ws.config.ministry_by_abbr),
        held=collect_steps.held_files(pairs, ws.config.ministry_by_abbr),
        skipped=ignored,
        flow_run_id=flow_run.get_id(),
        seconds=time.monotonic() - started,
        lint=linted.report.counts(),
    )
    links = {
        "別添（Word）": rendered.docx_path,
        "別添（PDF）": rendered.pdf_path,
        "確認用（未更新・修正・新規の色分け）": rendered.review_path,
        "変更履歴（Word の変更履歴で承認・却下）": rendered.redline_path,
        "提出状況（status.html）": status_page,
        "マスター": ws.output(year) / "master.xlsx",
        "表記チェック": ws.output(year) / "lint.xlsx",
        **{f"フィードバック {Path(p).name}": p for p in paths.values()},
    }
    return summary, ministries, {k: v for k, v in links.items() if v}


# As many validations at once as the worker pool has workers (each task reads in its own worker).
@flow(name="annual-consolidation", task_runner=ThreadPoolTaskRunner(max_workers=DEFAULT_WORKERS))
def annual_consolidation(workspace: str = ".", year: int | None = None, review: bool = False) -> dict:
    """The yearly run over a workspace; returns the figures also written to output/<Y>/run.json.

    With review, the run stops before publishing: deployed (the production profile) it pauses
    with a form (approve, or send back with a comment); run from `annex run --review` on the
    temporary server, which dies with the command, it records the request in the workspace and
    ends, and `annex approve` decides.
    """
    started = time.monotonic()
    ws = Workspace.at(workspace)
    year = ws.year(year)
    run_id = flow_run.get_id()
    pauses = review and deployment.get_id() is not None
    with run_lock(ws.archive, "run", year, "annex run"):
        summary, ministries, links = consolidate(ws, year, started)
        if review:
            waits_in = approval.IN_PREFECT if pauses else approval.IN_WORKSPACE
            record = request_approval(ws, year, run_id, waits_in, PREFECT_API_URL.value() if pauses else None)
            summary["publication"] = {"state": approval.WAITING, "waits_in": waits_in, "files": record["files"]}
        else:
            approval.supersede_waiting(ws, year, run_id)
            manifest = publish_annex(ws, year, approval.candidate_files(ws, year), run_id, DIRECTLY, None)
            summary["publication"] = {"state": approval.PUBLISHED, **manifest}
        publish(ws, year, summary, ministries, links)
    if pauses:
        wait_for_approval(ws, year, record, summary)
    return {**summary, "lines": summary_lines(summary)}


def run_annual(
    ws: Workspace, year: int | None = None, *, task_runner: str = "thread", dask_address: str | None = None, review: bool = False
) -> dict:
    """`annex run`: the flow on the chosen task runner (threads, or Dask for many submissions);
    with review it stops before publishing and records what waits for `annex approve`."""
    with run_lock(ws.archive, "run", ws.year(year), "annex run"):
        pass  # fail fast, before Prefect starts, when another run holds the workspace (the flow locks again)
    if task_runner == "thread":
        start_workers(background=True)  # the readers import polars and openpyxl while Prefect starts the run
    check_api_reachable()  # a configured server that does not answer: one line, before any work
    selected = annual_consolidation
    if task_runner == "dask":
        selected = annual_consolidation.with_options(task_runner=dask_task_runner(dask_address))
    return selected(str(ws.root), year, review=review)
