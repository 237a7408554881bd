"""The ledger on SQLite and PostgreSQL: received before parsing, dedupe by bytes, versions per
ministry, the newest accepted version wins; re-collecting the same folder adds nothing."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid

import pytest
from corpus_distribution import distributed

from annex.intake.ledger import Ledger
from annex.io.workers import WorkerPool
from annex.workspace.collect import collect_and_validate
from annex.workspace.layout import Workspace
from annex.workspace.master import load_reference

POSTGRES_URL = os.environ.get("ANNEX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    else:
        if not _postgres_reachable():
            if os.environ.get("ANNEX_REQUIRE_ALL"):
                pytest.fail(f"PostgreSQL unreachable at {POSTGRES_URL} (ANNEX_REQUIRE_ALL is set)")
            pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}")
        url = POSTGRES_URL
    led = Ledger(url, prefix=f"t{uuid.uuid4().hex[:10]}_")  # a table of our own, dropped after
    yield led
    led.drop()
    led.close()


def _receive(ledger, sha, path="a.xlsx", when=None):
    return ledger.record_received(
        year=2026, path=path, sha256=sha, size=10, archive_path=f"sha256/{sha[:2]}/{sha}.xlsx", received_at=when
    )


def test_same_bytes_are_one_entry(ledger):
    first, new = _receive(ledger, "a" * 64)
    again, new_again = _receive(ledger, "a" * 64, path="copy/other-name.xlsx")
    assert new and not new_again and again.id == first.id and again.path == "a.xlsx"
    assert first.status == "received" and first.received_at.tzinfo is not None
    other_year, new_year = ledger.record_received(year=2027, path="a.xlsx", sha256="a" * 64, size=10, archive_path="x")
    assert new_year and other_year.id != first.id


def test_versions_and_the_newest_accepted_one(ledger):
    t0 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    e1, _ = _receive(ledger, "1" * 64, when=t0)
    e2, _ = _receive(ledger, "2" * 64, when=t0 + dt.timedelta(hours=1))
    e3, _ = _receive(ledger, "3" * 64, when=t0 + dt.timedelta(hours=2))
    e4, _ = _receive(ledger, "4" * 64, when=t0 + dt.timedelta(hours=3))
    ledger.record_validation(e1.id, ministry="文", template_version="2026.1", status="accepted", errors=0, warnings=0)
    ledger.record_validation(
        e2.id, ministry="文", template_version="2026.1", status="accepted_with_warnings", errors=0, warnings=2
    )
    ledger.record_validation(e3.id, ministry="文", template_version="2026.1", status="rejected", errors=3, warnings=0)
    ledger.record_validation(e4.id, ministry=None, template_version=None, status="rejected", errors=1, warnings=0)
    versions = ledger.versions(2026, "文")
    assert [(v.version, v.status) for v in versions] == [(1, "accepted"), (2, "accepted_with_warnings"), (3, "rejected")]
    newest = ledger.newest_accepted(2026)
    assert list(newest) == ["文"] and newest["文"].id == e2.id  # a rejected newer file never replaces an accepted one
    assert ledger.get(e4.id).version is None and len(ledger.entries(2026)) == 4


def test_recollecting_the_same_folder_adds_nothing(ledger, tmp_path):
    d = distributed()
    ws = Workspace.at(tmp_path / "ws")
    inbox = ws.submissions(2026)
    (inbox / "nested" / "deeper").mkdir(parents=True)
    shutil.copyfile(d.path("文"), inbox / "nested" / "deeper" / "なんでも.xlsx")
    shutil.copyfile(d.path("経"), inbox / "経産省.xlsx")
    (inbox / "~$経産省.xlsx").write_bytes(b"lock")  # Excel's lock file is not a submission
    ref = load_reference(d.workspace, 2026)
    with WorkerPool(workers=2) as pool:
        first = collect_and_validate(ws, 2026, ledger=ledger, pool=pool, reference=ref)
        assert sorted((e.ministry, e.status, e.version) for e in first.new) == [("文", "accepted", 1), ("経", "accepted", 1)]
        assert [s.name for s in first.ignored] == ["~$経産省.xlsx"]
        assert all(p.exists() for p in first.feedback.values())
        second = collect_and_validate(ws, 2026, ledger=ledger, pool=pool, reference=ref)
        assert second.new == [] and len(second.seen) == 2 and second.submissions == []
        shutil.copyfile(d.path("文"), inbox / "again-renamed.xlsx")  # same bytes, another name
        third = collect_and_validate(ws, 2026, ledger=ledger, pool=pool, reference=ref)
        assert third.new == [] and len(third.seen) == 3
    assert len(ledger.entries(2026)) == 2
    archived = sorted(p.name for p in (ws.archive / "sha256").rglob("*.xlsx"))
    assert len(archived) == 2


def test_workspace_ledger_honours_ANNEX_DB_URL(tmp_path, monkeypatch):
    ws = Workspace.at(tmp_path)
    assert ws.ledger_url.startswith("sqlite:///") and str(tmp_path) in ws.ledger_url
    monkeypatch.setenv("ANNEX_DB_URL", f"sqlite:///{tmp_path / 'elsewhere.sqlite'}")
    led = ws.ledger()
    _receive(led, "f" * 64)
    led.close()
    assert (tmp_path / "elsewhere.sqlite").exists()


def test_a_file_recorded_but_never_validated_is_validated_by_the_next_collect(tmp_path):
    """A run stopped between archiving and validating must not leave the file 'seen' for ever."""
    from annex.workspace.collect import receive

    ws = Workspace.at(tmp_path / "ws")
    inbox = ws.submissions(2026)
    inbox.mkdir(parents=True)
    shutil.copyfile(distributed().path("文"), inbox / "文部科学省.xlsx")
    ledger = ws.ledger()
    try:
        received, _ = receive(ws, 2026, ledger)  # archived and recorded, then the run "stops"
        assert [r.entry.status for r in received] == ["received"]
        result = collect_and_validate(ws, 2026, ledger=ledger, feedback=False)
        assert [e.status for e in result.new] == ["accepted"] and not result.seen
        again = collect_and_validate(ws, 2026, ledger=ledger, feedback=False)
        assert not again.new and [e.status for _, e in again.seen] == ["accepted"]
    finally:
        ledger.close()
