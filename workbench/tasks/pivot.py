"""Routes through a pivot language: each sentence translated source→pivot by one model and the
pivot sentence pivot→target by another (``workbench.models.routing`` chooses them).

The first leg runs as an ordinary translation into the pivot language, its sentences cached
under its own model's key; the second leg translates those sentences, cached under *its* own
model's key, so a plain run of either model reuses them. The document's key and signature
cover both legs (``pivot:en`` and the second model with its revision), and the provenance's
``route`` record names both legs' models and revisions.

A sentence with inline markup goes whole through both legs: the first leg's raw output,
placeholders and all, is the second leg's input as it is, and the second leg's output is put
back with the sentence's own placeholders. A sentence whose placeholders either leg broke goes
in fragments through both legs instead (``workbench.tasks.markup.run_repairs``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.engines import Engine
from workbench.errors import WorkbenchError
from workbench.models.pool import ModelPool
from workbench.models.routing import Route
from workbench.settings import GenerationSettings
from workbench.store import Store
from workbench.tasks import markup
from workbench.tasks.legs import Job, leg_job, load_segments, plan_leg, windows


def plan_route(
    job: Job,
    route: Route,
    rec: dict[str, Any],
    pool: ModelPool,
    gen: GenerationSettings,
) -> dict[str, Any]:
    """Record ``route`` on ``job``'s result and, for a pivot route, plan its second leg (a leg
    of its own, stored on ``job.pivot``); returns the document's recipe, extended
    with the second leg so that its key and signature cover it. ``rec`` is the first leg's."""
    result = job.result
    record = route.record()
    record["legs"][0]["revision"] = rec["revision"]
    record["legs"][0]["licence"] = result.licence
    result.route = record
    if not route.plain:
        result.notes.append(route.note)
    if route.pivot is None:
        return rec
    leg = route.legs[1]
    resolved = pool.resolve(leg.model)
    plan, leg_rec = plan_leg(pool, resolved, leg.src, leg.tgt, gen, where=job.doc.source)
    # The target language is asked for by the second leg; the first asked for the pivot's.
    result.language_token = plan.language_token
    record["legs"][1]["revision"] = resolved.revision
    record["legs"][1]["licence"] = result.licences[resolved.model_id] = pool.licence(resolved)
    job.pivot = leg_job(job, plan, leg_rec)
    leg_key = job.pivot.seg_prefix
    then = {"lang": route.pivot, "model": resolved.model_id, "revision": resolved.revision}
    return {**rec, "tgt": result.target_lang, "pivot": {**then, "key": leg_key}}


def run_pivots(
    held: list[Job],
    pool: ModelPool,
    store: Store,
    engine: Engine,
    finish: Callable[[Job], None],
    run_misses: Callable[..., None],
    assemble: Callable[..., None],
    on_segments: Callable[[int], None] | None = None,
    on_planned: Callable[[int], None] | None = None,
) -> None:
    """Translate the held jobs' first-leg sentences (in the pivot language) with each job's
    second-leg model (misses of all documents together, through the cache), put them in place
    and assemble every job. ``run_misses`` and ``assemble`` are the translation pipeline's
    own steps; ``on_planned`` and ``on_segments`` count the second leg's segments as the first
    leg's are. A document whose second leg fails is failed with that leg's one-line error.

    A sentence with markup whose first-leg output lost its placeholders is not sent on; it and
    any whose second-leg output lost them are translated in fragments through both legs."""
    second: list[Job] = []
    lost_first: list[dict[str, str]] = []
    sent: list[list[int]] = []  # per job: the indexes of its sentences the second leg got
    for job in held:
        assert job.pivot is not None
        lost = markup.broken(job)
        texts = [job.found[k] for k in job.seg_keys]
        keep = [i for i, k in enumerate(job.seg_keys) if k not in lost]
        # The second leg's context window (a chat model) is that of the whole document in the
        # pivot language, so a sentence's key does not depend on which others were held back.
        window = job.pivot.plan.context_sentences if job.pivot.plan is not None else 0
        around = windows(texts, window) if window else None
        contexts = [around[i] for i in keep] if around is not None else None
        load_segments(job.pivot, [texts[i] for i in keep], store, contexts)
        second.append(job.pivot)
        lost_first.append(lost)
        sent.append(keep)
    run_misses(second, pool, store, engine, on_segments, on_planned, None, lambda _: True)
    ready: list[Job] = []
    repairs: list[Job] = []
    reasons: list[dict[str, str]] = []
    for job, lost, keep in zip(held, lost_first, sent, strict=True):
        leg, result = job.pivot, job.result
        assert leg is not None and leg.plan is not None
        if leg.result.error is not None:
            result.error, result.exception = leg.result.error, leg.result.exception
            if result.exception is None:
                result.exception = WorkbenchError(leg.result.error)
            finish(job)
            continue
        for i, k2 in zip(keep, leg.seg_keys, strict=True):
            k = job.seg_keys[i]
            job.found[k] = leg.found[k2]
            if leg.fresh_notes.get(k2):
                job.later_notes[k] = leg.fresh_notes[k2]
        # Both legs' look-ups count: an all-hit pivot run is one neither model had to run for.
        result.hits += leg.result.hits
        result.misses += leg.result.misses
        result.notes.extend(n for n in leg.result.notes if n not in result.notes)
        first_leg = f"{result.source_lang}->{leg.plan.src}"
        why = {k: f"{reason} in the {first_leg} leg" for k, reason in lost.items()}
        for k, piece in job.marked.items():
            # The second leg's output is checked against the sentence's own placeholders.
            reason = None if k in lost else markup.problem(piece, job.found[k])
            if reason is not None:
                why[k] = f"{reason} in the {leg.plan.src}->{leg.plan.tgt} leg"
        if why:
            repairs.append(job)
            reasons.append(why)
        else:
            ready.append(job)
    if repairs:
        markup.run_repairs(repairs, pool, store, engine, run_misses, reasons)
    for job in ready + repairs:
        if job.result.error is None:
            assemble(job, store, pool.run.max_cache_value_bytes)
        finish(job)


__all__ = ["plan_route", "run_pivots"]
