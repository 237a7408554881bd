"""Small annexes and submissions built in code, for the reconcile and merge tests."""

from __future__ import annotations

from annex.model.annex import Annex, Bullet, Chapter, Row, Section
from annex.model.issues import Submission, SubmissionLine

STATUS, POLICY = "実施状況・現状分析", "今後の取組方針"


def bullet(text: str, tags=(), *, id: str | None = None, relisted: bool = False, relisted_of: str | None = None, **kw) -> Bullet:
    return Bullet(id=id, text=text, tags=list(tags), relisted=relisted, relisted_of=relisted_of, **kw)


def row(id: str, measure_tags=(), status=(), policy=(), **kw) -> Row:
    return Row(id=id, measure=f"取組 {id}", measure_tags=list(measure_tags), status=list(status), policy=list(policy), **kw)


def annex(*rows: Row, year: int = 2025) -> Annex:
    return Annex(
        source="テスト別添",
        year=year,
        chapters=[Chapter(no="3", no_raw="３", title="章", sections=[Section(no="①", title="節", rows=list(rows))])],
    )


def line(
    action: str,
    *,
    item_id=None,
    row_id=None,
    field=POLICY,
    text=None,
    tags=(),
    relisted=False,
    relisted_of=None,
    heading=None,
    excel_row=4,
) -> SubmissionLine:
    return SubmissionLine(
        excel_row=excel_row,
        item_id=item_id,
        row_id=row_id,
        field=field,
        heading=heading,
        text=text,
        tags=list(tags),
        relisted=relisted,
        relisted_of=relisted_of,
        action=action,
        cells={"text": f"H{excel_row}"},
    )


def submission(ministry: str, *lines: SubmissionLine, file: str | None = None) -> Submission:
    numbered = []
    for i, ln in enumerate(lines):
        ln.excel_row = 4 + i
        ln.cells = {"text": f"H{4 + i}"}
        numbered.append(ln)
    return Submission(
        file=file or f"{ministry}.xlsx",
        sha256=f"sha-{ministry}",
        ministry=ministry,
        year=2026,
        template_version="2026.1",
        lines=numbered,
    )
