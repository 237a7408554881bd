"""The wheel is the product: built from the repository, installed into a fresh venv outside it,
the `annex` console script runs a year's first steps on the bundled corpus — with no help from
the source tree.

One wheel build (pip, isolated as `pip install .` would do it), one venv, three CLI commands:
about 30 s. The venv sees this interpreter's site-packages (`--system-site-packages`) so the
dependencies are not downloaded again, but annex itself comes only from the wheel
(`--no-deps --no-index`).

Why the extra care: the developer's `pip install -e .` leaves `__editable__.annex-*.pth` in the
system site-packages, which appends a finder mapping annex/flows/tasks to the repository. The
venv's own site-packages comes first, so `import annex` finds the wheel's copy — but a module
the wheel forgot (a subpackage missing from [tool.setuptools] packages, a data file missing from
package-data) would then be found by that finder in the repository and the test would pass. The
venv therefore gets a .pth, processed before the system ones, that turns those finders off.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Not part of a build; copying them would only slow it (and build/ could leak stale modules).
COPY_IGNORE = (
    ".git",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".benchmarks",
    "output",
    "submissions",
    "archive",
    ".venv",
)

PROBE = r"""
import json, sys, importlib.resources
import annex, flows, tasks
print(json.dumps({
    "files": {m.__name__: m.__file__ for m in (annex, flows, tasks)},
    "corpus": str(importlib.resources.files("annex") / "defaults" / "annex_2025.json"),
    "path": sys.path,
    "meta_path": [type(f).__name__ if not isinstance(f, type) else f.__name__ for f in sys.meta_path],
    "prefix": sys.prefix,
}))
"""


def _run(cmd, *, cwd, env=None, timeout):
    result = subprocess.run([str(c) for c in cmd], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} → exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def _inside(path: str | Path, parent: Path) -> bool:
    return Path(path).resolve().is_relative_to(parent.resolve())


def _editable_finders() -> list[str]:
    """Module names of the setuptools editable finders for annex in this interpreter's site-packages."""
    dirs = {*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    return sorted({p.stem for d in dirs if Path(d).is_dir() for p in Path(d).glob("__editable___annex_*_finder.py")})


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A venv outside the repository with annex installed from a freshly built wheel."""
    import shutil

    base = tmp_path_factory.mktemp("packaging")
    assert not _inside(base, ROOT), f"{base} is inside the repository"

    # Build from a copy: an in-tree setuptools build writes build/ and *.egg-info into the
    # repository, and a stale build/lib would put modules that no longer exist into the wheel.
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*COPY_IGNORE))
    wheels = base / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w", wheels, "."],
        cwd=source,
        timeout=300,
    )
    wheel = [*wheels.glob("annex-*.whl")]
    assert len(wheel) == 1, wheel
    with zipfile.ZipFile(wheel[0]) as zf:
        names = set(zf.namelist())
    for data in ("annex/defaults/annex_2025.json", "annex/templates/annex.docx"):
        assert data in names, f"{data} is not in the wheel"
    assert any(n.startswith("annex/templates/email/") and n.endswith(".j2") for n in names)

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", venv], cwd=base, timeout=120)
    python = venv / "bin" / "python"
    purelib = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=base, timeout=60
    ).stdout.strip()
    # The developer's editable install must not answer for modules the wheel lacks (see above).
    finders = _editable_finders()
    if finders:
        stub = "import sys, types; " + "; ".join(
            f"sys.modules.setdefault({name!r}, types.SimpleNamespace(install=lambda: None))" for name in finders
        )
        Path(purelib, "_annex_wheel_only.pth").write_text(stub + "\n", encoding="utf-8")
    # --ignore-installed: the system's (editable) annex 0.1.0 must not count as already satisfied.
    _run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            "--disable-pip-version-check",
            "-q",
            wheel[0],
        ],
        cwd=base,
        timeout=120,
    )

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONSAFEPATH", "VIRTUAL_ENV")
    }
    env.update(VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PYTHONNOUSERSITE="1")
    workspace_root = base / "work"
    workspace_root.mkdir()
    return {"venv": venv, "python": python, "annex": venv / "bin" / "annex", "env": env, "cwd": workspace_root}


def test_the_installed_package_is_the_wheel_not_the_repository(installed):
    probe = json.loads(_run([installed["python"], "-c", PROBE], cwd=installed["cwd"], env=installed["env"], timeout=120).stdout)
    venv = installed["venv"]
    for module, file in probe["files"].items():
        assert _inside(file, venv), f"{module} imported from {file}, not from the venv"
    assert _inside(probe["corpus"], venv)
    assert _inside(probe["prefix"], venv)
    assert not [p for p in probe["path"] if p and _inside(p, ROOT)], f"the repository is on sys.path: {probe['path']}"
    assert "_EditableFinder" not in probe["meta_path"], probe["meta_path"]
    # The venv's site-packages precedes the system's, so the wheel's annex wins over any other.
    site_dirs = [p for p in probe["path"] if p.endswith("site-packages")]
    assert site_dirs and _inside(site_dirs[0], venv), site_dirs


def test_the_console_script_imports_distributes_and_renders_the_bundled_corpus(installed):
    annex, env, cwd = installed["annex"], installed["env"], installed["cwd"]
    assert annex.is_file(), "the wheel installed no `annex` console script"
    corpus = json.loads(_run([installed["python"], "-c", PROBE], cwd=cwd, env=env, timeout=120).stdout)["corpus"]
    w = cwd / "W"

    _run([annex, "import", corpus, "--year", "2025", "--workspace", w], cwd=cwd, env=env, timeout=180)
    _run([annex, "distribute", "--year", "2026", "--workspace", w], cwd=cwd, env=env, timeout=180)
    _run([annex, "render", "--year", "2025", "--no-pdf", "--workspace", w], cwd=cwd, env=env, timeout=180)

    templates = sorted((w / "output" / "2026" / "templates").glob("*.xlsx"))
    assert templates, "distribute wrote no templates"
    assert all(zipfile.is_zipfile(t) for t in templates)
    docx = w / "output" / "2025" / "annex.docx"
    assert docx.is_file()
    with zipfile.ZipFile(docx) as zf:
        assert "word/document.xml" in zf.namelist()
