"""Dependencies point one way (flows → tasks → annex): the domain never imports Prefect, tasks stay thin."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"pandas", "polars", "openpyxl", "fastexcel", "docx", "docxtpl", "pandera", "sqlalchemy"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_under_annex_imports_prefect():
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "annex").rglob("*.py")) if {"prefect", "prefect_dask"} & _imports(p)]
    assert offenders == []


def test_no_module_under_annex_imports_flows_or_tasks():
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "annex").rglob("*.py")) if {"flows", "tasks"} & _imports(p)]
    assert offenders == []


def test_task_modules_are_thin_wrappers():
    for path in sorted((ROOT / "tasks").glob("*.py")):
        heavy = HEAVY & _imports(path)
        assert not heavy, f"{path.name} imports {sorted(heavy)}: the work belongs in annex/"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                length = node.end_lineno - node.lineno + 1
                assert length <= 30, f"{path.name}:{node.name} is {length} lines: move the logic into annex/"
