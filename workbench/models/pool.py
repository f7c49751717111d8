"""Models resolved and loaded once per process, shared by every call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.errors import LanguageError, ModelError
from workbench.models import families
from workbench.models.backend import backend_name, load_backend, recipe_extra
from workbench.models.base import Backend
from workbench.models.catalog import Catalog
from workbench.models.families import ModelInfo, inspect
from workbench.models.plan import ModelPlan
from workbench.models.resolve import ResolvedModel, resolve
from workbench.settings import GenerationSettings, RunSettings, SummaryOptions, env_offline

if TYPE_CHECKING:
    from workbench.models.catalog import CatalogEntry
    from workbench.models.summariser import Seq2SeqSummariser


class ModelPool:
    """Memoises resolution (cheap, no weights) and backends (loaded on first use)."""

    def __init__(self, run: RunSettings, catalog: Catalog | None = None) -> None:
        self.run = run
        self._catalog = catalog
        self._resolved: dict[str, ResolvedModel | ModelError] = {}
        self._info: dict[str, ModelInfo] = {}
        self._backends: dict[str, Backend] = {}
        self._summarisers: dict[str, Seq2SeqSummariser] = {}
        self._licences: dict[str, str] = {}

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = Catalog.load()
        return self._catalog

    def resolve(self, ref: str) -> ResolvedModel:
        """Locate a model once; a failure is remembered so each document reports it quickly."""
        if ref not in self._resolved:
            try:
                self._resolved[ref] = resolve(ref, offline=self.run.offline or env_offline())
            except ModelError as exc:
                self._resolved[ref] = exc
        found = self._resolved[ref]
        if isinstance(found, ModelError):
            raise found
        return found

    def info(self, resolved: ResolvedModel) -> ModelInfo:
        key = str(resolved.path)
        if key not in self._info:
            self._info[key] = inspect(resolved.path)
        return self._info[key]

    def licence(self, resolved: ResolvedModel) -> str:
        """The model's licence (model card, config, else catalog; ``unknown``), read once.
        Information for people only: it is never part of a cache key."""
        key = str(resolved.path)
        if key not in self._licences:
            from workbench.models.licence import licence_of

            entry = self.catalog.get(resolved.model_id)
            self._licences[key] = licence_of(resolved, entry.licence if entry else None)[0]
        return self._licences[key]

    def plan_translation(
        self,
        resolved: ResolvedModel,
        src: str,
        tgt: str,
        gen: GenerationSettings,
        *,
        detected: bool = False,
        where: str | None = None,
    ) -> ModelPlan:
        """What translating ``src`` → ``tgt`` with this model runs, decided without loading it.

        What the model can do is checked first: a model used for a language it does not know
        writes fluent nonsense, not an error. ``detected`` says the source language was
        detected (the message then suggests --from); ``where`` (a file) starts the message of
        a language pair the model does not serve.
        """
        info = self.info(resolved)
        entry = self.catalog.get(resolved.model_id)
        families.check_translates(info, entry, resolved.label, tgt)
        langs = families.pair_languages(resolved.path, resolved.model_id, info, entry)
        try:
            families.check_pair(langs, resolved.label, src, tgt, detected=detected)
        except LanguageError as exc:
            if where is None:
                raise
            raise LanguageError(f"{where}: {exc}", code=exc.code) from None
        return translation_plan(resolved, info, self.run, src, tgt, gen)

    def plan_summary(
        self,
        resolved: ResolvedModel,
        entry: CatalogEntry | None,
        gen: GenerationSettings,
        opts: SummaryOptions,
        src: str,
        tgt: str,
    ) -> ModelPlan:
        """What summarising with this model runs (a chat model, or a seq2seq summariser on
        torch): its backend name and effective settings, decided without loading it."""
        from workbench.models.params import chat_summary_params, seq2seq_summary_params

        info = self.info(resolved)
        if families.get(info.family).chat:
            settings = chat_summary_params(resolved, info, entry, gen, opts)
            backend = backend_name(info, self.run)
        else:
            from workbench.models.summariser import summariser_backend_name

            settings = seq2seq_summary_params(resolved, info, entry, gen, opts)
            backend = summariser_backend_name(self.run)
        return ModelPlan("summarise", resolved, info, backend, settings, src=src, tgt=tgt)

    def batch_limits(self) -> tuple[int, int]:
        """(most segments, token budget) of one batch on the device this run resolves to."""
        from workbench.models.device import pick_device

        return self.run.batch_limits(pick_device(self.run.device))

    def backend(self, resolved: ResolvedModel) -> Backend:
        key = str(resolved.path)
        if key not in self._backends:
            self._backends[key] = load_backend(resolved, self.info(resolved), self.run)
        return self._backends[key]

    @property
    def loaded(self) -> list[Backend]:
        return list(self._backends.values())

    def summariser(self, resolved: ResolvedModel) -> Seq2SeqSummariser:
        """The seq2seq summariser for a model, created once (its weights load on first use)."""
        from workbench.models.summariser import Seq2SeqSummariser

        key = str(resolved.path)
        if key not in self._summarisers:
            self._summarisers[key] = Seq2SeqSummariser(resolved, self.info(resolved), self.run)
        return self._summarisers[key]

    def loaded_summarisers(self) -> list[Seq2SeqSummariser]:
        """The seq2seq summarisers whose weights this pool has loaded."""
        return [s for s in self._summarisers.values() if s.model_loaded]


def translation_plan(
    resolved: ResolvedModel,
    info: ModelInfo,
    run: RunSettings,
    src: str,
    tgt: str,
    gen: GenerationSettings,
) -> ModelPlan:
    """The plan of translating ``src`` → ``tgt`` with a model; loads nothing.

    An unsupported language code fails here, before any work (the family spells it).
    """
    from workbench.models.generation import effective

    ctl = families.control(info, src, tgt)
    settings = {**effective(resolved.path, gen), "max_input_tokens": run.max_input_tokens}
    window = context_window(info, gen)
    if window:
        # Only where a window is used: every other plan (and its cache key) stays as it was.
        settings["context_sentences"] = window
    return ModelPlan(
        task="translate",
        resolved=resolved,
        info=info,
        backend=backend_name(info, run),
        settings=settings,
        extra=recipe_extra(resolved, info, run, context=window),
        src=src,
        tgt=tgt,
        control=ctl,
    )


def context_window(info: ModelInfo, gen: GenerationSettings) -> int:
    """How many preceding sentences of its document each sentence is translated with: the
    run's ``context_sentences`` (default DEFAULT_CONTEXT_SENTENCES) for a family with a
    context template (chat models), 0 for sentence-level models."""
    from workbench.settings import DEFAULT_CONTEXT_SENTENCES

    if families.get(info.family).context_prompt is None:
        return 0
    if gen.context_sentences is None:
        return DEFAULT_CONTEXT_SENTENCES
    return gen.context_sentences
