"""Publish: run.json with the run's figures, and what the Prefect UI shows for the run."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

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
