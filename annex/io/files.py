"""Writing outputs so that a crash or a full disk never leaves a half-written file.

Measured (research/reliability_security.md): a plain save lost the previous master in 5 of 12
kill -9 trials; temp file + fsync + os.replace kept it valid in 12 of 12.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from annex.model.errors import AnnexError

TEMP_SUFFIX = ".tmp-annex"


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def ensure_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AnnexError(
            f"出力フォルダ {path} を作成できません（{exc.strerror}）", hint="書き込み権限と空き容量を確認してください"
        ) from None
    if not os.access(path, os.W_OK):
        raise AnnexError(f"出力フォルダ {path} に書き込めません", hint="書き込み権限を確認してください")
    return path


class OutputSet:
    """Stage several output files, then publish them together (or none, on error)."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []

    def stage(self, final: Path, write: Callable[[Path], None]) -> Path:
        ensure_dir(final.parent)
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=TEMP_SUFFIX, dir=final.parent)
        os.close(fd)
        temp = Path(name)
        self._staged.append((temp, final))
        write(temp)
        _fsync(temp)
        return final

    def stage_text(self, final: Path, text: str) -> Path:
        return self.stage(final, lambda p: p.write_text(text, encoding="utf-8"))

    def stage_bytes(self, final: Path, data: bytes) -> Path:
        return self.stage(final, lambda p: p.write_bytes(data))

    def commit(self) -> list[Path]:
        for temp, final in self._staged:
            os.replace(temp, final)
        published = [final for _, final in self._staged]
        self._staged.clear()
        return published

    def discard(self) -> None:
        for temp, _ in self._staged:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        self._staged.clear()


@contextlib.contextmanager
def publishing() -> Iterator[OutputSet]:
    outputs = OutputSet()
    try:
        yield outputs
    except BaseException:
        outputs.discard()
        raise
    outputs.commit()


def write_atomically(final: Path, write: Callable[[Path], None]) -> Path:
    with publishing() as outputs:
        outputs.stage(final, write)
    return final


SCRATCH_PREFIX = ".annex-"  # scratch folders (e.g. the renderer's .annex-render-*) start with this


def sweep_orphans(folder: Path, older_than_seconds: float = 3600) -> int:
    """Remove temp files and scratch folders a killed run left behind (they are never outputs).

    Only those older than ``older_than_seconds``: a younger one may belong to a command still
    running beside this one.
    """
    removed = 0
    if not folder.exists():
        return removed
    cutoff = time.time() - older_than_seconds
    candidates = [*folder.rglob(f"*{TEMP_SUFFIX}"), *(p for p in folder.rglob(f"{SCRATCH_PREFIX}*") if p.is_dir())]
    for orphan in candidates:
        with contextlib.suppress(OSError):
            if orphan.lstat().st_mtime >= cutoff:
                continue
            if orphan.is_dir():
                shutil.rmtree(orphan)
            else:
                orphan.unlink()
            removed += 1
    return removed
