"""One model's leg of a translation: its plan, its recipe, and the job that carries its sentences.

A document is translated by one leg (a model on a language pair), or by more: a pivot route's
second leg, a cascade's fallback. Each leg's sentences are cached under its own model's key, so
any leg's work is shared with a plain run of that model; the document's key covers all legs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench import inline, segment, signature
from workbench.documents import Document
from workbench.glossary import Glossary, apply
from workbench.models.plan import ModelPlan
from workbench.models.pool import ModelPool
from workbench.models.resolve import ResolvedModel
from workbench.results import TranslationResult
from workbench.settings import GenerationSettings
from workbench.store import Store


@dataclass
class Job:
    """One (document, target) in flight."""

    index: int
    doc: Document
    result: TranslationResult
    rec: dict[str, Any] | None = None
    plan: ModelPlan | None = None
    block_pieces: list[list[segment.Piece]] = field(default_factory=list)
    seg_keys: list[str] = field(default_factory=list)
    seg_texts: list[str] = field(default_factory=list)
    # Each sentence's preceding sentences, when the plan translates with a context window
    # (chat models); empty otherwise. They are part of each sentence's key.
    seg_contexts: list[tuple[str, ...]] = field(default_factory=list)
    found: dict[str, str] = field(default_factory=dict)
    fresh_notes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # computed this run
    start: float = 0.0
    # The key segments are cached under: the model's own, so that a cascade and a plain run of
    # the same model share them (the result's key covers the cascade).
    seg_prefix: str = ""
    fallback: Job | None = None  # the cascade's fallback model: its plan, recipe and key
    pivot: Job | None = None  # a pivot route's second leg (pivot -> target)
    later_notes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # e.g. fallback reasons
    glossary: Glossary | None = None  # --glossary: applied on every leg, for its language pair
    # Sentences sent whole with placeholders (workbench.inline): per translatable piece (None
    # for a plain one), then by key; and the fragment translations of those whose output lost
    # a placeholder.
    marked_at: list[inline.Marked | None] = field(default_factory=list)
    marked: dict[str, inline.Marked] = field(default_factory=dict)
    repaired: dict[str, str] = field(default_factory=dict)


def plan_leg(
    pool: ModelPool,
    resolved: ResolvedModel,
    src: str,
    tgt: str,
    gen: GenerationSettings,
    *,
    detected: bool = False,
    where: str | None = None,
) -> tuple[ModelPlan, dict[str, Any]]:
    """The model layer's plan for ``src`` → ``tgt`` with this model, and the recipe its cache
    key and signature are made of (one answer: the engine decodes with the same plan)."""
    plan = pool.plan_translation(resolved, src, tgt, gen, detected=detected, where=where)
    rec = signature.recipe(
        "translate",
        model_id=resolved.model_id,
        revision=resolved.revision,
        backend=plan.backend,
        src=src,
        tgt=tgt,
        settings=dict(plan.settings),
        seg_version=segment.SEGMENTATION_VERSION,
        extra=dict(plan.extra),
    )
    return plan, rec


def leg_job(job: Job, plan: ModelPlan, rec: dict[str, Any]) -> Job:
    """A further leg of ``job``'s document: a job of its own whose result names the leg's
    model and key (it is never written; its sentences go back into ``job``)."""
    resolved = plan.resolved
    key = signature.key(rec)
    scratch = TranslationResult(target_lang=plan.tgt, path=job.result.path)
    scratch.model, scratch.revision, scratch.backend = (
        resolved.model_id,
        resolved.revision,
        plan.backend,
    )
    scratch.signature, scratch.key = signature.signature(rec), key
    return Job(
        job.index, job.doc, scratch, rec=rec, plan=plan, seg_prefix=key, glossary=job.glossary
    )


def load_segments(
    job: Job,
    texts: list[str],
    store: Store,
    contexts: list[tuple[str, ...]] | None = None,
) -> None:
    """Give ``job`` these sentences to translate, keyed under its model and answered from the
    cache where it can.

    When the job's plan has a context window, each sentence carries the sentences before it:
    ``contexts`` where given (one per text), else the window of ``texts`` themselves (the
    document's sentences in order). A sentence's key then covers its context.
    """
    job.seg_texts = list(texts)
    window = job.plan.context_sentences if job.plan is not None else 0
    job.seg_contexts = []
    if window:
        job.seg_contexts = list(contexts) if contexts is not None else windows(texts, window)
    # A segment a glossary changes the request for is keyed with the rules that match it;
    # every other segment keeps the key it has without a glossary.
    extras = apply.segment_extras(job.glossary, job.plan, job.seg_texts)
    job.seg_keys = [
        segment_key(job.seg_prefix, t, job.seg_contexts[i] if window else None, extras[i])
        for i, t in enumerate(job.seg_texts)
    ]
    if job.plan is not None:
        job.plan = apply.with_terms(job.plan, job.glossary)
    job.found = store.get_segments(job.seg_keys) if job.seg_keys else {}


def windows(texts: list[str], window: int) -> list[tuple[str, ...]]:
    """Each text's ``window`` preceding texts, oldest first (fewer at the start)."""
    return [tuple(texts[max(0, i - window) : i]) for i in range(len(texts))]


def segment_key(
    prefix: str,
    text: str,
    context: tuple[str, ...] | None = None,
    glossary: dict[str, Any] | None = None,
) -> str:
    """The cache key of one sentence under a model's key ``prefix``: the same sentence after
    other sentences is another entry, and so is one asked with a glossary's terms
    (``glossary``: ``workbench.glossary.apply.segment_extras``). Without either, the key is
    the one every sentence-level model has always used."""
    if context is None and glossary is None:
        return signature.digest(prefix, text)
    extra = {} if context is None else {"context": list(context)}
    return signature.digest(prefix, text, {**extra, **(glossary or {})})


__all__ = ["Job", "leg_job", "load_segments", "plan_leg", "segment_key", "windows"]
