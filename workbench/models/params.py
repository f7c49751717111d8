"""Effective decoding settings of a summariser: the catalog, the model's files, the user's.

Read as plain JSON (``generation_config.json``, ``tokenizer_config.json``, ``config.json``)
so that the cache key is built without loading anything; all of it goes into the key.
Sampling is always off. Translation's counterpart is ``workbench.models.generation.effective``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.models.families import ModelInfo, read_json
from workbench.models.resolve import ResolvedModel
from workbench.settings import DEFAULT_SENTENCES, GenerationSettings, SummaryOptions

if TYPE_CHECKING:
    from workbench.models.catalog import CatalogEntry

#: Input limit of a seq2seq summariser that neither the catalog nor its files state.
DEFAULT_INPUT_TOKENS = 512
#: Generated-token bound of a seq2seq summariser that neither the catalog nor its files state.
DEFAULT_SUMMARY_TOKENS = 128


def seq2seq_summary_params(
    resolved: ResolvedModel,
    info: ModelInfo,
    entry: CatalogEntry | None,
    gen: GenerationSettings,
    opts: SummaryOptions,
) -> dict[str, Any]:
    """Decoding and chunking settings of a seq2seq summariser: the catalog's recommended
    values, else the model's ``generation_config.json``, then the user's."""
    over = dict(entry.generation) if entry else {}
    shipped = read_json(resolved.path / "generation_config.json")
    beams = (
        gen.beams
        if gen.beams is not None
        else int(over.get("beams", shipped.get("num_beams") or 1))
    )
    max_new = over.get("max_new_tokens") or shipped.get("max_new_tokens")
    if not max_new and shipped.get("max_length"):
        max_new = int(shipped["max_length"]) - 1  # max_length counts the decoder start token
    max_new = int(max_new or DEFAULT_SUMMARY_TOKENS)
    min_new = over.get("min_new_tokens")
    if min_new is None:
        min_new = max(0, int(shipped.get("min_length") or 0) - 1)
    max_new = _length_bound(max_new, opts)
    max_new = _decoder_cap(resolved, max_new)
    if opts.words is not None or opts.tokens is not None:
        min_new = 0  # a minimum would only produce text the length limit cuts away
    limit = _model_limit(resolved, info, over)
    chunk = min(opts.chunk_tokens or limit, limit)
    return {
        "beams": max(1, beams),
        "max_new_tokens": max_new,
        "min_new_tokens": min(int(min_new), max_new // 2),
        "no_repeat_ngram_size": int(
            over.get("no_repeat_ngram_size", shipped.get("no_repeat_ngram_size") or 0)
        ),
        "length_penalty": float(over.get("length_penalty", shipped.get("length_penalty") or 1.0))
        if beams > 1
        else 1.0,
        "repetition_penalty": float(
            over.get("repetition_penalty", shipped.get("repetition_penalty") or 1.0)
        ),
        "prefix": str(over.get("prefix", "")),
        "sampling": False,
        "chunk_tokens": chunk,
    }


def chat_summary_params(
    resolved: ResolvedModel,
    info: ModelInfo,
    entry: CatalogEntry | None,
    gen: GenerationSettings,
    opts: SummaryOptions,
) -> dict[str, Any]:
    """Decoding and context settings of a chat model summarising."""
    from workbench.models.chat_backend import chat_settings

    over = dict(entry.generation) if entry else {}
    chat = chat_settings(resolved, info)
    beams = gen.beams if gen.beams is not None else int(over.get("beams", 1))
    sentences = opts.sentences or DEFAULT_SENTENCES
    cap = int(chat["max_new_tokens"])
    # About 80 tokens per sentence leaves room for long Korean or Ukrainian sentences.
    bound = min(cap, sentences * 80 + 16)
    return {
        **chat,
        "beams": max(1, beams),
        "max_new_tokens": min(cap, _length_bound(bound, opts)),
        "repeat_guard": gen.repeat_guard,
        "chunk_tokens": opts.chunk_tokens,
    }


def _length_bound(max_new: int, opts: SummaryOptions) -> int:
    """Generated-token bound: --tokens, else what --words or --sentences can need at most."""
    if opts.tokens is not None:
        return opts.tokens
    if opts.words is not None:
        # About 4 tokens per word covers Korean and Ukrainian in common subword vocabularies.
        max_new = min(max_new, opts.words * 4 + 16)
    return max_new


def _model_limit(resolved: ResolvedModel, info: ModelInfo, over: dict[str, Any]) -> int:
    limits = []
    tok_limit = read_json(resolved.path / "tokenizer_config.json").get("model_max_length")
    for value in (over.get("max_input_tokens"), info.max_input_tokens, tok_limit):
        if isinstance(value, int) and 0 < value < 1_000_000:
            limits.append(value)
    return min(limits) if limits else DEFAULT_INPUT_TOKENS


def _decoder_cap(resolved: ResolvedModel, max_new: int) -> int:
    """``max_new`` within the decoder's positions (one is kept for a forced first token)."""
    from workbench.models.seq2seq_common import decoder_positions

    positions = decoder_positions(resolved.path)
    return max_new if positions is None else max(1, min(max_new, positions - 1))
