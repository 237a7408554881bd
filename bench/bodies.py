"""Sizes M and L: a nationwide survey of municipalities (市町村), each a submitting body.

The workspace gets its own abbreviation table (config/ministries.yaml: the bundled ministries and
the secretariat, then one entry per municipality with a unique abbreviation; config/tags.yaml as
bundled), and a master(2025) in which every section is a copy of a bundled section (fresh ids,
varied text) whose tags all name one municipality, so that each owns ~500 lines. Every
municipality's template is planned and written by the product (as `annex distribute` does, in a
process pool), then edited as an officer would, like the returns of size S (a few 修正, one 新規
line: the same choice as bench.data._officer_edits), the typed cells written into 記入シート's XML
rather than through openpyxl's load and save of the whole workbook (it cost ~1.5 s a file at L
when every template carried the master's 1M item ids; each now lists only its body's). Only the returns are kept (the templates are scratch),
and master(2025) as master.json only.

Not written: the secretariat's template (it would hold one quoted line per row of the master,
tens of thousands; the secretariat does not submit in this survey), master.xlsx and
`annex distribute`'s report. Everything else is the product's own code.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

import yaml

PREFECTURES = (
    "北海道 青森 岩手 宮城 秋田 山形 福島 茨城 栃木 群馬 埼玉 千葉 東京 神奈川 新潟 富山 石川 福井 山梨 長野 岐阜 静岡 愛知 三重 "
    "滋賀 京都 大阪 兵庫 奈良 和歌山 鳥取 島根 岡山 広島 山口 徳島 香川 愛媛 高知 福岡 佐賀 長崎 熊本 大分 宮崎 鹿児島 沖縄"
).split()
FIRST, SECOND, KINDS = "東西南北中上下大小新高本", "川山田野原沢浜島崎井谷津", "市町村"
BODIES_VERSION = 4  # 4: templates list only the tags their rows name (above 200); bump when the generated bodies, master or returns change: the cache is rebuilt


def body_name(k: int) -> tuple[str, str]:
    """The k-th municipality: (abbreviation, full name), unique for k < 47 × 12 × 12."""
    place_no = k // len(PREFECTURES)
    place = FIRST[place_no % len(FIRST)] + SECOND[place_no // len(FIRST) % len(SECOND)]
    prefecture = PREFECTURES[k % len(PREFECTURES)]
    kind = KINDS[k % len(KINDS)]
    suffix = "" if prefecture == "北海道" else "都" if prefecture == "東京" else "府" if prefecture in ("京都", "大阪") else "県"
    return f"{prefecture}{place}{kind}", f"{prefecture}{suffix}{place}{kind}"


def body_table(bodies: int) -> list[dict]:
    """The municipalities as ministries.yaml entries (slug muni-NNNN, one contact each)."""
    assert bodies <= len(PREFECTURES) * len(FIRST) * len(SECOND)
    out = []
    for k in range(bodies):
        abbr, name = body_name(k)
        out.append({"abbr": abbr, "slug": f"muni-{k + 1:04d}", "names": [name], "contacts": [f"annex@muni-{k + 1:04d}.example"]})
    return out


def write_config(root: Path, bodies: int) -> None:
    """config/ministries.yaml = the bundled table + the municipalities; config/tags.yaml as bundled."""
    from annex.model.config import bundled_path

    config = root / "config"
    config.mkdir(parents=True, exist_ok=True)
    table = yaml.safe_load(bundled_path("ministries.yaml").read_text(encoding="utf-8"))
    table["ministries"] += body_table(bodies)
    header = f"# 略称表（ベンチマーク用）: 同梱の府省庁と、提出主体としての市町村 {bodies:,} 団体（bench/bodies.py が生成）\n"
    (config / "ministries.yaml").write_text(header + yaml.safe_dump(table, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (config / "tags.yaml").write_text(bundled_path("tags.yaml").read_text(encoding="utf-8"), encoding="utf-8")


def bodies_annex(base, bodies: list[str], lines_per_body: int, pseudo_tags: list[str]):
    """master(2025) of the survey: the bundled chapters (their preamble kept), each section replaced
    by copies of the bundled sections in turn, every copy's tags naming one body; a body takes
    copies until it owns ~lines_per_body bullets, then the next body starts."""
    from bench.data import _vary

    out = base.model_copy(deep=True)
    for chapter in out.chapters:
        chapter.sections = []
    sources = [(ci, section) for ci, chapter in enumerate(base.chapters) for section in chapter.sections]
    keep = set(pseudo_tags)  # 関係府省 names nobody: kept, its bullet falls to the row's owner
    body, owned, copy_no, turn = 0, 0, 0, 0
    while body < len(bodies):
        ci, section = sources[turn % len(sources)]
        if turn % len(sources) == 0:
            copy_no += 1
        turn += 1
        size = sum(len(r.status) + len(r.policy) for r in section.rows)
        if owned and owned + size / 2 > lines_per_body:  # closer to the target without this copy
            body, owned = body + 1, 0
            if body == len(bodies):
                break
        abbr = bodies[body]
        clone = section.model_copy(deep=True)
        clone.no = f"{section.no}{copy_no}"
        for row in clone.rows:
            row.id = f"{row.id}-x{copy_no}"
            row.measure = _vary(row.measure, copy_no)
            row.measure_tags = list(dict.fromkeys(t if t in keep else abbr for t in row.measure_tags))
            for bullet in row.status + row.policy:
                bullet.id = f"{bullet.id}-x{copy_no}" if bullet.id else None
                bullet.text = _vary(bullet.text, copy_no)
                bullet.tags = list(dict.fromkeys(t if t in keep else abbr for t in bullet.tags))
                bullet.relisted, bullet.relisted_of = False, None  # its original is another body's
                owned += 1
        out.chapters[ci].sections.append(clone)
    return out


# -- templates and returns, in a process pool ---------------------------------------------------
_JOB: dict = {}  # set in the parent before the pool forks: the plans and config, shared copy-on-write


ENTRY_PART = "xl/worksheets/sheet1.xml"  # 記入シート: the template writer's first sheet


def officer_edits(plan, edits: int, seed: int) -> tuple[dict[str, str], int]:
    """The cells an officer types in (address → text) and the lines changed: `edits` texts 修正 and
    one 新規 bullet in a spare line, only in what the body owns; the choice bench.data._officer_edits
    makes from the workbook, made here from the plan the workbook was written from."""
    from annex.distribute.template import cell_of
    from annex.model.contract import ACTION_EDIT, ACTION_NEW, FIELD_POLICY

    lines = [line.values for line in plan.lines]
    owned = set(plan.owned_ids)
    items = [i for i, line in enumerate(lines) if line.get("item_id") in owned and line.get("text")]
    rows = {lines[i]["row_id"] for i in items}
    cells: dict[str, str] = {}
    changed = 0
    step = max(1, len(items) // max(1, edits))
    for i in items[seed % step :: step][:edits]:
        cells[cell_of("text", i)] = lines[i]["text"] + "令和７年度も継続して実施。"
        cells[cell_of("action", i)] = ACTION_EDIT
        changed += 1
    spare = next((i for i, line in enumerate(lines) if line.get("row_id") in rows and not line.get("item_id")), None)
    if spare is not None:
        cells[cell_of("field", spare)] = FIELD_POLICY
        cells[cell_of("text", spare)] = f"令和８年度に新たな取組（{seed + 1}）を開始し、成果を公表。"
        cells[cell_of("tags", spare)] = plan.ministry
        cells[cell_of("action", spare)] = ACTION_NEW
        changed += 1
    return cells, changed


def write_return(template: Path, dest: Path, cells: dict[str, str]) -> None:
    """The template with cells typed in: each cell of 記入シート's XML replaced by an inline string
    (its style kept), every other part as distributed. openpyxl's load and save of the whole
    workbook (bench.data._officer_edits, size S) cost ~1.5 s a file when L's templates carried 1M ids."""
    from xml.sax.saxutils import escape

    with zipfile.ZipFile(template) as src:
        xml = src.read(ENTRY_PART).decode("utf-8")
        for address, text in cells.items():
            pattern = re.compile(rf'<c r="{address}"(?P<style> s="\d+")?[^>]*?(?:/>|>.*?</c>)', re.S)
            typed = f' t="inlineStr"><is><t>{escape(text)}</t></is></c>'
            xml, found = pattern.subn(lambda m, a=address, t=typed: f'<c r="{a}"{m["style"] or ""}{t}', xml, count=1)
            assert found == 1, f"{template.name}: no cell {address}"
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as out:
            for item in src.infolist():
                out.writestr(item, xml.encode("utf-8") if item.filename == ENTRY_PART else src.read(item))


