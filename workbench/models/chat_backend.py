"""Instruction-tuned chat models (Qwen2.5-Instruct style) on torch + transformers.

Prompts are rendered from templates (``workbench.prompts``) into chat messages, then through
the tokenizer's own chat template with the generation prompt added. Decoding is greedy (or
beam search) whatever the model's ``generation_config.json`` says: chat models ship sampling
defaults (``do_sample``, ``temperature``, ``top_p``, ``top_k``), and sampled outputs could not
be cached or reproduced. Every call is bounded in new tokens.

``ChatTranslator`` is the translation backend for chat models; the summariser uses its
``generate`` and ``count`` so that one loaded model serves both tasks.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench import languages
from workbench.errors import ModelError
from workbench.models import families
from workbench.models.base import BackendStats, Output
from workbench.models.batching import bound_step, plan_batches
from workbench.models.decode import finish_row, joiner_for, rejoin, split_units
from workbench.models.families import ModelInfo, read_json
from workbench.models.generation import deterministic_config
from workbench.models.resolve import ResolvedModel
from workbench.settings import RunSettings

if TYPE_CHECKING:
    from workbench.models.plan import ModelPlan

#: Most tokens one chat call may generate unless the catalog says otherwise.
DEFAULT_MAX_NEW_TOKENS = 512
#: Context used for summarising unless the catalog says otherwise: long contexts are slow and
#: memory-hungry on a CPU, and news articles rarely need more.
DEFAULT_CONTEXT_TOKENS = 4096


def catalog_generation(resolved: ResolvedModel) -> dict[str, Any]:
    """The catalog's ``[model.generation]`` table for this model (empty when not catalogued)."""
    from workbench.models.catalog import Catalog

    entry = Catalog.load().get(resolved.model_id)
    return dict(entry.generation) if entry is not None else {}


def chat_settings(resolved: ResolvedModel, info: ModelInfo) -> dict[str, Any]:
    """Decoding and context settings of a chat model, from JSON and the catalog only.

    They go into cache keys, so they are decided without loading anything.
    """
    over = catalog_generation(resolved)
    if over.get("do_sample"):
        raise ModelError(
            f"catalog entry {resolved.model_id} asks for do_sample = true; workbench decodes "
            "greedily (or with --beams) so that outputs are reproducible: remove it",
            model=resolved.ref,
        )
    shipped = read_json(resolved.path / "generation_config.json")
    tok_limit = read_json(resolved.path / "tokenizer_config.json").get("model_max_length")
    limits = [int(over.get("max_input_tokens", DEFAULT_CONTEXT_TOKENS))]
    for value in (info.max_input_tokens, tok_limit):
        if isinstance(value, int) and 0 < value < 10_000_000:
            limits.append(value)
    return {
        "sampling": False,
        "repetition_penalty": float(
            over.get("repetition_penalty", shipped.get("repetition_penalty") or 1.0)
        ),
        "max_new_tokens": int(over.get("max_new_tokens", DEFAULT_MAX_NEW_TOKENS)),
        "context_tokens": min(limits),
    }


def _translate_prompt(info: ModelInfo, context: bool = False) -> str:
    """The template ``workbench translate --model <chat model>`` renders for every segment
    (``context``: for a segment sent with its document's preceding sentences)."""
    family = families.get(info.family)
    name = family.context_prompt if context else family.prompt
    if name is None:
        what = "translation prompt with context" if context else "translation prompt"
        raise ModelError(f"model family {info.family!r} has no {what}")
    return name


def translation_recipe_extra(
    resolved: ResolvedModel, info: ModelInfo, run: RunSettings, context: int = 0
) -> dict[str, Any]:
    """Cache-key parts of chat translation: the template's hash and the chat decoding settings;
    with a ``context`` window, the context template's hash too (without one, nothing changes)."""
    from workbench import prompts

    prompt = prompts.load(_translate_prompt(info), task="translate")
    extra: dict[str, Any] = {"prompt": prompt.sha256, "chat": chat_settings(resolved, info)}
    if context:
        with_context = prompts.load(_translate_prompt(info, context=True), task="translate")
        extra["context_prompt"] = with_context.sha256
    return extra


