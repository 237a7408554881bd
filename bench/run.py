"""Benchmark of the whole pipeline at a size, each stage against its bound (issue 13).

    python bench/run.py --size S            # table on stdout, bench/results/S.json
    python bench/run.py --size S --no-prefect --no-pdf
    python bench/run.py --size smoke        # every stage on a small set (the CI smoke test)

Data: bench/data.py (generated once per size under bench/.data/<size>/). Every measurement
starts from a fresh copy of the size's workspace (master(2025) + the returns in
submissions/2026/, no ledger). Stages run in this process one after the other, like
`annex merge` + `annex render`; `annex run` is timed as a separate process, with Prefect's
temporary server and against a `prefect server` started here. Bounds are measured in the same
run on the same data: unzipping and lxml-iterparsing the returns' sheet XML (reading),
writing the same bullets' document.xml as strings (docx), LibreOffice converting a
one-paragraph document (PDF start-up), Prefect running an empty flow (orchestration floor).

Peak memory is sampled (psutil, every 20 ms) over this process and its children while the
stage runs. Timings are wall clock on a shared machine: the load average is recorded with them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import io
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data import DATA, SIZES, YEAR, ensure_data, fresh_workspace  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PDF_START_TARGET, PDF_PAGE_TARGET = 1.5, 0.040  # issue 13: PDF ≤ 1.5 s + 40 ms a page
EMPTY_FLOW = """
from prefect import flow

@flow(name="bench-empty")
def empty():
    return None

empty()
"""


# -- measuring ------------------------------------------------------------------------------
@dataclass
class Stage:
    name: str
    seconds: float
    units: int  # what "per second" counts
    unit: str  # lines / bullets / pages / files / runs
    peak_mib: float
    bound: str = ""  # the bound it is compared with (a name in bounds), or a target
    bound_seconds: float | None = None
    note: str = ""
    cpu_seconds: float | None = None  # this process and its children (the machine is shared: wall time is not all ours)

    @property
    def per_second(self) -> float:
        return self.units / self.seconds if self.seconds > 0 else 0.0

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.bound_seconds if self.bound_seconds else None


class PeakMemory:
    """The highest RSS of this process plus its children (or of its children only), sampled while
    the block runs."""

    def __init__(self, interval: float = 0.02, *, children_only: bool = False):
        import psutil

        self._proc = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._children_only = children_only
        self.peak = 0

    def _rss(self) -> int:
        total = 0
        with contextlib.suppress(Exception):
            total = 0 if self._children_only else self._proc.memory_info().rss
            for child in self._proc.children(recursive=True):
                with contextlib.suppress(Exception):
                    total += child.memory_info().rss
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(self._interval)

    def __enter__(self) -> "PeakMemory":
        self.peak = self._rss()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def mib(self) -> float:
        return self.peak / 2**20


@contextlib.contextmanager
def measured(into: dict, name: str):
    """Wall time (perf_counter), sampled peak memory and CPU time (this process and the children it
    waited for, e.g. a worker pool) of the block into into[name]."""
    with PeakMemory() as mem:
        start, cpu = time.perf_counter(), cpu_seconds()
        yield
        into[name] = (time.perf_counter() - start, mem, cpu_seconds() - cpu)


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def yardstick() -> float:
    """Seconds of a fixed pure-Python workload (the best of three): how fast this machine runs
    Python right now. Machines of the same kind here differed by 2× in it (and a busy neighbour
    slows one down), so a table is compared with another by the yardstick, not only by load."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        sum(i * i for i in range(2_000_000))
        best = min(best, time.perf_counter() - start)
    return best


