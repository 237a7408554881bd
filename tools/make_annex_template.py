"""Build templates/annex.docx, the Word template of the published annex (reproducible: same bytes
every run).

    python tools/make_annex_template.py [OUT]

The template holds only styles, the page set-up and a marker paragraph where the annex body
goes. The secretariat restyles it in Word — fonts, sizes, margins, heading styles, the two table
styles, the footer — and annex renders with whatever it finds, as long as the style *names*
listed in annex/render.py stay. Fonts are set on every slot (ascii, hAnsi, eastAsia, cs) so that
neither Word nor LibreOffice falls back to a theme or Latin font for Japanese text. The fonts
are IPAex明朝 / IPAexゴシック (Debian: fonts-ipaexfont, installed by scripts/setup.sh, so the PDF
embeds them); fontTable.xml names ＭＳ 明朝 / ＭＳ ゴシック as their substitutes for a Windows PC
without the IPAex fonts.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from annex.render import BODY_MARKER, CHARACTER_STYLES, PARAGRAPH_STYLES, TABLE_STYLES  # noqa: E402

MINCHO, GOTHIC = "IPAexMincho", "IPAexGothic"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# A4 portrait (twips): 210 × 297 mm; margins 25 mm top, 20 mm elsewhere.
PAGE = {"w": 11906, "h": 16838, "top": 1418, "bottom": 1134, "left": 1134, "right": 1134, "header": 567, "footer": 567}


def fonts(face: str) -> str:
    return f'<w:rFonts w:ascii="{face}" w:hAnsi="{face}" w:eastAsia="{face}" w:cs="{face}" w:hint="eastAsia"/>'


def size(half_points: int) -> str:
    return f'<w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/>'


def pstyle(key: str, *, based: str = "Normal", ppr: str = "", rpr: str = "", next_key: str | None = None) -> str:
    sid, name = PARAGRAPH_STYLES[key]
    nxt = f'<w:next w:val="{PARAGRAPH_STYLES[next_key][0]}"/>' if next_key else ""
    return (
        f'<w:style w:type="paragraph" w:customStyle="{0 if key in ("chapter", "section", "footnote_text") else 1}" w:styleId="{sid}">'
        f'<w:name w:val="{name}"/><w:basedOn w:val="{based}"/>{nxt}<w:uiPriority w:val="9"/><w:qFormat/>'
        f"<w:pPr>{ppr}</w:pPr><w:rPr>{rpr}</w:rPr></w:style>"
    )


def cstyle(key: str, rpr: str = "") -> str:
    sid, name = CHARACTER_STYLES[key]
    custom = 0 if key == "footnote_ref" else 1
    return (
        f'<w:style w:type="character" w:customStyle="{custom}" w:styleId="{sid}"><w:name w:val="{name}"/>'
        f'<w:basedOn w:val="DefaultParagraphFont"/><w:uiPriority w:val="9"/><w:rPr>{rpr}</w:rPr></w:style>'
    )


def tstyle(key: str) -> str:
    sid, name = TABLE_STYLES[key]
    border = '<w:{0} w:val="single" w:sz="4" w:space="0" w:color="auto"/>'
    borders = "".join(border.format(side) for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    return (
        f'<w:style w:type="table" w:customStyle="1" w:styleId="{sid}"><w:name w:val="{name}"/>'
        '<w:basedOn w:val="TableNormal"/><w:uiPriority w:val="59"/>'
        '<w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
        f"<w:rPr>{size(18)}</w:rPr>"
        f"<w:tblPr><w:tblBorders>{borders}</w:tblBorders>"
        '<w:tblCellMar><w:top w:w="28" w:type="dxa"/><w:left w:w="85" w:type="dxa"/>'
        '<w:bottom w:w="28" w:type="dxa"/><w:right w:w="85" w:type="dxa"/></w:tblCellMar></w:tblPr>'
        '<w:tblStylePr w:type="firstRow"><w:tblPr/><w:trPr><w:tblHeader/></w:trPr>'
        '<w:tcPr><w:shd w:val="clear" w:color="auto" w:fill="D9D9D9"/></w:tcPr></w:tblStylePr>'
        "</w:style>"
    )


def styles_xml() -> str:
    table_text = size(18)
    gothic = fonts(GOTHIC)
    hanging = '<w:ind w:left="{0}" w:hanging="{0}"/>'
    parts = [
        f'<w:styles xmlns:w="{W_NS}" xmlns:r="{R_NS}">',
        "<w:docDefaults><w:rPrDefault><w:rPr>",
        fonts(MINCHO),
        '<w:kern w:val="2"/>',  # schema order: rFonts, …, kern, sz, szCs, …, lang
        size(20),
        '<w:lang w:val="en-US" w:eastAsia="ja-JP" w:bidi="ar-SA"/>',
        "</w:rPr></w:rPrDefault><w:pPrDefault><w:pPr>",
        '<w:spacing w:after="0" w:line="240" w:lineRule="auto"/>',
        "</w:pPr></w:pPrDefault></w:docDefaults>",
        '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/>'
        '<w:pPr><w:widowControl w:val="0"/><w:jc w:val="both"/></w:pPr><w:rPr>' + fonts(MINCHO) + "</w:rPr></w:style>",
        '<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont"><w:name w:val="Default Paragraph Font"/>'
        '<w:uiPriority w:val="1"/><w:semiHidden/><w:unhideWhenUsed/></w:style>',
        '<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:uiPriority w:val="99"/>'
        '<w:semiHidden/><w:unhideWhenUsed/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar>'
        '<w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/>'
        '<w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>',
        '<w:style w:type="numbering" w:default="1" w:styleId="NoList"><w:name w:val="No List"/><w:uiPriority w:val="99"/>'
        "<w:semiHidden/><w:unhideWhenUsed/></w:style>",
        # chapter: 「３．一人ひとりの…」, a new page each
        pstyle(
            "chapter",
            ppr='<w:keepNext/><w:pageBreakBefore/><w:spacing w:after="180"/><w:outlineLvl w:val="0"/>',
            rpr=gothic + "<w:b/>" + size(28),
        ),
        # section: 「① ＳＴＥＡＭ教育の推進…」
        pstyle(
            "section",
            ppr='<w:keepNext/><w:spacing w:before="240" w:after="120"/><w:outlineLvl w:val="1"/>',
            rpr=gothic + "<w:b/>" + size(24),
        ),
        pstyle("group", ppr='<w:keepNext/><w:spacing w:before="240" w:after="60"/>', rpr=gothic + size(22)),
        pstyle("label", ppr='<w:keepNext/><w:spacing w:before="180" w:after="60"/>', rpr=gothic + size(21)),
        pstyle("prose", ppr='<w:spacing w:after="60"/><w:ind w:firstLine="200"/>'),
        pstyle("item", ppr='<w:spacing w:after="40"/>' + hanging.format(300)),
        pstyle("table_header", ppr='<w:keepNext/><w:jc w:val="center"/>', rpr=gothic + "<w:b/>" + table_text),
        pstyle("measure", ppr=hanging.format(180), rpr=table_text),
        pstyle("narrative", ppr='<w:ind w:firstLine="180"/>', rpr=table_text),
        pstyle("bullet", ppr=hanging.format(180), rpr=table_text),
        pstyle("sub1", ppr='<w:keepNext/><w:spacing w:before="40"/>', rpr=gothic + table_text),
        pstyle("sub2", ppr='<w:keepNext/><w:ind w:left="90"/>', rpr=gothic + table_text),
        pstyle("sub3", ppr='<w:keepNext/><w:ind w:left="180"/>', rpr=gothic + table_text),
        pstyle("empty", ppr='<w:jc w:val="center"/>', rpr=table_text),
        pstyle(
            "abbr_title",
            # the published annex leads its abbreviation table with a note, not a heading
            ppr='<w:keepNext/><w:pageBreakBefore/><w:spacing w:after="120"/>',
            rpr=size(21),
        ),
        pstyle("abbr", rpr=table_text),
        pstyle("abbr_member", ppr='<w:ind w:left="180"/>', rpr=table_text),
        pstyle("abbr_group", rpr=gothic + table_text),
        pstyle("abbr_name", rpr=table_text),
        pstyle("footnote_text", ppr='<w:snapToGrid w:val="0"/><w:ind w:left="360" w:hanging="360"/>', rpr=size(16)),
        cstyle("footnote_ref", '<w:vertAlign w:val="superscript"/>'),
        cstyle("mark"),
        cstyle("relisted"),
        cstyle("tags"),
        cstyle("abolished"),
        tstyle("table"),
        tstyle("abbr_table"),
        '<w:style w:type="paragraph" w:styleId="Footer"><w:name w:val="footer"/><w:basedOn w:val="Normal"/>'
        '<w:uiPriority w:val="99"/><w:unhideWhenUsed/><w:pPr><w:tabs><w:tab w:val="center" w:pos="4819"/></w:tabs>'
        f'<w:jc w:val="center"/></w:pPr><w:rPr>{size(18)}</w:rPr></w:style>',
        "</w:styles>",
    ]
    return XML_HEAD + "".join(parts)


def document_xml() -> str:
    p = PAGE
    return XML_HEAD + (
        f'<w:document xmlns:w="{W_NS}" xmlns:r="{R_NS}"><w:body>'
        f"<w:p><w:r><w:t>{BODY_MARKER}</w:t></w:r></w:p>"
        '<w:sectPr><w:footerReference w:type="default" r:id="rId4"/>'
        f'<w:pgSz w:w="{p["w"]}" w:h="{p["h"]}"/>'
        f'<w:pgMar w:top="{p["top"]}" w:right="{p["right"]}" w:bottom="{p["bottom"]}" w:left="{p["left"]}" '
        f'w:header="{p["header"]}" w:footer="{p["footer"]}" w:gutter="0"/>'
        '<w:cols w:space="425"/><w:docGrid w:linePitch="360"/></w:sectPr>'
        "</w:body></w:document>"
    )


def footer_xml() -> str:
    def run(text: str) -> str:
        return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'

    field = (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )
    return XML_HEAD + (
        f'<w:ftr xmlns:w="{W_NS}" xmlns:r="{R_NS}"><w:p><w:pPr><w:pStyle w:val="Footer"/></w:pPr>'
        f"{run('- ')}{field}{run(' -')}</w:p></w:ftr>"
    )


def footnotes_xml() -> str:
    sep = '<w:p><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr><w:r><w:{0}/></w:r></w:p>'
    return XML_HEAD + (
        f'<w:footnotes xmlns:w="{W_NS}" xmlns:r="{R_NS}">'
        f'<w:footnote w:type="separator" w:id="-1">{sep.format("separator")}</w:footnote>'
        f'<w:footnote w:type="continuationSeparator" w:id="0">{sep.format("continuationSeparator")}</w:footnote>'
        "</w:footnotes>"
    )


def settings_xml() -> str:
    return XML_HEAD + (
        f'<w:settings xmlns:w="{W_NS}" xmlns:r="{R_NS}">'
        '<w:zoom w:percent="100"/><w:defaultTabStop w:val="840"/>'
        '<w:characterSpacingControl w:val="compressPunctuation"/>'
        '<w:footnotePr><w:footnote w:id="-1"/><w:footnote w:id="0"/></w:footnotePr>'
        '<w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat>'
        '<w:themeFontLang w:val="en-US" w:eastAsia="ja-JP"/>'
        "</w:settings>"
    )


def font_table_xml() -> str:
    def font(name: str, alt: str, family: str) -> str:
        return (
            f'<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="80"/>'
            f'<w:family w:val="{family}"/><w:pitch w:val="variable"/></w:font>'
        )

    return XML_HEAD + (
        f'<w:fonts xmlns:w="{W_NS}" xmlns:r="{R_NS}">'
        + font(MINCHO, "ＭＳ 明朝", "roman")
        + font(GOTHIC, "ＭＳ ゴシック", "modern")
        + "</w:fonts>"
    )


CONTENT_TYPES = XML_HEAD + (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>'
    '<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>'
    '<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"/>'
    '<Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>'
    '<Override PartName="/word/fontTable.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    "</Types>"
)
PACKAGE_RELS = XML_HEAD + (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
DOCUMENT_RELS = XML_HEAD + (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes" Target="footnotes.xml"/>'
    '<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/>'
    '<Relationship Id="rId5" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable" Target="fontTable.xml"/>'
    "</Relationships>"
)
CORE = XML_HEAD + (
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<dc:title>統合イノベーション戦略 別添（Word テンプレート）</dc:title><dc:creator>annex</dc:creator>"
    '<dcterms:created xsi:type="dcterms:W3CDTF">2025-01-01T00:00:00Z</dcterms:created>'
    '<dcterms:modified xsi:type="dcterms:W3CDTF">2025-01-01T00:00:00Z</dcterms:modified>'
    "</cp:coreProperties>"
)
APP = XML_HEAD + (
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>annex</Application></Properties>"
)


def build(out: Path) -> Path:
    parts = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": PACKAGE_RELS,
        "docProps/core.xml": CORE,
        "docProps/app.xml": APP,
        "word/_rels/document.xml.rels": DOCUMENT_RELS,
        "word/document.xml": document_xml(),
        "word/styles.xml": styles_xml(),
        "word/settings.xml": settings_xml(),
        "word/footnotes.xml": footnotes_xml(),
        "word/footer1.xml": footer_xml(),
        "word/fontTable.xml": font_table_xml(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text.encode("utf-8"))
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "annex" / "templates" / "annex.docx"
    print(build(target))
