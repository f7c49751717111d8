"""Seq2seq translation on CTranslate2 (Marian, NLLB, M2M100, T5/MADLAD): int8 on CPU.

The transformers checkpoint is converted once per model revision and precision into
``<WORKBENCH_HOME>/ct2/<model>@<revision>-<quantization>/``; later runs load the converted
folder directly. Tokenization uses the model's own tokenizer (ids ↔ tokens for CTranslate2),
and everything else — language control, splitting, bounds, the repeat guard, notes — is shared
with the torch backend, so greedy float32 outputs match it token for token.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.cancel import READY_ROWS, wait_until
from workbench.errors import ModelError, WorkbenchError
from workbench.models import families
from workbench.models.device import pick_device, pick_precision
from workbench.models.families import ModelInfo, read_json
from workbench.models.resolve import ResolvedModel
from workbench.models.seq2seq_common import Decoding, Seq2SeqBase
from workbench.settings import RunSettings, check_precision, default_home

#: workbench precision → CTranslate2 quantization written to disk.
QUANTIZATION = {"int8": "int8", "fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
# Present only in a complete folder: conversions are renamed into place once finished.
_COMPLETE = "model.bin"


def ct2_precision(device: str, requested: str = "auto") -> str:
    """The precision CTranslate2 runs at: int8 on CPU, bf16 (or fp16) on CUDA GPUs.

    CPU builds of CTranslate2 compute int8 and float32 only; on a GPU, bfloat16 needs compute
    capability 8.0 (what torch's ``is_bf16_supported`` checks), float16 runs on the rest.
    """
    check_precision(requested)
    gpu = device.startswith("cuda")
    if requested == "auto":
        return pick_precision(device) if gpu else "int8"
    if requested in ("fp16", "bf16") and not gpu:
        raise WorkbenchError(
            f"precision {requested} with --backend ctranslate2 needs a CUDA GPU; "
            "on the CPU use int8 (default) or fp32"
        )
    return requested


def compute_type(precision: str, device: str) -> str:
    """The CTranslate2 compute type for a workbench precision."""
    if precision == "int8" and device.startswith("cuda"):
        return "int8_float16"  # int8 weights, float16 activations: the GPU int8 mode
    return QUANTIZATION[precision]


def model_slug(model_id: str) -> str:
    """A folder-safe name for a model id (``org/name`` → ``org--name``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", model_id.replace("/", "--")).strip("-") or "model"


def converted_path(resolved: ResolvedModel, precision: str, home: Path | None = None) -> Path:
    """Where the converted model for this revision and precision lives."""
    root = (home or default_home()) / "ct2"
    return root / f"{model_slug(resolved.model_id)}@{resolved.revision}-{QUANTIZATION[precision]}"


def ensure_converted(resolved: ResolvedModel, precision: str) -> tuple[Path, bool]:
    """The converted folder, converting it first when needed; returns (folder, converted now).

    The converter writes into a private scratch folder that is renamed into place, so a
    concurrent process either sees no folder or a complete one; when two processes convert at
    once, the first rename wins and the other's copy is discarded.
    """
    final = converted_path(resolved, precision)
    if (final / _COMPLETE).is_file():
        return final, False
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        _convert(resolved, scratch, QUANTIZATION[precision])
        try:
            os.rename(scratch, final)
        except OSError:
            if (final / _COMPLETE).is_file():
                return final, False  # another process finished first
            # A stale, incomplete folder (e.g. a file deleted by hand): replace it.
            shutil.rmtree(final, ignore_errors=True)
            os.rename(scratch, final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return final, True


def _convert(resolved: ResolvedModel, out: Path, quantization: str) -> None:
    from ctranslate2.converters import TransformersConverter

    try:
        converter = TransformersConverter(str(resolved.path), low_cpu_mem_usage=True)
        converter.convert(str(out), quantization=quantization, force=True)
    except Exception as exc:  # the converter raises many types (ValueError, KeyError, OSError)
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        # Unreadable files are the folder's fault; anything else is a model CTranslate2 cannot
        # convert, which torch may still run.
        advice = (
            f"the files in {resolved.path} are incomplete or corrupt: download or save the "
            "model again"
            if _unreadable(exc)
            else "use --backend torch"
        )
        raise ModelError(
            f"model {resolved.label} could not be converted for CTranslate2 ({detail}); {advice}",
            model=resolved.ref,
        ) from None


def _unreadable(exc: Exception) -> bool:
    """Whether a conversion failed on a file it could not read (weights, tokenizer model)."""
    text = f"{type(exc).__name__} {exc}".lower()
    return isinstance(exc, OSError | EOFError | UnicodeDecodeError) or any(
        s in text
        for s in (
            "safetensor",
            "deserializ",
            "json",
            "unpickl",
            "decodeerror",
            "could not parse",
            "not a valid",
            "corrupt",
        )
    )


def read_vocabulary(folder: Path, side: str = "target") -> list[str]:
    """The converted model's vocabulary: position ``i`` is the token of embedding row ``i``."""
    for name in ("shared_vocabulary", f"{side}_vocabulary"):
        path = folder / f"{name}.json"
        if path.is_file():
            return list(json.loads(path.read_text("utf-8")))
        path = folder / f"{name}.txt"
        if path.is_file():
            return path.read_text("utf-8").splitlines()
    raise ModelError(f"{folder} has no vocabulary file; delete the folder to convert it again")


#: Most segments per CPU batch. Larger batches decode faster (each step reads the weights once
#: for all rows), up to a point: on an opus-mt-sized model 16 rows run ~5% slower than 32.
CPU_BATCH = 32
#: Working memory one CPU worker may fill with a batch's activations and caches (weights not
#: counted). Rows cost memory in proportion to their source and output lengths (attention
#: caches) plus a fixed share for the vocabulary-sized logits, so a batch of long sentences
#: gets fewer rows than one of short sentences (see ``cpu_batch_budget``). It trades memory
#: for speed: with an opus-mt base model on two workers (bench/speed.py), 96 MB peaked at
#: 414-435 MB RSS, 64 MB at about 350 MB but ran ~15% slower; the allocator holds more than
#: the estimate, hence the margin.
CPU_WORKSPACE_MB = 80


def cpu_batch_budget(
    config: dict[str, Any], settings: dict[str, Any], beams: int
) -> tuple[int, int]:
    """(token budget, per-row cost) for ``plan_batches`` that keep one batch's working memory
    near ``CPU_WORKSPACE_MB``.

    Per row and beam, CTranslate2 keeps float32 keys and values for every source token (cross
    attention) and every generated token (self attention) in each decoder layer, and about
    three vocabulary-sized float rows for the logits. The output length is estimated as the
    source length (capped by the bound's ratio) plus the bound's fixed part. Costs are counted
    in units of one source token (its own cache plus the output it is expected to cause).
    """
    d_model = int(config.get("d_model") or 512)
    layers = int(
        config.get("decoder_layers")
        or config.get("num_decoder_layers")
        or config.get("num_layers")
        or 6
    )
    vocab = int(config.get("vocab_size") or 32000)
    per_token = 2 * layers * d_model * 4  # bytes of keys and values for one token, one row
    grow = 1.0 + min(1.0, float(settings.get("max_new_tokens_ratio") or 0.0))
    unit = per_token * grow * max(1, beams)
    fixed = (int(settings.get("max_new_tokens_extra") or 0) * per_token + 12 * vocab) * max(
        1, beams
    )
    return max(1, int(CPU_WORKSPACE_MB * 2**20 / unit)), math.ceil(fixed / unit)


def thread_layout(cores: int) -> tuple[int, int]:
    """(batches decoded in parallel, threads per batch) for ``cores`` CPU cores.

    Parallel batches scale better than more threads inside one small batch (no per-layer
    synchronisation), so two workers are used from two cores on, four from sixteen.
    """
    if cores < 2:
        return 1, 1
    inter = 4 if cores >= 16 else 2
    return inter, max(1, cores // inter)


def cpu_threads() -> int:
    """Cores this process may use (``OMP_NUM_THREADS`` caps it, as it does for torch)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        cores = min(cores, int(env))
    return max(1, cores)


class CT2Seq2Seq(Seq2SeqBase):
    """A CTranslate2 translator behind the Backend interface."""

    engine = "ct2"
    # The next two lists of segments are queued while one is finished (see translate_many).
    lookahead = 2

    def __init__(self, resolved: ResolvedModel, info: ModelInfo, run: RunSettings) -> None:
        super().__init__(resolved, info, run)
        device = pick_device(run.device)
        # CTranslate2 runs on CPU or CUDA; Apple GPUs (mps) get its fast CPU path.
        self.device = device if device.startswith("cuda") else "cpu"
        self.precision = ct2_precision(self.device, run.precision)
        self.folder: Path | None = None
        self._translator: Any = None
        self._workers = 1
        self._source_tokens: list[str] = []
        self._target_ids: dict[str, int] = {}

    def _load(self) -> None:
        folder, converted = ensure_converted(self.resolved, self.precision)
        self.folder = folder
        self.stats.extra["ct2_converted"] = converted
        self.stats.extra["ct2_folder"] = str(folder)
        try:
            self._tokenizer = self._load_tokenizer()
            self._translator = self._open(folder)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(
                f"model {self.resolved.label} could not be loaded for CTranslate2 "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}); "
                f"delete {folder} to convert it again, or use --backend torch",
                model=self.resolved.ref,
            ) from None
        # Ids and tokens are mapped through the converted vocabulary, whose positions are the
        # model's embedding rows, rather than through the tokenizer: ids past the tokenizer's
        # own vocabulary (M2M100 "madeup" words, T5 extra ids) then map exactly as in torch.
        self._source_tokens = read_vocabulary(folder, "source")
        target = read_vocabulary(folder, "target")
        self._target_ids = {}
        for i, token in enumerate(target):
            self._target_ids.setdefault(token, i)
        if self.device.startswith("cuda"):
            self._check_gpu()

    def _load_tokenizer(self) -> Any:
        # A family may tokenize without transformers (Marian on sentencepiece, identical
        # output): that keeps transformers, and with it torch, out of the process.
        fast = families.get(self.info.family).ct2_tokenizer(self.resolved.path)
        if fast is not None:
            self.stats.extra["tokenizer"] = "sentencepiece"
            return fast
        from transformers import AutoTokenizer

        self.stats.extra["tokenizer"] = "transformers"
        return AutoTokenizer.from_pretrained(str(self.resolved.path))

    def _check_gpu(self) -> None:
        """Decode one token now, so that a CTranslate2 build that cannot use this GPU (the CUDA
        libraries it was built against are missing) fails at load, in one line, not mid-run."""
        try:
            self._translator.translate_batch(
                [[self._source_tokens[0]]], beam_size=1, max_decoding_length=1
            )
        except RuntimeError as exc:
            import ctranslate2

            raise ModelError(
                f"CTranslate2 {ctranslate2.__version__} cannot run on this GPU "
                f"({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}); "
                "install the CUDA libraries it was built for (its wheels need CUDA 12's cuBLAS: "
                "pip install nvidia-cublas-cu12) or use --backend torch",
                model=self.resolved.ref,
            ) from None

    def _open(self, folder: Path) -> Any:
        import ctranslate2

        index = 0
        if self.device.startswith("cuda:"):
            index = int(self.device.split(":", 1)[1])
        if self.device == "cpu":
            inter, intra = thread_layout(cpu_threads())
        else:
            inter, intra = 1, 1  # one GPU stream; the GPU parallelises within a batch
        self._workers = inter
        self.stats.extra["ct2_threads"] = f"{inter}x{intra}"
        return ctranslate2.Translator(
            str(folder),
            device="cuda" if self.device.startswith("cuda") else "cpu",
            device_index=index,
            compute_type=compute_type(self.precision, self.device),
            inter_threads=inter,
            intra_threads=intra,
            # Queueing never blocks (lookahead bounds what is queued), so the caller's wait,
            # which Ctrl-C interrupts, is the only place a run waits for the engine.
            max_queued_batches=-1,
        )

    def _batch_limit(self, n_units: int) -> int:
        limit = self.run.batch_limits(self.device)[0]
        if self.device == "cpu":
            # Enough batches to keep every worker busy, none past CPU_BATCH.
            limit = min(limit, CPU_BATCH, max(1, -(-n_units // self._workers)))
        return limit

    def _batch_budget(self, settings: dict[str, Any]) -> tuple[int, int]:
        if self.device != "cpu":
            return super()._batch_budget(settings)
        budget, row_cost = cpu_batch_budget(
            read_json(self.resolved.path / "config.json"), settings, int(settings["beams"])
        )
        return min(budget, self.run.batch_limits(self.device)[1]), row_cost

    def _start(
        self, batches: list[list[list[int]]], max_new: list[int], dec: Decoding
    ) -> Callable[[], Iterable[list[list[int]]]]:
        # Every batch is queued at once; CTranslate2 runs them on its parallel workers, and
        # batches queued later (the next list, see lookahead) start as soon as a worker frees.
        pending = [
            self._submit(b, m, dec, asynchronous=True)
            for b, m in zip(batches, max_new, strict=True)
        ]

        def rows() -> Iterator[list[list[int]]]:
            for b, p in enumerate(pending):
                try:
                    results = [_result(r) for r in p]
                except KeyboardInterrupt as exc:
                    # Later batches that other workers finished meanwhile are complete: hand
                    # them over with the stop, to be kept.
                    ready = {k: _done_rows(self, q) for k, q in enumerate(pending) if k > b}
                    setattr(exc, READY_ROWS, {k: r for k, r in ready.items() if r is not None})
                    raise
                yield self._rows(results)

        return rows

    def _decode(self, ids: list[list[int]], max_new: int, dec: Decoding) -> list[list[int]]:
        return self._rows([_result(r) for r in self._submit(ids, max_new, dec, asynchronous=True)])

    def _rows(self, results: list[Any]) -> list[list[int]]:
        unk = self._tokenizer.unk_token_id
        return [[self._target_ids.get(t, unk) for t in r.hypotheses[0]] for r in results]

    def _submit(
        self, ids: list[list[int]], max_new: int, dec: Decoding, *, asynchronous: bool
    ) -> Any:
        vocab, n = self._source_tokens, len(self._source_tokens)
        source = [[vocab[i] if i < n else self._unk for i in row] for row in ids]
        prefix = [[dec.forced_bos_token]] * len(ids) if dec.forced_bos_token else None
        # Ids the model may never generate. One the converter already dropped from the
        # vocabulary (Marian's <pad>) cannot be generated anyway, and passing it would
        # suppress <unk> instead.
        suppress = [[vocab[i]] for i in dec.suppress if i < n]
        return self._translator.translate_batch(
            source,
            target_prefix=prefix,
            beam_size=dec.beams,
            length_penalty=dec.length_penalty,
            max_decoding_length=max_new,
            min_decoding_length=min(dec.min_new_tokens, max_new),
            no_repeat_ngram_size=dec.no_repeat_ngram_size,
            repetition_penalty=dec.repetition_penalty,
            suppress_sequences=suppress or None,
            max_input_length=0,  # never truncate: over-long input was split before
            max_batch_size=0,  # the batch was planned already
            return_end_token=True,  # so that "ended" vs "length-bound" reads as with torch
            return_scores=False,
            asynchronous=asynchronous,
        )

    @property
    def _unk(self) -> str:
        return str(self._tokenizer.unk_token)


def _done_rows(backend: CT2Seq2Seq, pending: list[Any]) -> list[list[int]] | None:
    """The rows of a batch whose every result is already there (None if any is not)."""
    if not all(p.done() for p in pending):
        return None
    try:
        return backend._rows([p.result() for p in pending])
    except Exception:  # that batch failed: nothing of it is kept
        return None


def _result(pending: Any) -> Any:
    """An asynchronous result, waited for in short sleeps so that Ctrl-C and SIGTERM stop the
    run at once rather than after the batch (``result()`` blocks inside C++)."""
    wait_until(pending.done)
    return pending.result()
