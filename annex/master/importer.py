"""Import a published annex (corpus JSON, or a master written by annex) as a year's master.

Import is lenient: a tag outside the abbreviation table becomes a warning with the suggested
spelling, never a refusal, and nothing is dropped. A file that is not an annex at all (not
JSON, a missing key, a bullet without text) is refused with the path inside the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from annex.model.annex import COLUMN_LABELS, MEASURE_LABEL, Annex, assign_missing_ids, assign_missing_positions
from annex.model.errors import InputError, validation_problems
from annex.model.tags import TagResolver
from annex.render.reader import read_annex_docx  # the renderer's reverse: bootstrap a year from Word


def json_path(loc: tuple) -> str:
    """pydantic's error location as a path inside the JSON file: chapters[0].sections[2].title."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(ルート)"


@dataclass(frozen=True)
class ImportWarning:
    where: str  # bullet or row id
    field: str  # 担当府省 of a measure or a bullet
    tag: str
    kind: str  # alias / unknown
    suggestion: str | None

    @property
    def message(self) -> str:
        if self.kind == "alias":
            return f"タグ「{self.tag}」は略称表の表記ではありません。正しくは「{self.suggestion}」です（取込では受け入れ、表記ゆれとして記録）"
        hint = f"「{self.suggestion}」の誤りではありませんか" if self.suggestion else "略称表に近い表記がありません"
        return f"タグ「{self.tag}」は略称表にありません（{hint}）"


@dataclass
class ImportResult:
    annex: Annex
    warnings: list[ImportWarning] = field(default_factory=list)
    ids_assigned: int = 0
    bullets_in: int = 0

    @property
    def bullets_out(self) -> int:
        return self.annex.counts()["bullets"]


def parse_annex_json(text: str, label: str) -> Annex:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{label}: JSON として読めません（{exc.lineno}行 {exc.colno}列: {exc.msg}）") from None
    try:
        return Annex.model_validate(data)
    except ValidationError as exc:
        found = validation_problems(exc)
        problems = [f"{json_path(loc)}: {message}" for loc, message in found[:10]]
        more = f" ほか{len(found) - 10}件" if len(found) > 10 else ""
        raise InputError(f"{label}: 別添の形式ではありません — " + "; ".join(problems) + more) from None


def read_annex_file(path: Path) -> Annex:
    """Read an annex from the corpus format (.json) or, where supported, a Word file."""
    if not path.exists():
        raise InputError(f"{path} が見つかりません")
    if path.suffix.lower() == ".docx":
        return read_annex_docx(path)
    if path.suffix.lower() != ".json":
        raise InputError(f"{path}: 取り込めるのは別添の JSON（.json）または Word（.docx）です")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: UTF-8 のテキストとして読めません") from None
    return parse_annex_json(text, str(path))


def check_tags(annex: Annex, tags: TagResolver) -> list[ImportWarning]:
    warnings: list[ImportWarning] = []
    for _, _, row in annex.rows():
        places = [(row.id, MEASURE_LABEL, row.measure_tags)]
        for column, label in COLUMN_LABELS.items():
            places += [(b.id or row.id, label, b.tags) for b in row.bullets(column)]
        for where, field_name, tag_list in places:
            for tag in tag_list:
                resolution = tags.resolve(tag)
                if resolution.kind in ("alias", "unknown"):
                    warnings.append(ImportWarning(where, field_name, tag, resolution.kind, resolution.suggestion))
    return warnings


def import_annex(annex: Annex, tags: TagResolver, year: int) -> ImportResult:
    bullets_in = annex.counts()["bullets"]
    annex = annex.model_copy(deep=True)
    annex.year = year
    assigned = assign_missing_ids(annex)
    assign_missing_positions(annex)  # a master from before sub-rows were numbered
    duplicates = _duplicate_ids(annex)
    if duplicates:
        raise InputError(f"項目IDが重複しています: {', '.join(duplicates[:5])}")
    return ImportResult(annex=annex, warnings=check_tags(annex, tags), ids_assigned=assigned, bullets_in=bullets_in)


def _duplicate_ids(annex: Annex) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for _, _, bullet in annex.bullets():
        if bullet.id in seen:
            dupes.append(bullet.id)
        seen.add(bullet.id)
    return dupes


IMPORT_REPORT_HEADERS = ("場所（項目ID / 行ID）", "欄", "タグ", "種別", "正しい表記（候補）", "内容")