def _template_and_return(index: int) -> tuple[str, int, int, int, float]:
    """Write plan[index]'s template with the product, then the officer's return from it."""
    from annex.distribute.template import write_template

    start = time.process_time()
    job = _JOB
    plan, dest = job["plans"][index], job["returns"][index]
    template = job["templates"] / f"{os.getpid()}.xlsx"  # the officer's copy is what is kept
    write_template(template, plan, job["config"], generated_at=job["generated_at"], source_master=job["source_master"])
    cells, changed = officer_edits(plan, job["edits"], index)
    write_return(template, dest, cells)
    return plan.ministry, len(plan.item_ids), changed, dest.stat().st_size, time.process_time() - start


def generate(spec, base: Path, made_for: dict, generator: int, *, key: str, workers: int | None = None) -> dict:
    """The survey's workspace under base/pristine and its manifest (also written to base): every
    body in the abbreviation table and the master, returns from the first spec.ministries bodies."""
    from annex.distribute.template import plan_templates
    from annex.io.files import publishing
    from annex.master.importer import import_annex, read_annex_file
    from annex.model.config import JST, bundled_path
    from annex.workspace.distribute import template_path
    from annex.workspace.layout import Workspace
    from annex.workspace.master import previous_master_with_digest
    from bench.data import SOURCE_YEAR, YEAR

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 1)
        clock = now

    pristine = base / "pristine"
    write_config(pristine, spec.bodies)
    ws = Workspace.at(pristine)
    config = ws.config
    names = [abbr for abbr, _ in map(body_name, range(spec.bodies))]
    corpus = import_annex(read_annex_file(bundled_path("annex_2025.json")), config.tags, SOURCE_YEAR).annex
    annex = bodies_annex(corpus, names, spec.bullets // spec.bodies, config.tag_settings.pseudo_tags)
    lap("master")
    # master.json only: what every stage reads (master.xlsx, for people, takes ~1 ms a line to write)
    with publishing() as outputs:
        outputs.stage_text(ws.master_json(SOURCE_YEAR), annex.to_json())
    lap("master written")
    annex, _, digest = previous_master_with_digest(ws, YEAR)  # read back, as distribute does
    by_abbr = {p.ministry: p for p in plan_templates(annex, config, YEAR)}
    plans = [by_abbr[abbr] for abbr in names[: spec.ministries]]
    lap("plans")
    inbox = ws.submissions(YEAR)
    inbox.mkdir(parents=True, exist_ok=True)
    templates = base / "templates"  # scratch: one template per worker at a time
    templates.mkdir(exist_ok=True)
    _JOB.update(
        plans=plans,
        templates=templates,
        returns=[inbox / template_path(ws, YEAR, config.ministry_by_abbr[p.ministry]).name for p in plans],
        config=config,
        edits=spec.edits,
        generated_at=dt.datetime(2026, 4, 13, 9, tzinfo=JST),
        source_master=f"master {SOURCE_YEAR} sha256:{digest}",
    )
    workers = workers or os.cpu_count() or 1
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        made = pool.map(_template_and_return, range(len(plans)), chunksize=1)
    _JOB.clear()
    shutil.rmtree(templates)
    lap("templates and returns")
    manifest = {
        "generator": generator,
        "bodies_version": BODIES_VERSION,
        "made_for": made_for,
        "size": spec.name,
        "key": key,  # bench/.data/<key>/
        "workspace": "pristine",
        "bodies": spec.bodies,
        "bullets": sum(1 for _ in annex.bullets()),
        "rows": sum(1 for _ in annex.rows()),
        "ministries_with_template": len(by_abbr),
        "returns": len(made),
        "lines": sum(m[1] for m in made),
        "lines_per_return": [min(m[1] for m in made), max(m[1] for m in made)],
        "lines_changed": sum(m[2] for m in made),
        "bytes": sum(m[3] for m in made),
        "generation_seconds": timings,
        "generation_cpu_seconds_a_return": round(sum(m[4] for m in made) / len(made), 3),
        "generation_workers": workers,
    }
    (base / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest
