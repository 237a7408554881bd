"""Who owns what (DESIGN.md §1), computed here and nowhere else.

- A policy bullet belongs to the ministries in its tags.
- A status bullet belongs to the ministry that submitted it; in a published annex, which has
  no status tags, to the row's owners (or to its own tags where the document gives some).
- A row's owners are its measure tags or, where the measure has none, the union of its
  bullets' tags.
- A bullet whose tags name no ministry (関係府省 only, or none) falls back to the row's owners,
  and a row that names nobody falls to the secretariat, so that no bullet is without an owner.
"""

from __future__ import annotations

from collections import defaultdict

from annex.model.annex import COLUMNS, Annex, Bullet, Column, Row
from annex.model.tags import TagResolver


def row_owners(row: Row, tags: TagResolver, secretariat: str) -> list[str]:
    owners = tags.ministries_of(row.measure_tags)
    if not owners:
        named = [t for column in COLUMNS for b in row.bullets(column) for t in b.tags]
        owners = tags.table_order(tags.ministries_of(named))
    return owners or [secretariat]


def bullet_owners(row: Row, column: Column, bullet: Bullet, tags: TagResolver, secretariat: str) -> list[str]:
    if column == "status" and bullet.submitted_by:
        return [bullet.submitted_by]
    owners = tags.ministries_of(bullet.tags)
    return owners or row_owners(row, tags, secretariat)


def ministries_in_annex(annex: Annex, tags: TagResolver, secretariat: str) -> dict[str, list[str]]:
    """Ministry → ids of the rows it owns or appears in, in document order."""
    rows: dict[str, list[str]] = defaultdict(list)
    for _, _, row in annex.rows():
        present = list(row_owners(row, tags, secretariat))
        for column in COLUMNS:
            for bullet in row.bullets(column):
                present += bullet_owners(row, column, bullet, tags, secretariat)
        for ministry in dict.fromkeys(present):
            rows[ministry].append(row.id)
    return dict(rows)


def bullets_owned_by(annex: Annex, ministry: str, tags: TagResolver, secretariat: str) -> list[str]:
    return [
        bullet.id
        for row, column, bullet in annex.bullets()
        if bullet.id and ministry in bullet_owners(row, column, bullet, tags, secretariat)
    ]
