"""Steps two flows share (annual-consolidation and intake): validate files side by side, send
feedback e-mail. A flow never imports another flow; both import this."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import as_completed
from prefect.states import State
from prefect.utilities.annotations import opaque

from annex.model.issues import Submission
from annex.workspace import collect as collect_steps
from annex.workspace import notify
from annex.workspace.layout import Workspace
from flows.progress import note
from tasks.feedback import send_feedback_mail
from tasks.mailer import as_counted
from tasks.validate import Held, SharingFailed, shared_reference, validate_file

# A task's arguments are walked by Prefect (looking for futures), object by object, twice per task
# run: a Submission is ~35,000 objects (0.15 s a walk). Wrapped in opaque(), only the outer value
# is looked at; the task still receives it unwrapped.


PROGRESS_SECONDS = 1.0


def validate_all(items: list[collect_steps.Received], ref, fingerprint: str) -> dict[str, Submission]:
    """One task per file, run side by side on the flow's task runner; a failed one is held (保留),
    as validate_batch holds a file whose checks raised: its ministry identified, nothing sent.
    On Dask the reference goes to each worker once (shared_reference); if the cluster cannot take
    it, every file not yet validated is held the same way."""
    progress = create_progress_artifact(0.0, description="提出物の検証")
    known = ref.config.ministry_by_abbr
    done: dict[str, Submission] = {}
    last_update = time.monotonic()

    def record(item: collect_steps.Received, submission: Submission) -> None:
        nonlocal last_update
        done[item.sha256] = submission
        note(f"  検証 {len(done)}/{len(items)}: {item.name} → {collect_steps.verdict_line(submission, known)}")
        # the UI's bar moves every PROGRESS_SECONDS and at the end: a request per file costs the
        # server (on this machine's cores, for the temporary one) more than the bar gains
        if len(done) == len(items) or time.monotonic() - last_update >= PROGRESS_SECONDS:
            update_progress_artifact(progress, 100.0 * len(done) / len(items))
            last_update = time.monotonic()

    try:
        with shared_reference(ref, fingerprint) as shared:
            futures = {validate_file.submit(item, shared, fingerprint): item for item in items}
            for future in as_completed(list(futures)):
                item = futures[future]
                try:
                    submission = future.result()
                except Held as held:  # the machine failed, retried already: 保留, never cached, never sent
                    submission = held.submission
                except Exception as exc:  # this file only: held for the secretariat, the others go on
                    submission = collect_steps.validation_failed(item, exc, ref.config)
                record(item, submission)
    except SharingFailed as failed:
        for item in items:
            if item.sha256 not in done:
                record(item, collect_steps.validation_failed(item, failed, ref.config))
    # the readers the validations shared (annex.io.workers.lent_worker) stay up: the feedback
    # workbooks are written on them next (tasks.feedback.feedback_workbooks stops them)
    return done


def dask_task_runner(address: str | None = None, cluster: dict | None = None):
    """prefect-dask's task runner as annex runs on it: the scheduler at ``address``, else a local
    cluster (``cluster``: LocalCluster's arguments, by default as many workers as cores)."""
    import dask
    from prefect_dask import DaskTaskRunner

    dask.config.set(
        {
            "distributed.worker.daemon": False,  # a local worker starts the readers' process pool
            # validate_all keeps the reference on every worker for the run; the (local) scheduler's
            # memory manager would drop all copies but one as the last tasks run, and a task then
            # moved to another worker would fetch it again (a remote cluster keeps its own setting)
            "distributed.scheduler.active-memory-manager.start": False,
        }
    )
    return DaskTaskRunner(address=address) if address else DaskTaskRunner(cluster_kwargs=cluster)


def send_mail(ws: Workspace, year: int, what: str, count: int, send: Callable[[], State]) -> dict[str, int]:
    """Send ``count`` messages by one task (``send``: its final state; each message once-only
    through the outbox) and count outcomes as 「what outcome」.

    First, a message of these kinds an earlier run left queued (it died mid-send) becomes
    uncertain: counted as such, never as sent. The server is checked once: unreachable, nothing
    is tried and the next run sends; if it goes away mid-batch, the rest wait too (one line, not
    a retry per message). With no server configured, each message is saved as an .eml file."""
    notify.recover(ws, year, notify.FEEDBACK_KINDS)
    if not count:
        return {}
    settings = ws.config.settings.smtp
    if reason := notify.smtp_unreachable(settings):
        note(f"  {what}のメール {count} 件は送りません: {reason}（次回の実行で送ります）")
        return {f"{what} unreachable": count}
    state = send()
    batch = state.result() if state.is_completed() else notify.Batch(["failed"] * count)  # the task failed: none sent
    to_files = notify.saves_to_files(ws)
    if batch.stopped:
        note(f"  {what}のメール: {batch.stopped}。残り {batch.outcomes.count('unreachable')} 件は次回の実行で送ります")
    counts = dict(Counter(f"{what} {as_counted(o, to_files=to_files)}" for o in batch.outcomes))
    if saved := counts.get(f"{what} saved"):
        note(
            f"  {what}のメール {saved} 件を {notify.mail_folder(ws, year)} に .eml ファイルとして保存しました（メールサーバー未設定）"
        )
    if n_uncertain := counts.get(f"{what} uncertain"):
        note(f"  {what}のメール {n_uncertain} 件は届いたか不明です（自動では再送しません。annex mail で確認してください）")
    return counts


def mail_feedback(ws: Workspace, year: int, pairs, paths: dict[str, Path]) -> dict[str, int]:
    newest = collect_steps.newest_accepted(ws, year)  # a returned file's e-mail names the version still in use
    files = [
        (sub, paths.get(sub.sha256), collect_steps.version_in_use(newest, sub))
        for _, sub in pairs
        if not sub.held  # no verdict yet: nothing to tell the ministry
    ]
    return send_mail(
        ws, year, "フィードバック", len(files), lambda: send_feedback_mail(ws, year, opaque(files), return_state=True)
    )
