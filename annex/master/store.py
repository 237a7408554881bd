"""A year's master: master.json (the annex with ids and provenance) and master.xlsx (one line
per bullet, for people)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from annex.io.files import OutputSet
from annex.io.xlsx import Sheet, write_tables
from annex.master.importer import parse_annex_json
from annex.model.annex import COLUMN_LABELS, MEASURE_LABEL, Annex
from annex.model.contract import chapter_label, heading_text, section_label
from annex.model.errors import InputError

MASTER_HEADERS = (
    "章",
    "節",
    "行ID",
    MEASURE_LABEL,
    "欄",
    "見出し",
    "項目ID",
    "記載内容",
    "担当府省",
    "再掲",
    "再掲元項目ID",
    "未更新",
    "出典",
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
        widths={MEASURE_LABEL: 50, "記載内容": 80, "章": 24, "節": 24, "行ID": 14, "項目ID": 16, "見出し": 24},
        height_ignores=(MEASURE_LABEL, "章", "節"),
    )
    return [
        outputs.stage(folder / "master.json", annex.write_json),
        outputs.stage(folder / "master.xlsx", lambda p: write_tables(p, [sheet])),
    ]


def read_master(path: Path) -> Annex:
    return read_master_with_digest(path)[0]


def read_master_with_digest(path: Path) -> tuple[Annex, str]:
    """The master and the SHA-256 of the very bytes it was parsed from (one read)."""
    if not path.exists():
        raise InputError(f"マスター {path} がありません", hint="先に annex import で前年度の別添を取り込んでください")
    data = path.read_bytes()
    return parse_annex_json(data.decode("utf-8"), str(path)), hashlib.sha256(data).hexdigest()
