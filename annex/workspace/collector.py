"""Python's cyclic garbage collector held off while a stage builds a large tree of objects.

A master at scale is millions of small objects (pydantic nodes, their dicts and lists; the
templates' planned lines). None of them form cycles, but the collector walks them all again each
time the heap has grown by a quarter: a third of the CPU of building the reference at M (11.3 →
7.4 s). Reference counting still frees everything as usual; the cycles a stage leaves (if any)
are collected when it ends.
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