# -- bounds -------------------------------------------------------------------------------
def sheet_parts(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        return [n for n in z.namelist() if n.startswith("xl/worksheets/sheet") or n == "xl/sharedStrings.xml"]


def unzip_floor(files: list[Path]) -> float:
    """Decompressing the sheets' XML and shared strings of every return, nothing parsed."""
    start = time.perf_counter()
    for path in files:
        with zipfile.ZipFile(path) as z:
            for name in sheet_parts(path):
                z.read(name)
    return time.perf_counter() - start


def iterparse_floor(files: list[Path]) -> float:
    """Unzip + lxml iterparse of the same XML, every cell value and string collected (Python floor)."""
    from lxml import etree

    start = time.perf_counter()
    for path in files:
        with zipfile.ZipFile(path) as z:
            for name in sheet_parts(path):
                values = []
                for _, el in etree.iterparse(io.BytesIO(z.read(name)), events=("end",)):
                    if el.tag.endswith("}v") or el.tag.endswith("}t"):
                        values.append(el.text)
                    el.clear()
    return time.perf_counter() - start


def docx_string_floor(annex, rendered: Path, out: Path) -> float:
    """The same bullets written as WordprocessingML strings (a heading per section, a table row per
    bullet) and zipped with the rendered document's other parts: what any docx writer must do."""
    start = time.perf_counter()
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
    ]
    for chapter in annex.chapters:
        parts.append(f"<w:p><w:r><w:t>{escape(chapter.title)}</w:t></w:r></w:p>")
        for section in chapter.sections:
            parts.append(f"<w:p><w:r><w:t>{escape(section.title)}</w:t></w:r></w:p><w:tbl>")
            for row in section.rows:
                parts.append(f"<w:tr><w:tc><w:p><w:r><w:t>{escape(row.measure)}</w:t></w:r></w:p></w:tc>")
                for column in (row.status, row.policy):
                    parts.append("<w:tc>")
                    parts.extend(f"<w:p><w:r><w:t>・{escape(b.text)}</w:t></w:r></w:p>" for b in column)
                    parts.append("</w:tc>")
                parts.append("</w:tr>")
            parts.append("</w:tbl>")
    parts.append("</w:body></w:document>")
    xml = "".join(parts).encode()
    with zipfile.ZipFile(rendered) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, xml if item.filename == "word/document.xml" else src.read(item))
    return time.perf_counter() - start


def minimal_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph("別添")
    document.save(path)
    return path


# -- Prefect in a child process --------------------------------------------------------------
def prefect_env(home: Path, api_url: str | None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PREFECT_HOME=str(home))
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    env.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    env.pop("PREFECT_API_URL", None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def timed_child(args: list[str], env: dict, timeout: float) -> tuple[float, float, str, float]:
    """(wall s, the child's peak RSS MiB from wait4, output tail, CPU s of the child and the
    descendants it waited for) of a command that must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    out_lines: list[bytes] = []
    reader = threading.Thread(target=lambda: out_lines.extend(proc.stdout), daemon=True)
    reader.start()
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise TimeoutError(f"{args} took more than {timeout} s")
        time.sleep(0.02)
    wall = time.perf_counter() - start
    reader.join(5)
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = b"".join(out_lines).decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{text[-3000:]}")
    return wall, usage.ru_maxrss / 1024, text[-600:], usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def prefect_server(home: Path, timeout: float = 120.0):
    """A `prefect server start` of our own (own PREFECT_HOME and port), stopped after; yields its API URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = prefect_env(home, None)
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed below, after the server stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group: stopped with everything it started, nothing else
    )
    try:
        start = time.perf_counter()
        while True:
            with contextlib.suppress(Exception), urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    break
            if proc.poll() is not None or time.perf_counter() - start > timeout:
                raise RuntimeError(f"prefect server did not start; see {home / 'server.log'}")
            time.sleep(0.25)
        yield url, time.perf_counter() - start
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


