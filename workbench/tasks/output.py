"""A finished translation's output: its text (and a binary format's bytes), the document-level
cache entry it may come from, and the checks run on it (output language, quality checks)."""

from __future__ import annotations

from typing import Any

from workbench import detection
from workbench.documents import Document
from workbench.results import TranslationResult
from workbench.tasks.legs import Job


def check_output(job: Job) -> None:
    """Detect the language of a translation's prose and flag one that is not the target.

    Skipped where detection means little: a copied document, or too few letters to go on.
    """
    result = job.result
    if (
        result.text is None
        or result.source_lang == result.target_lang
        or not job.doc.translatable_blocks()  # copied: there is nothing to check
    ):
        return
    # Too few letters to go on: not checked (None).
    output = job.doc.format.readable().parse(result.text)
    flag_output(
        result, detection.output_language(output, result.source_lang or "en", result.target_lang)
    )


def flag_output(result: TranslationResult, found: str | None) -> None:
    result.output_lang = found
    result.lang_mismatch = found is not None and found != result.target_lang
    if result.lang_mismatch:
        result.notes.append(
            f"language mismatch: the translation looks like {found}, not {result.target_lang}"
        )


def run_checks(result: TranslationResult, job: Job | None = None) -> None:
    """The quality checks of a finished translation, reusing its detected language; with the
    ``job``'s glossary, its terms too (recorded in ``result.glossary``)."""
    from workbench.glossary.apply import job_checks
    from workbench.quality.checks import as_dicts, check_translation, verdict

    pairs = [(p.source, p.target) for p in result.segments]
    flags = check_translation(
        pairs, result.source_lang or "en", result.target_lang, output_lang=result.output_lang
    )
    flags += job_checks(result, job)
    result.checks, result.verdict = as_dicts(flags), verdict(flags)


def valid_doc_entry(entry: dict[str, Any], doc: Document) -> bool:
    if doc.format.binary:  # rebuilt from the input and the translated block texts
        blocks = entry.get("blocks")
        if not isinstance(blocks, list) or not all(isinstance(b, str) for b in blocks):
            return False
        if len(blocks) != len(doc.translatable_blocks()):
            return False
    return isinstance(entry.get("text"), str) and isinstance(entry.get("segments"), list)


def set_output(
    result: TranslationResult, doc: Document, texts: list[str] | None, lang: str | None = None
) -> None:
    """Put ``doc`` with ``texts`` in place (None: as it is) into ``result``, as a translation
    into ``lang`` when given: its text, and for a binary format its bytes (``data``) with the
    readable view as ``text``."""
    out = (
        doc.render(texts) if texts is None or lang is None else doc.render_translation(texts, lang)
    )
    if doc.format.binary:
        result.data, result.text = out, doc.view(texts)
    else:
        result.text = out
