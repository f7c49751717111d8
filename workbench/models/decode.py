"""The end of a decoded row, and the split and rejoin of over-long texts, for every engine.

Seq2seq translation (torch, CTranslate2), chat models and seq2seq summarisers all finish a
row the same way (its own bound, the first EOS, the repeat guard, the ``length-bound`` and
``repeat-guard`` notes) and split and rejoin long segments the same way (``split:N``), so
their outputs and notes agree.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from workbench import languages, long_sentences
from workbench.models.base import Output
from workbench.models.batching import repeated_run

#: N-gram size forbidden when the repeat guard decodes a row again.
GUARD_NO_REPEAT = 3


@dataclass(frozen=True)
class Finished:
    """One finished row: its text, its notes and how many tokens it kept."""

    text: str
    notes: tuple[str, ...] = ()
    tokens: int = 0


def finish_row(
    row: Sequence[int],
    bound: int,
    eos_ids: Collection[int],
    tokenizer: Any,
    *,
    guard: int = 0,
    redecode: Callable[[int], Sequence[int]] | None = None,
    forced_eos: bool = False,
) -> Finished:
    """Cut ``row`` (generated ids, no decoder start) at ``bound`` and its first EOS; decode it.

    ``guard``: the repeat guard's run length (0: off). A row that repeats itself is decoded
    once more by ``redecode(no_repeat_ngram_size)`` and noted ``repeat-guard``. A row that
    did not end is noted ``length-bound``; with ``forced_eos`` an EOS on the last step was
    forced there (``forced_eos_token_id``) and ends a row that was cut.
    """
    # Greedy decoding is prefix-stable, so cutting each row at its own bound gives exactly
    # what decoding it alone would have given.
    generated = list(row[:bound])
    ended = False
    for k, token in enumerate(generated):
        if token in eos_ids:
            ended = not (forced_eos and k == bound - 1)
            generated = generated[:k]
            break
    if guard and redecode is not None and repeated_run(generated, guard):
        # Runaway repetition: decode this one alone with repeats forbidden (and no guard).
        again = finish_row(
            redecode(GUARD_NO_REPEAT), bound, eos_ids, tokenizer, forced_eos=forced_eos
        )
        return Finished(again.text, ("repeat-guard", *again.notes), again.tokens)
    text = tokenizer.decode(generated, skip_special_tokens=True).strip()
    return Finished(text, () if ended else ("length-bound",), len(generated))


def joiner_for(lang: str) -> str:
    """What joins the parts of a split segment: nothing where words are not spaced apart."""
    return "" if lang in languages.UNSPACED else " "


@dataclass(frozen=True)
class Units:
    """Texts split into units within a limit."""

    owner: list[int]  # unit -> index of the text it belongs to
    texts: list[str]  # every unit's text, stripped
    intact: list[bool]  # the unit is its text entire: not split, nothing stripped


def split_units(
    texts: Sequence[str],
    limit: int,
    count: Callable[[str], int],
    over: Sequence[bool] | None = None,
) -> Units:
    """Split every text longer than ``limit`` tokens at clause boundaries (never truncated).

    ``over`` says which texts are over the limit when the caller has measured them already
    (only those are split); otherwise ``long_sentences.split_long`` measures each.
    """
    owner: list[int] = []
    units: list[str] = []
    intact: list[bool] = []
    for i, text in enumerate(texts):
        if not text or (over is not None and not over[i]):
            chunks = [text]
        else:
            chunks = long_sentences.split_long(text, limit, count)
        for chunk in chunks:
            owner.append(i)
            units.append(chunk.strip())
            intact.append(len(chunks) == 1 and chunk == chunk.strip())
    return Units(owner, units, intact)


def rejoin(
    n_texts: int,
    owner: Sequence[int],
    unit_out: Sequence[Sequence[tuple[str, tuple[str, ...]]]],
    joiner: str,
) -> dict[int, Output]:
    """The output of every text all of whose units are finished, by text index.

    ``unit_out`` holds each unit's parts, (text, notes), in order (a unit decoded again as
    smaller parts has several; an unfinished one none). A text of several parts is noted
    ``split:N`` before the union of its parts' notes.
    """
    parts_of: list[list[tuple[str, tuple[str, ...]]]] = [[] for _ in range(n_texts)]
    missing: set[int] = set()
    for k, o in enumerate(owner):
        if not unit_out[k]:
            missing.add(o)
        parts_of[o].extend(unit_out[k])
    results: dict[int, Output] = {}
    for t, parts in enumerate(parts_of):
        if t in missing:
            continue
        notes = tuple(sorted({n for p in parts for n in p[1]}))
        if len(parts) > 1:
            notes = (f"split:{len(parts)}", *notes)
        results[t] = Output(joiner.join(p[0] for p in parts), notes)
    return results
