"""Benchmark of annex render on the bundled corpus: context → docx → PDF (LibreOffice).

    python bench/bench_render.py [--scale 1 4] [--repeat 5] [--no-pdf] [--json out.json]
    python -m pytest bench/bench_render.py --benchmark-only      (pytest-benchmark)

--scale N repeats every section N times (new ids), to see how the stages grow: the corpus is
461 bullets / 33 取組; ×4 is ~1,850 bullets. Timings are wall-clock on this machine; the
reference numbers are in research/performance_baselines.md §6–7 (≈1.3 s + 30–40 ms per page for
LibreOffice; docx building well under LibreOffice's cost).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from annex.master.importer import import_annex, read_annex_file  # noqa: E402
from annex.model.annex import Annex  # noqa: E402
from annex.model.config import bundled_path, load_config  # noqa: E402
from annex.render import build_context, expected_min_pages, render_docx  # noqa: E402
from annex.render.pdf import convert_to_pdf, find_soffice  # noqa: E402

TEMPLATE = ROOT / "annex" / "templates" / "annex.docx"


def corpus() -> Annex:
    return import_annex(read_annex_file(bundled_path("annex_2025.json")), load_config(None).tags, 2025).annex


def scaled(annex: Annex, factor: int) -> Annex:
    """Every section repeated factor times; ids made unique per copy."""
    out = annex.model_copy(deep=True)
    for chapter in out.chapters:
        sections = []
        for copy_no in range(factor):
            for section in chapter.sections:
                clone = section.model_copy(deep=True)
                if copy_no:
                    clone.no = f"{section.no}{copy_no}"
                    for row in clone.rows:
                        row.id = f"{row.id}-x{copy_no}"
                        for bullet in row.status + row.policy:
                            bullet.id = f"{bullet.id}-x{copy_no}"
                sections.append(clone)
        chapter.sections = sections
    return out


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run(scales: list[int], repeat: int, pdf: bool) -> list[dict]:
    base = corpus()
    results = []
    with tempfile.TemporaryDirectory(prefix="annex-bench-") as tmp:
        for factor in scales:
            annex = scaled(base, factor)
            counts = annex.counts()
            context_s, context = timed(lambda annex=annex: build_context(annex), repeat)
            out = Path(tmp) / f"annex-x{factor}.docx"
            docx_s, info = timed(lambda context=context, out=out: render_docx(context, TEMPLATE, out), repeat)
            row = {
                "scale": factor,
                "bullets": counts["bullets"],
                "rows": counts["rows"],
                "tables": info.tables,
                "context_s": round(context_s, 4),
                "docx_s": round(docx_s, 4),
                "docx_bytes": out.stat().st_size,
            }
            if pdf and find_soffice():
                result = convert_to_pdf(out, Path(tmp) / "pdf", timeout=900, expected_min_pages=expected_min_pages(context))
                row.update(pdf_s=round(result.seconds, 2), pages=result.pages, pdf_ok=result.ok)
                if result.ok and result.pages:
                    row["ms_per_page"] = round(1000 * result.seconds / result.pages, 1)
            results.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    return results


# -- pytest-benchmark ------------------------------------------------------------------------
def test_bench_context(benchmark):
    annex = corpus()
    benchmark(build_context, annex)


def test_bench_docx(benchmark, tmp_path):
    context = build_context(corpus())
    benchmark(render_docx, context, TEMPLATE, tmp_path / "annex.docx")


def test_bench_pdf(benchmark, tmp_path):
    import pytest

    if not find_soffice():
        pytest.skip("LibreOffice not installed")
    context = build_context(corpus())
    docx = render_docx(context, TEMPLATE, tmp_path / "annex.docx").path
    result = benchmark.pedantic(convert_to_pdf, args=(docx, tmp_path / "pdf"), kwargs={"timeout": 600}, rounds=1, iterations=1)
    assert result.ok, result.reason


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-pdf", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = run(args.scale, args.repeat, not args.no_pdf)
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
