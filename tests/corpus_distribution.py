"""The bundled 2025 corpus imported and distributed for 2026 once per test session.

Shared by test_template.py, test_distribute.py and test_samples.py through a cache (not a
fixture, which pytest would build once per module that imports it).
"""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import openpyxl

from annex.distribute.template import TemplatePlan, plan_templates
from annex.master.store import read_master
from annex.model.annex import Annex
from annex.model.config import JST, bundled_path
from annex.workspace.distribute import DistributeResult, distribute_year
from annex.workspace.layout import Workspace
from annex.workspace.master import import_into_workspace

GENERATED_AT = dt.datetime(2026, 4, 13, 9, 0, tzinfo=JST)


@dataclass(frozen=True)
class Distributed:
    workspace: Workspace
    result: DistributeResult
    master: Annex
    plans: dict[str, TemplatePlan]  # by ministry abbreviation

    def path(self, ministry: str) -> Path:
        return next(t.path for t in self.result.templates if t.ministry == ministry)

    def workbook(self, ministry: str):
        return _load(self.path(ministry))


@cache
def _load(path: Path):
    return openpyxl.load_workbook(path)


@lru_cache(maxsize=1)
def distributed() -> Distributed:
    root = Path(tempfile.mkdtemp(prefix="annex-distributed-"))
    atexit.register(shutil.rmtree, root, True)
    ws = Workspace.at(root)
    import_into_workspace(ws, bundled_path("annex_2025.json"), 2025)
    result = distribute_year(ws, 2026, generated_at=GENERATED_AT)
    master = read_master(ws.master_json(2025))
    plans = {p.ministry: p for p in plan_templates(master, ws.config, 2026)}
    return Distributed(ws, result, master, plans)
