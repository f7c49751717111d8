"""Sentence splitting, protected spans and exact reassembly.

sentencex does the sentence splitting; this module only masks what must never be split or
translated (URLs, code, markdown markup) and fixes the few places where sentencex gets news text
wrong in English, Korean and Ukrainian. Every function keeps the text byte-identical: joining the
parts gives back the input, so markup and spacing survive translation untouched. A sentence
longer than a model takes is cut by ``workbench.long_sentences``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from sentencex import segment as _sentencex

from workbench.errors import LanguageError
from workbench.languages import UNSPACED, normalize

SEGMENTATION_VERSION: int = 1  # bump when splitting behaviour changes (it goes into cache keys)


@dataclass(frozen=True)
class Piece:
    """A part of a paragraph: translated as one unit, or copied verbatim."""

    text: str
    translate: bool  # False: whitespace, protected span or letter-less text, copied verbatim


# --- data: abbreviations -------------------------------------------------------------------------

# A split after one of these is undone when the next piece starts with a lower-case letter or a
# digit ("9 січ. 2026", "approx. 5 people"). Lower case; the match ignores case. English is applied
# to every language because news in any language quotes English abbreviations.
# fmt: off
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "approx.", "vol.", "vols.", "no.", "nos.", "fig.", "figs.", "p.", "pp.", "ch.", "sec.",
        "art.", "para.", "est.", "vs.", "v.", "ca.", "cf.", "ed.", "eds.", "dept.", "corp.",
        "inc.", "ltd.", "co.", "jr.", "sr.", "a.m.", "p.m.", "e.g.", "i.e.", "etc.", "u.s.",
        "u.k.", "u.n.", "e.u.", "jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.", "sep.",
        "sept.", "oct.", "nov.", "dec.", "tel.", "min.", "max.", "avg.", "govt.", "intl.",
    ),
    "uk": (
        "січ.", "лют.", "бер.", "берез.", "квіт.", "трав.", "черв.", "лип.", "серп.", "вер.",
        "верес.", "жовт.", "лист.", "листоп.", "груд.", "р.", "рр.", "ст.", "стст.", "хв.",
        "год.", "сек.", "т. зв.", "т.зв.", "зв.", "млн.", "млрд.", "трлн.", "тис.", "грн.",
        "дол.", "коп.", "див.", "напр.", "порівн.", "пор.", "обл.", "р-н.", "кв.", "буд.",
        "км.", "кг.", "п.", "пп.", "ч.", "вид.", "табл.", "рис.", "прим.", "ін.", "н. е.",
        "заст.", "гол.", "упр.", "мін.", "макс.", "тов.",
    ),
    "ko": (),
}

# Titles, places and initials are followed by a capitalised name ("Dr. Kim", "проф. Петренко",
# "вул. Хрещатик", "Дж. Байден"), so a split after them is undone before any letter or digit.
TITLE_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "en": (
        "mr.", "mrs.", "ms.", "dr.", "prof.", "gen.", "gov.", "sen.", "rep.", "rev.", "sgt.",
        "capt.", "lt.", "col.", "maj.", "cmdr.", "adm.", "pres.", "hon.", "st.", "mt.", "ft.",
        "messrs.",
    ),
    "uk": (
        "проф.", "акад.", "доц.", "д-р", "дж.", "вул.", "просп.", "пл.", "пров.", "бульв.",
        "м.", "с.", "смт.", "ім.", "св.", "ген.", "о.",
    ),
    "ko": (),
}

# Abbreviations that usually end a sentence; sentencex keeps the next sentence attached, so a
# split is added when a capitalised word follows ("... і т. д. Далі").
FINAL_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "en": ("etc.",),
    "uk": ("т. д.", "т.д.", "т. ін.", "т.ін.", "т. п.", "т.п."),
    "ko": (),
}
# fmt: on

_CLOSERS = "\"'”’»)]}*_~`」』】》〉）"
_OPENERS = "\"'“„«‘‚([{*_「『【《〈（"
_DASHES = "—–-"

# --- protected spans ---------------------------------------------------------------------------

_TEXT, _ATOM, _DELIM = 0, 1, 2  # per-character marks: translatable, atomic span, markup delimiter

_CODE = re.compile(r"(?<![`\\])(`+)(?!`)[^\n]+?(?<!`)\1(?!`)")
_AUTOLINK = re.compile(
    r"<(?:[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]+)>"
)
_HTML = re.compile(r"<!--[^\n]*?-->|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>\n]*)?/?>")
_FOOTNOTE = re.compile(r"\[\^[^\]\s]+\]")
_LINK = re.compile(
    r"""
    (!?\[)                                        # opening bracket, also of an image
    ((?:[^\[\]\\\n]|\\.|\[[^\[\]\n]*\])*)         # link text, one level of nested brackets
    (\]
      (?:\(\s*(?:<[^<>\n]*>|(?:[^\s()\\]|\\.|\([^\s()]*\))*)   # destination
          (?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\)))?\s*\)    # optional title
       |\[[^\[\]\n]*\])                           # or a reference label
    )
    """,
    re.VERBOSE,
)
# Hangul, CJK and full-width forms end a URL: Korean text glues particles to it ("…kr에서").
_URL = re.compile(
    r"(?<![\w/@.])((?:https?|ftp)://|mailto:|www\.)"
    r"[^\s<>\"`\u1100-\u11ff\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]+",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_ESCAPE = re.compile(r"\\[!-/:-@\[-`{-~]")
# Emphasis: '*' may sit inside words (Korean glues particles to bold text: "**중요**하다"), '_' may
# not (snake_case). Openers must be followed, closers preceded, by a non-space.
_EMPHASIS = (
    re.compile(r"(?<![*\\])(\*{1,3})(?=[^\s*])(.+?)(?<=[^\s*\\])\1(?!\*)"),
    re.compile(r"(?<![\w\\])(_{1,3})(?=[^\s_])(.+?)(?<=[^\s_\\])\1(?![\w])"),
)
_URL_TRAILING = ".,;:!?'\"*_~"
_PAIRS = {")": "(", "]": "[", "}": "{"}


def _trim_url(url: str) -> str:
    # Sentence punctuation after a URL is not part of it, but balanced parentheses are
    # (https://en.wikipedia.org/wiki/Foo_(bar)).
    while url:
        last = url[-1]
        if last in _URL_TRAILING or (last in _PAIRS and url.count(_PAIRS[last]) < url.count(last)):
            url = url[:-1]
        else:
            break
    return url


def _mark_spans(text: str, markdown: bool, log: list | None = None) -> list[int]:
    """Mark every character as translatable text, an atomic protected span or a markup delimiter.

    ``log`` receives each claim (start, end, mark) in order: delimiters come in pairs."""
    marks = [_TEXT] * len(text)
    work = list(text)  # protected characters are blanked out so later patterns skip them

    def claim(start: int, end: int, mark: int) -> None:
        log is None or log.append((start, end, mark))
        for i in range(start, end):
            marks[i] = mark
            work[i] = "x"

    def view() -> str:
        return "".join(work)

    if markdown:
        for pattern in (_CODE, _AUTOLINK, _HTML, _FOOTNOTE):
            for m in list(pattern.finditer(view())):
                claim(m.start(), m.end(), _ATOM)
        pos = 0
        while m := _LINK.search(view(), pos):
            claim(m.start(1), m.end(1), _DELIM)
            # The closing bracket stays visible to sentencex, which skips bracketed text.
            claim(m.start(3), m.start(3) + 1, _DELIM)
            claim(m.start(3) + 1, m.end(3), _ATOM)
            pos = m.start(2)  # the link text may hold an image: search inside it too
    for m in list(_URL.finditer(view())):
        url = _trim_url(m.group())
        if len(url) > len(m.group(1)):  # something after the scheme
            claim(m.start(), m.start() + len(url), _ATOM)
    for m in _EMAIL.finditer(view()):
        claim(m.start(), m.end(), _ATOM)
    if markdown:
        for m in list(_ESCAPE.finditer(view())):
            claim(m.start(), m.end(), _ATOM)
        for pattern in _EMPHASIS:
            _mark_emphasis(pattern, view(), 0, len(text), claim)
    return marks


def _mark_emphasis(
    pattern: re.Pattern[str],
    text: str,
    start: int,
    end: int,
    claim: Callable[[int, int, int], None],
) -> None:
    for m in pattern.finditer(text, start, end):
        claim(m.start(1), m.end(1), _DELIM)
        claim(m.end(2), m.end(), _DELIM)
        _mark_emphasis(pattern, text, m.start(2), m.end(2), claim)  # nested emphasis


def _runs(marks: list[int]) -> list[tuple[int, int, int]]:
    """(start, end, mark) for each run of equal marks."""
    runs: list[tuple[int, int, int]] = []
    start = 0
    for i in range(1, len(marks) + 1):
        if i == len(marks) or marks[i] != marks[start]:
            runs.append((start, i, marks[start]))
            start = i
    return runs


# --- sentence splitting --------------------------------------------------------------------------


def _lang_code(lang: str) -> str:
    try:
        return normalize(lang)
    except LanguageError:
        # sentencex has rules for far more languages than the model table; pass unknown codes on.
        return (lang or "en").strip().lower().replace("_", "-").split("-")[0] or "en"


def _ending_pattern(abbreviations: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted(set(abbreviations), key=len, reverse=True)
    if not words:
        return None
    # Not preceded by a letter: "м." must not match the end of "ім.".
    return re.compile(
        r"(?<![^\W\d_])(?:" + "|".join(re.escape(w) for w in words) + r")\s*$", re.IGNORECASE
    )


@lru_cache(maxsize=64)
def _rules(lang: str) -> tuple[re.Pattern[str] | None, ...]:
    add_english = lang != "en"
    abbreviations = ABBREVIATIONS.get(lang, ()) + (ABBREVIATIONS["en"] if add_english else ())
    titles = TITLE_ABBREVIATIONS.get(lang, ()) + (TITLE_ABBREVIATIONS["en"] if add_english else ())
    finals = FINAL_ABBREVIATIONS.get(lang, ())
    final = None
    if finals:
        words = "|".join(re.escape(w) for w in sorted(set(finals), key=len, reverse=True))
        final = re.compile(r"(?<![^\W\d_])(?:" + words + r")\s+", re.IGNORECASE)
    return _ending_pattern(abbreviations), _ending_pattern(titles), final


# An initial stands alone: "J. Smith", but not the "S." of "U.S.".
_INITIAL = re.compile(r"(?:^|(?<=[\s(«\"“„']))([^\W\d_])\.\s*$")
_NUMBER_END = re.compile(r"\d\.\s*$")
_KO_DATE_END = re.compile(r"\d{4}\.\s?\d{1,2}\.\s?\d{1,2}\.\s*$")  # 2026. 1. 9.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _first_word_char(text: str) -> str:
    stripped = text.lstrip(_OPENERS + " \t")
    return stripped[:1]


def _keep_split(left: str, right: str, lang: str) -> bool:
    """Whether a split sentencex made between ``left`` and ``right`` is a real sentence end."""
    abbreviation, title, _ = _rules(lang)
    first = _first_word_char(right)
    if not first:
        return True
    # No space at the split: a quotation going on ("괜찮다."고 말했다), unless the script does
    # not separate sentences with spaces at all.
    if (
        not left[-1:].isspace()
        and right[:1].isalnum()
        and (lang not in UNSPACED or left[-1:] in _CLOSERS)
    ):
        return False
    continues = first.islower() or first.isdigit()
    if continues and abbreviation and abbreviation.search(left):
        return False
    if first.isalnum() and title and title.search(left):
        return False
    initial = _INITIAL.search(left)
    if initial and initial.group(1).isupper() and first.isupper():
        return False  # "J. Smith", "О. Петренко"
    if first.isdigit() and _NUMBER_END.search(left):
        return False  # "2026. 1. 9.", "No. 5"
    if lang == "ko" and _KO_DATE_END.search(left):
        return False
    rest = right.lstrip()
    # Attribution after quoted speech: «Чому?» — спитала вона.
    return not (rest[:1] in _DASHES and rest[1:].lstrip()[:1].islower())


def _boundaries(text: str, masked: str, lang: str) -> list[int]:
    """Start offsets of every sentence after the first."""
    n = len(text)
    soft: set[int] = set()
    hard: set[int] = set()
    _, _, final = _rules(lang)
    line_start = 0
    for line_break in [*_LINE_BREAK.finditer(text), None]:
        line_end = line_break.end() if line_break else n
        line = masked[line_start:line_end]
        if line:
            pos = line_start
            for part in _sentencex(lang, line):
                pos += len(part)
                soft.add(pos)
            if final:
                for m in final.finditer(line):
                    if _first_word_char(line[m.end() :])[:1].isupper():
                        soft.add(line_start + m.end())
        if line_break:
            hard.add(line_end)
        line_start = line_end
        if not line_break:
            break

    def skip_space(pos: int) -> int:
        while pos < n and masked[pos].isspace():
            pos += 1
        return pos

    def settle(pos: int) -> int:
        # Closing marks right after the full stop belong to the sentence ("**Bold.** Next").
        end = pos
        while end < n and masked[end] in _CLOSERS:
            end += 1
        if end > pos and (end == n or masked[end].isspace()) and not masked[pos - 1].isspace():
            pos = end
        return skip_space(pos)  # whitespace after a sentence is its trailing whitespace

    points: dict[int, bool] = {}  # offset -> whether a line break forces it
    for pos in soft:
        if 0 < pos < n:
            points.setdefault(settle(pos), False)
    for pos in hard:
        points[skip_space(pos)] = True
    ordered = sorted(p for p in points if 0 < p < n)
    result: list[int] = []
    previous = 0
    for index, pos in enumerate(ordered):
        following = ordered[index + 1] if index + 1 < len(ordered) else n
        left, right = masked[previous:pos], masked[pos:following]
        if not left.strip():
            continue  # leading whitespace goes in front of the first sentence
        if points[pos] or _keep_split(left, right, lang):
            result.append(pos)
            previous = pos
    return result


def _masked(text: str, marks: list[int]) -> str:
    # Atomic spans become letters so that sentencex never splits inside a URL or code span;
    # markup delimiters stay visible because they behave like quotes and brackets.
    return "".join("x" if m == _ATOM else ch for ch, m in zip(text, marks, strict=True))


def _split(text: str, lang: str, marks: list[int]) -> list[str]:
    if not text:
        return []
    bounds = _boundaries(text, _masked(text, marks), _lang_code(lang))
    edges = [0, *bounds, len(text)]
    return [text[a:b] for a, b in pairwise(edges)]


def split_sentences(text: str, lang: str, *, markdown: bool = True) -> list[str]:
    """Sentences of one paragraph; ``"".join(result) == text`` exactly.

    Each item is one sentence including its trailing whitespace (leading whitespace of the
    paragraph goes in front of the first). A newline is always a sentence boundary. URLs, and with
    ``markdown`` also code spans and link targets, are never split.
    """
    return _split(text, lang, _mark_spans(text, markdown))


def _fragment(text: str, out: list[Piece]) -> None:
    """Append ``text`` as a translatable core between verbatim leading and trailing whitespace."""
    core = text.strip()
    if not core or not any(ch.isalpha() for ch in core):
        out.append(Piece(text, False))
        return
    start = text.index(core)
    if start:
        out.append(Piece(text[:start], False))
    out.append(Piece(core, True))
    if start + len(core) < len(text):
        out.append(Piece(text[start + len(core) :], False))


def pieces(text: str, lang: str, *, markdown: bool = True) -> list[Piece]:
    """Split one paragraph or line into translatable sentence bodies and verbatim pieces.

    Verbatim pieces are whitespace between sentences, leading and trailing whitespace, protected
    spans (URLs, emails; with ``markdown`` also code, link targets, HTML tags, emphasis markers,
    footnote references) and text without letters. ``"".join(p.text for p in result) == text``.
    """
    marks = _mark_spans(text, markdown)
    raw: list[Piece] = []
    offset = 0
    for sentence in _split(text, lang, marks):
        local = marks[offset : offset + len(sentence)]
        for start, end, mark in _runs(local):
            if mark == _TEXT:
                _fragment(sentence[start:end], raw)
            else:
                raw.append(Piece(sentence[start:end], False))
        offset += len(sentence)
    return merge_verbatim(raw)


def merge_verbatim(raw: list[Piece]) -> list[Piece]:
    """``raw`` without empty pieces, each run of verbatim pieces joined into one."""
    merged: list[Piece] = []
    for piece in (p for p in raw if p.text):
        if merged and not (piece.translate or merged[-1].translate):
            merged[-1] = Piece(merged[-1].text + piece.text, False)
        else:
            merged.append(piece)
    return merged


def reassemble(pieces: list[Piece], translations: list[str]) -> str:
    """Put ``translations`` in place of the translatable pieces, in order; the rest stays as is."""
    wanted = sum(1 for piece in pieces if piece.translate)
    if wanted != len(translations):
        raise ValueError(f"expected {wanted} translations, got {len(translations)}")
    replacements = iter(translations)
    return "".join(next(replacements) if piece.translate else piece.text for piece in pieces)
