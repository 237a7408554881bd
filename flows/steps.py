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
from annex.workspace.layout import Workspace
from annex.workspace.notify import mail_folder, saves_to_files, smtp_unreachable
from flows.progress import note
from tasks.feedback import send_feedback
from tasks.mailer import delivery_outcome
from tasks.validate import Held, Shared, validate_file


def validate_all(items: list[collect_steps.Received], ref, fingerprint: str) -> dict[str, Submission]:
    """One task per file, run side by side on the flow's task runner; a failed one is a returned file."""
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
            done[item.sha256] = collect_steps.validation_failed(item, f"検証処理が失敗しました（{exc}）")
        note(f"  検証 {len(done)}/{len(items)}: {item.name} → {collect_steps.verdict_line(done[item.sha256], known)}")
        update_progress_artifact(progress, 100.0 * len(done) / len(items))
    return done


def send_mail(ws: Workspace, year: int, what: str, sends: list[Callable[[], object]]) -> dict[str, int]:
    """Run each e-mail task (already once-only through the outbox) and count outcomes as 「what outcome」.
    When the server cannot be reached nothing is tried: the next run sends. With no server
    configured, each message is saved as an .eml file (once, as it would be sent once)."""
    if not sends:
        return {}
    if reason := smtp_unreachable(ws.config.settings.smtp):
        note(f"  {what}のメールは送りません: {reason}（次回の実行で送ります）")
        return {f"{what} 未送信（メールサーバーに接続できません）": len(sends)}
    to_files = saves_to_files(ws)
    counts = dict(Counter(f"{what} {delivery_outcome(send(), to_files=to_files)}" for send in sends))
    if saved := counts.get(f"{what} saved"):
        folder = mail_folder(ws, year)
        note(f"  {what}のメール {saved} 件を {folder} に .eml ファイルとして保存しました（メールサーバー未設定）")
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
