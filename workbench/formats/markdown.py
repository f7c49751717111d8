"""Markdown news articles: plain text (txt.py) plus ATX headings, fenced and indented code, HTML
blocks, pipe tables, front matter, image lines, footnote and link definitions.

Code, HTML, front matter and link definitions are kept verbatim, never translated. Each table
cell is its own block (see workbench.documents), and a pipe in a translated cell is escaped so
that it cannot add a cell.
"""

from __future__ import annotations

import re
from itertools import pairwise

from workbench.documents import Block, Document, build, has_letter
from workbench.formats import Format
from workbench.formats.txt import ATX, Reader, TextParser, strip_parts
from workbench.furniture import URL_LINE, is_image_line

_ATX_CLOSE = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
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


def _fence(content: str) -> str | None:
    """The opening fence of a fenced code block, if the line is one."""
    m = _FENCE.match(content)
    if not m or (m.group(1)[0] == "`" and "`" in m.group(2)):
        return None  # a backtick fence's info string has no backticks: that is inline code
    return m.group(1)


def _is_html_start(content: str) -> bool:
    if URL_LINE.match(content):
        return False  # <https://...> alone on a line is a URL line, not HTML
    return bool(_HTML_START.match(content) or _HTML_TAG_LINE.match(content))


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


class MarkdownParser(TextParser):
    """Plain-text reading with Markdown's blocks tried first where they take precedence."""

    def readers(self) -> list[Reader]:
        return [
            self.read_fenced_code,
            self.read_indented_code,
            self.read_html,
            self.read_table,
            self.read_url,
            self.read_related,
            self.read_image,
            self.read_furniture,
            self.read_footnote,
            self.read_link_definition,
            self.read_meta,
            self.read_atx_heading,
            self.read_hr,
            self.read_quote,
            self.read_list_item,
            self.read_caption,
        ]

    def table_start(self, k: int) -> bool:
        return (
            k + 1 < len(self.lines)
            and bool(_PIPE.search(self.content(k)))
            and bool(_PIPE.search(self.content(k + 1)))
            and bool(_TABLE_DELIMITER.match(self.content(k + 1)))
        )

    def starts_markup(self, k: int) -> bool:
        content = self.content(k)
        return bool(
            _fence(content)
            or ATX.match(content)
            or _is_html_start(content)
            or self.table_start(k)
            or is_image_line(content)
        )

    def parse(self) -> list[Block]:
        self.front_matter()
        return super().parse()

    def front_matter(self) -> None:
        if not self.lines or self.content(0).rstrip() != "---":
            return
        for k in range(1, len(self.lines)):
            if self.content(k).rstrip() in ("---", "..."):
                self.add("front_matter", 0, k + 1, translatable=False)
                return

    # --- block readers ---

    def read_fenced_code(self, i: int, content: str) -> bool:
        if not (fence := _fence(content)):
            return False
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = i + 1
        while end < len(self.lines) and not closing.match(self.content(end)):
            end += 1
        self.add("code", i, min(end + 1, len(self.lines)), translatable=False)
        return True

    def read_indented_code(self, i: int, content: str) -> bool:
        # Indented code follows a blank line (or opens the document) and is not a list's
        # indented continuation.
        if not content.startswith(("    ", "\t")) or self.in_list:
            return False
        if self.blocks and self.blocks[-1].kind not in ("blank", "front_matter"):
            return False
        end = i
        last = i
        while end < len(self.lines):
            line = self.content(end)
            if line.startswith(("    ", "\t")) and line.strip():
                last = end
            elif line.strip():
                break
            end += 1
        self.add("code", i, last + 1, translatable=False)
        return True

    def read_html(self, i: int, content: str) -> bool:
        if not _is_html_start(content):
            return False
        end = i
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
        self.add("html", i, min(end + 1, len(self.lines)), translatable=False)
        return True

    def read_table(self, i: int, content: str) -> bool:
        if not self.table_start(i):
            return False
        self.table_row(i)
        self.add("table", self.i, self.i + 1, translatable=False)  # the delimiter row
        while self.i < len(self.lines):
            row = self.content(self.i)
            if not row.strip() or not _PIPE.search(row):
                break
            self.table_row(self.i)
        return True

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
                    translatable=has_letter(text),
                    prefixes=[content[previous:start]],
                    suffixes=[content[end:] if last else ""],
                    endings=[ending if last else ""],
                )
            )
            previous = end
        self.i = k + 1

    def read_image(self, i: int, content: str) -> bool:
        if not is_image_line(content):
            return False
        self.add_prose("image", i, i + 1)
        return True

    def read_footnote(self, i: int, content: str) -> bool:
        if not (footnote := _FOOTNOTE_DEF.match(content)):
            return False
        self.add_prose("paragraph", i, self.paragraph_end(i), footnote.group(1))
        return True

    def read_link_definition(self, i: int, content: str) -> bool:
        if not _LINK_DEF.match(content):
            return False
        pre, text, suf = strip_parts(content)
        self.add("url", i, i + 1, [pre], [text], [suf], translatable=False)
        return True

    def read_atx_heading(self, i: int, content: str) -> bool:
        if not (atx := ATX.match(content)):
            return False
        prefix = atx.group(0)
        rest = content[len(prefix) :]
        closing = _ATX_CLOSE.search(rest)
        text, suffix = (rest[: closing.start()], rest[closing.start() :]) if closing else (rest, "")
        pre, text, suf = strip_parts(text)
        kind = "heading" if self.title_done else "title"
        self.add(kind, i, i + 1, [prefix + pre], [text], [suf + suffix])
        return True


def _escape(block: Block, text: str) -> str:
    if block.kind == "table":
        return _PIPE.sub(r"\\|", text)  # a pipe in a translation must not add a cell
    return text


class Markdown(Format[Document]):
    """Markdown (CommonMark block structure with pipe tables and front matter)."""

    name = "md"
    suffixes = (".md", ".markdown")
    inline_markup = "markdown"

    def parse(self, text: str, source: str | None = None) -> Document:
        return build(text, self.name, lambda lines: MarkdownParser(lines).parse(), source)

    def render(self, doc: Document, texts: list[str] | None = None) -> str:
        return doc.render_blocks(texts, _escape)


FORMAT = Markdown()
