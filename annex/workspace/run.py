"""The annual run's report: the figures of run.json and the summary printed by `annex run`."""

from __future__ import annotations

import json
from pathlib import Path

from annex.io.files import write_atomically
from annex.model.rules import RULES
from annex.notify.reminders import statuses_from_ledger
from annex.workspace.notify import expected_ministries


def ministry_table(workspace, year: int, entries) -> dict[str, str]:
    """Every ministry that was sent a template (abolished ones aside) → 受理 / 差戻し / 未提出."""
    statuses = statuses_from_ledger(entries)
    expected = expected_ministries(workspace, year)
    return {
        m.abbr: statuses[m.abbr].status if m.abbr in statuses else "未提出"
        for m in workspace.config.ministries
        if (m.abbr in expected or m.abbr in statuses) and not m.abolished
    }


def build_summary(
    workspace,
    year: int,
    *,
    ministries: dict[str, str],
    merge,
    render,
    issues: dict[str, int],
    mail: dict[str, str],
    files: list[Path],
    flow_run_id: str | None,
    seconds: float,
) -> dict:
    counts = merge.counts
    relisted = merge.relisted
    by_status = {s: [m for m, v in ministries.items() if v == s] for s in ("受理", "差戻し", "未提出")}
    return {
        "year": year,
        "flow_run_id": flow_run_id,
        "seconds": round(seconds, 1),
        "ministries": by_status,
        "ministry_counts": {s: len(v) for s, v in by_status.items()},
        "merged_files": merge.merged_files,
        "bullets": {
            "master": merge.result.annex.counts()["bullets"],
            **{k: counts[k] for k in ("added", "modified", "deleted", "carried")},
        },
        "relisted": {
            "total": relisted["relisted"],
            "linked": relisted["exact"],
            "near_proposed": relisted["near"],
            "synced": relisted["synced"] + relisted["drift_reverted"],
        },
        "issues_by_rule": dict(sorted(issues.items())),
        "feedback_mail": mail,
        "pdf": {"produced": render.pdf_produced, "pages": render.pages, "reason": render.pdf_reason},
        "files": sorted(str(p.relative_to(workspace.root)) for p in files),
    }


MAIL_OUTCOMES = {
    "sent": "送信",
    "saved": ".eml ファイルに保存",
    "already": "送信済み（前回までに）",
    "failed": "送信失敗（次回再送）",
    "no-contact": "連絡先未登録のため送信せず",
}


def _mail_outcome(key: str) -> str:
    """「フィードバック sent」→「フィードバック 送信」: outcome keys as the secretariat reads them."""
    what, _, outcome = key.rpartition(" ")
    return f"{what} {MAIL_OUTCOMES.get(outcome, outcome)}".strip()


def summary_lines(summary: dict) -> list[str]:
    m, b, r = summary["ministry_counts"], summary["bullets"], summary["relisted"]
    lines = [
        f"完了: {summary['year']}年度 annual-consolidation（{summary['seconds']} 秒）",
        f"  府省庁: 受理 {m['受理']}・差戻し {m['差戻し']}・未提出 {m['未提出']}",
    ]
    for status in ("差戻し", "未提出"):
        if summary["ministries"][status]:
            lines.append(f"    {status}: {'、'.join(summary['ministries'][status])}")
    lines += [
        f"  項目: マスター {b['master']}（追加 {b['added']}・修正 {b['modified']}・削除 {b['deleted']}・前年どおり {b['carried']}）",
        f"  再掲: {r['total']} 件中 {r['linked']} 件を元の記載にリンク（近似一致の提案 {r['near_proposed']}・同期 {r['synced']}）",
    ]
    if summary["issues_by_rule"]:
        lines.append(f"  指摘 {sum(summary['issues_by_rule'].values())} 件（規則ごと）:")
        for code, n in sorted(summary["issues_by_rule"].items(), key=lambda kv: (-kv[1], kv[0])):
            title = RULES[code].title if code in RULES else code
            lines.append(f"    {title}（{code}）{n}件")
    mail = summary["feedback_mail"]
    if mail:
        lines.append("  メール: " + "、".join(f"{_mail_outcome(k)} {v}件" for k, v in sorted(mail.items())))
        if any(k.endswith(" saved") for k in mail):
            lines.append(
                f"    メールサーバーが設定されていないため、output/{summary['year']}/mail/ に保存しました"
                "（メールソフトで開いて送れます。送信するには config/annex.yaml の smtp.host を設定してください）"
            )
    if not summary["pdf"]["produced"]:
        lines.append(f"  PDF: 作成できませんでした（{summary['pdf']['reason']}）")
    lines.append(f"  出力 {len(summary['files'])} ファイル:")
    lines += [f"    {f}" for f in summary["files"]]
    return lines


def write_run_json(workspace, year: int, summary: dict) -> Path:
    text = json.dumps(summary, ensure_ascii=False, indent=1) + "\n"
    return write_atomically(workspace.output(year) / "run.json", lambda p: p.write_text(text, encoding="utf-8"))
