"""Seq2seq translation on torch + transformers (Marian, NLLB, M2M100, mBART-50, T5/MADLAD)."""

from __future__ import annotations

import copy
import warnings
from typing import Any

from workbench import cancel
from workbench.errors import ModelError, WorkbenchError
from workbench.models.device import decoding_context, pick_device, pick_precision, torch_dtype
from workbench.models.families import ModelInfo
from workbench.models.resolve import ResolvedModel
from workbench.models.seq2seq_common import Decoding, Seq2SeqBase
from workbench.settings import RunSettings, check_precision

__all__ = ["TorchSeq2Seq", "load_seq2seq", "torch_placement", "torch_precision"]


def torch_precision(device: str, requested: str = "auto") -> str:
    """The precision torch runs at: ``auto`` is fp32 on CPU, bf16/fp16 on GPUs.

    ``int8`` (dynamic int8 quantization of the linear layers) exists for CPUs without
    CTranslate2; it changes outputs, so it is part of the backend name and the cache key.
    """
    check_precision(requested)
    if requested == "auto":
        return pick_precision(device)
    if requested == "int8" and device != "cpu":
        raise WorkbenchError(
            "precision int8 on torch runs on the CPU only; use --device cpu, or fp16/bf16 "
            "on a GPU (or --backend ctranslate2 for int8 on a GPU)"
        )
    return requested


def torch_placement(run: RunSettings) -> tuple[str, str]:
    """(device, precision) a torch model runs at for these settings; loads nothing."""
    device = pick_device(run.device)
    return device, torch_precision(device, run.precision)


def load_seq2seq(resolved: ResolvedModel, device: str, precision: str) -> tuple[Any, Any]:
    """Load tokenizer and model from a resolved folder; a broken folder is a ModelError."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from workbench.models.vocab import guard_vocab

    dtype = torch_dtype("fp32" if precision == "int8" else precision)
    try:
        tokenizer = guard_vocab(AutoTokenizer.from_pretrained(str(resolved.path)), resolved.path)
        model = AutoModelForSeq2SeqLM.from_pretrained(str(resolved.path), dtype=dtype)
    except Exception as exc:  # transformers raises many types for a broken folder
        raise ModelError(
            f"model {resolved.label} in {resolved.path} could not be loaded "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
            "the folder is incomplete or corrupt: download or save it again",
            model=resolved.ref,
        ) from None
    try:
        model.eval()
        model.to(device)
        if precision == "int8":
            model = quantize_int8(model)
    except Exception as exc:  # e.g. out of memory on the device
        raise ModelError(
            f"model {resolved.label} could not be loaded on {device} "
            f"({type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:200]})",
            model=resolved.ref,
        ) from None
    return tokenizer, model


def quantize_int8(model: Any) -> Any:
    """Dynamic int8 quantization of every nn.Linear (weights int8, activations per batch)."""
    import torch
    from torch.ao.quantization import quantize_dynamic

    # torch 2.13 warns that the torch.ao quantization API moves to torchao; it still works
    # and torch is pinned, so the warning is not the user's concern.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (DeprecationWarning, UserWarning, FutureWarning))
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


class TorchSeq2Seq(Seq2SeqBase):
    """A transformers encoder-decoder model behind the Backend interface."""

    engine = "torch"

    def __init__(self, resolved: ResolvedModel, info: ModelInfo, run: RunSettings) -> None:
        super().__init__(resolved, info, run)
        self.device, self.precision = torch_placement(run)
        self._model: Any = None
        self._base: Any = None

    def _load(self) -> None:
        self._tokenizer, self._model = load_seq2seq(self.resolved, self.device, self.precision)
        base = copy.deepcopy(self._model.generation_config)
        # Sampling settings shipped with a model are switched off: outputs must be reproducible.
        base.do_sample = False
        base.temperature = None
        base.top_p = None
        base.top_k = None
        base.max_length = None
        base.num_return_sequences = 1
        # A forced EOS lands on the last step of the *batch's* bound, so a row would differ
        # from decoding it alone; rows are cut at their own bound instead (and CTranslate2
        # has no forced EOS either).
        base.forced_eos_token_id = None
        # generate() fills every unset (None) value from the model's own generation config, so
        # the cleaned config replaces it: otherwise max_length and forced_eos come back.
        self._model.generation_config = base
        self._base = base

    def _model_eos(self) -> Any:
        eos = self._model.generation_config.eos_token_id
        return eos if eos is not None else self._tokenizer.eos_token_id

    def _decode(self, ids: list[list[int]], max_new: int, dec: Decoding) -> list[list[int]]:
        tok, model = self._tokenizer, self._model
        config = copy.copy(self._base)
        config.num_beams = dec.beams
        config.length_penalty = dec.length_penalty
        config.max_new_tokens = max_new
        config.no_repeat_ngram_size = dec.no_repeat_ngram_size
        if dec.forced_bos is not None:
            config.forced_bos_token_id = dec.forced_bos
        batch = tok.pad({"input_ids": ids}, return_tensors="pt", padding=True)
        batch = {k: v.to(model.device) for k, v in batch.items()}
        # A signal during generate only requests the stop (``deferred``): generate ends at its
        # next step and hands back what it has.
        with decoding_context(self.device), cancel.deferred():
            sequences = model.generate(
                **batch, generation_config=config, stopping_criteria=cancel.stopping_criteria()
            )
        # Column 0 is the decoder start token.
        rows = [row[1:] for row in sequences.tolist()]
        if cancel.requested():
            # A batch cut short is never taken for a result. Greedy decoding never revises a
            # token, so a row that emitted EOS before the stop is exactly what an uninterrupted
            # decode gives: those are handed over to be kept (beam search may still revise).
            exc = cancel.stopped()
            if dec.beams == 1:
                ended = {k: r for k, r in enumerate(rows) if any(t in dec.eos_ids for t in r)}
                setattr(exc, cancel.ENDED_ROWS, ended)
            raise exc
        return rows
