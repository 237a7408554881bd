"""The Prefect API a command talks to: a running server (PREFECT_API_URL) checked before any work,
or a temporary server of Prefect's, started here and tied to the command's life.

Prefect would start its temporary server itself (``SubprocessASGIServer``: ``python -m uvicorn
--factory prefect.server.api.server:create_app``) on the flow's first API call, importing the
whole server package into the command first (~3 s of CPU) and only then starting the server's
own ~5 s, the command waiting. It is started here instead, the same app with the same settings,
before the command imports its flows, so that the server boots on one core while the command
imports on the other; the command then talks to it as to any server (PREFECT_API_URL).

Prefect stops its server from an atexit hook — which a SIGKILL of the command never runs, so the
server (uvicorn) stayed alive after ``kill -9``. Of the ways to tie a child's life to its parent,
a watchdog thread inside the child is the one that holds here: PR_SET_PDEATHSIG fires when the
*thread* that forked the child ends, and a process group only helps if someone is left to kill
it. So the server runs ``create_app`` below, which watches its parent and shuts the server down
when the parent is gone, whatever killed it.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from annex.model.errors import AnnexError

WATCHED_FACTORY = "flows.server:create_app"
POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0
STOP_SECONDS = 5.0


PARENT_ENV = "ANNEX_SERVER_PARENT_PID"


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown
    time.sleep(GRACE_SECONDS)
    os._exit(1)  # it did not finish in time: nothing of the dead run may stay


def create_app():
    """uvicorn's factory in the temporary server's process: Prefect's app, plus the watchdog."""
    # the pid the parent put in our environment, not getppid(): the parent may have died already
    parent = int(os.environ.get(PARENT_ENV) or os.getppid())
    threading.Thread(target=_watch_parent, args=(parent,), name="annex-parent-watchdog", daemon=True).start()
    from prefect.server.api.server import create_app as prefect_app

    return prefect_app()


class TemporaryServer:
    """Prefect's server app in a uvicorn child of this process (as Prefect's SubprocessASGIServer
    runs it: no UI, ephemeral services), on a free loopback port; stopped when this process exits,
    by the watchdog when it is killed. Started before this process imports prefect: the child
    reads the same environment and Prefect profile."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the child imports flows.server from here
        env = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            PARENT_ENV: str(os.getpid()),
            "PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p),
        }
        command = [sys.executable, "-m", "uvicorn", "--factory", WATCHED_FACTORY, "--host", "127.0.0.1"]
        self.process = subprocess.Popen([*command, "--port", str(self.port), "--log-level", "error", "--lifespan", "on"], env=env)
        atexit.register(self.stop)  # before Prefect registers its own hooks: they run first (flushing events to it)

    def wait_until_ready(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise TemporaryServerFailed(f"終了コード {self.process.returncode}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TemporaryServerFailed(f"{timeout:g} 秒以内に応答しませんでした")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # this server's own pid
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class TemporaryServerFailed(AnnexError):
    exit_code = 69  # EX_UNAVAILABLE

    def __init__(self, why: str):
        super().__init__(
            f"Prefect の一時サーバーが起動しませんでした（{why}）。何も収集・出力していません",
            hint="もう一度実行してください。繰り返す場合は PREFECT_HOME の空き容量と PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS を確認してください",
        )


_temporary: TemporaryServer | None = None


def start_temporary_server() -> bool:
    """Unless a server is configured: start the temporary server now, before prefect is imported
    (it boots while the command imports its flows), and point this process at it;
    ``check_api_reachable`` waits for it. Call before any flow runs. True when this command runs
    on a temporary server (started now or earlier), False when on a configured one."""
    global _temporary
    if _temporary is not None and os.environ.get("PREFECT_API_URL") == _temporary.api_url:
        return True
    if os.environ.get("PREFECT_API_URL"):
        return False
    server = TemporaryServer()
    from prefect.context import refresh_global_settings_context
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():  # a Prefect profile names a server: that one is used
        atexit.unregister(server.stop)
        server.stop()
        return False
    _temporary = server
    os.environ["PREFECT_API_URL"] = server.api_url
    refresh_global_settings_context()  # Prefect read its settings when imported
    _without_heartbeats()
    return True


def _without_heartbeats() -> None:
    """No flow-run heartbeats for the runs of this process. A heartbeat tells a lasting server that
    a run is alive (it marks a run whose heartbeats stop Crashed); the temporary server ends with
    the command, so nothing would read them, and Prefect's heartbeat thread holds up the end of
    every run by up to a second (it sleeps in 1 s steps and the run joins it). The same settings
    object Prefect's own refresh puts there, with heartbeats off: env variables cannot say None."""
    import prefect.context

    current = prefect.context.GLOBAL_SETTINGS_CONTEXT
    settings = current.settings.copy_with_update(updates={"flows.heartbeat_frequency": None})
    prefect.context.GLOBAL_SETTINGS_CONTEXT = prefect.context.SettingsContext(profile=current.profile, settings=settings)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_api_reachable(timeout: float = 5.0) -> None:
    """With PREFECT_API_URL set (the production profile), the server must answer before anything
    is collected or written; otherwise one line says so (no traceback, no partial outputs). The
    temporary server started by this command is waited for (its start-up timeout)."""
    if _temporary is not None and os.environ.get("PREFECT_API_URL") == _temporary.api_url:
        from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

        _temporary.wait_until_ready(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
        return
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        from prefect.settings import PREFECT_API_URL

        url = PREFECT_API_URL.value()
    if not url:
        return  # Prefect's temporary server: started by the flow itself
    import httpx

    try:
        response = httpx.get(f"{url.rstrip('/')}/health", timeout=timeout)
        response.raise_for_status()
    except (httpx.HTTPError, OSError) as exc:
        raise PrefectUnreachable(url, exc) from None


class PrefectUnreachable(AnnexError):
    exit_code = 69  # EX_UNAVAILABLE

    def __init__(self, url: str, exc: BaseException):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        why = f"応答 {status}" if status else "応答がありません"
        super().__init__(
            f"Prefect サーバー {url} に接続できません（{why}）。何も収集・出力していません",
            hint="サーバーを起動するか、環境変数 PREFECT_API_URL を確認してください（未設定なら一時サーバーで実行します）",
        )
