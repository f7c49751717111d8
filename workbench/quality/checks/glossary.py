"""``glossary``: the terms of the style book (``--glossary FILE``) found in a segment's source
come out as the glossary requires.

For each term found in a source segment (the matching rules of ``workbench.glossary.match``:
case, word boundaries, longest first, English, Ukrainian and Korean inflection), the
translation must hold its required term in an accepted form (a keep term: exactly as the
glossary writes it). A term that is not there is ``missed``; one rendered in a deprecated form
(``Kiev`` where the book says ``Kyiv``) is ``deprecated``. Either is a warning on that segment.
Only runs with a glossary are checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.quality.checks.base import Flag

NAME = "glossary"
SEVERITY = "warning"


def check_pairs(
    pairs: Sequence[tuple[str, str]], rules: tuple[Any, ...], src: str, tgt: str
) -> tuple[list[Flag], list[dict[str, Any]]]:
    """(flags, one record per term found) for (source, output) segment pairs; ``rules`` are
    the glossary's rules for ``src`` → ``tgt`` (``Glossary.rules``)."""
    from workbench.glossary.match import check, find

    flags: list[Flag] = []
    terms: list[dict[str, Any]] = []
    for i, (source, output) in enumerate(pairs):
        for m, status in check(source, output, find(source, rules, src), tgt):
            written = m.text_in(source)
            terms.append(
                {
                    "segment": i,
                    "source": written,
                    "target": m.rule.target,
                    "keep": m.rule.keep,
                    # Several target forms (Київ|Києва|Києві): the term inflects there.
                    "inflects": not m.rule.keep and len(m.rule.accepted) > 1,
                    "status": status,
                }
            )
            if status == "missed":
                why = "not kept as written" if m.rule.keep else f"not as {m.rule.target!r}"
                flags.append(Flag(NAME, SEVERITY, f"{written!r} {why}", i))
            elif status == "deprecated":
                why = f"a deprecated form instead of {m.rule.target!r}"
                flags.append(Flag(NAME, SEVERITY, f"{written!r}: {why}", i))
    return flags, terms


def check_summary(
    article: str, summary: str, glossary: Any, src: str, lang: str
) -> tuple[list[Flag], list[dict[str, Any]]]:
    """A summary in ``lang`` of an article in ``src``, against the glossary: each term of the
    article (for another language) is ``applied`` when the summary uses its required term,
    ``absent`` when it does not (a summary leaves things out: no flag), ``deprecated`` when it
    uses a deprecated form; and any deprecated form of ``lang`` in the summary (``Kiev`` in an
    English summary of an English article) is flagged."""
    from workbench.glossary.match import check, find, target_has

    flags: list[Flag] = []
    terms: list[dict[str, Any]] = []
    seen: set[int] = set()
    if src != lang:
        for m in find(article, glossary.rules(src, lang), src):
            if m.rule.entry in seen:
                continue
            seen.add(m.rule.entry)
            ((_, status),) = check(article, summary, [m], lang)
            status = "absent" if status == "missed" else status
            terms.append(
                {
                    "segment": None,
                    "source": m.text_in(article),
                    "target": m.rule.target,
                    "keep": m.rule.keep,
                    "status": status,
                }
            )
    for i, entry in enumerate(glossary.entries):
        bad = entry.deprecated.get(lang, ())
        if not bad or not entry.terms.get(lang):
            continue
        used = target_has(summary, bad, lang, entry.case)
        if used is None:
            continue
        want = entry.terms[lang][0]
        flags.append(Flag(NAME, SEVERITY, f"{used!r}: a deprecated form instead of {want!r}"))
        if i not in seen:
            terms.append(
                {
                    "segment": None,
                    "source": used,
                    "target": want,
                    "keep": False,
                    "status": "deprecated",
                }
            )
    return flags, terms


__all__ = ["NAME", "SEVERITY", "check_pairs", "check_summary"]
