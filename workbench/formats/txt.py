"""Plain-text news articles: a title, bylines and datelines, paragraphs, list items, quotes, URL
and "related" lines, captions and credits (furniture.py) and separator lines.

``TextParser`` reads them line by line; Markdown (markdown.py) extends it with its markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from workbench.documents import (
    FURNITURE_KINDS,
    PROSE_KINDS,
    Block,
    Document,
    Lines,
    build,
    has_letter,
)
from workbench.formats import Format
from workbench.furniture import (
    RELATED,
    URL_LINE,
    is_caption_under_image,
    is_credit,
    is_header_meta,
    line_kind,
)

# Where bylines and datelines are looked for: this many lines below the title.
_HEADER_LINES = 12

# An ATX heading marker: a Markdown heading, and in either format a heading inside a quote.
ATX = re.compile(r"^( {0,3}#{1,6})(?=[ \t]|$)([ \t]*)")
_HR = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
LIST = re.compile(r"^([ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+(?:\[[ xX]\][ \t]+)?|$))")
_QUOTE = re.compile(r"^((?:[ ]{0,3}>[ ]?)+)")

#: A block reader: given a line's index and content, adds its block(s) and says True, or False
#: when the line is not the start of its kind of block.
Reader = Callable[[int, str], bool]


def strip_parts(content: str) -> tuple[str, str, str]:
    """(leading whitespace, text, trailing whitespace)."""
    text = content.strip(" \t")
    if not text:
        return content, "", ""
    start = content.index(text)
    return content[:start], text, content[start + len(text) :]


def _continues(first: str, second: str) -> bool:
    """Whether ``second`` carries on the sentence of ``first`` (a hard-wrapped paragraph)."""
    first, second = first.strip(), second.strip()
    return len(first) > 200 or first[-1:] in ",;:-–—" or second[:1].islower()


class TextParser:
    """The lines of a plain-text article into blocks, in one pass.

    ``readers`` lists the block readers in the order they are tried on a line that is not
    blank; a line no reader takes starts a paragraph (or is the title). A format that extends
    plain text adds readers, and the lines its markup claims to ``starts_markup``.
    """

    def __init__(self, lines: Lines) -> None:
        self.lines = lines
        self.blocks: list[Block] = []
        self.i = 0
        self.title_done = False  # the title slot is taken (or the article opened without one)
        self.header_until = -1  # bylines and datelines are looked for up to this line
        self.in_list = False
        self.caption_at = -1  # the line that may be the caption of the image above it
        self.credit_at = -1  # the line that may be the credit of the caption above it
        self._readers = self.readers()

    def readers(self) -> list[Reader]:
        return [
            self.read_url,
            self.read_related,
            self.read_furniture,
            self.read_meta,
            self.read_hr,
            self.read_quote,
            self.read_list_item,
            self.read_caption,
        ]

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
            translatable = kind in PROSE_KINDS and has_letter("".join(texts))
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
            pre, text, suf = strip_parts(content)
            prefixes.append(lead + pre)
            texts.append(text)
            suffixes.append(suf)
        self.add(kind, start, end, prefixes, texts, suffixes)

    # --- line classification ---

    def blank(self, k: int) -> bool:
        return not self.content(k).strip()

    def in_header(self, k: int) -> bool:
        return k <= self.header_until or not self.title_done

    def starts_markup(self, k: int) -> bool:
        """Whether line k opens a block of the format's markup (plain text has none)."""
        return False

    def interrupts(self, k: int, furniture: bool = True) -> bool:
        """Whether line k starts a new block instead of continuing a paragraph or list item.

        A furniture line does so only when it stands alone (``furniture`` False: never, which
        ``alone`` asks about the line after it).
        """
        content = self.content(k)
        if not content.strip():
            return True
        if self.starts_markup(k):
            return True
        return bool(
            _HR.match(content)
            or _QUOTE.match(content)
            or LIST.match(content)
            or URL_LINE.match(content)
            or RELATED.match(content)
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

    # --- the pass ---

    def parse(self) -> list[Block]:
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

    def step(self) -> None:
        i, content = self.i, self.content(self.i)
        if not content.strip():
            end = i
            while end < len(self.lines) and self.blank(end):
                end += 1
            self.add("blank", i, end, translatable=False)
            return
        for read in self._readers:
            if read(i, content):
                return
        self.paragraph()

    # --- block readers ---

    def read_url(self, i: int, content: str) -> bool:
        if not URL_LINE.match(content):
            return False
        pre, text, suf = strip_parts(content)
        self.add("url", i, i + 1, [pre], [text], [suf], translatable=False)
        return True

    def read_related(self, i: int, content: str) -> bool:
        if not RELATED.match(content):
            return False
        self.add_prose("related", i, i + 1)
        return True

    def read_furniture(self, i: int, content: str) -> bool:
        if not ((kind := line_kind(content)) and self.alone(i)):
            return False
        self.add_prose(kind, i, i + 1)
        return True

    def read_meta(self, i: int, content: str) -> bool:
        if not (self.title_done and self.in_header(i) and is_header_meta(content)):
            return False
        self.add_prose("meta", i, i + 1)
        return True

    def read_hr(self, i: int, content: str) -> bool:
        if not _HR.match(content):
            return False
        self.add("hr", i, i + 1, translatable=False)
        return True

    def read_list_item(self, i: int, content: str) -> bool:
        if not (item := LIST.match(content)):
            return False
        self.add_prose("list_item", i, self.paragraph_end(i), item.group(1))
        return True

    def read_caption(self, i: int, content: str) -> bool:
        if not self.caption(i):
            return False
        self.add_prose("caption", i, i + 1)
        return True

    def read_quote(self, i: int, content: str) -> bool:
        # One block per run of quote lines of the same depth; a list item or heading inside
        # the quote starts a new block, its marker joining the prefix.
        if not _QUOTE.match(content):
            return False
        start = i

        def depth(k: int) -> int:
            m = _QUOTE.match(self.content(k))
            return m.group(1).count(">") if m else 0

        def inner(k: int) -> tuple[str, str]:
            m = _QUOTE.match(self.content(k))
            assert m is not None
            rest = self.content(k)[m.end() :]
            marker = LIST.match(rest) or ATX.match(rest)
            extra = marker.group(0) if marker else ""
            return m.group(1) + extra, rest[len(extra) :]

        prefix, rest = inner(start)
        if not rest.strip():
            self.add("quote", start, start + 1, [prefix], [""], [rest], translatable=False)
            return True
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
            pre, text, suf = strip_parts(rest)
            prefixes.append(line_prefix + pre)
            texts.append(text)
            suffixes.append(suf)
        self.add("quote", start, end, prefixes, texts, suffixes)
        return True

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


class Text(Format[Document]):
    """Plain text: no markup beyond what news articles carry in any form."""

    name = "txt"
    suffixes = (".txt",)
    inline_markup = False

    def parse(self, text: str, source: str | None = None) -> Document:
        return build(text, self.name, lambda lines: TextParser(lines).parse(), source)

    def render(self, doc: Document, texts: list[str] | None = None) -> str:
        return doc.render_blocks(texts)


FORMAT = Text()