# -- the run -------------------------------------------------------------------------------
@dataclass
class Report:
    size: str
    data: dict
    started: str
    machine: dict
    stages: list[Stage] = field(default_factory=list)
    bounds: dict[str, float] = field(default_factory=dict)
    targets: list[dict] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)
    load_before: str = ""
    load_after: str = ""
    yardstick_before: float | None = None  # seconds of yardstick()
    yardstick_after: float | None = None

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)

    def to_json(self) -> dict:
        out = asdict(self)
        for row, stage in zip(out["stages"], self.stages):
            row["per_second"] = round(stage.per_second, 1)
            row["ratio"] = round(stage.ratio, 2) if stage.ratio is not None else None
            row["seconds"] = round(stage.seconds, 4)
            row["peak_mib"] = round(stage.peak_mib, 1)
            row["cpu_seconds"] = round(stage.cpu_seconds, 2) if stage.cpu_seconds is not None else None
            row["bound_seconds"] = round(stage.bound_seconds, 4) if stage.bound_seconds is not None else None
        out["bounds"] = {k: round(v, 4) for k, v in self.bounds.items()}
        return out


def domain_stages(report: Report, work: Path, *, pdf: bool) -> None:
    """collect → read → validate → feedback → merge (reconcile inside) → docx → PDF, in this process.

    M and L (a survey: report.data has "bodies") stop after the merge (issue 13: no docx or PDF at
    a million lines; nor feedback workbooks), and time building the reference (master(Y-1) and
    every body's template plan, what validation compares with) as a stage of its own."""
    from annex.intake.reader import read_workbook
    from annex.io.workers import SharedWorkers, WorkerPool, release_workers, start_workers
    from annex.merge.reconcile import reconcile
    from annex.render import build_context, expected_min_pages, render_docx
    from annex.render.pdf import convert_to_pdf, find_soffice
    from annex.validation.batch import read_and_validate
    from annex.validation.validate import validate_batch
    from annex.workspace.collect import receive, record_validations, write_feedback
    from annex.workspace.layout import Workspace
    from annex.workspace.master import load_reference, previous_master
    from annex.workspace.merge import merge_submissions

    ws = Workspace.at(fresh_workspace(report.data.get("key", report.size), work / "ws"))
    lines, files = report.data["lines"], report.data["returns"]
    survey = bool(report.data.get("bodies"))
    t: dict = {}

    with measured(t, "collect"):
        received, _ = receive(ws, YEAR)
    paths = [item.stored for item in received]
    report.bounds["read: unzip floor"] = unzip_floor(paths)
    if survey:  # gigabytes of XML: the unzip floor is the bound the target names
        report.not_run["read: lxml iterparse"] = "size M/L: the unzip floor only"
    else:
        report.bounds["read: lxml iterparse"] = iterparse_floor(paths)

    with measured(t, "reference"):
        ref = load_reference(ws, YEAR)
    with measured(t, "read"):  # one process, no pool: what reading costs
        raws = [(read_workbook(i.stored, i.name), i.sha256) for i in received]
    with measured(t, "validate"):
        subs = validate_batch(raws, ref)
    del raws  # as in the flow and `annex merge`: a workbook's grid is dropped once validated, before the merge
    if survey:  # every file read again: on a shared machine the flows below show the parallel run
        report.not_run["read+validate (pool)"] = "size M/L: read and validate in one process; the flows run them in parallel"
    else:
        with measured(t, "read+validate (pool)"):  # as `annex merge` does it: 2 workers, pool start included
            with WorkerPool() as pool:
                pooled = read_and_validate([(i.stored, i.name, i.sha256) for i in received], ref, pool)
        assert [s.verdict for s in pooled] == [s.verdict for s in subs]
    record_validations(ws, list(zip(received, subs)))
    if not survey:  # on the shared workers, up already as in `annex run` (they read the returns there)
        start_workers()
        try:
            with measured(t, "feedback"):
                write_feedback(ws, YEAR, [(i.stored, s) for i, s in zip(received, subs)], SharedWorkers())
        finally:
            release_workers()

    accepted = {s.ministry: s for s in subs if s.accepted}
    previous = previous_master(ws, YEAR)
    # ownership is the known hot spot: count its calls in the merge (issue 13: once per master),
    # those about a bullet of master(Y-1) apart from those about a 新規 bullet (not in any master)
    merge_module = importlib.import_module("annex.merge.merge")  # the module, not the function annex.merge exports
    calls = {"n": 0, "new": 0}
    original = merge_module.bullet_owners
    previous_ids = {b.id for _, _, b in previous[0].bullets() if b.id}

    def counting(row, column, bullet, *args, **kwargs):
        calls["n" if bullet.id in previous_ids else "new"] += 1
        return original(row, column, bullet, *args, **kwargs)

    ownership_module = importlib.import_module("annex.model.ownership")
    merge_module.bullet_owners = ownership_module.bullet_owners = counting
    try:
        with measured(t, "merge"):
            summary = merge_submissions(ws, YEAR, accepted, previous=previous, own_previous=True)
    finally:
        merge_module.bullet_owners = ownership_module.bullet_owners = original
    master = summary.result.annex
    bullets = sum(1 for _ in master.bullets())
    row = lambda name, units, unit, **kw: Stage(name, t[name][0], units, unit, t[name][1].mib, cpu_seconds=t[name][2], **kw)  # noqa: E731
    merge_note = (
        f"bullet_owners called {calls['n']} times for bullets of master(Y-1), {calls['new']} for 新規 ones; "
        "reconcile + 4 outputs included"
    )
    report.data["merged_bullets"] = bullets
    report.data["accepted"] = len(accepted)
    report.data["verdicts"] = dict(Counter(s.verdict for s in subs))
    report.data["merge_counts"] = summary.counts
    report.data["ownership_calls"] = calls["n"]
    report.data["ownership_calls_new_bullets"] = calls["new"]
    if survey:
        read_bound = {"bound": "read: unzip floor", "bound_seconds": report.bounds["read: unzip floor"]}
        report.stages += [
            row("collect", files, "files", note="hash + archive + ledger"),
            row("reference", report.data["bullets"], "bullets", note=f"master(Y-1) + {report.data['bodies']:,} bodies' plans"),
            row("read", lines, "lines", **read_bound),
            row("validate", lines, "lines"),
            row("merge", bullets, "bullets", note=merge_note),
        ]
        for name in ("feedback", "reconcile (alone)", "docx", "pdf"):
            report.not_run[name] = "size M/L: read + validate + merge only (issue 13)"
        shutil.rmtree(ws.root)  # gigabytes: the archive holds a copy of every return
        return
    with measured(t, "reconcile"):  # also inside merge: timed alone on master(Y) for its own line
        reconcile(master, previous=previous[0], threshold=ws.config.settings.reconcile.near_match_threshold)

    with measured(t, "docx"):
        context = build_context(master, title=ws.config.title_for(YEAR))
        docx = render_docx(context, ws.template("annex.docx"), work / "annex.docx").path
    report.bounds["docx: string floor"] = docx_string_floor(master, docx, work / "floor.docx")

    report.stages += [
        row("collect", files, "files", note="hash + archive + ledger"),
        row("read", lines, "lines", bound="read: unzip floor", bound_seconds=report.bounds["read: unzip floor"]),
        row("validate", lines, "lines"),
        row("read+validate (pool)", lines, "lines", note="2 worker processes, pool start included"),
        row(
            "feedback",
            files,
            "files",
            note=f"{1000 * t['feedback'][0] / max(1, files):.0f} ms a workbook, on the run's 2 shared workers",
        ),
        row("reconcile", bullets, "bullets"),
        row("merge", bullets, "bullets", note=merge_note),
        row("docx", bullets, "bullets", bound="docx: string floor", bound_seconds=report.bounds["docx: string floor"]),
    ]

    if not pdf:
        report.not_run["pdf"] = "--no-pdf"
        return
    if not find_soffice():
        report.not_run["pdf"] = "LibreOffice (soffice) not installed"
        return
    start_result = convert_to_pdf(minimal_docx(work / "minimal.docx"), work / "pdf-min", timeout=120)
    report.bounds["pdf: LibreOffice start-up"] = start_result.seconds
    with measured(t, "pdf"):
        result = convert_to_pdf(docx, work / "pdf", timeout=900, expected_min_pages=expected_min_pages(context))
    if not result.ok:
        raise RuntimeError(f"PDF failed: {result.reason}")
    pages = result.pages or 0
    report.data["pages"] = pages
    report.stages.append(
        row(
            "pdf",
            pages,
            "pages",
            bound="LibreOffice start-up + 40 ms a page",
            bound_seconds=report.bounds["pdf: LibreOffice start-up"] + PDF_PAGE_TARGET * pages,
            note=f"{1000 * (t['pdf'][0] - start_result.seconds) / max(1, pages):.0f} ms a page over the start-up",
        )
    )


