"""Checks on the text of an output: protected spans, language, copies, length, repetition.

- ``urls``: every URL, e-mail address and inline code span (```...```) of the source is in the
  output byte for byte; in a summary, every one the summary has is in the article.
- ``language``: the document's language, as detected (``workbench.detection``), is the target
  (an output with too few letters is not judged); and, where the source and target scripts
  differ, each segment of at least ``SCRIPT_MIN_LETTERS`` letters has most of its letters in
  the target's script, once the words it shares with its source (names, acronyms) are set aside.
- ``untranslated``: a segment whose output is its source again (``SequenceMatcher`` ratio at
  least ``COPY_RATIO`` after case and spacing are folded), when the source has at least
  ``COPY_MIN_WORDS`` lower-case words: a segment that is only names, numbers and URLs may stay.
- ``length``: a segment of at least ``LENGTH_MIN_CHARS`` characters whose output is more than
  ``LENGTH_SPREAD`` times longer or shorter than expected; expected is the ratio of the two
  languages' ``DENSITY`` (characters per character of English: Korean writes about half as
  many, Ukrainian about as many).
- ``repetition``: an output where a word n-gram (n = 1..6) comes ``REPEAT_RUN`` or more times
  in a row, or a 1-10 character unit ``REPEAT_RUN + 1`` or more times in a row, more than in
  its source.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from workbench.quality.checks.base import Flag, in_script, protected_spans, script_of

URLS, LANGUAGE, UNTRANSLATED, LENGTH, REPETITION = (
    "urls",
    "language",
    "untranslated",
    "length",
    "repetition",
)
SEVERITY = {URLS: "error", LANGUAGE: "error", UNTRANSLATED: "warning", LENGTH: "warning"}
SEVERITY[REPETITION] = "error"

SCRIPT_MIN_LETTERS = 20
SCRIPT_SHARE = 0.5
COPY_RATIO = 0.9
COPY_MIN_WORDS = 3
LENGTH_MIN_CHARS = 30
LENGTH_SPREAD = 2.5
REPEAT_RUN = 4
MAX_NGRAM = 6

#: Characters a language needs for what English says in one (measured on news sentences).
DENSITY = {"ko": 0.5, "ja": 0.4, "zh": 0.3}
_UNSPACED = ("ja", "zh", "th")

_WORDS = re.compile(r"\w+")
_CHAR_LOOP = re.compile(r"(.{1,10}?)\1{" + str(REPEAT_RUN) + ",}", re.DOTALL)


# --- urls ----------------------------------------------------------------------------------


def missing_spans(source: str, output: str) -> list[str]:
    """The URLs, e-mail addresses and code spans of ``source`` not in ``output`` as written."""
    return [s for s in dict.fromkeys(protected_spans(source)) if s not in output]


def urls_pair(index: int | None, source: str, output: str, summary: bool = False) -> list[Flag]:
    lost = missing_spans(output, source) if summary else missing_spans(source, output)
    if not lost:
        return []
    where = "not in the article" if summary else "not intact in the translation"
    return [Flag(URLS, SEVERITY[URLS], f"{where}: {', '.join(lost[:2])}", index)]


# --- language ------------------------------------------------------------------------------


def language_document(found: str | None, tgt: str, what: str = "translation") -> list[Flag]:
    """A flag when the detected language of the whole output is not ``tgt``."""
    if found is None or found == tgt:
        return []
    return [Flag(LANGUAGE, SEVERITY[LANGUAGE], f"the {what} looks like {found}, not {tgt}")]


def detect(text: str, src: str, tgt: str) -> str | None:
    """The language of an output text, None when it has too few letters to judge."""
    from workbench import detection, languages

    if languages.letters(text) < languages.MIN_CHECK_LETTERS:
        return None
    return detection.text_language(text, src, tgt)


def script_pair(index: int, source: str, output: str, src: str, tgt: str) -> list[Flag]:
    """A flag when a segment is mostly not in the target's script (scripts must differ)."""
    want, have = script_of(tgt), script_of(src)
    if want is None or want == have:
        return []
    shared = set(_WORDS.findall(source.lower()))
    own = " ".join(w for w in _WORDS.findall(output) if w.lower() not in shared)
    letters = [ch for ch in own if ch.isalpha()]
    if len(letters) < SCRIPT_MIN_LETTERS:
        return []
    share = sum(in_script(ch, want) for ch in letters) / len(letters)
    if share >= SCRIPT_SHARE:
        return []
    reason = f"only {share:.0%} of its letters are in the {want} script of {tgt}"
    return [Flag(LANGUAGE, SEVERITY[LANGUAGE], reason, index)]


