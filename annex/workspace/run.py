"""The annual run's report: the figures of run.json and the summary printed by `annex run`."""

from __future__ import annotations

import json
from pathlib import Path

from annex.io.files import write_atomically
from annex.model.rules import RULES
from annex.notify.reminders import HELD, RESOLVE_HINT, statuses_from_ledger
from annex.workspace import approval
from annex.workspace.collect import files_to_check_lines
from annex.workspace.notify import expected_ministries, not_sent, to_check


def ministry_table(workspace, year: int, entries) -> dict[str, str]:
    """Every ministry that was sent a template (abolished ones aside) → 受理 / 差戻し / 保留（検証待ち） / 未提出."""
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
    unattributed: list[str],
    held=(),
    skipped=(),
    flow_run_id: str | None,
    seconds: float,
    lint: dict[str, int] | None = None,
) -> dict:
    counts = merge.counts
    relisted = merge.relisted
    by_status = {key: [m for m, v in ministries.items() if v == s] for s, key in STATUS_KEYS.items()}
    return {
        "year": year,
        "flow_run_id": flow_run_id,
        "seconds": round(seconds, 1),
        "ministries": by_status,
        "ministry_counts": {s: len(v) for s, v in by_status.items()},
        "merged_files": merge.merged_files,
        "unattributed_files": list(unattributed),  # no ministry named: the secretariat's to look at
        "held_files": list(held),  # 保留: the machine failed, not the file; validated again next run
        "skipped_files": [{"file": s.name, "reason": s.reason} for s in skipped],
        "versions": [c.to_dict() for c in getattr(merge, "versions", [])],
        "bullets": {
            "master": merge.result.annex.counts()["bullets"],
            **{k: counts[k] for k in ("added", "modified", "deleted", "carried", "not_updated")},
        },
        "not_updated_by_ministry": render.not_updated,
        "relisted": {
            "total": relisted["relisted"],
            "linked": relisted["exact"],
            "near_proposed": relisted["near"],
            "synced": relisted["synced"] + relisted["drift_reverted"],
        },
        "warnings": list(merge.warnings),
        "issues_by_rule": dict(sorted(issues.items())),
        # annex lint of master(Y): hits per notation rule (output/<Y>/lint.json has the places)
        "lint": {"total": sum((lint or {}).values()), "by_rule": {k: v for k, v in (lint or {}).items() if v}},
        "feedback_mail": mail_counts(mail),
        # uncertain (maybe delivered) or left queued: never counted as sent, listed for a person
        "mail_to_check": [
            {"ministry": e.ministry, "slot": e.slot, "message_id": e.message_id, "recipients": e.recipients, "reason": e.error}
            for e in to_check(workspace, year)
        ],
        # refused or unreachable: not delivered, the next run sends them
        "mail_not_sent": [{"ministry": e.ministry, "slot": e.slot, "reason": e.error} for e in not_sent(workspace, year)],
        "pdf": {"produced": render.pdf_produced, "pages": render.pages, "reason": render.pdf_reason},
        "files": sorted(str(p.relative_to(workspace.root)) for p in files),
    }


# run.json is read by programs (the Prefect UI artifact, scripts, the tests): its keys are English
# identifiers throughout, and the summary printed for the secretariat translates them back.
STATUS_KEYS = {"受理": "accepted", "差戻し": "returned", HELD: "held", "未提出": "missing"}
MAIL_KINDS = {"フィードバック": "feedback", "統合時の調整": "conflict_notice"}
UNREACHABLE = "unreachable"
MAIL_OUTCOMES = {
    "sent": "送信",
    "saved": ".eml ファイルに保存",
    "already": "送信済み（前回までに）",
    "failed": "送信失敗（メールサーバーが拒否）",
    "deferred": "一時的な送信失敗（次回の実行で送信）",
    "uncertain": "要確認（届いたか不明・自動では再送しません）",
    "no-contact": "連絡先未登録のため送信せず",
    "no-ministry": "府省不明のファイルのため送信せず",
    UNREACHABLE: "未送信（メールサーバーに接続できません）",
}


def mail_counts(mail: dict[str, int]) -> dict[str, dict[str, int]]:
    """{"フィードバック sent": 2, …} as the flow counts them → {"feedback": {"sent": 2}, …}."""
    out: dict[str, dict[str, int]] = {}
    for key, n in mail.items():
        what, _, outcome = key.partition(" ")
        outcome = UNREACHABLE if outcome.startswith("未送信") else outcome
        kind = out.setdefault(MAIL_KINDS.get(what, what), {})
        kind[outcome] = kind.get(outcome, 0) + n
    return out


def _mail_line(mail: dict[str, dict[str, int]]) -> str:
    labels = {v: k for k, v in MAIL_KINDS.items()}
    return "、".join(
        f"{labels.get(kind, kind)} {MAIL_OUTCOMES.get(outcome, outcome)} {n}件"
        for kind, outcomes in mail.items()
        for outcome, n in sorted(outcomes.items())
    )


def _server_answer(reason: str | None) -> str:
    """「メールサーバー h:p に送信できません（451 4.3.0 …）」 → 「451 4.3.0 …」: the part a person acts on."""
    text = reason or "理由不明"
    return text[text.index("（") + 1 : text.rindex("）")] if "（" in text and "）" in text else text