def prefect_stages(report: Report, work: Path, server: str | None = None) -> None:
    """`annex run` in a child process: Prefect's temporary server, then a `prefect server` of ours
    (or the one at ``server``, already running: the test suite's, whose start-up it does not pay)."""
    home = DATA / "prefect-home"  # kept between harness runs, like a user's ~/.prefect
    home.mkdir(parents=True, exist_ok=True)
    empty = work / "empty_flow.py"
    empty.write_text(EMPTY_FLOW, encoding="utf-8")
    lines = report.data["lines"]
    annex_run = [sys.executable, "-c", "from flows.cli import main; main()", "run", "--year", str(YEAR), "--workspace"]

    env = prefect_env(home / "embedded", None)
    Path(env["PREFECT_HOME"]).mkdir(exist_ok=True)
    if not (Path(env["PREFECT_HOME"]) / "prefect.db").exists():  # first use: create and migrate the SQLite, untimed
        timed_child([sys.executable, str(empty)], env, 300)
    floor, floor_mib, _, _ = timed_child([sys.executable, str(empty)], env, 300)
    report.bounds["prefect: empty flow, temporary server"] = floor
    # The validations an earlier harness run cached (the same bytes, rules and reference) would make
    # the first run a second one: its results go, the database (runs, migrations) stays.
    shutil.rmtree(Path(env["PREFECT_HOME"]) / "storage", ignore_errors=True)
    runs = (1,) if report.size == "smoke" else (1, 2)  # the smoke test proves it works; once is enough
    if len(runs) == 1:
        report.not_run["annex run again (temporary server)"] = "smoke size: one run"
    for n in runs:
        wall, mib, tail, cpu = timed_child(annex_run + [str(fresh_workspace(report.size, work / f"run{n}"))], env, 900)
        name = "annex run (temporary server)" if n == 1 else "annex run again (temporary server)"
        report.stages.append(
            Stage(name, wall, lines, "lines", mib, "prefect: empty flow, temporary server", floor, cpu_seconds=cpu)
        )

    server_home = home / "server"
    shutil.rmtree(server_home, ignore_errors=True)
    server_home.mkdir()
    with _server(server_home, server) as (url, started):
        if started is None:
            report.not_run["prefect server start (not in the runs below)"] = f"--server {url}: already running"
        else:
            report.bounds["prefect server start (not in the runs below)"] = started
        env = prefect_env(server_home, url)
        floor, _, _, _ = timed_child([sys.executable, str(empty)], env, 300)
        report.bounds["prefect: empty flow, running server"] = floor
        wall, mib, _, cpu = timed_child(annex_run + [str(fresh_workspace(report.size, work / "run-server"))], env, 900)
        report.stages.append(
            Stage(
                "annex run (running server)",
                wall,
                lines,
                "lines",
                mib,
                "prefect: empty flow, running server",
                floor,
                cpu_seconds=cpu,
            )
        )


