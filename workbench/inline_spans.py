"""The protected spans of a paragraph with inline markup, for ``workbench.inline``: which are
atoms and which pair up (emphasis, links, HTML elements by name), per sentence.

Markdown spans come from ``segment``'s own marking (the same spans the fragment mode keeps
verbatim); HTML is tokenized by the standard library's ``html.parser``, through the scanner the
HTML format reads pages with. In HTML, an element whose content is never translated
(``<code>``, ``<kbd>``, ``<samp>``, ``<var>``, or one marked ``translate="no"`` or
``class="notranslate"``) is one atom from its start tag to its end tag: the model sees a
placeholder, never its text, and it comes back byte for byte. A ``translate="yes"`` inside such
an element is not honoured: the element stays whole (a sentence with a hole in the middle of a
kept element could not be put back in one piece).
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench import segment
from workbench.formats._html_scan import VOID, scan

# Inline elements whose text is never translated, whatever their attributes say.
KEPT_TAGS = frozenset(("code", "kbd", "samp", "var"))


def kept_whole(tag: str, attrs: dict[str, str]) -> bool:
    """Whether the HTML element ``tag`` with ``attrs`` (names lower-case, values decoded) keeps
    its content untranslated: a code-like tag, ``translate="no"`` or ``class="notranslate"``."""
    return (
        tag in KEPT_TAGS
        or attrs.get("translate", "").strip().lower() == "no"
        or "notranslate" in attrs.get("class", "").split()
    )


@dataclass(eq=False)
class Token:
    """A protected span: an atom, or one end of a pair (``mate`` is the other)."""

    start: int
    end: int
    kind: str  # "atom", "open" or "close"
    restore: str
    mate: Token | None = None  # the other end of a pair
    tag: tuple[str, str] | None = None  # HTML: ("start" | "end", name)


def _scan(text: str) -> list[tuple[int, int, str, str, bool]]:
    """``html_events`` with a fifth field: whether a start tag opens an element kept whole.

    The events are the HTML format's own (``formats._html_scan``: the stdlib tokenizer with
    source positions); here a tag without content, a comment or a declaration is a ``void``."""
    out = []
    for event in scan(text):
        if event.end <= event.start:
            continue
        kind, kept = event.kind, False
        if (kind == "start" and event.tag in VOID) or kind in ("startend", "other"):
            kind = "void"
        elif kind == "start":
            kept = kept_whole(event.tag, {k: v or "" for k, v in event.attrs})
        out.append((event.start, event.end, kind, event.tag, kept))
    return out


def html_events(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, name) of every construct of an HTML fragment, in order."""
    return [event[:4] for event in _scan(text)]


def _element_end(events: list[tuple[int, int, str, str, bool]], i: int, text: str) -> int:
    """Where the element started by ``events[i]`` ends: after the end tag that brings its name's
    nesting back to zero, else (never closed) at the end of the text."""
    name, depth = events[i][3], 0
    for _, end, kind, other, _ in events[i:]:
        if other == name and kind in ("start", "end"):
            depth += 1 if kind == "start" else -1
            if depth == 0:
                return end
    return len(text)


def _tag_of(text: str) -> tuple[str, str] | None:
    events = html_events(text)
    if len(events) == 1 and events[0][2] in ("start", "end"):
        return events[0][2], events[0][3]
    return None


def paragraph_tokens(text: str, syntax: str | None) -> tuple[list[int], list[Token]]:
    """The paragraph's character marks (for sentence splitting) and its protected spans."""
    tokens: list[Token] = []
    if syntax == "html":
        marks = [segment._TEXT] * len(text)
        events = _scan(text)
        covered = 0  # the end of the last element kept whole: what lies before is in it
        for i, (start, end, kind, name, kept) in enumerate(events):
            if kind == "data" or start < covered:
                continue
            tag = (kind, name) if kind in ("start", "end") else None
            if kind == "start" and kept:  # the whole element, content and all, is one atom
                end, tag = _element_end(events, i, text), None
                covered = end
            marks[start:end] = [segment._ATOM] * (end - start)
            tokens.append(Token(start, end, "atom", text[start:end], tag=tag))
        return marks, tokens
    log: list[tuple[int, int, int]] = []
    marks = segment._mark_spans(text, syntax == "markdown", log)
    i = 0
    while i < len(log):
        start, end, mark = log[i]
        if mark == segment._DELIM and i + 1 < len(log) and log[i + 1][2] == segment._DELIM:
            # Delimiters are claimed in pairs; a link's target follows its closing bracket.
            close_start, close_end, _ = log[i + 1]
            i += 2
            if text[start:end].endswith("[") and i < len(log) and log[i][0] == close_end:
                close_end = log[i][1]
                i += 1
            opening = Token(start, end, "open", text[start:end])
            closing = Token(close_start, close_end, "close", text[close_start:close_end])
            opening.mate, closing.mate = closing, opening
            tokens += [opening, closing]
            continue
        tag = _tag_of(text[start:end]) if text[start : start + 1] == "<" else None
        tokens.append(Token(start, end, "atom", text[start:end], tag=tag))
        i += 1
    # A later pattern can claim over an earlier one (a URL running into a footnote reference,
    # blanked by then): overlapping spans become one atom.
    merged: list[Token] = []
    for t in sorted(tokens, key=lambda t: (t.start, -t.end)):
        if merged and t.start < merged[-1].end:
            last = merged[-1]
            for end in (last, t):
                if end.mate is not None:
                    end.mate.kind, end.mate.mate = "atom", None
            end_at = max(last.end, t.end)
            merged[-1] = Token(last.start, end_at, "atom", text[last.start : end_at])
        else:
            merged.append(t)
    return marks, merged


def sentence_tokens(tokens: list[Token], start: int, end: int) -> list[Token]:
    """Copies of the tokens inside ``[start, end)``, offsets relative to ``start``; a pair is
    kept only with both ends inside, HTML tags are paired by name, crossing pairs are undone."""
    inside = [t for t in tokens if start <= t.start and t.end <= end]
    copies: dict[int, Token] = {
        id(t): Token(t.start - start, t.end - start, t.kind, t.restore, tag=t.tag) for t in inside
    }
    for t in inside:
        mate = copies.get(id(t.mate)) if t.mate is not None else None
        copies[id(t)].mate = mate
        if mate is None:
            copies[id(t)].kind = "atom"
    out = sorted(copies.values(), key=lambda t: t.start)
    stack: list[Token] = []
    for t in out:  # HTML elements: an end tag closes the nearest open tag of its name
        if t.kind != "atom" or t.tag is None:
            continue
        if t.tag[0] == "start":
            stack.append(t)
        else:
            for j in range(len(stack) - 1, -1, -1):
                if stack[j].tag is not None and stack[j].tag[1] == t.tag[1]:
                    opening = stack.pop(j)
                    opening.kind, t.kind = "open", "close"
                    opening.mate, t.mate = t, opening
                    del stack[j:]
                    break
    open_stack: list[Token] = []
    for t in out:  # pairs must nest: one that crosses another becomes two atoms
        if t.kind == "open":
            open_stack.append(t)
        elif t.kind == "close":
            if open_stack and open_stack[-1] is t.mate:
                open_stack.pop()
            else:
                assert t.mate is not None
                if t.mate in open_stack:
                    open_stack.remove(t.mate)
                t.kind = t.mate.kind = "atom"
    return out


__all__ = [
    "KEPT_TAGS",
    "Token",
    "html_events",
    "kept_whole",
    "paragraph_tokens",
    "sentence_tokens",
]
