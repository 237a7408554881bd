"""The ministry's workbook marked at the package level: zip in, zip out, in a few milliseconds.

openpyxl loading and saving a whole returned workbook cost ~150 ms of the ~150 ms a feedback
workbook took (issue 13): every cell of every sheet became a Python object and was written back.
Here every part is carried as it is except what the feedback changes:

- each worksheet loses its formulas (the cached value stays: what openpyxl's data_only kept; a
  text result becomes an inline string), and no sheet tab stays selected;
- a marked cell gets a new cell format (its own, with the fill and unlocked) appended to
  styles.xml, and a comment in the sheet's comments part (openpyxl's own writers for the
  comments and their VML shapes);
- the 検証結果 sheet is written by openpyxl into a scratch workbook (the one definition of that
  sheet, annex.feedback.workbook) and grafted in first, its formats appended to styles.xml;
- only the parts reachable through relationships of known kinds are written: calculation chain,
  printer settings, thumbnail and custom XML are dropped, and anything else — macros, external
  links, data connections, drawings, controls, embedded objects, tables, pivots — makes the
  package "not plain" (NotPlain): the caller then takes the openpyxl path, as before.

Parts are parsed with lxml without entity expansion, DTD loading or network access; a part that
declares a DTD is refused (preflight refuses such files before; this is the second lock).
"""

from __future__ import annotations

import copy
import posixpath
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from lxml import etree
from openpyxl.comments.comment_sheet import CommentRecord, CommentSheet
from openpyxl.packaging.extended import ExtendedProperties
from openpyxl.styles.cell_style import CellStyle
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.xml.functions import tostring

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
XML_NS = "http://www.w3.org/XML/1998/namespace"
M = f"{{{MAIN}}}"
R_ID = f"{{{DOC_REL}}}id"
CONTENT_TYPES = "[Content_Types].xml"
ROOT_RELS = "_rels/.rels"

WORKBOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"

# Relationship kinds carried as they are, and those dropped with their part (and the attribute
# that names them); any other kind is not plain.
KEPT = {
    f"{DOC_REL}/officeDocument",
    f"{PKG_REL}/metadata/core-properties",
    f"{DOC_REL}/extended-properties",
    f"{DOC_REL}/custom-properties",
    f"{DOC_REL}/worksheet",
    f"{DOC_REL}/styles",
    f"{DOC_REL}/theme",
    f"{DOC_REL}/sharedStrings",
    f"{DOC_REL}/hyperlink",
    f"{DOC_REL}/comments",
    f"{DOC_REL}/vmlDrawing",
}
DROPPED = {
    f"{DOC_REL}/calcChain",  # lists formula cells, and none is left
    f"{DOC_REL}/printerSettings",  # the officer's printer driver settings (openpyxl drops them too)
    f"{PKG_REL}/metadata/thumbnail",
    f"{DOC_REL}/customXml",
}
# CT_Worksheet's children after <legacyDrawing>, in schema order (Excel refuses another order)
AFTER_LEGACY_DRAWING = {
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
}
# CT_Workbook's children before <definedNames>
BEFORE_DEFINED_NAMES = {
    "fileVersion",
    "fileSharing",
    "workbookPr",
    "workbookProtection",
    "bookViews",
    "sheets",
    "functionGroups",
    "externalReferences",
}
# What a sheet to be edited holds somewhere: a formula (<f, or <x:f with a prefix), a selected
# tab, extensions. Plain substring searches (one regex scanned a template's sheets 10× slower);
# a false hit (<fill, <filterColumn) only costs a parse.
NEEDS_EDITING = (b"<f", b":f", b"tabSelected", b"extLst")
CELL_ADDRESS = re.compile(r"[A-Z]{1,3}[1-9][0-9]{0,6}")
EXCEL_MAX_ROW, EXCEL_MAX_COL = 1_048_576, 16_384

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class NotPlain(Exception):
    """The package holds something this copy does not carry safely: use openpyxl instead."""


