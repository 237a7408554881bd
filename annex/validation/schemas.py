"""pandera schema for the lines of 記入シート (polars backend, vectorised checks).

Every check is named after the rule it enforces (annex.model.rules): validate translates pandera's
failure cases into catalogue issues by that name, so a ministry never sees a pandera message,
and a check's label never holds a whole value list. Checks that need outside knowledge (the
distributed template, master(Y-1), the tag table) read a boolean column that validate computes
before the schema runs; the schema decides, per line, which of them apply.

Columns (one row per line with content, across all submissions of a batch):
  sub, line           which submission, which of its lines
  item_id … action    the cells as text ("" when empty), see annex.model.contract.COLUMNS
  own_text, own_tags  the ministry wrote this text / these tags (new, or changed since distribution)
  secretariat         the submitting ministry may use the preamble fields
  id_known, row_known, relisted_of_known, tags_self   look-ups against the template and master
  tag_unknown         the first unknown tag, "" if none
  text_key            the text as compared for duplicates ("" when it does not count)
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from annex.model.contract import (
    ACTION_DELETE,
    ACTION_NEW,
    ACTIONS,
    FIELD_POLICY,
    HALFWIDTH_KANA,
    LEADING_BULLET_RE,
    NOTE_NUMBER_RE,
    PREAMBLE_FIELDS,
    QUOTED_FIELDS,
    RELISTED_TYPED_RE,
    RELISTED_VALUE,
    TABLE_FIELDS,
    TRAILING_TAGS_RE,
)
from annex.model.rules import HEADING_LIMIT, TEXT_LIMIT

CONTROL_RE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufffe\uffff]"
HALFWIDTH_KANA_RE = f"[{HALFWIDTH_KANA[0]}-{HALFWIDTH_KANA[-1]}]"
LOOKALIKE_RE = r"[ァ-ヺ][―‐－—–−]"  # a dash where the long vowel mark ー belongs (ガ―ス)


def _col(data: pa.PolarsData) -> pl.Expr:
    return pl.col(data.key)


def _filled():
    """A column validate fills on every row ("" for an empty cell): validate_lines refuses a frame
    with a null in one pass, so pandera need not look column by column (a query per column per
    file: a fifth of a file's validation)."""
    return pa.Field(nullable=True)


class SubmissionLines(pa.DataFrameModel):
    """One line of a ministry's 記入シート, as validate lays it out."""

    sub: int = _filled()
    line: int = _filled()
    item_id: str = _filled()
    row_id: str = _filled()
    field: str = _filled()
    heading: str = _filled()
    text: str = _filled()
    tags: str = _filled()
    relisted: str = _filled()
    relisted_of: str = _filled()
    action: str = _filled()
    own_text: bool = _filled()
    own_tags: bool = _filled()
    secretariat: bool = _filled()
    id_known: bool = _filled()
    row_known: bool = _filled()
    relisted_of_known: bool = _filled()
    tags_self: bool = _filled()
    tag_unknown: str = _filled()
    text_key: str = _filled()

    class Config:
        strict = True
        coerce = False

    # -- each cell --------------------------------------------------------------------------
    @pa.check("text", name="L-TEXT-TOO-LONG")
    def _text_length(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("own_text") | (_col(data).str.len_chars() <= TEXT_LIMIT))

    @pa.check("heading", name="L-HEADING-TOO-LONG")
    def _heading_length(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("own_text") | (_col(data).str.len_chars() <= HEADING_LIMIT))

    @pa.check("text", "heading", name="L-CONTROL-CHAR")
    def _control(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("own_text") | ~_col(data).str.contains(CONTROL_RE))

    @pa.check("text", "heading", name="L-HALFWIDTH-KANA")
    def _kana(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("own_text") | ~_col(data).str.contains(HALFWIDTH_KANA_RE))

    @pa.check("text", name="L-LOOKALIKE")
    def _lookalike(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("own_text") | ~_col(data).str.contains(LOOKALIKE_RE))

    # the annex's own markup typed into the text: printed twice if accepted
    @pa.check("text", name="L-TYPED-BULLET")
    def _typed_bullet(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("own_text") | ~_col(data).str.contains(LEADING_BULLET_RE))

    @pa.check("text", name="L-TYPED-TAGS")
    def _typed_tags(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("own_text") | ~_col(data).str.contains(TRAILING_TAGS_RE))

    @pa.check("text", name="L-TYPED-RELISTED")
    def _typed_relisted(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("own_text") | ~_col(data).str.contains(RELISTED_TYPED_RE))

    @pa.check("text", name="L-TYPED-NOTE-NUMBER")
    def _typed_note_number(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("own_text") | ~_col(data).str.contains(NOTE_NUMBER_RE))

    @pa.check("tags", name="L-TAG-UNKNOWN")
    def _tag_known(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(~pl.col("own_tags") | (pl.col("tag_unknown") == ""))

    @pa.check("field", name="L-FIELD-INVALID")
    def _field(cls, data: pa.PolarsData) -> pl.LazyFrame:
        preamble = [*PREAMBLE_FIELDS.values(), *QUOTED_FIELDS.values()]
        return data.lazyframe.select(_col(data).is_in(list(TABLE_FIELDS)) | (pl.col("secretariat") & _col(data).is_in(preamble)))

    @pa.check("action", name="L-ACTION-INVALID")
    def _action(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(_col(data).is_in(list(ACTIONS)))

    @pa.check("relisted_of", name="L-RELISTED-UNKNOWN")
    def _relisted_of(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((_col(data) == "") | pl.col("relisted_of_known"))

    @pa.check("item_id", name="L-NEW-WITH-ID")
    def _new_without_id(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("action") != ACTION_NEW) | (_col(data) == ""))

    @pa.check("item_id", name="L-ID-ALTERED")
    def _id_known(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("action") == ACTION_NEW) | pl.col("id_known"))

    @pa.check("row_id", name="L-ROW-UNKNOWN")
    def _row_known(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("item_id") != "") | pl.col("row_known"))

    # -- a line as a whole ------------------------------------------------------------------
    @pa.dataframe_check(name="L-TEXT-EMPTY")
    def _text_present(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("text").str.strip_chars() != "") | (pl.col("action") == ACTION_DELETE))

    @pa.dataframe_check(name="L-TAGS-EMPTY")
    def _tags_present(cls, data: pa.PolarsData) -> pl.LazyFrame:
        applies = pl.col("own_tags") & (pl.col("field") == FIELD_POLICY) & (pl.col("action") != ACTION_DELETE)
        return data.lazyframe.select(~applies | (pl.col("tags").str.strip_chars() != ""))

    @pa.dataframe_check(name="L-TAG-MISSING-SELF")
    def _tags_self(cls, data: pa.PolarsData) -> pl.LazyFrame:
        applies = (
            pl.col("own_tags")
            & (pl.col("field") == FIELD_POLICY)
            & (pl.col("action") != ACTION_DELETE)
            & (pl.col("tags").str.strip_chars() != "")
            & (pl.col("tag_unknown") == "")
        )
        return data.lazyframe.select(~applies | pl.col("tags_self"))

    # -- across the lines of one submission --------------------------------------------------
    @pa.dataframe_check(name="X-DUPLICATE-ID")
    def _unique_ids(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("item_id") == "") | ~pl.col("item_id").is_duplicated().over("sub"))

    @pa.dataframe_check(name="X-DUPLICATE-TEXT")
    def _unique_text(cls, data: pa.PolarsData) -> pl.LazyFrame:
        duplicated = pl.col("text_key").is_duplicated().over("sub")
        applies = pl.col("own_text") & (pl.col("relisted") != RELISTED_VALUE) & (pl.col("text_key") != "")
        return data.lazyframe.select(~(applies & duplicated))


def validate_lines(frame: pl.DataFrame) -> list[tuple[int, str, str]]:
    """Run the schema; return (row index in frame, rule code, column) for every failure."""
    if empty := [name for name, count in zip(frame.columns, frame.null_count().row(0)) if count]:
        raise ValueError(f"null in the lines' frame, columns {empty}")  # validate's bug, not a ministry's mistake
    try:
        SubmissionLines.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        out = []
        for row in cases.select("index", "check", "column", "schema_context").iter_rows():
            index, check, column, context = row
            if index is None:
                raise  # a schema-level failure (a missing column) is a bug here, not a ministry's mistake
            out.append((int(index), str(check), str(column) if context == "Column" else ""))
        return out
    return []
