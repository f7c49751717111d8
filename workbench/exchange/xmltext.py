"""XML for exchange files: written with the standard library's ElementTree, read from
untrusted files with defusedxml (no DTD, no entities, nothing fetched).

Text is put into elements by ElementTree, which escapes it; what XML 1.0 cannot carry at all
(most control characters) becomes an element of the file format's own (XLIFF's ``<cp/>``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from workbench.errors import WorkbenchError

#: Characters XML 1.0 cannot carry, escaped or not.
ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
XML_NS = "http://www.w3.org/XML/1998/namespace"
#: An exchange file bigger than this is refused before it is parsed.
MAX_BYTES = 200_000_000
# Elements whose text is content: never re-indented, so their whitespace stays as it is.
_INDENT = "  "


def put_text(elem: ET.Element, text: str, code: Callable[[ET.Element, str], ET.Element]) -> None:
    """Set ``elem``'s content to ``text``; each character XML cannot carry becomes the element
    ``code(elem, char)`` makes (its tail carries on with the text)."""
    parts = ILLEGAL.split(text)
    chars = ILLEGAL.findall(text)
    elem.text = parts[0]
    for char, rest in zip(chars, parts[1:], strict=True):
        child = code(elem, char)
        child.tail = rest


def indent(elem: ET.Element, content: frozenset[str], level: int = 0) -> None:
    """Indent the structure of ``elem`` (two spaces a level), leaving the content of elements
    whose tag is in ``content`` exactly as it is (``ET.indent`` would touch inline codes)."""
    children = list(elem)
    if not children or elem.tag in content:
        return
    pad = "\n" + _INDENT * (level + 1)
    elem.text = pad
    for child in children:
        indent(child, content, level + 1)
        child.tail = pad
    children[-1].tail = "\n" + _INDENT * level


def serialize(root: ET.Element, namespaces: dict[str, str]) -> str:
    """The document of ``root`` as text with an XML declaration; ``namespaces`` maps prefixes
    ('' for the default namespace) to the URIs written with them."""
    for prefix, uri in namespaces.items():
        # ElementTree keeps prefixes in one registry; setting ours each time is harmless.
        ET.register_namespace(prefix, uri)
    body = ET.tostring(root, encoding="unicode")
    # ElementTree writes a carriage return in text as it is, which every parser reads back as
    # a line feed; a character reference keeps it (in attributes it is escaped already).
    body = body.replace("\r", "&#13;")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


def parse_untrusted(data: bytes, name: str) -> ET.Element:
    """The root element of an XML file from outside (a translator's tool), refusing what could
    make parsing dangerous: any DTD (so no entity can be declared or expanded, no billion
    laughs, nothing external fetched). Raises WorkbenchError naming ``name``."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if len(data) > MAX_BYTES:
        raise WorkbenchError(f"{name}: is {len(data):,} bytes, over {MAX_BYTES:,}; not read")
    try:
        root: Any = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise WorkbenchError(
            f"{name}: declares a DTD or entities (<!DOCTYPE ...>), which exchange files never "
            "need; refused unread (entities could expand without bound or read other files)"
        ) from None
    except ET.ParseError as exc:
        line, column = exc.position
        why = str(exc).split(":", 1)[0].removeprefix("not well-formed ").strip("()")
        raise WorkbenchError(
            f"{name}: not well-formed XML: {why} at line {line}, column {column + 1}"
        ) from None
    except LookupError as exc:  # an encoding declaration Python has no codec for
        raise WorkbenchError(f"{name}: cannot be decoded ({exc}); save it as UTF-8") from None
    return root


def qname(uri: str, tag: str) -> str:
    """ElementTree's ``{uri}tag``."""
    return f"{{{uri}}}{tag}"
