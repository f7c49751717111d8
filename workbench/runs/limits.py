"""Input size limits: a document over the run's bytes or sentences is refused in one line
before any work (``WORKBENCH_MAX_DOCUMENT_BYTES``, ``WORKBENCH_MAX_SEGMENTS``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from workbench.documents import Document, read_document
from workbench.errors import InputError


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def read_limited(path: Path, limits: Any | None, fmt: str | None = None) -> Document:
    """Read a document (in the format named ``fmt``, else by its suffix), refusing it first
    when it is over the run's size limits (``limits``: a RunSettings, or None for no limits)."""
    if limits is not None:
        check_size(path, limits.max_document_bytes)
    doc = read_document(path, fmt)
    if limits is not None:
        check_segments(doc, str(path), limits.max_segments)
    return doc


def check_size(path: Path, limit: int) -> None:
    """Refuse a file over ``limit`` bytes before reading it (0: no limit)."""
    if not limit:
        return
    try:
        size = path.stat().st_size
    except OSError:
        return  # reading it says what is wrong
    check_bytes(str(path), size, limit)


def check_bytes(name: str, size: int, limit: int) -> None:
    """Refuse a document of ``size`` bytes over ``limit`` (0: no limit), naming it ``name``
    (a path, ``stdin`` or ``text``)."""
    if limit and size > limit:
        raise InputError(
            name,
            f"is {_mb(size)}, over the limit of {_mb(limit)} per document; split it, or raise "
            "the limit with WORKBENCH_MAX_DOCUMENT_BYTES",
        )


# Sentence ends followed by a space: an upper estimate of the sentences of a text, so that the
# exact (slower) count runs only for a document that may be over the limit.
_SENTENCE_END = re.compile(r"[.!?。！？…]+[\s\"'”’»)]")


def check_segments(doc: Document, name: str, limit: int) -> None:
    """Refuse a document with more than ``limit`` sentences to translate (0: no limit)."""
    if not limit:
        return
    texts = doc.translatable_texts()
    estimate = sum(1 + len(_SENTENCE_END.findall(t)) for t in texts)
    if estimate <= limit:
        return
    from workbench.inline import split_sentences, syntax_of

    count = 0
    syntax = syntax_of(doc.format.inline_markup)
    for text in texts:
        count += len(split_sentences(text, "en", syntax))
        if count > limit:
            raise InputError(
                name,
                f"has over {limit:,} sentences, the limit per document; split it, or raise "
                "the limit with WORKBENCH_MAX_SEGMENTS",
            )