@dataclass(frozen=True)
class ChatOutput:
    """One generated reply."""

    text: str
    notes: tuple[str, ...] = ()
    tokens: int = 0


class ChatTranslator:
    """A chat model behind the Backend interface (translation), plus raw chat generation."""

    def __init__(self, resolved: ResolvedModel, info: ModelInfo, run: RunSettings) -> None:
        from workbench.models.torch_backend import torch_placement

        self.resolved = resolved
        self.info = info
        self.run = run
        self.stats = BackendStats()
        self.device, self.precision = torch_placement(run)
        self.settings = chat_settings(resolved, info)
        self._tokenizer: Any = None
        self._model: Any = None
        self._base: Any = None
        self._eos: frozenset[int] = frozenset()
        self._prompt: Any = None
        self._context_prompt: Any = None

    @property
    def name(self) -> str:
        return f"torch-{self.precision}"

    # --- loading ---------------------------------------------------------------------------

    @property
    def tokenizer(self) -> Any:
        """The tokenizer alone (cheap): enough to count tokens for chunking and cache lookups."""
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            try:
                tok = AutoTokenizer.from_pretrained(str(self.resolved.path), padding_side="left")
            except Exception as exc:  # transformers raises many types for a broken folder
                raise self.resolved.load_error(exc) from None
            if getattr(tok, "chat_template", None) is None:
                raise ModelError(
                    f"model {self.resolved.label} has no chat template in its tokenizer files; "
                    "use an instruction-tuned (chat) model",
                    model=self.resolved.ref,
                )
            if tok.pad_token is None:
                tok.pad_token = tok.eos_token  # left padding needs some pad id; it is masked
            self._tokenizer = tok
        return self._tokenizer

    def _ensure_model(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModelForCausalLM

        from workbench.models.device import torch_dtype
        from workbench.models.torch_backend import quantize_int8

        start = time.perf_counter()
        tok = self.tokenizer
        dtype = torch_dtype("fp32" if self.precision == "int8" else self.precision)
        try:
            model = AutoModelForCausalLM.from_pretrained(str(self.resolved.path), dtype=dtype)
        except Exception as exc:
            raise self.resolved.load_error(exc) from None
        try:
            model.eval()
            model.to(self.device)
            if self.precision == "int8":
                model = quantize_int8(model)
        except Exception as exc:  # e.g. out of memory on the device
            raise ModelError(
                f"model {self.resolved.label} could not be loaded on {self.device} "
                f"({type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:200]})",
                model=self.resolved.ref,
            ) from None
        base = deterministic_config(model)
        base.repetition_penalty = self.settings["repetition_penalty"]
        if base.pad_token_id is None:
            base.pad_token_id = tok.pad_token_id
        eos = base.eos_token_id if base.eos_token_id is not None else tok.eos_token_id
        self._eos = frozenset(eos if isinstance(eos, list) else [eos])
        model.generation_config = base
        self._model, self._base = model, base
        self.stats.load_seconds += time.perf_counter() - start

    # --- chat --------------------------------------------------------------------------------

    def encode(self, messages: list[dict[str, str]]) -> list[int]:
        """Token ids of a conversation through the model's chat template, ready to generate."""
        from workbench.models.vocab import encode_chat

        try:
            return encode_chat(self.tokenizer, messages)  # article text never becomes markup
        except Exception as exc:  # jinja2 refuses (SecurityError) or fails (TemplateError)
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            raise ModelError(
                f"model {self.resolved.label}: its chat template cannot be rendered "
                f"({type(exc).__name__}: {first}); fix chat_template in its tokenizer files "
                "or use another model",
                model=self.resolved.ref,
            ) from None

    def count(self, messages: list[dict[str, str]]) -> int:
        """How many tokens a conversation takes (prompt and chat markup included)."""
        return len(self.encode(messages))

    def count_text(self, text: str) -> int:
        """How many tokens a bare text takes."""
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    def generate(
        self,
        conversations: list[list[dict[str, str]]],
        max_new_tokens: int | list[int],
        *,
        beams: int = 1,
        repeat_guard: int = 4,
    ) -> list[ChatOutput]:
        """One reply per conversation, greedy (or beam search), each bounded in new tokens."""
        if not conversations:
            return []
        self._ensure_model()
        ids = [self.encode(c) for c in conversations]
        cap = int(self.settings["max_new_tokens"])
        if isinstance(max_new_tokens, int):
            bounds = [max(1, min(cap, max_new_tokens))] * len(ids)
        else:
            bounds = [max(1, min(cap, b)) for b in max_new_tokens]
        # Prompt and reply share the model's positions: a reply stops where they run out.
        context = int(self.settings["context_tokens"])
        for i, prompt in enumerate(ids):
            if len(prompt) >= context:
                raise ModelError(
                    f"model {self.resolved.label}: a prompt of {len(prompt)} tokens leaves no "
                    f"room in its context ({context} tokens); use a shorter prompt or text",
                    model=self.resolved.ref,
                )
            bounds[i] = min(bounds[i], context - len(prompt))
        start = time.perf_counter()
        out: list[ChatOutput] = [ChatOutput("")] * len(ids)
        rows, tokens = self.run.batch_limits(self.device)
        # Beam search is not prefix-stable: each row decodes to the step of its own bound, in
        # batches of one step, so its neighbours never change it (see bound_step).
        steps = [bound_step(b) for b in bounds] if beams > 1 else bounds
        groups = steps if beams > 1 else None
        for batch in plan_batches([len(x) for x in ids], tokens, rows, groups=groups):
            bound = max(steps[i] for i in batch)
            rows = self._decode([ids[i] for i in batch], bound, beams, 0)
            self.stats.batches += 1
            for i, row in zip(batch, rows, strict=True):
                out[i] = self._finish(row, bounds[i], ids[i], beams, repeat_guard)
        self.stats.input_tokens += sum(len(x) for x in ids)
        self.stats.seconds += time.perf_counter() - start
        return out

    def _decode(
        self, ids: list[list[int]], max_new: int, beams: int, no_repeat: int
    ) -> list[list[int]]:
        from workbench.models.device import decoding_context

        config = copy.copy(self._base)
        config.max_new_tokens = max_new
        config.num_beams = beams
        if no_repeat:
            config.no_repeat_ngram_size = no_repeat
        batch = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt", padding=True)
        batch = {k: v.to(self._model.device) for k, v in batch.items()}
        with decoding_context(self.device):
            sequences = self._model.generate(**batch, generation_config=config)
        width = batch["input_ids"].shape[1]  # left padding: every prompt ends at this column
        return [row[width:] for row in sequences.tolist()]

    def _finish(
        self,
        generated: list[int],
        bound: int,
        prompt: list[int],
        beams: int,
        guard: int,
    ) -> ChatOutput:
        """One decoded row's reply (see ``decode.finish_row``)."""

        def redecode(no_repeat: int) -> list[int]:
            # This prompt alone, with repeats forbidden.
            return self._decode([prompt], bound, beams, no_repeat)[0]

        out = finish_row(
            generated, bound, self._eos, self.tokenizer, guard=guard, redecode=redecode
        )
        self.stats.output_tokens += out.tokens
        return ChatOutput(out.text, out.notes, out.tokens)

    # --- translation (the Backend interface) -------------------------------------------------

    def _translate_prompt(self, context: bool = False) -> Any:
        from workbench import prompts

        if context:
            if self._context_prompt is None:
                name = _translate_prompt(self.info, context=True)
                self._context_prompt = prompts.load(name, task="translate")
            return self._context_prompt
        if self._prompt is None:
            self._prompt = prompts.load(_translate_prompt(self.info), task="translate")
        return self._prompt

    def translate(
        self,
        texts: list[str],
        plan: ModelPlan,
        contexts: list[tuple[str, ...]] | None = None,
    ) -> list[Output]:
        """Translate each segment with one chat turn rendered from the translate-chat template.

        A segment longer than the run's input limit is split at clause boundaries and its
        pieces translated in turn (never truncated), as the seq2seq backends do. With
        ``contexts`` (one tuple of preceding sentences per segment) and a plan with a context
        window, a segment is sent with its context (see ``_with_context``).
        """
        if not texts:
            return []
        prompt = self._translate_prompt()
        settings, src, tgt = plan.settings, plan.src, plan.tgt
        values = {
            "src": src,
            "tgt": tgt,
            "source_language": languages.get(src).name,
            "target_language": languages.get(tgt).name,
        }
        # A unit, its prompt and its reply (bounded at ratio × unit + extra) share the
        # model's context: longer units are split first.
        ratio = float(settings["max_new_tokens_ratio"])
        overhead = self.count(prompt.render({**values, "text": ""}))
        room = int(self.settings["context_tokens"]) - overhead
        room -= int(settings["max_new_tokens_extra"])
        limit = max(8, min(int(settings["max_input_tokens"]), int(room / (1.0 + ratio))))
        split = split_units(texts, limit, self.count_text)
        # A unit holding glossary terms is asked with them (the ``-glossary`` templates).
        terms = [self._terms(unit, plan) for unit in split.texts]
        conversations = [
            self._conversation(prompt, values, unit, plan, t)
            for unit, t in zip(split.texts, terms, strict=True)
        ]
        bounds = [
            math.ceil(self.count_text(unit) * settings["max_new_tokens_ratio"])
            + int(settings["max_new_tokens_extra"])
            for unit in split.texts
        ]
        window = plan.context_sentences
        if contexts is not None and window:
            for u, owner in enumerate(split.owner):
                context = contexts[owner][-window:]
                if context:
                    found = self._with_context(
                        values, split.texts[u], context, bounds[u], terms[u], plan
                    )
                    conversations[u] = found or conversations[u]
        outs = self.generate(
            conversations,
            bounds,
            beams=int(settings["beams"]),
            repeat_guard=int(settings["repeat_guard"]),
        )
        self.stats.segments += len(texts)
        # A segment is inline text: a reply spread over lines is joined into one.
        unit_out = [[(" ".join(o.text.split()), o.notes)] for o in outs]
        joined = rejoin(len(texts), split.owner, unit_out, joiner_for(tgt))
        return [joined[t] for t in range(len(texts))]

    def _with_context(
        self,
        values: dict[str, str],
        unit: str,
        context: tuple[str, ...],
        bound: int,
        terms: str = "",
        plan: ModelPlan | None = None,
    ) -> list[dict[str, str]] | None:
        """The conversation asking for ``unit`` with as many of its preceding sentences as fit
        (and the glossary's ``terms`` found in it, if any).

        Prompt and reply share the model's context: the oldest sentences are dropped until the
        prompt plus the reply's bound fit in it. The sentence itself is never cut (it was split
        to fit without context), so None (no room for any context) means the plain prompt.
        """
        prompt = self._translate_prompt(context=True)
        if terms and plan is not None:
            from workbench.glossary import apply

            prompt = apply.glossary_prompt(plan, context=True)
        room = int(self.settings["context_tokens"])
        for start in range(len(context)):
            kept = [" ".join(s.split()) for s in context[start:]]  # one sentence a line
            filled = {**values, "text": unit, "context": "\n".join(kept), "terms": terms}
            conversation = prompt.render(filled)
            if self.count(conversation) + bound <= room:
                return conversation
        return None

    @staticmethod
    def _terms(unit: str, plan: ModelPlan) -> str:
        """The glossary's terms found in ``unit`` (the ``$terms`` of the ``-glossary``
        templates), or "" when the plan carries none or none is there."""
        if not plan.terms:
            return ""
        from workbench.glossary import apply
        from workbench.glossary.match import find

        found = find(unit, apply.plan_rules(plan), plan.src)
        return apply.terms_text(found, unit) if found else ""

    def _conversation(
        self, prompt: Any, values: dict[str, Any], unit: str, plan: ModelPlan, terms: str = ""
    ) -> list[dict[str, str]]:
        """The chat turn for one unit without context: with the glossary's ``terms`` (the
        ``-glossary`` template), or the plain template when there are none."""
        if terms:
            from workbench.glossary import apply

            return apply.glossary_prompt(plan).render({**values, "text": unit, "terms": terms})
        return prompt.render({**values, "text": unit})
