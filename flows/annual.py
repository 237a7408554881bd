"""annual-consolidation: collect → validate each submission → feedback → reconcile → merge → render → publish."""

from __future__ import annotations

import time
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Callable

from prefect import flow
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import as_completed
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from annex.workspace import pipeline
from annex.io.files import sweep_orphans
from annex.io.workers import DEFAULT_WORKERS
from annex.workspace.run import build_summary, ministry_table, summary_lines
from annex.io.runlock import run_lock
from annex.model.issues import Submission
from annex.workspace.layout import Workspace
from flows.progress import note
from tasks.collect import collect, load_reference
from tasks.distribute import previous_master
from tasks.feedback import feedback_workbooks, send_conflict_notice, send_feedback
from tasks.mailer import delivery_outcome
from tasks.merge import merge
from tasks.publish import publish
from tasks.render import render
from tasks.validate import Shared, record_validations, validate_file


def validate_all(items: list[pipeline.Received], ref, fingerprint: str) -> dict[str, Submission]:
    """One task per file, run side by side on the flow's task runner; a failed one is a returned file."""
    progress = create_progress_artifact(0.0, description="提出物の検証")
    shared = Shared(ref)
    futures = {validate_file.submit(item, shared, fingerprint): item for item in items}
    done: dict[str, Submission] = {}
    for future in as_completed(list(futures)):
        item = futures[future]
        try:
            done[item.sha256] = future.result()
        except Exception as exc:  # this file only: it is returned to its ministry, the others go on
            done[item.sha256] = pipeline.validation_failed(item, f"検証処理が失敗しました（{exc}）")
        note(f"  検証 {len(done)}/{len(items)}: {item.name} → {done[item.sha256].verdict}")
        update_progress_artifact(progress, 100.0 * len(done) / len(items))
    return done


def accepted_submissions(ws: Workspace, year: int, submissions: dict[str, Submission], ref, fingerprint: str) -> dict[str, Submission]:
    """Each ministry's newest accepted version: validated in this run, or (no longer in the inbox) from the archive."""
    accepted = {}
    for ministry, entry in pipeline.newest_accepted(ws, year).items():
        submission = submissions.get(entry.sha256)
        if submission is None:
            archived = pipeline.Received(entry, ws.archive / entry.archive_path, Path(entry.path).name)
            submission = validate_file(archived, Shared(ref), fingerprint)
        accepted[ministry] = submission
    return accepted


def send_mail(ws: Workspace, what: str, sends: list[Callable[[], object]]) -> dict[str, int]:
    """Run each e-mail task (already once-only through the outbox) and count outcomes as 「what outcome」.
    When the server cannot be reached nothing is tried: the next run sends."""
    if not sends:
        return {}
    if reason := pipeline.smtp_unreachable(ws.config.settings.smtp):
        note(f"  {what}のメールは送りません: {reason}（次回の実行で送ります）")
        return {f"{what} 未送信（メールサーバーに接続できません）": len(sends)}
    return dict(Counter(f"{what} {delivery_outcome(send())}" for send in sends))


def mail_feedback(ws: Workspace, year: int, pairs, paths: dict[str, Path]) -> dict[str, int]:
    newest = pipeline.newest_accepted(ws, year)  # a returned file's e-mail names the version still in use
    return send_mail(ws, "フィードバック", [
        partial(send_feedback, ws, year, sub, paths.get(sub.sha256), pipeline.version_in_use(newest, sub), return_state=True)
        for _, sub in pairs])


def notify_conflicts(ws: Workspace, year: int, merged) -> dict[str, int]:
    """Both ministries of every conflict are told (feedback sheet 統合時の調整, already written, and e-mail)."""
    involved = sorted({m for c in merged.result.conflicts for m in c.ministries})
    if involved:
        note(f"  競合 {len(merged.result.conflicts)} 件: {'、'.join(involved)} に「統合時の調整」を知らせます")
    return send_mail(ws, "統合時の調整", [
        partial(send_conflict_notice, ws, year, m, merged.result.conflicts_of(m), merged.conflict_feedback.get(m), return_state=True)
        for m in involved])


# As many validations at once as the worker pool has workers (each task reads in its own worker).
@flow(name="annual-consolidation", task_runner=ThreadPoolTaskRunner(max_workers=DEFAULT_WORKERS))
def annual_consolidation(workspace: str = ".", year: int | None = None) -> dict:
    """The yearly run over a workspace; returns the figures also written to output/<Y>/run.json."""
    started = time.monotonic()
    ws = Workspace.at(workspace)
    year = ws.year(year)
    with run_lock(ws.archive, "run", year):
        note(f"{year}年度の取りまとめ（作業フォルダ {ws.root}）")
        if swept := sweep_orphans(ws.root / "output"):
            note(f"  中断された実行の一時ファイル {swept} 件を削除しました")
        note(f"前年度マスター: {previous_master(ws, year)}")
        received, ignored = collect(ws, year)
        note(f"収集: {len(received)} ファイル（対象外 {len(ignored)}）")
        ref, fingerprint = load_reference(ws, year)
        submissions = validate_all(received, ref, fingerprint)
        pairs = [(item, submissions[item.sha256]) for item in received]
        entries = record_validations(ws, pairs)
        paths = feedback_workbooks(ws, year, pairs)
        mail = mail_feedback(ws, year, pairs, paths)
        accepted = accepted_submissions(ws, year, submissions, ref, fingerprint)
        note(f"統合: 受理された {len(accepted)} 府省の提出物を前年度マスターに反映します（再掲の照合を含む）")
        merged = merge(ws, year, accepted)
        mail |= notify_conflicts(ws, year, merged)
        note("出力: Word と PDF を作成します")
        rendered = render(ws, year)
        ministries = ministry_table(ws, year, entries)
        files = [*merged.written, *rendered.written, *paths.values(), ws.output(year) / "run.json"]
        summary = build_summary(ws, year, ministries=ministries, merge=merged, render=rendered,
                                issues=dict(pipeline.issue_counts(list(submissions.values()))), mail=mail, files=files,
                                flow_run_id=flow_run.get_id(), seconds=time.monotonic() - started)
        links = {"別添（Word）": rendered.docx_path, "別添（PDF）": rendered.pdf_path, "マスター": ws.output(year) / "master.xlsx",
                 **{f"フィードバック {Path(p).name}": p for p in paths.values()}}
        publish(ws, year, summary, ministries, {k: v for k, v in links.items() if v})
    return {**summary, "lines": summary_lines(summary)}


def run_annual(ws: Workspace, year: int | None = None, *, task_runner: str = "thread", dask_address: str | None = None) -> dict:
    """`annex run`: the flow on the chosen task runner (threads, or Dask for many submissions)."""
    with run_lock(ws.archive, "run", ws.year(year)):
        pass  # fail fast, before Prefect starts, when another run holds the workspace (the flow locks again)
    selected = annual_consolidation
    if task_runner == "dask":
        import dask
        from prefect_dask import DaskTaskRunner

        dask.config.set({"distributed.worker.daemon": False})  # a local worker starts the readers' process pool
        selected = annual_consolidation.with_options(
            task_runner=DaskTaskRunner(address=dask_address) if dask_address else DaskTaskRunner()
        )
    return selected(str(ws.root), year)
