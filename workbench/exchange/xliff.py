"""XLIFF 2.1: one file per output, written for translators' tools and read back after editing.

Written: ``<xliff version="2.1" srcLang trgLang>`` in the XLIFF 2 core namespace, one
``<file>`` whose metadata (the Metadata module, ``mda:``) records what produced the output
(signature, model, revision, cache key, input and its hash, the output's path), then one
``<unit>`` per segment with a ``<segment state="translated">`` (``reviewed`` where a person
edited it) holding ``<source>`` and ``<target>``. Characters XML cannot carry are ``<cp/>``.
A sentence with inline markup (``exchange.codes``) carries it as inline codes: paired markup
as ``<pc id="1" dataRefStart="d1" dataRefEnd="d2">words</pc>``, the rest as
``<ph id="3" dataRef="d3"/>``, the markup itself in the unit's ``<originalData>``; codes are
marked ``canCopy="no" canDelete="no"`` (each must stay exactly once; they may move).

Read: the same shape, from an untrusted file (see ``xmltext.parse_untrusted``). A tool may
have split a unit into several segments (or ignorables): their sources and targets are joined
in order. Inline codes with a number for id (``<pc>``, ``<ph>``, and ``<sc/>``/``<ec/>``, which
a tool may write for a ``<pc>``) come back as placeholders (``<g1>``, ``</g1>``, ``<x3/>``);
the importer checks them against the source's and takes the markup from the input, never from
the file's ``<originalData>``. Inline markers a tool adds (``<mrk>``, ``<sm/>``, ``<em/>``, a
``<pc>`` without such an id) keep their text; other codes are refused.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from workbench import inline
from workbench.errors import WorkbenchError
from workbench.exchange.codes import add_text
from workbench.exchange.records import Output, Unit
from workbench.exchange.xmltext import XML_NS, indent, parse_untrusted, put_text, qname, serialize

XLIFF_NS = "urn:oasis:names:tc:xliff:document:2.0"
XLIFF_12_NS = "urn:oasis:names:tc:xliff:document:1.2"
MDA_NS = "urn:oasis:names:tc:xliff:metadata:2.0"
VERSION = "2.1"
SUFFIX = ".xlf"
#: The category of workbench's metadata group, and the provenance fields it records.
CATEGORY = "workbench"
META_FIELDS = ("signature", "model", "revision", "backend", "key", "input", "input_sha256")
#: States of a segment: as the model wrote it, and as a person edited it.
TRANSLATED, REVIEWED = "translated", "reviewed"


def _x(tag: str) -> str:
    return qname(XLIFF_NS, tag)


def _m(tag: str) -> str:
    return qname(MDA_NS, tag)


def _cp(parent: ET.Element, char: str) -> ET.Element:
    return ET.SubElement(parent, _x("cp"), {"hex": f"{ord(char):04X}"})


def xliff_text(output: Output, units: list[Unit]) -> str:
    """The XLIFF 2.1 document of one output."""
    root = ET.Element(
        _x("xliff"),
        {
            "version": VERSION,
            "srcLang": output.get("source_lang"),
            "trgLang": output.get("target_lang"),
        },
    )
    file = ET.SubElement(root, _x("file"), {"id": "f1", "original": output.get("input")})
    file.set(qname(XML_NS, "space"), "preserve")  # segments keep their spacing
    group = ET.SubElement(
        ET.SubElement(file, _m("metadata")), _m("metaGroup"), {"category": CATEGORY}
    )
    for name in META_FIELDS:
        ET.SubElement(group, _m("meta"), {"type": name}).text = output.get(name)
    ET.SubElement(group, _m("meta"), {"type": "output"}).text = output.rel
    for unit in units:
        elem = ET.SubElement(file, _x("unit"), {"id": unit.id})
        # The unit's <originalData> comes before its segment.
        coded = unit.encoded is not None and unit.coded is not None
        refs = _original_data(elem, unit.encoded) if coded and unit.encoded else {}
        seg = ET.SubElement(elem, _x("segment"), {"state": REVIEWED if unit.edited else TRANSLATED})
        if unit.encoded is not None and unit.coded is not None:
            _put_coded(ET.SubElement(seg, _x("source")), unit.encoded.text, refs)
            _put_coded(ET.SubElement(seg, _x("target")), unit.coded, refs)
        else:
            put_text(ET.SubElement(seg, _x("source")), unit.source, _cp)
            put_text(ET.SubElement(seg, _x("target")), unit.target, _cp)
    indent(root, frozenset({_x("source"), _x("target"), _m("meta"), _x("data")}))
    return serialize(root, {"": XLIFF_NS, "mda": MDA_NS})


#: Inline codes say that a translator must keep each of them once (they may move it).
_KEEP = {"canCopy": "no", "canDelete": "no"}


def _original_data(unit: ET.Element, enc: inline.Encoded) -> dict[tuple[str, int], str]:
    """Write the unit's ``<originalData>`` (each piece of markup once, ``d1``, ``d2``, ...)
    and return the data id of each placeholder: ``("x", n)``, ``("g", n)``, ``("/g", n)``."""
    data = ET.SubElement(unit, _x("originalData"))
    refs: dict[tuple[str, int], str] = {}
    markup: list[tuple[tuple[str, int], str]] = []
    for n in sorted({*enc.atoms, *enc.pairs}):
        if n in enc.atoms:
            markup.append((("x", n), enc.atoms[n]))
        else:
            opening, closing = enc.pairs[n]
            markup += [(("g", n), opening), (("/g", n), closing)]
    for i, (place, text) in enumerate(markup, start=1):
        refs[place] = f"d{i}"
        put_text(ET.SubElement(data, _x("data"), {"id": f"d{i}"}), text, _cp)
    return refs


def _put_coded(elem: ET.Element, text: str, refs: dict[tuple[str, int], str]) -> None:
    """``elem``'s content from placeholder text (well nested: ``inline.restore`` checked it)."""
    stack = [elem]
    for part in inline.split_placeholders(text):
        if isinstance(part, str):
            add_text(stack[-1], part, _cp)
            continue
        kind, n = part
        if kind == "x":
            ET.SubElement(stack[-1], _x("ph"), {"id": str(n), "dataRef": refs[part], **_KEEP})
        elif kind == "g":
            attrs = {"dataRefStart": refs[part], "dataRefEnd": refs[("/g", n)]}
            stack.append(ET.SubElement(stack[-1], _x("pc"), {"id": str(n), **attrs, **_KEEP}))
        else:
            stack.pop()