def runner_stages(report: Report, work: Path, server: str | None = None, returns: int | None = None) -> None:
    """M and L: read + validate + merge as `annex run` runs them (bench/survey_flow.py, the product's
    tasks) in a child process, on the default thread runner, then on Dask with 2 workers, both
    against one running Prefect server (ours, or the one at ``server``) and never from the cache.
    ``returns``: only the first N returns (by file name) stay in the inbox, the master whole."""
    from annex.workspace.layout import Workspace

    home = DATA / "prefect-home" / "server"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    files = min(returns or report.data["returns"], report.data["returns"])
    if files < report.data["returns"]:
        report.data["flow_returns"] = files
    with _server(home, server) as (url, started):
        if started is not None:
            report.bounds["prefect server start (not in the runs below)"] = started
        env = dict(prefect_env(home, url), PREFECT_TASKS_REFRESH_CACHE="true")
        for runner, name in (
            ("thread", "flow: read+validate+merge (thread)"),
            ("dask", "flow: read+validate+merge (dask, 2 workers)"),
        ):
            ws = fresh_workspace(report.data["key"], work / f"flow-{runner}")
            for extra in sorted(Workspace.at(ws).submissions(YEAR).glob("*.xlsx"))[files:]:
                extra.unlink()  # a hard link: the pristine copy stays
            try:
                with PeakMemory(children_only=True) as mem:
                    wall, _, tail, cpu = timed_child(
                        [sys.executable, str(ROOT / "bench" / "survey_flow.py"), str(ws), runner], env, 7200
                    )
            except (RuntimeError, TimeoutError) as exc:  # e.g. killed for memory (-9): said, and the other runner still runs
                report.not_run[name] = f"failed after {mem.mib:,.0f} MiB peak: {str(exc).splitlines()[0][-160:]}"
                continue
            finally:
                shutil.rmtree(ws)
            result = json.loads(next(line for line in reversed(tail.splitlines()) if line.startswith("{")))
            report.data[f"flow_{runner}"] = result
            report.stages.append(
                Stage(
                    name,
                    wall,
                    files,
                    "files",
                    mem.mib,
                    note=f"process tree; the flow body {result['flow_seconds']:.1f} s; driver peak {result['driver_peak_mib']:,} MiB",
                    cpu_seconds=cpu,
                )
            )


