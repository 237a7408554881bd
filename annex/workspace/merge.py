"""`annex merge`: collect → validate → reconcile → merge, and the files it publishes.

``merge_year(workspace, year)`` is what the CLI and the Prefect flow call. It reads master(Y-1)
(importing the configured baseline first when Y-1 is the baseline year and no master exists),
collects and validates submissions/<Y>/ (annex.workspace.collect), merges the newest accepted version of
each ministry (annex.merge.merge) and publishes, all together or none (annex.io.files):

    output/<Y>/master.json          the annex with ids, 再掲 links, 未更新 marks and provenance
    output/<Y>/master.xlsx          one line per bullet, for people
    output/<Y>/changes.xlsx         概要 per ministry; 変更 (added / modified old → new / deleted);
                                    未更新 (carried over, no owner submitted); 反映しなかった行;
                                    提出状況 (which file of each ministry was merged)
    output/<Y>/reconciliation.xlsx  every 再掲 decision and every conflict, with its reason
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from annex.model.config import Config
from annex.feedback.conflicts import annotate_feedback
from annex.io.files import publishing
from annex.master.store import master_or_baseline
from annex.merge.merge import CHANGE_LABELS, OUTCOME_LABELS, MergeResult, merge
from annex.model.annex import COLUMN_LABELS, COLUMNS, Annex
from annex.merge.reconcile import KIND_LABELS, ReconcileResult, reconcile
from annex.model.contract import PREAMBLE_FIELDS
from annex.model.issues import Submission
from annex.io.xlsx import Sheet, write_tables

FIELD_LABELS = {**COLUMN_LABELS, **PREAMBLE_FIELDS}


@dataclass
class MergeSummary:
    year: int
    result: MergeResult
    merged_files: dict[str, str] = field(default_factory=dict)  # ministry → file name of the version merged
    written: list[Path] = field(default_factory=list)
    previous_source: str = ""  # where master(Y-1) came from
    conflict_feedback: dict[str, Path] = field(default_factory=dict)  # ministry → feedback workbook naming its conflicts

    @property
    def counts(self) -> dict[str, int]:
        return self.result.counts()

    @property
    def relisted(self) -> dict[str, int]:
        from annex.merge.reconcile import relisted_figures

        return relisted_figures(self.result.decisions)


# -- master(Y-1) ---------------------------------------------------------------------------------

def previous_master(workspace, year: int) -> tuple[Annex, str]:
    """master(Y-1), or the configured baseline imported as it (and written) when Y-1 is its year."""
    annex, source, _ = master_or_baseline(workspace, year - 1, write=True)
    return annex, source


# -- reports -------------------------------------------------------------------------------------

def change_sheets(result: MergeResult, config: Config, merged_files: Mapping[str, str]) -> list[Sheet]:
    key = config.tags.sort_key
    per: dict[str, dict[str, int]] = {}  # counted as MergeResult.counts() counts: table bullets, then preamble
    for c in result.changes:
        kind = c.kind if c.column in COLUMNS else "preamble"
        per.setdefault(c.ministry, {k: 0 for k in (*CHANGE_LABELS, "preamble")})[kind] += 1
    lost: dict[str, int] = {}
    for o in result.outcomes:
        if o.outcome in ("not_merged", "conflict_lost", "drift_reverted"):
            lost[o.ministry] = lost.get(o.ministry, 0) + 1
    ministries = sorted(set(per) | set(merged_files) | set(result.carried_over), key=key)
    summary = [
        (m, merged_files.get(m, "（提出なし・未受理）"),
         *(per.get(m, {}).get(k, 0) for k in (*CHANGE_LABELS, "preamble")), lost.get(m, 0), len(result.conflicts_of(m)))
        for m in ministries
    ]
    counts = result.counts()
    summary.append(("合計", "", *(counts[k] for k in (*CHANGE_LABELS, "preamble")), sum(lost.values()), counts["conflicts"]))
    edits = [
        (c.ministry, CHANGE_LABELS[c.kind], c.item_id, c.row_id, FIELD_LABELS.get(c.column, c.column), c.old or "", c.new or "", c.source, c.note)
        for c in result.changes if c.kind != "not_updated"
    ]
    carried = [
        (c.ministry, c.item_id, c.row_id, FIELD_LABELS.get(c.column, c.column), c.old or "", c.note)
        for c in result.changes if c.kind == "not_updated"
    ]
    lines = [
        (o.ministry, o.file, o.excel_row, o.action, o.item_id or "", OUTCOME_LABELS[o.outcome], o.reason)
        for o in result.outcomes if o.outcome != "unchanged"
    ]
    files = [(m, merged_files.get(m, ""), "未更新（前年度の記載のまま）" if m in result.carried_over else "反映") for m in ministries]
    wide = {"変更前": 60, "変更後": 60, "記載内容": 70, "理由": 60, "備考": 40, "出典": 40, "ファイル": 40}
    return [
        Sheet("概要", ("府省", "反映したファイル", *CHANGE_LABELS.values(), "前文（目標・指標）の変更", "反映しなかった行", "競合"), summary, widths=wide),
        Sheet("変更", ("府省", "種別", "項目ID", "行ID", "欄", "変更前", "変更後", "出典", "備考"), edits, widths=wide, wrap=("変更前", "変更後")),
        Sheet("未更新", ("府省", "項目ID", "行ID", "欄", "記載内容", "理由"), carried, widths=wide, wrap=("記載内容",)),
        Sheet("反映しなかった行", ("府省", "ファイル", "行", "対応", "項目ID", "結果", "理由"), lines, widths=wide, wrap=("理由",)),
        Sheet("提出状況", ("府省", "ファイル", "扱い"), files, widths=wide),
    ]


def reconciliation_sheets(result: MergeResult) -> list[Sheet]:
    index = result.annex.bullet_index()

    def text_of(item_id: str | None) -> str:
        found = index.get(item_id or "")
        return found[2].rendered() if found else ""

    decisions = [
        (KIND_LABELS[d.kind], d.kind, d.item_id, "取組" if d.measure else "記載", d.original_id or "", ", ".join(d.related_ids),
         "" if d.score is None else d.score, d.before or "", d.after or text_of(d.item_id), text_of(d.original_id), d.reason)
        for d in result.decisions
    ]
    conflicts = []
    for c in result.conflicts:
        for v in c.versions:
            conflicts.append((c.item_id, c.row_id, "、".join(c.owners), v.ministry, v.action, v.rendered or "（削除）", v.source,
                              "採用" if v.ministry == c.winner else "不採用", c.reason))
    wide = {"理由": 70, "変更前": 50, "結果": 50, "元の記載": 50, "版": 60}
    return [
        Sheet("再掲", ("判定", "種別コード", "項目ID", "対象", "元の項目ID", "関連する項目ID", "類似度", "変更前", "結果", "元の記載", "理由"),
              decisions, widths=wide, wrap=("変更前", "結果", "元の記載", "理由")),
        Sheet("競合", ("項目ID", "行ID", "担当府省", "府省", "対応", "版", "出典", "採否", "理由"), conflicts, widths=wide, wrap=("版", "理由")),
    ]


# -- the whole step ------------------------------------------------------------------------------

def merge_submissions(workspace, year: int, submissions: Mapping[str, Submission], *, write: bool = True,
                      previous: tuple[Annex, str] | None = None) -> MergeSummary:
    """Merge given accepted submissions into master(Y) and publish the four outputs."""
    from annex.master.store import stage_master

    config = workspace.config
    previous_annex, source = previous or previous_master(workspace, year)
    result = merge(previous_annex, submissions, config, year=year)
    summary = MergeSummary(year, result, {m: s.file for m, s in submissions.items()}, previous_source=source)
    if write:
        folder = workspace.output(year)
        with publishing() as outputs:
            summary.written = stage_master(outputs, result.annex, folder)
            sheets = change_sheets(result, config, summary.merged_files)
            summary.written.append(outputs.stage(folder / "changes.xlsx", lambda p: write_tables(p, sheets)))
            recon = reconciliation_sheets(result)
            summary.written.append(outputs.stage(folder / "reconciliation.xlsx", lambda p: write_tables(p, recon)))
        summary.conflict_feedback = annotate_feedback(workspace, year, result, submissions)
    return summary


def merge_year(workspace, year: int | None = None, *, feedback: bool = True) -> MergeSummary:
    """collect → validate → reconcile → merge for year Y, without Prefect and without e-mail."""
    from annex.workspace.collect import accepted_submissions, collect_and_validate

    year = workspace.year(year)
    previous = previous_master(workspace, year)  # fail early (and import the baseline) before collecting
    collected = collect_and_validate(workspace, year, feedback=feedback)
    accepted = accepted_submissions(workspace, year, known={s.sha256: s for s in collected.submissions})
    return merge_submissions(workspace, year, {m: sub for m, (_, sub) in accepted.items()}, previous=previous)


def relisted_report(workspace, year: int | None = None) -> tuple[ReconcileResult, str]:
    """`annex relisted`: the 再掲 decisions for master(Y) (or the baseline when Y is its year)."""
    year = workspace.year(year)
    config = workspace.config
    annex, source, _ = master_or_baseline(workspace, year, write=False)
    return reconcile(annex, threshold=config.settings.reconcile.near_match_threshold), source
