"""The translate strategy's second step: a summary in the article's language, translated.

The translation runs through the translation pipeline (cached, with its own signature in the
provenance); the result's key covers both steps.
"""

from __future__ import annotations

from workbench import formats, segment, signature
from workbench.documents import Document, parse
from workbench.errors import WorkbenchError
from workbench.results import SummaryResult
from workbench.tasks.summarise.output import count, finish
from workbench.tasks.summarise.plan import LEAD, Context, Plan


def translate_summary(
    doc: Document, inner: SummaryResult, ctx: Context, plan: Plan, result: SummaryResult
) -> None:
    """Translate ``inner`` (the summary in ``plan.source``) into ``result``."""
    from workbench.settings import TranslateOptions
    from workbench.tasks.translate import translate_documents

    assert inner.text is not None
    tr = translate_documents(
        [parse(inner.text + "\n", formats.PLAIN)],
        TranslateOptions(
            (plan.target,),
            src=plan.source,
            model=ctx.opts.translation_model,
            glossary=ctx.opts.glossary,  # the summary's translation keeps to the style book too
        ),
        pool=ctx.pool,
        gen=ctx.gen,
        store=ctx.store,
        engine=ctx.engine,
    )[0][0]
    if tr.error is not None:
        # The translation pipeline's own one-line message, with what was being translated.
        raise WorkbenchError(
            f"{doc.source or 'input'}: translating the summary into {plan.target} failed: {tr.error}"
        ) from getattr(tr, "exception", None)
    assert tr.text is not None
    result.model, result.revision, result.backend = inner.model, inner.revision, inner.backend
    result.prompt, result.prompt_sha256 = inner.prompt, inner.prompt_sha256
    result.settings = {**inner.settings, "strategy": "translate"}
    rec = signature.recipe(
        "summarise",
        model_id=inner.model or LEAD,
        revision=inner.revision or "",
        backend=inner.backend or "none",
        src=plan.source,
        tgt=plan.target,
        settings=result.settings,
        seg_version=segment.SEGMENTATION_VERSION,
        extra={"summary": inner.key, "translation": tr.key},
    )
    result.signature, result.key = signature.signature(rec), signature.key(rec)
    result.translation = tr.provenance()
    result.licences.update({**inner.licences, **tr.licences})
    result.rounds, result.chunks, result.retries = inner.rounds, inner.chunks, inner.retries
    result.hits, result.misses = inner.hits, inner.misses
    result.notes.extend(inner.notes)
    result.notes.extend(f"translation: {n}" for n in tr.notes)
    # lead-N has no cache ("off"): the translation step alone decides then.
    steps = [c for c in (inner.cache, tr.cache) if c != "off"]
    if not steps:
        result.cache = "off"
    elif all(c == "document" for c in steps):
        result.cache = "document"
    elif all(c == "miss" for c in steps):
        result.cache = "miss"
    else:
        result.cache = "partial"
    finish(tr.text, plan, result)
    count(result)
