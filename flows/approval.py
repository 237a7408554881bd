"""The approval step of annual-consolidation: the form a paused run shows in the Prefect UI, the
pause itself, and `annex approve` for a run paused on a server (resume it with the same form's
answer, then wait until it has published or recorded the send-back). Not a flow: annual imports it."""

from __future__ import annotations

import time
from typing import Literal
from uuid import UUID

import httpx  # Prefect's client speaks httpx (a dependency of prefect): its errors are these
from prefect import pause_flow_run, resume_flow_run
from prefect.client.orchestration import get_client
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from pydantic import Field

from annex.io.runlock import run_lock
from annex.model.errors import AnnexError
from annex.workspace import approval
from annex.workspace.layout import Workspace
from annex.workspace.run import publication_lines, record_publication
from flows.progress import note
from tasks.publish import publish_annex, send_back


class Approval(RunInput):
    """The form the Prefect UI shows on an annual run paused for the secretariat's approval."""

    decision: Literal["承認して公開する", "差し戻す"] = Field(
        title="判断", description="承認すると、確認した出力（ハッシュで照合）をそのまま output/<年度>/published/ に公開します"
    )
    comment: str = Field("", title="コメント", description="差し戻す理由（承認のときは任意）")
    reviewer: str = Field("", title="確認者", description="氏名（任意。公開の記録に残ります）")


APPROVE, SEND_BACK = "承認して公開する", "差し戻す"
APPROVAL_TIMEOUT_SECONDS = 14 * 24 * 3600  # the secretariat's review may take days; afterwards `annex approve` still can
APPROVAL_POLL_SECONDS = 2  # how soon a paused run notices it was resumed (one small GET; the form answer feels immediate)
DIRECTLY = "承認手続きなし（annex run）"


def wait_for_approval(ws: Workspace, year: int, record: dict, summary: dict) -> None:
    """Pause until the secretariat approves or sends back (the UI's form, or `annex approve`), then
    publish or record the send-back, and say so in summary["publication"] and run.json.

    The workspace lock is released while waiting (another run may start; it replaces this
    request, and approving this one then refuses, as its files changed)."""
    for line in approval.waiting_lines(year, record):
        note(line)
    try:
        answer = pause_flow_run(
            wait_for_input=Approval.with_initial_data(description=approval.form_description(year, record)),
            timeout=APPROVAL_TIMEOUT_SECONDS,
            poll_interval=APPROVAL_POLL_SECONDS,
            key=f"approval-{year}",
        )
    except FlowPauseTimeout:
        approval.waited_too_long(ws, year, record)
        raise
    by = answer.reviewer or "Prefect UI"
    with run_lock(ws.archive, "run", year):
        if answer.decision == APPROVE:
            manifest = publish_annex(ws, year, record["files"], record["flow_run_id"], by, record["requested_at"])
            summary["publication"] = {"state": approval.PUBLISHED, **manifest}
        else:
            previous = send_back(ws, year, record, answer.comment, by)
            summary["publication"] = {
                "state": approval.SENT_BACK,
                "comment": answer.comment,
                "by": by,
                "files": record["files"],
                "previous_published_at": previous["published_at"] if previous else None,
            }
        record_publication(ws, year, summary)
    for line in publication_lines(summary):
        note(line)


WAIT_SECONDS = 600  # the paused run notices within seconds; publishing copies a few files


def resume(ws: Workspace, year: int, record: dict, *, send_back_comment: str | None, by: str) -> list[str] | None:
    """The run's outcome as lines; None when the run no longer waits (then the workspace decides)."""
    run_id = UUID(record["flow_run_id"])
    try:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(run_id).state
            if state is None or not state.is_paused():
                if state is not None and not state.is_final():
                    raise AnnexError(
                        f"Prefect の実行 {run_id} はまだ承認待ちになっていません（状態: {state.name}）",
                        hint="少し待ってから、もう一度 annex approve を実行してください",
                    )
                return None
            decision = {
                "decision": APPROVE if send_back_comment is None else SEND_BACK,
                "comment": send_back_comment or "",
                "reviewer": by,
            }
            resume_flow_run(run_id, run_input=decision)
            deadline = time.monotonic() + WAIT_SECONDS
            while not (state := client.read_flow_run(run_id).state).is_final():
                if time.monotonic() > deadline:
                    raise AnnexError(
                        f"Prefect の実行 {run_id} に判断を送りましたが、{WAIT_SECONDS} 秒以内に終わりませんでした",
                        hint="Prefect UI で実行の状態を確認してください",
                    )
                time.sleep(1)
    except httpx.HTTPError as exc:
        raise AnnexError(
            f"Prefect サーバー（{record.get('api_url')}）に接続できません（{exc}）",
            hint="サーバーを起動してから再実行するか、Prefect UI から承認してください",
        ) from None
    if not state.is_completed():
        # the run's own reason (e.g. a file changed since the request) without Prefect's English prefix
        reason = (state.message or "").split("AnnexError: ", 1)[-1]
        raise AnnexError(f"Prefect の実行 {run_id} は {state.name} で終わりました: {reason}")
    if send_back_comment is not None:
        return approval.sent_back_lines(year, send_back_comment, approval.current_publication(ws, year))
    manifest = approval.current_publication(ws, year)
    if not manifest or manifest.get("flow_run_id") != record["flow_run_id"]:
        raise AnnexError(
            f"Prefect の実行 {run_id} は終わりましたが、公開の記録が見つかりません", hint="Prefect UI でログを確認してください"
        )
    return approval.published_lines(year, manifest)
