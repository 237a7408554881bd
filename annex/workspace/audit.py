"""`annex audit ITEM_ID`: where one bullet of master(Y) came from, from the ledger alone — which
file (SHA-256) of which ministry, received when, judged how, and which of its lines produced the
bullet (or was refused for it)."""

from __future__ import annotations

from annex.intake.ledger import LineageEntry
from annex.master.store import read_master
from annex.model.errors import InputError
from annex.model.labels import format_instant
from annex.workspace.layout import Workspace

VERDICT_JA = {"accepted": "受理", "accepted_with_warnings": "受理（警告あり）", "rejected": "差戻し", "received": "未検証"}
OUTCOME_JA = {
    "unchanged": "変更なしとして確認（前年度の記載のまま）",
    "applied": "マスターに反映",
    "conflict_lost": "競合: 他府省の版を採用（この行は反映せず）",
    "drift_reverted": "再掲元の記載に合わせて戻した",
    "not_merged": "反映せず",
}


def audit_lines(workspace: Workspace, year: int, item_id: str) -> list[str]:
    item_id = item_id.strip()
    with workspace.open_ledger() as ledger:
        lineage = ledger.lineage_of(year, item_id)
        received = {e.sha256: e for e in ledger.entries(year)}
    if not lineage and item_id in _master_ids(workspace, year):
        return [
            f"項目 {item_id}（{year}年度）: どの提出物の行もこの項目を扱っていません — "
            "担当府省から受理された提出がなく、前年度の記載のまま（未更新）です"
        ]
    if not lineage:
        raise InputError(
            f"項目ID「{item_id}」は {year}年度の台帳にありません（どの提出物の行もこの項目を扱っていません）",
            hint="項目IDの綴りと年度（--year）を確認してください。提出のない府省の記載は前年度のまま（未更新）で、"
            "台帳には載りません。統合前なら annex merge または annex run を先に実行してください",
        )
    lines = [f"項目 {item_id}（{year}年度、最後の統合 {format_instant(lineage[0].merged_at)}）"]
    for line in lineage:
        lines += _describe(line, received.get(line.sha256))
    return lines


def _master_ids(workspace: Workspace, year: int) -> set[str]:
    path = workspace.master_json(year)
    if not path.exists():
        return set()
    return {b.id for _, _, b in read_master(path).bullets() if b.id}


def _describe(line: LineageEntry, entry) -> list[str]:
    outcome = OUTCOME_JA.get(line.outcome, line.outcome) + (f"（{line.reason}）" if line.reason else "")
    out = [f"  {line.ministry}: {line.file} の記入シート {line.excel_row} 行目 — 対応「{line.action}」→ {outcome}"]
    out.append(f"    ファイル SHA-256 {line.sha256}")
    if entry is None:
        out.append("    受付の記録が台帳にありません（台帳が別の場所のものではないか確認してください）")
        return out
    out.append(
        f"    受付 {format_instant(entry.received_at)}（第{entry.version}版、受け取った名前 {entry.path}、保管 archive/{entry.archive_path}）"
    )
    out.append(f"    判定 {VERDICT_JA.get(entry.status, entry.status)}（エラー {entry.errors} 件・警告 {entry.warnings} 件）")
    return out
