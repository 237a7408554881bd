"""Workspaces for real runs that send e-mail (a mail server on loopback named in config, and a
conflict, 統合時の調整, planted in two sample returns), and the processes of a killed run.
Shared by tests/flows/test_mail_runs.py, test_kill.py and test_kill_run.py."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import openpyxl
import psutil

from annex.model.config import bundled_path
from annex.model.contract import SHEET_ENTRY
from annex.workspace.layout import Workspace

# Two sample returns whose ministries share lines (tagged 【科技、文…】): both edit one of them.
CONFLICTING = {"科技": "科技_記入シート_最終.xlsx", "文": "【文部科学省】統合イノベーション戦略2026別添_記入シート.xlsx"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def configure_smtp(root: Path, port: int) -> Workspace:
    """config/annex.yaml naming a mail server on 127.0.0.1:port, with short timeouts and retries."""
    (root / "config").mkdir(parents=True, exist_ok=True)
    text = (
        bundled_path("annex.yaml")
        .read_text(encoding="utf-8")
        .replace("port: 8025", f"port: {port}")
        .replace("# host: 127.0.0.1", "host: 127.0.0.1")
        .replace("timeout_seconds: 30 ", "timeout_seconds: 2 ")
        .replace("retries: 2 ", "retries: 1 ")
        .replace("retry_delay_seconds: 3 ", "retry_delay_seconds: 0.1 ")
    )
    (root / "config" / "annex.yaml").write_text(text, encoding="utf-8")
    (root / "submissions" / "2026").mkdir(parents=True, exist_ok=True)
    ws = Workspace.at(root)
    assert (ws.config.settings.smtp.host, ws.config.settings.smtp.port) == ("127.0.0.1", port)
    assert (ws.config.settings.smtp.timeout_seconds, ws.config.settings.smtp.retries) == (2, 1)  # short, as configured
    return ws


def _entry_rows(sheet) -> tuple[dict[str, int], dict[str, int]]:
    header = {sheet.cell(row=3, column=c).value: c for c in range(1, sheet.max_column + 1)}
    return header, {
        sheet.cell(row=r, column=header["項目ID"]).value: r
        for r in range(4, sheet.max_row + 1)
        if sheet.cell(row=r, column=header["項目ID"]).value
    }


def plant_conflict(source: Path, inbox: Path) -> str:
    """Copy the two CONFLICTING returns from ``source`` into ``inbox``, each editing the same
    line they both own (unchanged in both) differently: the merge reports a conflict and both
    ministries get a 統合時の調整 notice. Returns the line's 項目ID."""
    books = {m: openpyxl.load_workbook(source / name) for m, name in CONFLICTING.items()}
    sheets = {m: book[SHEET_ENTRY] for m, book in books.items()}
    layout = {m: _entry_rows(sheet) for m, sheet in sheets.items()}
    rows, rows2 = layout["科技"][1], layout["文"][1]

    def shared(item_id: str) -> bool:
        for m, (h, r) in layout.items():
            sheet = sheets[m]
            owners = str(sheet.cell(row=r[item_id], column=h["担当府省"]).value or "")
            action = sheet.cell(row=r[item_id], column=h["対応"]).value
            if not {"科技", "文"} <= set(owners.split("、")) or action not in (None, "変更なし"):
                return False
        return True

    item_id = next(i for i in rows if i in rows2 and shared(i))
    for m, name in CONFLICTING.items():
        h, r = layout[m]
        sheets[m].cell(row=r[item_id], column=h["記載内容"]).value = f"{m}の版で修正した記載（統合時の調整の確認用）。"
        sheets[m].cell(row=r[item_id], column=h["対応"]).value = "修正"
        books[m].save(inbox / name)
    return item_id


# -- the processes of a killed run -----------------------------------------------------------------
def descendants_until_dead(child: subprocess.Popen, timeout: float) -> dict[int, str]:
    """Every process under child seen while it ran (polled), until it died: pid → command line."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    while child.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(psutil.Error):
            for p in psutil.Process(child.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    seen.setdefault(p.pid, " ".join(p.cmdline()))
        time.sleep(0.05)
    return seen


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def survivors(seen: dict[int, str], grace: float = 30) -> list[str]:
    """The command lines of the processes in ``seen`` still alive ``grace`` seconds on (then
    killed, so that a failed test leaves none behind)."""
    deadline = time.monotonic() + grace
    while any(_alive(p) for p in seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [p for p in seen if _alive(p)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return [seen[p] for p in alive]
