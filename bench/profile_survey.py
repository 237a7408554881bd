"""cProfile of the in-process stages at size M or L: where the time goes at scale (issue 13).

    python bench/profile_survey.py M [--files 20] [--top 25]

On a fresh copy of the size's generated workspace: building the reference (master(Y-1) and every
body's plan), reading and validating the first --files returns (per-file costs), and merging those
(the merge's cost is the master's: it rewrites master(Y) whatever the number of returns). Writes
bench/results/<key>.profile.txt (the top functions of each stage by own and cumulative time) and
the .prof files to bench/.data/<key>/profile/ (for snakeviz or pstats).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.data import YEAR, ensure_data, folder, fresh_workspace  # noqa: E402
from bench.run import RESULTS  # noqa: E402


def profiled(name: str, out: Path, report: list[str], top: int, call):
    profile = cProfile.Profile(time.process_time)  # CPU time: the machine is shared, wall time is not all ours
    start = time.process_time()
    result = profile.runcall(call)
    cpu = time.process_time() - start
    profile.dump_stats(out / f"{name}.prof")
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profile, stream=text).strip_dirs().sort_stats(order).print_stats(top)
        report.append(f"## {name}: {cpu:.1f} s CPU under the profiler, by {order}\n\n{text.getvalue()}")
    return result


def main(argv: list[str] | None = None) -> None:
    from annex.intake.reader import read_workbook
    from annex.validation.validate import validate_batch
    from annex.workspace.collect import receive
    from annex.workspace.layout import Workspace
    from annex.workspace.master import load_reference, previous_master
    from annex.workspace.merge import merge_submissions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", choices=["M", "L", "smoke-survey"])
    parser.add_argument("--returns", type=int, help="the data of bench/run.py --returns N")
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    data = ensure_data(args.size, returns=args.returns)
    out = folder(data["key"]) / "profile"
    out.mkdir(parents=True, exist_ok=True)
    report: list[str] = [
        f"# cProfile, size {data['key']}: {data['bullets']:,} bullets, {data['bodies']:,} bodies, {args.files} files\n"
    ]
    with tempfile.TemporaryDirectory(prefix="annex-profile-") as tmp:
        ws = Workspace.at(fresh_workspace(data["key"], Path(tmp) / "ws"))
        received = receive(ws, YEAR)[0][: args.files]
        ref = profiled("reference", out, report, args.top, lambda: load_reference(ws, YEAR))
        raws = profiled("read", out, report, args.top, lambda: [(read_workbook(i.stored, i.name), i.sha256) for i in received])
        subs = profiled("validate", out, report, args.top, lambda: validate_batch(raws, ref))
        accepted = {s.ministry: s for s in subs if s.accepted}
        previous = previous_master(ws, YEAR)
        profiled(
            "merge", out, report, args.top, lambda: merge_submissions(ws, YEAR, accepted, previous=previous, own_previous=True)
        )
    (RESULTS / f"{data['key']}.profile.txt").write_text("\n".join(report), encoding="utf-8")
    print(f"{RESULTS / (data['key'] + '.profile.txt')}")


if __name__ == "__main__":
    main()
