"""From the tokenizer's events to an HTML page's translatable blocks and the parts it is
written back from (see ``html.py`` for what is translated and why)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache

from workbench.documents import has_letter
from workbench.formats._html_parts import HtmlBlock, _Attr, _Run, _Tag
from workbench.formats._html_scan import VOID, Event, attribute_spans
from workbench.furniture import is_header_meta, line_kind
from workbench.inline_spans import KEPT_TAGS, kept_whole

# Inline elements: their tags stay inside a block's text (the text of a sentence runs through
# them). Any other element, known or not, starts and ends a block.
# fmt: off
INLINE = frozenset([
    "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "br", "cite", "data", "del", "dfn", "em",
    "font", "i", "img", "ins", "label", "mark", "nobr", "q", "rb", "rp", "rt", "rtc", "ruby", "s",
    "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "wbr",
])
# Elements whose content is never translated, whatever their attributes say.
RIGID = frozenset([
    "script", "style", "code", "pre", "kbd", "samp", "var", "textarea", "svg", "math", "iframe",
    "object", "xmp", "listing", "plaintext", "noembed", "noframes",
])
# Attributes people read, on any element outside the page's head machinery (a <link title>
# names a style sheet, for one).
TEXT_ATTRS = frozenset(["alt", "title", "placeholder", "aria-label", "aria-description"])
NO_TEXT_ATTRS = frozenset(["html", "head", "link", "meta", "script", "style", "base", "template"])
# <meta name|property=... content=...> whose content readers see (search results, previews).
META_TEXT = frozenset([
    "description", "og:title", "og:description", "twitter:title", "twitter:description",
])
# fmt: on
_KINDS = {
    **{f"h{n}": "heading" for n in range(1, 7)},
    "title": "title",
    "p": "paragraph",
    "li": "list_item",
    "dt": "list_item",
    "dd": "list_item",
    "blockquote": "quote",
    "td": "table",
    "th": "table",
    "caption": "caption",
    "figcaption": "caption",
    "legend": "caption",
    "summary": "caption",
    "option": "meta",
    "button": "meta",
}
# Site furniture: text inside these is not the article's body (a summary leaves it out).
FURNITURE = frozenset(["nav", "footer", "aside", "menu"])

# Start tags that close an open <p> (the HTML standard's list), and where the search stops.
# fmt: off
_CLOSES_P = frozenset([
    "address", "article", "aside", "blockquote", "details", "dialog", "dir", "div", "dl",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hgroup", "hr", "main", "menu", "nav", "ol", "p", "pre", "section", "table", "ul",
    "li", "dd", "dt", "center", "listing",
])
_SCOPE = frozenset([
    "html", "body", "table", "td", "th", "caption", "template", "object", "button", "marquee",
])
# fmt: on
# A start tag that closes an open element of the first set, unless one of the second is nearer.
_IMPLIED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "li": (frozenset({"li"}), frozenset({"ul", "ol"}) | _SCOPE),
    "dt": (frozenset({"dt", "dd"}), frozenset({"dl"}) | _SCOPE),
    "dd": (frozenset({"dt", "dd"}), frozenset({"dl"}) | _SCOPE),
    "td": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "th": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "tr": (frozenset({"tr", "td", "th"}), frozenset({"table", "tbody", "thead", "tfoot"})),
    "option": (frozenset({"option"}), frozenset({"select", "datalist", "optgroup"})),
}
_LINE_GAP = re.compile(r"[ \t\f]*(?:\r\n|\r|\n)\s*")
_CHARSET = re.compile(r"(charset\s*=\s*[\"']?)([^\s;\"']+)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def is_atom(form: str, markup: bool | str = True) -> bool:
    """Whether segmentation keeps the tag ``form`` whole and untranslated (Markdown's inline
    rules protect most tags, but not, say, ``<o:p>``); a tag it would not keep ends a block."""
    from workbench import segment

    # Between words, as in a sentence: a tag only partly protected (``<a title='1 > 0'>``, cut
    # at its first ``>``) leaves its rest to be translated with the next word.
    pieces = segment.pieces(f"Word {form}word", "en", markdown=markup)  # type: ignore[arg-type]
    return any(form in p.text for p in pieces if not p.translate)


def form(raw: str) -> str:
    """A tag as a block's text carries it: on one line, its spacing collapsed."""
    return " ".join(raw.split())


@dataclass
class _Open:
    tag: str
    translate: bool  # whether its content may be translated
    rigid: bool  # code, script, ...: nothing inside is translated, whatever it says


