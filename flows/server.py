"""The Prefect API a command talks to: a running server (PREFECT_API_URL) checked before any work,
or Prefect's temporary server, which must die with the command that started it.

Prefect starts its temporary server as a child process (``python -m uvicorn --factory
prefect.server.api.server:create_app``) and stops it from an atexit hook — which a SIGKILL of the
command never runs, so the server (uvicorn) stayed alive after ``kill -9``. Of the ways to tie a
child's life to its parent, a watchdog thread inside the child is the one that holds here:
PR_SET_PDEATHSIG fires when the *thread* that forked the child ends (Prefect may start the server
from a short-lived thread), and a process group only helps if someone is left to kill it. So the
server is started through ``create_app`` below, which watches its parent and shuts the server
down when the parent is gone, whatever killed it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

from annex.model.errors import AnnexError

PREFECT_FACTORY = "prefect.server.api.server:create_app"
WATCHED_FACTORY = "flows.server:create_app"
POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0


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


def tie_temporary_server_to_this_process() -> None:
    """Make Prefect start its temporary server through create_app above (call before any flow)."""
    from prefect.server.api import server as prefect_server

    original = prefect_server.SubprocessASGIServer._run_uvicorn_command
    if getattr(original, "annex_watched", False):
        return

    def run_uvicorn(self) -> subprocess.Popen:
        real_popen = subprocess.Popen

        class WatchedPopen(real_popen):  # type: ignore[misc, valid-type]
            def __init__(self, args, *rest, **kw):
                if isinstance(args, list | tuple) and PREFECT_FACTORY in args:
                    args = [WATCHED_FACTORY if a == PREFECT_FACTORY else a for a in args]
                    env = dict(kw.get("env") or os.environ)
                    # the child imports flows.server: give it the path this process imported it from
                    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
                    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
                    env[PARENT_ENV] = str(os.getpid())
                    kw["env"] = env
                super().__init__(args, *rest, **kw)

        # Prefect's method calls subprocess.Popen by module attribute; only this call sees ours
        prefect_server.subprocess = _SubprocessWith(WatchedPopen)
        try:
            return original(self)
        finally:
            prefect_server.subprocess = subprocess

    run_uvicorn.annex_watched = True  # type: ignore[attr-defined]
    prefect_server.SubprocessASGIServer._run_uvicorn_command = run_uvicorn


class _SubprocessWith:
    """The subprocess module as Prefect's server module sees it during one call, Popen replaced."""

    def __init__(self, popen) -> None:
        self.Popen = popen

    def __getattr__(self, name: str):
        return getattr(subprocess, name)


def check_api_reachable(timeout: float = 5.0) -> None:
    """With PREFECT_API_URL set (the production profile), the server must answer before anything
    is collected or written; otherwise one line says so (no traceback, no partial outputs)."""
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
