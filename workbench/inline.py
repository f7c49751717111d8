"""Whole sentences around inline markup: placeholders for the model, checked, markup restored.

A sentence such as ``The **new** ferry costs [€2](https://x.example/p).`` goes to the model as
``The <g1>new</g1> ferry costs <g2>€2</g2>.``: paired markup (emphasis, link and image text,
HTML elements) becomes an opening and a closing placeholder around words the model translates
and may move; everything else protected (code, URLs, emails, autolinks, footnote references,
escapes, void or unpaired tags, comments, a caller's own spans) becomes one self-contained
placeholder. ``restore`` checks the model's output (every placeholder exactly once, each pair
opened before it closes and properly nested) and puts the markup back byte for byte.

Placeholders are spelt ``<x1/>`` (an atom) and ``<g1>…</g1>`` (a pair): XLIFF's inline
elements, shortened. Tag-shaped tokens are what seq2seq models (OPUS-MT, NLLB, M2M100, mBART)
most often saw carried through in training (software localisation corpora such as KDE, GNOME
and Mozilla are full of them), SentencePiece cuts them into a few pieces every vocabulary has
(``<``, ``g``, ``1``, ``>``), they are not words a model would translate, and chat models know
XML. Numbers tell the placeholders apart, so a lost one is told from a moved one. Rejected:
``{1}`` and ``[1]`` (confused with real brackets and footnotes), ``__PH1__`` (cut into word
pieces and sometimes translated), private-use characters (unknown to most vocabularies).
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from workbench import segment
from workbench.inline_spans import Token, html_events, paragraph_tokens, sentence_tokens
from workbench.segment import Piece

#: The placeholder scheme; in the document recipe of formats with inline markup, so that a
#: document cached by the fragment-by-fragment scheme is translated again.
VERSION = 1

# Tolerant of what models do to tags: spaces inside, upper case (``< G1 >``, ``</ g1>``).
_PLACEHOLDER = re.compile(r"<\s*(/?)\s*([gx])\s*(\d+)\s*(/?)\s*>", re.IGNORECASE)


class PlaceholderError(ValueError):
    """A model's output whose placeholders cannot be put back; the message says why."""


@dataclass(frozen=True)
class Protect:
    """A span a caller protects in a sentence: ``text[start:end]`` goes to the model as an atom
    placeholder and comes back as ``restore`` (which may differ from the source text)."""

    start: int
    end: int
    restore: str


#: Called with each sentence (without its surrounding whitespace); returns the spans to protect.
Protector = Callable[[str], Sequence[Protect]]


@dataclass(frozen=True)
class Encoded:
    """A sentence as the model sees it, and what each placeholder stands for."""

    text: str
    atoms: dict[int, str]
    pairs: dict[int, tuple[str, str]]
    syntax: str | None


@dataclass(frozen=True)
class Marked(Piece):
    """A sentence sent whole: ``text`` is the model input (with placeholders), ``source`` the
    sentence as written, ``fragments`` today's pieces of it, for when the output is unusable
    (their translatable texts are model inputs; the others are put back as they are)."""

    source: str = ""
    encoded: Encoded | None = None
    fragments: tuple[Piece, ...] = ()


def syntax_of(value: bool | str | None) -> str | None:
    """``Format.inline_markup`` as a syntax name: None (plain), ``markdown`` or ``html``."""
    if value is True or value == "markdown":
        return "markdown"
    if value == "html":
        return "html"
    if not value:
        return None
    raise ValueError(f"unknown inline markup syntax {value!r}; use 'markdown' or 'html'")


# --- encoding ----------------------------------------------------------------------------------


def _model_text(text: str, syntax: str | None) -> str:
    return html.unescape(text) if syntax == "html" else text


def _put_back(text: str, syntax: str | None) -> str:
    return html.escape(text, quote=False) if syntax == "html" else text