@dataclass(frozen=True)
class Mark:
    """What one problem cell gets: a fill (openpyxl PatternFill) and a comment."""

    fill: Any
    comment: str
    width: int = 360
    height: int = 160


def _local(element: Any) -> str:
    return etree.QName(element).localname


def _rels_name(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{base}.rels")


class Package:
    """A workbook's parts by name; XML parts parsed when first asked for and serialised on save."""

    def __init__(self, parts: dict[str, bytes]):
        self.parts = parts
        self._xml: dict[str, Any] = {}

    @classmethod
    def read(cls, source: Path | bytes) -> Package:
        with zipfile.ZipFile(BytesIO(source) if isinstance(source, bytes) else source) as archive:
            return cls({info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()})

    # -- parts ------------------------------------------------------------------------------
    def xml(self, name: str) -> Any:
        if name not in self._xml:
            root = etree.fromstring(self.parts[name], _PARSER)
            if root.getroottree().docinfo.internalDTD is not None:
                raise ValueError(f"{name} declares a DTD")
            self._xml[name] = root
        return self._xml[name]

    def put_xml(self, name: str, root: Any) -> None:
        self.parts[name] = b""
        self._xml[name] = root

    def put(self, name: str, data: bytes) -> None:
        self._xml.pop(name, None)
        self.parts[name] = data

    def free_name(self, pattern: str) -> str:
        """The first of pattern.format(1), pattern.format(2), … that no part has (case-blind, as zip readers are)."""
        taken = {n.lower() for n in self.parts}
        return next(pattern.format(i) for i in range(1, len(taken) + 2) if pattern.format(i).lower() not in taken)

    # -- relationships ----------------------------------------------------------------------
    def rels(self, part: str, *, create: bool = False) -> Any | None:
        name = _rels_name(part) if part else ROOT_RELS
        if name not in self.parts:
            if not create:
                return None
            self.put_xml(name, etree.Element(f"{{{PKG_REL}}}Relationships", nsmap={None: PKG_REL}))
        return self.xml(name)

    def relationships(self, part: str) -> Iterator[tuple[Any, str | None]]:
        """(relationship, the part it points to — None for an external target) of ``part`` ('' for the package)."""
        rels = self.rels(part)
        if rels is None:
            return
        for rel in rels.iter(f"{{{PKG_REL}}}Relationship"):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                yield rel, None
            elif target.startswith("/"):
                yield rel, posixpath.normpath(target.lstrip("/"))
            else:
                yield rel, posixpath.normpath(posixpath.join(posixpath.dirname(part), target))

    def relate(self, part: str, kind: str, target: str) -> str:
        """Add a relationship from ``part`` to the part ``target``; its new id."""
        rels = self.rels(part, create=True)
        ids = {rel.get("Id") for rel in rels}
        rid = next(f"rId{i}" for i in range(1, len(ids) + 2) if f"rId{i}" not in ids)
        etree.SubElement(rels, f"{{{PKG_REL}}}Relationship", Id=rid, Type=f"{DOC_REL}/{kind}", Target=f"/{target}")
        return rid

    # -- content types ----------------------------------------------------------------------
    def set_content_type(self, part: str, content_type: str) -> None:
        types = self.xml(CONTENT_TYPES)
        for override in types.iter(f"{{{TYPES}}}Override"):
            if override.get("PartName", "").lstrip("/") == part:
                override.set("ContentType", content_type)
                return
        etree.SubElement(types, f"{{{TYPES}}}Override", PartName=f"/{part}", ContentType=content_type)

    def set_default_type(self, extension: str, content_type: str) -> None:
        types = self.xml(CONTENT_TYPES)
        if not any(d.get("Extension", "").lower() == extension for d in types.iter(f"{{{TYPES}}}Default")):
            default = etree.Element(f"{{{TYPES}}}Default", Extension=extension, ContentType=content_type)
            types.insert(0, default)

    # -- saving -----------------------------------------------------------------------------
    def reachable(self) -> list[str]:
        """Every part the package's relationships lead to, from _rels/.rels on."""
        seen: dict[str, None] = {}
        todo = [""]
        while todo:
            part = todo.pop()
            for _, target in self.relationships(part):
                if target is not None and target not in seen and target in self.parts:
                    seen[target] = None
                    todo.append(target)
        return list(seen)

    def to_bytes(self, compresslevel: int = 1) -> bytes:
        """The package as a zip: [Content_Types].xml first, then every reachable part and its relationships.

        Deflate level 1: ~4 ms less a workbook than level 6 at size S (a third of this step), for
        copies a tenth larger than openpyxl's were."""
        keep = self.reachable()
        names = [CONTENT_TYPES, ROOT_RELS]
        for part in keep:
            names.append(part)
            if _rels_name(part) in self.parts:
                names.append(_rels_name(part))
        wanted = {f"/{n}" for n in names}
        types = self.xml(CONTENT_TYPES)
        for override in list(types.iter(f"{{{TYPES}}}Override")):
            if override.get("PartName") not in wanted:
                types.remove(override)
        out = BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
            for name in dict.fromkeys(names):
                if name in self._xml:
                    data = etree.tostring(self._xml[name], xml_declaration=True, encoding="UTF-8", standalone=True)
                else:
                    data = self.parts[name]
                archive.writestr(name, data)
        return out.getvalue()


# -- the workbook -----------------------------------------------------------------------------
@dataclass
class Sheet:
    name: str
    part: str
    element: Any  # its <sheet> in xl/workbook.xml


class WorkbookPart:
    """The workbook part of a plain package: its sheets, styles, defined names."""

    def __init__(self, package: Package):
        self.package = package
        rels = {rel.get("Id"): (rel, target) for rel, target in package.relationships("")}
        main = [t for rel, t in rels.values() if rel.get("Type") == f"{DOC_REL}/officeDocument"]
        if len(main) != 1 or main[0] not in package.parts:
            raise NotPlain("no single workbook part")
        self.part = main[0]
        self.root = package.xml(self.part)
        if self.root.tag != f"{M}workbook":
            raise NotPlain(f"workbook root {self.root.tag}")  # Strict OOXML and the like: openpyxl's path
        self.rels = {rel.get("Id"): (rel, target) for rel, target in package.relationships(self.part)}
        self.sheets = []
        for element in self.root.iterfind(f"{M}sheets/{M}sheet"):
            rel, target = self.rels.get(element.get(R_ID), (None, None))
            if rel is None or rel.get("Type") != f"{DOC_REL}/worksheet" or target not in package.parts:
                raise NotPlain(f"sheet {element.get('name')!r} is not a worksheet part")
            self.sheets.append(Sheet(element.get("name", ""), target, element))
        if len({s.part for s in self.sheets}) != len(self.sheets):
            raise NotPlain("two sheets share one part")
        self.styles_part = next((t for r, t in self.rels.values() if r.get("Type") == f"{DOC_REL}/styles"), None)
        if self.styles_part is None or self.styles_part not in package.parts:
            raise NotPlain("no styles part")
        self.styles = Styles(package.xml(self.styles_part))

    @property
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.sheets]

    def sheet(self, name: str) -> Sheet:
        return next(s for s in self.sheets if s.name == name)

    def defined_names(self) -> Any:
        names = self.root.find(f"{M}definedNames")
        if names is None:
            names = etree.Element(f"{M}definedNames")
            position = sum(1 for child in self.root if _local(child) in BEFORE_DEFINED_NAMES)
            self.root.insert(position, names)
        return names

    def remove_sheet(self, name: str) -> None:
        """Take a sheet out (its part goes when nothing leads to it); sheet-local names follow their sheets."""
        index = self.sheet_names.index(name)
        sheet = self.sheets.pop(index)
        sheet.element.getparent().remove(sheet.element)
        rel, _ = self.rels.pop(sheet.element.get(R_ID))
        rel.getparent().remove(rel)
        names = self.root.find(f"{M}definedNames")
        for defined in list(names if names is not None else ()):
            local = defined.get("localSheetId")
            if local is not None and local.isdigit():
                if int(local) == index:
                    defined.getparent().remove(defined)
                elif int(local) > index:
                    defined.set("localSheetId", str(int(local) - 1))

    def insert_first_sheet(self, name: str, xml: bytes, print_names: Mapping[str, str]) -> Sheet:
        """A new first sheet from its XML, active and the only one selected; ``print_names``:
        Print_Titles / Print_Area of that sheet."""
        part = self.package.free_name("xl/worksheets/sheet{}.xml")
        self.package.put(part, xml)
        self.package.set_content_type(part, WORKSHEET_TYPE)
        rid = self.package.relate(self.part, "worksheet", part)
        sheets = self.root.find(f"{M}sheets")
        ids = [int(s.get("sheetId")) for s in sheets if (s.get("sheetId") or "").isdigit()]
        element = etree.Element(f"{M}sheet", name=name, sheetId=str(max(ids, default=0) + 1), nsmap={"r": DOC_REL})
        element.set(R_ID, rid)
        sheets.insert(0, element)
        defined = self.defined_names()
        for existing in defined:
            local = existing.get("localSheetId")
            if local is not None and local.isdigit():
                existing.set("localSheetId", str(int(local) + 1))
        for kind, value in print_names.items():
            item = etree.Element(f"{M}definedName", name=f"_xlnm.{kind}", localSheetId="0")
            item.text = value
            defined.insert(0, item)
        for view in self.root.iterfind(f"{M}bookViews/{M}workbookView"):
            view.set("activeTab", "0")
            view.attrib.pop("firstSheet", None)
        sheet = Sheet(name, part, element)
        self.sheets.insert(0, sheet)
        return sheet


