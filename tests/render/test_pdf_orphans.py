"""A render killed (kill -9) while LibreOffice converts: soffice runs on in its own session and
its scratch folder stays in the temp dir. The next conversion ends that session and removes the
folder — only when the folder's owner is dead, and only if the session is still that soffice."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from annex.render.pdf import SESSION_FILE, WORK_PREFIX, reap_orphaned_conversions

pytestmark = pytest.mark.reliability  # issue 14's fault catalogue


def _dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_a_dead_renders_soffice_session_and_scratch_folder_are_reaped_a_live_ones_are_not():
    dead = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}pid{_dead_pid()}-"))
    live = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}pid{os.getpid()}-"))
    # stands in for soffice: its own session, its command line naming the scratch folder
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", str(dead)], start_new_session=True)
    try:
        deadline = time.monotonic() + 10  # until its exec is done (its command line readable)
        while str(dead).encode() not in Path(f"/proc/{orphan.pid}/cmdline").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        (dead / SESSION_FILE).write_text(str(orphan.pid), encoding="ascii")
        assert reap_orphaned_conversions() >= 1
        assert orphan.wait(timeout=10) < 0  # killed
        assert not dead.exists() and live.exists()
    finally:
        if orphan.poll() is None:
            orphan.kill()
        live.rmdir()
