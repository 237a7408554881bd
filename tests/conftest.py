"""Shared fixtures. Prefect: ONE embedded server for the whole session, shared by every e2e test.

Measured (research/performance_baselines.md §3): a temporary server costs 11–19 s per process;
so tests that run flows share the one started here, and everything else never imports it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# Before anything imports prefect: a private Prefect home (result storage, profiles) for the
# session, quiet logs, and a start-up timeout that a loaded 2-core CI machine can meet. Each
# xdist worker gets its own (a worker inherits the controller's environment: a shared home would
# share result caches between two servers), removed when that process ends; a PREFECT_HOME set
# by whoever runs the suite is theirs and kept.
_process = os.environ.get("PYTEST_XDIST_WORKER", "controller")
if os.environ.get("ANNEX_TEST_PREFECT_HOME_OF", _process) != _process or "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="annex-prefect-home-")
    os.environ["ANNEX_TEST_PREFECT_HOME_OF"] = _process
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], True)
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def prefect_server():
    """The session's embedded Prefect server; yields its API URL (for subprocesses too)."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=int(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"])):
        yield PREFECT_API_URL.value()


@pytest.fixture(scope="session")
def merged_samples(tmp_path_factory):
    """The committed sample submissions merged into master(2026) once for the session (annex merge
    --no-feedback): (workspace, merge summary). Tests read it; those that render write the same files."""
    import shutil
    from pathlib import Path

    from annex.workspace.layout import Workspace
    from annex.workspace.merge import merge_year

    root = tmp_path_factory.mktemp("samples")
    shutil.copytree(Path(__file__).resolve().parents[1] / "submissions" / "2026", root / "submissions" / "2026")
    ws = Workspace.at(root)
    return ws, merge_year(ws, 2026, feedback=False)


@pytest.fixture
def sample_workspace(tmp_path):
    """A temporary copy of the sample workspace (the repository's config/ and submissions/)."""
    import shutil
    from pathlib import Path

    source = Path(__file__).resolve().parents[1]
    root = tmp_path / "workspace"
    root.mkdir()
    for name in ("config", "submissions"):
        if (source / name).is_dir():
            shutil.copytree(source / name, root / name)
    return root


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list = []  # (envelope recipients, parsed message)
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = SmtpSink()
    sink.port = port
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink
    controller.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With ANNEX_REQUIRE_ALL set (CI), a skipped test is a failed one: a missing LibreOffice or
    PostgreSQL must never pass as a green run."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("ANNEX_REQUIRE_ALL") and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped where everything is required (ANNEX_REQUIRE_ALL): {reason}"
