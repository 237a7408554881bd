"""What a reader sees in a .docx, for comparing documents: the text of every non-empty paragraph
(body and table cells, in order; deleted text left out) with each footnote mark as ［注N］, and
each footnote number's text. Independent of how the marks are numbered (Word's automatic
numbering or the published numbers as custom marks) and of which citation carries the note."""

from __future__ import annotations

import zipfile
from pathlib import Path

from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _ref_styles(parts: dict[str, bytes]) -> set[str]:
    root = etree.fromstring(parts["word/styles.xml"])
    out = set()
    for style in root.iter(f"{W}style"):
        name = style.find(f"{W}name")
        if name is not None and name.get(f"{W}val", "").lower() in (
            "footnote reference",
            "footnote anchor",
            "footnote characters",
        ):
            out.add(style.get(f"{W}styleId"))
    return out


def _text(run) -> str:
    return "".join(t.text or "" for t in run.iter(f"{W}t"))


def read_text(path: Path) -> tuple[list[str], dict[int, str]]:
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist() if n.endswith(".xml")}
    refs = _ref_styles(parts)
    doc = etree.fromstring(parts["word/document.xml"])
    body = doc.find(f"{W}body")
    start = body.find(f"{W}sectPr/{W}footnotePr/{W}numStart")
    auto = int(start.get(f"{W}val")) if start is not None else 1
    numbers: dict[str, int] = {}  # footnote xml id → number
    paragraphs = []
    for p in body.iter(f"{W}p"):
        out = []
        echo = None
        for run in p.iter(f"{W}r"):
            if echo is not None and _text(run) == echo:
                echo = None  # LibreOffice saves a custom mark's number twice: in its run and once more after it
                continue
            echo = None
            ref = run.find(f"{W}footnoteReference")
            style = run.find(f"{W}rPr/{W}rStyle")
            if ref is not None:
                if ref.get(f"{W}customMarkFollows") in ("1", "true"):
                    number = int(_text(run))
                    echo = _text(run)
                else:
                    number = auto
                    auto += 1
                numbers[ref.get(f"{W}id")] = number
                out.append(f"［注{number}］")
            elif style is not None and style.get(f"{W}val") in refs and _text(run).strip().isdigit():
                out.append(f"［注{_text(run).strip()}］")
            else:
                out.append(_text(run))
        text = "".join(out)
        if text.strip():
            paragraphs.append(text)
    notes: dict[int, str] = {}
    name = next((n for n in parts if n.endswith("footnotes.xml")), None)
    if name:
        for note in etree.fromstring(parts[name]).iter(f"{W}footnote"):
            if note.get(f"{W}id") in numbers:
                texts = []
                for run in note.iter(f"{W}r"):
                    style = run.find(f"{W}rPr/{W}rStyle")
                    if run.find(f"{W}footnoteRef") is None and not (style is not None and style.get(f"{W}val") in refs):
                        texts.append(_text(run))
                notes[numbers[note.get(f"{W}id")]] = "".join(texts).strip()
    return paragraphs, notes