@dataclass
class XliffUnit:
    """A unit as read back: its id, source and target (None: the file has no target), the
    two with placeholders for inline codes (``<g1>``, ``</g1>``, ``<x3/>``)."""

    id: str
    source: str
    target: str | None
    source_codes: int = 0  # inline codes read in the source
    target_codes: int = 0  # and in the target
    code_tag: str = ""  # the first code's element, for messages
    typed: bool = False  # the target's own text reads as a placeholder


@dataclass
class XliffFile:
    """What an XLIFF file says: languages, workbench's metadata and the units in order."""

    src: str
    trg: str
    meta: dict[str, str] = field(default_factory=dict)
    units: list[XliffUnit] = field(default_factory=list)


def read_xliff(data: bytes, name: str) -> XliffFile:
    """Parse an XLIFF 2 file (untrusted); WorkbenchError names ``name`` and what is wrong."""
    root = parse_untrusted(data, name)
    if root.tag == qname(XLIFF_12_NS, "xliff"):
        raise WorkbenchError(f"{name}: is XLIFF 1.2; save it as XLIFF 2.0 or 2.1 and import that")
    if root.tag != _x("xliff"):
        raise WorkbenchError(
            f"{name}: is not XLIFF 2 (its root element is {_show(root.tag)}, not <xliff> in "
            f"the {XLIFF_NS} namespace)"
        )
    version = root.get("version", "")
    if not version.startswith("2."):
        raise WorkbenchError(f"{name}: is XLIFF version {version or '(none)'}; expected 2.0 or 2.1")
    src, trg = root.get("srcLang", ""), root.get("trgLang", "")
    if not src or not trg:
        raise WorkbenchError(f"{name}: lacks srcLang or trgLang on <xliff>")
    files = root.findall(_x("file"))
    if len(files) != 1:
        raise WorkbenchError(
            f"{name}: holds {len(files)} <file> elements; workbench exports one per output, "
            "so import each output's own file"
        )
    found = XliffFile(src, trg, _meta(files[0]))
    try:
        for elem in files[0].iter(_x("unit")):
            found.units.append(_unit(elem, name))
    except RecursionError:
        raise WorkbenchError(f"{name}: nests inline elements too deeply to be read") from None
    return found


