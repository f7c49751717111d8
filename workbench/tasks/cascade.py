"""A quality-gated cascade: the sentences a fast model's translation fails a check on are
translated again by a stronger model (``--fallback-model``).

The fast model translates everything as usual, its sentences cached under its own key. Each
document's sentences are then checked (``workbench.quality.checks``: numbers, names, URLs,
language, untranslated copies, length, repetition); those with an error or warning go to the
fallback model, whose sentences are cached under *its* own key, so either model's work is shared
with plain runs of it. The document's key covers the cascade (both models, their revisions and
the checks' version), and its provenance says which model made each sentence and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from workbench import signature
from workbench.engines import Engine
from workbench.models.pool import ModelPool
from workbench.results import TranslationResult
from workbench.settings import GenerationSettings
from workbench.store import Store

#: Severities that send a sentence to the fallback model.
GATING = ("error", "warning")


def plan_fallback(
    job: Any,
    ref: str,
    rec: dict[str, Any],
    pool: ModelPool,
    gen: GenerationSettings,
    make_job: Callable[..., Any],
) -> dict[str, Any]:
    """Plan the fallback model of ``job`` (a job made by ``make_job``, stored on
    ``job.fallback``) and return the document's recipe extended with the cascade, so that its
    key and signature cover it."""
    from workbench.quality.checks import VERSION as CHECKS_VERSION

    result = job.result
    src, tgt = result.source_lang, result.target_lang
    resolved = pool.resolve(ref)
    plan = pool.plan_translation(resolved, src, tgt, gen, where=job.doc.source)
    fb_rec = signature.recipe(
        "translate",
        model_id=resolved.model_id,
        revision=resolved.revision,
        backend=plan.backend,
        src=src,
        tgt=tgt,
        settings=dict(plan.settings),
        seg_version=rec["seg"],
        extra=dict(plan.extra),
    )
    fb_key = signature.key(fb_rec)
    scratch = TranslationResult(target_lang=tgt, path=result.path)
    scratch.model, scratch.revision, scratch.backend = (
        resolved.model_id,
        resolved.revision,
        plan.backend,
    )
    scratch.signature, scratch.key = signature.signature(fb_rec), fb_key
    job.fallback = make_job(job.index, job.doc, scratch, rec=fb_rec, plan=plan, seg_prefix=fb_key)
    cascade = {
        "model": resolved.model_id,
        "revision": resolved.revision,
        "key": fb_key,
        "checks": CHECKS_VERSION,
    }
    return {**rec, "fallback": cascade}


def failing(texts: list[str], outputs: list[str], src: str, tgt: str) -> dict[int, list[str]]:
    """Index → reasons (``numbers: 4.2 missing``) of each sentence whose output fails a check."""
    from workbench.quality.checks import check_translation

    out: dict[int, list[str]] = {}
    for flag in check_translation(list(zip(texts, outputs, strict=True)), src, tgt):
        if flag.segment is not None and flag.severity in GATING:
            reasons = out.setdefault(flag.segment, [])
            reason = f"{flag.check}: {flag.reason}"
            if reason not in reasons:
                reasons.append(reason)
    return out


def run_fallbacks(
    held: list[Any],
    pool: ModelPool,
    store: Store,
    engine: Engine,
    finish: Callable[[Any], None],
    run_misses: Callable[..., None],
    assemble: Callable[..., None],
) -> None:
    """Check the held jobs' sentences, translate the failing ones with each job's fallback
    model (misses of all documents together, through the cache), put them in place and
    assemble every job. A fallback model that fails keeps the fast model's sentences, with a
    note: the document is still written. ``run_misses`` and ``assemble`` are the translation
    pipeline's own steps."""
    start = time.perf_counter()
    second: list[Any] = []
    reasons: dict[int, dict[int, list[str]]] = {}
    for job in held:
        src, tgt = job.result.source_lang, job.result.target_lang
        outputs = [job.found[k] for k in job.seg_keys]
        why = failing(job.seg_texts, outputs, src, tgt)
        reasons[id(job)] = why
        fb = job.fallback
        fb.seg_texts = [job.seg_texts[i] for i in sorted(why)]
        fb.seg_keys = [signature.digest(fb.seg_prefix, t) for t in fb.seg_texts]
        fb.found = store.get_segments(fb.seg_keys) if fb.seg_keys else {}
        if fb.seg_keys:
            second.append(fb)
    run_misses(second, pool, store, engine, None, None, None, lambda _: True)
    for job in held:
        fb, why = job.fallback, reasons[id(job)]
        label = f"{fb.result.model}@{(fb.result.revision or '')[:7]}"
        cascade: dict[str, Any] = {
            "fallback": label,
            "checked": len(job.seg_keys),
            "to_fallback": len(why),
            "segments": [],
        }
        if fb.result.error is not None:
            job.result.notes.append(
                f"fallback model {label} failed ({_first_line(fb.result.error)}); the first "
                "model's translations were kept"
            )
            cascade["error"] = fb.result.error
        else:
            for n, i in enumerate(sorted(why)):
                k = job.seg_keys[i]
                job.found[k] = fb.found[fb.seg_keys[n]]
                job.later_notes[k] = (f"fallback:{label}", *why[i])
                cascade["segments"].append({"index": i, "model": label, "why": why[i]})
            if why:
                job.result.notes.append(
                    f"cascade: {len(why)} of {len(job.seg_keys)} sentences by {label}"
                )
        cascade["seconds"] = round(time.perf_counter() - start, 4)
        job.result.cascade = cascade
        assemble(job, store, pool.run.max_cache_value_bytes)
        finish(job)


def _first_line(message: str) -> str:
    lines = message.strip().splitlines()
    return lines[0][:200] if lines else ""


__all__ = ["GATING", "failing", "plan_fallback", "run_fallbacks"]
