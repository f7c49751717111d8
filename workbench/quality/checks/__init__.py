"""Checks on every output, without a reference: cheap, deterministic, one line per finding.

A translation is checked segment by segment (``check_translation``: the pairs of
``TranslationResult.segments``) and as a whole (its language); a summary against its article
(``check_summary``). Each finding is a ``Flag`` naming its check, a severity and a short reason;
``verdict`` is ``flag`` when any finding is an error or a warning, else ``pass``. ``CHECKS``
lists every check with its severity and what it looks at; each module's docstring says
exactly what it matches and what it does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.quality.checks import glossary, names, numbers, text
from workbench.quality.checks.base import FLAG, PASS, SEVERITIES, Flag, verdict

#: Bumped when a check's verdict on the same text changes (cascades' cache keys include it).
VERSION = 1

#: Every check: name -> (severity, what it looks at).
CHECKS: dict[str, tuple[str, str]] = {
    numbers.NAME: (
        numbers.SEVERITY,
        "numbers, amounts, dates and percentages of the source are in the output; a "
        "summary's numbers are in its article",
    ),
    text.URLS: (text.SEVERITY[text.URLS], "URLs, e-mail addresses and code spans intact"),
    names.NAME: (names.SEVERITY, "names of the source carried over (transliteration allowed)"),
    text.LANGUAGE: (text.SEVERITY[text.LANGUAGE], "the output is in the target language"),
    text.UNTRANSLATED: (text.SEVERITY[text.UNTRANSLATED], "a segment copied untranslated"),
    text.LENGTH: (text.SEVERITY[text.LENGTH], "segment length far off the language pair's"),
    text.REPETITION: (text.SEVERITY[text.REPETITION], "runaway repetition in an output"),
    glossary.NAME: (glossary.SEVERITY, "the style book's terms (--glossary) as it requires"),
}

#: ``output_lang`` not given: the checks detect the output's language themselves.
UNSET: Any = object()


def check_translation(
    pairs: Sequence[tuple[str, str]], src: str, tgt: str, *, output_lang: Any = UNSET
) -> list[Flag]:
    """Check a translation given as (source, output) segment pairs from ``src`` into ``tgt``.

    ``output_lang``: the language already detected in the whole output (None: too little text
    to tell), so the document's language is not detected twice; by default it is detected on
    the joined outputs. Flags come in segment order; document-wide ones first.
    """
    if output_lang is UNSET:
        output_lang = text.detect(" ".join(t for _, t in pairs), src, tgt)
    flags = text.language_document(output_lang, tgt)
    wrong_language = bool(flags)
    for i, (source, output) in enumerate(pairs):
        flags += numbers.check_pair(i, source, output, src, tgt)
        flags += text.urls_pair(i, source, output)
        flags += names.check_pair(i, source, output)
        copied = text.untranslated_pair(i, source, output) if src != tgt else []
        flags += copied
        if not wrong_language and not copied:
            flags += text.script_pair(i, source, output, src, tgt)
        flags += text.length_pair(i, source, output, src, tgt)
        flags += text.repetition_text(i, source, output, src, tgt)
    return flags


def check_summary(
    article: str, summary: str, lang: str, article_lang: str, *, output_lang: Any = UNSET
) -> list[Flag]:
    """Check a summary in ``lang`` against its article in ``article_lang``: its numbers and
    URLs come from the article, it is in ``lang`` and does not loop. ``output_lang`` as for
    ``check_translation``."""
    if output_lang is UNSET:
        output_lang = text.detect(summary, article_lang, lang)
    flags = text.language_document(output_lang, lang, "summary")
    flags += numbers.check_summary(article, summary, lang, article_lang)
    flags += text.urls_pair(None, article, summary, summary=True)
    flags += text.repetition_text(None, article, summary, article_lang, lang)
    return flags


def as_dicts(flags: Sequence[Flag]) -> list[dict[str, Any]]:
    """Flags as JSON-ready dicts (what results and provenance carry)."""
    return [f.to_dict() for f in flags]


__all__ = [
    "CHECKS",
    "FLAG",
    "PASS",
    "SEVERITIES",
    "Flag",
    "as_dicts",
    "check_summary",
    "check_translation",
    "verdict",
]
