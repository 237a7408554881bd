"""Benchmark data: a scaled master(2025) and each ministry's 2026 return, made from its real template.

The bundled 2025 annex (461 bullets, 21 ministries with bullets) is scaled by copying sections with
fresh ids and varied text; each copy is handed to ministries of the abbreviation table that own
nothing in the corpus, so that every one of the 40 active ministries has a template. Each return is
that ministry's distributed template edited with openpyxl as an officer would (a few texts
修正, a 新規 bullet in a spare line), like tools/make_samples.py does for the samples.

Generated once per size under bench/.data/<size>/ (gitignored); ``ensure_data`` reuses it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bodies  # noqa: E402

DATA = ROOT / "bench" / ".data"
SOURCE_YEAR, YEAR = 2025, 2026
GENERATOR_VERSION = 2  # bump when the generated data changes: the cache is rebuilt


@dataclass(frozen=True)
class Size:
    name: str
    bullets: int  # target bullets in master(2025)
    ministries: int  # returns (one per ministry)
    edits: int  # 修正 per return
    run: bool = True  # whether the generator supports it in this version
    # > 0: that many synthetic submitting bodies (municipalities 市町村) added to the abbreviation
    # table, each owning ~bullets/bodies lines of master(2025); 0: the real ministries (S, smoke)
    bodies: int = 0


SIZES = {
    # the whole published annex: ~800 bullets, ~50 pages, 40 ministries
    "S": Size("S", bullets=800, ministries=40, edits=3),
    # a small set of the same shape, for the smoke test (every stage, a fraction of the time)
    "smoke": Size("smoke", bullets=461, ministries=8, edits=2),
    # 400 × 500 lines and 2,000 × 500 lines: a nationwide survey of municipalities, each a
    # submitting body of the workspace's own abbreviation table (bench/bodies.py)
    "M": Size("M", bullets=200_000, ministries=400, edits=3, bodies=400),
    "L": Size("L", bullets=1_000_000, ministries=2_000, edits=3, bodies=2_000),
    # the same shape on 6 bodies: the M/L code path in CI (tests/test_bench.py)
    "smoke-survey": Size("smoke-survey", bullets=3_000, ministries=6, edits=2, bodies=6),
}


def _vary(text: str, copy_no: int) -> str:
    """The same text in copy n, varied so that it is not a duplicate (and deflates like prose)."""
    if not text:
        return text
    return text.replace("推進", "推進" if copy_no % 2 else "着実に推進") + f"（第{copy_no + 1}期）"


def scaled_annex(target_bullets: int, config):
    """The bundled annex, sections copied (fresh ids, varied text, other owners) up to target_bullets."""
    from annex.master.importer import import_annex, read_annex_file
    from annex.model.config import bundled_path

    base = import_annex(read_annex_file(bundled_path("annex_2025.json")), config.tags, SOURCE_YEAR).annex
    out = base.model_copy(deep=True)
    used = sorted({t for _, _, b in base.bullets() for t in b.tags} | {t for _, _, r in base.rows() for t in r.measure_tags})
    active = [abbr for abbr, m in config.ministry_by_abbr.items() if not m.abolished]
    spare = [abbr for abbr in active if abbr not in used]
    total = sum(1 for _ in base.bullets())
    copy_no = 0
    while total < target_bullets:
        copy_no += 1
        owner = {u: spare[(i + copy_no) % len(spare)] for i, u in enumerate(used)} if spare else {}
        for chapter, source in zip(out.chapters, base.chapters):
            for section in source.sections:
                if total >= target_bullets:
                    break
                clone = section.model_copy(deep=True)
                clone.no = f"{section.no}{copy_no}"
                for row in clone.rows:
                    row.id = f"{row.id}-x{copy_no}"
                    row.measure = _vary(row.measure, copy_no)
                    row.measure_tags = [owner.get(t, t) for t in row.measure_tags]
                    for bullet in row.status + row.policy:
                        bullet.id = f"{bullet.id}-x{copy_no}" if bullet.id else None
                        bullet.text = _vary(bullet.text, copy_no)
                        bullet.tags = [owner.get(t, t) for t in bullet.tags]
                        # a copy is never a 再掲: its original may not have been copied
                        bullet.relisted, bullet.relisted_of = False, None
                        total += 1
                chapter.sections.append(clone)
    return out


def _officer_edits(template: Path, dest: Path, abbr: str, owned: set[str], edits: int, seed: int) -> int:
    """An officer's return: `edits` texts 修正 and one 新規 bullet; the number of lines changed."""
    import openpyxl

    from annex.distribute.template import cell_of, read_lines, share_live_formula
    from annex.io.xlsx import set_text
    from annex.model.contract import ACTION_EDIT, ACTION_NEW, FIELD_POLICY, SHEET_ENTRY

    wb = openpyxl.load_workbook(template)
    ws = wb[SHEET_ENTRY]
    lines = read_lines(ws)
    # an officer edits only what the ministry owns (anything else is L-NOT-OWNER)
    items = [i for i, line in enumerate(lines) if line.get("item_id") in owned and line.get("text")]
    rows = {lines[i]["row_id"] for i in items}
    changed = 0
    step = max(1, len(items) // max(1, edits))
    for i in items[seed % step :: step][:edits]:
        set_text(ws[cell_of("text", i)], lines[i]["text"] + "令和７年度も継続して実施。")
        set_text(ws[cell_of("action", i)], ACTION_EDIT)
        changed += 1
    spare = next((i for i, line in enumerate(lines) if line.get("row_id") in rows and not line.get("item_id")), None)
    if spare is not None:
        set_text(ws[cell_of("field", spare)], FIELD_POLICY)
        set_text(ws[cell_of("text", spare)], f"令和８年度に新たな取組（{seed + 1}）を開始し、成果を公表。")
        set_text(ws[cell_of("tags", spare)], abbr)
        set_text(ws[cell_of("action", spare)], ACTION_NEW)
        changed += 1
    dest.parent.mkdir(parents=True, exist_ok=True)
    share_live_formula(ws)  # as Excel saves it (openpyxl expanded the チェック formula per cell)
    wb.save(dest)
    return changed


def folder(size: str) -> Path:
    return DATA / size


def data_key(size: str, returns: int | None = None) -> str:
    """The folder name of a size's data: the size, or e.g. L-400 for L with its first 400 returns."""
    return size if returns is None or returns == SIZES[size].ministries else f"{size}-{returns}"


def ensure_data(size: str, *, fresh: bool = False, returns: int | None = None) -> dict:
    """The data of a size, generated unless cached; its manifest (counts, paths). ``returns`` (M and
    L only) keeps the whole master and abbreviation table and makes only the first bodies' returns."""
    spec = SIZES[size]
    if not spec.run:
        raise NotImplementedError(f"size {size} is not generated by this version of bench/data.py")
    if returns is not None:
        if not spec.bodies or not 0 < returns <= spec.ministries:
            raise ValueError(f"--returns: 1..{spec.ministries} of size M or L only")
        spec = replace(spec, ministries=returns)
    key = data_key(size, returns)
    base = folder(key)
    manifest_path = base / "manifest.json"
    if not fresh and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("generator") == GENERATOR_VERSION and manifest.get("made_for") == _made_for():
            if not spec.bodies or manifest.get("bodies_version") == bodies.BODIES_VERSION:
                return manifest
    shutil.rmtree(base, ignore_errors=True)
    if spec.bodies:
        return bodies.generate(spec, base, _made_for(), GENERATOR_VERSION, key=key)
    return _generate(spec, base)


def _made_for() -> dict:
    """What the cached returns were made with: a new template layout or rule catalogue makes them
    outdated or judged differently (a stale cache once turned every return into 差戻し)."""
    from annex.model.contract import TEMPLATE_VERSION
    from annex.model.rules import CATALOGUE_VERSION

    return {"template": TEMPLATE_VERSION, "catalogue": CATALOGUE_VERSION}


def _generate(spec: Size, base: Path) -> dict:
    from annex.io.files import publishing
    from annex.master.store import stage_master
    from annex.model.config import JST, bundled_path
    from annex.workspace.distribute import distribute_year
    from annex.workspace.layout import Workspace
    from annex.workspace.master import import_into_workspace

    pristine = base / "pristine"  # master(2025) + templates + returns: copied for each measurement
    ws = Workspace.at(pristine)
    import_into_workspace(ws, bundled_path("annex_2025.json"), SOURCE_YEAR)
    annex = scaled_annex(spec.bullets, ws.config)
    with publishing() as outputs:
        stage_master(outputs, annex, ws.output(SOURCE_YEAR))
    result = distribute_year(ws, YEAR, generated_at=dt.datetime(2026, 4, 13, 9, tzinfo=JST))
    # the ministries with the most lines first: the size's returns are the biggest ones
    templates = sorted(result.templates, key=lambda t: (-t.lines, t.ministry))[: spec.ministries]
    inbox = ws.submissions(YEAR)
    from annex.model.ownership import bullets_owned_by

    config = ws.config
    changed = 0
    for n, t in enumerate(templates):
        owned = set(bullets_owned_by(annex, t.ministry, config.tags, config.secretariat.abbr))
        changed += _officer_edits(t.path, inbox / t.path.name, t.ministry, owned, spec.edits, n)
    manifest = {
        "generator": GENERATOR_VERSION,
        "made_for": _made_for(),
        "size": spec.name,
        "workspace": str(pristine.relative_to(base)),
        "bullets": sum(1 for _ in annex.bullets()),
        "ministries_with_template": len(result.templates),
        "returns": len(templates),
        "lines": sum(t.lines for t in templates),
        "lines_changed": changed,
        "bytes": sum(p.stat().st_size for p in inbox.rglob("*.xlsx")),
    }
    (base / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return manifest


def fresh_workspace(key: str, dest: Path) -> Path:
    """A copy of the size's pristine workspace (master(2025) + inbox, no ledger): each run starts clean.
    M and L (gigabytes of returns) get hard links: nothing writes to a received file (collect
    copies it into archive/), so each run still starts from the same bytes."""
    src = folder(key) / "pristine"
    shutil.rmtree(dest, ignore_errors=True)
    big = "bodies" in json.loads((folder(key) / "manifest.json").read_text(encoding="utf-8"))
    shutil.copytree(src, dest, symlinks=True, copy_function=os.link if big else shutil.copy2)
    return dest


if __name__ == "__main__":
    for name in sys.argv[1:] or ["S"]:  # S, smoke, M, L
        print(json.dumps(ensure_data(name, fresh=True), ensure_ascii=False))