@contextlib.contextmanager
def _server(home: Path, url: str | None):
    """(API URL, seconds it took to start): ours, or the one given (None: not started here)."""
    if url:
        yield url, None
        return
    with prefect_server(home) as started:
        yield started


L_RETURNS, L_SECONDS, L_GIB = 2_000, 120, 4  # issue 13: L (read + validate + merge) ≤ 2 minutes, ≤ 4 GiB peak
SURVEY_IN_PROCESS = ("collect", "reference", "read", "validate", "merge")  # what `annex merge` does, in one process
PER_RETURN = ("collect", "read", "validate")  # grow with the returns; reference and merge with the master


def previous_sizes(out: Path | None) -> dict | None:
    """M's latest result beside L's (bench/results/M.json): what L / M is computed against."""
    path = (out.parent if out else RESULTS) / "M.json"
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if data.get("stages") else None
    return None


def survey_targets(report: Report, add, smaller: dict | None) -> None:
    """M and L: linear growth (L / M ≤ 6 for 5× the data: time ratio ≤ 1.2 × data ratio, per stage),
    L ≤ 2 minutes and ≤ 4 GiB, Dask on 2 workers no slower than threads."""
    get = lambda n: report.stage(n).seconds if report.stage(n) else None  # noqa: E731
    thread, dask = get("flow: read+validate+merge (thread)"), get("flow: read+validate+merge (dask, 2 workers)")
    flow_files = report.data.get("flow_returns", report.data["returns"])
    add(f"Dask task runner (2 workers) no slower than the default (threads): flow wall, {flow_files:,} returns", dask, thread)
    if not report.size.startswith("L"):
        return
    if smaller:
        for row in smaller["stages"]:
            stage = report.stage(row["name"])
            if stage and row["seconds"] > 0 and row["units"] > 0:
                data = stage.units / row["units"]
                add(
                    f"{stage.name}: L / M time ≤ 1.2 × L / M data ({data:.1f}× {stage.unit})",
                    stage.seconds / row["seconds"],
                    1.2 * data,
                    "×",
                )
    returns = report.data["returns"]
    part = "" if returns == L_RETURNS else f" — {returns:,} of {L_RETURNS:,} returns"
    in_process = [get(n) for n in SURVEY_IN_PROCESS]
    if all(v is not None for v in in_process):
        add(f"L read + validate + merge ≤ 2 min: {' + '.join(SURVEY_IN_PROCESS)}{part}", sum(in_process), L_SECONDS)
        if returns != L_RETURNS:
            scaled = sum(get(n) * (L_RETURNS / returns if n in PER_RETURN else 1) for n in SURVEY_IN_PROCESS)
            add(
                f"  the same extrapolated to {L_RETURNS:,} returns ({' and '.join(PER_RETURN)} × {L_RETURNS / returns:g})",
                scaled,
                L_SECONDS,
            )
    flow_part = "" if flow_files == L_RETURNS else f" — {flow_files:,} of {L_RETURNS:,} returns"
    add(f"L read + validate + merge ≤ 2 min: the flow on threads, process wall{flow_part}", thread, L_SECONDS)
    flows = [s.peak_mib for s in report.stages if s.name.startswith("flow:")]
    add(
        f"L peak memory ≤ 4 GiB: the flow's process tree (the larger runner){flow_part}",
        max(flows) / 1024 if flows else None,
        L_GIB,
        "GiB",
    )
    in_process_peak = [report.stage(n).peak_mib for n in SURVEY_IN_PROCESS if report.stage(n)]
    if in_process_peak:
        add(f"L peak memory ≤ 4 GiB: the harness's process and its pool{part}", max(in_process_peak) / 1024, L_GIB, "GiB")


