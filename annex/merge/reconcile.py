"""再掲: link every re-listed bullet to its original, and keep the two identical.

``reconcile(annex)`` is pure: it returns a new annex (``relisted_of`` set, re-listings carrying
their original's text and tags) and the decisions that got it there, one list for people to read.

How a re-listing finds its original, first rule that applies:

1. its 再掲元項目ID (``relisted_of``) names a bullet in the annex            → ``exact_id``;
2. its text equals an unmarked bullet's text, compared by ``comparison_key``
   (NFKC without spaces — a key only; the text itself is never rewritten)  → ``exact_text``;
3. a near match (rapidfuzz ratio ≥ the configured threshold)              → ``near_match_proposed``,
   proposed to the secretariat and **not** applied;
4. otherwise                                                              → ``orphan`` (a warning: the
   original may stand in a chapter outside this annex; ``related_ids`` names identical re-listed
   copies, if any).

A link that lands on another re-listing is followed to the root (``chain_resolved``); a loop is
refused (``cycle_refused``): its members keep their text and their 再掲元項目ID as written, so
the refusal is reported again until someone corrects it. The original is the truth: a
linked re-listing whose text or tags differ takes the original's — ``synced`` when the original
was edited since ``previous`` and the re-listing was not, ``drift_reverted`` otherwise. The same
text in two rows with no （再掲） mark on either is reported as ``unmarked_duplicate``.

Re-listed measures (``Row.measure_relisted``) are linked the same way to another row's measure,
for the figures only: measures are fixed for the plan period and never synced.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz, process

from annex.model.annex import Annex, Bullet
from annex.model.tags import comparison_key

DecisionKind = Literal[
    "exact_id",
    "exact_text",
    "chain_resolved",
    "cycle_refused",
    "near_match_proposed",
    "orphan",
    "synced",
    "drift_reverted",
    "unmarked_duplicate",
]
# Every re-listed item gets exactly one decision of these kinds: how (or whether) it was linked.
LINK_KINDS: tuple[DecisionKind, ...] = (
    "exact_id",
    "exact_text",
    "chain_resolved",
    "cycle_refused",
    "near_match_proposed",
    "orphan",
)
KIND_LABELS: dict[str, str] = {
    "exact_id": "再掲元項目IDで一致",
    "exact_text": "同文の元の記載と一致",
    "chain_resolved": "再掲の再掲（元の記載にたどり着いた）",
    "cycle_refused": "再掲の循環（リンクを拒否）",
    "near_match_proposed": "近似一致（事務局に提案・未適用）",
    "orphan": "元の記載がこの別添にない",
    "synced": "元の記載の修正を反映",
    "drift_reverted": "元の記載と食い違い（元の記載に戻した）",
    "unmarked_duplicate": "（再掲）の印のない同文",
}
DEFAULT_THRESHOLD = 90.0


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    item_id: str  # the re-listed bullet (or, for a re-listed measure, its row id)
    original_id: str | None = None
    related_ids: tuple[str, ...] = ()
    reason: str = ""  # Japanese, for the secretariat
    score: float | None = None  # near matches: rapidfuzz ratio, 0–100
    before: str | None = None  # the re-listing's text before the decision, where it changed
    after: str | None = None
    measure: bool = False  # the item is a re-listed measure (row), not a bullet


@dataclass
class ReconcileResult:
    annex: Annex
    decisions: list[Decision] = field(default_factory=list)

    def of_kind(self, *kinds: str) -> list[Decision]:
        return [d for d in self.decisions if d.kind in kinds]

    @property
    def figures(self) -> dict[str, int]:
        return relisted_figures(self.decisions)


def relisted_figures(decisions: list[Decision]) -> dict[str, int]:
    """How the （再掲） items link: exact (by id, by text, through a chain), near, copies only, none."""
    links = [d for d in decisions if d.kind in LINK_KINDS]
    count = Counter(d.kind for d in links)
    copies_only = sum(1 for d in links if d.kind == "orphan" and d.related_ids)
    return {
        "relisted": len(links),
        "measures": sum(1 for d in links if d.measure),
        "exact": count["exact_id"] + count["exact_text"] + count["chain_resolved"],
        "exact_id": count["exact_id"],
        "exact_text": count["exact_text"],
        "chain_resolved": count["chain_resolved"],
        "near": count["near_match_proposed"],
        "copies_only": copies_only,
        "no_original": count["orphan"] - copies_only,
        "cycle_refused": count["cycle_refused"],
        "synced": sum(1 for d in decisions if d.kind == "synced"),
        "drift_reverted": sum(1 for d in decisions if d.kind == "drift_reverted"),
        "unmarked_duplicate": sum(1 for d in decisions if d.kind == "unmarked_duplicate"),
    }


class _NearKeys:
    """Keys, in order, to find a near match among: rapidfuzz's extractOne (the first best match)
    over only those whose length can reach the threshold at all. fuzz.ratio is 100 × (1 − indel
    distance / total length) and the distance is at least the difference in length, so the others
    can never score enough; leaving them out changes no result, but each query at M compared
    13,000 measures one by one (15 s a reconcile). Keys are searched per length, and the best of
    each length compared: the higher score, then the earlier key — extractOne's own order."""

    def __init__(self, keys: list[str]) -> None:
        by_length: dict[int, tuple[list[str], list[int]]] = {}
        for i, key in enumerate(keys):
            same, where = by_length.setdefault(len(key), ([], []))
            same.append(key)
            where.append(i)
        self.by_length = by_length

    def best(self, key: str, threshold: float) -> tuple[str, float] | None:
        n = len(key)
        found: tuple[float, int, str] | None = None  # (score, position, key)
        for m, (same, where) in self.by_length.items():
            if not _may_reach(n, m, threshold):
                continue
            match = process.extractOne(key, same, scorer=fuzz.ratio, score_cutoff=threshold)
            if match is not None:
                candidate = (match[1], where[match[2]], match[0])
                if found is None or candidate[0] > found[0] or (candidate[0] == found[0] and candidate[1] < found[1]):
                    found = candidate
        return None if found is None else (found[2], found[0])