def _empty_pairs_as_atoms(core: str, tokens: list[Token]) -> list[Token]:
    """A pair with no words inside (``<span></span>``, ``<b> </b>``) is one atom: there is
    nothing for a model to put between its placeholders, so it could only come back empty."""
    out: list[Token] = []
    skip: set[int] = set()
    for i, t in enumerate(tokens):
        if i in skip:
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            t.kind == "open"
            and nxt is not None
            and nxt is t.mate
            and not any(ch.isalnum() for ch in core[t.end : nxt.start])
        ):
            out.append(Token(t.start, nxt.end, "atom", core[t.start : nxt.end]))
            skip.add(i + 1)
        else:
            out.append(t)
    return out


def _encode(
    core: str, tokens: list[Token], syntax: str | None, protect: Sequence[Protect] = ()
) -> Encoded | None:
    tokens = _empty_pairs_as_atoms(core, list(tokens))
    for p in sorted(protect, key=lambda p: p.start):
        clear = 0 <= p.start < p.end <= len(core) and all(
            p.end <= t.start or t.end <= p.start for t in tokens
        )
        if clear:  # a span overlapping markup (or another span) is not protected
            tokens.append(Token(p.start, p.end, "atom", p.restore))
            tokens.sort(key=lambda t: t.start)
    parts: list[str] = []
    atoms: dict[int, str] = {}
    pairs: dict[int, tuple[str, str]] = {}
    numbers: dict[int, int] = {}
    pos = 0
    for t in tokens:
        between = _model_text(core[pos : t.start], syntax)
        if _PLACEHOLDER.search(between):
            return None  # the text itself looks like a placeholder: it could not be told apart
        parts.append(between)
        n = (numbers.get(id(t.mate)) if t.kind == "close" else None) or len(atoms) + len(pairs) + 1
        numbers[id(t)] = n
        if t.kind == "atom":
            atoms[n] = t.restore
            parts.append(f"<x{n}/>")
        elif t.kind == "open":
            assert t.mate is not None
            pairs[n] = (t.restore, t.mate.restore)
            parts.append(f"<g{n}>")
        else:
            parts.append(f"</g{n}>")
        pos = t.end
    rest = _model_text(core[pos:], syntax)
    if _PLACEHOLDER.search(rest):
        return None
    parts.append(rest)
    return Encoded("".join(parts), atoms, pairs, syntax)


def encode(
    sentence: str, syntax: str | None = "markdown", protect: Sequence[Protect] = ()
) -> Encoded | None:
    """One sentence as model input with placeholders; None when the sentence's own text looks
    like a placeholder (it then has to go in fragments).

    ``protect`` is the hook for other features: each span (start, end, restore) becomes an atom
    placeholder restored as ``restore``. A glossary keeps ``Kyiv`` with
    ``Protect(i, i + 4, "Kyiv")``, or imposes a translation with
    ``Protect(i, i + 14, "Верховна Рада")`` for ``Verkhovna Rada``. Spans overlapping markup
    are ignored."""
    _, tokens = paragraph_tokens(sentence, syntax)
    return _encode(sentence, sentence_tokens(tokens, 0, len(sentence)), syntax, protect)


# --- restoring ---------------------------------------------------------------------------------


