"""The article model: parse .txt and .md news articles into blocks and render them back.

A document is a list of blocks. Every line is stored as prefix + text + suffix + line ending, and
everything except the text is kept verbatim, so ``parse(t).render() == t`` for any string ``t``
(BOM, CRLF, mixed line endings and trailing whitespace included). Translation replaces only the
text of translatable blocks.

Tables: each cell is its own block of kind ``'table'``. The pipes and padding before a cell are
its prefix, a row's trailing pipe is the suffix of its last cell, and the cells of a row share one
line (their line ending is ``''`` except on the last cell), so pipes stay byte-identical and no
translation can move a cell boundary. The delimiter row is a single non-translatable block.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from workbench.errors import InputError
from workbench.furniture import RELATED as _RELATED
from workbench.furniture import URL_LINE as _URL_LINE
from workbench.furniture import (
    is_caption_under_image,
    is_credit,
    is_header_meta,
    is_image_line,
    line_kind,
)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown")

# Kinds whose text is prose and goes to the translator (when it has any letter).
PROSE_KINDS = frozenset(
    {"title", "meta", "heading", "paragraph", "list_item", "quote", "related", "table"}
    | {"caption", "image", "source"}  # news furniture (furniture.py), like meta and related
)

# Where bylines and datelines are looked for: this many lines below the title.
_HEADER_LINES = 12
# Kinds of news furniture: kept and translated like any text, never part of the body.
FURNITURE_KINDS = frozenset({"meta", "caption", "image", "source", "related"})
#: Kinds left out of ``prose()`` (the text language detection reads): furniture other than
#: "related" lines, which are sentences, and bare URL lines.
_NOT_PROSE = (FURNITURE_KINDS - {"related"}) | {"url"}

# --- data: markdown ------------------------------------------------------------------------------

_ATX = re.compile(r"^( {0,3}#{1,6})(?=[ \t]|$)([ \t]*)")
_ATX_CLOSE = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HR = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_LIST = re.compile(r"^([ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+(?:\[[ xX]\][ \t]+)?|$))")
_QUOTE = re.compile(r"^((?:[ ]{0,3}>[ ]?)+)")
_FOOTNOTE_DEF = re.compile(r"^( {0,3}\[\^[^\]]+\]:[ \t]*)")
_LINK_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*\S")
_TABLE_DELIMITER = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_PIPE = re.compile(r"(?<!\\)\|")
_HTML_BLOCK_TAGS = (
    "address|article|aside|blockquote|body|caption|center|col|colgroup|dd|details|dialog|div"
    "|dl|dt|fieldset|figcaption|figure|footer|form|h[1-6]|head|header|hr|html|iframe|legend"
    "|li|link|main|menu|nav|ol|optgroup|option|p|param|section|summary|table|tbody|td|tfoot"
    "|th|thead|title|tr|ul|video|audio|picture|source"
)
_HTML_START = re.compile(
    rf"^ {{0,3}}(?:<!--|<![A-Za-z]|<\?|</?(?:{_HTML_BLOCK_TAGS})(?:[\s/>]|$)"
    r"|</?(?:script|pre|style|textarea)(?:[\s>]|$))",
    re.IGNORECASE,
)
_HTML_TAG_LINE = re.compile(r"^ {0,3}(?:</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>[ \t]*)+$")
_HTML_RAW = re.compile(r"^ {0,3}<(script|pre|style|textarea)(?:[\s>]|$)", re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Only ASCII spacing and line breaks separate words: a no-break space inside "10 km" stays.
_SPACES = re.compile(r"[ \t\n\r\f\v\x85\u2028\u2029]+")


def _has_letter(text: str) -> bool:
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
    fmt: str  # 'txt' or 'md'
    trailing_newline: bool
    source: str | None = None  # path, for messages

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
                if block.kind == "table":
                    text = _PIPE.sub(r"\\|", text)  # a pipe in a translation must not add a cell
                lines = rewrap(text, [len(line) for line in block.lines])
            out.append(block.render_lines(lines, self.newline))
        return "".join(out)

    def prose(self) -> str:
        """Title and body text for summarising or detecting the language, blank-line separated."""
        return "\n\n".join(
            block.text
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


# --- parsing -------------------------------------------------------------------------------------


def _split_lines(text: str) -> list[tuple[str, str]]:
    """(content, line ending) for each line; the last may have no ending."""
    lines = []
    start = 0
    for m in _LINE_BREAK.finditer(text):
        lines.append((text[start : m.start()], m.group()))
        start = m.end()
    if start < len(text):
        lines.append((text[start:], ""))
    return lines


def _strip_parts(content: str) -> tuple[str, str, str]:
    """(leading whitespace, text, trailing whitespace)."""
    text = content.strip(" \t")
    if not text:
        return content, "", ""
    start = content.index(text)
    return content[:start], text, content[start + len(text) :]


def _fence(content: str) -> str | None:
    """The opening fence of a fenced code block, if the line is one."""
    m = _FENCE.match(content)
    if not m or (m.group(1)[0] == "`" and "`" in m.group(2)):
        return None  # a backtick fence's info string has no backticks: that is inline code
    return m.group(1)


def _is_html_start(content: str) -> bool:
    if _URL_LINE.match(content):
        return False  # <https://...> alone on a line is a URL line, not HTML
    return bool(_HTML_START.match(content) or _HTML_TAG_LINE.match(content))


def _continues(first: str, second: str) -> bool:
    """Whether ``second`` carries on the sentence of ``first`` (a hard-wrapped paragraph)."""
    first, second = first.strip(), second.strip()
    return len(first) > 200 or first[-1:] in ",;:-–—" or second[:1].islower()


def _table_cells(content: str) -> list[tuple[int, int]]:
    """(start, end) of the stripped text of each cell of a table row."""
    pipes = [m.start() for m in _PIPE.finditer(content)]
    edges = [-1, *pipes, len(content)]
    cells = []
    for index, (a, b) in enumerate(pairwise(edges)):
        raw = content[a + 1 : b]
        outer = index == 0 or index == len(edges) - 2
        if outer and not raw.strip():
            continue  # indentation before a leading pipe, or space after a trailing one
        stripped = raw.strip(" \t")
        start = a + 1 + (raw.index(stripped) if stripped else len(raw))
        cells.append((start, start + len(stripped)))
    return cells


class _Parser:
    def __init__(self, lines: list[tuple[str, str]], fmt: str) -> None:
        self.lines = lines
        self.md = fmt == "md"
        self.blocks: list[Block] = []
        self.i = 0
        self.title_done = False  # the title slot is taken (or the article opened without one)
        self.header_until = -1  # bylines and datelines are looked for up to this line
        self.in_list = False
        self.caption_at = -1  # the line that may be the caption of the image above it
        self.credit_at = -1  # the line that may be the credit of the caption above it

    def content(self, k: int) -> str:
        return self.lines[k][0]

    def add(
        self,
        kind: str,
        start: int,
        end: int,
        prefixes: list[str] | None = None,
        texts: list[str] | None = None,
        suffixes: list[str] | None = None,
        translatable: bool | None = None,
    ) -> None:
        """Add lines start..end-1 as one block; without texts, the lines are kept verbatim."""
        contents = [self.content(k) for k in range(start, end)]
        texts = contents if texts is None else texts
        prefixes = prefixes or [""] * len(texts)
        suffixes = suffixes or [""] * len(texts)
        if translatable is None:
            translatable = kind in PROSE_KINDS and _has_letter("".join(texts))
        self.blocks.append(
            Block(
                kind=kind,
                prefix=prefixes[0],
                lines=texts,
                translatable=translatable,
                prefixes=prefixes,
                suffixes=suffixes,
                endings=[self.lines[k][1] for k in range(start, end)],
            )
        )
        self.i = end

    def add_prose(self, kind: str, start: int, end: int, first_prefix: str | None = None) -> None:
        """Lines start..end-1 as a prose block: indent and trailing whitespace are verbatim."""
        prefixes, texts, suffixes = [], [], []
        for k in range(start, end):
            content = self.content(k)
            lead = ""
            if k == start and first_prefix is not None:
                lead, content = first_prefix, content[len(first_prefix) :]
            pre, text, suf = _strip_parts(content)
            prefixes.append(lead + pre)
            texts.append(text)
            suffixes.append(suf)
        self.add(kind, start, end, prefixes, texts, suffixes)

    # --- line classification ---

    def blank(self, k: int) -> bool:
        return not self.content(k).strip()

    def in_header(self, k: int) -> bool:
        return k <= self.header_until or not self.title_done

    def table_start(self, k: int) -> bool:
        return (
            self.md
            and k + 1 < len(self.lines)
            and bool(_PIPE.search(self.content(k)))
            and bool(_PIPE.search(self.content(k + 1)))
            and bool(_TABLE_DELIMITER.match(self.content(k + 1)))
        )

    def interrupts(self, k: int, furniture: bool = True) -> bool:
        """Whether line k starts a new block instead of continuing a paragraph or list item.

        A furniture line does so only when it stands alone (``furniture`` False: never, which
        ``alone`` asks about the line after it).
        """
        content = self.content(k)
        if not content.strip():
            return True
        if self.md and (
            _fence(content) or _ATX.match(content) or _is_html_start(content) or self.table_start(k)
        ):
            return True
        return bool(
            _HR.match(content)
            or _QUOTE.match(content)
            or _LIST.match(content)
            or _URL_LINE.match(content)
            or _RELATED.match(content)
            or (self.md and is_image_line(content))
            or (furniture and bool(line_kind(content)) and self.alone(k))
            or (self.in_header(k) and is_header_meta(content))
        )

    def next_text_line(self, k: int) -> int:
        """The first line after k that has text, when at most one blank line comes between."""
        k += 1
        if k < len(self.lines) and self.blank(k):
            k += 1
        return k if k < len(self.lines) and not self.blank(k) else -1

    def alone(self, k: int) -> bool:
        """Whether line k is a paragraph of one line (what follows does not carry it on)."""
        if k + 1 >= len(self.lines):
            return True
        following = self.content(k + 1)
        return (
            self.interrupts(k + 1, furniture=False)
            or bool(line_kind(following))
            or is_credit(following)
            or not _continues(self.content(k), following)
        )

    def caption(self, k: int) -> bool:
        """Whether line k is a caption or credit: under an image, or a credit under the title."""
        content = self.content(k)
        if k == self.caption_at and self.alone(k):
            after = self.next_text_line(k)
            credit = after >= 0 and (
                line_kind(self.content(after)) == "caption" or is_credit(self.content(after))
            )
            return is_caption_under_image(content, credit)
        if k == self.credit_at or (self.title_done and self.in_header(k)):
            return is_credit(content) and self.alone(k)
        return False

    # --- block readers ---

    def parse(self) -> list[Block]:
        if self.md:
            self.front_matter()
        while self.i < len(self.lines):
            before = len(self.blocks)
            self.step()
            for block in self.blocks[before:]:
                self.after(block)
        return self.blocks

    def after(self, block: Block) -> None:
        if block.kind == "title":
            self.title_done = True
            self.header_until = self.i + _HEADER_LINES
        elif block.translatable and block.kind not in FURNITURE_KINDS:
            # The first text of the article that is not the title: no title, no bylines.
            self.title_done = True
            self.header_until = -1
        # The line under an image may be its caption, the line under a caption its credit.
        if block.kind == "image" or (
            block.kind == "html" and any("<img" in line.lower() for line in block.lines)
        ):
            self.caption_at = self.next_text_line(self.i - 1)
        elif block.kind == "caption":
            self.credit_at = self.next_text_line(self.i - 1)
        # Inside a list, indented text after a blank line continues an item: it is not code.
        if block.kind == "list_item":
            self.in_list = True
        elif block.kind == "blank" or (block.kind == "paragraph" and block.prefix[:1].isspace()):
            pass
        else:
            self.in_list = False

    def front_matter(self) -> None:
        if not self.lines or self.content(0).rstrip() != "---":
            return
        for k in range(1, len(self.lines)):
            if self.content(k).rstrip() in ("---", "..."):
                self.add("front_matter", 0, k + 1, translatable=False)
                return

    def step(self) -> None:
        i, content = self.i, self.content(self.i)
        n = len(self.lines)
        if not content.strip():
            end = i
            while end < n and self.blank(end):
                end += 1
            self.add("blank", i, end, translatable=False)
            return
        if self.md:
            if fence := _fence(content):
                self.fenced_code(fence)
                return
            if self.indented_code():
                return
            if _is_html_start(content):
                self.html_block()
                return
            if self.table_start(i):
                self.table()
                return
        if _URL_LINE.match(content):
            pre, text, suf = _strip_parts(content)
            self.add("url", i, i + 1, [pre], [text], [suf], translatable=False)
            return
        if _RELATED.match(content):
            self.add_prose("related", i, i + 1)
            return
        if self.md and is_image_line(content):
            self.add_prose("image", i, i + 1)
            return
        if (kind := line_kind(content)) and self.alone(i):
            self.add_prose(kind, i, i + 1)
            return
        if self.md:
            if footnote := _FOOTNOTE_DEF.match(content):
                self.add_prose("paragraph", i, self.paragraph_end(i), footnote.group(1))
                return
            if _LINK_DEF.match(content):
                pre, text, suf = _strip_parts(content)
                self.add("url", i, i + 1, [pre], [text], [suf], translatable=False)
                return
        if self.title_done and self.in_header(i) and is_header_meta(content):
            self.add_prose("meta", i, i + 1)
            return
        if self.md and (atx := _ATX.match(content)):
            self.atx_heading(atx)
            return
        if _HR.match(content):
            self.add("hr", i, i + 1, translatable=False)
            return
        if _QUOTE.match(content):
            self.quote()
            return
        if item := _LIST.match(content):
            self.add_prose("list_item", i, self.paragraph_end(i), item.group(1))
            return
        if self.caption(i):
            self.add_prose("caption", i, i + 1)
            return
        self.paragraph()

    def fenced_code(self, fence: str) -> None:
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = self.i + 1
        while end < len(self.lines) and not closing.match(self.content(end)):
            end += 1
        self.add("code", self.i, min(end + 1, len(self.lines)), translatable=False)

    def indented_code(self) -> bool:
        # Indented code follows a blank line (or opens the document) and is not a list's
        # indented continuation.
        content = self.content(self.i)
        if not content.startswith(("    ", "\t")) or self.in_list:
            return False
        if self.blocks and self.blocks[-1].kind not in ("blank", "front_matter"):
            return False
        end = self.i
        last = self.i
        while end < len(self.lines):
            line = self.content(end)
            if line.startswith(("    ", "\t")) and line.strip():
                last = end
            elif line.strip():
                break
            end += 1
        self.add("code", self.i, last + 1, translatable=False)
        return True

    def html_block(self) -> None:
        content = self.content(self.i)
        end = self.i
        raw = _HTML_RAW.match(content)
        if content.lstrip().startswith("<!--"):
            while end < len(self.lines) and "-->" not in self.content(end):
                end += 1
        elif raw:
            closing = f"</{raw.group(1).lower()}>"
            while end < len(self.lines) and closing not in self.content(end).lower():
                end += 1
        else:
            while end + 1 < len(self.lines) and not self.blank(end + 1):
                end += 1
        self.add("html", self.i, min(end + 1, len(self.lines)), translatable=False)

    def table(self) -> None:
        self.table_row(self.i)
        self.add("table", self.i, self.i + 1, translatable=False)  # the delimiter row
        while self.i < len(self.lines):
            content = self.content(self.i)
            if not content.strip() or not _PIPE.search(content):
                break
            self.table_row(self.i)

    def table_row(self, k: int) -> None:
        content, ending = self.lines[k]
        cells = _table_cells(content)
        if not cells:
            self.add("table", k, k + 1, translatable=False)
            return
        previous = 0
        for index, (start, end) in enumerate(cells):
            last = index == len(cells) - 1
            text = content[start:end]
            self.blocks.append(
                Block(
                    kind="table",
                    prefix=content[previous:start],
                    lines=[text],
                    translatable=_has_letter(text),
                    prefixes=[content[previous:start]],
                    suffixes=[content[end:] if last else ""],
                    endings=[ending if last else ""],
                )
            )
            previous = end
        self.i = k + 1

    def atx_heading(self, atx: re.Match[str]) -> None:
        content = self.content(self.i)
        prefix = atx.group(0)
        rest = content[len(prefix) :]
        closing = _ATX_CLOSE.search(rest)
        text, suffix = (rest[: closing.start()], rest[closing.start() :]) if closing else (rest, "")
        pre, text, suf = _strip_parts(text)
        kind = "heading" if self.title_done else "title"
        self.add(kind, self.i, self.i + 1, [prefix + pre], [text], [suf + suffix])

    def quote(self) -> None:
        # One block per run of quote lines of the same depth; a list item or heading inside
        # the quote starts a new block, its marker joining the prefix.
        start = self.i

        def depth(k: int) -> int:
            m = _QUOTE.match(self.content(k))
            return m.group(1).count(">") if m else 0

        def inner(k: int) -> tuple[str, str]:
            m = _QUOTE.match(self.content(k))
            assert m is not None
            rest = self.content(k)[m.end() :]
            marker = _LIST.match(rest) or _ATX.match(rest)
            extra = marker.group(0) if marker else ""
            return m.group(1) + extra, rest[len(extra) :]

        prefix, rest = inner(start)
        if not rest.strip():
            self.add("quote", start, start + 1, [prefix], [""], [rest], translatable=False)
            return
        end = start + 1
        while end < len(self.lines) and depth(end) == depth(start):
            next_prefix, next_rest = inner(end)
            m = _QUOTE.match(self.content(end))
            if not next_rest.strip() or (m is not None and next_prefix != m.group(1)):
                break
            end += 1
        prefixes, texts, suffixes = [], [], []
        for k in range(start, end):
            line_prefix, rest = inner(k)
            pre, text, suf = _strip_parts(rest)
            prefixes.append(line_prefix + pre)
            texts.append(text)
            suffixes.append(suf)
        self.add("quote", start, end, prefixes, texts, suffixes)

    def paragraph_end(self, start: int) -> int:
        end = start + 1
        while end < len(self.lines) and not self.interrupts(end):
            if _SETEXT.match(self.content(end)):
                break
            end += 1
        return end

    def paragraph(self) -> None:
        start = self.i
        end = start + 1
        setext = False
        while end < len(self.lines):
            if _SETEXT.match(self.content(end)):
                setext = True
                break
            if self.interrupts(end):
                break
            end += 1
        if setext:
            self.add_prose("heading" if self.title_done else "title", start, end)
            self.add("heading", end, end + 1, translatable=False)  # the underline
            return
        if not self.title_done:
            first = self.content(start)
            alone = end == start + 1 or not _continues(first, self.content(start + 1))
            if alone and len(first.strip()) <= 300:
                self.add_prose("title", start, start + 1)
                return
        self.add_prose("paragraph", start, end)


def parse(text: str, fmt: str = "md") -> Document:
    """Parse an article (``fmt`` 'md' or 'txt'); the text may carry a BOM and CRLF line endings."""
    bom = text.startswith("\ufeff")
    body = text[1:] if bom else text
    lines = _split_lines(body)
    counts = {ending: 0 for ending in ("\n", "\r\n", "\r")}
    for _, ending in lines:
        if ending:
            counts[ending] += 1
    newline = "\r\n" if counts["\r\n"] > counts["\n"] else "\n"
    blocks = _Parser(lines, "md" if fmt == "md" else "txt").parse()
    return Document(
        blocks=blocks,
        newline=newline,
        bom=bom,
        fmt="md" if fmt == "md" else "txt",
        trailing_newline=bool(lines) and bool(lines[-1][1]),
    )


def content_hash(text: str) -> str:
    """SHA-256 (hex) of the text with BOM, line-ending, Unicode-form and trailing-space noise removed."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(line.rstrip() for line in text.split("\n")).rstrip("\n")
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def read_document(path: str | Path) -> Document:
    """Read and parse a .txt or .md article; InputError says what is wrong and what to do."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError(name, "no such file; check the path")
    if path.is_dir():
        raise InputError(name, "is a directory, not a file; pass a .txt or .md file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(name, f"cannot be read ({reason}); check its permissions") from exc
    if not data:
        raise InputError(name, "is empty; there is no text to work on")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(name, "is UTF-16 text; re-save it as UTF-8")
    if b"\x00" in data:
        raise InputError(name, "looks like a binary file (it contains NUL bytes); pass a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            name,
            f"is not UTF-8 text (invalid byte 0x{data[exc.start]:02X} at offset {exc.start}); "
            "re-save it as UTF-8",
        ) from exc
    if not text.lstrip("\ufeff").strip():
        raise InputError(name, "contains only whitespace; there is no text to work on")
    fmt = "md" if path.suffix.lower() in (".md", ".markdown") else "txt"
    document = parse(text, fmt)
    document.source = name
    return document
