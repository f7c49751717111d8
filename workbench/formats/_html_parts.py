"""The parts an HTML page is written back from: verbatim text, start tags whose attribute
values may change, and translated text runs, each made safe for HTML (see ``html.py``)."""

from __future__ import annotations

import html.entities
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.documents import Block, Document, rewrap

_MARK = 0xF0000  # Supplementary Private Use Area-A: tag stand-ins while re-wrapping
# Right-to-left scripts, for dir="rtl" on a translated page.
RTL = frozenset(
    ["ar", "arc", "ckb", "dv", "fa", "he", "iw", "ku-arab", "ps", "sd", "ug", "ur", "yi"]
)
_ENTITY = re.compile(r"&(#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};?)")


@dataclass
class HtmlBlock(Block):
    """A translatable text run or attribute value; ``start`` orders blocks in the page."""

    start: int = 0


@dataclass
class _Attr:
    start: int  # the value's place in the tag text (quotes excluded)
    end: int
    quote: str
    block: HtmlBlock | None = None  # None: not translated (a value changed by the page's lang)


@dataclass
class _Tag:
    """A start tag with values that may change: translated attributes, lang, charset."""

    raw: str
    attrs: list[_Attr] = field(default_factory=list)
    root: tuple[int, dict[str, _Attr]] | None = None  # <html>: name end, lang/dir/xml:lang
    charset: _Attr | None = None  # <meta charset=...>, or the charset inside a content value

    def render(self, texts: dict[int, str] | None, lang: str | None) -> str:
        edits: list[tuple[int, int, str]] = []
        for attr in self.attrs:
            text = texts.get(id(attr.block)) if texts is not None and attr.block else None
            if text is not None and attr.block is not None and text != attr.block.text:
                edits.append((attr.start, attr.end, _attr_value(text, attr)))
        if lang is not None:
            edits.extend(self._language(lang))
        out = self.raw
        for start, end, value in sorted(edits, reverse=True):
            out = out[:start] + value + out[end:]
        return out

    def _language(self, lang: str) -> list[tuple[int, int, str]]:
        edits = []
        if self.charset is not None:
            edits.append((self.charset.start, self.charset.end, "utf-8"))
        if self.root is not None:
            at, found = self.root
            wanted = {"lang": lang}
            if "xml:lang" in found:
                wanted["xml:lang"] = lang
            if lang.split("-")[0].lower() in RTL or lang.lower() in RTL:
                wanted["dir"] = "rtl"
            elif "dir" in found:
                wanted["dir"] = "ltr"
            added = ""
            for name, value in wanted.items():
                if name in found:
                    attr = found[name]
                    edits.append((attr.start, attr.end, _attr_value(value, attr, escape=False)))
                else:
                    added += f' {name}="{value}"'
            if added:
                edits.append((at, at, added))
        return edits


def _attr_value(text: str, attr: _Attr, escape: bool = True) -> str:
    value = _escape_text(" ".join(text.split())) if escape else text
    if attr.quote == "'":
        return value.replace("'", "&#39;")
    value = value.replace('"', "&quot;")
    return value if attr.quote else f'"{value}"'  # an unquoted value gains quotes


def _escape_text(text: str) -> str:
    return "".join(s for s, _ in _safe(text, {}))


def _safe(text: str, atoms: dict[str, deque[int]]) -> list[tuple[str, int]]:
    """``text`` (a translation) as pieces safe in HTML: ``(piece, -1)`` for text, with any
    ``<`` and any ``&`` that does not start an entity escaped, and ``(form, k)`` where the
    fragment's own tag number k stands (matched by its form in the block's text)."""
    out: list[tuple[str, int]] = []
    forms = sorted(atoms, key=len, reverse=True)
    i, start = 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            form = next((f for f in forms if atoms[f] and text.startswith(f, i)), None)
            out.append((text[start:i], -1))
            if form is not None:
                out.append((form, atoms[form].popleft()))
                i += len(form)
            else:
                out.append(("&lt;", -1))
                i += 1
            start = i
        elif ch == "&":
            m = _ENTITY.match(text, i)
            if m and _is_entity(m.group(1)):
                i = m.end()
                continue
            out.append((text[start:i] + "&amp;", -1))
            i += 1
            start = i
        else:
            i += 1
    out.append((text[start:], -1))
    return [(s, k) for s, k in out if s or k >= 0]


