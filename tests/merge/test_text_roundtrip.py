"""Property (issue 14): for any text a ministry can type, template → submission → master →
annex.docx keeps it, character for character — or validation refuses it with an error at its
cell. The template is a real one (デジ), edited and saved by openpyxl as Excel would; the
submission is read and validated as the workers do; the master is merged from master(2025); the
annex is rendered from the rows holding the edited bullets (the whole annex renders the same
way, only slower) and read back from the .docx."""

from __future__ import annotations

import io

import openpyxl
import pytest
from corpus_distribution import distributed
from hostile import owned_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annex.intake.reader import read_workbook
from annex.io.xlsx import set_text
from annex.merge.merge import merge
from annex.model.annex import Annex
from annex.model.config import shipped_template
from annex.render.context import build_context
from annex.render.reader import read_annex_docx
from annex.render.writer import TEMPLATE_NAME, render_docx
from annex.validation.validate import validate_batch
from annex.workspace.master import load_reference

pytestmark = pytest.mark.reliability

LINES = 4  # texts per example
# What a ministry can type into a cell: any printable text (Japanese, Latin, digits, symbols,
# spaces, line breaks), never control or format characters (validation refuses those, located).
typed_text = st.text(
    st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs"), exclude_characters="\u2028\u2029")
    | st.sampled_from("\n　・【】（）［］＜＞≪≫、。「」"),
    min_size=1,
    max_size=60,
).filter(lambda t: t.strip())


@pytest.fixture(scope="module")
def setting():
    d = distributed()
    template = d.path("デジ")
    return d, template.read_bytes(), owned_lines(template.read_bytes(), LINES), load_reference(d.workspace, 2026)


def _restricted(annex: Annex, ids: set[str]) -> Annex:
    """The annex cut to the rows holding the given bullets (the document's structure kept)."""
    small = annex.model_copy(deep=True)
    for chapter in small.chapters:
        for section in chapter.sections:
            section.rows = [r for r in section.rows if any(b.id in ids for b in [*r.status, *r.policy])]
        chapter.sections = [s for s in chapter.sections if s.rows]
    small.chapters = [c for c in small.chapters if c.sections]
    return small


def _roundtrip(setting, folder, texts: list[str]) -> str:
    """Write the texts into the template's first editable lines, then follow them to the annex:
    "kept" (asserted equal at every step) or "refused" (asserted located)."""
    d, valid, lines, ref = setting
    wb = openpyxl.load_workbook(io.BytesIO(valid))
    sheet = wb["記入シート"]
    for (r, _), text in zip(lines, texts):
        set_text(sheet[f"H{r}"], text)
        sheet[f"L{r}"] = "修正"
    path = folder / "デジ.xlsx"
    wb.save(path)
    [sub] = validate_batch([(read_workbook(path), "0" * 64)], ref)
    if sub.errors:  # refused: every error located at a cell of the edited lines, in Japanese
        assert all(i.location.cell and i.message for i in sub.errors), sub.errors
        assert {i.location.cell for i in sub.errors} <= {f"{c}{r}" for r, _ in lines for c in "HIL"}, sub.errors
        return "refused"
    result = merge(ref.annex, {"デジ": sub}, ref.config, year=2026)
    index = result.annex.bullet_index()
    assert [index[item][2].text for _, item in lines] == texts  # the master
    docx = folder / "annex.docx"
    render_docx(build_context(_restricted(result.annex, {item for _, item in lines})), shipped_template(TEMPLATE_NAME), docx)
    printed = {b.id: b.text for _, _, b in read_annex_docx(docx).bullets()}
    assert [printed[item] for _, item in lines] == texts  # the annex, read back
    return "kept"


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None)
@given(st.lists(typed_text, min_size=LINES, max_size=LINES, unique=True))
def test_any_typed_text_reaches_the_annex_unchanged_or_is_refused_at_its_cell(setting, tmp_path_factory, texts):
    _roundtrip(setting, tmp_path_factory.mktemp("roundtrip"), texts)


def test_texts_that_look_like_something_else_are_kept(setting, tmp_path):
    """The texts issue 14 saw changed, typed as text: each kept exactly, all the way."""
    texts = ["TRUE は論理値ではなく文字列。", "=1+1 と書いた説明。", "1,234,567.89 円の事業。", "行を\n改めた記載。"]
    assert _roundtrip(setting, tmp_path, texts) == "kept"