class Styles:
    """styles.xml, appended to: the cell formats already there keep their numbers."""

    ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs")  # CT_Stylesheet, the start
    LISTS = {"numFmt": "numFmts", "font": "fonts", "fill": "fills", "border": "borders", "xf": "cellXfs"}

    def __init__(self, root: Any):
        self.root = root
        self._appended: dict[bytes, int] = {}

    def _list(self, name: str) -> Any:
        found = self.root.find(f"{M}{name}")
        if found is None:
            before = self.ORDER[: self.ORDER.index(name)]
            found = etree.Element(f"{M}{name}", count="0")
            self.root.insert(sum(1 for child in self.root if _local(child) in before), found)
        return found

    def _append(self, element: Any) -> int:
        """Append a font / fill / border / xf (once per distinct XML) to its list; its index."""
        key = etree.tostring(element)
        if key not in self._appended:
            container = self._list(self.LISTS[_local(element)])
            container.append(element)
            container.set("count", str(len(container)))
            self._appended[key] = len(container) - 1
        return self._appended[key]

    def append_object(self, style_object: Any) -> int:
        """An openpyxl Font / Fill / Border / CellStyle appended; its index."""
        return self._append(etree.fromstring(_style_xml(style_object), _PARSER))

    def number_format(self, code: str) -> int:
        formats = self._list("numFmts")
        for existing in formats:
            if existing.get("formatCode") == code:
                return int(existing.get("numFmtId"))
        number = max([163, *(int(f.get("numFmtId")) for f in formats if (f.get("numFmtId") or "").isdigit())]) + 1
        etree.SubElement(formats, f"{M}numFmt", numFmtId=str(number), formatCode=code)
        formats.set("count", str(len(formats)))
        return number

    def marked(self, index: int, fill: Any) -> int:
        """Cell format ``index`` with ``fill`` and unlocked (the officer must be able to type there)."""
        xfs = self.root.find(f"{M}cellXfs")
        if xfs is None or not 0 <= index < len(xfs):
            raise NotPlain(f"cell format {index} is not in styles.xml")
        xf = copy.deepcopy(xfs[index])
        xf.set("fillId", str(self.append_object(fill)))
        xf.set("applyFill", "1")
        protection = xf.find(f"{M}protection")
        if protection is None:
            protection = etree.Element(f"{M}protection")
            xf.insert(1 if xf.find(f"{M}alignment") is not None else 0, protection)
        protection.set("locked", "0")
        xf.set("applyProtection", "1")
        return self._append(xf)

    def graft(self, book: Any) -> dict[int, int]:
        """The cell formats of an openpyxl workbook appended; its format number → ours."""
        mapping = {}
        for index, style in enumerate(book._cell_styles):
            xf = CellStyle.from_array(style)
            xf.fontId = self.append_object(book._fonts[style.fontId])
            xf.fillId = self.append_object(book._fills[style.fillId])
            xf.borderId = self.append_object(book._borders[style.borderId])
            xf.applyFont = xf.applyFill = xf.applyBorder = True  # this format's own look, whatever the Normal style is
            if style.numFmtId >= 164:
                xf.numFmtId = self.number_format(book._number_formats[style.numFmtId - 164])
            if style.alignmentId:
                xf.alignment = book._alignments[style.alignmentId]
            if style.protectionId:
                xf.protection = book._protections[style.protectionId]
            xf.xfId = 0
            mapping[index] = self.append_object(xf)
        return mapping


