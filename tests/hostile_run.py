"""Validate files as `annex validate FILE...` does, in a process of its own, printing the seconds
the batch took, then one JSON line per file: its verdict, located issues and 記載内容 by 項目ID. tests/intake/test_reliability.py runs it
as a child and samples the memory of its whole process tree (the reading workers included).

    python tests/hostile_run.py WORKSPACE YEAR FILE...
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    from annex.io.workers import WorkerPool
    from annex.workspace.collect import validate_files
    from annex.workspace.layout import Workspace
    from annex.workspace.master import load_reference

    workspace, year, files = Workspace.at(Path(argv[0])), int(argv[1]), [Path(f) for f in argv[2:]]
    ref = load_reference(workspace, year)
    print(json.dumps({"ready": True}), flush=True)
    with WorkerPool(workers=2) as pool:
        start = time.monotonic()
        subs = validate_files(workspace, year, files, pool=pool, reference=ref)  # as `annex validate FILE...`
        seconds = round(time.monotonic() - start, 3)
        print(json.dumps({"seconds": seconds}), flush=True)
        for path, sub in zip(files, subs):
            issues = [
                {
                    "rule": i.rule,
                    "severity": i.severity,
                    "file": i.location.file,
                    "sheet": i.location.sheet,
                    "cell": i.location.cell,
                    "message": i.message,
                }
                for i in sub.issues
            ]
            line = {"name": path.name, "verdict": sub.verdict, "accepted": sub.accepted, "issues": issues}
            texts = {line.item_id: line.text for line in sub.lines if line.item_id}
            line["texts"] = texts
            print(json.dumps(line, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
