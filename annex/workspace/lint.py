"""annex lint: master(Y) linted for the secretariat → output/<Y>/lint.json and lint.xlsx."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from annex.io.files import publishing
from annex.io.xlsx import Sheet, write_tables
from annex.lint import dictionary
from annex.lint.annex import LintReport, lint_annex
from annex.model.annex import Annex
from annex.model.config import Config
from annex.model.rules import CATALOGUE_VERSION, RULES
from annex.workspace.layout import Workspace
from annex.workspace.master import master_or_baseline

# one sheet per rule family, in the order the secretariat works through them
FAMILIES = (
    ("表記ゆれ", ("A-VARIANT",)),
    (
        "文書の構成",
        ("A-TAGS-MISSING", "A-TAG-UNLISTED", "A-TAG-ORDER", "A-MEASURE-MARKER", "A-FOOTNOTE-UNDEFINED", "A-FOOTNOTE-UNUSED"),
    ),
    ("全角・半角", ("N-WIDTH-ACRONYM", "N-WIDTH-DIGIT", "N-WIDTH-MIXED", "N-WIDTH-SYMBOL")),
    (
        "句読点・括弧・空白",
        ("N-PUNCT", "N-PUNCT-DOUBLE", "N-BRACKET-UNPAIRED", "N-BRACKET-WIDTH", "N-BRACKET-NESTED", "N-SPACE-BRACKET", "N-SPACE"),
    ),
    ("数字・年", ("N-COUNTER", "N-NUMERAL-TSU", "N-ERA-INVALID", "N-ERA-MISMATCH")),
    ("文末・辞書・空欄", ("N-SENTENCE-END", "N-DICTIONARY", "N-EMPTY-MARKER")),
)
HEADERS = ("コード", "確認項目", "重要度", "項目ID", "欄", "文字目", "該当", "修正案", "内容")
WIDTHS = {"内容": 50, "該当": 24, "修正案": 24, "項目ID": 16, "欄": 16, "確認項目": 18}


@dataclass
class LintResult:
    year: int
    source: str
    report: LintReport
    paths: list[Path]

    def lines(self) -> list[str]:
        out = [f"{self.year}年度マスターの表記チェック: {self.report.total} 件（{self.source}）"]
        for code, hits in self.report.hits.items():
            if hits:
                out.append(f"  {code:<22} {RULES[code].title}: {len(hits)} 件")
        return out


def lint_master(annex: Annex, config: Config) -> LintReport:
    sources = config.sources
    return lint_annex(
        annex,
        dictionary=dictionary.parse(config.notation, sources.get("notation.yaml", "notation.yaml")),
        variant_dictionary=dictionary.parse(config.variants, sources.get("variants.yaml", "variants.yaml")),
        severities=config.settings.rule_severities,
        generic_tags=config.tag_settings.pseudo_tags,
    )


def report_json(report: LintReport, source: str) -> dict:
    """Every lint rule code → its hits (rules without a hit included, with an empty list)."""
    return {
        "year": report.year,
        "source": source,
        "catalogue_version": CATALOGUE_VERSION,
        "total": report.total,
        "rules": {
            code: {
                "title": RULES[code].title,
                "severity": RULES[code].severity,
                "count": len(hits),
                "hits": [
                    {
                        "item_id": h.place.item_id,
                        "field": h.place.field,
                        "offset": h.offset,
                        "found": h.found,
                        "fixed": h.fixed,
                        "severity": h.severity,
                        "message": h.message,
                        "suggestion": h.suggestion,
                    }
                    for h in hits
                ],
            }
            for code, hits in report.hits.items()
        },
    }


def report_sheets(report: LintReport) -> list[Sheet]:
    summary = Sheet(
        "概要",
        ("コード", "確認項目", "件数", "説明"),
        [(code, RULES[code].title, len(hits), RULES[code].guide) for code, hits in report.hits.items()],
        widths={"説明": 60, "確認項目": 22},
    )
    sheets = [summary]
    for title, codes in FAMILIES:
        rows = [
            (
                h.code,
                RULES[h.code].title,
                "エラー" if h.severity == "error" else "警告",
                h.place.item_id,
                h.place.field,
                h.offset + 1 if h.offset is not None else "",
                h.found,
                h.fixed or "",
                h.message,
            )
            for code in codes
            for h in report.hits.get(code, [])
        ]
        sheets.append(Sheet(title, HEADERS, rows, widths=WIDTHS))
    return sheets


def lint_year(workspace: Workspace, year: int) -> LintResult:
    annex, source, _ = master_or_baseline(workspace, year, write=False)
    report = lint_master(annex, workspace.config)
    return LintResult(year, source, report, write_lint_files(workspace.output(year), report, source))


def write_lint_files(folder: Path, report: LintReport, source: str) -> list[Path]:
    data = json.dumps(report_json(report, source), ensure_ascii=False, indent=1)
    with publishing() as outputs:
        return [
            outputs.stage(folder / "lint.json", lambda p: p.write_text(data, encoding="utf-8")),
            outputs.stage(folder / "lint.xlsx", lambda p: write_tables(p, report_sheets(report))),
        ]
