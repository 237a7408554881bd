"""Python's cyclic garbage collector held off while a stage builds a large tree of objects.

A master at scale is millions of small objects (pydantic nodes, their dicts and lists; the
templates' planned lines). None of them form cycles, but the collector walks them all again each
time the heap has grown by a quarter: a third of the CPU of building the reference at M (11.3 →
7.4 s). Reference counting still frees everything as usual; the cycles a stage leaves (if any)
are collected when it ends.

A large reference, built to last the whole run (every validation reads it), is then left out of
later collections altogether (gc.freeze): otherwise each full collection while the files are
validated walks it again (M's flow on threads, 100 returns: 89 → 78 s). Unpickling it at M (a
Dask worker's copy) took 6.2 s with the collector on, 1.5 s without.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def cycles_collected_after() -> Iterator[None]:
    """No cyclic collection inside the block; the collector as it was after it. A block inside
    another (or in another thread) leaves it to the outer one to switch the collector back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


LARGE = 20_000  # objects of this many bullets or more are worth leaving out (the real annex has ~900)


def leave_out_of_collections(bullets: int) -> None:
    """What is alive now — a master of ``bullets`` bullets just built, to be read all run long —
    is left out of later cyclic collections (gc.freeze), if it is large. Reference counting still
    frees it as usual; only a cycle alive now and dropped later would wait, and in a long-lived
    process (`annex serve`, a Dask worker) the next large stage lets it go first (unfreeze,
    collect). A small master is not worth it: its collections cost milliseconds."""
    if bullets < LARGE:
        return
    if gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
    gc.freeze()
