"""Seq2seq summarisers (mT5 XL-Sum, BART, PEGASUS) on torch + transformers.

The tokenizer loads on its own (counting tokens for chunking needs no weights); the model
loads on the first generation. Decoding settings come from the caller, who reads them from
the catalog and the model's ``generation_config.json`` (see ``workbench.models.params``);
sampling is always off.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from workbench.models.base import BackendStats
from workbench.models.batching import plan_batches
from workbench.models.decode import finish_row
from workbench.models.families import ModelInfo
from workbench.models.generation import deterministic_config
from workbench.models.resolve import ResolvedModel
from workbench.settings import RunSettings


def summariser_backend_name(run: RunSettings) -> str:
    """``torch-fp32`` etc., decided without loading anything (part of the cache key)."""
    from workbench.models.torch_backend import torch_placement

    return f"torch-{torch_placement(run)[1]}"


class Seq2SeqSummariser:
    """An encoder-decoder summariser: text in, summary out, in batches."""

    def __init__(self, resolved: ResolvedModel, info: ModelInfo, run: RunSettings) -> None:
        from workbench.models.torch_backend import torch_placement

        self.resolved = resolved
        self.info = info
        self.run = run
        self.stats = BackendStats()
        self.device, self.precision = torch_placement(run)
        self._tokenizer: Any = None
        self._model: Any = None
        self._base: Any = None

    @property
    def name(self) -> str:
        return f"torch-{self.precision}"

    @property
    def model_loaded(self) -> bool:
        return self._model is not None

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            from workbench.models.vocab import guard_vocab

            try:
                self._tokenizer = AutoTokenizer.from_pretrained(str(self.resolved.path))
                guard_vocab(self._tokenizer, self.resolved.path)  # bart-large-cnn's <mask>
            except Exception as exc:  # transformers raises many types for a broken folder
                raise self.resolved.load_error(exc) from None
        return self._tokenizer

    def _ensure_model(self) -> None:
        if self._model is not None:
            return
        from workbench.models.torch_backend import load_seq2seq

        start = time.perf_counter()
        self._tokenizer, model = load_seq2seq(self.resolved, self.device, self.precision)
        base = deterministic_config(model)
        base.min_length = None  # our length limits replace the shipped ones
        model.generation_config = base
        self._model, self._base = model, base
        self.stats.load_seconds += time.perf_counter() - start

    def count(self, text: str, prefix: str = "") -> int:
        """Input tokens of ``text`` as the model would see it (special tokens included)."""
        return len(self.tokenizer(prefix + text, add_special_tokens=True, verbose=False).input_ids)

    def generate(
        self, texts: list[str], params: dict[str, Any], max_new: int
    ) -> list[tuple[str, tuple[str, ...]]]:
        """One summary per text; ``params`` are the effective decoding settings."""
        if not texts:
            return []
        from workbench.models.device import decoding_context

        self._ensure_model()
        tok, model = self._tokenizer, self._model
        prefix = str(params.get("prefix", ""))
        ids = tok([prefix + t for t in texts], add_special_tokens=True, verbose=False).input_ids
        beams = int(params["beams"])
        config = copy.copy(self._base)
        config.num_beams = beams
        config.max_new_tokens = max_new
        # A minimum at or above the bound is impossible; keep it strictly below.
        config.min_new_tokens = min(int(params["min_new_tokens"]), max(0, max_new - 1)) or None
        config.no_repeat_ngram_size = int(params["no_repeat_ngram_size"]) or None
        config.repetition_penalty = float(params["repetition_penalty"])
        # Beam-only settings at their neutral values when greedy (transformers warns otherwise).
        config.length_penalty = float(params["length_penalty"]) if beams > 1 else 1.0
        if beams == 1:
            config.early_stopping = False
        eos = config.eos_token_id if config.eos_token_id is not None else tok.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos])
        # An EOS forced onto the last step ends a summary that was cut.
        forced_eos = config.forced_eos_token_id is not None
        start = time.perf_counter()
        out: list[tuple[str, tuple[str, ...]]] = [("", ())] * len(texts)
        lengths = [len(x) for x in ids]
        rows, tokens = self.run.batch_limits(self.device)
        for batch in plan_batches(lengths, tokens, rows):
            padded = tok.pad({"input_ids": [ids[i] for i in batch]}, return_tensors="pt")
            padded = {k: v.to(model.device) for k, v in padded.items()}
            with decoding_context(self.device):
                sequences = model.generate(**padded, generation_config=config)
            self.stats.batches += 1
            for i, row in zip(batch, sequences.tolist(), strict=True):
                # Column 0 is the decoder start token.
                done = finish_row(row[1:], max_new, eos_ids, tok, forced_eos=forced_eos)
                self.stats.output_tokens += done.tokens
                out[i] = (done.text, done.notes)
        self.stats.input_tokens += sum(lengths)
        self.stats.segments += len(texts)
        self.stats.seconds += time.perf_counter() - start
        return out