@dataclass
class _Token:
    event: Event
    start: int  # the token's text is text[start:end] (trimmed text runs start later)
    end: int
    tag: _Tag | None = None  # a start tag whose attributes are translated
    whole: bool = False  # an element kept whole (start tag to end tag), never translated

    @property
    def is_tag(self) -> bool:
        return self.event.kind != "data"


@dataclass
class _Hold:
    events: list[Event]  # the element's start tag and what followed it so far
    depth: int  # its place in the stack of open elements


class Walker:
    """One pass over the events: a stack of open elements (with the HTML standard's implied
    ends for p, li, dt, dd, tr, td, th and option) decides what may be translated and what
    kind of block each text run is; the runs themselves are cut at block boundaries."""

    def __init__(self, text: str, events: list[Event], markup: bool | str = True) -> None:
        self.text = text
        self.markup = markup  # the format's inline_markup, which segmentation is asked with
        self.events = events
        self.blocks: list[HtmlBlock] = []
        self.parts: list[str | _Tag | _Run] = []
        self.stack: list[_Open] = []
        self.run: list[_Token] = []
        self.titled = False
        # HTML's inline rules carry an untranslated inline element (code, translate="no")
        # through its sentence as one atom; Markdown's would cut the sentence there.
        self.whole = markup == "html"
        self.hold: _Hold | None = None  # inside an element kept whole: its events so far
        self.kept_inline = False  # whether a block holds such an element

    def walk(self) -> tuple[list[HtmlBlock], list[str | _Tag | _Run]]:
        for event in self.events:
            self.step(event)
        while self.hold is not None:  # never closed: read as before, element by element
            self.release()
        self.flush()
        self.blocks.sort(key=lambda b: b.start)
        merged: list[str | _Tag | _Run] = []
        for part in self.parts:
            if isinstance(part, str) and merged and isinstance(merged[-1], str):
                merged[-1] += part
            elif part != "":
                merged.append(part)
        return self.blocks, merged

    @property
    def translating(self) -> bool:
        return not self.stack or self.stack[-1].translate

    def raw(self, event: Event) -> str:
        return self.text[event.start : event.end]

    def step(self, event: Event) -> None:
        while self.hold is not None:  # (reading a released element again may begin another)
            if self.holds(event):
                return
        if event.kind == "data":
            if self.translating:
                self.run.append(_Token(event, event.start, event.end))
            else:
                self.parts.append(self.raw(event))
        elif event.kind == "end":
            inline = (
                event.tag in INLINE
                and self.translating
                and is_atom(form(self.raw(event)), self.markup)
            )
            if inline:
                self.run.append(_Token(event, event.start, event.end))
            else:
                self.flush()
                self.parts.append(self.raw(event))
            self.close(event.tag)
        elif event.kind in ("start", "startend"):
            self.start(event)
        else:  # a comment, the doctype, a processing instruction
            self.flush()
            self.parts.append(self.raw(event))

    def start(self, event: Event, whole: bool = True) -> None:
        tag = event.tag
        parent = self.stack[-1] if self.stack else _Open("", True, False)
        rigid = parent.rigid or tag in RIGID
        values = {name: value or "" for name, value in event.attrs}
        own = parent.translate and not rigid
        if not rigid:
            said = values.get("translate", "").strip().lower()
            if said == "no" or "notranslate" in values.get("class", "").split():
                own = False
            elif said == "yes":
                own = True
        if (
            whole
            and self.whole
            and parent.translate
            and (tag in INLINE or tag in KEPT_TAGS)
            and kept_whole(tag, values)
        ):  # untranslated inside a sentence: the whole element goes into the run as one atom
            if event.kind == "startend" or tag in VOID:
                self.run.append(_Token(event, event.start, event.end, whole=True))
            else:
                self.hold = _Hold([event], len(self.stack))
                self.stack.append(_Open(tag, False, rigid))
            return
        tag_part = self.tag_part(event, values, own)
        raw = self.raw(event)
        if tag in INLINE and parent.translate and own and is_atom(form(raw), self.markup):
            self.run.append(_Token(event, event.start, event.end, tag_part))
        else:
            self.flush()
            self.imply_ends(tag)
            self.parts.append(tag_part if tag_part is not None else raw)
        if event.kind == "start" and tag not in VOID:
            self.stack.append(_Open(tag, own, rigid))

    # --- inline elements kept whole ------------------------------------------------------------

    def holds(self, event: Event) -> bool:
        """Whether ``event`` is part of the element being kept whole (the element ends at its
        end tag); an event that would end it otherwise (a block starts, an ancestor ends)
        releases it, and the event is then read as usual."""
        hold = self.hold
        assert hold is not None
        if event.kind in ("start", "startend"):
            tag = event.tag
            phrasing = tag in INLINE or tag in KEPT_TAGS or tag in VOID
            if not phrasing or tag in _CLOSES_P or tag in _IMPLIED:  # a block: <hr>, <div>, ...
                self.release()
                return False
            hold.events.append(event)
            if event.kind == "start" and event.tag not in VOID:
                self.stack.append(_Open(event.tag, False, True))
            return True
        if event.kind == "end":
            k = next(
                (k for k in range(len(self.stack) - 1, -1, -1) if self.stack[k].tag == event.tag),
                None,
            )
            if k is not None and k < hold.depth:
                self.release()
                return False
            hold.events.append(event)
            if k is not None:
                del self.stack[k:]
            if k == hold.depth:  # its own end tag: the element is one token of the run
                first = hold.events[0]
                self.run.append(_Token(first, first.start, event.end, whole=True))
                self.hold = None
            return True
        hold.events.append(event)  # text, comments
        return True

    def release(self) -> None:
        """An element that did not end where it should have: its events are read again as
        elements never translated always were (the text run stops before it)."""
        hold, self.hold = self.hold, None
        assert hold is not None
        del self.stack[hold.depth :]
        first, *rest = hold.events
        self.start(first, whole=False)
        for event in rest:
            self.step(event)

    def imply_ends(self, tag: str) -> None:
        if tag in _CLOSES_P:
            self.close_open(frozenset({"p"}), _SCOPE)
        if tag in _IMPLIED:
            self.close_open(*_IMPLIED[tag])

    def close_open(self, targets: frozenset[str], stops: frozenset[str]) -> None:
        for k in range(len(self.stack) - 1, -1, -1):
            name = self.stack[k].tag
            if name in targets:
                del self.stack[k:]
                return
            if name in stops:
                return

    def close(self, tag: str) -> None:
        """An end tag closes the nearest open element of its name; a stray one closes nothing."""
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k].tag == tag:
                del self.stack[k:]
                return

    # --- attributes ---------------------------------------------------------------------------

    def tag_part(self, event: Event, values: dict[str, str], own: bool) -> _Tag | None:
        """The tag as a part whose values may change, or None when none can."""
        tag = event.tag
        wants_text = own and (
            tag not in NO_TEXT_ATTRS
            or (tag == "meta" and (values.get("name") or values.get("property", "")).lower()
                in META_TEXT)
        )  # fmt: skip
        if not (wants_text or tag in ("html", "meta")):
            return None
        spans = attribute_spans(event.raw, event.attrs)
        if spans is None:
            return None
        part = _Tag(event.raw)
        root: dict[str, _Attr] = {}
        for span in spans:
            if span.start < 0:
                continue
            attr = _Attr(span.start, span.end, span.quote)
            value = event.raw[span.start : span.end]
            if tag == "html" and span.name in ("lang", "dir", "xml:lang"):
                root[span.name] = attr
            elif tag == "meta" and span.name == "charset":
                part.charset = attr
            elif tag == "meta" and span.name == "content" and "http-equiv" in values:
                if values["http-equiv"].strip().lower() == "content-type":
                    m = _CHARSET.search(value)
                    if m:
                        at = span.start + m.start(2)
                        part.charset = _Attr(at, at + len(m.group(2)), "'")
            elif wants_text and (
                (span.name in TEXT_ATTRS and tag not in NO_TEXT_ATTRS)
                or (tag == "meta" and span.name == "content")
            ):  # fmt: skip
                text = " ".join(value.split())
                if has_letter(html.unescape(text)):
                    kind = "meta" if tag == "meta" else "caption" if span.name == "alt" else "meta"
                    attr.block = HtmlBlock(kind, "", [text], True, start=event.start + span.start)
                    self.blocks.append(attr.block)
                    part.attrs.append(attr)
        if tag == "html":
            part.root = (len("<html"), root)
        if not part.attrs and part.root is None and part.charset is None:
            return None
        return part

    # --- text runs ----------------------------------------------------------------------------

    def flush(self) -> None:
        """The text run collected so far: one block when it has words, else verbatim."""
        tokens, self.run = self.run, []
        if not tokens:
            return
        before, tokens, after = self.trim(tokens)
        for token in before:
            self.verbatim(token)
        words = "".join(self.text[t.start : t.end] for t in tokens if not t.is_tag)
        if tokens and has_letter(html.unescape(words)):
            self.parts.append(self.make_run(tokens))
        else:
            for token in tokens:
                self.verbatim(token)
        for token in after:
            self.verbatim(token)

    def verbatim(self, token: _Token) -> None:
        self.parts.append(
            token.tag if token.tag is not None else self.text[token.start : token.end]
        )

    def trim(self, tokens: list[_Token]) -> tuple[list[_Token], list[_Token], list[_Token]]:
        """Spacing, void tags and tags without their pair at either end of a run are left out
        of its text: a block's text is a balanced fragment that starts and ends with words."""
        before: list[_Token] = []
        after: list[_Token] = []
        while tokens:
            paired = _paired(tokens)
            first, last = tokens[0], tokens[-1]
            if first.is_tag and not first.whole and (0 not in paired):
                before.append(tokens.pop(0))
            elif last.is_tag and not last.whole and (len(tokens) - 1 not in paired):
                after.insert(0, tokens.pop())
            elif not first.is_tag and not self.text[first.start : first.end].strip():
                before.append(tokens.pop(0))
            elif not last.is_tag and not self.text[last.start : last.end].strip():
                after.insert(0, tokens.pop())
            else:
                break
        if tokens:
            first = tokens[0]
            if not first.is_tag:
                raw = self.text[first.start : first.end]
                cut = len(raw) - len(raw.lstrip())
                if cut:
                    before.append(_Token(first.event, first.start, first.start + cut))
                    tokens[0] = first = _Token(first.event, first.start + cut, first.end)
            last = tokens[-1]  # the same token as first, perhaps, now trimmed
            if not last.is_tag:
                raw = self.text[last.start : last.end]
                cut = len(raw) - len(raw.rstrip())
                if cut:
                    after.insert(0, _Token(last.event, last.end - cut, last.end))
                    tokens[-1] = _Token(last.event, last.start, last.end - cut)
        return before, tokens, after

    def make_run(self, tokens: list[_Token]) -> _Run:
        lines: list[list[tuple[str, int]]] = [[]]
        gaps: list[str] = []
        atoms: list[str | _Tag] = []
        for token in tokens:
            raw = self.text[token.start : token.end]
            if token.is_tag:
                lines[-1].append((form(raw), len(atoms)))
                atoms.append(token.tag if token.tag is not None else raw)
                continue
            at = 0
            for m in _LINE_GAP.finditer(raw):
                lines[-1].append((raw[at : m.start()], -1))
                gaps.append(m.group())
                lines.append([])
                at = m.end()
            lines[-1].append((raw[at:], -1))
        texts = ["".join(s for s, _ in line) for line in lines]
        kind = self.kind()
        if kind == "paragraph":  # a byline, dateline, caption or credit set as a paragraph
            words = html.unescape(
                "".join(self.text[t.start : t.end] for t in tokens if not t.is_tag)
            )
            words = " ".join(words.split())
            kind = line_kind(words) or ("meta" if is_header_meta(words) else kind)
        block = HtmlBlock(kind, "", texts, True, start=tokens[0].start)
        self.blocks.append(block)
        self.kept_inline = self.kept_inline or any(t.whole for t in tokens)
        return _Run(block, lines, gaps, atoms)

    def kind(self) -> str:
        kind = "paragraph"
        for open_ in reversed(self.stack):
            if open_.tag in _KINDS:
                kind = _KINDS[open_.tag]
                if open_.tag in ("title", "h1") and not self.titled:
                    kind, self.titled = "title", True
                break
        furniture = any(o.tag in FURNITURE for o in self.stack)
        return "related" if furniture and kind not in ("title", "heading") else kind


def _paired(tokens: list[_Token]) -> set[int]:
    """Positions of the tags that open and close an element inside ``tokens``."""
    found: set[int] = set()
    opened: list[tuple[str, int]] = []
    for i, token in enumerate(tokens):
        event = token.event
        if token.whole:  # complete in itself
            continue
        if event.kind == "start" and event.tag not in VOID:
            opened.append((event.tag, i))
        elif event.kind == "end":
            for j in range(len(opened) - 1, -1, -1):
                if opened[j][0] == event.tag:
                    found.update((opened[j][1], i))
                    del opened[j]
                    break
    return found
