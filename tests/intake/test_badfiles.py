"""A generated catalogue of hostile and broken files through the real batch path: each one is
rejected with a located message, none crashes or hangs the batch, memory stays bounded, and the
valid files in the same batch are still accepted."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from corpus_distribution import distributed
from hostile import OK_ROWS, shared_catalogue, sheet_xml, write_xlsx

from annex.intake.ledger import Ledger
from annex.io.workers import WorkerPool
from annex.workspace.collect import collect_and_validate
from annex.workspace.master import load_reference

pytestmark = pytest.mark.reliability  # the bad-input catalogue (issue 14)


@pytest.fixture(scope="module")
def env():
    d = distributed()
    return d, shared_catalogue(d.path("デジ")), load_reference(d.workspace, 2026)


# The whole catalogue through the batch path (a 40,000-character cell included), within the time
# and memory bound of the process tree: tests/intake/test_reliability.py.


def test_a_parser_that_aborts_the_process_rejects_one_file_only(tmp_path):
    """calamine aborts on a cell at XFD1048576 (SIGABRT, nothing to catch); preflight stops that
    file first, but if a parser ever dies anyway, only its file fails and the pool recovers."""
    import fastexcel  # noqa: F401 - the reader the workers use

    bomb = write_xlsx(
        tmp_path / "xfd.xlsx", sheet_xml(OK_ROWS + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', dim="A1:XFD1048576")
    )
    with WorkerPool(workers=2, memory_mb=1024, timeout_s=20) as pool:
        outcomes = pool.map(_read_without_preflight, [(str(bomb),), (str(bomb),)])
        assert [o.status for o in outcomes] in (["crashed", "crashed"], ["error", "error"])
        assert pool.map(os.getpid, [()])[0].ok  # a fresh worker took over


def _read_without_preflight(path: str):
    import fastexcel

    return fastexcel.read_excel(path).load_sheet(0, header_row=None).to_polars().height


def test_hung_and_memory_hungry_jobs_fail_alone():
    with WorkerPool(workers=2, memory_mb=512, timeout_s=1) as pool:
        start = time.perf_counter()
        outcomes = pool.map(time.sleep, [(30,), (0,)])
        assert [o.status for o in outcomes] == ["timeout", "ok"] and time.perf_counter() - start < 10
        [hog] = pool.map(bytearray, [(1 << 30,)])
        assert hog.status == "error" and "MemoryError" in hog.detail
        assert pool.map(len, [("ok",)])[0].value == 2


def test_bad_files_are_archived_and_logged_before_parsing(env, tmp_path):
    d, cases, ref = env
    from annex.workspace.layout import Workspace

    ws = Workspace.at(tmp_path / "ws")
    inbox = ws.submissions(2026)
    (inbox / "sub").mkdir(parents=True)
    for name in ("truncated.xlsx", "zipbomb_whitespace.xlsx", "encrypted.xlsx"):
        shutil.copyfile(cases[name][0], inbox / "sub" / name)
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with WorkerPool(workers=2) as pool:
        result = collect_and_validate(ws, 2026, ledger=ledger, pool=pool, reference=ref)
    assert sorted(e.path for e in result.new) == ["sub/encrypted.xlsx", "sub/truncated.xlsx", "sub/zipbomb_whitespace.xlsx"]
    for entry in result.new:
        assert entry.status == "rejected" and entry.errors == 1 and entry.ministry is None
        assert (ws.archive / entry.archive_path).read_bytes() == (inbox / entry.path).read_bytes()
    ledger.close()


def test_xml_entities_are_refused_twice(env):
    """XML bombs and XXE: preflight refuses any DTD before a parser runs (the catalogue's
    billion_laughs_* and xxe_* cases answer F-UNREADABLE); behind it, openpyxl reads worksheets
    through defusedxml, which refuses entities, and its shared-string parser (lxml) expands no
    external entity — so a gap in one layer is no hole."""
    import io
    import socket
    import zipfile

    import openpyxl
    from defusedxml.common import EntitiesForbidden
    from openpyxl.xml.functions import fromstring, iterparse

    assert openpyxl.DEFUSEDXML is True
    _, cases, _ = env
    for name in ("billion_laughs_sheet.xlsx",):
        with zipfile.ZipFile(cases[name][0]) as z:
            sheet = z.read("xl/worksheets/sheet1.xml")
        with pytest.raises(EntitiesForbidden):
            for _ in iterparse(io.BytesIO(sheet)):
                pass
    with zipfile.ZipFile(cases["xxe_file.xlsx"][0]) as z:
        sst = z.read("xl/sharedStrings.xml")
    try:
        text = "".join(fromstring(sst).itertext())
    except Exception:  # refused outright: as good
        text = ""
    assert socket.gethostname() not in text
