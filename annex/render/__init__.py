"""render — master → the published annex, and back.

context (pure: every layout decision as JSON) → writer (annex.docx, inside the Word template the
secretariat restyles) → pdf (LibreOffice headless). reader reads an annex.docx back into an Annex.
ooxml is the vocabulary writer and reader share (namespaces, style names, id bookmarks). redline
writes two years' contexts as one document of Word tracked changes (annex-redline.docx).
"""

from annex.render.context import ABBREVIATION_LEAD, CONTEXT_SCHEMA, build_context, context_json, expected_min_pages
from annex.render.ooxml import BODY_MARKER, CHARACTER_STYLES, LABELS, PARAGRAPH_STYLES, TABLE_STYLES
from annex.render.pdf import MISSING_MESSAGE, PdfResult, convert_to_pdf, find_soffice
from annex.render.reader import read_annex_docx
from annex.render.redline import Author, redline_docx
from annex.render.writer import TABLE_SHARES, TEMPLATE_NAME, DocxInfo, TemplateError, render_docx

__all__ = [
    "ABBREVIATION_LEAD",
    "BODY_MARKER",
    "CHARACTER_STYLES",
    "CONTEXT_SCHEMA",
    "LABELS",
    "MISSING_MESSAGE",
    "PARAGRAPH_STYLES",
    "TABLE_SHARES",
    "TABLE_STYLES",
    "TEMPLATE_NAME",
    "DocxInfo",
    "PdfResult",
    "TemplateError",
    "Author",
    "build_context",
    "context_json",
    "convert_to_pdf",
    "expected_min_pages",
    "find_soffice",
    "read_annex_docx",
    "redline_docx",
    "render_docx",
]
