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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from annex.feedback.conflicts import CONFLICT_SHEET, add_conflict_sheet, has_sheet, remove_sheet
from annex.io.collector import cycles_collected_after
from annex.io.faults import checkpoint
from annex.io.files import publishing, sweep_orphans
from annex.io.xlsx import write_tables
from annex.master.store import stage_master
from annex.merge.merge import MergeResult, merge
from annex.merge.reconcile import ReconcileResult, reconcile, relisted_figures
from annex.merge.reports import SubmissionStatus, change_sheets, reconciliation_sheets
from annex.model.annex import Annex
from annex.model.issues import Submission
from annex.workspace.collect import (
    accepted_submissions,
    collect_and_validate,
    feedback_folder,
    feedback_name,
    files_to_check_lines,
    inbox_lines,
    verdict_line,
)
from annex.workspace.layout import Workspace
from annex.workspace.master import master_or_baseline, previous_master
from annex.workspace.notify import expected_ministries, ledger_statuses
from annex.workspace.versions import VersionChoice, tell_versions


@dataclass
class MergeSummary:
    year: int
    result: MergeResult
    merged_files: dict[str, str] = field(default_factory=dict)  # ministry → file name of the version merged
    written: list[Path] = field(default_factory=list)
    previous_source: str = ""  # where master(Y-1) came from
    conflict_feedback: dict[str, Path] = field(default_factory=dict)  # ministry → feedback workbook naming its conflicts
    warnings: list[str] = field(default_factory=list)  # what the secretariat must know before using master(Y)
    inbox: list[str] = field(default_factory=list)  # files skipped and names shown otherwise, one line each
    to_check: list[str] = field(default_factory=list)  # held files, then files of no ministry: headed as annex run's
    versions: list[VersionChoice] = field(default_factory=list)  # ministries that sent several versions

    @property
    def counts(self) -> dict[str, int]:
        return self.result.counts()

    @property
    def relisted(self) -> dict[str, int]:
        return relisted_figures(self.result.decisions)


# -- master(Y-1) ---------------------------------------------------------------------------------


def annotate_feedback(
    workspace: Workspace, year: int, result: MergeResult, submissions: Mapping[str, Submission]
) -> dict[str, Path]:
    """Add the conflicts to the feedback workbook of each ministry that took part; ministry → path.

    A workbook that named conflicts in an earlier merge which no longer stand loses that sheet.
    """
    annotated = {}
    for ministry, sub in submissions.items():
        mine = result.conflicts_of(ministry)
        path = feedback_folder(workspace, year) / feedback_name(workspace, sub)
        if not path.exists():
            continue
        if mine:
            add_conflict_sheet(path, ministry, mine)
            annotated[ministry] = path
        elif has_sheet(path, CONFLICT_SHEET):
            remove_sheet(path, CONFLICT_SHEET)
    return annotated


def record_lineage(workspace: Workspace, year: int, result: MergeResult, submissions: Mapping[str, Submission]) -> None:
    """The ledger learns which submitted line produced (or was refused for) which bullet of the
    master just published: what `annex audit ITEM_ID` reads."""
    lines = [
        {
            "item_id": o.item_id,
            "ministry": o.ministry,
            "sha256": submissions[o.ministry].sha256,
            "file": o.file,
            "excel_row": o.excel_row,
            "action": o.action,
            "outcome": o.outcome,
            "reason": o.reason,
        }
        for o in result.outcomes
        if o.item_id and o.ministry in submissions
    ]
    with workspace.open_ledger() as ledger:
        ledger.record_merge(year, lines)


def submission_statuses(workspace: Workspace, year: int) -> dict[str, SubmissionStatus]:
    """What the ledger holds for each ministry this year: 受理 / 差戻し and the newest such file."""
    return {m: SubmissionStatus(s.status, s.file or "") for m, s in ledger_statuses(workspace, year).items()}