def restore(enc: Encoded, output: str) -> str:
    """The model's ``output`` with the markup put back; raises ``PlaceholderError`` (saying
    what went wrong) when a placeholder is lost, duplicated, unknown, out of order, badly nested
    or a pair came back empty. Whitespace the model put just inside a pair goes outside it."""
    if not enc.atoms and not enc.pairs:
        return _put_back(output, enc.syntax)  # nothing to check: "<x1/>" here is just text
    items: list[tuple[str, object]] = []  # text, placeholder, text, ..., text
    pos = 0
    for m in _PLACEHOLDER.finditer(output):
        slash, letter, number, self_closing = m.groups()
        n, letter = int(number), letter.lower()
        if letter == "x" and n in enc.atoms and not slash:
            kind = "a"
        elif letter == "g" and n in enc.pairs and not self_closing:
            kind = "c" if slash else "o"
        else:
            raise PlaceholderError(f"an unknown placeholder {m.group()} came back")
        items += [("t", output[pos : m.start()]), (kind, n)]
        pos = m.end()
    items.append(("t", output[pos:]))
    counts = Counter(item for item in items if item[0] != "t")
    wanted = [("a", n) for n in enc.atoms] + [(k, n) for n in enc.pairs for k in "oc"]
    if any(counts[w] == 0 for w in wanted):
        raise PlaceholderError("a placeholder was lost")
    if any(counts[w] > 1 for w in wanted):
        raise PlaceholderError("a placeholder was duplicated")
    stack: list[object] = []
    for kind, n in items:
        if kind == "o":
            stack.append(n)
        elif kind == "c":
            if not stack or stack[-1] != n:
                raise PlaceholderError("placeholders came back out of order")
            stack.pop()
    texts = [str(v) for k, v in items[0::2]]
    marks = items[1::2]
    moved = True
    while moved:  # "** new **" is no emphasis: spaces inside a pair go outside it
        moved = False
        for i, (kind, _) in enumerate(marks):
            # Outside, one space is enough where there is one already.
            if kind == "o" and texts[i + 1][:1].isspace():
                body = texts[i + 1].lstrip()
                if not texts[i][-1:].isspace():
                    texts[i] += texts[i + 1][: len(texts[i + 1]) - len(body)]
                texts[i + 1], moved = body, True
            elif kind == "c" and texts[i][-1:].isspace():
                body = texts[i].rstrip()
                if not texts[i + 1][:1].isspace():
                    texts[i + 1] = texts[i][len(body) :] + texts[i + 1]
                texts[i], moved = body, True
    out: list[str] = [_put_back(texts[0], enc.syntax)]
    for i, (kind, n) in enumerate(marks):
        assert isinstance(n, int)
        if kind == "o" and marks[i + 1] == ("c", n) and not texts[i + 1]:
            raise PlaceholderError("a paired placeholder came back empty")
        if kind == "a":
            out.append(enc.atoms[n])
        else:
            opening, closing = enc.pairs[n]
            if enc.syntax == "markdown" and set(opening) == {"_"} and _glued(texts, marks, n):
                # "_word_는" is no emphasis in CommonMark ('_' does not work inside a word,
                # and Korean glues particles to it); '*' is the same emphasis and does.
                opening, closing = "*" * len(opening), "*" * len(closing)
            out.append(opening if kind == "o" else closing)
        out.append(_put_back(texts[i + 1], enc.syntax))
    return "".join(out)


def _glued(texts: list[str], marks: list[tuple[str, object]], n: int) -> bool:
    o, c = marks.index(("o", n)), marks.index(("c", n))
    return texts[o][-1:].isalnum() or texts[c + 1][:1].isalnum()


def fragments_text(piece: Marked, translations: Sequence[str]) -> str:
    """The sentence put together from its fragments' translations (the fallback)."""
    it = iter(translations)
    syntax = piece.encoded.syntax if piece.encoded else None
    return "".join(_put_back(next(it), syntax) if p.translate else p.text for p in piece.fragments)


def split_placeholders(text: str) -> list[str | tuple[str, int]]:
    """``text`` cut at its placeholders, as ``restore`` reads them: the text between (always
    first and last, maybe empty) and, for each placeholder, ``("x", n)`` (an atom), ``("g", n)``
    (a pair's opening) or ``("/g", n)`` (its closing). Exchange files write these as inline
    codes and read them back."""
    out: list[str | tuple[str, int]] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        slash, letter, number, _ = m.groups()
        kind = "x" if letter.lower() == "x" else "/g" if slash else "g"
        out += [text[pos : m.start()], (kind, int(number))]
        pos = m.end()
    out.append(text[pos:])
    return out


