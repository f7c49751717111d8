"""What every seq2seq engine shares: language control, splitting, batching, bounds and guards.

An engine (torch, CTranslate2) only loads its model and decodes one batch of token ids; the
rest lives here once, so every engine splits, bounds, guards and annotates segments the same
way and greedy outputs match token for token across engines.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from workbench.errors import LanguageError, ModelError, WorkbenchError
from workbench.models import families
from workbench.models.base import BackendStats, Output
from workbench.models.batching import bound_step, plan_batches
from workbench.models.decode import finish_row, joiner_for, rejoin, split_units
from workbench.models.families import Control, ModelInfo, read_json
from workbench.models.generation import model_generation_defaults
from workbench.models.resolve import ResolvedModel
from workbench.settings import RunSettings

if TYPE_CHECKING:
    from workbench.models.plan import ModelPlan

__all__ = ["Decoding", "Seq2SeqBase", "decoder_positions"]

#: Rounds of splitting a segment that keeps reaching the decoder's position limit.
MAX_RESPLITS = 4


def decoder_positions(folder: Path) -> int | None:
    """How many positions the decoder has (its start token takes the first), from config.json;
    None when positions are relative (T5 family) or the config does not say.

    Both engines fail past it (torch with ``IndexError``, CTranslate2 with "No position
    encodings are defined"), so every bound on generated tokens is capped by it.
    """
    config = read_json(folder / "config.json")
    if families.relative_positions(str(config.get("model_type", ""))):
        return None
    for key in ("max_target_positions", "max_position_embeddings", "n_positions"):
        value = config.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


@dataclass(frozen=True)
class Decoding:
    """Engine-neutral decoding request for one language pair (the bound is set per batch).

    ``min_new_tokens``, ``no_repeat_ngram_size``, ``repetition_penalty`` and ``suppress`` come
    from the model's ``generation_config.json``: torch inherits them from the loaded
    generation config, and CTranslate2 is given the same values so that both decode alike.
    """

    beams: int = 1
    length_penalty: float = 1.0
    forced_bos: int | None = None  # first generated token (NLLB, M2M100: target language)
    forced_bos_token: str | None = None
    min_new_tokens: int = 0
    no_repeat_ngram_size: int = 0
    repetition_penalty: float = 1.0
    suppress: tuple[int, ...] = ()  # token ids never generated (bad_words_ids of length 1)
    eos_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class _Pending:
    """One list of segments whose batches are decoding: what finishing it needs."""

    n_texts: int
    owner: list[int]  # unit -> index of the text it belongs to
    ids: list[list[int]]  # token ids of every unit
    bounds: list[int]  # most new tokens of every unit
    batches: list[list[int]]  # unit indices of every batch
    wait: Callable[[], Iterable[list[list[int]]]]  # the decoded rows of each batch, in order
    units: list[str] = field(default_factory=list)  # text of every unit
    capped: frozenset[int] = frozenset()  # units whose bound the decoder's positions cut
    prefix: str = ""  # source prefix (target tag) every unit is encoded with


def model_decoding_defaults(folder: Path) -> dict[str, Any]:
    """Decoding constraints a model ships in ``generation_config.json`` (plain JSON, cheap)."""
    cfg = model_generation_defaults(folder)
    min_new = int(cfg.get("min_new_tokens") or 0)
    # min_length counts the decoder start token for encoder-decoder models.
    min_len = int(cfg.get("min_length") or 0)
    suppress: list[int] = []
    for seq in cfg.get("bad_words_ids") or []:
        if isinstance(seq, list) and len(seq) == 1 and isinstance(seq[0], int):
            suppress.append(seq[0])
    return {
        "min_new_tokens": max(min_new, min_len - 1, 0),
        "no_repeat_ngram_size": int(cfg.get("no_repeat_ngram_size") or 0),
        "repetition_penalty": float(cfg.get("repetition_penalty") or 1.0),
        "suppress": tuple(suppress),
        "eos_token_id": cfg.get("eos_token_id"),
    }


class Seq2SeqBase:
    """A translation model behind the Backend interface; subclasses add an engine.

    Subclasses set ``engine``, ``device`` and ``precision`` and implement ``_load`` (tokenizer and model)
    and ``_decode`` (one batch of source ids → generated ids, decoder start excluded).
    """

    engine: ClassVar[str] = ""

    def __init__(self, resolved: ResolvedModel, info: ModelInfo, run: RunSettings) -> None:
        self.resolved = resolved
        self.info = info
        self.run = run
        self.device = "cpu"
        self.precision = ""
        self.stats = BackendStats()
        self._tokenizer: Any = None
        self._loaded = False

    @property
    def name(self) -> str:
        return f"{self.engine}-{self.precision}"

    # --- engine hooks -----------------------------------------------------------------------

    def _load(self) -> None:
        """Load ``self._tokenizer`` and the engine's model."""
        raise NotImplementedError

    def _decode(self, ids: list[list[int]], max_new: int, dec: Decoding) -> list[list[int]]:
        """Decode one batch greedily (or with beams) for at most ``max_new`` tokens per row.

        Rows hold generated ids only (no decoder start token); a row that ended keeps its EOS,
        anything after it is ignored.
        """
        raise NotImplementedError

    def _start(
        self, batches: list[list[list[int]]], max_new: list[int], dec: Decoding
    ) -> Callable[[], Iterable[list[list[int]]]]:
        """Start decoding several batches; the returned function gives their rows batch by
        batch (so that a stop keeps the batches that finished).

        This default decodes when waited on. An engine that decodes in the background
        (CTranslate2) queues the batches here, so later work can be queued behind them.
        """
        return lambda: (self._decode(b, m, dec) for b, m in zip(batches, max_new, strict=True))

    #: Calls of ``translate_many`` queued ahead of the one being finished (background engines).
    lookahead: ClassVar[int] = 0

    def _batch_limit(self, n_units: int) -> int:
        """Most units in one batch (the run's limit unless the engine knows better)."""
        return self.run.batch_limits(self.device)[0]

    def _batch_budget(self, settings: Mapping[str, Any]) -> tuple[int, int]:
        """(token budget, per-row cost in tokens) of one batch; see ``plan_batches``."""
        return self.run.batch_limits(self.device)[1], 0

    def _model_eos(self) -> Any:
        """The model's EOS id(s) when its generation config does not say."""
        return self._tokenizer.eos_token_id

    # --- shared -------------------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            start = time.perf_counter()
            try:
                self._load()
            except WorkbenchError:
                raise
            except Exception as exc:  # e.g. out of memory placing the weights on a device
                raise ModelError(
                    f"model {self.resolved.label} could not be loaded on {self.device} "
                    f"({type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:200]})",
                    model=self.resolved.ref,
                ) from None
            self._loaded = True
            self.stats.load_seconds += time.perf_counter() - start

    @property
    def tokenizer(self) -> Any:
        self._ensure_loaded()
        return self._tokenizer

    @property
    def max_input_tokens(self) -> int:
        """The run's limit, capped by what the model accepts."""
        self._ensure_loaded()
        limits = [self.run.max_input_tokens]
        tok_limit = getattr(self._tokenizer, "model_max_length", None)
        if isinstance(tok_limit, int) and 0 < tok_limit < 100_000:
            limits.append(tok_limit)
        pos = self.info.max_input_tokens  # max_position_embeddings from config.json
        if isinstance(pos, int) and pos > 0:
            limits.append(pos)
        return max(8, min(limits))

    def _control(self, plan: ModelPlan) -> tuple[Control, int | None]:
        """The plan's language control applied to the tokenizer, and the forced token's id."""
        ctl, tgt = plan.control, plan.tgt
        tok = self._tokenizer
        if ctl.src_lang is not None:
            tok.src_lang = ctl.src_lang
        forced = None
        if ctl.forced_bos_token is not None:
            forced = tok.convert_tokens_to_ids(ctl.forced_bos_token)
            if forced is None or forced == tok.unk_token_id:
                raise LanguageError(
                    f"model {self.resolved.label} has no language token {ctl.forced_bos_token} "
                    f"for {tgt}",
                    code=tgt,
                )
        if ctl.prefix:
            ids = tok(ctl.prefix.strip(), add_special_tokens=False).input_ids
            if len(ids) != 1 or ids[0] == tok.unk_token_id:
                raise LanguageError(
                    f"model {self.resolved.label} has no target token {ctl.prefix.strip()} for {tgt}",
                    code=tgt,
                )
        return ctl, forced

    def _encode(self, texts: list[str]) -> list[list[int]]:
        if not texts:
            return []
        return self._tokenizer(texts, add_special_tokens=True).input_ids

    def _decoding(self, ctl: Control, forced: int | None, settings: Mapping[str, Any]) -> Decoding:
        model = model_decoding_defaults(self.resolved.path)
        eos = model["eos_token_id"]
        if eos is None:
            eos = self._model_eos()
        eos_ids = frozenset(eos) if isinstance(eos, list) else frozenset({eos})
        return Decoding(
            beams=int(settings["beams"]),
            length_penalty=float(settings["length_penalty"]),
            forced_bos=forced,
            forced_bos_token=ctl.forced_bos_token,
            min_new_tokens=model["min_new_tokens"],
            no_repeat_ngram_size=model["no_repeat_ngram_size"],
            repetition_penalty=model["repetition_penalty"],
            suppress=model["suppress"],
            eos_ids=eos_ids,
        )

    def translate(self, texts: list[str], plan: ModelPlan) -> list[Output]:
        """Translate whole segments: over-long ones are split, translated and rejoined."""
        if not texts:
            return []
        return next(self.translate_many([texts], plan))

    def translate_many(self, parts: Iterable[list[str]], plan: ModelPlan) -> Iterator[list[Output]]:
        """Translate several lists of segments, yielding each list's outputs in order.

        An engine that decodes in the background gets the next lists' batches queued before
        the current list is finished and handed over, so its workers never wait at the
        boundary between two lists while the caller stores results.
        """
        self._ensure_loaded()
        ctl, forced = self._control(plan)
        settings = plan.settings
        dec = self._decoding(ctl, forced, settings)
        joiner = joiner_for(plan.tgt)
        window: deque[_Pending] = deque()
        for texts in parts:
            start = time.perf_counter()
            window.append(self._begin(texts, ctl, dec, settings))
            self.stats.seconds += time.perf_counter() - start
            if len(window) > self.lookahead:
                yield self._complete(window.popleft(), dec, settings, joiner)
        while window:
            yield self._complete(window.popleft(), dec, settings, joiner)

    def _begin(
        self, texts: list[str], ctl: Control, dec: Decoding, settings: Mapping[str, Any]
    ) -> _Pending:
        """Tokenize and split ``texts``, plan their batches and start decoding them."""
        if not texts:
            return _Pending(0, [], [], [], [], list)
        owner, units, ids = self._units(texts, ctl)
        self.stats.input_tokens += sum(len(x) for x in ids)
        wanted = [max(1, self._bound(len(x), settings)) for x in ids]
        cap = self._output_cap(dec)
        bounds = [min(b, cap) for b in wanted]
        capped = frozenset(i for i, b in enumerate(wanted) if b > cap)
        budget, row_cost = self._batch_budget(settings)
        # Greedy rows decode up to their batch's longest bound and are cut at their own (greedy
        # is prefix-stable). Beam search is not: each row decodes to the step of its own bound,
        # batched only with rows of that step, so neighbours never change a row's output.
        steps = [bound_step(b) for b in bounds] if dec.beams > 1 else bounds
        groups = steps if dec.beams > 1 else None
        limit = self._batch_limit(len(ids))
        batches = plan_batches([len(x) for x in ids], budget, limit, row_cost, groups)
        self.stats.batches += len(batches)
        wait = self._start(
            [[ids[i] for i in batch] for batch in batches],
            [max(steps[i] for i in batch) for batch in batches],
            dec,
        )
        return _Pending(len(texts), owner, ids, bounds, batches, wait, units, capped, ctl.prefix)

    def _complete(
        self, job: _Pending, dec: Decoding, settings: Mapping[str, Any], joiner: str
    ) -> list[Output]:
        """Wait for a started list, finish every unit and rejoin split segments."""
        start = time.perf_counter()
        unit_out: list[list[tuple[str, tuple[str, ...]]]] = [[] for _ in job.ids]
        decoded = iter(job.wait())
        b, rows = 0, None  # the batch being finished, and its rows once they arrived
        try:
            while b < len(job.batches):
                rows = next(decoded)
                for i, row in zip(job.batches[b], rows, strict=True):
                    unit_out[i] = [self._finish(row, job.bounds[i], job.ids[i], dec, settings)]
                rows = None
                b += 1
        except KeyboardInterrupt as exc:
            with contextlib.suppress(Exception):  # keeping is a bonus: it never hides the stop
                self._keep_finished(exc, job, unit_out, b, rows, dec, settings, joiner)
            raise
        for i in sorted(job.capped):
            if "length-bound" in unit_out[i][0][1]:
                # Decoding reached the decoder's last position: split the source and decode
                # the parts, each of which fits.
                redone = self._resplit(job.units[i], len(job.ids[i]), job.prefix, dec, settings)
                unit_out[i] = redone or unit_out[i]
        self.stats.seconds += time.perf_counter() - start
        self.stats.segments += job.n_texts
        joined = rejoin(job.n_texts, job.owner, unit_out, joiner)
        return [joined[t] for t in range(job.n_texts)]

    def _keep_finished(
        self,
        exc: KeyboardInterrupt,
        job: _Pending,
        unit_out: list[list[tuple[str, tuple[str, ...]]]],
        b: int,
        rows: list[list[int]] | None,
        dec: Decoding,
        settings: Mapping[str, Any],
        joiner: str,
    ) -> None:
        """On a stop while finishing ``job``: hand over, on ``exc``, the outputs of its texts
        that are complete, so that the pipeline stores them (``cancel.KEPT_OUTPUTS``).

        Complete are the units of every batch that finished (before batch ``b``, batch ``b``
        itself when its ``rows`` arrived, later ones the engine reports ready) and, of the
        batch cut by the stop, the rows that had ended. A row that was cut, or that would need
        more decoding (a repeat-guard retry, a re-split), is dropped: never stored as complete.
        """
        from workbench import cancel

        todo: dict[int, tuple[list[int], bool]] = {}  # unit -> (row, must have ended)
        if rows is not None:
            for i, row in zip(job.batches[b], rows, strict=True):
                if not unit_out[i]:
                    todo[i] = (row, False)
        elif b < len(job.batches):
            for pos, row in (getattr(exc, cancel.ENDED_ROWS, None) or {}).items():
                todo[job.batches[b][pos]] = (row, True)
        for k, ready in (getattr(exc, cancel.READY_ROWS, None) or {}).items():
            for i, row in zip(job.batches[k], ready, strict=True):
                todo[i] = (row, False)
        for i, (row, must_end) in todo.items():
            try:  # a repeat-guard retry cannot decode any more: the stop raises at once
                out = self._finish(row, job.bounds[i], job.ids[i], dec, settings)
            except BaseException:
                continue
            if not (must_end and "length-bound" in out[1]):
                unit_out[i] = [out]
        for i in job.capped:
            if unit_out[i] and "length-bound" in unit_out[i][0][1]:
                unit_out[i] = []  # would have been decoded again as parts
        setattr(exc, cancel.KEPT_OUTPUTS, rejoin(job.n_texts, job.owner, unit_out, joiner))

    @functools.cached_property
    def _positions(self) -> int | None:
        """The decoder's position limit, read from config.json once per backend."""
        return decoder_positions(self.resolved.path)

    def _output_cap(self, dec: Decoding) -> int:
        """Most tokens one row may generate before the decoder runs out of positions.

        The decoder start token takes position 0 and the last generated token is never fed
        back, so ``positions`` new tokens fit; a forced first token (NLLB, M2M100, mBART-50)
        is counted among them by torch and given as a prefix to CTranslate2, so one more is
        kept free for it.
        """
        positions = self._positions
        if positions is None:
            return 1 << 30
        return max(1, positions - (1 if dec.forced_bos is not None else 0))

    def _resplit(
        self,
        text: str,
        n_tokens: int,
        prefix: str,
        dec: Decoding,
        settings: Mapping[str, Any],
        depth: int = 0,
    ) -> list[tuple[str, tuple[str, ...]]]:
        """Decode ``text`` again as smaller parts whose bounds fit the decoder's positions;
        empty when it cannot be split (its one output keeps its ``length-bound`` note)."""
        cap = self._output_cap(dec)
        ratio = float(settings["max_new_tokens_ratio"])
        fit = int((cap - int(settings["max_new_tokens_extra"])) / ratio) if ratio > 0 else 0
        limit = max(1, min(fit, n_tokens - 1) if fit >= 1 else n_tokens // 2)

        def count(part: str) -> int:
            return len(self._encode([prefix + part])[0])

        chunks = [c for c in split_units([text], limit, count).texts if c]
        if len(chunks) < 2:
            return []
        ids = self._encode([prefix + c for c in chunks])
        wanted = [max(1, self._bound(len(x), settings)) for x in ids]
        bounds = [min(b, cap) for b in wanted]
        out: list[list[tuple[str, tuple[str, ...]]]] = [[] for _ in chunks]
        budget, row_cost = self._batch_budget(settings)
        for batch in plan_batches(
            [len(x) for x in ids], budget, self._batch_limit(len(ids)), row_cost
        ):
            rows = self._decode([ids[i] for i in batch], max(bounds[i] for i in batch), dec)
            self.stats.batches += 1
            for i, row in zip(batch, rows, strict=True):
                out[i] = [self._finish(row, bounds[i], ids[i], dec, settings)]
        for i, chunk in enumerate(chunks):
            if wanted[i] > cap and "length-bound" in out[i][0][1] and depth < MAX_RESPLITS:
                out[i] = (
                    self._resplit(chunk, len(ids[i]), prefix, dec, settings, depth + 1) or out[i]
                )
        return [part for parts in out for part in parts]

    def _units(
        self, texts: list[str], ctl: Control
    ) -> tuple[list[int], list[str], list[list[int]]]:
        """Split over-long texts; returns the owning text, the text and the token ids of every
        unit."""
        limit = self.max_input_tokens

        def count(text: str) -> int:
            return len(self._encode([ctl.prefix + text])[0])

        # One batched tokenizer call measures every text; only over-long ones are split
        # (long_sentences.split_long would return [text] for the others after the same count), and a unit
        # that is its text entire keeps that call's ids.
        whole = self._encode([ctl.prefix + t for t in texts])
        split = split_units(texts, limit, count, over=[len(w) > limit for w in whole])
        missing = [k for k, intact in enumerate(split.intact) if not intact]
        encoded = self._encode([ctl.prefix + split.texts[k] for k in missing])
        known = dict(zip(missing, encoded, strict=True))
        ids = [known[k] if k in known else whole[o] for k, o in enumerate(split.owner)]
        return split.owner, split.texts, ids

    @staticmethod
    def _bound(n_input: int, settings: Mapping[str, Any]) -> int:
        return math.ceil(n_input * settings["max_new_tokens_ratio"]) + int(
            settings["max_new_tokens_extra"]
        )

    def _finish(
        self,
        generated: list[int],
        bound: int,
        source_ids: list[int],
        dec: Decoding,
        settings: Mapping[str, Any],
    ) -> tuple[str, tuple[str, ...]]:
        """One decoded row's text and notes (see ``decode.finish_row``)."""

        def redecode(no_repeat: int) -> list[int]:
            # The segment alone, with repeats forbidden.
            again = replace(dec, no_repeat_ngram_size=no_repeat)
            return self._decode([source_ids], bound, again)[0]

        guard = int(settings["repeat_guard"])
        out = finish_row(
            generated, bound, dec.eos_ids, self._tokenizer, guard=guard, redecode=redecode
        )
        self.stats.output_tokens += out.tokens
        return out.text, out.notes