def _is_entity(name: str) -> bool:
    """Whether ``&name`` is a character reference a browser decodes (``amp;``, ``#8212;``,
    and the legacy names written without a semicolon, ``&copy``)."""
    return name.startswith("#") or name in html.entities.html5


@dataclass
class _Run:
    """A translated text run: its lines of text and tags, and the spacing between lines."""

    block: HtmlBlock
    lines: list[list[tuple[str, int]]]  # per line: (text, -1) or (tag form, atom number)
    gaps: list[str]  # the whitespace (with a line break) between consecutive lines, verbatim
    atoms: list[str | _Tag]  # each tag of the run as in the source

    def render(self, texts: dict[int, str] | None, lang: str | None) -> str:
        def atom(k: int) -> str:
            a = self.atoms[k]
            return a if isinstance(a, str) else a.render(texts, lang)

        text = texts.get(id(self.block)) if texts is not None else None
        if text is None or text == self.block.text:  # the source's own text: as it was
            out = []
            for n, line in enumerate(self.lines):
                out.append("".join(s if k < 0 else atom(k) for s, k in line))
                if n < len(self.gaps):
                    out.append(self.gaps[n])
            return "".join(out)
        forms: dict[str, deque[int]] = {}
        for line in self.lines:
            for form, k in line:
                if k >= 0:
                    forms.setdefault(form, deque()).append(k)
        pieces = _safe(text, forms)
        lost = [(form, k) for form, left in forms.items() for k in left]
        if lost:  # a tag the translation lost is put back at the end: nothing is dropped
            pieces += [(" ", -1), *sorted(lost, key=lambda p: p[1])]
        return self._layout(pieces, atom)

    def _layout(self, pieces: list[tuple[str, int]], atom: Callable[[int], str]) -> str:
        """The pieces spread over the source's lines (re-wrapped in proportion to them), the
        spacing between lines kept; a tag is never cut."""
        widths = [sum(len(s) if k < 0 else 1 for s, k in line) for line in self.lines]
        text = "".join(s for s, k in pieces if k < 0)
        # Each tag stands as one private-use character while the text is re-wrapped (tags
        # may hold spaces); text that has such characters itself stays on the first line.
        marks = {chr(_MARK + k): k for _, k in pieces if k >= 0}
        packed = "".join(s if k < 0 else chr(_MARK + k) for s, k in pieces)
        if len(widths) == 1 or any(ord(ch) >= _MARK for ch in text):
            lines = [packed] + [""] * (len(widths) - 1)
        else:
            lines = rewrap(packed, widths)
        out = []
        for n, line in enumerate(lines):
            out.append("".join(atom(marks[ch]) if ch in marks else ch for ch in line))
            if n < len(self.gaps):
                out.append(self.gaps[n])
        return "".join(out)


@dataclass
class HtmlDocument(Document):
    """A page: its translatable blocks (in ``blocks``) and the parts it is written back from."""

    parts: list[str | _Tag | _Run] = field(default_factory=list)
    kept_inline: bool = False  # a block holds an untranslated inline element (one atom)

    def recipe_extra(self) -> dict[str, Any]:
        # Such a page was once cut into blocks around the element: its cached translation is
        # not this one's. Pages without one keep their keys.
        return {"html_kept_inline": 1} if self.kept_inline else {}

    def render_html(self, texts: list[str] | None, lang: str | None = None) -> str:
        wanted = len(self.blocks)
        if texts is not None and len(texts) != wanted:
            raise ValueError(f"expected {wanted} texts, got {len(texts)}")
        by_block = None
        if texts is not None:
            by_block = {id(b): t for b, t in zip(self.blocks, texts, strict=True)}
        out = ["\ufeff"] if self.bom else []
        for part in self.parts:
            out.append(part if isinstance(part, str) else part.render(by_block, lang))
        return "".join(out)
