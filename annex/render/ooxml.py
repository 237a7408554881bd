"""The WordprocessingML vocabulary that the writer and the reader of annex.docx share: namespaces,
the template's style names (resolved by *name*, never by id), the marks printed around a bullet,
and the codec of the hidden id bookmarks."""

from __future__ import annotations

from lxml import etree

BODY_MARKER = "［ここに別添の本文が入ります］"

# Labels of a chapter's opening parts, as the published annex prints them.
LABELS = {
    "vision": "【あるべき姿とその実現に向けた方向性】",
    "goals": "【目標】",
    "key_indicators": "【科学技術・イノベーション政策において目指す主要な数値目標】（主要指標）",  # the Basic Plan's wording
    "reference_indicators": "【現状データ】（参考指標）",
}
ITEM_BULLET = "・ "  # 目標・数値目標・現状データ bullets: 「・ 」 (house style, notation_lint.md)
TABLE_BULLET = "・"  # 実施状況・今後の取組方針 bullets
ABOLISHED_MARK = "【廃止】"
EMPTY_MARKERS = ("－", "―")

# Every style the renderer uses: key → (style id in the shipped template, style name).
# The renderer and the importer resolve them by *name* in the template actually used.
PARAGRAPH_STYLES = {
    "chapter": ("Heading1", "heading 1"),
    "section": ("Heading2", "heading 2"),
    "group": ("AnnexGroup", "別添 節の区分"),
    "label": ("AnnexLabel", "別添 ラベル"),
    "prose": ("AnnexProse", "別添 本文"),
    "item": ("AnnexItem", "別添 目標・指標"),
    "table_header": ("AnnexTableHeader", "別添 表の見出し行"),
    "measure": ("AnnexMeasure", "別添 取組"),
    "narrative": ("AnnexNarrative", "別添 取組（説明文）"),
    "bullet": ("AnnexBullet", "別添 項目"),
    "sub1": ("AnnexSub1", "別添 小見出し1"),
    "sub2": ("AnnexSub2", "別添 小見出し2"),
    "sub3": ("AnnexSub3", "別添 小見出し3"),
    "empty": ("AnnexEmpty", "別添 空欄"),
    "abbr_title": ("AnnexAbbrTitle", "別添 略称表の題"),
    "abbr": ("AnnexAbbr", "別添 略称"),
    "abbr_member": ("AnnexAbbrMember", "別添 略称（内閣官房・内閣府）"),
    "abbr_group": ("AnnexAbbrGroup", "別添 略称の区分"),
    "abbr_name": ("AnnexAbbrName", "別添 府省名"),
    "footnote_text": ("FootnoteText", "footnote text"),
}
CHARACTER_STYLES = {
    "footnote_ref": ("FootnoteReference", "footnote reference"),
    "mark": ("AnnexMark", "別添 取組記号"),
    "relisted": ("AnnexRelisted", "別添 再掲"),
    "tags": ("AnnexTags", "別添 タグ"),
    "abolished": ("AnnexAbolished", "別添 廃止"),
}
TABLE_STYLES = {
    "table": ("AnnexTable", "別添 取組表"),
    "abbr_table": ("AnnexAbbrTable", "別添 略称表"),
}
SUBHEADING_KEYS = ("sub1", "sub2", "sub3")

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
FOOTNOTES_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
FOOTNOTES_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
W = f"{{{W_NS}}}"

# ----------------------------------------------------------------------------------------------
# Hidden ids: bookmarks named after the row / bullet id (Word hides names starting with "_").
# ----------------------------------------------------------------------------------------------
_BOOKMARK_KEEP = set("ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789")
BOOKMARK_MAX = 40  # Word's limit on bookmark names


def encode_bookmark(kind: str, value: str) -> str | None:
    """A Word-legal bookmark name carrying an id: "_r3_x2460_01" for row 3-①-01. None if too long."""
    out = [f"_{kind}"]
    for ch in value:
        if ch in _BOOKMARK_KEEP:
            out.append(ch)
        elif ch == "-":
            out.append("_")
        elif ord(ch) <= 0xFFFF:
            out.append(f"x{ord(ch):04x}")
        else:
            out.append(f"X{ord(ch):06x}")
    name = "".join(out)
    return name if len(name) <= BOOKMARK_MAX else None


def decode_bookmark(name: str) -> tuple[str, str] | None:
    """(kind, id) from a name made by encode_bookmark, or None for any other bookmark."""
    if len(name) < 3 or name[0] != "_" or name[1] not in "rbg":  # row, bullet, group ends
        return None
    kind, body, out, i = name[1], name[2:], [], 0
    try:
        while i < len(body):
            ch = body[i]
            if ch == "x":
                out.append(chr(int(body[i + 1 : i + 5], 16)))
                i += 5
            elif ch == "X":
                out.append(chr(int(body[i + 1 : i + 7], 16)))
                i += 7
            elif ch == "_":
                out.append("-")
                i += 1
            else:
                out.append(ch)
                i += 1
    except ValueError:
        return None
    return kind, "".join(out)


def style_ids(styles_xml: bytes) -> dict[str, tuple[str, str]]:
    """style name (lower-cased) → (style id, type) in a styles.xml."""
    root = etree.fromstring(styles_xml)
    out = {}
    for style in root.iter(f"{W}style"):
        name = style.find(f"{W}name")
        if name is not None:
            out[name.get(f"{W}val").lower()] = (style.get(f"{W}styleId"), style.get(f"{W}type"))
    return out


def footnote_key(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (10**9, key)


SOURCE_PREFIX = "annex source: "  # dc:description carries the master's source name, read back on import