def check_targets(report: Report, smaller: dict | None = None) -> None:
    """Issue 13's targets that this size can answer; met / not met, with the figure (smaller: M's
    result, for L's ratios)."""

    def add(what: str, value: float | None, limit: float | None, unit: str = "s") -> None:
        if value is None or limit is None:
            return
        report.targets.append(
            {"target": what, "value": round(value, 3), "limit": round(limit, 3), "unit": unit, "met": value <= limit}
        )

    get = lambda n: report.stage(n).seconds if report.stage(n) else None  # noqa: E731
    if report.data.get("bodies"):
        survey_targets(report, add, smaller)
    if report.size == "S":
        add("S annex run end to end, temporary server ≤ 15 s", get("annex run (temporary server)"), 15)
        add("S annex run end to end, running server ≤ 8 s", get("annex run (running server)"), 8)
        domain = [get(n) for n in ("collect", "read", "validate", "feedback", "merge", "docx")]
        if all(v is not None for v in domain):
            add("S domain work (collect, read, validate, feedback, merge incl. reconcile, docx) ≤ 3 s", sum(domain), 3)
    fb = report.stage("feedback")
    if fb:
        add("a feedback workbook ≤ 50 ms", 1000 * fb.seconds / max(1, fb.units), 50, "ms")
    if "ownership_calls" in report.data:
        add(
            "ownership computed once per master (bullet_owners calls about its bullets ≤ bullets of master(Y-1))",
            report.data["ownership_calls"],
            report.data["bullets"],
            "calls",
        )
    pdf = report.stage("pdf")
    if pdf:
        add("PDF ≤ 1.5 s + 40 ms a page", pdf.seconds, PDF_START_TARGET + PDF_PAGE_TARGET * pdf.units)
    read = report.stage("read")
    if read:
        add("reading ≤ 1.5× the unzip floor", read.ratio, 1.5, "×")
    docx = report.stage("docx")
    if docx:
        add("docx ≤ 3× the string-building floor", docx.ratio, 3, "×")


def _yardsticks(report: Report) -> str:
    if report.yardstick_before is None or report.yardstick_after is None:
        return ""
    return f"yardstick {report.yardstick_before:.3f} → {report.yardstick_after:.3f} s; "


