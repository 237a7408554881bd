"""The layout is a rule: import-linter contracts (pyproject.toml) keep the arrows pointing down —
flows → tasks → annex.workspace → stage packages → annex.io → annex.model — with no cycle in annex,
no Prefect in the domain and no I/O library in the model; tasks stay thin."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = {"pandas", "polars", "openpyxl", "fastexcel", "docx", "docxtpl", "pandera", "sqlalchemy"}
STAGES = ["model", "io", "master", "distribute", "intake", "validation", "merge", "feedback", "render", "notify", "workspace"]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_import_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    run = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "4 kept, 0 broken" in run.stdout


def test_importing_every_domain_package_loads_no_prefect():
    code = (
        f"import sys; import {', '.join('annex.' + s for s in STAGES)}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'prefect_dask', 'dask', 'distributed'}))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"


def test_every_package_says_what_it_is_and_exports_its_api():
    for stage in STAGES + ["render"]:
        init = ROOT / "annex" / stage / "__init__.py"
        tree = ast.parse(init.read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"annex/{stage}/__init__.py has no docstring"
        assert any(isinstance(n, ast.ImportFrom) for n in tree.body), f"annex/{stage}/__init__.py exports nothing"


def test_an_import_inside_a_function_is_an_optional_heavy_one_and_says_so():
    """Imports sit at the top of a module; inside a function only for an optional heavy dependency,
    with a comment on the line saying why."""
    offenders = []
    for path in sorted((ROOT / "annex").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)) and "#" not in lines[inner.lineno - 1]:
                        offenders.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert offenders == []


def test_no_flow_imports_another_flow():
    # steps, progress, approval and server are shared steps (approval: the annual run's pause and
    # `annex approve`; server: the Prefect API a command talks to)
    flows = {p.stem for p in (ROOT / "flows").glob("*.py")} - {
        "__init__",
        "cli",
        "deploy",
        "steps",
        "progress",
        "approval",
        "server",
    }
    for path in sorted((ROOT / "flows").glob("*.py")):
        if path.stem in ("cli", "deploy"):
            continue  # the CLI and the deployment list name every flow
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            n.module.split(".")[1]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("flows.")
        }
        assert not imported & (flows - {path.stem}), f"{path.name} imports another flow: {sorted(imported & flows)}"


def test_task_modules_are_thin_wrappers():
    for path in sorted((ROOT / "tasks").glob("*.py")):
        heavy = HEAVY & _imports(path)
        assert not heavy, f"{path.name} imports {sorted(heavy)}: the work belongs in annex/"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                length = node.end_lineno - node.lineno + 1
                assert length <= 30, f"{path.name}:{node.name} is {length} lines: move the logic into annex/"
