"""annex-redline.docx: this year's annex as Word tracked changes against last year's.

``redline_docx(old, new, template, out, authors)`` takes the two render contexts (build_context of
master(Y-1) and of master(Y)) and writes one document in which every difference is a real
revision (w:ins / w:del, author = the ministry that made it, date = its submission), so that
the secretariat accepts or rejects each change in Word: accepting all gives this year's
annex.docx, rejecting all gives last year's.

How the two are lined up — by the ids the annex already carries, never by guessing:

* blocks (chapter, section, labels, 目標・指標 items) by their kind and text; an edited item is
  one paragraph with changes inside;
* rows (取組) of a section by row id; inside a row, its sub-rows (table rows) by the bullet ids
  they share — a sub-row only one year has is a whole table row inserted or deleted
  (w:trPr/w:ins, w:del); the first table row of a 取組 is always kept, because it holds the
  vertically merged 取組 cell;
* inside a cell, bullets by id, sub-headings and 「－」 by their text: a bullet only one year has
  is a whole paragraph inserted or deleted, its paragraph mark too (w:pPr/w:rPr/w:ins, w:del);
  a bullet in both whose printed form differs is diffed inside the paragraph.

The diff inside a paragraph works on tokens suited to Japanese, which has no spaces between
words: runs of one script (a kanji compound, okurigana, a katakana word, a number, a Latin word)
and every other character alone; a footnote mark, （再掲） and each tag are tokens of their own.
Word's own compare changes whole words; a per-character diff of a rewritten sentence would keep
stray common kana (の, を) and interleave insertions and deletions unreadably. difflib's
SequenceMatcher (standard library) aligns the tokens.

Paragraph marks follow one rule (the cell's last mark is the cell's end and is never tracked):
the mark after a paragraph exists in a year if that paragraph and a later one exist in that
year; a mark that would exist in neither year cannot be written, so that paragraph joins the
next one (a bullet deleted at the end of a cell, replaced by a new one, share one paragraph).
Footnote marks show the published numbers (custom marks), so that they read right whichever
changes are accepted. A tracked mark is one run inside the w:ins / w:del: the reference
(w:footnoteReference w:customMarkFollows="1") and its number in the same run, the number as
w:delText in a deleted one (ECMA-376: a run of a w:del holds w:delText, not w:t; the reference is
run content like any other). Word and LibreOffice 7.4 both read it as tracked: LibreOffice keeps an
inserted mark on accepting and drops it on rejecting, and the reverse for a deleted one (tested).
Forms LibreOffice 7.4 does not honour: the number in a run of its own after the reference (the
custom mark is lost: the reference becomes auto-numbered, the number plain text), and w:ins /
w:del in a run's w:rPr (not the standard's; ignored, the mark is kept either way).
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from annex.model.annex import RELISTED_MARK
from annex.render.context import MAX_SUBROWS_PER_TABLE
from annex.render.ooxml import ITEM_BULLET, SUBHEADING_KEYS, TABLE_BULLET
from annex.render.writer import TABLE_SHARES, _Writer, render_docx

REDLINE_TITLE_SUFFIX = "（前年度からの変更履歴）"


@dataclass(frozen=True)
class Author:
    """Who made a change, as Word shows it, and when (ISO 8601)."""

    name: str
    date: str


# ----------------------------------------------------------------------------------------------
# Tokens
# ----------------------------------------------------------------------------------------------
def _script(ch: str) -> str:
    if ch.isdigit() or ch in "，,．.":
        return "digit"
    name = unicodedata.name(ch, "")
    if name.startswith("CJK UNIFIED") or ch in "々〆ヶ":
        return "kanji"
    if name.startswith("HIRAGANA"):
        return "hiragana"
    if name.startswith(("KATAKANA", "HALFWIDTH KATAKANA")) or ch == "ー":
        return "katakana"
    if ch.isalpha():
        return "latin"
    return ch  # punctuation, brackets, spaces: one token each


def tokens(text: str) -> list[str]:
    """Japanese text → tokens: runs of one script, every other character alone."""
    out: list[str] = []
    previous = None
    for ch in text:
        kind = _script(ch)
        if out and kind == previous and len(kind) > 1:
            out[-1] += ch
        else:
            out.append(ch)
        previous = kind
    return out


@dataclass(frozen=True)
class Token:
    text: str  # "" for a footnote mark
    style: str | None = None
    cite: dict | None = None  # a footnote mark

    @property
    def key(self) -> tuple:
        return (self.text, self.style, self.cite["number"] if self.cite else None)


def _text_tokens(text: str, cites: list[dict], style: str | None = None) -> list[Token]:
    out: list[Token] = []
    done = 0
    for cite in sorted(cites, key=lambda c: c["offset"]):
        offset = min(max(cite["offset"], done), len(text))
        out += [Token(t, style) for t in tokens(text[done:offset])]
        out.append(Token("", "footnote", cite))
        done = offset
    out += [Token(t, style) for t in tokens(text[done:])]
    return out


def bullet_tokens(item: dict) -> list[Token]:
    out = [Token(TABLE_BULLET)] + _text_tokens(item["text"], item["footnotes"])
    if item["relisted"]:
        out.append(Token(RELISTED_MARK, "relisted"))
    if item["tags"]:
        out += [Token(t, "tags") for t in tokens(f"【{'、'.join(item['tags'])}】")]
    return out


# ----------------------------------------------------------------------------------------------
# The writer
# ----------------------------------------------------------------------------------------------
@dataclass
class _Piece:
    """A paragraph's content in one state: equal, ins, del, or edit (old → new)."""

    state: str
    new: list[Token] | None
    old: list[Token] | None = None
    who: Author | None = None
    style: str = "bullet"
    lead: str = ""  # bookmark start, before the runs
    tail: str = ""  # bookmark end

    @property
    def in_old(self) -> bool:
        return self.state != "ins"

    @property
    def in_new(self) -> bool:
        return self.state != "del"


