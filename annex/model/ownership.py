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
from dataclasses import dataclass

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


def bullet_owners(
    row: Row, column: Column, bullet: Bullet, tags: TagResolver, secretariat: str, *, of_row: list[str] | None = None
) -> list[str]:
    """The bullet's owners; ``of_row`` is row_owners(row) where the caller has it already."""
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
    return list(of_row) if of_row is not None else row_owners(row, tags, secretariat)


@dataclass(frozen=True)
class Ownership:
    """Who owns what in one annex, computed once (one pass, each row's owners once) and then looked
    up by id: the merge, the templates' plans and the reports all ask about the same master(Y-1).

    ``bullets``: bullet id → owners; ``rows``: row id → the row's owners; ``rows_of``: ministry →
    the rows it owns or appears in, in document order (what ministries_in_annex returns). The
    lists are shared: read them, do not change them."""

    tags: TagResolver
    secretariat: str
    bullets: dict[str, list[str]]
    rows: dict[str, list[str]]
    rows_of: dict[str, list[str]]
    repeated: frozenset[str] = frozenset()  # ids held by two bullets: of_bullet asks about each as it stands

    @classmethod
    def of(cls, annex: Annex, tags: TagResolver, secretariat: str) -> "Ownership":
        bullets: dict[str, list[str]] = {}
        repeated: set[str] = set()
        rows: dict[str, list[str]] = {}
        rows_of: dict[str, list[str]] = defaultdict(list)
        for _, _, row in annex.rows():
            of_row = row_owners(row, tags, secretariat)
            rows[row.id] = of_row
            present = list(of_row)
            for column in COLUMNS:
                for bullet in row.bullets(column):
                    owners = bullet_owners(row, column, bullet, tags, secretariat, of_row=of_row)
                    present += owners
                    if bullet.id in bullets:
                        repeated.add(bullet.id)
                    if bullet.id:
                        bullets[bullet.id] = owners
            for ministry in dict.fromkeys(present):
                rows_of[ministry].append(row.id)
        return cls(tags, secretariat, bullets, rows, dict(rows_of), frozenset(repeated))

    def of_bullet(self, row: Row, column: Column, bullet: Bullet) -> list[str]:
        """The owners the annex gave this bullet (by its id); a bullet it does not hold (a new one)
        is asked about as it stands."""
        found = self.bullets.get(bullet.id) if bullet.id and bullet.id not in self.repeated else None
        if found is not None:
            return found
        return bullet_owners(row, column, bullet, self.tags, self.secretariat, of_row=self.rows.get(row.id))

    def ministries(self) -> set[str]:
        """Every ministry that owns a row or a bullet, or appears in a row."""
        return set(self.rows_of)


def ministries_in_annex(annex: Annex, tags: TagResolver, secretariat: str) -> dict[str, list[str]]:
    """Ministry → ids of the rows it owns or appears in, in document order."""
    return Ownership.of(annex, tags, secretariat).rows_of


def bullets_owned_by(annex: Annex, ministry: str, tags: TagResolver, secretariat: str) -> list[str]:
    ownership = Ownership.of(annex, tags, secretariat)
    return [
        bullet.id for row, column, bullet in annex.bullets() if bullet.id and ministry in ownership.of_bullet(row, column, bullet)
    ]