def format_table(report: Report) -> str:
    head = "| stage | wall s | cpu s | per s | peak MiB | bound | bound s | ×bound | note |\n|---|---:|---:|---:|---:|---|---:|---:|---|"
    rows = [
        f"| {s.name} | {s.seconds:.3f} | {'' if s.cpu_seconds is None else f'{s.cpu_seconds:.1f}'} | {s.per_second:,.0f} {s.unit} | {s.peak_mib:.0f} | {s.bound} | "
        f"{'' if s.bound_seconds is None else f'{s.bound_seconds:.3f}'} | {'' if s.ratio is None else f'{s.ratio:.1f}'} | {s.note} |"
        for s in report.stages
    ]
    rows += [f"| {name} | not run | | | | | | | {why} |" for name, why in report.not_run.items()]
    bounds = "\n".join(f"| {k} | {v:.3f} |" for k, v in report.bounds.items())
    targets = "\n".join(
        f"| {t['target']} | {t['value']:g} {t['unit']} | {t['limit']:g} {t['unit']} | {'met' if t['met'] else 'NOT met'} |"
        for t in report.targets
    )
    d = report.data
    bodies = f" ({d['bodies']:,} bodies in the abbreviation table, returns from {d['returns']:,})" if d.get("bodies") else ""
    return (
        f"size {report.size}{bodies}: {d['returns']} returns, {d['lines']:,} template lines, {d['bullets']:,} bullets in master(2025)"
        f"{', ' + str(d['pages']) + ' pages' if 'pages' in d else ''}; load {report.load_before} → {report.load_after}; "
        f"{_yardsticks(report)}{report.started}\n\n"
        f"{head}\n"
        + "\n".join(rows)
        + "\n\n| bound | s |\n|---|---:|\n"
        + bounds
        + "\n\n| target | measured | limit | |\n|---|---:|---:|---|\n"
        + targets
        + "\n"
    )


def main(argv: list[str] | None = None) -> Report:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="S")
    parser.add_argument("--no-pdf", action="store_true", help="skip LibreOffice")
    parser.add_argument("--no-prefect", action="store_true", help="skip the `annex run` stages")
    parser.add_argument("--regenerate", action="store_true", help="make the data again")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/<size>.json)")
    parser.add_argument("--server", help="API URL of a running Prefect server to use instead of starting one")
    parser.add_argument(
        "--returns", type=int, help="M, L: only the first N bodies' returns (the whole master and table): a fraction of the size"
    )
    parser.add_argument(
        "--flow-returns", type=int, help="M, L: the flows (thread / Dask) on the first N returns only (the master whole)"
    )
    parser.add_argument(
        "--flows-only", action="store_true", help="M, L: only the flows (thread / Dask), to run beside --no-prefect"
    )
    args = parser.parse_args(argv)
    survey = SIZES[args.size].bodies > 0
    if args.returns is not None and not survey:
        parser.error("--returns: sizes with submitting bodies only (M, L, smoke-survey)")
    data = ensure_data(args.size, fresh=args.regenerate, returns=args.returns)
    report = Report(
        args.size,
        dict(data),
        dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine()},
        load_before=load(),
        yardstick_before=round(yardstick(), 3),
    )
    with tempfile.TemporaryDirectory(prefix=f"annex-bench-{args.size}-") as tmp:
        work = Path(tmp)
        if args.flows_only:
            report.not_run["in-process stages"] = "--flows-only"
        else:
            domain_stages(report, work, pdf=not args.no_pdf)
        if args.no_prefect:
            report.not_run["annex run"] = "--no-prefect"
        elif survey:
            report.not_run["annex run"] = "size M/L: the flow's read + validate + merge only, below"
            runner_stages(report, work, args.server, args.flow_returns)
        else:
            prefect_stages(report, work, args.server)
    report.load_after = load()
    report.yardstick_after = round(yardstick(), 3)
    check_targets(report, previous_sizes(args.out) if args.size == "L" else None)
    out = args.out or RESULTS / f"{data.get('key', args.size)}{'-flows' if args.flows_only else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out.with_suffix(".md")).write_text(format_table(report), encoding="utf-8")
    print(format_table(report))
    return report


if __name__ == "__main__":
    main()
