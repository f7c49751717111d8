"""HTML read with the standard library's tokenizer (``html.parser``), keeping source positions.

``html.parser`` reports each tag, text run, comment and declaration as it reads them, and
``getpos()`` says where each begins; every event is taken to run to the start of the next one,
so the events cover the text exactly and whatever is not translated is copied byte for byte.
The tokenizer decides what is a tag, a comment or raw text (``<script>``, ``<style>``); nothing
here guesses at HTML syntax. Attribute values are located with the parser's own attribute
pattern and checked against the values the parser reported.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from itertools import pairwise

# fmt: off
#: Elements without content or end tag (HTML's void elements).
VOID = frozenset([
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
])
# fmt: on


@dataclass
class Event:
    """One thing the tokenizer read: a tag, text, a comment or a declaration."""

    kind: str  # start, startend (<br/>), end, data, other (comment, doctype, PI)
    start: int  # offset in the text
    end: int = 0  # offset after it: the start of the next event
    tag: str = ""  # lower-case tag name of start, startend and end events
    attrs: list[tuple[str, str | None]] = field(default_factory=list)  # decoded, as parsed
    raw: str = ""  # the tag text as the parser read it (start and startend events)


class _Scanner(HTMLParser):
    def __init__(self, text: str) -> None:
        # convert_charrefs: text runs come whole; their source (entities included) is sliced
        # from the input, never rebuilt from the decoded data.
        super().__init__(convert_charrefs=True)
        self.events: list[Event] = []
        self._lines = [0]  # offset of each line's start, as the parser counts lines (at \n)
        for i, ch in enumerate(text):
            if ch == "\n":
                self._lines.append(i + 1)

    def _at(self) -> int:
        line, column = self.getpos()
        return self._lines[line - 1] + column

    def _add(self, kind: str, tag: str = "", attrs: list | None = None, raw: str = "") -> None:
        self.events.append(Event(kind, self._at(), tag=tag, attrs=attrs or [], raw=raw))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add("start", tag, attrs, self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add("startend", tag, attrs, self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        self._add("end", tag)

    def handle_data(self, data: str) -> None:
        self._add("data")

    def handle_comment(self, data: str) -> None:
        self._add("other")

    def handle_decl(self, decl: str) -> None:
        self._add("other")

    def handle_pi(self, data: str) -> None:
        self._add("other")

    def unknown_decl(self, data: str) -> None:
        self._add("other")


def scan(text: str) -> list[Event]:
    """The events of ``text`` in order; their spans ``[start, end)`` cover it exactly."""
    scanner = _Scanner(text)
    scanner.feed(text)
    scanner.close()
    events = list(scanner.events)
    if not events or events[0].start != 0:
        events.insert(0, Event("other", 0))  # never expected: keeps the cover exact regardless
    kept: list[Event] = []
    for event in events:
        if kept and event.start <= kept[-1].start:
            # An event reported at the same place as the one before (an empty text run):
            # the earlier one keeps the span.
            if event.kind != "data":
                kept[-1] = event
            continue
        kept.append(event)
    for a, b in pairwise(kept):
        a.end = b.start
    kept[-1].end = len(text)
    for event in kept:
        # A start tag's span is exactly its text; anything else would mean the positions and
        # the text disagree, and then the tag is kept whole and its attributes left alone.
        if event.kind in ("start", "startend") and text[event.start : event.end] != event.raw:
            event.raw = ""
    return kept


# --- attributes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttrSpan:
    """Where an attribute's value sits in its tag's text."""

    name: str
    start: int  # offsets into the tag text: the value without its quotes
    end: int
    quote: str  # '"', "'" or '' (unquoted)


def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    # The parser's own patterns (module attributes of html.parser); a Python without them gets
    # no attribute translation rather than a pattern written here.
    import html.parser as hp

    tag, attr = getattr(hp, "tagfind_tolerant", None), getattr(hp, "attrfind_tolerant", None)
    if isinstance(tag, re.Pattern) and isinstance(attr, re.Pattern):
        return tag, attr
    return None


def attribute_spans(raw: str, attrs: list[tuple[str, str | None]]) -> list[AttrSpan] | None:
    """The value span of each attribute of the start tag ``raw``, in order, found as the
    parser finds them; None when they do not agree with ``attrs`` (what the parser reported)."""
    patterns = _patterns()
    if not raw or patterns is None:
        return None
    tagfind, attrfind = patterns
    m = tagfind.match(raw, 1)
    if not m:
        return None
    k, end = m.end(), len(raw) - (2 if raw.endswith("/>") else 1)
    spans: list[AttrSpan] = []
    while k < end:
        a = attrfind.match(raw, k)
        if not a:
            break
        if a.group(3) is not None:
            s, e = a.span(3)
            quote = raw[s] if raw[s : s + 1] in ("'", '"') and e - s >= 2 else ""
            if quote:
                s, e = s + 1, e - 1
            spans.append(AttrSpan(a.group(1).lower(), s, e, quote))
        else:
            spans.append(AttrSpan(a.group(1).lower(), -1, -1, ""))
        k = a.end()
    if [s.name for s in spans] != [name for name, _ in attrs]:
        return None
    for span, (_, value) in zip(spans, attrs, strict=True):
        if span.start >= 0 and html.unescape(raw[span.start : span.end]) != value:
            return None
    return spans


# --- text ----------------------------------------------------------------------------------

# Elements inside a word's run: no space is added where they start or end ("<b>Kyiv</b>'s").
# fmt: off
_INLINE_TEXT = frozenset([
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins",
    "kbd", "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
])
# fmt: on


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0  # inside <script> or <style>: not text anyone reads

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag not in _INLINE_TEXT:
            self.parts.append(" ")  # a block or a line break separates words

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden = max(0, self.hidden - 1)
        elif tag not in _INLINE_TEXT:
            self.parts.append(" ")


def plain(fragment: str) -> str:
    """The text of an HTML fragment as a reader sees it: tags dropped, entities decoded,
    spacing collapsed."""
    reader = _Text()
    reader.feed(fragment)
    reader.close()
    return " ".join("".join(reader.parts).split())


# --- the declared character encoding -------------------------------------------------------


class _Charset(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.charset: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta" or self.charset:
            return
        values = {name: value or "" for name, value in attrs}
        if values.get("charset"):
            self.charset = values["charset"].strip()
        elif values.get("http-equiv", "").lower() == "content-type":
            self.charset = content_charset(values.get("content", ""))


def content_charset(content: str) -> str | None:
    """The charset named in a Content-Type value (``text/html; charset=windows-1251``)."""
    from email.message import Message

    message = Message()
    message["content-type"] = content
    found = message.get_content_charset()
    return found or None


def declared_charset(data: bytes) -> str | None:
    """The character encoding an HTML file declares in a ``<meta>`` (charset or http-equiv)
    within its first 1024 bytes, as the HTML standard's pre-scan looks for it."""
    reader = _Charset()
    reader.feed(data[:1024].decode("latin-1"))
    return reader.charset
