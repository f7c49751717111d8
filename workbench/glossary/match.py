"""Finding glossary terms in a source segment, and checking a translation for them.

The rules (tests/test_glossary.py has a case for each):

- **Case.** A form with a capital letter (``Kyiv``, ``NATO``, ``May``) matches only as
  written; a form in lower case (``parliament``) matches in any case (``Parliament`` at the
  start of a sentence, ``PARLIAMENT`` in a headline). An entry's ``case`` overrides this.
- **Word boundaries.** A term never matches inside a longer word: ``Rada`` is not found in
  ``Radar``. A term of several words matches across any run of whitespace.
- **Longest match first.** Where terms overlap, the longest wins (``Verkhovna Rada`` over
  ``Rada``), then the earliest; matches never overlap.
- **Inflection**, by the language of the text:
  - English: the term, or the term with ``'s``, ``’s``, ``'``, ``s`` or ``es`` (``Kyiv's``,
    ``MPs``), and ``-y`` → ``-ies`` (``party`` → ``parties``), at the end of its last word.
  - Ukrainian: every form listed in the glossary, and each word of a form with a case ending
    in place of its final vowel, ``й`` or ``ь``, or after its final consonant (``Одеса`` →
    ``Одеси``, ``Одесі``, ``Одесою``; ``Верховна Рада`` → ``Верховної Ради``; ``Ізраїль`` →
    ``Ізраїлю``). Stem changes (``Київ`` → ``Києва``,
    ``Харків`` → ``Харкова``) are not guessed: list those forms (``Київ|Києва|Києві``).
  - Korean: the term alone or followed by one of the common particles (``서울은``,
    ``서울에서``, ``국회의``); a term followed by other Hangul is part of another word
    (``국회의원`` is not ``국회``) and does not match.
  - Other languages: the forms as listed, on word boundaries (none for Chinese, Japanese,
    Thai and other languages written without spaces).

A translation is checked with the same rules in its own language: a required term counts as
present in any accepted form, inflected as above (``у Києві`` and ``Одесою`` carry ``Київ`` and
``Одеса``; ``서울에서`` carries ``서울``). A deprecated form in a translation is never accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from workbench.glossary.entries import Rule
from workbench.languages import UNSPACED

# fmt: off
#: Korean particles (and particle sequences, copula forms) that may follow a noun.
KO_PARTICLES = (
    "은", "는", "이", "가", "을", "를", "의", "에", "에서", "에게", "께", "께서", "와", "과",
    "로", "으로", "도", "만", "까지", "부터", "보다", "처럼", "마다", "이나", "나", "이라", "라",
    "이란", "란", "이라는", "라는", "에는", "에서는", "으로는", "로는", "에도", "에서도", "과의",
    "와의", "으로의", "로의", "에서의", "까지의", "만의", "조차", "밖에", "뿐", "이다", "이며",
    "이고", "이었다", "였다", "인", "이자", "로서", "으로서", "에게서", "한테", "랑", "이랑",
    "하고", "같이", "에선", "에게는", "측", "측은", "측이", "측의",
)
#: Ukrainian case endings put in place of a word's final vowel, й or ь (nouns and adjectives).
UK_ENDINGS = (
    "а", "я", "у", "ю", "і", "ї", "и", "е", "є", "о", "ом", "ем", "єм", "ою", "ею", "єю", "ів",
    "їв", "ей", "ям", "ам", "ями", "ами", "ях", "ах", "ові", "еві", "єві", "ий", "ій", "ого",
    "ього", "ому", "ьому", "им", "ім", "их", "іх", "ими", "іми", "ої", "ьої", "ую", "юю", "ь",
)
# fmt: on
_UK_FINALS = "аяоеєиіїйь"
_EN_SUFFIX = r"(?:['’]s|['’]|s|es)?"


@dataclass(frozen=True)
class Match:
    """One term found in a text: where, which rule, and the text as written there."""

    start: int
    end: int
    rule: Rule
    core: int = -1  # where the term itself ends, before an English suffix or a Korean particle

    @property
    def term_end(self) -> int:
        return self.end if self.core < 0 else self.core

    def text_in(self, text: str) -> str:
        return text[self.start : self.end]


def sensitive(form: str, case: str) -> bool:
    """Whether ``form`` is compared case-sensitively (see the module's rules)."""
    if case != "auto":
        return case == "sensitive"
    return any(ch.isupper() for ch in form)


def _family(lang: str) -> str:
    return lang.split("-")[0].lower() if lang else ""


def _uk_word(word: str) -> str:
    """A Ukrainian word and its case forms, as a pattern."""
    if len(word) > 3 and word[-1].lower() in _UK_FINALS and word[-2].isalpha():
        stem = word[:-1]
    elif len(word) > 2 and word[-1].isalpha() and word[-1].lower() not in _UK_FINALS:
        stem = word  # a consonant ending takes the ending after it (Ізраїль is covered above)
    else:
        return re.escape(word)
    endings = "|".join(sorted(UK_ENDINGS, key=len, reverse=True))
    return f"(?:{re.escape(word)}|{re.escape(stem)}(?:{endings}))"


@lru_cache(maxsize=4096)
def pattern(form: str, lang: str, case_sensitive: bool) -> re.Pattern[str]:
    """The pattern of one form in a text in ``lang``."""
    family = _family(lang)
    words = form.split()
    if family == "uk":
        body = r"\s+".join(_uk_word(w) for w in words)
    else:
        body = r"\s+".join(re.escape(w) for w in words)
    suffix = ""
    if family == "en" and form[-1:].isalpha():
        last = words[-1]
        if len(last) > 2 and last[-1] == "y" and last[-2].lower() not in "aeiou":
            plural = f"(?:{re.escape(last)}|{re.escape(last[:-1])}ies)"
            body = body[: -len(re.escape(last))] + plural
        suffix = _EN_SUFFIX
    elif family == "ko":
        suffix = "(?:" + "|".join(sorted(KO_PARTICLES, key=len, reverse=True)) + ")?"
    # ``core``: the term itself, without the suffix or particle that follows it.
    full = f"(?P<core>{body}){suffix}"
    if family not in UNSPACED:
        full = rf"(?<!\w){full}(?!\w)"
    return re.compile(full, 0 if case_sensitive else re.IGNORECASE)


def _present(form: str, text: str, folded: str, case_sensitive: bool) -> bool:
    """A cheap test before the pattern: the form's first word (less a final letter, which
    Ukrainian endings replace) must occur."""
    head = form.split()[0] if form.split() else form
    head = head[:-1] if len(head) > 3 else head
    return head in text if case_sensitive else head.casefold() in folded


def find(text: str, rules: tuple[Rule, ...], lang: str) -> list[Match]:
    """Every term of ``rules`` in ``text`` (in ``lang``): longest first, never overlapping,
    in text order."""
    if not rules or not text:
        return []
    folded = text.casefold()
    found: list[Match] = []
    for rule in rules:
        for form in rule.src_forms:
            exact = sensitive(form, rule.case)
            if not _present(form, text, folded, exact):
                continue
            for m in pattern(form, lang, exact).finditer(text):
                found.append(Match(m.start(), m.end(), rule, m.end("core")))
    found.sort(key=lambda m: (-(m.end - m.start), m.start, m.rule.entry))
    taken: list[Match] = []
    for m in found:
        if all(m.end <= t.start or m.start >= t.end for t in taken):
            taken.append(m)
    return sorted(taken, key=lambda m: m.start)


def target_has(text: str, forms: tuple[str, ...], lang: str, case: str) -> str | None:
    """The first of ``forms`` found in ``text`` (a translation in ``lang``), inflected as the
    rules allow, or None."""
    folded = text.casefold()
    for form in forms:
        exact = sensitive(form, case)
        if _present(form, text, folded, exact) and pattern(form, lang, exact).search(text):
            return form
    return None


def check(source: str, target: str, matches: list[Match], tgt: str) -> list[tuple[Match, str]]:
    """For each match of ``source``: ``applied`` when its required term (or another accepted
    form; a keep term exactly as written in the glossary) is in ``target``, else ``missed``;
    ``deprecated`` when the target uses a deprecated form instead."""
    out: list[tuple[Match, str]] = []
    for m in matches:
        rule = m.rule
        if rule.keep:
            # Kept as written: any of its forms, exactly (inflected as ``tgt`` allows).
            ok = target_has(target, rule.accepted, tgt, "sensitive") is not None
        else:
            ok = target_has(target, rule.accepted, tgt, rule.case) is not None
        if not ok and rule.deprecated and target_has(target, rule.deprecated, tgt, rule.case):
            out.append((m, "deprecated"))
        else:
            out.append((m, "applied" if ok else "missed"))
    return out


__all__ = [
    "KO_PARTICLES",
    "UK_ENDINGS",
    "Match",
    "check",
    "find",
    "pattern",
    "sensitive",
    "target_has",
]
