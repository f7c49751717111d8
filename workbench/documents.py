"""The article model: a document as blocks, rendered back byte for byte, and reading articles.

A document is a list of blocks. Every line is stored as prefix + text + suffix + line ending, and
everything except the text is kept verbatim, so ``parse(t).render() == t`` for any string ``t``
(BOM, CRLF, mixed line endings and trailing whitespace included). Translation replaces only the
text of translatable blocks.

How a format's text becomes blocks (and any escaping a replacement needs) is the format's
business: see ``workbench.formats``. Here a document is parsed or read by dispatching to its
format by name or by file suffix.

Tables (Markdown): each cell is its own block of kind ``'table'``. The pipes and padding before a
cell are its prefix, a row's trailing pipe is the suffix of its last cell, and the cells of a row
share one line (their line ending is ``''`` except on the last cell), so pipes stay
byte-identical and no translation can move a cell boundary. The delimiter row is a single
non-translatable block.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from workbench import formats
from workbench.errors import InputError

# Kinds whose text is prose and goes to the translator (when it has any letter).
PROSE_KINDS = frozenset(
    {"title", "meta", "heading", "paragraph", "list_item", "quote", "related", "table"}
    | {"caption", "image", "source"}  # news furniture (furniture.py), like meta and related
)

# Kinds of news furniture: kept and translated like any text, never part of the body.
FURNITURE_KINDS = frozenset({"meta", "caption", "image", "source", "related"})
#: Kinds left out of ``prose()`` (the text language detection reads): furniture other than
#: "related" lines, which are sentences, and bare URL lines.
_NOT_PROSE = (FURNITURE_KINDS - {"related"}) | {"url"}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Only ASCII spacing and line breaks separate words: a no-break space inside "10 km" stays.
_SPACES = re.compile(r"[ \t\n\r\f\v\x85\u2028\u2029]+")

#: The lines of a text: (content, line ending) pairs, the last ending perhaps ``''``.
Lines = list[tuple[str, str]]


def has_letter(text: str) -> bool:
    """Whether ``text`` has a letter: prose blocks without one are not translated."""
    return any(ch.isalpha() for ch in text)


def _is_wide(ch: str) -> bool:
    # Chinese and Japanese are written without spaces; Hangul is wide but uses spaces.
    if not ch or "\uac00" <= ch <= "\ud7af" or "\u1100" <= ch <= "\u11ff":
        return False
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _join_lines(lines: list[str]) -> str:
    text = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if text and not (_is_wide(text[-1]) and _is_wide(line[0])):
            text += " "
        text += line
    return text


@dataclass
class Block:
    """A run of lines of one kind; only ``lines`` is ever replaced, the rest is verbatim."""

    kind: str  # title, meta, heading, paragraph, list_item, quote, url, related, code, hr,
    # table, html, blank, front_matter; news furniture: caption, image, source (see furniture.py)
    prefix: str  # markup or indent before the text of the first line: '## ', '- ', '> ', '  '
    lines: list[str]  # text of each line, without prefix, suffix and line ending
    translatable: bool
    # Per line, verbatim: the prefix (the first equals ``prefix``; continuation lines have their
    # own indent or '> '), the suffix (trailing whitespace, closing '#'s, a table's last pipe) and
    # the line ending as in the input ('' after the last line without one, and between the cells
    # of a table row). Missing entries mean: no prefix/suffix, the document's newline.
    prefixes: list[str] = field(default_factory=list)
    suffixes: list[str] = field(default_factory=list)
    endings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The block's text as one line: lines joined by single spaces (none between CJK)."""
        return _join_lines(self.lines)

    def render_lines(self, lines: list[str], newline: str = "\n") -> str:
        """This block with ``lines`` in place of its text, markup and line endings kept."""
        out = []
        for i, line in enumerate(lines):
            pre = self.prefixes[i] if i < len(self.prefixes) else (self.prefix if i == 0 else "")
            suf = self.suffixes[i] if i < len(self.suffixes) else ""
            end = self.endings[i] if i < len(self.endings) else newline
            out.append(pre + line + suf + end)
        return "".join(out)


