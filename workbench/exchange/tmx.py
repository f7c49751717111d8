"""TMX 1.4b: one translation memory per run, every output's units as translation units.

Each ``<tu>`` holds the source and target ``<tuv xml:lang>`` and props naming what made it
(``x-signature``, ``x-model``, ``x-revision``, ``x-document``: the output's path, ``x-state``:
``translated``, or ``reviewed`` where a person edited the target). No dates are written, so
exporting the same run again writes the same bytes. TMX has no way to carry a character XML
cannot hold; such a character is written as ``<ph type="x-cp">`` with its hex code. A sentence
with inline markup (``exchange.codes``) carries it as TMX's inline codes, the markup as their
(escaped) content: paired markup as ``<bpt i="1" x="1">**</bpt>words<ept i="1">**</ept>``, the
rest as ``<ph x="3">`https://x`</ph>``; ``x`` is the same for a code in source and target.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from workbench import inline
from workbench.exchange.codes import add_text
from workbench.exchange.records import Output, Unit
from workbench.exchange.xliff import REVIEWED, TRANSLATED
from workbench.exchange.xmltext import XML_NS, indent, put_text, qname, serialize

NAME = "translations.tmx"
#: The header's source language when the run's documents were in several languages.
ALL = "*all*"


def _ph(parent: ET.Element, char: str) -> ET.Element:
    elem = ET.SubElement(parent, "ph", {"type": "x-cp"})
    elem.text = f"{ord(char):04X}"
    return elem


def _put_coded(seg: ET.Element, text: str, enc: inline.Encoded) -> None:
    """``seg``'s content from placeholder text, the markup as code content."""
    for part in inline.split_placeholders(text):
        if isinstance(part, str):
            add_text(seg, part, _ph)
            continue
        kind, n = part
        if kind == "x":
            ET.SubElement(seg, "ph", {"x": str(n)}).text = enc.atoms[n]
        elif kind == "g":
            ET.SubElement(seg, "bpt", {"i": str(n), "x": str(n)}).text = enc.pairs[n][0]
        else:
            ET.SubElement(seg, "ept", {"i": str(n)}).text = enc.pairs[n][1]


def tmx_text(items: list[tuple[Output, list[Unit]]], version: str) -> str:
    """The TMX 1.4b document of a run's outputs and their units."""
    sources = {output.get("source_lang") for output, _ in items}
    root = ET.Element("tmx", {"version": "1.4"})
    ET.SubElement(
        root,
        "header",
        {
            "creationtool": "workbench",
            "creationtoolversion": version,
            "segtype": "sentence",
            "o-tmf": "workbench",
            "adminlang": "en",
            "srclang": sources.pop() if len(sources) == 1 else ALL,
            "datatype": "plaintext",
        },
    )
    body = ET.SubElement(root, "body")
    lang = qname(XML_NS, "lang")
    for output, units in items:
        src, tgt = output.get("source_lang"), output.get("target_lang")
        for unit in units:
            tu = ET.SubElement(body, "tu", {"tuid": f"{output.rel}#{unit.id}", "srclang": src})
            props = {
                "x-signature": output.get("signature"),
                "x-model": output.get("model"),
                "x-revision": output.get("revision"),
                "x-document": output.rel,
                "x-state": REVIEWED if unit.edited else TRANSLATED,
            }
            for kind, value in props.items():
                ET.SubElement(tu, "prop", {"type": kind}).text = value
            if unit.encoded is not None and unit.coded is not None:
                for code, text in ((src, unit.encoded.text), (tgt, unit.coded)):
                    seg = ET.SubElement(ET.SubElement(tu, "tuv", {lang: code}), "seg")
                    _put_coded(seg, text, unit.encoded)
                continue
            for code, text in ((src, unit.source), (tgt, unit.target)):
                put_text(ET.SubElement(ET.SubElement(tu, "tuv", {lang: code}), "seg"), text, _ph)
    indent(root, frozenset({"seg", "prop"}))
    return serialize(root, {})
