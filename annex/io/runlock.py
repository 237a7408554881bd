"""One run at a time per workspace and year: an OS file lock the kernel releases when we die.

Measured (research/reliability_security.md §0 item 12, §4 S4): Prefect's file-based
SERIALIZABLE lock is left behind by a kill -9 and blocks the next run forever; an
``fcntl.flock`` lock is released by the kernel at once. A second run does not wait: it fails
fast with a message naming the pid that holds the lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from annex.model.errors import AnnexError


class RunLocked(AnnexError):
    """Another process is already running the same job on this workspace and year."""

    exit_code = 75  # EX_TEMPFAIL: try again later


def lock_path(archive: Path, name: str, year: int) -> Path:
    """archive/locks/<name>-<year>.lock (archive/ is never regenerated, unlike output/)."""
    return archive / "locks" / f"{name}-{year}.lock"


@contextlib.contextmanager
def run_lock(archive: Path, name: str, year: int, job: str | None = None) -> Iterator[Path]:
    """Hold an exclusive lock for the whole block; raise RunLocked at once if someone has it.

    Every command that writes output/<Y> or the ledger of year Y (import, distribute, validate,
    merge, lint, render, run, approve, status, mail --sent/--resend, intake) takes the same lock,
    ``name="run"``; ``job`` says which one holds it (shown to the command refused). Commands that
    only read take none.

    The lock file stays on disk (deleting it would race with a waiting opener); only the
    flock on the open descriptor matters, and it dies with the process.
    """
    path = lock_path(archive, name, year)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            raise RunLocked(
                f"{year}年度の {name} は別の実行（{holder}）が実行中です",
                hint=f"終了を待ってから再実行してください。ロック: {path}",
            ) from None
        os.ftruncate(fd, 0)
        who = f"pid {os.getpid()}" + (f"・{job}" if job else "")
        os.pwrite(fd, f"{who} 開始 {dt.datetime.now().astimezone().isoformat(timespec='seconds')}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def _read_holder(fd: int) -> str:
    text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    return text or "pid 不明"