@dataclass
class Document:
    """A parsed article: blocks plus what is needed to write it back byte for byte."""

    blocks: list[Block]
    newline: str  # '\n' or '\r\n': the input's dominant line ending
    bom: bool
    fmt: str  # the name of its format (workbench.formats): 'txt', 'md', ...
    trailing_newline: bool
    source: str | None = None  # path, for messages
    # A binary format's input bytes (a Word file), which its render rebuilds the output from;
    # None for text formats, which render from the blocks alone.
    data: bytes | None = None

    @property
    def format(self) -> formats.Format[Document]:
        """The format the document was parsed from and renders back to."""
        return formats.get(self.fmt)

    def translatable_blocks(self) -> list[Block]:
        """The blocks whose text is translated, in order."""
        return [block for block in self.blocks if block.translatable]

    def translatable_texts(self) -> list[str]:
        """The text of each translatable block, in order (several lines joined by spaces)."""
        return [block.text for block in self.translatable_blocks()]

    def render(self, texts: list[str] | None = None) -> str:
        """The document as text; with ``texts``, one replacement per translatable block.

        Without ``texts`` the result is the original input byte for byte. A replaced block keeps
        its prefix, suffixes, line endings and number of lines: the new text is re-wrapped.
        A binary format (``format.binary``) returns bytes.
        """
        return self.format.render(self, texts)

    def render_translation(self, texts: list[str], lang: str) -> str:
        """The document with ``texts`` in place, as a translation into ``lang``."""
        return self.format.render_translation(self, texts, lang)

    def view(self, texts: list[str] | None = None) -> str:
        """The document as readable text (``render`` itself for a text format; a Word file's
        paragraphs as Markdown-like text), with ``texts`` in place when given."""
        return self.format.view(self, texts)

    def input_hash(self) -> str:
        """What identifies this input in cache keys and provenance (``input_sha256``): the
        normalised text's ``content_hash``, or the SHA-256 of a binary format's bytes (its
        output carries every byte of them that is not translated)."""
        if self.format.binary:
            return hashlib.sha256(self.data or b"").hexdigest()
        return content_hash(self.render())

    def as_text(self) -> Document:
        """This document as a text document: itself, or a binary format's ``view`` parsed in
        the format it is written in (what summaries and language detection read)."""
        if not self.format.binary:
            return self
        return self.format.readable().parse(self.view(), self.source)

    def render_blocks(
        self, texts: list[str] | None = None, escape: Callable[[Block, str], str] | None = None
    ) -> str:
        """``render`` block by block, the part every format shares.

        ``escape`` (a format's) makes a replacement text safe in its block, e.g. a pipe in a
        Markdown table cell.
        """
        wanted = sum(1 for block in self.blocks if block.translatable)
        if texts is not None and len(texts) != wanted:
            raise ValueError(f"expected {wanted} texts, got {len(texts)}")
        replacements = iter(texts or ())
        out = ["\ufeff"] if self.bom else []
        for block in self.blocks:
            lines = block.lines
            if texts is not None and block.translatable:
                text = next(replacements)
                if escape is not None:
                    text = escape(block, text)
                lines = rewrap(text, [len(line) for line in block.lines])
            out.append(block.render_lines(lines, self.newline))
        return "".join(out)

    def recipe_extra(self) -> dict[str, Any]:
        """What this document's reading adds to the recipes of its translations and summaries,
        when how it is cut into blocks changed for it (see ``HtmlDocument``); empty for most."""
        return {}

    def prose(self) -> str:
        """Title and body text for summarising or detecting the language, blank-line separated."""
        if self.format.binary:  # block texts carry the format's inline markup: read the view
            return self.as_text().prose()
        plain = self.format.plain
        return "\n\n".join(
            plain(block.text)
            for block in self.blocks
            if block.translatable and block.kind not in _NOT_PROSE
        )


# --- re-wrapping -------------------------------------------------------------------------------


def _proportional_cuts(positions: list[int], total: int, widths: list[int]) -> list[int]:
    """Indices into ``positions`` (offsets of possible cuts) for len(widths) - 1 cuts.

    Each cut lands as close as possible to where the original lines' share of the width puts it,
    with at least one unit per line.
    """
    count = len(widths)
    weight = sum(widths) or count
    shares = widths if sum(widths) else [1] * count
    cuts: list[int] = []
    previous = 0
    running = 0
    for line in range(count - 1):
        running += shares[line]
        target = total * running / weight
        low, high = previous + 1, len(positions) - (count - line)
        best = min(range(low, high + 1), key=lambda k: abs(positions[k] - target))
        cuts.append(best)
        previous = best
    return cuts