_STYLE_XML: dict[Any, bytes] = {}  # the few looks annex uses, serialised once per process


def _style_xml(style_object: Any) -> bytes:
    """An openpyxl style object as SpreadsheetML (openpyxl writes it without a namespace)."""
    if style_object not in _STYLE_XML:
        element = etree.fromstring(tostring(style_object.to_tree()), _PARSER)
        for node in element.iter():
            if isinstance(node.tag, str) and not node.tag.startswith("{"):
                node.tag = f"{M}{node.tag}"
        if len(_STYLE_XML) < 1000:
            _STYLE_XML[style_object] = etree.tostring(element)
        else:
            return etree.tostring(element)
    return _STYLE_XML[style_object]


# -- the steps ----------------------------------------------------------------------------------
def plain_workbook(package: Package) -> WorkbookPart:
    """Check every relationship is of a kind carried or dropped, drop those to be dropped; the workbook.

    Raises NotPlain for anything else (the openpyxl path then decides what is kept, as before)."""
    for part in ["", *package.reachable()]:
        for rel, target in list(package.relationships(part)):
            kind = rel.get("Type", "")
            if kind in DROPPED:
                rel.getparent().remove(rel)
                if kind == f"{DOC_REL}/printerSettings":
                    _forget_rid(package, part, rel.get("Id"))
            elif kind not in KEPT:
                raise NotPlain(f"{part or 'package'}: relationship {kind.rsplit('/', 1)[-1]}")
            elif target is not None and target not in package.parts:
                raise NotPlain(f"{part or 'package'}: {target} is not in the file (or not so spelled)")
            elif kind == f"{DOC_REL}/hyperlink" and target is not None:
                raise NotPlain(f"{part}: a hyperlink to a part")
            elif kind == f"{DOC_REL}/vmlDrawing" and target is not None and package.rels(target) is not None:
                raise NotPlain(f"{target}: a VML drawing with its own relationships (pictures)")
    for rel, target in package.relationships(""):
        if rel.get("Type") == f"{DOC_REL}/extended-properties" and target is not None:
            # its list of sheet names would miss 検証結果: written anew, as openpyxl wrote it
            package.put(target, tostring(ExtendedProperties().to_tree()))
    book = WorkbookPart(package)
    types = package.xml(CONTENT_TYPES)
    if types.tag != f"{{{TYPES}}}Types":
        raise NotPlain("content types")
    package.set_content_type(book.part, WORKBOOK_TYPE)  # never a template or a macro workbook
    return book


