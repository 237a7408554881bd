"""Scale-out: validating on a Dask cluster (prefect-dask) yields the same master as the default runner.

The Dask run goes through `annex run --task-runner dask` in a child process, as the secretariat
would start it, so the option is tested from the command line down.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_the_dask_task_runner_gives_the_same_master(prefect_server, sample_workspace, tmp_path):
    from flows.annual import annual_consolidation

    other = tmp_path / "dask-workspace"
    shutil.copytree(sample_workspace, other)
    default = annual_consolidation(str(sample_workspace))

    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_server,
        "PREFECT_TASKS_REFRESH_CACHE": "true",
    }  # validate again, on Dask, rather than from the cache
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--workspace", str(other), "--task-runner", "dask"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    dask = json.loads((other / "output" / "2026" / "run.json").read_text(encoding="utf-8"))

    assert dask["ministries"] == default["ministries"] and dask["bullets"] == default["bullets"]
    master = json.loads((sample_workspace / "output" / "2026" / "master.json").read_text(encoding="utf-8"))
    master_dask = json.loads((other / "output" / "2026" / "master.json").read_text(encoding="utf-8"))
    assert master_dask == master
