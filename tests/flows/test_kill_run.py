"""kill -9 of `annex run` at each stage boundary, then a re-run: the outputs equal (by content)
those of an uninterrupted run; no temporary file is left; no process of the killed run outlives
it; no e-mail goes twice (one cut mid-send is 要確認, never re-sent); the ledger is consistent.

The kill is the real signal (ANNEX_TEST_KILL_AT, annex/io/faults.py). The killed run is `annex
run` in its own process against the session's Prefect server (the temporary server's own kill is
test_kill.py's); the re-run is `annex run` in this process. The workspace: master(2025) imported,
four returns — one accepted, one 差戻し, and two ministries editing a line they share differently
(a 統合時の調整 notice to each) — and a mail server on loopback that keeps every message.

Compared by content: master.json (bytes), every workbook's cell values (an .xlsx also holds the
time it was written), each Word file's text, annex-context.json without ``created``, run.json's
figures, the feedback workbooks, the list of files in output/<Y>/ (nothing more, nothing less),
the files published and the ledger. Not compared, as they differ between any two runs: run times
and flow-run ids (run.json, published/published.json: each checked against its own run
instead), status.html (stamped with the time), annex.pdf's bytes (its creation time: only that
it was made) and the .docx/.xlsx packages' save times; run.json's mail counts are checked here
through the outbox instead (a re-run says 送信済み（前回までに） for what the killed run sent).
"""

from __future__ import annotations

import contextlib
import email
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from email import policy
from pathlib import Path

import docx
import openpyxl
import pytest
from aiosmtpd.controller import Controller
from run_fixtures import configure_smtp, descendants_until_dead, free_port, plant_conflict, survivors

from annex.io.faults import KILL_AT_ENV
from annex.io.files import JOURNAL_SUFFIX, SCRATCH_PREFIX, TEMP_SUFFIX
from annex.io.runlock import run_lock
from annex.notify.outbox import Outbox
from annex.render.pdf import WORK_PREFIX
from annex.workspace.layout import Workspace
from annex.workspace.master import previous_master

pytestmark = [pytest.mark.e2e, pytest.mark.reliability]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "submissions" / "2026"
RETURNS = ("法務省_別添記入シート.xlsx", "環境省_別添様式（記入済）.xlsx")  # accepted; 差戻し
YEAR = 2026

# Each boundary of `annex run`, in the order the run meets them.
BOUNDARIES = [
    "run:collected",  # archived, in the ledger; nothing validated
    "run:feedback-written",  # validated, feedback workbooks written; no e-mail yet
    "mail:delivered",  # mid-send: the server took the first message, the outbox was not told
    "run:feedback-mailed",  # every feedback e-mail sent; nothing merged
    "run:merged",  # master, changes, reconciliation published; no 統合時の調整 notice yet
    "publish:partly@2026/annex-context.json",  # mid-publication of the rendered files
    "run:rendered",  # annex.docx/PDF published; status page, run.json, published/ not yet
    "publish:copies-staged",  # published/ staged and checked, not yet in place
]
# A run costs 20-40 s here: the boundaries are killed in two chains, each kill in the re-run of
# the one before (a re-run reaches the next boundary only by getting past the last kill's
# leftovers), then one last re-run is compared. ANNEX_TEST_KILL_EACH_ALONE=1: one workspace per
# boundary (kill, re-run, compare), eight times the cost.
CHAINS = [[stage] for stage in BOUNDARIES] if os.environ.get("ANNEX_TEST_KILL_EACH_ALONE") else [BOUNDARIES[:4], BOUNDARIES[4:]]