def _forget_rid(package: Package, part: str, rid: str | None) -> None:
    """Remove the attribute that named a dropped relationship (<pageSetup r:id=…>)."""
    root = package.xml(part)
    for element in root.iter():
        if element.get(R_ID) == rid:
            del element.attrib[R_ID]


def neutralise_formulas(package: Package, book: WorkbookPart) -> None:
    """No formula leaves annex: each formula cell keeps its cached value only (a text as an
    inline string), as openpyxl's data_only did, and the sheets' extensions (extLst) go, as
    openpyxl dropped them; no sheet tab stays selected."""
    for sheet in book.sheets:
        if not any(mark in package.parts[sheet.part] for mark in NEEDS_EDITING):
            continue  # nothing to change: carried as it is, not parsed (most of a template's bytes)
        root = package.xml(sheet.part)
        if root.tag != f"{M}worksheet":
            raise NotPlain(f"{sheet.part}: root {root.tag}")
        for formula in list(root.iter(f"{M}f")):
            cell = formula.getparent()
            cell.remove(formula)
            cell.attrib.pop("cm", None)  # the formula's cell metadata (dynamic arrays)
            if cell.get("t") == "str":
                value = cell.find(f"{M}v")
                if value is None:
                    del cell.attrib["t"]
                else:
                    cell.remove(value)
                    cell.set("t", "inlineStr")
                    text = etree.SubElement(etree.SubElement(cell, f"{M}is"), f"{M}t")
                    text.text = value.text or ""
                    if text.text != text.text.strip():
                        text.set(f"{{{XML_NS}}}space", "preserve")
        for view in root.iter(f"{M}sheetView"):
            view.attrib.pop("tabSelected", None)
        for extension in root.findall(
            f"{M}extLst"
        ):  # Excel 2010+ validations and formats, formulas among them: openpyxl dropped them too
            root.remove(extension)


