"""A fresh summary made final: one paragraph, within the length limits, its language checked."""

from __future__ import annotations

from typing import Any

from workbench import detection, languages, segment
from workbench.documents import Document
from workbench.errors import WorkbenchError
from workbench.results import SummaryResult
from workbench.tasks.summarise.lead import limit_sentences
from workbench.tasks.summarise.plan import Plan


def join_sentences(sentences: list[str], lang: str) -> str:
    """Sentences as one paragraph (without spaces between them where words have none)."""
    return ("" if lang in languages.UNSPACED else " ").join(s.strip() for s in sentences)


def clean(text: str) -> str:
    """A generated summary as one paragraph: line breaks and runs of spaces become one space."""
    return " ".join(text.split())


def finish(raw: str | list[str], plan: Plan, result: SummaryResult) -> None:
    """Length limits, language check and counts of a fresh summary."""
    opts_sentences = result.settings.get("sentences")
    opts_words = result.settings.get("words")
    if isinstance(raw, list):  # lead-N: already sentences within the limits
        kept, notes = raw, []
        text = join_sentences(raw, plan.target)
    else:
        text = clean(raw)
        parts = segment.split_sentences(text, plan.target, markdown=False)
        kept, notes = limit_sentences([p.strip() for p in parts], opts_sentences, opts_words)
    result.notes.extend(notes)
    final = join_sentences(kept, plan.target)
    if not final.strip():
        raise WorkbenchError(
            f"{result.path or 'input'}: the model wrote an empty summary; try another model "
            "or --model lead"
        )
    found = detection.text_language(text, plan.source, plan.target)
    result.output_lang = found
    result.lang_mismatch = found is not None and found != plan.target
    if found is None:
        result.notes.append("could not check the summary's language")
    elif result.lang_mismatch:
        result.notes.append(f"language mismatch: the summary looks like {found}, not {plan.target}")
    result.text = final


def count(result: SummaryResult) -> None:
    """The sentence and word counts of a result's text."""
    text = result.text or ""
    lang = result.lang or "en"
    result.sentence_count = len(
        [s for s in segment.split_sentences(text, lang, markdown=False) if s.strip()]
    )
    result.word_count = len(text.split())


def run_checks(result: SummaryResult, article: Document, glossary: Any = None) -> None:
    """The quality checks of a finished summary against its article (fresh or cached alike:
    they are computed after the cache, from the text and the detected language). A summary
    made by the translate strategy also carries its translation step's findings; with a
    ``glossary``, its terms are checked and recorded (``result.glossary``)."""
    from workbench.quality.checks import Flag, as_dicts, check_summary, verdict

    if result.text is None:
        return
    lang = result.lang or result.source_lang or "en"
    flags = check_summary(
        article.render(),
        result.text,
        lang,
        result.source_lang or lang,
        output_lang=result.output_lang,
    )
    if glossary is not None:
        from workbench.quality.checks.glossary import check_summary as check_terms

        found_flags, terms = check_terms(
            article.render(), result.text, glossary, result.source_lang or lang, lang
        )
        flags += found_flags
        counts = {s: sum(t["status"] == s for t in terms) for s in ("applied", "deprecated")}
        result.glossary = {
            "file": glossary.path,
            "sha256": glossary.sha256,
            "how": "check",
            **counts,
            "missed": 0,
            "terms": terms,
        }
    for found in (result.translation or {}).get("checks") or []:
        reason = f"translation step: {found['reason']}"
        flags.append(Flag(found["check"], found["severity"], reason, None))
    result.checks, result.verdict = as_dicts(flags), verdict(flags)
