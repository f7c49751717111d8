"""The translation pipeline: documents in, translated documents out, through the cache.

For each (document, target language) it picks and resolves a model (no weights), answers what
it can from the cache, sends the misses of *all* documents to each model together, stores
results as each chunk finishes, and reassembles every document block by block.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from workbench import cancel, detection, inline, segment, signature
from workbench.documents import Document
from workbench.engines import Chunk, Engine, LocalEngine, SegmentError
from workbench.errors import CacheError, WorkbenchError
from workbench.glossary import apply as glossary_apply
from workbench.models.pool import ModelPool
from workbench.results import SegmentPair, TranslationResult
from workbench.settings import GenerationSettings, TranslateOptions
from workbench.store import NullStore, Store, not_cached_note, over_limit
from workbench.tasks import markup, output
from workbench.tasks.legs import Job, load_segments, plan_leg

# Misses are translated and stored in chunks, so an interrupted run loses at most one chunk of
# work. 64 segments is about ten seconds of the torch CPU path; engines several times faster
# (CTranslate2, half precision on a GPU) take four times as many, so that a chunk's last,
# part-filled batch and its hand-over cost less for about the same seconds lost on an interrupt.
CHUNK_SEGMENTS = 64
FAST_ENGINE_CHUNKS = 4
T = TypeVar("T")


def translate_documents(
    docs: Sequence[Document],
    options: TranslateOptions,
    *,
    pool: ModelPool,
    gen: GenerationSettings,
    store: Store | None = None,
    engine: Engine | None = None,
    on_segments: Callable[[int], None] | None = None,
    on_planned: Callable[[int], None] | None = None,
    on_result: Callable[[int, TranslationResult], None] | None = None,
    skip: Callable[[int, TranslationResult], bool] | None = None,
    plan_only: bool = False,
) -> list[list[TranslationResult]]:
    """Translate every document into every target of ``options``; returns
    results[doc][target].

    A problem with one document or one model becomes that result's ``error``; the others
    still complete. ``on_result(doc_index, result)`` is called as soon as each result is final
    (cache hits before any model work), so callers can write outputs while the run goes on;
    ``on_planned(n)`` gives the number of segments that will go to models (called again with
    the further ones of a pivot route's second leg, once its input is known). ``skip`` is asked
    once the signature is known; a result it accepts gets ``cache="skipped"`` and no text.
    ``plan_only`` stops after the cache look-ups: results carry hits, misses and ``cache``
    (``miss``, ``partial`` or ``segments`` where a model run would be needed) and no model is
    loaded.
    """
    store = store or NullStore()
    options = options.checked()  # returns options its caller checked as they are
    targets, src, model = list(options.targets), options.src, options.model
    fallback, via = options.fallback_model, options.pivot
    glossary = glossary_apply.load(options.glossary) if options.glossary else None
    results: list[list[TranslationResult]] = []
    jobs: list[Job] = []
    for d, doc in enumerate(docs):
        row = [TranslationResult(target_lang=t, path=doc.source) for t in targets]
        results.append(row)
        # The document's language is found (or questioned) once, whatever the targets.
        source: str | WorkbenchError
        try:
            source = src or detection.document_language(doc, *targets, what="the source language")
        except WorkbenchError as exc:
            source = exc
        mismatch = detection.contradiction(doc, src, *targets) if src is not None else None
        for result in row:
            job = Job(d, doc, result, start=time.perf_counter(), glossary=glossary)
            try:
                if isinstance(source, WorkbenchError):
                    raise source
                _plan(job, source, src is None, mismatch, model, pool, gen, store, fallback, via)
            except CacheError:
                raise  # an unusable cache stops the run: continuing would lose the work
            except WorkbenchError as exc:
                result.fail(exc)
            if result.error is None and skip is not None and skip(d, result):
                result.cache, result.text = "skipped", None
            elif result.error is None and result.text is None:
                jobs.append(job)
                continue
            if on_result:
                on_result(d, result)
    if plan_only:
        for job in jobs:
            r = job.result
            r.hits = sum(1 for k in job.seg_keys if k in job.found)
            r.misses = len(job.seg_keys) - r.hits
            r.cache = "partial" if r.hits and r.misses else "miss" if r.misses else "segments"
        return results

    def finish(job: Job) -> None:
        if on_result:
            on_result(job.index, job.result)

    engine = engine or LocalEngine()
    held: list[Job] = []  # cascades: assembled once their fallback segments are in
    pivots: list[Job] = []  # pivot routes: assembled once their second leg is in
    repairs: list[Job] = []  # sentences whose placeholders were lost: their fragments first

    def hold(job: Job) -> bool:
        if job.pivot is not None:
            pivots.append(job)
            return True
        if markup.broken(job):
            repairs.append(job)
            return True
        if job.fallback is None:
            return False
        held.append(job)
        return True

    _run_misses(jobs, pool, store, engine, on_segments, on_planned, finish, hold)
    if repairs:
        markup.run_repairs(repairs, pool, store, engine, _run_misses)
        for job in repairs:
            if job.result.error is None and job.fallback is not None:
                held.append(job)
                continue
            if job.result.error is None:
                _assemble(job, store, pool.run.max_cache_value_bytes)
            finish(job)
    if pivots:
        from workbench.tasks.pivot import run_pivots

        run_pivots(
            pivots, pool, store, engine, finish, _run_misses, _assemble, on_segments, on_planned
        )
    if held:
        from workbench.tasks.cascade import run_fallbacks

        run_fallbacks(held, pool, store, engine, finish, _run_misses, _assemble)
    return results


def _plan(
    job: Job,
    source: str,
    detected: bool,
    mismatch: str | None,
    model: str | None,
    pool: ModelPool,
    gen: GenerationSettings,
    store: Store,
    fallback: str | None = None,
    via: str | None = None,
) -> None:
    result = job.result
    result.source_lang, result.detected = source, detected
    if mismatch is not None:
        # The user may know better than the detector, so a contradiction is only reported.
        result.source_mismatch = mismatch
        result.notes.append(f"--from {source} was given, but the text looks like {mismatch}")
    if source == result.target_lang:
        output.set_output(result, job.doc, None)
        result.cache = "off"
        result.notes.append(f"already in {source}: copied unchanged")
        output.run_checks(result)
        result.seconds = time.perf_counter() - job.start
        return
    route, leg_tgt = None, result.target_lang  # the first leg's target: the pivot's, if any
    if model is None:
        from workbench.models.routing import choose

        route = choose(pool.catalog, source, result.target_lang, via, fallback=fallback)
        ref, leg_tgt = route.legs[0].model, route.legs[0].tgt
    else:
        ref = model
    result.model = ref  # named even when it cannot be resolved (dry runs list it)
    resolved = pool.resolve(ref)
    # The model layer is asked once: what runs, with which settings, under which name. The
    # cache key below and the engine's decoding both come from this plan.
    plan, rec = plan_leg(
        pool, resolved, source, leg_tgt, gen, detected=detected, where=job.doc.source
    )
    result.language_token = plan.language_token
    if job.doc.format.keyed:  # the same text read as another format is another document
        rec = {**rec, "format": job.doc.fmt}
    job.rec, job.plan = rec, plan
    result.licence = pool.licence(resolved)  # provenance only: not in the recipe
    result.licences[resolved.model_id] = result.licence
    result.model, result.revision, result.backend = (
        resolved.model_id,
        resolved.revision,
        rec["backend"],
    )
    job.seg_prefix = signature.key(rec)
    if route is not None:
        from workbench.tasks.pivot import plan_route

        job.rec = rec = plan_route(job, route, rec, pool, gen)
    if fallback is not None:
        from workbench.tasks.cascade import plan_fallback

        rec = plan_fallback(job, fallback, rec, pool, gen)
        job.rec = rec
    job.rec = rec = glossary_apply.recipe(rec, job.glossary)
    if job.doc.format.inline_markup:
        # Sentences with markup go whole, with placeholders (through both legs of a pivot
        # route): the document's key says so, so a document cached sentence fragment by
        # fragment is not served (segment keys unchanged).
        rec = job.rec = {**rec, "inline": inline.VERSION}
    if job.doc.recipe_extra():  # the document is cut into blocks otherwise than it once was
        rec = job.rec = {**rec, **job.doc.recipe_extra()}
    result.signature, result.key = signature.signature(rec), signature.key(rec)
    if result.key != job.seg_prefix:
        result.segment_key = job.seg_prefix
    result.settings = dict(plan.settings)

    if not job.doc.translatable_blocks():
        result.notes.append("nothing to translate: copied unchanged")
    doc_key = signature.digest(result.key, job.doc.input_hash())
    hit = store.get_document(doc_key)
    if hit is not None and output.valid_doc_entry(hit, job.doc):
        if job.doc.format.binary:
            output.set_output(result, job.doc, hit["blocks"], result.target_lang)
        else:
            result.text = hit["text"]
        result.segments = [SegmentPair(s, t, True) for s, t in hit["segments"]]
        result.cache, result.hits = "document", len(result.segments)
        if isinstance(hit.get("cascade"), dict):
            result.cascade = hit["cascade"]
        # Entries made since the check existed carry its answer; older ones are checked now.
        if "output_lang" in hit and isinstance(hit["output_lang"], str | None):
            output.flag_output(result, hit["output_lang"])
        else:
            output.check_output(job)
        # Computed after the hit: cached values and keys stay as they are.
        output.run_checks(result, job)
        result.seconds = time.perf_counter() - job.start
        return

    load_segments(job, markup.cut(job, source), store)
    markup.index(job)


def chunk_segments(backend: str, max_batch_size: int) -> int:
    """Segments per chunk for a backend name (``ct2-int8``, ``torch-bf16``, ...); never fewer
    than one full batch, so that chunking does not cap the run's ``max_batch_size``."""
    if backend.startswith("ct2-") or backend.endswith(("-fp16", "-bf16")):
        return max(CHUNK_SEGMENTS * FAST_ENGINE_CHUNKS, 2 * max_batch_size)
    return max(CHUNK_SEGMENTS, max_batch_size)


def _run_misses(
    jobs: list[Job],
    pool: ModelPool,
    store: Store,
    engine: Engine,
    on_segments: Callable[[int], None] | None,
    on_planned: Callable[[int], None] | None = None,
    on_done: Callable[[Job], None] | None = None,
    hold: Callable[[Job], bool] | None = None,
) -> None:
    """Translate the segments no cache entry answered, grouped per model and language pair.

    The chunks of every group go to the engine as one stream, so an engine that fans out
    (Ray) loads each model once per worker per run. Each chunk is stored as it finishes, and
    a group's documents are assembled (and ``on_done`` called) as soon as its last chunk is in.
    A segment the model failed on, or a group that stopped, fails only the documents that
    lack a translation; every other document of the group is still assembled. A job ``hold``
    accepts is left unassembled (with its translations in ``found``) for the caller to finish.
    """
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        assert job.seg_prefix
        groups.setdefault(job.seg_prefix, []).append(job)
    group_list = list(groups.values())
    chunks: list[Chunk] = []
    remaining = [0] * len(group_list)
    for g, group in enumerate(group_list):
        first = group[0]
        assert first.plan is not None and first.rec is not None
        wanted: dict[str, str] = {}  # key -> text, in first-seen order, deduplicated
        around: dict[str, tuple[str, ...]] = {}  # key -> preceding sentences (context window)
        for job in group:
            for k, text in zip(job.seg_keys, job.seg_texts, strict=True):
                if k not in job.found and k not in wanted:
                    wanted[k] = text
            around.update(zip(job.seg_keys, job.seg_contexts, strict=False))
        # Length-sorted chunks keep each chunk's batches tight.
        items = sorted(wanted.items(), key=lambda kv: (len(kv[1]) + _chars(around, kv[0]), kv[0]))
        size = chunk_segments(first.rec["backend"], pool.batch_limits()[0])
        for start in range(0, len(items), size):
            part = items[start : start + size]
            contexts = tuple(around[k] for k, _ in part) if around else ()
            chunks.append(
                Chunk(g, first.plan, tuple(k for k, _ in part), tuple(t for _, t in part), contexts)
            )
            remaining[g] += 1
    if on_planned:
        on_planned(sum(len(c.texts) for c in chunks))
    done: list[dict[str, tuple[str, tuple[str, ...]]]] = [{} for _ in group_list]
    broken: list[dict[str, SegmentError]] = [{} for _ in group_list]  # segments that failed
    failed: dict[int, WorkbenchError] = {}  # groups that stopped, and why

    def finish(g: int) -> None:
        _settle(group_list[g], done[g])
        for job in group_list[g]:
            if job.result.error is None:
                # Only a document that lacks a segment fails; the others are written.
                missing = [k for k in job.seg_keys if k not in job.found]
                if missing:
                    _fail_job(job, missing, broken[g], failed.get(g))
                elif hold is not None and hold(job):
                    continue
                else:
                    _assemble(job, store, pool.run.max_cache_value_bytes)
            if on_done:
                on_done(job)

    for g in range(len(group_list)):
        if remaining[g] == 0:
            finish(g)
    if not chunks:
        return
    stream = engine.translate_chunks(pool, chunks)
    for i, outs in _keeping(stream, lambda exc: _keep_interrupted(exc, chunks, group_list, store)):
        chunk = chunks[i]
        g = chunk.group
        if g in failed:
            continue
        if isinstance(outs, WorkbenchError):
            failed[g] = outs
            finish(g)
            continue
        ok: list[str] = []
        for k, out in zip(chunk.keys, outs, strict=True):
            if isinstance(out, SegmentError):
                broken[g][k] = out
            else:
                done[g][k] = (out.text, out.notes)
                ok.append(k)
        first = group_list[g][0]
        meta = {"signature": first.result.signature, "model": chunk.resolved.model_id}
        if ok:
            store.put_segments([(k, done[g][k][0]) for k in ok], meta)
        if on_segments:
            on_segments(len(chunk.keys))
        remaining[g] -= 1
        if remaining[g] == 0:
            finish(g)


def _chars(around: dict[str, tuple[str, ...]], key: str) -> int:
    """Characters of a sentence's context (0 without one), for sorting by prompt length."""
    return sum(len(s) for s in around.get(key, ()))


def _keeping(stream: Iterator[T], keep: Callable[[KeyboardInterrupt], None]) -> Iterator[T]:
    """``stream``, calling ``keep(exc)`` before an interrupt raised inside it goes on."""
    try:
        yield from stream
    except KeyboardInterrupt as exc:
        keep(exc)
        raise


def _keep_interrupted(
    exc: KeyboardInterrupt, chunks: list[Chunk], group_list: list[list[Job]], store: Store
) -> None:
    """Store the complete outputs an interrupted chunk handed over with the stop (the rows of
    its finished batches, and rows that had ended in the batch cut short; see
    ``Seq2SeqBase._keep_finished``), so the next run does not decode them again."""
    kept = getattr(exc, cancel.KEPT_OUTPUTS, None)
    index = getattr(exc, cancel.KEPT_CHUNK, None)
    if not kept or index is None:
        return
    chunk = chunks[index]
    first = group_list[chunk.group][0]
    meta = {"signature": first.result.signature, "model": chunk.resolved.model_id}
    items = [(chunk.keys[t], out.text) for t, out in sorted(kept.items())]
    store.put_segments(items, meta)


def _fail_job(
    job: Job,
    missing: list[str],
    broken: dict[str, SegmentError],
    stopped: WorkbenchError | None,
) -> None:
    """Fail one document in one line that names its file, the model and the cause."""
    where = job.doc.source or "input"
    errors = [broken[k] for k in missing if k in broken]
    if errors:
        total = len(set(job.seg_keys))
        exc: WorkbenchError = WorkbenchError(
            f"model {errors[0].model} failed on {len(set(missing))} of {total} segments "
            f"({errors[0].cause})"
        )
        exc.__cause__ = errors[0].__cause__
    else:
        exc = stopped or WorkbenchError(f"{len(missing)} segments were not translated")
    job.result.fail(exc)
    message = str(exc)
    job.result.error = message if message.startswith(f"{where}:") else f"{where}: {message}"


def _settle(group: list[Job], done: dict[str, tuple[str, tuple[str, ...]]]) -> None:
    """Merge a group's fresh translations into each of its jobs, counting hits and misses."""
    for job in group:
        job.result.hits = sum(1 for k in job.seg_keys if k in job.found)
        job.result.misses = len(job.seg_keys) - job.result.hits
        for k in job.seg_keys:
            if k in done and k not in job.found:
                job.found[k] = done[k][0]
        job.result.notes.extend(sorted({n for k in job.seg_keys if k in done for n in done[k][1]}))
        job.fresh_notes = {k: done[k][1] for k in job.seg_keys if k in done}


def _assemble(job: Job, store: Store, limit: int = 0) -> None:
    result = job.result
    notes = job.fresh_notes
    it = iter(zip(job.seg_keys, job.seg_texts, strict=True))
    texts: list[str] = []
    pairs: list[SegmentPair] = []
    for pieces in job.block_pieces:
        translations = []
        for piece in pieces:
            if piece.translate:
                k, text = next(it)
                target = markup.final(job, k)  # markup put back
                translations.append(target)
                later = job.later_notes.get(k, ())
                source = markup.source(job, k, text)
                pairs.append(
                    SegmentPair(source, target, k not in notes, (*notes.get(k, ()), *later))
                )
        texts.append(segment.reassemble(pieces, translations))
    output.set_output(result, job.doc, texts, result.target_lang)
    result.segments = pairs
    output.check_output(job)
    output.run_checks(result, job)
    if result.misses:
        result.cache = "partial" if result.hits else "miss"
    else:
        result.cache = "segments"
    result.seconds = time.perf_counter() - job.start
    doc_key = signature.digest(result.key, job.doc.input_hash())
    value: dict[str, Any] = {
        "text": result.text,
        "segments": [[p.source, p.target] for p in pairs],
        "output_lang": result.output_lang,
    }
    if job.doc.format.binary:
        # The translated block texts, not the output's bytes: a hit renders them into the
        # input again (the same bytes), and the entry stays the size of the text.
        value["blocks"] = texts
    if result.cascade is not None:
        value["cascade"] = result.cascade
    # A value over the limit is not stored (the output is still written): one huge row makes
    # every read of it slow and the database big. Its segments are cached all the same.
    size = None if isinstance(store, NullStore) else over_limit(value, limit)
    if size is not None:
        result.notes.append(not_cached_note(size, limit))
        return
    store.put_document(
        doc_key, value, {"signature": result.signature, "model": result.model, "path": result.path}
    )