def _cell_position(address: str) -> tuple[int, int] | None:
    if not CELL_ADDRESS.fullmatch(address):
        return None
    letters, row = coordinate_from_string(address)
    column = column_index_from_string(letters)
    return (row, column) if row <= EXCEL_MAX_ROW and column <= EXCEL_MAX_COL else None


def _find_or_add_cell(root: Any, address: str, row: int, column: int) -> Any:
    """The <c> of ``address`` in <sheetData>, made (in row and column order) if the file has none."""
    data = root.find(f"{M}sheetData")
    if data is None:
        raise NotPlain("no sheetData")
    row_element = None
    for candidate in data.iterfind(f"{M}row"):
        number = candidate.get("r")
        if number is None or not number.isdigit():
            raise NotPlain("a row without its number")
        if int(number) == row:
            row_element = candidate
            break
        if int(number) > row:
            row_element = etree.Element(f"{M}row", r=str(row))
            candidate.addprevious(row_element)
            break
    if row_element is None:
        row_element = etree.SubElement(data, f"{M}row", r=str(row))
    for cell in row_element.iterfind(f"{M}c"):
        ref = cell.get("r")
        position = _cell_position(ref) if ref else None
        if position is None:
            raise NotPlain("a cell without its address")
        if position[1] == column:
            return cell
        if position[1] > column:
            new = etree.Element(f"{M}c", r=address)
            cell.addprevious(new)
            row_element.attrib.pop("spans", None)
            return new
    row_element.attrib.pop("spans", None)
    return etree.SubElement(row_element, f"{M}c", r=address)


def _inherited_format(root: Any, cell: Any, column: int) -> int:
    """The cell format a cell shows: its own, else its row's, else its column's (as Excel does)."""
    if cell.get("s") is not None:
        return int(cell.get("s"))
    row = cell.getparent()
    if row.get("customFormat") in ("1", "true") and row.get("s") is not None:
        return int(row.get("s"))
    for col in root.iterfind(f"{M}cols/{M}col"):
        if int(col.get("min", "0")) <= column <= int(col.get("max", "0")) and col.get("style") is not None:
            return int(col.get("style"))
    return 0