def has_placeholder(text: str) -> bool:
    """Whether ``text`` holds something ``restore`` would read as a placeholder."""
    return _PLACEHOLDER.search(text) is not None


# --- paragraphs ----------------------------------------------------------------------------------


def _fragments(core: str, tokens: list[Token], syntax: str | None) -> list[Piece]:
    """Today's pieces of a sentence: markup verbatim, the text between translated alone."""
    out: list[Piece] = []
    pos = 0
    for t in [*tokens, None]:
        end = t.start if t is not None else len(core)
        if end > pos:
            run: list[Piece] = []
            segment._fragment(core[pos:end], run)
            for p in run:
                model = _model_text(p.text, syntax)
                if p.translate and any(ch.isalpha() for ch in model):
                    out.append(Piece(model, True))
                else:
                    out.append(Piece(p.text, False))
        if t is not None:
            out.append(Piece(t.restore, False))
            pos = t.end
    return out


def pieces(
    text: str,
    lang: str,
    syntax: str | None,
    *,
    whole: bool = True,
    protect: Protector | None = None,
) -> list[Piece]:
    """One paragraph as pieces: like ``segment.pieces``, except that with markup (or spans
    ``protect`` returns) a sentence is one ``Marked`` piece with placeholders (``whole``) or
    its fragments (not ``whole``; their text decoded, with ``html``). Sentences without markup
    come out exactly as ``segment.pieces`` cuts them."""
    if syntax != "html" and protect is None and (syntax is None or not whole):
        return segment.pieces(text, lang, markdown=syntax == "markdown")
    marks, tokens = paragraph_tokens(text, syntax)
    raw: list[Piece] = []
    offset = 0
    for sentence in segment._split(text, lang, marks):
        start, offset = offset, offset + len(sentence)
        core = sentence.strip()
        lead = sentence.index(core) if core else len(sentence)
        inner = sentence_tokens(tokens, start + lead, start + lead + len(core))
        spans = protect(core) if protect is not None and core else ()
        if not core:
            raw.append(Piece(sentence, False))
            continue
        raw.append(Piece(sentence[:lead], False))
        frags = _fragments(core, inner, syntax)
        enc = None
        if whole and (inner or spans or syntax == "html"):
            enc = _encode(core, inner, syntax, spans)
        if enc is None and syntax == "html":
            # Fragments still go to the model decoded and come back escaped.
            raw += [
                Marked(p.text, True, p.text, Encoded(p.text, {}, {}, syntax), (p,))
                if p.translate
                else p
                for p in frags
            ]
        elif enc is None:
            raw += frags
        elif not any(ch.isalpha() for ch in _PLACEHOLDER.sub("", enc.text)):
            raw.append(Piece(core, False))
        else:
            raw.append(Marked(enc.text, True, core, enc, tuple(frags)))
        raw.append(Piece(sentence[lead + len(core) :], False))
    return segment.merge_verbatim(raw)


def split_sentences(text: str, lang: str, syntax: str | None) -> list[str]:
    """``segment.split_sentences`` for any syntax (HTML tags are never split)."""
    if syntax != "html":
        return segment.split_sentences(text, lang, markdown=syntax == "markdown")
    return segment._split(text, lang, paragraph_tokens(text, syntax)[0])


def plain(text: str, syntax: str | None) -> str:
    """Readable text of ``text``: HTML tags dropped and entities decoded; other text as is."""
    if syntax != "html":
        return text
    return "".join(
        html.unescape(text[s:e]) for s, e, kind, _ in html_events(text) if kind == "data"
    )


__all__ = [
    "VERSION",
    "Encoded",
    "Marked",
    "PlaceholderError",
    "Protect",
    "Protector",
    "encode",
    "fragments_text",
    "has_placeholder",
    "pieces",
    "plain",
    "restore",
    "split_placeholders",
    "split_sentences",
    "syntax_of",
]
