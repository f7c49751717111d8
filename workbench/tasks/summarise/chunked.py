"""Map-reduce over a long article: fit, pack, summarise the parts, combine; cached per chunk.

A long article is chunked by the model's own tokenizer within its input limit; the chunks are
summarised, their summaries combined, and so on for a bounded number of rounds. Nothing is
truncated: an article that does not fit after those rounds is an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from workbench import long_sentences, signature
from workbench.documents import Document
from workbench.errors import WorkbenchError
from workbench.results import SummaryResult
from workbench.tasks.summarise.plan import Context, Plan
from workbench.tasks.summarise.runners import ChatRunner, Out, Seq2SeqRunner, make_runner


def model_summary(
    doc: Document, units: list[str], ctx: Context, plan: Plan, result: SummaryResult
) -> str:
    """The model's summary of the article body ``units``, in as many rounds as it takes."""
    name = doc.source or "input"
    runner = make_runner(doc, ctx, plan, result)
    budget = runner.budget
    max_rounds = int(result.settings["max_rounds"])
    pieces = _fit(units, runner.count, budget)
    joiner = " "
    while True:
        chunks = _pack(pieces, runner.count, budget, joiner)
        result.rounds += 1
        if result.rounds == 1:
            result.chunks = len(chunks)
        if len(chunks) == 1:
            out = _cached_run(
                ctx, result, runner, chunks, "single" if result.rounds == 1 else "combine"
            )[0]
            result.retries += out.retries
            _add_notes(result, out.notes)
            return out.text
        if result.rounds >= max_rounds:
            raise WorkbenchError(
                f"{name}: too long to summarise in {max_rounds} rounds ({len(chunks)} parts of up "
                f"to {budget} tokens remain); pass --max-rounds {max_rounds + 1} or a larger "
                "--chunk-tokens, or use a model with a longer input limit"
            )
        outs = _cached_run(ctx, result, runner, chunks, "map")
        before = sum(runner.count(c) for c in chunks)
        summaries = [o.text for o in outs if o.text.strip()]
        after = sum(runner.count(s) for s in summaries)
        if not summaries or after >= before:
            raise WorkbenchError(
                f"{name}: summarising the article's {len(chunks)} parts did not shorten them "
                f"({before} → {after} tokens); use --tokens or --words, or another model"
            )
        _add_notes(result, [n for o in outs for n in o.notes])
        pieces = _fit(summaries, runner.count, budget)
        joiner = "\n\n"  # part summaries stay apart, one per paragraph


def _add_notes(result: SummaryResult, notes: Sequence[str]) -> None:
    for note in notes:
        if note not in result.notes:
            result.notes.append(note)


def _fit(units: list[str], count: Callable[[str], int], budget: int) -> list[str]:
    """Units within the budget: an over-long one is split at clause boundaries, never cut off."""
    out: list[str] = []
    for unit in units:
        if count(unit) <= budget:
            out.append(unit)
        else:
            out.extend(
                p.strip() for p in long_sentences.split_long(unit, budget, count) if p.strip()
            )
    return out


def _pack(units: list[str], count: Callable[[str], int], budget: int, joiner: str) -> list[str]:
    """Consecutive units joined into as few chunks as fit the budget (greedy, in order)."""
    chunks: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current}{joiner}{unit}" if current else unit
        if current and count(candidate) > budget:
            chunks.append(current)
            current = unit
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def _cached_run(
    ctx: Context,
    result: SummaryResult,
    runner: Seq2SeqRunner | ChatRunner,
    texts: list[str],
    role: str,
) -> list[Out]:
    """Chunk-level cache: look every call up, run the misses together, store them."""
    assert result.key is not None
    keys = [signature.digest(result.key, role, t) for t in texts]
    found: dict[str, Out] = {}
    for k, value in ctx.store.get_segments(keys).items():
        out = _decode_out(value)
        if out is not None:
            found[k] = out
    missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
    result.hits += sum(1 for k in keys if k in found)
    result.misses += len(missing)
    if missing:
        outs = runner.run(list(missing.values()), role)
        items = []
        for k, out in zip(missing, outs, strict=True):
            found[k] = out
            value = {"text": out.text, "notes": list(out.notes), "retries": out.retries}
            items.append((k, json.dumps(value, ensure_ascii=False, sort_keys=True)))
        meta = {"signature": result.signature, "model": result.model, "path": result.path}
        ctx.store.put_segments(items, meta)
    return [found[k] for k in keys]


def _decode_out(value: str) -> Out | None:
    """A stored chunk summary, or None when the entry is not one."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None
    notes = data.get("notes") if isinstance(data.get("notes"), list) else []
    retries = data.get("retries") if isinstance(data.get("retries"), int) else 0
    return Out(data["text"], tuple(str(n) for n in notes), retries)
