"""The submissions ledger: every file received, by SHA-256, with what validation made of it.

SQLAlchemy 2 Core on one table, so the same code runs on a SQLite file in the workspace (the
default) and on PostgreSQL (``ANNEX_DB_URL``). The ledger is the audit trail: an entry is
written when a file is received — before anything parses it — and completed after validation.
The same bytes received twice in a year are one entry (unique on year + sha256).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from annex.io.database import engine_for

Status = Literal["received", "accepted", "accepted_with_warnings", "rejected"]
ACCEPTED: tuple[Status, ...] = ("accepted", "accepted_with_warnings")
VERDICT_STATUS: dict[str, Status] = {"受理": "accepted", "受理（警告あり）": "accepted_with_warnings", "差戻し": "rejected"}


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    path: str  # as received, relative to submissions/<year>/
    sha256: str
    size: int
    received_at: dt.datetime  # UTC
    year: int
    archive_path: str  # relative to the workspace archive
    ministry: str | None = None
    template_version: str | None = None
    status: Status = "received"
    errors: int = 0
    warnings: int = 0
    version: int | None = None  # 1, 2, … per (year, ministry), in order of receipt

    @property
    def accepted(self) -> bool:
        return self.status in ACCEPTED


def _table(metadata: MetaData, name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("path", String(1024), nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("size", Integer, nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False),
        Column("year", Integer, nullable=False),
        Column("archive_path", String(300), nullable=False),
        Column("ministry", String(64)),
        Column("template_version", String(32)),
        Column("status", String(32), nullable=False, default="received"),
        Column("errors", Integer, nullable=False, default=0),
        Column("warnings", Integer, nullable=False, default=0),
        Column("version", Integer),
        UniqueConstraint("year", "sha256", name=f"{name}_year_sha256"),
        UniqueConstraint("year", "ministry", "version", name=f"{name}_year_ministry_version"),
    )


def _lineage_table(metadata: MetaData, name: str) -> Table:
    """Which submitted line produced which bullet of master(Y), as of the last merge of Y."""
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("year", Integer, nullable=False, index=True),
        Column("item_id", String(64), nullable=False, index=True),
        Column("ministry", String(64), nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("file", String(1024), nullable=False),
        Column("excel_row", Integer, nullable=False),
        Column("action", String(32), nullable=False),
        Column("outcome", String(32), nullable=False),
        Column("reason", String(1000), nullable=False, default=""),
        Column("merged_at", DateTime(timezone=True), nullable=False),
    )


@dataclass(frozen=True)
class LineageEntry:
    year: int
    item_id: str
    ministry: str
    sha256: str
    file: str
    excel_row: int
    action: str  # 変更なし / 修正 / 新規 / 削除, as the ministry chose it
    outcome: str  # unchanged / applied / conflict_lost / drift_reverted / not_merged
    reason: str
    merged_at: dt.datetime


class Ledger:
    """``Ledger(url)`` creates its tables if missing. ``prefix`` keeps test runs apart."""

    def __init__(self, url: str, *, prefix: str = "annex_"):
        self.url = url
        self.engine = engine_for(url)
        self.metadata = MetaData()
        self.table = _table(self.metadata, f"{prefix}received_files")
        self.lineage = _lineage_table(self.metadata, f"{prefix}merged_lines")
        self.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def drop(self) -> None:
        self.metadata.drop_all(self.engine)

    # -- reading ---------------------------------------------------------------------------
    def _entry(self, row) -> LedgerEntry:
        data = dict(row._mapping)
        received = data["received_at"]
        if received.tzinfo is None:  # SQLite keeps no zone; we only ever store UTC
            received = received.replace(tzinfo=dt.UTC)
        data["received_at"] = received.astimezone(dt.UTC)
        return LedgerEntry(**data)

    def get(self, entry_id: int) -> LedgerEntry:
        with self.engine.connect() as conn:
            return self._entry(conn.execute(select(self.table).where(self.table.c.id == entry_id)).one())

    def find(self, year: int, sha256: str) -> LedgerEntry | None:
        t = self.table
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.year == year, t.c.sha256 == sha256)).first()
        return self._entry(row) if row else None

    def entries(self, year: int) -> list[LedgerEntry]:
        t = self.table
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.year == year).order_by(t.c.received_at, t.c.id)).all()
        return [self._entry(r) for r in rows]

    def newest_accepted(self, year: int) -> dict[str, LedgerEntry]:
        """Ministry → its newest accepted version: the one that is merged.

        Newest by receipt (received_at, then the order of recording, which for files received
        together follows the time saved inside them: annex.intake.versions) — never by the order
        in which versions happened to be validated."""
        newest: dict[str, LedgerEntry] = {}
        for entry in self.entries(year):  # in order of receipt
            if entry.ministry and entry.accepted:
                newest[entry.ministry] = entry
        return newest

    def versions(self, year: int, ministry: str) -> list[LedgerEntry]:
        t = self.table
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.year == year, t.c.ministry == ministry).order_by(t.c.version)).all()
        return [self._entry(r) for r in rows]

    def lineage_of(self, year: int, item_id: str) -> list[LineageEntry]:
        t = self.lineage
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.year == year, t.c.item_id == item_id).order_by(t.c.id)).all()
        out = []
        for row in rows:
            data = {k: v for k, v in row._mapping.items() if k != "id"}
            when = data["merged_at"]
            data["merged_at"] = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
            out.append(LineageEntry(**data))
        return out

    # -- writing ---------------------------------------------------------------------------
    def record_merge(self, year: int, lines: list[dict]) -> None:
        """Replace year Y's lineage with that of the master just published (one transaction)."""
        t = self.lineage
        when = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.year == year))
            if lines:
                conn.execute(insert(t), [{**line, "year": year, "merged_at": when} for line in lines])

    def record_received(
        self, *, year: int, path: str, sha256: str, size: int, archive_path: str, received_at: dt.datetime | None = None
    ) -> tuple[LedgerEntry, bool]:
        """Record a received file; (entry, True) if new, (the existing entry, False) if already seen."""
        existing = self.find(year, sha256)
        if existing:
            return existing, False
        when = (received_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    insert(self.table).values(
                        year=year,
                        path=path,
                        sha256=sha256,
                        size=size,
                        archive_path=archive_path,
                        received_at=when,
                        status="received",
                        errors=0,
                        warnings=0,
                    )
                )
                entry_id = result.inserted_primary_key[0]
        except IntegrityError:  # another collector recorded the same bytes meanwhile
            existing = self.find(year, sha256)
            assert existing is not None
            return existing, False
        return self.get(entry_id), True

    def record_held(self, entry_id: int, *, ministry: str | None) -> LedgerEntry:
        """A file held (保留: the machine failed, not the file): its ministry, when it could be
        told, is recorded without a verdict; the entry stays "received", to be checked next run."""
        t = self.table
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == entry_id, t.c.status == "received").values(ministry=ministry))
        return self.get(entry_id)

    def record_validation(
        self, entry_id: int, *, ministry: str | None, template_version: str | None, status: Status, errors: int, warnings: int
    ) -> LedgerEntry:
        """Complete an entry after validation; a known ministry gets its next version number."""
        t = self.table
        with self.engine.begin() as conn:
            current = conn.execute(select(t.c.year, t.c.version, t.c.ministry).where(t.c.id == entry_id)).one()
            version = current.version if current.ministry == ministry else None
            if ministry and version is None:
                latest = conn.execute(
                    select(func.max(t.c.version)).where(t.c.year == current.year, t.c.ministry == ministry)
                ).scalar()
                version = (latest or 0) + 1
            conn.execute(
                update(t)
                .where(t.c.id == entry_id)
                .values(
                    ministry=ministry,
                    template_version=template_version,
                    status=status,
                    errors=errors,
                    warnings=warnings,
                    version=version,
                )
            )
        return self.get(entry_id)
