"""Steps two flows share (annual-consolidation and intake): validate files side by side, send
feedback e-mail. A flow never imports another flow; both import this."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import as_completed

from annex.model.issues import Submission
from annex.workspace import collect as collect_steps
from annex.workspace import notify
from annex.workspace.layout import Workspace
from flows.progress import note
from tasks.feedback import send_feedback
from tasks.mailer import delivery_outcome
from tasks.validate import Held, Shared, validate_file


def validate_all(items: list[collect_steps.Received], ref, fingerprint: str) -> dict[str, Submission]:
    """One task per file, run side by side on the flow's task runner; a failed one is held (保留),
    as validate_batch holds a file whose checks raised: its ministry identified, nothing sent."""
    progress = create_progress_artifact(0.0, description="提出物の検証")
    shared = Shared(ref)
    known = ref.config.ministry_by_abbr
    futures = {validate_file.submit(item, shared, fingerprint): item for item in items}
    done: dict[str, Submission] = {}
    for future in as_completed(list(futures)):
        item = futures[future]
        try:
            done[item.sha256] = future.result()
        except Held as held:  # the machine failed, retried already: 保留, never cached, never sent
            done[item.sha256] = held.submission
        except Exception as exc:  # this file only: held for the secretariat, the others go on
            done[item.sha256] = collect_steps.validation_failed(item, exc, ref.config)
        note(f"  検証 {len(done)}/{len(items)}: {item.name} → {collect_steps.verdict_line(done[item.sha256], known)}")
        update_progress_artifact(progress, 100.0 * len(done) / len(items))
    return done


def send_mail(ws: Workspace, year: int, what: str, sends: list[Callable[[], object]]) -> dict[str, int]:
    """Run each e-mail task (once-only through the outbox) and count outcomes as 「what outcome」.

    First, a message of these kinds an earlier run left queued (it died mid-send) becomes
    uncertain: counted as such, never as sent. The server is checked once: unreachable, nothing
    is tried and the next run sends; if it goes away mid-batch, the rest wait too (one line, not
    a retry per message). With no server configured, each message is saved as an .eml file."""
    notify.recover(ws, year, notify.FEEDBACK_KINDS)
    if not sends:
        return {}
    settings = ws.config.settings.smtp
    if reason := notify.smtp_unreachable(settings):
        note(f"  {what}のメール {len(sends)} 件は送りません: {reason}（次回の実行で送ります）")
        return {f"{what} unreachable": len(sends)}
    to_files = notify.saves_to_files(ws)
    outcomes: list[str] = []
    for n, send in enumerate(sends):
        outcomes.append(delivery_outcome(send(), to_files=to_files))
        if outcomes[-1] == "deferred" and (reason := notify.smtp_unreachable(settings)):
            left = len(sends) - n - 1
            note(f"  {what}のメール: {reason}。残り {left} 件は次回の実行で送ります")
            outcomes += ["unreachable"] * left
            break
    counts = dict(Counter(f"{what} {o}" for o in outcomes))
    if saved := counts.get(f"{what} saved"):
        note(
            f"  {what}のメール {saved} 件を {notify.mail_folder(ws, year)} に .eml ファイルとして保存しました（メールサーバー未設定）"
        )
    if n_uncertain := counts.get(f"{what} uncertain"):
        note(f"  {what}のメール {n_uncertain} 件は届いたか不明です（自動では再送しません。annex mail で確認してください）")
    return counts


def mail_feedback(ws: Workspace, year: int, pairs, paths: dict[str, Path]) -> dict[str, int]:
    newest = collect_steps.newest_accepted(ws, year)  # a returned file's e-mail names the version still in use
    return send_mail(
        ws,
        year,
        "フィードバック",
        [
            partial(
                send_feedback, ws, year, sub, paths.get(sub.sha256), collect_steps.version_in_use(newest, sub), return_state=True
            )
            for _, sub in pairs
            if not sub.held  # no verdict yet: nothing to tell the ministry
        ],
    )