class _RedlineWriter(_Writer):
    def __init__(self, *args, default: Author, old_notes: dict[int, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.default = default
        self.old_notes = old_notes
        self.revision = 0
        self.note_states: list[tuple[str, Author]] = []  # per footnote: the state of its reference

    # -- revision marks ----------------------------------------------------------------------
    def _rev(self, tag: str, who: Author) -> str:
        self.revision += 1
        return f'<w:{tag} w:id="{self.revision + 100000}" w:author="{_attr(who.name)}" w:date="{who.date}"'

    def wrap(self, state: str, runs: str, who: Author) -> str:
        if not runs or state == "equal":
            return runs
        if state == "del":
            runs = runs.replace("<w:t ", "<w:delText ").replace("<w:t>", "<w:delText>").replace("</w:t>", "</w:delText>")
            return f"{self._rev('del', who)}>{runs}</w:del>"
        return f"{self._rev('ins', who)}>{runs}</w:ins>"

    def token_runs(self, toks: list[Token], state: str, who: Author, *, old: bool = False) -> str:
        out, i = [], 0
        while i < len(toks):
            tok = toks[i]
            if tok.cite is not None:
                cite = tok.cite
                first = len(self.footnotes)
                runs = self.footnote_runs([cite])
                if len(self.footnotes) > first:  # a real footnote: its body from the year it belongs to
                    xml_id, number, _ = self.footnotes[-1]
                    self.note_states.append((state, who))
                    if old:
                        self.footnotes[-1] = (xml_id, number, self.old_notes.get(number, ""))
                out.append(self.wrap(state, runs, who))
                i += 1
                continue
            j = i
            while j < len(toks) and toks[j].cite is None and toks[j].style == tok.style:
                j += 1
            out.append(self.wrap(state, self.run("".join(t.text for t in toks[i:j]), tok.style), who))
            i = j
        return "".join(out)

    def piece_runs(self, piece: _Piece) -> str:
        who = piece.who or self.default
        if piece.state == "edit":
            matcher = difflib.SequenceMatcher(None, [t.key for t in piece.old], [t.key for t in piece.new], autojunk=False)
            out = []
            for op, i1, i2, j1, j2 in matcher.get_opcodes():
                if op == "equal":
                    out.append(self.token_runs(piece.new[j1:j2], "equal", who))
                    continue
                if i2 > i1:
                    out.append(self.token_runs(piece.old[i1:i2], "del", who, old=True))
                if j2 > j1:
                    out.append(self.token_runs(piece.new[j1:j2], "ins", who))
            return "".join(out)
        toks = piece.new if piece.state != "del" else piece.old
        return self.token_runs(toks, piece.state, who, old=piece.state == "del")

    def paragraphs(self, paragraphs: list[list[_Piece]], *, in_cell: bool) -> str:
        """Paragraphs (each a list of pieces) with their marks tracked by the rule of the module doc."""
        paras = [p for p in paragraphs if p]
        changed = True
        while changed:
            changed = False
            for i in range(len(paras) - 1):
                in_old = any(x.in_old for x in paras[i]) and any(x.in_old for p in paras[i + 1 :] for x in p)
                in_new = any(x.in_new for x in paras[i]) and any(x.in_new for p in paras[i + 1 :] for x in p)
                if not in_old and not in_new:
                    paras[i + 1] = paras[i] + paras[i + 1]
                    del paras[i]
                    changed = True
                    break
        if not paras:
            return self.para("bullet", "")
        out = []
        for i, pieces in enumerate(paras):
            mark = ""
            if i < len(paras) - 1 or not in_cell:
                later = paras[i + 1 :]
                in_old = any(x.in_old for x in pieces) and (
                    not in_cell and i == len(paras) - 1 or any(x.in_old for p in later for x in p)
                )
                in_new = any(x.in_new for x in pieces) and (
                    not in_cell and i == len(paras) - 1 or any(x.in_new for p in later for x in p)
                )
                # the mark is tracked for the change that needs it: this paragraph's, else the next one's
                changed = [x for q in paras[i:] for x in q if x.state != "equal"]
                who = next((x.who for x in changed if x.who), None) or self.default
                if in_old and not in_new:
                    mark = f"<w:rPr>{self._rev('del', who)}/></w:rPr>"
                elif in_new and not in_old:
                    mark = f"<w:rPr>{self._rev('ins', who)}/></w:rPr>"
            style = next((x.style for x in pieces if x.state != "del"), pieces[-1].style)
            inner = "".join(x.lead + self.piece_runs(x) + x.tail for x in pieces)
            out.append(f'<w:p><w:pPr><w:pStyle w:val="{self.styles[style]}"/>{mark}</w:pPr>{inner}</w:p>')
        return "".join(out)

    # -- cells and tables --------------------------------------------------------------------
    def item_tokens(self, item: dict) -> list[Token]:
        if item["kind"] == "bullet":
            return bullet_tokens(item)
        return [Token(t) for t in tokens(item["text"])]

    def item_style(self, item: dict) -> str:
        if item["kind"] == "heading":
            return SUBHEADING_KEYS[min(item["level"], 3) - 1]
        return "empty" if item["kind"] == "empty" else "bullet"

    def item_piece(self, state: str, old: dict | None, new: dict | None, authors: dict[str, Author]) -> _Piece:
        item = new if new is not None else old
        start, end = self.bookmark("b", item.get("id")) if item["kind"] == "bullet" else ("", "")
        return _Piece(
            state,
            self.item_tokens(new) if new is not None else None,
            self.item_tokens(old) if old is not None else None,
            authors.get(item.get("id") or ""),
            self.item_style(item),
            start,
            end,
        )

    def cell(self, old_items: list[dict], new_items: list[dict], authors: dict[str, Author]) -> str:
        matcher = difflib.SequenceMatcher(
            None, [_item_key(x) for x in old_items], [_item_key(x) for x in new_items], autojunk=False
        )
        paras: list[list[_Piece]] = []
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "equal":
                for old, new in zip(old_items[i1:i2], new_items[j1:j2]):
                    same = self.item_tokens(old) == self.item_tokens(new)
                    paras.append([self.item_piece("equal" if same else "edit", old, new, authors)])
                continue
            paras += [[self.item_piece("del", old, None, authors)] for old in old_items[i1:i2]]
            paras += [[self.item_piece("ins", None, new, authors)] for new in new_items[j1:j2]]
        return self.paragraphs(paras, in_cell=True)

    def measure_pieces(self, old: dict | None, new: dict | None) -> list[list[_Piece]]:
        def paragraph_tokens(m: dict) -> list[list[Token]]:
            out = []
            for i, text in enumerate(m["paragraphs"] or [""]):
                toks = [Token(m["marker"], "mark")] if i == 0 and m["marker"] else []
                toks += _text_tokens(text, m["footnotes"][i] if m.get("footnotes") else [])
                if i == len(m["paragraphs"]) - 1:
                    if m["relisted"]:
                        toks.append(Token(RELISTED_MARK, "relisted"))
                    if m["tags"]:
                        toks += [Token(t, "tags") for t in tokens(f"【{'、'.join(m['tags'])}】")]
                out.append(toks)
            return out

        style = "narrative" if (new or old)["kind"] == "narrative" else "measure"
        olds = paragraph_tokens(old["measure"]) if old else []
        news = paragraph_tokens(new["measure"]) if new else []
        paras = []
        for o, n in zip_longest(olds, news):
            state = "del" if n is None else "ins" if o is None else "equal" if o == n else "edit"
            paras.append([_Piece(state, n, o, None, style)])
        start, end = self.bookmark("r", (new or old)["id"])
        paras[0][0].lead = start
        paras[-1][-1].tail = end
        return paras

    def redline_table(self, rows: list[tuple[dict | None, dict | None]], authors: dict[str, Author]) -> None:
        widths = self._widths(TABLE_SHARES)
        self.tables += 1
        out = [self._table_open("table", widths), self._header_row(self.column_labels, widths)]
        inner_border = '<w:tcBorders><w:top w:val="dotted" w:sz="4" w:space="0" w:color="auto"/></w:tcBorders>'
        for old, new in rows:
            row_state = "del" if new is None else "ins" if old is None else "equal"
            who = _row_author(old, new, authors) or self.default
            for k, (state, o, n) in enumerate(_align_subrows(old, new)):
                if row_state != "equal":
                    state = row_state
                if k == 0:
                    measure = self._tc(
                        widths[0], self.paragraphs(self.measure_pieces(old, new), in_cell=True), '<w:vMerge w:val="restart"/>'
                    )
                else:
                    measure = self._tc(widths[0], self.para("measure", ""), "<w:vMerge/>")
                extra = inner_border if k else ""
                cells = []
                for column, width in (("status", widths[1]), ("policy", widths[2])):
                    cells.append(self._tc(width, self.cell(o[column] if o else [], n[column] if n else [], authors), extra))
                tr_pr = ""
                if state in ("ins", "del"):
                    sub_who = _subrow_author(o if state == "del" else n, authors) or who
                    tr_pr += f"{self._rev(state, sub_who)}/>"
                out.append(f"<w:tr>{f'<w:trPr>{tr_pr}</w:trPr>' if tr_pr else ''}{measure}{''.join(cells)}</w:tr>")
        out.append("</w:tbl>")
        self.parts.append("".join(out))

    # -- blocks outside the tables -----------------------------------------------------------
    def block_piece(self, state: str, old: dict | None, new: dict | None) -> _Piece:
        block = new or old
        kind = block["type"]
        style = kind  # chapter, section, group, label, prose, item: the writer's style keys

        def toks(b: dict | None) -> list[Token] | None:
            if b is None:
                return None
            lead = [Token(ITEM_BULLET)] if b["type"] == "item" else []
            return lead + _text_tokens(b["text"], b.get("footnotes") or [])

        return _Piece(state, toks(new), toks(old), None, style if style in self.styles else "prose")

    def footnote_xml(self) -> list[str]:
        """Footnote bodies; a footnote whose text changed between the years shows the change."""
        ref, text_style = self.styles["footnote_ref"], self.styles["footnote_text"]
        out = []
        for (xml_id, number, text), (state, who) in zip(self.footnotes, self.note_states):
            old_text = self.old_notes.get(number)
            new_text = self.note_texts.get(number)
            lead = f'<w:r><w:rPr><w:rStyle w:val="{ref}"/></w:rPr><w:t>{number}</w:t></w:r><w:r><w:t xml:space="preserve"> </w:t></w:r>'
            if state == "equal" and old_text is not None and new_text is not None and old_text != new_text:
                body = self.piece_runs(
                    _Piece("edit", [Token(t) for t in tokens(new_text)], [Token(t) for t in tokens(old_text)], who)
                )
            else:
                body = self.run(text) if text else ""
            out.append(
                f'<w:footnote w:id="{xml_id}"><w:p><w:pPr><w:pStyle w:val="{text_style}"/></w:pPr>{lead}{body}</w:p></w:footnote>'
            )
        return out


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _item_key(item: dict) -> tuple:
    if item["kind"] == "bullet":
        return ("b", item["id"])
    return (item["kind"], item.get("level"), item["text"])


def _subrow_ids(subrow: dict) -> set[str]:
    return {x["id"] for items in subrow.values() for x in items if x["kind"] == "bullet" and x["id"]}


def _align_subrows(old: dict | None, new: dict | None) -> list[tuple[str, dict | None, dict | None]]:
    """The table rows of one 取組: (equal / ins / del, old sub-row, new sub-row), matched by the
    bullet ids they share (or, for a row of sub-headings only, by its text); the first is always
    a kept row, since it carries the merged 取組 cell."""
    olds = old["subrows"] if old else []
    news = new["subrows"] if new else []
    if not olds or not news:
        return [("del", o, None) for o in olds] + [("ins", None, n) for n in news]
    old_keys: list = []
    for i, sub in enumerate(olds):
        old_keys.append(("s", i) if _subrow_ids(sub) else ("h", repr(sub)))
    new_keys: list = []
    for j, sub in enumerate(news):
        ids = _subrow_ids(sub)
        overlap = [(len(ids & _subrow_ids(o)), -i) for i, o in enumerate(olds)]
        best = max(overlap)
        if ids and best[0] > 0:
            new_keys.append(("s", -best[1]))
        elif not ids:
            new_keys.append(("h", repr(sub)))
        else:
            new_keys.append(("n", j))
    out: list[tuple[str, dict | None, dict | None]] = []
    matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out += [("equal", o, n) for o, n in zip(olds[i1:i2], news[j1:j2])]
        else:
            out += [("del", o, None) for o in olds[i1:i2]] + [("ins", None, n) for n in news[j1:j2]]
    if out[0][0] != "equal":  # keep the first table row: pair the first old and new sub-rows
        first_old = next(k for k, x in enumerate(out) if x[1] is not None)
        first_new = next(k for k, x in enumerate(out) if x[2] is not None)
        pair = ("equal", out[first_old][1], out[first_new][2])
        out = [pair] + [x for k, x in enumerate(out) if k not in (first_old, first_new)]
    return out


def _row_author(old: dict | None, new: dict | None, authors: dict[str, Author]) -> Author | None:
    for row in (new, old):
        for sub in (row or {}).get("subrows", []):
            found = _subrow_author(sub, authors)
            if found:
                return found
    return None


def _subrow_author(subrow: dict | None, authors: dict[str, Author]) -> Author | None:
    for items in (subrow or {}).values():
        for x in items:
            if x.get("id") in authors:
                return authors[x["id"]]
    return None


# ----------------------------------------------------------------------------------------------
# Lining up the two contexts
# ----------------------------------------------------------------------------------------------
def _units(context: dict) -> list[dict]:
    """Blocks, with the tables of a section joined into one list of rows."""
    out: list[dict] = []
    for block in context["blocks"]:
        if block["type"] == "table":
            if out and out[-1]["type"] == "rows":
                out[-1]["rows"] += block["rows"]
            else:
                out.append({"type": "rows", "rows": list(block["rows"])})
        elif block["type"] != "review":
            out.append(block)
    return out


def _unit_key(unit: dict, index: int) -> tuple:
    if unit["type"] == "rows":
        return ("rows", unit["rows"][0]["id"] if unit["rows"] else index)
    if unit["type"] in ("prose", "item"):
        return (unit["type"], unit.get("part"), unit["text"])
    return (unit["type"], unit.get("part"), unit.get("no"), unit["text"])


def _pair_rows(old_rows: list[dict], new_rows: list[dict]) -> list[tuple[dict | None, dict | None]]:
    matcher = difflib.SequenceMatcher(None, [r["id"] for r in old_rows], [r["id"] for r in new_rows], autojunk=False)
    out: list[tuple[dict | None, dict | None]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out += list(zip(old_rows[i1:i2], new_rows[j1:j2]))
        else:
            out += [(o, None) for o in old_rows[i1:i2]] + [(None, n) for n in new_rows[j1:j2]]
    return out


def redline_docx(
    old: dict, new: dict, template_path: Path, out_path: Path, authors: dict[str, Author], default: Author
) -> dict[str, int]:
    """Write annex-redline.docx from the contexts of last year's (old) and this year's (new) annex.

    ``authors``: item id → who changed it and when; changes not tied to one bullet (sub-headings,
    目標・指標) are the ``default``'s (the secretariat). Returns the number of revisions by kind."""
    olds, news = _units(old), _units(new)
    body: list[tuple[str, object]] = []  # ("para", [pieces]) or ("rows", [(old row, new row)])
    matcher = difflib.SequenceMatcher(
        None, [_unit_key(u, i) for i, u in enumerate(olds)], [_unit_key(u, i) for i, u in enumerate(news)], autojunk=False
    )
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs: list[tuple[dict | None, dict | None]]
        if op == "equal":
            pairs = list(zip(olds[i1:i2], news[j1:j2]))
        else:  # an edited item (same kind and part) is one paragraph with changes inside
            pairs = []
            rest_old, rest_new = list(olds[i1:i2]), list(news[j1:j2])
            while (
                rest_old
                and rest_new
                and (rest_old[0]["type"], rest_old[0].get("part")) == (rest_new[0]["type"], rest_new[0].get("part"))
            ):
                pairs.append((rest_old.pop(0), rest_new.pop(0)))
            pairs += [(o, None) for o in rest_old] + [(None, n) for n in rest_new]
        for o, n in pairs:
            unit = n or o
            if unit["type"] == "rows":
                body.append(("rows", _pair_rows(o["rows"] if o else [], n["rows"] if n else [])))
            else:
                body.append(("para", (o, n)))

    context = dict(new)
    context["title"] = f"{new['title']}{REDLINE_TITLE_SUFFIX}"
    context["footnote_numbering"] = {"mode": "custom", "start": 1}  # the published numbers, in both years
    context["blocks"] = []

    def build(writer: _RedlineWriter) -> None:
        writer.column_labels = new["column_labels"]
        pending: list[list[_Piece]] = []

        def flush() -> None:
            if pending:
                writer.parts.append(writer.paragraphs(list(pending), in_cell=False))
                pending.clear()

        for kind, value in body:
            if kind == "para":
                o, n = value
                piece = writer.block_piece("del" if n is None else "ins" if o is None else "edit", o, n)
                if piece.state == "edit" and piece.old == piece.new:
                    piece.state = "equal"
                pending.append([piece])
                continue
            flush()
            table: list = []
            size = 0
            for o_row, n_row in value:
                count = len(_align_subrows(o_row, n_row))
                if table and size + count > MAX_SUBROWS_PER_TABLE:
                    writer.redline_table(table, authors)
                    table, size = [], 0
                table.append((o_row, n_row))
                size += count
            if table:
                writer.redline_table(table, authors)
        flush()
        writer.abbreviations(new["abbreviations"])

    old_notes = {n["number"]: n["text"] for n in old["footnotes"]}
    info = render_docx(
        context,
        template_path,
        out_path,
        writer_factory=lambda *args: _RedlineWriter(*args, default=default, old_notes=old_notes),
        build=build,
    )
    return {"revisions": info.revisions}
