"""Who owns what (DESIGN.md §1), computed here and nowhere else.

- A policy bullet belongs to the ministries in its tags.
- A status bullet belongs to the ministries named by its own tags where it has some; else to the
  ministry that added it (recorded as ``submitted_by``); else to the ministries tagged on the
  policy bullets beside it in the published table (its sub-row) — the published annex tags no
  status bullet, and a status bullet reports on the policy bullets beside it; else, where its
  sub-row names nobody, to the row's owners.
- A row's owners are its measure tags or, where the measure has none, the union of its
  bullets' tags.
- A bullet whose tags name no ministry (関係府省 only, or none) falls back to the row's owners,
  and a row that names nobody falls to the secretariat, so that no bullet is without an owner.
- A tag nobody has configured (not in the table, no alias, pseudo-tag or group) never blocks the
  year: the secretariat owns its bullet (or row) too, and corrects the tag in its workbook.
"""

from __future__ import annotations

from collections import defaultdict

from annex.model.annex import COLUMNS, Annex, Bullet, Column, Row
from annex.model.tags import TagResolver


def _with_secretariat(owners: list[str], tag_list: list[str], tags: TagResolver, secretariat: str) -> list[str]:
    return owners + [secretariat] if tags.unknown(tag_list) and secretariat not in owners else owners


def row_owners(row: Row, tags: TagResolver, secretariat: str) -> list[str]:
    owners = tags.ministries_of(row.measure_tags)
    if not owners:
        named = [t for column in COLUMNS for b in row.bullets(column) for t in b.tags]
        owners = tags.table_order(tags.ministries_of(named))
    return _with_secretariat(owners, row.measure_tags, tags, secretariat) or [secretariat]


def bullet_owners(row: Row, column: Column, bullet: Bullet, tags: TagResolver, secretariat: str) -> list[str]:
    owners = tags.ministries_of(bullet.tags)
    if tags.unknown(bullet.tags):
        return _with_secretariat(owners, bullet.tags, tags, secretariat)
    if owners:
        return owners
    if column == "status":
        if bullet.submitted_by:
            return [bullet.submitted_by]
        beside = tags.ministries_of(
            [t for b in row.policy if bullet.subrow is not None and b.subrow == bullet.subrow for t in b.tags]
        )
        if beside:
            return tags.table_order(beside)
    return row_owners(row, tags, secretariat)


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
