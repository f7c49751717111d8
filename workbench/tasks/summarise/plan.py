"""Choosing a document's summariser (lead-N, seq2seq or chat) and strategy; its settings,
recipe, cache key and signature."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from workbench import segment, signature
from workbench.errors import ModelError, WorkbenchError
from workbench.models import families
from workbench.models.families import ModelInfo
from workbench.models.plan import ModelPlan
from workbench.models.pool import ModelPool
from workbench.models.resolve import ResolvedModel
from workbench.results import SummaryResult
from workbench.settings import DEFAULT_SENTENCES, LEAD, GenerationSettings, SummaryOptions
from workbench.store import Store

if TYPE_CHECKING:
    from workbench.engines import Engine
    from workbench.models.catalog import CatalogEntry
    from workbench.prompts import Prompt

#: Bumped when lead-N picks sentences differently (part of its cache key and signature).
#: 2: news furniture (captions, credits, bylines) and wire openers are not body sentences.
LEAD_VERSION = 2
#: Bumped when chunking or combining changes (part of every summary's cache key).
#: 2: the body a summariser reads leaves out news furniture and wire openers.
CHUNKING_VERSION = 2


@dataclass
class Plan:
    """One document's summariser, strategy and cache key."""

    kind: str  # lead | seq2seq | chat
    source: str
    target: str
    strategy: str
    resolved: ResolvedModel | None = None
    info: ModelInfo | None = None
    entry: CatalogEntry | None = None
    model: ModelPlan | None = None  # the model layer's answer: backend name and settings
    params: dict[str, Any] = field(default_factory=dict)  # its settings, as the runners use them
    prompt: Prompt | None = None
    combine: Prompt | None = None
    rec: dict[str, Any] = field(default_factory=dict)


class Context:
    """What every document of one call shares."""

    def __init__(
        self,
        opts: SummaryOptions,
        pool: ModelPool,
        gen: GenerationSettings,
        store: Store,
        engine: Engine | None = None,
    ):
        self.opts = opts
        self.pool = pool
        self.gen = gen
        self.store = store
        self.engine = engine  # for the translate strategy's translation step
        self._prompts: dict[tuple[str, str], Prompt] = {}

    def prompt(self, ref: str, task: str) -> Prompt:
        from workbench import prompts

        if (ref, task) not in self._prompts:
            self._prompts[(ref, task)] = prompts.load(ref, task=task)
        return self._prompts[(ref, task)]

    def native(self, source: str) -> Context:
        """The context of a summary in the article's own language (the translate strategy's
        first step)."""
        opts = replace(self.opts, lang=source, src=source, strategy="native")
        return Context(opts, self.pool, self.gen, self.store, self.engine)


def make_plan(ctx: Context, source: str, target: str) -> Plan:
    """The summariser and strategy for an article in ``source`` summarised into ``target``."""
    opts = ctx.opts
    if opts.model == LEAD:
        if opts.tokens is not None:
            raise WorkbenchError(
                "--tokens bounds what a model generates; with --model lead use --sentences or --words"
            )
        if opts.prompt is not None or opts.variables:
            raise WorkbenchError(
                "--prompt and --var apply to chat models; --model lead uses no prompt"
            )
        strategy = _strategy(opts.strategy, "lead", source, target, native=source == target)
        return Plan("lead", source, target, strategy)
    resolved, entry = _resolve(ctx)
    info = ctx.pool.info(resolved)
    if families.get(info.family).chat:
        kind = "chat"
    elif info.task == "summarise":
        kind = "seq2seq"
    else:
        raise ModelError(
            f"model {resolved.label} is a translation model, not a summariser; use --model lead, "
            "a summariser such as csebuetnlp/mT5_multilingual_XLSum, or a chat model",
            model=resolved.ref,
        )
    if kind != "chat" and (opts.prompt is not None or opts.variables):
        raise WorkbenchError(
            f"--prompt and --var apply to chat models; {resolved.model_id} is a seq2seq summariser "
            "whose settings come from the catalog"
        )
    if kind == "seq2seq":
        from workbench.models.backend import check_summariser_engine

        check_summariser_engine(info, ctx.pool.run)
        sources = entry.sources if entry else ("*",)
        if "*" not in sources and source not in sources:
            raise ModelError(
                f"model {resolved.model_id} summarises {','.join(sources)} articles only and this "
                f"one is {source}; use --model csebuetnlp/mT5_multilingual_XLSum, a chat model or "
                "--model lead",
                model=resolved.ref,
            )
        targets = entry.targets if entry else ("same",)
        native = (target == source and "same" in targets) or target in targets
    else:
        native = True
    strategy = _strategy(opts.strategy, kind, source, target, native=native)
    if kind == "chat" and strategy == "native" and target != source:
        strategy = "prompt"  # a chat model writes another language because the prompt asks
    plan = Plan(kind, source, target, strategy, resolved, info, entry)
    if kind == "chat" and strategy != "translate":
        if opts.prompt is not None:
            plan.prompt = ctx.prompt(opts.prompt, "summarise")
        else:
            plan.prompt = ctx.prompt(
                "summarise" if target == source else "summarise-lang", "summarise"
            )
        plan.prompt.check_values(opts.variables)
        plan.combine = ctx.prompt("combine", "combine")
    return plan


