"""The workers a flow's validations share (annex.io.workers.WorkerLender): a worker outlives the
file it read, each is lent to one caller at a time, and one that dies is replaced."""

from __future__ import annotations

import os
import threading

import psutil

from annex.io.workers import WorkerLender, lent_worker, release_workers


def _pid_of_worker(pool) -> int:
    [outcome] = pool.map(os.getpid, [()])
    assert outcome.ok, outcome
    return outcome.value


def test_a_lent_worker_reads_one_file_after_another_in_the_same_process():
    lender = WorkerLender(size=1)
    try:
        with lender.lend() as pool:
            first = _pid_of_worker(pool)
        with lender.lend() as pool:
            assert _pid_of_worker(pool) == first != os.getpid()
    finally:
        lender.close()
    assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE


def test_each_caller_has_its_own_worker_and_one_more_waits_for_a_free_one():
    lender = WorkerLender(size=2)
    got: list[int] = []
    try:
        with lender.lend() as a, lender.lend() as b:
            assert a is not b and _pid_of_worker(a) != _pid_of_worker(b)
            third = threading.Thread(target=lambda: _lend_once(lender, got))
            third.start()
            third.join(0.5)
            assert third.is_alive() and not got  # both workers are lent: it waits
        third.join(30)
        assert not third.is_alive() and len(got) == 1
    finally:
        lender.close()


def _lend_once(lender: WorkerLender, into: list[int]) -> None:
    with lender.lend() as pool:
        into.append(_pid_of_worker(pool))


def test_a_worker_that_dies_fails_only_its_job_and_the_next_caller_gets_a_fresh_one():
    lender = WorkerLender(size=1)
    try:
        with lender.lend() as pool:
            before = _pid_of_worker(pool)
            [crashed] = pool.map(os.abort, [()])  # as calamine does on some cells: SIGABRT
        assert crashed.status == "crashed"
        with lender.lend() as pool:
            assert _pid_of_worker(pool) != before
    finally:
        lender.close()


def test_the_process_wide_workers_stop_when_released_and_start_again_when_needed():
    with lent_worker() as pool:
        first = _pid_of_worker(pool)
    release_workers()
    assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
    with lent_worker() as pool:
        assert _pid_of_worker(pool) != first
    release_workers()


def test_workers_started_ahead_are_the_ones_lent():
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    lender = WorkerLender(size=2)
    try:
        lender.start()  # before any file: the workers import the readers meanwhile
        started = {p.pid for p in me.children(recursive=True)} - before
        with lender.lend() as a, lender.lend() as b:
            assert {_pid_of_worker(a), _pid_of_worker(b)} <= started
    finally:
        lender.close()


def _pid_and(value: int) -> tuple[int, int]:
    return os.getpid(), value * value


def test_the_shared_workers_as_one_pool_keep_the_jobs_order_and_use_the_workers_already_running():
    from annex.io.workers import DEFAULT_WORKERS, SharedWorkers, start_workers

    start_workers()
    try:
        with lent_worker() as pool:
            running = {_pid_of_worker(pool)}
        outcomes = SharedWorkers().map(_pid_and, [(n,) for n in range(9)])
        assert all(o.ok for o in outcomes)
        assert [o.value[1] for o in outcomes] == [n * n for n in range(9)]  # in the jobs' order
        pids = {o.value[0] for o in outcomes}
        assert os.getpid() not in pids and running <= pids
        assert len(pids) == min(DEFAULT_WORKERS, 9)  # side by side, one share per worker
        with lent_worker() as pool:  # no new process was started for them
            assert _pid_of_worker(pool) in pids
    finally:
        release_workers()


def test_workers_started_in_the_background_serve_the_first_file_and_a_failure_there_says_nothing(monkeypatch):
    from annex.io import workers

    uncaught: list = []
    monkeypatch.setattr(threading, "excepthook", uncaught.append)

    def join_the_start() -> None:
        for thread in threading.enumerate():
            if thread.name == "annex-start-workers":
                thread.join(60)

    workers.start_workers(background=True)
    try:
        with lent_worker() as pool:  # waits for the start under way, starts nothing of its own
            assert pool.map(_pid_and, [(3,)])[0].value[1] == 9
        join_the_start()
        assert len(workers._shared_lender()._made) == workers.DEFAULT_WORKERS
    finally:
        release_workers()

    def broken(self) -> None:
        raise OSError("the forkserver could not start")

    with monkeypatch.context() as patched:
        patched.setattr(workers.WorkerLender, "start", broken)
        workers.start_workers(background=True)
        join_the_start()
    assert uncaught == []  # no traceback from the background thread
    try:
        with lent_worker() as pool:  # the first file starts its worker itself
            assert pool.map(_pid_and, [(4,)])[0].value[1] == 16
    finally:
        release_workers()
