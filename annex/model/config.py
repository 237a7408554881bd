"""Configuration as data: the year, the deadline, ministries and their contacts, tags, SMTP.

A workspace's ``config/`` holds ``annex.yaml``, ``ministries.yaml`` and ``tags.yaml``; any file
it lacks is taken from the bundled defaults (``annex/defaults/``). Errors name the file, the
key and what is expected, in Japanese, because the secretariat edits these files.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from annex.model.errors import ConfigError, validation_problems
from annex.model.labels import JST
from annex.model.rules import BLOCKING, RULES
from annex.model.tags import TagResolver

CONFIG_FILES = ("annex.yaml", "ministries.yaml", "tags.yaml", "notation.yaml", "variants.yaml")
BUNDLED = "bundled:"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# An e-mail address as config must hold it: one addr-spec, nothing else. A display name, a comma or
# a CR/LF would let a config line add recipients or headers to every message (issue 14).
EMAIL_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)


def _address(value: str) -> str:
    if not EMAIL_ADDRESS.fullmatch(value):
        raise ValueError(f"メールアドレスの形式ではありません（改行・カンマ・表示名は使えません）: {value!r}")
    return value


class Ministry(_Strict):
    abbr: str = Field(min_length=1, description="別添での略称（例: 文）")
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="英小文字・数字・ハイフン（例: mext）")
    names: list[str] = Field(min_length=1, description="府省庁名のリスト")
    parent: Literal["内閣官房", "内閣府"] | None = None
    abolished: bool = False
    contacts: list[str] = Field(default_factory=list, description="メールアドレスのリスト")

    @field_validator("contacts")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [_address(address) for address in value]


class Baseline(_Strict):
    year: int
    file: str = Field(description="前年度の別添（JSON または docx）のパス、または bundled:annex_2025.json")


class Secretariat(_Strict):
    abbr: str = "科技"
    name: str
    email: str
    phone: str | None = None
    sender_name: str | None = Field(default=None, description="メールの差出人名（省略時は name）")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return _address(value)

    @property
    def display_name(self) -> str:
        """Who the ministries see as the sender of every e-mail (From and the closing line)."""
        return " ".join((self.sender_name or self.name).split())


class Smtp(_Strict):
    # No host: no mail server is configured, and every message is saved as an .eml file instead.
    host: str | None = Field(default=None, description="メールサーバーのホスト名（省略時は .eml ファイルに保存）")
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    sender: str
    username_env: str = "ANNEX_SMTP_USERNAME"
    password_env: str = "ANNEX_SMTP_PASSWORD"
    password_block: str | None = Field(default=None, description="Prefect の Secret ブロック名（任意）")
    timeout_seconds: float = Field(default=30, gt=0)
    # A temporary refusal (4xx, connection refused or reset, a timeout before the body is sent) is
    # tried again this many times, this many seconds apart, in the same run; then the next run sends.
    retries: int = Field(default=2, ge=0, le=10)
    retry_delay_seconds: float = Field(default=3, ge=0, le=60)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        return _address(value)


class Reminders(_Strict):
    days_before: list[int] = Field(default_factory=lambda: [7, 3, 1])
    daily_after_deadline: bool = True
    send_time: str = Field(default="09:00", pattern=r"^\d{2}:\d{2}$")
    cc_secretariat_after_deadline: bool = True


class Window(_Strict):
    start: dt.datetime
    end: dt.datetime


class ReconcileSettings(_Strict):
    near_match_threshold: float = Field(default=90, ge=0, le=100)


class Settings(_Strict):
    year: int = Field(ge=2000, le=2100)
    title: str
    baseline: Baseline
    deadline: dt.datetime = Field(description="日時（例: 2026-05-29T17:00:00+09:00）")
    collection_window: Window | None = None
    secretariat: Secretariat
    smtp: Smtp
    reminders: Reminders = Field(default_factory=Reminders)
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings)
    rule_severities: dict[str, Literal["error", "warning", "off"]] = Field(
        default_factory=dict,
        description="規則コード → error / warning / off（既定の重大度を変える場合のみ。off は表記の規則のみ）",
    )

    @field_validator("rule_severities", mode="before")
    @classmethod
    def _off_as_written(cls, value: Any) -> Any:
        # YAML reads a bare off as false: the secretariat wrote off, and means it
        if isinstance(value, dict):
            return {k: "off" if v is False else v for k, v in value.items()}
        return value

    @field_validator("deadline")
    @classmethod
    def _deadline_in_jst(cls, value: dt.datetime) -> dt.datetime:
        # A deadline without a zone is read as Japan time, as the secretariat means it.
        return value.replace(tzinfo=JST) if value.tzinfo is None else value


class MinistryTable(_Strict):
    ministries: list[Ministry] = Field(min_length=1)


GROUP_OF_TABLE = "略称表の区分"  # a group tag naming every office the abbreviation table lists under it


class TagSettings(_Strict):
    pseudo_tags: list[str] = Field(default_factory=list)
    aliases: dict[str, str] = Field(default_factory=dict)
    groups: dict[str, str | list[str]] = Field(default_factory=dict, description=f"タグ → 「{GROUP_OF_TABLE}」または略称のリスト")


class Config(BaseModel):
    """Everything annex reads from configuration, plus where each part came from."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: Settings
    ministry_table: MinistryTable
    tag_settings: TagSettings
    sources: dict[str, str]  # file name → path it was read from
    # notation.yaml as read: a prh-format dictionary, parsed (and its specs run) by annex.lint
    notation: dict[str, Any] = Field(default_factory=dict)
    variants: dict[str, Any] = Field(default_factory=dict)  # variants.yaml: 表記ゆれ terms for annex lint (prh format)

    @property
    def year(self) -> int:
        return self.settings.year

    @property
    def ministries(self) -> list[Ministry]:
        return self.ministry_table.ministries

    @cached_property
    def ministry_by_abbr(self) -> dict[str, Ministry]:
        return {m.abbr: m for m in self.ministries}

    @cached_property
    def ministry_by_slug(self) -> dict[str, Ministry]:
        return {m.slug: m for m in self.ministries}

    def title_for(self, year: int) -> str:
        """The annex's title for a year: config's for its own year, else the same series' name."""
        return self.settings.title if self.settings.year == year else f"統合イノベーション戦略{year} 別添"

    @property
    def secretariat(self) -> Secretariat:
        return self.settings.secretariat

    @cached_property
    def tags(self) -> "TagResolver":
        return TagResolver(
            ministries=[m.abbr for m in self.ministries],
            pseudo_tags=self.tag_settings.pseudo_tags,
            aliases=self.tag_settings.aliases,
            groups=self.tag_groups,
        )

    @cached_property
    def tag_groups(self) -> dict[str, list[str]]:
        """Group tag → the ministries it stands for (「略称表の区分」: the table's offices under it)."""
        return {
            tag: [m.abbr for m in self.ministries if m.parent == tag] if members == GROUP_OF_TABLE else list(members)
            for tag, members in self.tag_settings.groups.items()
        }


