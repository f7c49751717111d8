"""Assertions about faithfulness that hold whatever a (tiny, random) model writes."""

from __future__ import annotations

import re

from workbench import segment
from workbench.documents import Document

URL = re.compile(r"https?://[^\s)\]>]+")
CODE = re.compile(r"`[^`]+`")
LINK_TARGET = re.compile(r"\]\([^)]*\)")


def assert_structure_kept(source: str, translated: str) -> None:
    """Same lines in the same order with the same markup; URLs, link targets and code intact."""
    src_lines = source.splitlines(keepends=True)
    out_lines = translated.splitlines(keepends=True)
    assert len(out_lines) == len(src_lines), "line count changed"
    for a, b in zip(src_lines, out_lines, strict=True):
        # Line endings, blank lines and leading markup survive line by line.
        assert a.endswith("\r\n") == b.endswith("\r\n")
        assert (a.strip() == "") == (b.strip() == "")
        for marker in ("# ", "## ", "- ", "> ", "1. ", "2. ", "3. "):
            if a.startswith(marker):
                assert b.startswith(marker), (a, b)
        if URL.fullmatch(a.strip()):
            assert a == b, "a URL line changed"
    # Protected spans come through byte-identical (a random model may invent more backticks,
    # so this checks that each source span is present rather than comparing lists).
    for pattern in (URL, CODE, LINK_TARGET):
        rest = translated
        for span in pattern.findall(source):
            assert span in rest, span
            rest = rest[rest.index(span) + len(span) :]


def expected_segments(doc: Document, lang: str) -> list[str]:
    """Every translatable piece of a document, in order: what must come back translated."""
    out: list[str] = []
    for text in doc.translatable_texts():
        out.extend(
            p.text for p in segment.pieces(text, lang, markdown=doc.fmt == "md") if p.translate
        )
    return out
