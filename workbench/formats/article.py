"""Web pages read as news articles: the story is extracted and written as a Markdown article.

A page is mostly not the story: navigation, advertisements, "most read" boxes, cookie banners,
footers. trafilatura (the ``web`` extra) finds the article in the page and gives its body as
Markdown (paragraphs, headings, lists, tables, emphasis, links as ``[text](url)``) and its
metadata. The document made from them looks like the sample articles (``seeds/``)::

    # Title

    By Author
    Published: 2026-01-09
    Original: https://news.example.com/2026/01/story.html

    Body paragraphs ...

so that the parser (``markdown.py``, ``furniture.py``) reads the byline, date and source lines
as news furniture, and translation, summaries and caching treat it like any article: the
document is a Markdown document (``Document.fmt == "md"``), and its cache key is the extracted
text, not the page's bytes.

This format has no suffixes of its own: ``.html`` files are another format's (translated in
place), so a saved page is extracted only when chosen by name (``--format article``); a URL is
read this way unless another format is chosen (``workbench.web``).
"""

from __future__ import annotations

import re
from typing import Any

from workbench import formats
from workbench.documents import Document
from workbench.errors import InputError
from workbench.formats import Format

_SPACE = re.compile(r"\s+")
_H1 = re.compile(r"^#[ \t]+(.+?)[ \t]*#*[ \t]*$")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
#: How the extra is installed, for the message when it is not.
WEB_EXTRA = 'pip install "torch==2.13.0" -e ".[web]"'


def _one_line(value: Any) -> str:
    return _SPACE.sub(" ", str(value or "")).strip()


def _byline(author: str) -> str:
    """trafilatura's "A; B; C" as "By A, B and C"."""
    names = [n.strip() for n in author.split(";") if n.strip()]
    if len(names) > 1:
        return f"By {', '.join(names[:-1])} and {names[-1]}"
    return f"By {names[0]}" if names else ""


def extract(html: str, name: str, *, url: str | None = None, base: str | None = None) -> str:
    """The article in the page ``html`` as Markdown text (see the module doc).

    ``name`` (a path or URL) is for messages; ``url`` is the page's address written on the
    ``Original:`` line (for a saved page, the page's own canonical address when it gives one);
    ``base`` is what relative links are resolved against (the address after redirects).
    """
    try:
        import trafilatura
    except ImportError:
        raise InputError(
            name, f"reading web pages needs the web extra (trafilatura): {WEB_EXTRA}"
        ) from None
    try:
        # extensive=False: dates from the page's markup only, never guessed from its text.
        meta = trafilatura.extract_metadata(html, default_url=base or url, extensive=False)
        body = trafilatura.extract(
            html,
            url=base or url,
            output_format="markdown",
            include_links=True,
            include_formatting=True,
            include_tables=True,
            include_comments=False,
            include_images=False,
        )
    except Exception as exc:  # a parser failure on a broken page is this page's problem only
        raise InputError(name, f"could not be read as a web page ({exc})") from None
    lines = (body or "").strip().splitlines()
    if not any(line.strip() for line in lines):
        raise InputError(
            name, "no article text was found in this page; check that it is an article's own page"
        )
    title = _one_line(getattr(meta, "title", None))
    first = _H1.match(lines[0])
    if first:  # the page's own headline is the title; it is not repeated below it
        title = _one_line(first.group(1))
        lines = lines[1:]
    while lines and not lines[0].strip():
        lines = lines[1:]
    header = [f"# {title}", ""] if title else []
    furniture = [
        _byline(_one_line(getattr(meta, "author", None))),
        f"Published: {date}" if (date := _one_line(getattr(meta, "date", None))) else "",
    ]
    original = url or _one_line(getattr(meta, "url", None))
    if original and _URL.match(original):
        furniture.append(f"Original: {original}")
    furniture = [line for line in furniture if line]
    if furniture:
        header += [*furniture, ""]
    return "\n".join(header + lines).strip("\n") + "\n"


class Article(Format[Document]):
    """A web page (HTML), read by extracting its article; its documents are Markdown."""

    name = "article"
    suffixes = ()
    inline_markup = True
    lossless = False

    def parse(self, text: str, source: str | None = None) -> Document:
        """The article in the page ``text``; ``source`` is its path or its URL."""
        url = source if source and _URL.match(source) else None
        return self.parse_page(text, source, url=url, base=url)

    def parse_page(
        self, html: str, source: str | None, *, url: str | None, base: str | None
    ) -> Document:
        """``parse`` for a fetched page: ``url`` as given, ``base`` the address it came from."""
        markdown = extract(html, source or "page", url=url, base=base)
        return formats.get("md").parse(markdown, source)

    def render(self, doc: Document, texts: list[str] | None = None) -> str:
        # The documents this format makes are Markdown documents and render as such.
        return doc.render(texts)


FORMAT = Article()