# --- untranslated --------------------------------------------------------------------------


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def untranslated_pair(index: int, source: str, output: str) -> list[Flag]:
    """A flag when the output of a segment is its source again."""
    content = [w for w in _WORDS.findall(source) if w.islower() and w.isalpha()]
    if len(content) < COPY_MIN_WORDS:
        return []  # only names, numbers, URLs: they may stay as they are
    ratio = SequenceMatcher(None, _fold(source), _fold(output), autojunk=False).ratio()
    if ratio < COPY_RATIO:
        return []
    return [Flag(UNTRANSLATED, SEVERITY[UNTRANSLATED], "the output is a copy of the source", index)]


# --- length --------------------------------------------------------------------------------


def expected_ratio(src: str, tgt: str) -> float:
    """Output characters per source character expected for a language pair."""
    return DENSITY.get(tgt, 1.0) / DENSITY.get(src, 1.0)


def length_pair(index: int, source: str, output: str, src: str, tgt: str) -> list[Flag]:
    """A flag when a segment's output is far longer or shorter than its language pair has it."""
    n = len(source.strip())
    if n < LENGTH_MIN_CHARS:
        return []
    ratio = len(output.strip()) / n
    expected = expected_ratio(src, tgt)
    if expected / LENGTH_SPREAD <= ratio <= expected * LENGTH_SPREAD:
        return []
    side = "shorter" if ratio < expected else "longer"
    reason = f"{ratio:.2f} times the source's length ({side} than the {expected:.2f} expected)"
    return [Flag(LENGTH, SEVERITY[LENGTH], reason, index)]


# --- repetition ----------------------------------------------------------------------------


def longest_run(text: str, lang: str) -> tuple[int, str]:
    """The most times a word n-gram (n <= MAX_NGRAM) comes in a row in ``text``, and it."""
    tokens = list(text.lower()) if lang in _UNSPACED else _WORDS.findall(text.lower())
    best, what = 1, ""
    for n in range(1, MAX_NGRAM + 1):
        i = 0
        while i + 2 * n <= len(tokens):
            run = 1
            while tokens[i + run * n : i + (run + 1) * n] == tokens[i : i + n]:
                run += 1
            if run > best:
                best, what = run, " ".join(tokens[i : i + n])
            i += n * run if run > 1 else 1
    return best, what


def _char_loop(text: str) -> str | None:
    for m in _CHAR_LOOP.finditer(text):
        if any(ch.isalpha() for ch in m.group(1)):
            return m.group(1)
    return None


def repetition_text(index: int | None, source: str, output: str, src: str, tgt: str) -> list[Flag]:
    """A flag when the output loops on an n-gram (or a character unit) more than its source."""
    run, what = longest_run(output, tgt)
    if run >= REPEAT_RUN and run > longest_run(source, src)[0]:
        reason = f"“{what[:40]}” {run} times in a row"
        return [Flag(REPETITION, SEVERITY[REPETITION], reason, index)]
    unit = _char_loop(output)
    if unit is not None and _char_loop(source) is None:
        reason = f"“{unit}” repeated over {REPEAT_RUN} times in a row"
        return [Flag(REPETITION, SEVERITY[REPETITION], reason, index)]
    return []
