"""A small pool of memory-limited worker processes for everything that parses untrusted files.

A parser can abort the whole process (calamine on a cell at XFD1048576: SIGABRT, nothing to
catch) or run past any budget. Each worker runs with RLIMIT_AS and every job has a wall-clock
timeout: a worker that dies or overruns is killed, only the job it held fails, a fresh worker
takes its place and the batch goes on. Workers are long-lived (forked from a forkserver that has
already imported the readers), so isolation costs milliseconds per file, not an interpreter start.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing as mp
import os
import queue
import resource
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Literal

from annex.io.files import quiet_disk_errors_in_finalizers

DEFAULT_MEMORY_MB = int(os.environ.get("ANNEX_WORKER_MEMORY_MB", "2048"))
DEFAULT_TIMEOUT_S = float(os.environ.get("ANNEX_WORKER_TIMEOUT_S", "60"))
DEFAULT_WORKERS = max(1, min(int(os.environ.get("ANNEX_WORKERS", "0")) or (os.cpu_count() or 1), 4))
PRELOAD = ["annex.intake.reader", "annex.feedback.workbook", "fastexcel", "polars", "openpyxl"]


@dataclass
class Outcome:
    """The result of one job: ``value`` when status is ok, otherwise what went wrong."""

    status: Literal["ok", "error", "crashed", "timeout"]
    value: Any = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _limit_memory(memory_bytes: int) -> None:
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _worker_main(conn: Connection, memory_bytes: int) -> None:
    _limit_memory(memory_bytes)
    quiet_disk_errors_in_finalizers()  # a full disk is reported once, by the job's result
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, args = job
        try:
            reply = ("ok", fn(*args), "")
        except MemoryError:
            reply = ("error", None, "MemoryError")
        except BaseException as exc:  # report, never die quietly
            reply = ("error", None, f"{type(exc).__name__}: {exc}"[:500])
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("error", None, "MemoryError"))


class _Worker:
    def __init__(self, ctx: Any, memory_bytes: int):
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, memory_bytes), daemon=True)
        self.process.start()
        child.close()
        self.job: int | None = None
        self.deadline = 0.0

    def stop(self, kill: bool = False) -> None:
        if kill and self.process.is_alive():
            self.process.kill()  # this worker's own pid, nothing broader
        elif self.process.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def _context() -> Any:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


class WorkerPool:
    """``with WorkerPool() as pool: outcomes = pool.map(fn, [(a,), (b,)])`` — order preserved."""

    def __init__(self, workers: int = DEFAULT_WORKERS, memory_mb: int = DEFAULT_MEMORY_MB, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.size = max(1, workers)
        self.memory_bytes = memory_mb * 2**20
        self.timeout_s = timeout_s
        self._ctx = _context()
        self._workers: list[_Worker] = []
        self.restarts = 0
        for _ in range(self.size):  # start now: the forkserver imports the readers while the caller prepares
            self._spawn()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()
        self._workers.clear()

    def _spawn(self) -> _Worker:
        worker = _Worker(self._ctx, self.memory_bytes)
        self._workers.append(worker)
        return worker

    def _replace(self, worker: _Worker, kill: bool) -> None:
        worker.stop(kill=kill)
        self._workers.remove(worker)
        self.restarts += 1

    def map(self, fn: Callable[..., Any], jobs: Iterable[tuple]) -> list[Outcome]:
        jobs = list(jobs)
        outcomes: list[Outcome | None] = [None] * len(jobs)
        pending = deque(range(len(jobs)))
        while len(self._workers) < min(self.size, len(jobs)):
            self._spawn()
        while pending or any(w.job is not None for w in self._workers):
            for worker in list(self._workers):
                if worker.job is None and pending:
                    index = pending.popleft()
                    try:
                        worker.conn.send((fn, jobs[index]))
                    except (OSError, ValueError):  # the worker died while idle: replace it, retry the job
                        pending.appendleft(index)
                        self._replace(worker, kill=True)
                        self._spawn()
                        continue
                    worker.job, worker.deadline = index, time.monotonic() + self.timeout_s
            busy = [w for w in self._workers if w.job is not None]
            if not busy:
                continue
            now = time.monotonic()
            timeout = max(0.0, min(w.deadline for w in busy) - now)
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=timeout)
            for worker in busy:
                index = worker.job
                assert index is not None
                if worker.conn in ready:
                    try:
                        status, value, detail = worker.conn.recv()
                    except (EOFError, OSError):
                        worker.process.join(timeout=1)
                        outcomes[index] = Outcome("crashed", detail=f"exit code {worker.process.exitcode}")
                        self._replace(worker, kill=True)
                        continue
                    outcomes[index] = Outcome(status, value, detail)
                    worker.job = None
                elif worker.process.sentinel in ready:
                    worker.process.join(timeout=1)
                    outcomes[index] = Outcome("crashed", detail=f"exit code {worker.process.exitcode}")
                    self._replace(worker, kill=True)
                elif time.monotonic() >= worker.deadline:
                    outcomes[index] = Outcome("timeout", detail=f"{self.timeout_s:g} s")
                    self._replace(worker, kill=True)
            while len(self._workers) < min(self.size, len(pending) + sum(w.job is not None for w in self._workers)):
                self._spawn()
        return [o if o is not None else Outcome("error", detail="not run") for o in outcomes]


class WorkerLender:
    """One-worker pools lent to callers on several threads (a flow's task per file), each to one
    caller at a time: the workers outlive a file, so a file costs a job, not a process start.
    At most ``size`` pools, made when first needed; a caller waits while all are lent."""

    def __init__(self, size: int = DEFAULT_WORKERS, **pool_options: Any):
        self.size = max(1, size)
        self._options = pool_options
        self._idle: queue.SimpleQueue[WorkerPool] = queue.SimpleQueue()
        self._made: list[WorkerPool] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Make every pool now (their workers import the readers while the caller does something else)."""
        with self._lock:
            while len(self._made) < self.size:
                self._made.append(WorkerPool(workers=1, **self._options))
                self._idle.put(self._made[-1])

    @contextlib.contextmanager
    def lend(self) -> Iterator[WorkerPool]:
        with self._lock:
            if self._idle.empty() and len(self._made) < self.size:
                self._made.append(WorkerPool(workers=1, **self._options))
                self._idle.put(self._made[-1])
        pool = self._idle.get()
        try:
            yield pool
        finally:
            self._idle.put(pool)

    def close(self) -> None:
        with self._lock:
            for pool in self._made:
                pool.close()
            self._made.clear()
            self._idle = queue.SimpleQueue()


_lender: WorkerLender | None = None
_lender_lock = threading.Lock()


def _shared_lender() -> WorkerLender:
    global _lender
    with _lender_lock:
        if _lender is None:
            _lender = WorkerLender()
            atexit.register(_lender.close)
        return _lender


@contextlib.contextmanager
def lent_worker() -> Iterator[WorkerPool]:
    """A one-worker pool of this process's shared set (made on first use; in a Dask worker, that
    worker's own), for one caller at a time; ``release_workers`` stops them."""
    with _shared_lender().lend() as pool:
        yield pool


def start_workers(background: bool = False) -> None:
    """Start this process's shared workers ahead of the batch (see WorkerLender.start).

    In the background: the caller goes on (imports, creates its flow run) while the forkserver
    imports the readers, ~0.7 s it would otherwise wait. A failure there is not reported there:
    the first ``lent_worker`` starts a worker itself and meets it, where the file is held."""
    lender = _shared_lender()
    if not background:
        lender.start()
        return

    def start_quietly() -> None:
        with contextlib.suppress(Exception):
            lender.start()

    threading.Thread(target=start_quietly, name="annex-start-workers", daemon=True).start()


def release_workers() -> None:
    """Stop this process's shared workers (the batch is done); the next ``lent_worker`` starts new ones."""
    global _lender
    with _lender_lock:
        lender, _lender = _lender, None
    if lender is not None:
        atexit.unregister(lender.close)
        lender.close()


class SharedWorkers:
    """This process's shared workers as one pool (``map``), for a step after the validations that
    borrowed them: the feedback workbooks are written by the workers that read the returns, with
    no second pool to start (~0.4 s of a run)."""

    def map(self, fn: Callable[..., Any], jobs: Iterable[tuple]) -> list[Outcome]:
        jobs = list(jobs)
        lender = _shared_lender()
        n = max(1, min(lender.size, len(jobs)))

        def share(k: int) -> list[Outcome]:  # each one-worker pool takes every n-th job
            with lender.lend() as pool:
                return pool.map(fn, jobs[k::n])

        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="annex-shared-worker") as threads:
            parts = list(threads.map(share, range(n)))
        outcomes: list[Any] = [None] * len(jobs)
        for k, part in enumerate(parts):
            outcomes[k::n] = part
        return outcomes
