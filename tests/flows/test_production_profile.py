"""The production profile: `prefect server start` on PostgreSQL, a process work pool and a worker,
annual-consolidation deployed from this checkout (review: true, as prefect.yaml), runs triggered
through the API: each pauses before publishing with its form; one is approved with `annex approve`
(published by hash), the next sent back through the API as the UI's form does (the previous
publication stays).

Everything runs in child processes with their own PREFECT_HOME, so the session's embedded
server and this test never meet. Skipped only when PostgreSQL is unreachable and
ANNEX_REQUIRE_ALL is unset (CI sets it).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.production

ROOT = Path(__file__).resolve().parents[2]
PG = dict(host="127.0.0.1", port=5432, user="postgres")
POOL = "annex-process"


def _admin():
    import psycopg

    try:
        return psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=3, **PG)
    except psycopg.OperationalError as exc:
        if os.environ.get("ANNEX_REQUIRE_ALL"):
            raise
        pytest.skip(f"PostgreSQL に接続できません: {exc}")


@pytest.fixture
def database():
    name = f"annex_prefect_{uuid.uuid4().hex[:8]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for(predicate, timeout: float, what: str, logs: list[Path]):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")


# One process for the work pool and the deployment (each `prefect` command costs its start-up).
DEPLOY = """
import sys
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.workers.process import ProcessWorker
with get_client(sync_client=True) as client:
    client.create_work_pool(WorkPoolCreate(name=sys.argv[2], type="process", base_job_template=ProcessWorker.get_default_base_job_template()))
