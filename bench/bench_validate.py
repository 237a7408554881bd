"""Validate 40 ministry workbooks, worker pool start included (DESIGN.md §7: "forty ministries
must validate in a few seconds on 2 cores").

    python bench/bench_validate.py            # prints seconds for read+validate, and with feedback
    python -m pytest bench/bench_validate.py -s  # the same, printed (speed is measured, never asserted)

The 40 files are the distributed 2026 templates (every ministry of the bundled 2025 annex),
each with a few edited and new lines, cycled up to 40 files with distinct bytes.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_FILES = 40


def make_inputs(folder: Path) -> tuple[object, list[Path]]:
    import openpyxl

    from annex.model.config import JST, bundled_path
    from annex.workspace.distribute import distribute_year
    from annex.workspace.layout import Workspace
    from annex.workspace.master import import_into_workspace

    ws = Workspace.at(folder / "ws")
    import_into_workspace(ws, bundled_path("annex_2025.json"), 2025)
    result = distribute_year(ws, 2026, generated_at=dt.datetime(2026, 4, 13, 9, tzinfo=JST))
    templates = sorted(result.templates, key=lambda t: -t.lines)
    files = []
    for i in range(N_FILES):
        t = templates[i % len(templates)]
        path = folder / "in" / f"{i:02d}-{t.slug}.xlsx"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(t.path, path)
        wb = openpyxl.load_workbook(path)
        sheet = wb["記入シート"]
        spare = [r for r in range(4, sheet.max_row + 1) if not sheet[f"A{r}"].value and sheet[f"B{r}"].value][:3]
        for n, r in enumerate(spare):
            for col, v in (("F", "今後の取組方針"), ("H", f"新しい取組 {i}-{n}"), ("I", t.ministry), ("L", "新規")):
                sheet[f"{col}{r}"] = v
        wb.save(path)
        files.append(path)
    return ws, files


def run(ws, files: list[Path], feedback: bool) -> float:
    from annex.workspace.collect import validate_files

    start = time.perf_counter()
    subs = validate_files(ws, 2026, files, feedback=feedback)
    elapsed = time.perf_counter() - start
    assert len(subs) == len(files) and all(s.accepted for s in subs), [s.issues[:2] for s in subs if not s.accepted]
    return elapsed


def test_forty_ministries_validate_in_a_few_seconds(tmp_path):
    ws, files = make_inputs(tmp_path)
    lines = sum(1 for _ in files)
    elapsed = run(ws, files, feedback=False)
    print(f"\n{len(files)} files ({lines}) read + validated in {elapsed:.2f} s")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        ws, files = make_inputs(Path(tmp))
        size = sum(p.stat().st_size for p in files)
        print(f"{len(files)} workbooks, {size / 2**20:.1f} MB")
        print(f"read + validate (pool start and reference load included): {run(ws, files, feedback=False):.2f} s")
        print(f"read + validate + feedback workbooks:                      {run(ws, files, feedback=True):.2f} s")
