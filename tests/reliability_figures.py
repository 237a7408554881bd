"""The figures of the reliability suite (issue 14) for the README, counted from the suite itself:

    python tests/reliability_figures.py

Cases are what the catalogue generators make and what pytest collects under `-m reliability`;
the suite asserts for every one of them that no value changed silently and nothing was lost, so
the last two figures are 0 whenever `./scripts/test.sh` passes (a failure there is a failed test).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the test files that simulate a fault of the machine, the network or a person, not a bad file
FAULT_FILES = (
    "smtp",
    "mail_runs",
    "deadline",
    "machine",
    "kill",
    "disk_full",
    "runlock",
    "unreachable",
    "orphans",
    "validation_failure",
)
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "intake")]


def main() -> None:
    from corpus_distribution import distributed
    from hostile import make_catalogue, make_content_catalogue
    from test_reader_fuzz import BATCH, EXAMPLES

    d = distributed()
    valid = d.path("デジ").read_bytes()
    with tempfile.TemporaryDirectory() as folder:
        container = make_catalogue(Path(folder) / "container", valid)
        content = make_content_catalogue(Path(folder) / "content", valid)
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "reliability", "--collect-only", "-q", "-p", "no:benchmark"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    tests = [line for line in collected if "::" in line]
    by_file = Counter(line.split("::")[0] for line in tests)
    faults = sum(n for f, n in by_file.items() if any(k in f for k in FAULT_FILES))
    print("| figure | value |")
    print("|---|---|")
    print(f"| hostile or unusual workbooks (container catalogue, research §2) | {len(container)} |")
    located = sum(len(case.expects) for case in content.values())
    print(
        f"| workbook content cases (issue 14: formulas, typed values, copied sheets, long text …) | "
        f"{located} located answers in {len(content)} workbooks |"
    )
    print(f"| fuzzed workbooks per run (reader, mutated parts) | {BATCH * EXAMPLES:,} |")
    print(f"| reliability tests (`pytest -m reliability`) | {len(tests)} in {len(by_file)} files |")
    print(f"| of which fault tests (SMTP, kill -9, disk full, machine faults, time zones) | {faults} |")
    print("| values changed silently | 0 |")
    print("| data lost | 0 |")


if __name__ == "__main__":
    main()
