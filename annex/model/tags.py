"""担当府省タグ: which tags are valid, what an alias stands for, and the nearest valid spelling."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz, process

TagKind = Literal["ministry", "pseudo", "alias", "group", "unknown"]


def comparison_key(text: str) -> str:
    """NFKC, no spaces: a key for comparing spellings, never a rewrite of the text."""
    return "".join(unicodedata.normalize("NFKC", text).split())


@dataclass(frozen=True)
class TagResolution:
    tag: str
    kind: TagKind
    canonical: str | None  # the table's spelling (or the pseudo-tag), None if unknown
    suggestion: str | None  # for aliases and unknown tags: the spelling to use


@dataclass
class TagResolver:
    ministries: list[str]
    pseudo_tags: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)  # a label used as a tag → the ministries it names

    def __post_init__(self) -> None:
        self._valid = list(self.ministries) + list(self.pseudo_tags)
        self._valid_set = frozenset(self._valid)  # spelled() runs per tag of every submitted line
        self._by_key = {comparison_key(t): t for t in self._valid}
        self._order = {abbr: i for i, abbr in enumerate(self.ministries)}

    def resolve(self, tag: str) -> TagResolution:
        # a set, not the list: it runs per tag of every bullet, and a survey's table has thousands of bodies
        if tag in self._order:
            return TagResolution(tag, "ministry", tag, None)
        if tag in self._valid_set:  # not a ministry: a pseudo-tag
            return TagResolution(tag, "pseudo", tag, None)
        if tag in self.aliases:
            target = self.aliases[tag]
            return TagResolution(tag, "alias", target, target)
        if tag in self.groups:
            return TagResolution(tag, "group", tag, None)
        return TagResolution(tag, "unknown", None, self.suggest(tag))

    def spelled(self, tags: list[str]) -> list[str]:
        """tags in the abbreviation table's spelling: each configured alias replaced by its target."""
        return [self.aliases.get(t, t) if t not in self._valid_set else t for t in tags]

    def suggest(self, tag: str) -> str | None:
        """The valid tag this one most likely meant (width/space variants first, then fuzzy)."""
        key = comparison_key(tag)
        if key in self._by_key:
            return self._by_key[key]
        for alias, target in self.aliases.items():
            if comparison_key(alias) == key:
                return target
        match = process.extractOne(key, list(self._by_key), scorer=fuzz.ratio, score_cutoff=50)
        return self._by_key[match[0]] if match else None

    def ministries_of(self, tags: list[str]) -> list[str]:
        """The ministries (table abbreviations) named by tags, aliases resolved, pseudo-tags dropped."""
        found: list[str] = []
        for tag in tags:
            resolution = self.resolve(tag)
            named = self.groups[tag] if resolution.kind == "group" else [resolution.canonical]
            found += [abbr for abbr in named if abbr in self._order and abbr not in found]
        return found

    def unknown(self, tags: list[str]) -> list[str]:
        """The tags that are neither in the table nor configured (alias, pseudo-tag, group)."""
        return [t for t in tags if self.resolve(t).kind == "unknown"]

    def sort_key(self, abbr: str) -> tuple[int, str]:
        """Abbreviation-table order; names outside the table after it, alphabetically."""
        return self._order.get(abbr, len(self._order)), abbr

    def table_order(self, abbrs: list[str]) -> list[str]:
        return sorted(abbrs, key=self.sort_key)