def _show(tag: str) -> str:
    uri, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return f"<{local}> ({uri})" if uri else f"<{local}>"


def _meta(file: ET.Element) -> dict[str, str]:
    meta: dict[str, str] = {}
    for group in file.iter(_m("metaGroup")):
        if group.get("category") != CATEGORY:
            continue
        for item in group.findall(_m("meta")):
            meta.setdefault(item.get("type", ""), "".join(item.itertext()))
    return meta


def _unit(elem: ET.Element, name: str) -> XliffUnit:
    uid = elem.get("id", "")
    if not uid:
        raise WorkbenchError(f"{name}: a <unit> has no id")
    where = f"{name}: unit {uid}"
    parts = [child for child in elem if child.tag in (_x("segment"), _x("ignorable"))]
    if not any(part.tag == _x("segment") for part in parts):
        raise WorkbenchError(f"{where} has no <segment>")
    source, target = "", ""
    complete = True
    src_read, tgt_read = _Read(), _Read()
    for part in parts:
        src = part.find(_x("source"))
        if src is None:
            raise WorkbenchError(f"{where} has a {_show(part.tag)} without <source>")
        text = _content(src, where, src_read)
        source += text
        tgt = part.find(_x("target"))
        if tgt is not None:
            target += _content(tgt, where, tgt_read)
        elif part.tag == _x("ignorable"):
            target += text  # an ignorable without a target stands as its source
        else:
            complete = False
    return XliffUnit(
        uid,
        source,
        target if complete else None,
        src_read.codes,
        tgt_read.codes,
        src_read.tag or tgt_read.tag,
        inline.has_placeholder("".join(tgt_read.plain)),
    )


@dataclass
class _Read:
    """What reading a source or target found besides its text."""

    codes: int = 0
    tag: str = ""
    plain: list[str] = field(default_factory=list)  # its text, a NUL for each code


#: Inline codes read back as placeholders; the attribute holding their number.
_CODES = {_x("ph"): "id", _x("pc"): "id", _x("sc"): "id", _x("ec"): "startRef"}
_NUMBER = re.compile(r"[0-9]{1,6}")


#: Inline elements whose content is kept as text: annotations and the markers of a span.
_KEEP_TEXT = frozenset({_x("mrk"), _x("pc"), _x("sm"), _x("em")})


def _content(elem: ET.Element, where: str, read: _Read) -> str:
    """The text of a source or target: ``<cp/>`` decoded, annotations unwrapped, inline
    codes as placeholders."""
    out = [elem.text or ""]
    read.plain.append(elem.text or "")
    for child in elem:
        number = child.get(_CODES.get(child.tag, ""), "")
        if child.tag == _x("ec") and not number:
            number = child.get("id", "")  # an isolated end
        if child.tag == _x("cp"):
            out.append(_code_point(child.get("hex", ""), where))
            read.plain.append(out[-1])
        elif child.tag in _CODES and _NUMBER.fullmatch(number):
            n = int(number)
            read.codes += 1
            read.tag = read.tag or _show(child.tag)
            read.plain.append("\0")
            if child.tag == _x("ph"):
                out.append(f"<x{n}/>")
            elif child.tag == _x("pc"):
                out += [f"<g{n}>", _content(child, where, read), f"</g{n}>"]
                read.plain.append("\0")
            else:
                out.append(f"<g{n}>" if child.tag == _x("sc") else f"</g{n}>")
        elif child.tag in _KEEP_TEXT:
            out.append(_content(child, where, read))
        else:
            raise WorkbenchError(
                f"{where} has an inline {_show(child.tag)} that workbench did not write, so "
                "it stands for nothing here: remove it"
            )
        out.append(child.tail or "")
        read.plain.append(child.tail or "")
    return "".join(out)


def _code_point(hex_value: str, where: str) -> str:
    try:
        value = int(hex_value, 16)
        if len(hex_value) > 6 or not 0 <= value <= 0x10FFFF:
            raise ValueError
    except ValueError:
        raise WorkbenchError(f'{where} has <cp hex="{hex_value}">, not a code point') from None
    return chr(value)