def summary_lines(summary: dict) -> list[str]:
    m, b, r = summary["ministry_counts"], summary["bullets"], summary["relisted"]
    lines = [
        f"完了: {summary['year']}年度 annual-consolidation（{summary['seconds']} 秒）",
        f"  府省庁: 受理 {m['accepted']}・差戻し {m['returned']}・{HELD} {m['held']}・未提出 {m['missing']}",
    ]
    for status, key in STATUS_KEYS.items():
        if key != "accepted" and summary["ministries"][key]:
            lines.append(f"    {status}: {'、'.join(summary['ministries'][key])}")
    lines += [f"  {line}" for line in files_to_check_lines(summary.get("held_files", []), summary["unattributed_files"])]
    if summary.get("skipped_files"):
        lines.append(f"  対象外のファイル {len(summary['skipped_files'])} 件:")
        lines += [f"    {s['file']} — {s['reason']}" for s in summary["skipped_files"]]
    lines += [f"  提出版: {v['note']}" for v in summary.get("versions", [])]
    lines += [
        f"  項目: マスター {b['master']}（追加 {b['added']}・修正 {b['modified']}・削除 {b['deleted']}・前年どおり {b['carried']}）",
    ]
    if summary["not_updated_by_ministry"]:
        named = "・".join(f"{m} {n}" for m, n in summary["not_updated_by_ministry"].items())
        lines.append(
            f"  未更新（提出がなく前年度の記載のまま）{b['not_updated']} 件: {named} — 確認用の annex-review.docx に黄色で表示"
        )
    lines += [
        f"  再掲: {r['total']} 件中 {r['linked']} 件を元の記載にリンク（近似一致の提案 {r['near_proposed']}・同期 {r['synced']}）",
    ]
    lines += [f"  警告: {w}" for w in summary["warnings"]]
    if summary["issues_by_rule"]:
        lines.append(f"  指摘 {sum(summary['issues_by_rule'].values())} 件（規則ごと）:")
        for code, n in sorted(summary["issues_by_rule"].items(), key=lambda kv: (-kv[1], kv[0])):
            title = RULES[code].title if code in RULES else code
            lines.append(f"    {title}（{code}）{n}件")
    if "lint" in summary:
        lines.append(
            f"  表記チェック（マスター全体）: {summary['lint']['total']} 件 — output/{summary['year']}/lint.xlsx で確認してください"
        )
    if summary["feedback_mail"]:
        lines.append("  メール: " + _mail_line(summary["feedback_mail"]))
        if any("saved" in outcomes for outcomes in summary["feedback_mail"].values()):
            lines.append(
                f"    メールサーバーが設定されていないため、output/{summary['year']}/mail/ に保存しました"
                "（メールソフトで開いて送れます。送信するには config/annex.yaml の smtp.host を設定してください）"
            )
    if summary.get("mail_to_check"):
        lines.append(f"  メールの要確認 {len(summary['mail_to_check'])} 件（届いたか不明。自動では再送しません）:")
        lines += [
            f"    {m['ministry']} {m['slot']}（{m['message_id']}、宛先 {m['recipients']}）— {m['reason'] or '送信中のまま'}"
            for m in summary["mail_to_check"]
        ]
        lines.append(RESOLVE_HINT)
    if summary.get("mail_not_sent"):
        named = "、".join(f"{m['ministry']}（{_server_answer(m['reason'])}）" for m in summary["mail_not_sent"])
        lines.append(f"  メールの未送信 {len(summary['mail_not_sent'])} 件（次回の実行で送ります）: {named}")
    if not summary["pdf"]["produced"]:
        lines.append(f"  PDF: 作成できませんでした（{summary['pdf']['reason']}）")
    lines.append(f"  出力 {len(summary['files'])} ファイル:")
    lines += [f"    {f}" for f in summary["files"]]
    return lines + publication_lines(summary)


def publication_lines(summary: dict) -> list[str]:
    """What became of the outputs: published, waiting for approval, or sent back."""
    year, publication = summary["year"], summary.get("publication")
    if not publication:
        return []
    if publication["state"] == approval.PUBLISHED:
        return approval.published_lines(year, publication)
    if publication["state"] == approval.WAITING:
        return approval.waiting_lines(year, publication)
    previous = {"published_at": publication["previous_published_at"]} if publication.get("previous_published_at") else None
    return approval.sent_back_lines(year, publication.get("comment", ""), previous)


def write_run_json(workspace, year: int, summary: dict) -> Path:
    text = json.dumps(summary, ensure_ascii=False, indent=1) + "\n"
    return write_atomically(workspace.output(year) / "run.json", lambda p: p.write_text(text, encoding="utf-8"))


def record_publication(workspace, year: int, summary: dict) -> bool:
    """After a paused run's decision: run.json says what became of its outputs, unless a later run
    (started while this one waited) has written its own run.json since."""
    path = workspace.output(year) / "run.json"
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = None
    if current is not None and current.get("flow_run_id") != summary["flow_run_id"]:
        return False
    write_run_json(workspace, year, summary)
    return True