deployment_id = flow.from_source(source=sys.argv[1], entrypoint="flows/annual.py:annual_consolidation").deploy(
    name="annual", work_pool_name=sys.argv[2], parameters={"workspace": sys.argv[3], "review": True},
    print_next_steps=False, build=False, push=False,
)
print(deployment_id)
"""


# A few submissions of each kind (edited, unchanged, returned, in a sub-folder, the secretariat's):
# what this test is about is the deployment, the pause and the publication; the sample's figures
# are test_annual_run's. Two runs on all 21 would cost a minute more of the suite.
KEPT = ("【文部科学省】", "宇宙開発", "国交省", "厚生労働省", "科技")


def _keep_a_few_submissions(workspace: Path) -> None:
    import shutil

    for entry in (workspace / "submissions" / "2026").iterdir():
        if not entry.name.startswith(KEPT):
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def test_deployed_annual_runs_pause_for_approval_on_a_server_on_postgresql(database, sample_workspace, tmp_path):
    import httpx

    _keep_a_few_submissions(sample_workspace)

    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_SERVER_DATABASE_CONNECTION_URL=database,
        PREFECT_API_URL=api,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_WORKER_QUERY_SECONDS="2",
        PREFECT_LOGGING_LEVEL="INFO",
        PREFECT_LOGGING_EXTRA_LOGGERS="annex",
    )
    logs = [tmp_path / "server.log", tmp_path / "worker.log"]
    server = _start(["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-services"], env, logs[0])
    worker = None
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{api}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait_for(healthy, 120, "the server's /api/health", logs)
        deployed = subprocess.run(
            [sys.executable, "-c", DEPLOY, str(ROOT), POOL, str(sample_workspace)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        deployment_id = deployed.stdout.strip().splitlines()[-1]
        worker = _start(["prefect", "worker", "start", "--pool", POOL, "--type", "process"], env, logs[1])
        out = sample_workspace / "output" / "2026"

        def state_of(run_id: str) -> dict:
            return httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()["state"]

        def run_until_paused() -> tuple[str, dict]:
            run = httpx.post(f"{api}/deployments/{deployment_id}/create_flow_run", json={}, timeout=30)
            run.raise_for_status()
            run_id = run.json()["id"]

            def paused():
                state = state_of(run_id)
                assert state["type"] not in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"), f"{state}\n{_tail(logs[1])}"
                return state if state["type"] == "PAUSED" else None

            return run_id, _wait_for(paused, 240, "the flow run to pause for approval", logs)

        def finished(run_id: str) -> dict:
            state = _wait_for(lambda: (s := state_of(run_id))["type"] in FINAL and s, 60, "the run to finish", logs)
            assert state["type"] == "COMPLETED", f"{state}\n{_tail(logs[1])}"
            return state

        # 1. The run stops before publishing: its outputs hashed, nothing published, a form in the UI.
        first_id, paused = run_until_paused()
        record = _record(sample_workspace)
        assert record["state"] == "waiting" and record["waits_in"] == "prefect" and record["flow_run_id"] == first_id
        assert record["files"] == {name: _sha256(out / name) for name in record["files"]}
        assert {"annex.docx", "annex.pdf", "master.json", "changes.xlsx"} <= set(record["files"])
        assert not (out / "published").exists()
        keys = paused["state_details"]["run_input_keyset"]
        schema = _flow_run_input(api, first_id, keys["schema"])
        assert schema["properties"]["decision"]["enum"] == ["承認して公開する", "差し戻す"]
        assert {"comment", "reviewer"} <= set(schema["properties"])
        assert "annex.docx" in _flow_run_input(api, first_id, keys["description"])

        # 2. `annex approve` (no PREFECT_API_URL: the server the run recorded) resumes it; it publishes.
        approve_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
        approved = subprocess.run(
            [sys.executable, "-m", "flows.cli", "approve", "--workspace", str(sample_workspace), "--by", "事務局 佐藤"],
            env=approve_env,
            capture_output=True,
            text=True,
            timeout=180,
            cwd=ROOT,
        )
        assert approved.returncode == 0, approved.stdout + approved.stderr + _tail(logs[1])
        assert approved.stdout.startswith("公開しました: output/2026/published/"), approved.stdout
        finished(first_id)
        publication = _publication(sample_workspace)
        assert publication["files"] == record["files"] and publication["flow_run_id"] == first_id
        assert publication["approved_by"] == "annex approve（事務局 佐藤）"
        assert _record(sample_workspace)["state"] == "published"

        # 3. The next run is sent back through the API, as the UI's form does: nothing published.
        second_id, _ = run_until_paused()
        second = _record(sample_workspace)
        assert second["flow_run_id"] == second_id and second["files"]["annex.docx"] != record["files"]["annex.docx"]
        answer = {"decision": "差し戻す", "comment": "文の記載を確認してください", "reviewer": "事務局 鈴木"}
        httpx.post(f"{api}/flow_runs/{second_id}/resume", json={"run_input": answer}, timeout=30).raise_for_status()
        finished(second_id)
    finally:
        if worker is not None:
            _stop(worker)
        _stop(server)

    assert _publication(sample_workspace) == publication  # the previous publication, byte for byte
    sent_back = _record(sample_workspace)
    assert sent_back["state"] == "sent_back" and sent_back["comment"] == answer["comment"]
    summary = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert summary["flow_run_id"] == second_id and summary["publication"]["state"] == "sent_back"
    assert summary["publication"]["previous_published_at"] == publication["published_at"]
    for name in summary["files"]:
        path = sample_workspace / name
        assert path.exists() and path.stat().st_size > 0, name


FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else ""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record(workspace: Path) -> dict:
    return json.loads((workspace / "output" / "2026" / "approval.json").read_text(encoding="utf-8"))


def _publication(workspace: Path) -> dict:
    """output/2026/published/: its manifest, checked against the copies it lists."""
    folder = workspace / "output" / "2026" / "published"
    manifest = json.loads((folder / "published.json").read_text(encoding="utf-8"))
    assert {p.name for p in folder.iterdir()} == {*manifest["files"], "published.json"}
    assert {name: _sha256(folder / name) for name in manifest["files"]} == manifest["files"]
    return manifest


def _flow_run_input(api: str, run_id: str, key: str):
    """What the UI reads to draw the resume form (a JSON value stored on the flow run)."""
    import httpx

    response = httpx.get(f"{api}/flow_runs/{run_id}/input/{key}", timeout=10)
    response.raise_for_status()
    value = response.json()
    return json.loads(value) if isinstance(value, str) and value[:1] in '{["' else value