def mark_cells(package: Package, book: WorkbookPart, marks: Mapping[tuple[str, str], Mark]) -> None:
    """Fill, unlock and comment each marked cell (sheet name, address); unknown places are skipped."""
    by_sheet: dict[str, dict[str, tuple[int, int, Mark]]] = {}
    for (sheet, address), mark in marks.items():
        position = _cell_position(address)
        if sheet in book.sheet_names and position is not None:
            by_sheet.setdefault(sheet, {})[address] = (*position, mark)
    for name, cells in by_sheet.items():
        sheet = book.sheet(name)
        root = package.xml(sheet.part)
        for address, (row, column, mark) in cells.items():
            cell = _find_or_add_cell(root, address, row, column)
            cell.set("s", str(book.styles.marked(_inherited_format(root, cell, column), mark.fill)))
        _comment(package, sheet, {address: mark for address, (_, _, mark) in cells.items()})


def _comment(package: Package, sheet: Sheet, marks: Mapping[str, Mark]) -> None:
    """Write the sheet's comments (those it had, ours replacing any on the same cell) and their shapes."""
    root = package.xml(sheet.part)
    comments_part = vml_part = None
    for rel, target in package.relationships(sheet.part):
        if rel.get("Type") == f"{DOC_REL}/comments":
            comments_part = target
        elif rel.get("Type") == f"{DOC_REL}/vmlDrawing":
            legacy = root.find(f"{M}legacyDrawing")
            if legacy is not None and legacy.get(R_ID) == rel.get("Id"):
                vml_part = target
    records = []
    if comments_part is not None and comments_part in package.parts:
        existing = CommentSheet.from_tree(package.xml(comments_part))
        for ref, comment in existing.comments:
            if ref not in marks:
                record = CommentRecord(ref=ref, author=comment.author, height=comment.height, width=comment.width)
                record.text.t = comment.content
                records.append(record)
    for address, mark in marks.items():
        record = CommentRecord(ref=address, author="annex", height=mark.height, width=mark.width)
        record.text.t = mark.comment
        records.append(record)
    comments = CommentSheet.from_comments(records)
    if comments_part is None:
        comments_part = package.free_name("xl/comments/comment{}.xml")
        package.relate(sheet.part, "comments", comments_part)
    package.put(comments_part, tostring(comments.to_tree()))
    package.set_content_type(comments_part, COMMENTS_TYPE)
    if vml_part is None:
        vml_part = package.free_name("xl/drawings/commentsDrawing{}.vml")
        legacy = root.find(f"{M}legacyDrawing")
        if legacy is not None:  # a legacy drawing that is not the comments' (no such file is plain)
            raise NotPlain(f"{sheet.part}: a legacy drawing besides the comments")
        legacy = etree.Element(f"{M}legacyDrawing", nsmap={"r": DOC_REL})
        legacy.set(R_ID, package.relate(sheet.part, "vmlDrawing", vml_part))
        following = next((child for child in root if _local(child) in AFTER_LEGACY_DRAWING), None)
        if following is None:
            root.append(legacy)
        else:
            following.addprevious(legacy)
    package.put(vml_part, comments.write_shapes())  # the comments' shapes only, as openpyxl writes them
    package.set_default_type("vml", VML_TYPE)


def graft_first_sheet(book: WorkbookPart, scratch: Any) -> Sheet:
    """The only sheet of an openpyxl workbook, as the new first sheet of ``book``."""
    sheet = scratch.active
    writer = WorksheetWriter(sheet, out=BytesIO())
    writer.write()
    root = etree.fromstring(writer.read(), _PARSER)
    if len(writer._rels):
        raise ValueError("the grafted sheet has relationships")  # its links are within the workbook
    formats = book.styles.graft(scratch)
    for element in root.iter(f"{M}c", f"{M}row"):
        if element.get("s") is not None:
            element.set("s", str(formats[int(element.get("s"))]))
    for col in root.iter(f"{M}col"):
        if col.get("style") is not None:
            col.set("style", str(formats[int(col.get("style"))]))
    prints = {"Print_Titles": sheet.print_titles, "Print_Area": sheet.print_area}
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return book.insert_first_sheet(sheet.title, xml, {k: v for k, v in prints.items() if v})
