"""Reading one input of a run: a file (in the format its suffix or ``--format`` names) or a web
page (fetched and read by ``workbench.web``), with the run's limits, and how it is recorded.

An input read in a format chosen by name is named after the document it became: a saved page
``story.html`` read with ``--format article`` is a Markdown article, so its outputs are
``story.uk.md``; a URL's outputs are named from the URL (``web.output_stem``) with the suffix
of its document's format. The provenance of its outputs records the format and, for a URL, the
fetch (``Source.record``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from workbench import formats
from workbench.documents import Document
from workbench.runs.limits import check_bytes, check_segments, read_limited
from workbench.runs.outputs import Source
from workbench.settings import RunSettings
from workbench.web import DEFAULT_FORMAT, read_url


def read_source(src: Source, limits: RunSettings | None = None) -> tuple[Source, Document]:
    """``src`` read (``limits``: the run's settings, None for no limits), and ``src`` renamed
    and recorded as its document says (see the module doc); InputError names the input."""
    if src.url is None:
        doc = read_limited(src.path, limits, src.fmt)
        if src.fmt is None:
            return src, doc
        return replace(src, rel=_named(src.rel, doc), record={"input_format": src.fmt}), doc
    doc, page = read_url(src.url, limits or RunSettings(), src.fmt)
    if limits is not None:  # the extracted document, as any document (the page had its own)
        check_bytes(src.url, len(doc.render().encode("utf-8")), limits.max_document_bytes)
        check_segments(doc, src.url, limits.max_segments)
    record: dict[str, Any] = {"input_format": src.fmt or DEFAULT_FORMAT, "fetch": page.record()}
    suffixes = doc.format.suffixes
    rel = Path(src.rel.name + (suffixes[0] if suffixes else formats.get(formats.PLAIN).suffixes[0]))
    return replace(src, rel=rel, record=record), doc


def _named(rel: Path, doc: Document) -> Path:
    """``rel`` with the suffix of ``doc``'s format, when its own suffix is another format's."""
    fmt = doc.format
    if formats.for_path(rel) is fmt or not fmt.suffixes:
        return rel
    return rel.with_suffix(fmt.suffixes[0])
