"""io — generic edges, no domain knowledge: outputs published atomically and together, xlsx
helpers, the memory-limited worker pool, the per-workspace run lock, the database engine.
"""

from annex.io.database import engine_for
from annex.io.files import ensure_dir, publishing, sweep_orphans, write_atomically
from annex.io.runlock import RunLocked, run_lock
from annex.io.workers import DEFAULT_WORKERS, WorkerPool
from annex.io.xlsx import Sheet, set_text, write_tables

__all__ = [
    "DEFAULT_WORKERS",
    "RunLocked",
    "Sheet",
    "WorkerPool",
    "engine_for",
    "ensure_dir",
    "publishing",
    "run_lock",
    "set_text",
    "sweep_orphans",
    "write_atomically",
    "write_tables",
]
