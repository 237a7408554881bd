"""Without a configured server, a command starts Prefect's temporary server itself (flows.server),
before importing prefect, so that it boots while the command imports its flows: the flow runs on
it as on any server, and it ends with the command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, os, sys
from flows.server import start_temporary_server, check_api_reachable
started = start_temporary_server()
again = start_temporary_server()  # a second command in the same process: the same server
assert "prefect.server.api.server" not in sys.modules  # Prefect's own launcher was not needed
check_api_reachable()  # waits until it answers
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.settings import get_current_settings

@flow(name="on-the-temporary-server")
def hello():
    return 42

state = hello(return_state=True)
with get_client(sync_client=True) as client:
    run = client.read_flow_run(state.state_details.flow_run_id)
print(json.dumps({"url": os.environ["PREFECT_API_URL"], "state": run.state.type.value, "pid": os.getpid(), "started": [started, again],
                  "heartbeats": get_current_settings().flows.heartbeat_frequency}))
"""


def test_the_temporary_server_runs_the_flow_and_ends_with_the_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")  # a first use: its database is created too
    before = {p.pid for p in psutil.process_iter()}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["url"].startswith("http://127.0.0.1:") and result["state"] == "COMPLETED"
    assert result["started"] == [True, True]  # what the command says: 一時サーバーを起動しています
    assert result["heartbeats"] is None  # nothing would read them: the server ends with the command
    assert not [p.pid for p in psutil.process_iter() if p.pid not in before and _server_of(p, result["pid"])]


def _server_of(process: psutil.Process, parent: int) -> bool:
    """Whether ``process`` is a temporary server started by the process ``parent`` (its environment says)."""
    try:
        return process.environ().get("ANNEX_SERVER_PARENT_PID") == str(parent)
    except psutil.Error:
        return False


def test_a_configured_server_is_used_and_none_is_started(monkeypatch):
    from prefect.settings import get_current_settings

    from flows import server

    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    heartbeats = get_current_settings().flows.heartbeat_frequency
    assert server.start_temporary_server() is False  # the command says: Prefect サーバー … で実行します
    assert get_current_settings().flows.heartbeat_frequency == heartbeats  # a lasting server's: left as they are
    assert {p.pid for p in psutil.Process().children(recursive=True)} == before
