"""The production profile with its server down: PREFECT_API_URL names a port nobody listens on.
`annex run` says so in one Japanese line (exit 69) before collecting anything: no traceback, no
partial outputs, nothing archived (a workspace another run holds is said first: see test_annual_run)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.reliability  # issue 14's fault catalogue

ROOT = Path(__file__).resolve().parents[2]


def test_annex_run_against_a_dead_prefect_api_is_one_message_and_writes_nothing(tmp_path):
    workspace = tmp_path / "ws"
    (workspace / "submissions" / "2026").mkdir(parents=True)
    shutil.copyfile(
        ROOT / "submissions" / "2026" / "法務省_別添記入シート.xlsx", workspace / "submissions" / "2026" / "法務省.xlsx"
    )
    with socket.socket() as probe:  # a free port: bound, then released, so nothing answers on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--workspace", str(workspace)],
        env={**os.environ, "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 69, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"エラー: Prefect サーバー http://127.0.0.1:{port}/api に接続できません") and "PREFECT_API_URL" in line
    assert not (workspace / "output").exists()
    archived = [p for p in (workspace / "archive").rglob("*") if p.is_file()] if (workspace / "archive").exists() else []
    assert all(p.parent.name == "locks" for p in archived), archived  # nothing received: only the year's lock file
