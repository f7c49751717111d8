"""Sentences with inline markup in the translation pipeline (``workbench.inline``).

A sentence with markup goes to the model whole, with placeholders; its cache entry is the
model's raw output, so every run checks it the same way. When the output cannot be put back
(a placeholder lost, duplicated or out of order), that sentence alone is translated again in
fragments, as before placeholders existed: a second pass of the same model over all such
sentences of all documents, through the cache (the fragments' keys are the ones plain runs use).
On a pivot route (``workbench.tasks.pivot``) a sentence goes whole through both legs, and one
whose placeholders either leg broke goes in fragments through both.
"""

from __future__ import annotations

from collections.abc import Callable

from workbench import inline
from workbench.engines import Engine
from workbench.errors import WorkbenchError
from workbench.glossary import apply as glossary_apply
from workbench.models.pool import ModelPool
from workbench.results import TranslationResult
from workbench.store import Store
from workbench.tasks.legs import Job, load_segments


def cut(job: Job, source: str) -> list[str]:
    """Cut ``job``'s document into pieces (``job.block_pieces``, ``job.marked``); returns the
    texts to translate. Sentences with markup go whole, with placeholders, on every route."""
    syntax = inline.syntax_of(job.doc.format.inline_markup)
    # A glossary's terms become placeholders restored as the required terms (seq2seq models).
    # Not on a pivot route: the first leg's placeholders would be restored as its own pair's
    # terms (the pivot language's), so there the terms are only checked.
    protect = glossary_apply.protector(job.glossary, job.plan) if job.pivot is None else None
    texts: list[str] = []
    marked: list[inline.Marked | None] = []
    for text in job.doc.translatable_texts():
        pieces = inline.pieces(text, source, syntax, whole=True, protect=protect)
        job.block_pieces.append(pieces)
        for piece in pieces:
            if piece.translate:
                texts.append(piece.text)
                marked.append(piece if isinstance(piece, inline.Marked) else None)
    job.marked_at = marked
    return texts


def index(job: Job) -> None:
    """Map each segment key to its marked sentence, once the keys are known."""
    job.marked = {
        k: piece for k, piece in zip(job.seg_keys, job.marked_at, strict=True) if piece is not None
    }


def problem(piece: inline.Marked, output: str) -> str | None:
    """Why ``output`` cannot be put back into ``piece``, or None."""
    assert piece.encoded is not None
    try:
        inline.restore(piece.encoded, output)
    except inline.PlaceholderError as exc:
        return str(exc)
    return None


def broken(job: Job) -> dict[str, str]:
    """Key → reason of each marked sentence whose output cannot be put back (not yet repaired)."""
    out: dict[str, str] = {}
    for k, piece in job.marked.items():
        if k in job.found and k not in job.repaired:
            reason = problem(piece, job.found[k])
            if reason is not None:
                out[k] = reason
    return out


def final(job: Job, k: str) -> str:
    """The translation of segment ``k`` as it goes into the document (markup put back)."""
    piece = job.marked.get(k)
    if piece is None:
        return job.found[k]
    if k in job.repaired:
        return job.repaired[k]
    assert piece.encoded is not None
    return inline.restore(piece.encoded, job.found[k])


def source(job: Job, k: str, text: str) -> str:
    """The readable source of segment ``k`` (the sentence as written)."""
    piece = job.marked.get(k)
    return piece.source if piece is not None else text


def run_repairs(
    jobs: list[Job],
    pool: ModelPool,
    store: Store,
    engine: Engine,
    run_misses: Callable[..., None],
    reasons: list[dict[str, str]] | None = None,
) -> None:
    """Translate in fragments each sentence of ``jobs`` whose output lost its placeholders:
    one pass of each job's own model over all of them, through the cache; on a pivot route a
    second pass, of the second leg's model over the first's fragment outputs. ``reasons``
    (per job: key → why) names the sentences; by default those ``broken`` finds. A job whose
    pass fails is failed with that error."""
    whys = reasons if reasons is not None else [broken(job) for job in jobs]
    texts = [
        [p.text for k in why for p in job.marked[k].fragments if p.translate]
        for job, why in zip(jobs, whys, strict=True)
    ]
    outputs = _fragment_pass(jobs, jobs, texts, pool, store, engine, run_misses)
    onward = [i for i, job in enumerate(jobs) if job.pivot is not None and job.result.error is None]
    if onward:
        seconds = _fragment_pass(
            [jobs[i] for i in onward],
            [jobs[i].pivot for i in onward],  # type: ignore[misc]
            [outputs[i] for i in onward],
            pool,
            store,
            engine,
            run_misses,
        )
        for i, out in zip(onward, seconds, strict=True):
            outputs[i] = out
    for job, why, outs in zip(jobs, whys, outputs, strict=True):
        if job.result.error is not None:
            continue
        it = iter(outs)
        for k, reason in why.items():
            piece = job.marked[k]
            wanted = sum(1 for p in piece.fragments if p.translate)
            job.repaired[k] = inline.fragments_text(piece, [next(it) for _ in range(wanted)])
            note = f"markup: {reason}; sentence translated in fragments"
            job.later_notes[k] = (*job.later_notes.get(k, ()), note)
        job.result.notes.append(
            f"markup: {len(why)} of {_with_placeholders(job)} sentences with markup translated in "
            "fragments (their placeholders did not come back intact)"
        )


def _fragment_pass(
    jobs: list[Job],
    legs: list[Job],
    texts: list[list[str]],
    pool: ModelPool,
    store: Store,
    engine: Engine,
    run_misses: Callable[..., None],
) -> list[list[str]]:
    """Translate each job's ``texts`` with the model of its ``legs`` entry (the job itself, or
    its pivot's second leg), all jobs in one pass through the cache; returns each job's
    translations in order (none for a job the pass failed, which is failed with its error)."""
    scratches: list[Job] = []
    for job, base, part in zip(jobs, legs, texts, strict=True):
        scratch = TranslationResult(target_lang=base.result.target_lang, path=job.result.path)
        scratch.signature, scratch.model = base.result.signature, base.result.model
        leg = Job(
            job.index, job.doc, scratch, rec=base.rec, plan=base.plan, seg_prefix=base.seg_prefix
        )
        # Fragments go without document context (a chat model's window): they are the safe
        # mode, and their keys must not depend on which other sentences broke.
        contexts = (
            [()] * len(part) if base.plan is not None and base.plan.context_sentences else None
        )
        load_segments(leg, part, store, contexts)
        scratches.append(leg)
    run_misses(scratches, pool, store, engine, None, None, None, lambda _: True)
    out: list[list[str]] = []
    for job, leg in zip(jobs, scratches, strict=True):
        if leg.result.error is not None:
            job.result.error, job.result.exception = leg.result.error, leg.result.exception
            if job.result.exception is None:
                job.result.exception = WorkbenchError(leg.result.error)
            out.append([])
            continue
        out.append([leg.found[k] for k in leg.seg_keys])
    return out


def _with_placeholders(job: Job) -> int:
    return sum(1 for p in job.marked.values() if p.encoded and (p.encoded.atoms or p.encoded.pairs))


__all__ = ["broken", "cut", "final", "index", "problem", "run_repairs", "source"]
