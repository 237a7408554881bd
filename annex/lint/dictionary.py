"""prh-format dictionaries (https://github.com/prh/prh): `version: 1`, `rules:` of
{expected, pattern | patterns (a string or "/regex/"), specs: [{from, to}], prh: a note}.

As in prh, an entry with only `expected` matches its case- and width-insensitive forms, and the
specs are tests run at load time: a dictionary whose spec fails is refused with the entry named,
so an entry the secretariat adds cannot silently hit the wrong words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from annex.lint.text import Hit, to_full, to_half
from annex.model.errors import InputError


@dataclass(frozen=True)
class Entry:
    expected: str
    patterns: tuple[re.Pattern[str], ...]
    note: str = ""

    def replace(self, text: str) -> str:
        for pattern in self.patterns:
            text = pattern.sub(lambda m: _expand(m, self.expected), text)
        return text

    def hits(self, text: str) -> list[Hit]:
        out = []
        for pattern in self.patterns:
            for m in pattern.finditer(text):
                fixed = _expand(m, self.expected)
                if fixed != m.group(0):
                    out.append(Hit("N-DICTIONARY", m.start(), m.end(), m.group(0), fixed, self.note))
        return out


def _expand(match: re.Match[str], expected: str) -> str:
    return re.sub(r"\$(\d)", lambda g: match.group(int(g.group(1))) or "", expected)


def _width_insensitive(word: str) -> str:
    """prh's pattern for a bare `expected`: each letter in either case and either width."""
    parts = []
    for c in word:
        half = to_half(c)
        forms = {half, half.upper(), half.lower(), to_full(half), to_full(half.upper()), to_full(half.lower())}
        parts.append("[" + "".join(re.escape(f) for f in sorted(forms)) + "]" if len(forms) > 1 else re.escape(c))
    return "".join(parts)


def _compile(pattern: str) -> re.Pattern[str]:
    if len(pattern) > 2 and pattern.startswith("/") and pattern.rstrip("gimu").endswith("/"):
        return re.compile(pattern[1 : len(pattern.rstrip("gimu")) - 1])
    return re.compile(re.escape(pattern))


def parse(data: object, source: str) -> list[Entry]:
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise InputError(f"{source}: prh 形式の辞書ではありません（「rules:」の一覧がありません）")
    entries = []
    for n, rule in enumerate(data["rules"], start=1):
        if not isinstance(rule, dict) or not isinstance(rule.get("expected"), str):
            raise InputError(f"{source}: {n}番目の規則に「expected」がありません")
        raw = rule.get("patterns", rule.get("pattern"))
        raws = [raw] if isinstance(raw, str) else list(raw or [])
        try:
            patterns = tuple(_compile(p) for p in raws) or (re.compile(_width_insensitive(rule["expected"])),)
        except re.error as exc:
            raise InputError(f"{source}: 規則「{rule['expected']}」の pattern が正規表現として読めません（{exc}）") from exc
        entry = Entry(rule["expected"], patterns, str(rule.get("prh") or ""))
        for spec in rule.get("specs") or []:
            got = entry.replace(str(spec["from"]))
            if got != str(spec["to"]):
                raise InputError(
                    f"{source}: 規則「{rule['expected']}」の specs が合いません（「{spec['from']}」→「{got}」、期待「{spec['to']}」）"
                )
        entries.append(entry)
    return entries


def load(path: Path) -> list[Entry]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: YAML として読めません（{exc}）") from exc
    return parse(data, str(path))


DEFAULT = Path(__file__).resolve().parents[1] / "defaults" / "notation.yaml"


def default_entries() -> list[Entry]:
    return load(DEFAULT)
