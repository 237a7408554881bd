"""A test hook for kill -9 at a stage boundary (tests/flows/test_kill.py): with
ANNEX_TEST_KILL_AT=<stage> in the environment, the process SIGKILLs itself when it reaches
``checkpoint(<stage>)`` — no handler, atexit hook or finally block runs, as with a real kill -9.
Unset (always, outside those tests) it does nothing.

Stages: merge:collected; in `annex run` run:collected, run:feedback-written, run:feedback-mailed,
run:merged, run:rendered, and publish:copies-staged (output/<Y>/published/ staged, not yet
replaced); mail:delivered (the server took a message, the outbox not yet told: narrowed to one
outbox slot with mail:delivered@<slot>); and in every publication
(annex.io.files.OutputSet.commit) publish:staged (all staged, none replaced) and publish:partly
(the first file replaced, the others not yet: mid-publication) — either alone (the process's first
publication) or narrowed to the one whose first file is <folder>/<name>: publish:partly@2026/master.json.
"""

from __future__ import annotations

import os
import signal

KILL_AT_ENV = "ANNEX_TEST_KILL_AT"


def checkpoint(stage: str, where: str | None = None) -> None:
    wanted = os.environ.get(KILL_AT_ENV)
    if wanted and (wanted == stage or (where is not None and wanted == f"{stage}@{where}")):
        os.kill(os.getpid(), signal.SIGKILL)
