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

from workbench.engines import Engine
from workbench.models.pool import ModelPool
from workbench.settings import GenerationSettings
from workbench.store import Store
from workbench.tasks import markup
from workbench.tasks.legs import Job, leg_job, load_segments, plan_leg, windows

#: Severities that send a sentence to the fallback model.
GATING = ("error", "warning")


def plan_fallback(
    job: Job, ref: str, rec: dict[str, Any], pool: ModelPool, gen: GenerationSettings
) -> dict[str, Any]:
    """Plan the fallback model of ``job`` (a leg of its own, stored on ``job.fallback``) and
    return the document's recipe extended with the cascade, so that its key and signature
    cover it."""
    from workbench.quality.checks import VERSION as CHECKS_VERSION

    src, tgt = job.result.source_lang, job.result.target_lang
    resolved = pool.resolve(ref)
    plan, fb_rec = plan_leg(pool, resolved, src, tgt, gen, where=job.doc.source)
    job.fallback = leg_job(job, plan, fb_rec)
    job.result.licences[resolved.model_id] = pool.licence(resolved)  # provenance only
    cascade = {
        "model": resolved.model_id,
        "revision": resolved.revision,
        "key": job.fallback.seg_prefix,
        "checks": CHECKS_VERSION,
    }
    return {**rec, "fallback": cascade}


def failing(
    texts: list[str], outputs: list[str], src: str, tgt: str, glossary: Any = None
) -> dict[int, list[str]]:
    """Index → reasons (``numbers: 4.2 missing``) of each sentence whose output fails a check
    (with a ``glossary``: also a term it missed)."""
    from workbench.glossary.apply import rules
    from workbench.quality.checks import check_translation
    from workbench.quality.checks.glossary import check_pairs

    out: dict[int, list[str]] = {}
    pairs = list(zip(texts, outputs, strict=True))
    flags = check_translation(pairs, src, tgt)
    if glossary is not None:
        flags += check_pairs(pairs, rules(glossary, src, tgt), src, tgt)[0]
    for flag in flags:
        if flag.segment is not None and flag.severity in GATING:
            reasons = out.setdefault(flag.segment, [])
            reason = f"{flag.check}: {flag.reason}"
            if reason not in reasons:
                reasons.append(reason)
    return out


def run_fallbacks(
    held: list[Job],
    pool: ModelPool,
    store: Store,
    engine: Engine,
    finish: Callable[[Job], None],
    run_misses: Callable[..., None],
    assemble: Callable[..., None],
) -> None:
    """Check the held jobs' sentences, translate the failing ones with each job's fallback
    model (misses of all documents together, through the cache), put them in place and
    assemble every job. A fallback model that fails keeps the fast model's sentences, with a
    note: the document is still written. ``run_misses`` and ``assemble`` are the translation
    pipeline's own steps."""
    start = time.perf_counter()
    second: list[Job] = []
    reasons: dict[int, dict[int, list[str]]] = {}
    for job in held:
        src, tgt = job.result.source_lang, job.result.target_lang
        # Checked as readers see them: markup put back (placeholders would count as numbers).
        outputs = [markup.final(job, k) for k in job.seg_keys]
        texts = [markup.source(job, k, t) for k, t in zip(job.seg_keys, job.seg_texts, strict=True)]
        why = failing(texts, outputs, src, tgt, job.glossary)
        reasons[id(job)] = why
        fb = job.fallback
        # A fallback with a context window sees each sentence's place in the whole document.
        around = windows(job.seg_texts, fb.plan.context_sentences if fb.plan else 0)
        picked = sorted(why)
        load_segments(fb, [job.seg_texts[i] for i in picked], store, [around[i] for i in picked])
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
                out, piece = fb.found[fb.seg_keys[n]], job.marked.get(k)
                lost = markup.problem(piece, out) if piece is not None else None
                if lost is not None:  # the first model's sentence stands
                    note = f"fallback:{label} not used: {lost}"
                    job.later_notes[k] = (*job.later_notes.get(k, ()), note)
                    continue
                job.found[k] = out
                job.repaired.pop(k, None)
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
