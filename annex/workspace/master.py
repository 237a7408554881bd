"""master(Y) in a workspace: import a published annex into it, read it back, or fall back on the
configured baseline (the bundled 2025 annex) when the year asked for is the baseline's."""

from __future__ import annotations

import hashlib
from pathlib import Path

from annex.io.collector import cycles_collected_after, leave_out_of_collections
from annex.io.files import publishing
from annex.io.xlsx import Sheet, write_tables
from annex.master.importer import IMPORT_REPORT_HEADERS, ImportResult, import_annex, read_annex_file
from annex.master.store import read_master_with_digest, stage_master
from annex.model.annex import Annex
from annex.model.errors import InputError
from annex.validation.validate import Reference
from annex.workspace.layout import Workspace


def import_into_workspace(workspace: Workspace, source: Path, year: int) -> tuple[ImportResult, list[Path]]:
    """annex import: read an annex file and store it as output/<year>/master.json + .xlsx + report.

    Nothing is written unless everything could be produced.
    """
    config = workspace.config
    result = import_annex(read_annex_file(source), config.tags, year)
    if result.bullets_in != result.bullets_out:  # cannot happen; guarded because it is the promise
        raise InputError(f"取込で項目数が変わりました（入力 {result.bullets_in} / 出力 {result.bullets_out}）")
    folder = workspace.output(year)
    kinds = {"alias": "表記ゆれ", "unknown": "略称表にない"}
    report = Sheet(
        "取込レポート",
        IMPORT_REPORT_HEADERS,
        [(w.where, w.field, w.tag, kinds[w.kind], w.suggestion or "", w.message) for w in result.warnings],
        widths={"内容": 90, "場所（項目ID / 行ID）": 20},
    )
    with publishing() as outputs:
        written = stage_master(outputs, result.annex, folder)
        written.append(outputs.stage(folder / "import-report.xlsx", lambda p: write_tables(p, [report])))
    return result, written


def master_or_baseline(workspace: Workspace, year: int, *, write: bool) -> tuple[Annex, str, str]:
    """master(year) from the workspace, else the configured baseline when it is that year's annex
    (imported, and written as master(year) when ``write``): (annex, where from, SHA-256 of its source).

    Any other missing master raises, with the hint to import it first.
    """
    path = workspace.master_json(year)
    if not path.exists() and workspace.config.settings.baseline.year == year:
        source = workspace.baseline_file()
        if write:
            import_into_workspace(workspace, source, year)
            annex, digest = read_master_with_digest(path)
            return annex, f"{source}（{year}年度として取込）", digest
        data = source.read_bytes()
        annex = import_annex(read_annex_file(source), workspace.config.tags, year).annex
        return annex, str(source), hashlib.sha256(data).hexdigest()
    annex, digest = read_master_with_digest(require_master(workspace, year))
    return annex, str(path), digest


def require_master(workspace: Workspace, year: int) -> Path:
    """output/<year>/master.json, or an error that says how that year's master is made."""
    path = workspace.master_json(year)
    if not path.exists():
        baseline = workspace.config.settings.baseline.year
        raise InputError(
            f"{year}年度のマスター（{path}）がありません",
            hint=f"{year}年度の提出物を統合する annex run --year {year}（または annex merge --year {year}）で作るか、"
            f"公表済みの別添を annex import <ファイル> --year {year} で取り込んでください"
            + (f"（設定の基準は {baseline}年度の別添です）" if baseline < year else ""),
        )
    return path


def previous_master(workspace: Workspace, year: int) -> tuple[Annex, str]:
    """master(Y-1), or the configured baseline imported as it (and written) when Y-1 is its year."""
    annex, source, _ = previous_master_with_digest(workspace, year)
    return annex, source


def previous_master_with_digest(workspace: Workspace, year: int) -> tuple[Annex, str, str]:
    """previous_master, with the SHA-256 of its source; a missing one names the year that needs it."""
    try:
        return master_or_baseline(workspace, year - 1, write=True)
    except InputError as exc:
        if workspace.master_json(year - 1).exists():
            raise
        raise InputError(f"{year}年度の処理には前年度の別添が要ります: {exc.message}", hint=exc.hint) from None


def load_reference(workspace: Workspace, year: int) -> Reference:
    """What year Y's submissions are compared with: master(Y-1) from output/<Y-1>/master.json, else
    the configured baseline if it is Y-1 (without either, files are checked against the catalogue only)."""
    config = workspace.config
    with cycles_collected_after():  # master(Y-1) and every plan: millions of objects, no cycles
        found = master_if_any(workspace, year - 1)
        if found is None:
            return Reference.for_annex(config, year, None)
        annex, _, digest = found
        ref = Reference.for_annex(config, year, annex)
    ref.source_digest = digest
    leave_out_of_collections(len(ref.bullets))  # every validation of the run reads it
    return ref


def master_if_any(workspace: Workspace, year: int) -> tuple[Annex, str, str] | None:
    """master_or_baseline (nothing written) when the workspace has master(year) or year is the
    baseline's; None otherwise, where a missing master is no error (nothing to compare with)."""
    if not workspace.master_json(year).exists() and workspace.config.settings.baseline.year != year:
        return None
    return master_or_baseline(workspace, year, write=False)
