"""The summarising pipeline: documents in, short faithful summaries out, through the cache.

Three kinds of summariser:

- ``lead``: the first N sentences of the article body (the classic news baseline; no model).
- seq2seq summarisers (mT5 XL-Sum, BART, PEGASUS) with their recommended decoding settings,
  taken from the catalog (``[model.generation]``) and the model's ``generation_config.json``
  (``workbench.models.params``).
- chat models, prompted through templates (``workbench.prompts``) and the tokenizer's chat
  template, decoded greedily.

The output language is reached by one of three strategies, chosen per document and recorded
(``plan``): ``native`` (the summariser writes the target language itself: the article's own
language, or any language for a chat model asked in the article's language), ``prompt`` (a
chat model is asked for another language) and ``translate`` (summarise in the article's
language, then translate the summary through the translation pipeline: ``then_translate``).
The output's language is checked; a mismatch is flagged in the result, and a chat model is
asked once more.

A long article is summarised in map-reduce rounds (``chunked``). Whole summaries
(``entries``) and every chunk call are cached under a key that includes the chunking settings.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from workbench import detection, signature
from workbench.documents import Document, content_hash
from workbench.errors import CacheError, InputError, WorkbenchError
from workbench.glossary import load as load_glossary
from workbench.models.pool import ModelPool
from workbench.results import SummaryResult
from workbench.settings import STRATEGIES, GenerationSettings, SummaryOptions
from workbench.store import NullStore, Store, not_cached_note, over_limit
from workbench.tasks.summarise.chunked import model_summary
from workbench.tasks.summarise.entries import from_entry, to_entry, valid_entry
from workbench.tasks.summarise.lead import body_sentences, lead, limit_sentences
from workbench.tasks.summarise.output import count, finish, run_checks
from workbench.tasks.summarise.plan import LEAD, Context, identify, make_plan
from workbench.tasks.summarise.runners import length_phrase
from workbench.tasks.summarise.then_translate import translate_summary

if TYPE_CHECKING:
    from workbench.engines import Engine

#: Below this an article is its own summary.
MIN_SENTENCES = 2
MIN_WORDS = 20


def summarise_documents(
    docs: Sequence[Document],
    options: SummaryOptions,
    *,
    pool: ModelPool,
    gen: GenerationSettings,
    store: Store | None = None,
    engine: Engine | None = None,
) -> list[SummaryResult]:
    """Summarise every document; a problem with one becomes that result's ``error``.

    Invalid options are raised (they concern every document); an unusable cache is raised too.
    ``engine`` runs the translation step of the translate strategy (default: in process).
    """
    opts = options.checked()
    ctx = Context(opts, pool, gen, store or NullStore(), engine)
    glossary = load_glossary(opts.glossary) if opts.glossary else None  # raised: every document
    results = []
    for doc in docs:
        doc = doc.as_text()  # a Word file is summarised from its readable text
        result = SummaryResult(lang=opts.lang, path=doc.source)
        start = time.perf_counter()
        try:
            _summarise(doc, ctx, result)
            run_checks(result, doc, glossary)
        except CacheError:
            raise  # continuing would lose the work
        except WorkbenchError as exc:
            result.error, result.exception = str(exc), exc
        except Exception as exc:  # a model failing on this document: the others go on
            from workbench.engines import describe

            who = "the summariser"
            if result.model:
                who = f"model {result.model}@{(result.revision or '')[:7]}"
            error = WorkbenchError(f"{who} failed on it ({describe(exc)})")
            error.__cause__ = exc  # its traceback, for WORKBENCH_DEBUG and API callers
            result.error, result.exception = str(error), error
        if result.error is not None and doc.source and doc.source not in result.error:
            result.error = f"{doc.source}: {result.error}"  # one line names the file
        result.seconds = time.perf_counter() - start
        results.append(result)
    return results


def _summarise(doc: Document, ctx: Context, result: SummaryResult) -> None:
    opts = ctx.opts
    name = doc.source or "input"
    source = opts.src or detection.document_language(doc, opts.lang, what="the article's language")
    target = opts.lang or source
    result.source_lang, result.detected, result.lang = source, opts.src is None, target
    units = body_sentences(doc, source)
    words = sum(len(u.split()) for u in units)
    if len(units) < MIN_SENTENCES or words < MIN_WORDS:
        raise InputError(
            name,
            f"too short to summarise ({len(units)} sentences, {words} words in its body); "
            f"a summary needs at least {MIN_SENTENCES} sentences and {MIN_WORDS} words",
        )
    plan = make_plan(ctx, source, target)
    result.strategy = plan.strategy
    result.summariser = plan.kind
    if plan.resolved is not None:
        result.licence = ctx.pool.licence(plan.resolved)  # provenance only: not in the key
        result.licences[plan.resolved.model_id] = result.licence
    if plan.strategy == "translate":
        # Summarise in the article's language (cached), then translate the summary.
        inner = SummaryResult(lang=plan.source, path=doc.source)
        _summarise(doc, ctx.native(plan.source), inner)
        translate_summary(doc, inner, ctx, plan, result)
        return
    identify(ctx, plan, result)
    if doc.format.keyed:  # another format's summary is not this one's
        plan.rec = {**plan.rec, "format": doc.fmt}
        result.key = signature.key(plan.rec)
    if doc.recipe_extra():  # its prose is read otherwise than it once was
        plan.rec = {**plan.rec, **doc.recipe_extra()}
        result.key = signature.key(plan.rec)
    doc_key = signature.digest(result.key, content_hash(doc.render()))
    hit = ctx.store.get_document(doc_key) if plan.kind != "lead" else None
    if hit is not None and valid_entry(hit):
        from_entry(hit, result)
        result.cache = "document"
        count(result)
        return
    raw: str | list[str]
    if plan.kind == "lead":
        raw = lead(units, result.settings["sentences"], result.settings["words"])
        result.cache = "off"
    else:
        raw = model_summary(doc, units, ctx, plan, result)
        result.cache = "miss" if not result.hits else "partial" if result.misses else "segments"
    finish(raw, plan, result)
    count(result)
    if plan.kind != "lead":  # lead-N is instant: caching it would only fill the database
        entry = to_entry(result)
        meta = {"signature": result.signature, "model": result.model, "path": result.path}
        limit = ctx.pool.run.max_cache_value_bytes
        size = None if isinstance(ctx.store, NullStore) else over_limit(entry, limit)
        if size is not None:  # too big to cache: written all the same, with a note
            result.notes.append(not_cached_note(size, limit))
        else:
            ctx.store.put_document(doc_key, entry, meta)


__all__ = [
    "LEAD",
    "STRATEGIES",
    "SummaryOptions",
    "SummaryResult",
    "body_sentences",
    "lead",
    "length_phrase",
    "limit_sentences",
    "summarise_documents",
]