def _may_reach(n: int, m: int, threshold: float) -> bool:
    """Whether texts of n and m characters may have a fuzz.ratio of threshold or more (a margin
    for rounding: a pair kept in vain is only compared)."""
    total = n + m
    return total == 0 or 100 * (total - abs(n - m)) >= (threshold - 1e-6) * total


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def bullet_versions(annex: Annex) -> dict[str, tuple[str, list[str]]]:
    """Each bullet's (text, tags) by id: all ``reconcile`` needs to know of a ``previous`` annex."""
    return {b.id: (b.text, list(b.tags)) for _, _, b in annex.bullets() if b.id}


def reconcile(
    annex: Annex,
    *,
    previous: Annex | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    in_place: bool = False,
    before: dict[str, tuple[str, list[str]]] | None = None,
    measures: bool = True,
) -> ReconcileResult:
    """Link re-listings to their originals and sync them; ``previous`` tells an edited original
    (``synced``) from a drifted re-listing (``drift_reverted``), or ``before``, its
    bullet_versions, where the caller keeps no copy of it. ``in_place``: change ``annex``
    itself instead of a copy (for a caller that owns it and uses only the result). ``measures``:
    whether to link re-listed measures too (a caller that reads only the bullets' links need not)."""
    out = annex if in_place else annex.deep_copy()
    decisions: list[Decision] = []
    located = list(out.bullets())
    index: dict[str, Bullet] = {b.id: b for _, _, b in located if b.id}
    row_of: dict[str, str] = {b.id: r.id for r, _, b in located if b.id}

    originals_by_key: dict[str, list[str]] = defaultdict(list)
    relisted_by_key: dict[str, list[str]] = defaultdict(list)
    for _, _, b in located:
        if b.id:
            (relisted_by_key if b.relisted else originals_by_key)[comparison_key(b.text)].append(b.id)
    near_keys = _NearKeys(list(originals_by_key))

    # -- 1. link each re-listing to a candidate (by id, then by text), or propose / report --------
    links: dict[str, tuple[str, str, str]] = {}  # re-listing id → (target id, kind, reason)
    unlinked: list[Decision] = []
    for _, _, b in located:
        if not (b.relisted and b.id):
            continue
        note = ""
        if b.relisted_of and b.relisted_of in index:
            links[b.id] = (b.relisted_of, "exact_id", f"再掲元項目ID {b.relisted_of} で元の記載と対応付けました。")
            continue
        if b.relisted_of:
            note = f"再掲元項目ID {b.relisted_of} の記載はもうありません（削除されたか、IDの誤り）。"
            b.relisted_of = None
        key = comparison_key(b.text)
        found = [i for i in originals_by_key.get(key, []) if i != b.id]
        if found:
            extra = (
                f"同文の記載がほかに {len(found) - 1} 件あり（{', '.join(found[1:])}）、文書順で最初のものを元としました。"
                if len(found) > 1
                else ""
            )
            links[b.id] = (
                found[0],
                "exact_text",
                note + f"同じ文（表記の比較キーが一致）の記載 {found[0]} を元としました。" + extra,
            )
            continue
        copies = tuple(i for i in relisted_by_key.get(key, []) if i != b.id)
        match = near_keys.best(key, threshold)
        if match:
            candidate = originals_by_key[match[0]][0]
            unlinked.append(
                Decision(
                    "near_match_proposed",
                    b.id,
                    candidate,
                    copies,
                    note
                    + f"近い文の記載 {candidate}（類似度 {match[1]:.1f}）があります。元の記載であれば、再掲元項目IDに {candidate} を記入してください（自動では対応付けていません）。",
                    score=round(float(match[1]), 1),
                )
            )
        else:
            where = f"同文の再掲がほかに {len(copies)} 件（{', '.join(copies)}）ありますが、" if copies else ""
            unlinked.append(
                Decision(
                    "orphan",
                    b.id,
                    None,
                    copies,
                    note + where + "元の記載がこの別添にありません（別の章にある場合は問題ありません）。",
                )
            )

    # -- 2. follow chains to the root; refuse cycles --------------------------------------------
    for item in list(links):
        path = [item]
        target = links[item][0]
        while target in links and target not in path:
            path.append(target)
            target = links[target][0]
        bullet = index[item]
        if target in path:  # a loop: this item is in it, or leads into it
            loop = path[path.index(target) :]  # relisted_of is left as written, for people to fix
            decisions.append(
                Decision(
                    "cycle_refused",
                    item,
                    None,
                    tuple(loop),
                    f"再掲元をたどると循環します（{' → '.join(loop + [target])}）。対応付けず、記載はそのままです。再掲元項目IDを直してください。",
                )
            )
            continue
        bullet.relisted_of = target
        if len(path) > 1:
            decisions.append(
                Decision(
                    "chain_resolved",
                    item,
                    target,
                    tuple(path[1:]),
                    f"再掲の再掲です（{' → '.join(path + [target])}）。大元の記載 {target} に対応付けました。",
                )
            )
        else:
            _, kind, reason = links[item]
            decisions.append(Decision(kind, item, target, (), reason))  # type: ignore[arg-type]
    decisions.extend(unlinked)

    # -- 3. the original is the truth ----------------------------------------------------------
    versions = before if before is not None else bullet_versions(previous) if previous is not None else {}
    for d in [d for d in decisions if d.kind in ("exact_id", "exact_text", "chain_resolved")]:
        relisting, original = index[d.item_id], index[d.original_id]  # type: ignore[index]
        if relisting.text == original.text and relisting.tags == original.tags:
            continue
        was_o = versions.get(original.id)  # type: ignore[arg-type]
        was_r = versions.get(relisting.id)  # type: ignore[arg-type]
        original_edited = was_o is not None and was_o != (original.text, original.tags)
        relisting_kept = was_r is not None and was_r == (relisting.text, relisting.tags)
        what = "・".join(
            x
            for x, differs in (("文", relisting.text != original.text), ("担当府省", relisting.tags != original.tags))
            if differs
        )
        if original_edited and relisting_kept:
            kind: DecisionKind = "synced"
            reason = f"元の記載 {original.id} が修正されたため、再掲の{what}を元の記載に合わせました。"
        else:
            kind = "drift_reverted"
            reason = f"再掲の{what}が元の記載 {original.id} と食い違っていたため、元の記載に戻しました（元の記載を修正する場合は元の記載の行で修正してください）。"
        before = relisting.rendered()
        relisting.text = original.text
        relisting.tags = list(original.tags)
        if original.provenance is not None:
            relisting.provenance = original.provenance.model_copy()
        decisions.append(Decision(kind, relisting.id, original.id, (), reason, before=before, after=relisting.rendered()))  # type: ignore[arg-type]

    # -- 4. the same text in two rows, no （再掲） on any copy ----------------------------------
    for ids in originals_by_key.values():
        rows = dict.fromkeys(row_of[i] for i in ids)
        if len(rows) > 1:
            decisions.append(
                Decision(
                    "unmarked_duplicate",
                    ids[0],
                    None,
                    tuple(ids[1:]),
                    f"同じ文が {len(rows)} つの取組（{', '.join(rows)}）に（再掲）の印なしで載っています（{', '.join(ids)}）。再掲であれば「再掲」の印と再掲元項目IDを付けてください。",
                )
            )

    if measures:
        decisions.extend(_measures(out, threshold))
    return ReconcileResult(out, decisions)


def _measures(annex: Annex, threshold: float) -> list[Decision]:
    rows = [row for _, _, row in annex.rows()]
    originals = {}
    for row in rows:
        if not row.measure_relisted:
            originals.setdefault(comparison_key(row.measure), row.id)
    decisions = []
    near_keys = _NearKeys(list(originals))
    for row in rows:
        if not row.measure_relisted:
            continue
        key = comparison_key(row.measure)
        if key in originals:
            decisions.append(
                Decision(
                    "exact_text", row.id, originals[key], (), f"取組の文が行 {originals[key]} の取組と一致します。", measure=True
                )
            )
            continue
        match = near_keys.best(key, threshold)
        if match:
            decisions.append(
                Decision(
                    "near_match_proposed",
                    row.id,
                    originals[match[0]],
                    (),
                    f"取組の文が行 {originals[match[0]]} の取組に近い文です（類似度 {match[1]:.1f}）。",
                    score=round(float(match[1]), 1),
                    measure=True,
                )
            )
        else:
            decisions.append(
                Decision(
                    "orphan",
                    row.id,
                    None,
                    (),
                    "再掲の取組の元がこの別添にありません（別の章にある場合は問題ありません）。",
                    measure=True,
                )
            )
    return decisions