class Sink:
    """A mail server on loopback that keeps every message it accepts (the killed run's too)."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]


@contextlib.contextmanager
def mail_server(root: Path):
    port = free_port()
    configure_smtp(root, port)
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kill-run") / "base"
    ws = Workspace.at(root)
    previous_master(ws, YEAR)
    ws.submissions(YEAR).mkdir(parents=True)
    for name in RETURNS:
        shutil.copyfile(SAMPLES / name, ws.submissions(YEAR) / name)
    plant_conflict(SAMPLES, ws.submissions(YEAR))
    return root


def _rerun(root: Path, capsys) -> str:
    """`annex run` in this process (the session's Prefect server): its printed lines."""
    from flows.cli import main

    capsys.readouterr()
    main(["run", "--workspace", str(root)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return captured.out


def _book_values(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    finally:
        wb.close()


def _docx_text(path: Path) -> list[str]:
    document = docx.Document(str(path))
    text = [p.text for p in document.paragraphs]
    for table in document.tables:
        text += [cell.text for row in table.rows for cell in row.cells]
    return text


def _content(root: Path) -> dict[str, object]:
    """The run's outputs by content (see the module's docstring for what is ignored and why)."""
    out = Workspace.at(root).output(YEAR)
    content: dict[str, object] = {"master.json": hashlib.sha256((out / "master.json").read_bytes()).hexdigest()}
    for path in sorted([*out.glob("*.xlsx"), *(out / "feedback").glob("*.xlsx")]):
        content[str(path.relative_to(out))] = _book_values(path)
    for path in sorted(out.glob("*.docx")):
        content[path.name] = _docx_text(path)
    context = json.loads((out / "annex-context.json").read_text(encoding="utf-8"))
    context.pop("created")
    content["annex-context.json"] = context
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    content["run.json"] = {k: run[k] for k in ("ministries", "ministry_counts", "bullets", "issues_by_rule", "relisted")}
    content["pdf"] = (out / "annex.pdf").is_file()
    manifest = json.loads((out / "published" / "published.json").read_text(encoding="utf-8"))
    content["published"] = sorted(manifest["files"])
    # the copies published are exactly this run's outputs
    assert {n: hashlib.sha256((out / n).read_bytes()).hexdigest() for n in manifest["files"]} == manifest["files"]
    assert manifest["flow_run_id"] == run["flow_run_id"]
    content["outputs"] = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    return content


def _ledger(root: Path) -> list[tuple]:
    ws = Workspace.at(root)
    with ws.open_ledger() as ledger:
        entries = ledger.entries(YEAR)
    for e in entries:  # the archive holds exactly the bytes the ledger names
        assert hashlib.sha256((ws.archive / e.archive_path).read_bytes()).hexdigest() == e.sha256
    return sorted((e.path, e.sha256, e.status, e.ministry, e.version) for e in entries)


def _outbox(root: Path) -> dict[tuple[str, str], tuple[str, str, int]]:
    with Outbox.open(Workspace.at(root).ledger_url) as outbox:
        return {(e.ministry, e.slot): (e.state, e.message_id, e.attempts) for e in outbox.entries(YEAR)}


def _leftovers(root: Path, killed_pid: int) -> list[Path]:
    mine = [
        p
        for p in root.rglob("*")
        if p.name.endswith((TEMP_SUFFIX, JOURNAL_SUFFIX)) or p.name.startswith((SCRATCH_PREFIX, ".incoming."))
    ]
    return mine + list(Path(tempfile.gettempdir()).glob(f"{WORK_PREFIX}pid{killed_pid}-*"))  # LibreOffice's scratch


@pytest.fixture(scope="module")
def uninterrupted(base, tmp_path_factory, prefect_server):
    """One run from start to end: its outputs, ledger, outbox and the Message-IDs the server got."""
    root = tmp_path_factory.mktemp("kill-run") / "reference"
    shutil.copytree(base, root)
    from flows.cli import main

    with mail_server(root) as sink:
        main(["run", "--workspace", str(root)])
    outbox = _outbox(root)
    assert {state for state, _, _ in outbox.values()} == {"sent"}
    kinds = {slot.split("-")[0] for _, slot in outbox}
    assert kinds == {"feedback", "conflict"} and len(outbox) == 6  # four feedback, two 統合時の調整
    assert sorted(sink.ids()) == sorted(mid for _, mid, _ in outbox.values())
    return {"content": _content(root), "ledger": _ledger(root), "outbox": outbox}


def _killed_run(root: Path, stage: str, api_url: str) -> int:
    """`annex run` in its own process, SIGKILLed at ``stage``; every process it started ends too.
    Returns its pid."""
    child = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", "--workspace", str(root)],
        env={**os.environ, KILL_AT_ENV: stage, "PREFECT_API_URL": api_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    seen = descendants_until_dead(child, timeout=240)
    out, err = child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL, out.decode() + err.decode()
    assert not (alive := survivors(seen)), f"processes of the killed run outlived it: {alive}"
    return child.pid


@pytest.mark.parametrize("chain", CHAINS, ids=lambda chain: "+".join(chain))
def test_annex_run_killed_at_each_stage_boundary_then_run_again_equals_an_uninterrupted_run(
    base, uninterrupted, prefect_server, tmp_path, capsys, chain
):
    root = tmp_path / "ws"
    shutil.copytree(base, root)
    killed_pids, cut = [], {}
    with mail_server(root) as sink:
        for stage in chain:
            delivered_before = len(sink.ids())
            killed_pids.append(_killed_run(root, stage, prefect_server))
            with run_lock(Workspace.at(root).archive, "run", YEAR):  # released by the kernel at the kill
                pass
            queued = {k: v for k, v in _outbox(root).items() if v[0] == "queued"}
            if stage == "mail:delivered":  # the case tests what it says: one message cut mid-send
                assert len(queued) == 1 and len(sink.ids()) == delivered_before + 1, (queued, sink.ids())
                [(key, (_, message_id, _))] = queued.items()
                assert message_id == sink.ids()[-1]
                cut[key] = message_id
            else:
                assert not queued
        out = _rerun(root, capsys)

    assert _content(root) == uninterrupted["content"]
    assert _ledger(root) == uninterrupted["ledger"]
    assert [p for pid in killed_pids for p in _leftovers(root, pid)] == []

    # e-mail: each message at most once; the one cut mid-send is 要確認 and never sent again
    ids = sink.ids()
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    after = _outbox(root)
    assert {k: mid for k, (_, mid, _) in after.items()} == {k: mid for k, (_, mid, _) in uninterrupted["outbox"].items()}
    assert {k: state for k, (state, _, _) in after.items()} == {k: "uncertain" if k in cut else "sent" for k in after}
    assert sorted(ids) == sorted(mid for _, mid, _ in after.values())  # each reached the server, once
    assert all(attempts == 1 for _, _, attempts in after.values())
    if cut:
        assert "メールの要確認 1 件" in out and next(iter(cut.values())) in out
