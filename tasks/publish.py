"""Publish: run.json with the run's figures and what the Prefect UI shows for the run; the approval
before publishing and the publication itself (output/<Y>/published/, the approved files by hash)."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from annex.workspace import approval
from annex.workspace.layout import Workspace
from annex.workspace.run import write_run_json


@task(name="publish", cache_policy=NO_CACHE)
def publish(ws: Workspace, year: int, summary: dict, ministries: dict[str, str], links: dict[str, Path]) -> Path:
    path = write_run_json(ws, year, summary)
    create_table_artifact(
        key=f"ministries-{year}",
        table=[{"府省庁": m, "状況": s} for m, s in ministries.items()],
        description=f"{year}年度 府省庁別の提出状況（受理 / 差戻し / 未提出）",
    )
    create_table_artifact(
        key=f"issues-{year}",
        table=[{"ルール": r, "件数": n} for r, n in summary["issues_by_rule"].items()],
        description=f"{year}年度 ルール別の指摘件数",
    )
    create_markdown_artifact(
        key=f"outputs-{year}",
        description=f"{year}年度の出力",
        markdown="\n".join(f"- [{label}]({p.resolve().as_uri()})" for label, p in links.items()),
    )
    return path


@task(name="request-approval", cache_policy=NO_CACHE)
def request_approval(ws: Workspace, year: int, flow_run_id: str | None, waits_in: str, api_url: str | None) -> dict:
    """Hash the outputs to publish and record that they wait (output/<Y>/approval.json)."""
    record = approval.request_approval(ws, year, flow_run_id=flow_run_id, waits_in=waits_in, api_url=api_url)
    create_markdown_artifact(
        key=f"approval-{year}",
        description=f"{year}年度 公開前の承認",
        markdown="\n".join(["## 承認待ち", "", *(f"- {line.strip()}" for line in approval.waiting_lines(year, record))]),
    )
    return record


@task(name="publish-annex", cache_policy=NO_CACHE)
def publish_annex(
    ws: Workspace, year: int, files: dict[str, str], flow_run_id: str | None, approved_by: str, requested_at: str | None
) -> dict:
    """Copy exactly the approved files (by hash) into output/<Y>/published/."""
    manifest = approval.publish(ws, year, files, flow_run_id=flow_run_id, approved_by=approved_by, requested_at=requested_at)
    create_markdown_artifact(
        key=f"approval-{year}",
        description=f"{year}年度 公開",
        markdown="\n".join(f"- {line.strip()}" for line in approval.published_lines(year, manifest)),
    )
    return manifest


@task(name="send-back", cache_policy=NO_CACHE)
def send_back(ws: Workspace, year: int, record: dict, comment: str, by: str) -> dict | None:
    """Record the secretariat's comment; the previous publication stays as it is."""
    previous = approval.send_back(ws, year, record, comment=comment, by=by)
    create_markdown_artifact(
        key=f"approval-{year}",
        description=f"{year}年度 差戻し",
        markdown="\n".join(f"- {line.strip()}" for line in approval.sent_back_lines(year, comment, previous)),
    )
    return previous
