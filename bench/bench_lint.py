"""What the notation lint adds to a run (issue 15: ≤ 0.5 s): annex lint of the whole master plus
the notation step of validation for 40 submissions, in the worst case where every line a ministry
owns was edited (each is linted twice: as written and as published, see validate._notation).

    python bench/bench_lint.py            # prints the seconds
    python -m pytest bench/bench_lint.py  # the same, asserted under the issue's bound

The master is the bundled 2025 annex; the 40 submissions are the 2026 templates planned from it
(every ministry), cycled up to 40.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_FILES = 40
BOUND = 0.5  # seconds, the budget


def inputs():
    from annex.distribute.template import plan_templates
    from annex.lint.dictionary import parse
    from annex.model.annex import Annex
    from annex.model.config import bundled_path, load_config
    from annex.model.contract import TABLE_FIELDS

    config = load_config(None)
    annex = Annex.model_validate_json(bundled_path("annex_2025.json").read_text(encoding="utf-8"))
    plans = plan_templates(annex, config, 2026)
    submissions = []
    for i in range(N_FILES):
        plan = plans[i % len(plans)]
        owned = [ln.values for ln in plan.lines if ln.kind == "owned"]
        submissions.append([(v.get("text", ""), v.get("previous_text", ""), v.get("field", "") in TABLE_FIELDS) for v in owned])
    return config, annex, submissions, parse(config.notation, "notation.yaml")


def run(config, annex, submissions, dictionary) -> tuple[float, int, int]:
    from annex.lint.text import lint_text
    from annex.workspace.lint import lint_master

    start = time.perf_counter()
    report = lint_master(annex, config)
    lines = 0
    for sub in submissions:
        for text, previous, sentence in sub:
            lint_text(previous, sentence=sentence, dictionary=dictionary)
            lint_text(text, sentence=sentence, dictionary=dictionary)
            lines += 1
    return time.perf_counter() - start, report.total, lines


def best_of(n: int = 3) -> tuple[float, int, int]:
    args = inputs()
    return min((run(*args) for _ in range(n)), key=lambda r: r[0])


def test_lint_adds_at_most_half_a_second():
    seconds, _, lines = best_of()
    assert lines > 0
    assert seconds <= BOUND, f"notation lint took {seconds:.2f} s"


if __name__ == "__main__":
    seconds, hits, lines = best_of()
    print(f"master lint ({hits} hits) + {lines} edited lines of {N_FILES} submissions: {seconds:.3f} s (bound {BOUND} s)")
