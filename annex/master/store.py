"""A year's master: master.json (the annex with ids and provenance) and master.xlsx (one line
per bullet, for people)."""

from __future__ import annotations

from pathlib import Path

from annex.model.errors import InputError
from annex.io.files import OutputSet
from annex.master.importer import import_annex, import_into_workspace, parse_annex_json, read_annex_file
from annex.model.annex import COLUMN_LABELS, Annex
from annex.model.contract import chapter_label, heading_text, section_label
from annex.io.xlsx import Sheet, write_tables

MASTER_HEADERS = (
    "章", "節", "行ID", "基本計画における具体的な取組", "欄", "見出し", "項目ID", "記載内容",
    "担当府省", "再掲", "再掲元項目ID", "未更新", "出典",
)


def master_lines(annex: Annex):
    for chapter, section, row in annex.rows():
        for column, label in COLUMN_LABELS.items():
            for bullet in row.bullets(column):
                source = ""
                if bullet.provenance:
                    p = bullet.provenance
                    source = "!".join(x for x in (p.file, p.sheet) if x) + (f"!{p.cell}" if p.cell else "")
                yield (
                    chapter_label(chapter),
                    section_label(section),
                    row.id,
                    row.measure,
                    label,
                    heading_text(bullet.heading, bullet.heading_path),
                    bullet.id,
                    bullet.text,
                    "、".join(bullet.tags),
                    "再掲" if bullet.relisted else "",
                    bullet.relisted_of or "",
                    "未更新" if bullet.not_updated else "",
                    source,
                )


def stage_master(outputs: OutputSet, annex: Annex, folder: Path) -> list[Path]:
    """Stage master.json and master.xlsx in folder (published when the OutputSet commits)."""
    sheet = Sheet(
        "マスター",
        MASTER_HEADERS,
        master_lines(annex),
        widths={"基本計画における具体的な取組": 50, "記載内容": 80, "章": 24, "節": 24, "行ID": 14, "項目ID": 16, "見出し": 24},
        wrap=("基本計画における具体的な取組", "記載内容", "見出し"),
    )
    return [
        outputs.stage_text(folder / "master.json", annex.to_json()),
        outputs.stage(folder / "master.xlsx", lambda p: write_tables(p, [sheet])),
    ]


def read_master(path: Path) -> Annex:
    return read_master_with_digest(path)[0]


def read_master_with_digest(path: Path) -> tuple[Annex, str]:
    """The master and the SHA-256 of the very bytes it was parsed from (one read)."""
    import hashlib

    if not path.exists():
        raise InputError(f"マスター {path} がありません", hint="先に annex import で前年度の別添を取り込んでください")
    data = path.read_bytes()
    return parse_annex_json(data.decode("utf-8"), str(path)), hashlib.sha256(data).hexdigest()


def master_or_baseline(workspace, year: int, *, write: bool) -> tuple[Annex, str, str]:
    """master(year) from the workspace, else the configured baseline when it is that year's annex
    (imported, and written as master(year) when ``write``): (annex, where from, SHA-256 of its source).

    Any other missing master raises, with the hint to import it first.
    """
    import hashlib

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
    annex, digest = read_master_with_digest(path)
    return annex, str(path), digest
