"""annex distribute: master(Y-1) → one pre-filled template per ministry in output/<Y>/templates/.

All templates are published together or none (annex.io.files.publishing): a failure half-way
leaves the previous templates, if any, as they were.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from annex.distribute.template import TemplatePlan, plan_templates, write_template
from annex.io.files import publishing
from annex.model.config import JST, Ministry
from annex.model.contract import ministry_file_name
from annex.workspace.master import previous_master_with_digest


@dataclass(frozen=True)
class DistributedTemplate:
    ministry: str
    slug: str
    name: str
    path: Path
    lines: int  # pre-filled lines (bullets and preamble items)
    owned: int  # of which the ministry may edit
    spare: int  # blank lines for 新規
    checksum: str
    warnings: tuple[str, ...] = ()


@dataclass
class DistributeResult:
    year: int
    source_year: int
    master: Path
    folder: Path
    templates: list[DistributedTemplate] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [w for t in self.templates for w in t.warnings]

    @property
    def paths(self) -> list[Path]:
        return [t.path for t in self.templates]


def templates_folder(workspace, year: int) -> Path:
    return workspace.output(year) / "templates"


def template_filename(ministry: Ministry, year: int) -> str:
    """文部科学省_2026別添記入シート.xlsx: the ministry and the year in the officers' words, so that
    nobody swaps two templates by their slugs (npa-personnel / npa-police) when sending them."""
    return ministry_file_name(ministry.names[0], year, "別添記入シート")


def template_path(workspace, year: int, ministry: Ministry) -> Path:
    return templates_folder(workspace, year) / template_filename(ministry, year)


def _warnings(plan: TemplatePlan) -> tuple[str, ...]:
    missing = (
        ()
        if plan.contacts
        else (
            f"{plan.ministry}（{plan.name}）の連絡先が config/ministries.yaml にありません（様式は作成しました。送付先を登録してください）",
        )
    )
    return missing + tuple(plan.unmapped_tags)


def distribute_year(workspace, year: int | None = None, *, generated_at: dt.datetime | None = None) -> DistributeResult:
    """Read master(year-1) from the workspace and write every ministry's template for year."""
    config = workspace.config
    year = workspace.year(year)
    source_year = year - 1
    master_path = workspace.master_json(source_year)
    annex, _, digest = previous_master_with_digest(workspace, year)  # imports the baseline, as merge and run do
    plans = plan_templates(annex, config, year)
    generated_at = generated_at or dt.datetime.now(JST).replace(microsecond=0)
    source_master = f"master {source_year} sha256:{digest}"
    folder = templates_folder(workspace, year)
    result = DistributeResult(year=year, source_year=source_year, master=master_path, folder=folder)
    with publishing() as outputs:
        for plan in plans:
            path = outputs.stage(
                template_path(workspace, year, config.ministry_by_abbr[plan.ministry]),
                lambda p, plan=plan: write_template(p, plan, config, generated_at=generated_at, source_master=source_master),
            )
            result.templates.append(
                DistributedTemplate(
                    ministry=plan.ministry,
                    slug=plan.slug,
                    name=plan.name,
                    path=path,
                    lines=len(plan.item_ids),
                    owned=len(plan.owned_ids),
                    spare=plan.count("spare"),
                    checksum=plan.checksum,
                    warnings=_warnings(plan),
                )
            )
    return result