def _bundled_text(name: str) -> str:
    return resources.files("annex").joinpath("defaults", name).read_text(encoding="utf-8")


def bundled_path(name: str) -> Path:
    return Path(str(resources.files("annex").joinpath("defaults", name)))


def shipped_template(name: str) -> Path:
    """templates/<name> as shipped in the package (annex.docx, email/): a workspace's own copy wins."""
    return Path(str(resources.files("annex").joinpath("templates", name)))


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates and times as text: pydantic reads them, and an impossible date
    (2026-05-32) becomes an error naming its file and key instead of a YAML constructor's traceback."""


_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(name: str, config_dir: Path | None) -> tuple[Any, str]:
    path = config_dir / name if config_dir else None
    if path is not None and path.exists():
        label = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"設定ファイル {label} を読めません: {exc}") from None
    else:
        label = f"{BUNDLED}{name}"
        text = _bundled_text(name)
    try:
        data = yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader, dates kept as text
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" {mark.line + 1}行目" if mark else ""
        raise ConfigError(f"設定ファイル {label}{where}: YAML として読めません（{getattr(exc, 'problem', exc)}）") from None
    if not isinstance(data, dict):
        raise ConfigError(f"設定ファイル {label}: キーと値の組（YAML のマッピング）が必要です")
    return data, label


