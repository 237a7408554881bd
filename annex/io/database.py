"""The one database of a workspace — the ledger of received files and the e-mail outbox — as a
SQLAlchemy engine: a SQLite file under archive/ by default, PostgreSQL with ANNEX_DB_URL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine


def engine_for(url: str) -> Engine:
    """The database of the ledger and the outbox: a SQLite file (its folder made) or PostgreSQL."""
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url, pool_pre_ping=True)
