"""HTML pages and fragments (``.html``, ``.htm``), translated in place.

The standard library's tokenizer (``html.parser``, see ``_html_scan``) reads the file with the
source position of every tag and text run, so everything that is not translated (tags,
attributes, comments, the doctype, scripts, styles, entities outside translated text, spacing)
comes out byte for byte. lxml and html5lib build trees and do not say where each node came from,
which an in-place rewrite needs.

What is translated:

- the text of block-level elements (``p``, ``h1``-``h6``, ``li``, ``td``, ``figcaption``,
  ``title``, the text of a ``div`` outside its child blocks, ...): each run of text and inline
  elements between block boundaries is one block, an HTML fragment that keeps its inline tags
  (``<a href>``, ``<b>``, ``<br>``, ...) and entities verbatim;
- the attributes people read: ``alt``, ``title``, ``placeholder``, ``aria-label``,
  ``aria-description``, and the ``content`` of ``<meta>`` descriptions and social titles.

Never translated: ``<script>``, ``<style>``, ``<code>``, ``<pre>``, ``<kbd>``, ``<samp>``,
``<var>``, ``<textarea>``, ``<svg>``, ``<math>`` and the content of any element with
``translate="no"`` or ``class="notranslate"`` (``translate="yes"`` inside turns it back on, as the
HTML standard says). An inline one (``<code>``, ``<kbd>``, ``<samp>``, ``<var>``, or an inline
element marked so) stays inside its paragraph's text, whole, and the inline markup rules
(``workbench.inline_spans``) send it as one placeholder, so its content never reaches a model
and its sentence is translated whole; a ``translate="yes"`` inside it is not honoured. One that
does not end inside its paragraph ends the text run before it, as a block-level one does.

A translation is made safe for HTML when it is put back (``_safe``): the fragment's own tags
come back from the source byte for byte, a ``<`` or ``&`` the model wrote is escaped, and
entities (``&amp;``, ``&nbsp;``, ``&#8212;``) are left as they are. A translated page gets
``lang`` (and ``dir`` for right-to-left languages) on ``<html>``, and a ``<meta charset>`` that
named another encoding says ``utf-8``, which is what workbench writes.
"""

from __future__ import annotations

from workbench.documents import Document
from workbench.formats import Format
from workbench.formats._html_parts import HtmlDocument
from workbench.formats._html_scan import declared_charset, plain, scan
from workbench.formats._html_walk import Walker

_UTF8 = ("utf-8", "utf8")


class Html(Format[Document]):
    """HTML documents and fragments, translated in place."""

    name = "html"
    suffixes = (".html", ".htm")
    # HTML's inline rules: tags carried through a whole sentence as placeholders, untranslated
    # inline elements (code, translate="no") as one placeholder each.
    inline_markup = "html"
    summary_suffix = ".txt"  # a summary is plain text, not a page
    keyed = True

    def parse(self, text: str, source: str | None = None) -> Document:
        bom = text.startswith("\ufeff")
        body = text[1:] if bom else text
        walker = Walker(body, scan(body), self.inline_markup)
        blocks, parts = walker.walk()
        return HtmlDocument(
            blocks=list(blocks),
            newline="\r\n" if body.count("\r\n") * 2 > body.count("\n") else "\n",
            bom=bom,
            fmt=self.name,
            trailing_newline=body.endswith("\n"),
            source=source,
            parts=parts,
            kept_inline=walker.kept_inline,
        )

    def render(self, doc: Document, texts: list[str] | None = None) -> str:
        assert isinstance(doc, HtmlDocument)
        return doc.render_html(texts)

    def render_translation(self, doc: Document, texts: list[str], lang: str) -> str:
        """The page translated into ``lang``: ``<html lang>`` (and ``dir``) say so, and a
        declared charset says utf-8. A page with nothing to translate is copied as it is."""
        assert isinstance(doc, HtmlDocument)
        return doc.render_html(texts, lang if doc.blocks else None)

    def plain(self, text: str) -> str:
        return plain(text)

    def encoding_hint(self, data: bytes) -> str | None:
        charset = declared_charset(data)
        if charset and charset.lower() not in _UTF8:
            return f"its <meta> declares {charset}; re-save it as UTF-8 (workbench reads UTF-8)"
        return None


FORMAT = Html()

__all__ = ["FORMAT", "Html", "HtmlDocument"]