def _resolve(ctx: Context) -> tuple[ResolvedModel, CatalogEntry | None]:
    opts, catalog = ctx.opts, ctx.pool.catalog
    if opts.model is not None:
        resolved = ctx.pool.resolve(opts.model)
        return resolved, catalog.get(resolved.model_id)
    defaults = [e for e in catalog.for_task("summarise") if "summarise" in e.default_for]
    entry = (defaults or catalog.for_task("summarise") or [None])[0]
    if entry is None:
        raise ModelError(
            "the catalog names no summariser; pass --model lead (no download) or a chat model"
        )
    from workbench.models.resolve import cached_snapshot

    # The default is never downloaded behind the user's back: it is large and, for the shipped
    # catalog, non-commercial.
    if cached_snapshot(entry.id) is None:
        raise ModelError(
            f"the default summariser {entry.id} ({entry.licence}, {entry.size_mb or '?'} MB) is "
            f"not in the local Hugging Face cache; get it with `workbench models download "
            f"{entry.id}`, or summarise with --model lead (no download) or a chat model such "
            "as --model Qwen/Qwen2.5-0.5B-Instruct",
            model=entry.id,
        )
    return ctx.pool.resolve(entry.id), entry


def _strategy(requested: str, kind: str, source: str, target: str, *, native: bool) -> str:
    if requested == "prompt" and kind != "chat":
        raise WorkbenchError(
            "--strategy prompt needs a chat model; use --strategy translate or --model <chat model>"
        )
    if target == source:
        return "native"  # nothing to translate, whatever was asked
    if requested == "auto":
        return "prompt" if kind == "chat" else ("native" if native else "translate")
    if requested == "native" and not native:
        what = "lead-N" if kind == "lead" else "this model"
        raise WorkbenchError(
            f"{what} cannot write {target} summaries of {source} articles; use --strategy "
            "translate (summarise, then translate the summary) or a chat model"
        )
    return requested


def _settings(ctx: Context, plan: Plan) -> dict[str, Any]:
    """The effective settings of one plan (all of it goes into the cache key)."""
    opts = ctx.opts
    sentences = opts.sentences
    if sentences is None and opts.words is None:
        sentences = DEFAULT_SENTENCES
    settings: dict[str, Any] = {
        "strategy": plan.strategy,
        "sentences": sentences,
        "words": opts.words,
    }
    if plan.kind == "lead":
        return settings
    assert plan.resolved is not None and plan.info is not None
    settings["tokens"] = opts.tokens
    settings["chunking"] = CHUNKING_VERSION
    settings["max_rounds"] = opts.max_rounds
    if plan.kind == "chat":
        settings["retry"] = opts.retry
    # The model layer is asked once: the runners decode with these very settings.
    plan.model = ctx.pool.plan_summary(
        plan.resolved, plan.entry, ctx.gen, opts, plan.source, plan.target
    )
    plan.params = dict(plan.model.settings)
    return {**settings, **plan.params}


def identify(ctx: Context, plan: Plan, result: SummaryResult) -> None:
    """Settings, recipe, cache key and signature of a plan, copied into the result."""
    result.settings = _settings(ctx, plan)
    extra: dict[str, Any] = {}
    if plan.kind == "lead":
        model_id, revision, backend = LEAD, f"lead-v{LEAD_VERSION}", "none"
    else:
        assert plan.resolved is not None
        assert plan.model is not None
        model_id, revision = plan.resolved.model_id, plan.resolved.revision
        backend = plan.model.backend
    if plan.prompt is not None and plan.combine is not None:
        result.prompt, result.prompt_sha256 = plan.prompt.label, plan.prompt.sha256
        extra = {"prompt": plan.prompt.sha256, "combine_prompt": plan.combine.sha256}
        if ctx.opts.variables:
            extra["prompt_vars"] = dict(sorted(ctx.opts.variables.items()))
    plan.rec = signature.recipe(
        "summarise",
        model_id=model_id,
        revision=revision,
        backend=backend,
        src=plan.source,
        tgt=plan.target,
        settings=result.settings,
        seg_version=segment.SEGMENTATION_VERSION,
        extra=extra,
    )
    result.model, result.revision, result.backend = model_id, revision, backend
    result.signature, result.key = signature.signature(plan.rec), signature.key(plan.rec)