def rewrap(text: str, widths: list[int]) -> list[str]:
    """Split ``text`` into ``len(widths)`` lines roughly in proportion to ``widths``.

    Splits at spaces; mostly-Chinese or Japanese text is split between characters. With fewer
    words than lines, the last lines are empty.
    """
    count = len(widths)
    flat = _SPACES.sub(" ", text).strip()
    if count <= 1:
        return [flat] * count
    words = flat.split(" ") if flat else []
    if sum(1 for ch in flat if _is_wide(ch)) * 2 >= len(flat) and len(flat) >= count:
        # Mostly Chinese or Japanese: cut between characters.
        cuts = _proportional_cuts(list(range(len(flat) + 1)), len(flat), widths)
        return [flat[a:b].strip() for a, b in pairwise([0, *cuts, len(flat)])]
    if len(words) >= count:
        # Offsets where word k starts, counting single spaces between words.
        positions = [0]
        for word in words:
            positions.append(positions[-1] + len(word) + 1)
        cuts = _proportional_cuts(positions, len(flat), widths)
        return [" ".join(words[a:b]) for a, b in pairwise([0, *cuts, len(words)])]
    return words + [""] * (count - len(words))


# --- parsing and reading ---------------------------------------------------------------------


def split_lines(text: str) -> Lines:
    """(content, line ending) for each line; the last may have no ending."""
    lines = []
    start = 0
    for m in _LINE_BREAK.finditer(text):
        lines.append((text[start : m.start()], m.group()))
        start = m.end()
    if start < len(text):
        lines.append((text[start:], ""))
    return lines


def build(
    text: str, fmt: str, read: Callable[[Lines], list[Block]], source: str | None = None
) -> Document:
    """The document of format ``fmt`` in ``text``: a format's ``parse``, given its reader.

    The BOM and the dominant line ending are noted here; ``read`` turns the lines into blocks
    that cover every line, in order, each with its line ending.
    """
    bom = text.startswith("\ufeff")
    lines = split_lines(text[1:] if bom else text)
    counts = {ending: 0 for ending in ("\n", "\r\n", "\r")}
    for _, ending in lines:
        if ending:
            counts[ending] += 1
    return Document(
        blocks=read(lines),
        newline="\r\n" if counts["\r\n"] > counts["\n"] else "\n",
        bom=bom,
        fmt=fmt,
        trailing_newline=bool(lines) and bool(lines[-1][1]),
        source=source,
    )


def parse(text: str, fmt: str = formats.DEFAULT) -> Document:
    """Parse an article in the format named ``fmt`` ('md', 'txt', ...); the text may carry a
    BOM and CRLF line endings."""
    return formats.get(fmt).parse(text)


def content_hash(text: str) -> str:
    """SHA-256 (hex) of the text with BOM, line-ending, Unicode-form and trailing-space noise removed."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(line.rstrip() for line in text.split("\n")).rstrip("\n")
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def read_document(path: str | Path, fmt: str | None = None) -> Document:
    """Read and parse an article in the format named ``fmt``, else that of its suffix (plain
    text without one); InputError says what is wrong and what to do."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError(name, "no such file; check the path")
    if path.is_dir():
        raise InputError(name, f"is a directory, not a file; pass a {formats.either()} file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(name, f"cannot be read ({reason}); check its permissions") from exc
    if not data:
        raise InputError(name, "is empty; there is no text to work on")
    # A suffix no format reads is read as plain text here; folder runs and the CLI refuse such
    # files before reading them (runs/outputs.py).
    chosen = formats.get(fmt) if fmt else formats.for_path(path) or formats.get(formats.PLAIN)
    if chosen.binary:
        return chosen.parse(data, name)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(name, "is UTF-16 text; re-save it as UTF-8")
    if b"\x00" in data:
        raise InputError(name, "looks like a binary file (it contains NUL bytes); pass a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        hint = chosen.encoding_hint(data)
        raise InputError(
            name,
            f"is not UTF-8 text (invalid byte 0x{data[exc.start]:02X} at offset {exc.start}); "
            + (hint or "re-save it as UTF-8"),
        ) from exc
    if not text.lstrip("\ufeff").strip():
        raise InputError(name, "contains only whitespace; there is no text to work on")
    return chosen.parse(text, name)