def merge_submissions(
    workspace,
    year: int,
    submissions: Mapping[str, Submission],
    *,
    write: bool = True,
    previous: tuple[Annex, str] | None = None,
    own_previous: bool = False,
) -> MergeSummary:
    """Merge given accepted submissions into master(Y) and publish the four outputs.
    ``own_previous``: the caller will not use ``previous`` again (see annex.merge.merge)."""
    config = workspace.config
    with cycles_collected_after():  # two masters and their reports: millions of objects, no cycles
        previous_annex, source = previous or previous_master(workspace, year)
        result = merge(previous_annex, submissions, config, year=year, own_previous=own_previous or previous is None)
    summary = MergeSummary(year, result, {m: s.file for m, s in submissions.items()}, previous_source=source)
    if write:
        folder = workspace.output(year)
        with publishing() as outputs, cycles_collected_after():
            summary.written = stage_master(outputs, result.annex, folder)
            expected = result.ownership.rows_of if result.ownership else expected_ministries(workspace, year)
            sheets = change_sheets(result, config, summary.merged_files, submission_statuses(workspace, year), expected)
            summary.written.append(outputs.stage(folder / "changes.xlsx", lambda p: write_tables(p, sheets)))
            recon = reconciliation_sheets(result)
            summary.written.append(outputs.stage(folder / "reconciliation.xlsx", lambda p: write_tables(p, recon)))
        record_lineage(workspace, year, result, submissions)
        summary.conflict_feedback = annotate_feedback(workspace, year, result, submissions)
        slugs = {m.abbr: m.slug for m in config.ministries}
        summary.versions = tell_versions(
            workspace, year, feedback_folder(workspace, year), lambda m: slugs.get(m, "unidentified")
        )
    return summary


def merge_year(workspace, year: int | None = None, *, feedback: bool = True) -> MergeSummary:
    """collect → validate → reconcile → merge for year Y, without Prefect and without e-mail."""
    year = workspace.year(year)
    sweep_orphans(workspace.output(year))  # a killed run's temp files (its pid is dead)
    sweep_orphans(workspace.archive)
    previous = previous_master(workspace, year)  # fail early (and import the baseline) before collecting
    collected = collect_and_validate(workspace, year, feedback=feedback)
    checkpoint("merge:collected")
    accepted = accepted_submissions(workspace, year, known={s.sha256: s for s in collected.submissions})
    accepted_subs = {m: sub for m, (_, sub) in accepted.items()}
    summary = merge_submissions(workspace, year, accepted_subs, previous=previous, own_previous=True)  # read for it alone
    summary.inbox = inbox_lines(collected.received, collected.ignored)
    held = [s for s in collected.submissions if s.held]
    received = len(collected.new) + len(collected.seen)
    summary.warnings = merge_warnings(workspace, year, summary, received=received, held=len(held))
    known = workspace.config.ministry_by_abbr
    unknown = [s for s in collected.submissions if not s.held and (s.ministry is None or s.ministry not in known)]
    summary.to_check = files_to_check_lines(
        [f"{s.file} → {verdict_line(s, known)}" for s in held], [f"{s.file} → {verdict_line(s, known)}" for s in unknown]
    )
    return summary


def merge_warnings(workspace, year: int, summary: MergeSummary, *, received: int, held: int = 0) -> list[str]:
    """A master that is last year's annex again says so: no file received, or none accepted."""
    folder = workspace.submissions(year)
    if summary.merged_files:  # merged, perhaps from the archive when the inbox was emptied since
        return []
    if not received:
        return [
            f"{folder} に提出ファイルがありません: {year}年度のマスターは前年度の記載のまま（すべて未更新）です。"
            "年度（--year）と提出物の置き場所を確認してください"
        ]
    why = f"{received} 件とも差戻し" if not held else f"差戻し {received - held} 件・保留 {held} 件"
    return [f"受理された提出物がありません（{why}）: {year}年度のマスターは前年度の記載のまま（すべて未更新）です"]


def relisted_report(workspace, year: int | None = None) -> tuple[ReconcileResult, str]:
    """`annex relisted`: the 再掲 decisions for master(Y) (or the baseline when Y is its year)."""
    year = workspace.year(year)
    config = workspace.config
    annex, source, _ = master_or_baseline(workspace, year, write=False)
    return reconcile(annex, threshold=config.settings.reconcile.near_match_threshold), source