def describe_validation_error(exc: ValidationError, label: str) -> str:
    """One Japanese line per problem: file, key path, what is expected."""
    lines = []
    for loc, message in validation_problems(exc):
        key = ".".join(str(p) for p in loc) or "(全体)"
        lines.append(f"{label}: キー「{key}」— {message}")
    return "\n".join(lines)


def load_config(config_dir: Path | None) -> Config:
    """Read config/ (falling back to the bundled file for each missing file) and check it."""
    if config_dir is not None and config_dir.exists() and not config_dir.is_dir():
        raise ConfigError(f"{config_dir} はフォルダではありません（設定フォルダ config/ が必要です）")
    parts: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, model in (("annex.yaml", Settings), ("ministries.yaml", MinistryTable), ("tags.yaml", TagSettings)):
        data, label = _read_yaml(name, config_dir)
        try:
            parts[name] = model.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, label)) from None
        sources[name] = label
    notation, sources["notation.yaml"] = _read_yaml("notation.yaml", config_dir)
    variants, sources["variants.yaml"] = _read_yaml("variants.yaml", config_dir)
    config = Config(
        settings=parts["annex.yaml"],
        ministry_table=parts["ministries.yaml"],
        tag_settings=parts["tags.yaml"],
        sources=sources,
        notation=notation,
        variants=variants,
    )
    _check_consistency(config)
    return config


def _check_consistency(config: Config) -> None:
    label = config.sources["ministries.yaml"]
    for key in ("abbr", "slug"):
        seen: set[str] = set()
        for i, m in enumerate(config.ministries):
            value = getattr(m, key)
            if value in seen:
                raise ConfigError(f"{label}: キー「ministries.{i}.{key}」— 「{value}」が重複しています")
            seen.add(value)
    abbrs = set(config.ministry_by_abbr)
    tags_label = config.sources["tags.yaml"]
    for alias, target in config.tag_settings.aliases.items():
        if target not in abbrs and target not in config.tag_settings.pseudo_tags:
            raise ConfigError(f"{tags_label}: キー「aliases.{alias}」— 変換先「{target}」が略称表にも pseudo_tags にもありません")
    for group, members in config.tag_groups.items():
        unknown = [m for m in members if m not in abbrs]
        if unknown or not members:
            what = f"「{'、'.join(unknown)}」が略称表にありません" if unknown else f"略称表に「{group}」の区分の府省がありません"
            raise ConfigError(f"{tags_label}: キー「groups.{group}」— {what}（「{GROUP_OF_TABLE}」または略称のリストが必要です）")
    for code, severity in config.settings.rule_severities.items():
        if code not in RULES:
            raise ConfigError(
                f"{config.sources['annex.yaml']}: キー「rule_severities.{code}」— そのような規則コードはありません（記入要領の規則一覧を参照）"
            )
        if severity == "off" and RULES[code].group not in ("notation", "annex"):
            raise ConfigError(
                f"{config.sources['annex.yaml']}: キー「rule_severities.{code}」— off にできるのは表記の規則（N-・A-）だけです"
            )
        if code in BLOCKING and severity != "error":
            raise ConfigError(
                f"{config.sources['annex.yaml']}: キー「rule_severities.{code}」— この規則は提出物を読めない・府省が分からない場合のもので、"
                "警告にはできません（警告にすると記載のない提出物を受理してしまいます）"
            )
    if config.secretariat.abbr not in abbrs:
        raise ConfigError(
            f"{config.sources['annex.yaml']}: キー「secretariat.abbr」— 「{config.secretariat.abbr}」が略称表（ministries.yaml）にありません"
        )
