"""Template size and open time with and without the live checks (issue 17: the template may grow by
at most a third and open at most a third slower).

    PYTHONPATH=. python bench/bench_template.py            # every ministry's 2026 template, both ways
    PYTHONPATH=. python bench/bench_template.py --no-libreoffice

For each template: bytes on disk, openpyxl load_workbook CPU seconds with formulas and for values
only (what feedback does with a returned workbook, "values ×"), and LibreOffice headless opening all of them (a conversion to csv of 記入シート,
which loads and recalculates each workbook; CPU seconds, its start-up on an empty workbook measured
alone and subtracted). Figures are printed, never asserted: the machine is shared, so the load
average is printed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _best(seconds: list[float]) -> float:
    return min(seconds)


def _soffice_open(soffice: str, paths: list[Path], work: Path) -> float:
    """CPU seconds (user + system, LibreOffice's processes) for one run to open (load and
    recalculate) every path and write it as csv. CPU rather than wall time: on a shared machine
    the wall time of the same run varied threefold."""
    profile = (work / "profile").resolve().as_uri()  # one warm profile for every run
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--convert-to", "csv"]
    subprocess.run([*command, "--outdir", str(work / "out"), *map(str, paths)], capture_output=True, timeout=600, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-libreoffice", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import openpyxl

    from annex.distribute.template import plan_templates, write_template
    from annex.master.store import read_master
    from annex.model.config import JST, bundled_path
    from annex.render.pdf import find_soffice
    from annex.workspace.layout import Workspace
    from annex.workspace.master import import_into_workspace

    work = Path(tempfile.mkdtemp(prefix="annex-bench-template-"))
    try:
        ws = Workspace.at(work / "ws")
        import_into_workspace(ws, bundled_path("annex_2025.json"), 2025)
        master = read_master(ws.master_json(2025))
        plans = plan_templates(master, ws.config, 2026)
        soffice = None if args.no_libreoffice else find_soffice()
        load_before = os.getloadavg()
        print(f"load {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; best of {args.repeat}")
        print(
            f"{'ministry':<10} {'lines':>5} {'KB':>7} {'KB live':>8} {'size ×':>7} {'load cpu':>8} {'live cpu':>8} {'load ×':>7}"
            f" {'values ×':>8}"
        )
        files: dict[bool, list[Path]] = {False: [], True: []}
        totals = {"size": [0, 0], "load": [0.0, 0.0], "values": [0.0, 0.0]}
        generated_at = dt.datetime(2026, 4, 13, 9, tzinfo=JST)
        for plan in sorted(plans, key=lambda p: -len(p.lines)):
            row = []
            for i, live in enumerate((False, True)):
                path = work / ("live" if live else "plain") / f"{plan.slug}.xlsx"
                path.parent.mkdir(exist_ok=True)
                write_template(path, plan, ws.config, generated_at=generated_at, source_master="bench", live=live)
                files[live].append(path)
                size = path.stat().st_size
                load = _best([_timed(openpyxl.load_workbook, path) for _ in range(args.repeat)])
                # feedback opens a returned workbook for its values only (no formula is parsed then)
                values = _best([_timed(lambda p: openpyxl.load_workbook(p, data_only=True), path) for _ in range(args.repeat)])
                totals["values"][i] += values
                totals["size"][i] += size
                totals["load"][i] += load
                row.append((size, load, values))
            (s0, l0, v0), (s1, l1, v1) = row
            print(
                f"{plan.ministry:<10} {len(plan.lines):>5} {s0 / 1024:>7.1f} {s1 / 1024:>8.1f} {s1 / s0:>7.2f} {l0:>8.3f} {l1:>8.3f} {l1 / l0:>7.2f} {v1 / v0:>8.2f}"
            )
        (s0, s1), (l0, l1), (v0, v1) = totals["size"], totals["load"], totals["values"]
        print(
            f"{'all':<10} {'':>5} {s0 / 1024:>7.1f} {s1 / 1024:>8.1f} {s1 / s0:>7.2f} {l0:>8.3f} {l1:>8.3f} {l1 / l0:>7.2f}"
            f" {v1 / v0:>8.2f}"
        )
        if soffice:
            empty = work / "empty.xlsx"
            openpyxl.Workbook().save(empty)
            _soffice_open(soffice, [empty], work)  # the profile is made on the first run
            startup = _best([_soffice_open(soffice, [empty], work) for _ in range(args.repeat)])
            n = len(files[False])
            runs: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(args.repeat):  # interleaved, best of each: the machine is shared, its load comes and goes
                for live in files:
                    runs[live].append(_soffice_open(soffice, files[live], work))
            lo = {live: _best(runs[live]) - startup for live in files}
            print(
                f"LibreOffice opening all {n} templates in one run (CPU s, start-up {startup:.2f} s subtracted): "
                f"{lo[False]:.2f} s without live checks, {lo[True]:.2f} s with ({lo[True] / lo[False]:.2f} ×); "
                f"{lo[False] / n * 1000:.0f} → {lo[True] / n * 1000:.0f} ms a template"
            )
        load_after = os.getloadavg()
        print(f"load after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _timed(action, *args) -> float:
    """CPU seconds of this process for action(*args) (see _soffice_open)."""
    started = time.process_time()
    action(*args)
    return time.process_time() - started


if __name__ == "__main__":
    main()
