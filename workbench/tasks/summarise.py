"""The summarising pipeline: documents in, short faithful summaries out, through the cache.

Three kinds of summariser:

- ``lead``: the first N sentences of the article body (the classic news baseline; no model).
- seq2seq summarisers (mT5 XL-Sum, BART, PEGASUS) with their recommended decoding settings,
  taken from the catalog (``[model.generation]``) and the model's ``generation_config.json``.
- chat models, prompted through templates (``workbench.prompts``) and the tokenizer's chat
  template, decoded greedily.

The output language is reached by one of three strategies, chosen per document and recorded:
``native`` (the summariser writes the target language itself: the article's own language, or
any language for a chat model asked in the article's language), ``prompt`` (a chat model is
asked for another language) and ``translate`` (summarise in the article's language, then
translate the summary through the translation pipeline). The output's language is checked;
a mismatch is flagged in the result, and a chat model is asked once more.

A long article is chunked by the model's own tokenizer within its input limit; the chunks are
summarised, their summaries combined, and so on for a bounded number of rounds. Nothing is
truncated: an article that does not fit after those rounds is an error. Whole summaries and
every chunk call are cached under a key that includes the chunking settings.
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from workbench import languages, segment, signature
from workbench.documents import Document, content_hash, parse
from workbench.errors import CacheError, InputError, ModelError, WorkbenchError
from workbench.models.families import ModelInfo, read_json
from workbench.models.pool import ModelPool
from workbench.models.resolve import ResolvedModel
from workbench.results import SummaryResult
from workbench.settings import DEFAULT_SENTENCES, STRATEGIES, GenerationSettings, SummaryOptions
from workbench.store import NullStore, Store, not_cached_note, over_limit

if TYPE_CHECKING:
    from workbench.engines import Engine
    from workbench.models.catalog import CatalogEntry
    from workbench.prompts import Prompt

#: ``--model lead``: the lead-N baseline.
LEAD = "lead"
#: Bumped when lead-N picks sentences differently (part of its cache key and signature).
#: 2: news furniture (captions, credits, bylines) and wire openers are not body sentences.
LEAD_VERSION = 2
#: Bumped when chunking or combining changes (part of every summary's cache key).
#: 2: the body a summariser reads leaves out news furniture and wire openers.
CHUNKING_VERSION = 2
#: Below this an article is its own summary.
MIN_SENTENCES = 2
MIN_WORDS = 20
#: Input limit of a seq2seq summariser that neither the catalog nor its files state.
DEFAULT_INPUT_TOKENS = 512
#: Generated-token bound of a seq2seq summariser that neither the catalog nor its files state.
DEFAULT_SUMMARY_TOKENS = 128
#: Kinds of block a summary is made from: the article body (no title, bylines, links, tables).
BODY_KINDS = ("paragraph", "list_item", "quote")
_UNSPACED = ("zh", "ja", "th")


# --- the pipeline ------------------------------------------------------------------------------


@dataclass
class _Plan:
    """One document's summariser, strategy and cache key."""

    kind: str  # lead | seq2seq | chat
    source: str
    target: str
    strategy: str
    resolved: ResolvedModel | None = None
    info: ModelInfo | None = None
    entry: CatalogEntry | None = None
    params: dict[str, Any] = field(default_factory=dict)
    prompt: Prompt | None = None
    combine: Prompt | None = None
    rec: dict[str, Any] = field(default_factory=dict)


class _Context:
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


def summarise_documents(
    docs: Sequence[Document],
    options: SummaryOptions,
    *,
    pool: ModelPool,
    gen: GenerationSettings,
    store: Store | None = None,
    engine: Engine | None = None,
) -> list[SummaryResult]:
    """Summarise every document; a problem with one becomes that result's ``error``.

    Invalid options are raised (they concern every document); an unusable cache is raised too.
    ``engine`` runs the translation step of the translate strategy (default: in process).
    """
    opts = options.checked()
    ctx = _Context(opts, pool, gen, store or NullStore(), engine)
    results = []
    for doc in docs:
        result = SummaryResult(lang=opts.lang, path=doc.source)
        start = time.perf_counter()
        try:
            _summarise(doc, ctx, result)
        except CacheError:
            raise  # continuing would lose the work
        except WorkbenchError as exc:
            result.error, result.exception = str(exc), exc
        except Exception as exc:  # a model failing on this document: the others go on
            from workbench.engines import describe

            who = "the summariser"
            if result.model:
                who = f"model {result.model}@{(result.revision or '')[:7]}"
            error = WorkbenchError(f"{who} failed on it ({describe(exc)})")
            error.__cause__ = exc  # its traceback, for WORKBENCH_DEBUG and API callers
            result.error, result.exception = str(error), error
        if result.error is not None and doc.source and doc.source not in result.error:
            result.error = f"{doc.source}: {result.error}"  # one line names the file
        result.seconds = time.perf_counter() - start
        results.append(result)
    return results


def _summarise(doc: Document, ctx: _Context, result: SummaryResult) -> None:
    opts = ctx.opts
    name = doc.source or "input"
    source = opts.src or _detect(doc, opts.lang)
    target = opts.lang or source
    result.source_lang, result.detected, result.lang = source, opts.src is None, target
    units = body_sentences(doc, source)
    words = sum(len(u.split()) for u in units)
    if len(units) < MIN_SENTENCES or words < MIN_WORDS:
        raise InputError(
            name,
            f"too short to summarise ({len(units)} sentences, {words} words in its body); "
            f"a summary needs at least {MIN_SENTENCES} sentences and {MIN_WORDS} words",
        )
    plan = _plan(ctx, source, target)
    result.strategy = plan.strategy
    result.summariser = plan.kind
    if plan.entry is not None:
        result.licence = plan.entry.licence
    if plan.strategy == "translate":
        _then_translate(doc, ctx, plan, result)
        return
    _identify(ctx, plan, result)
    doc_key = signature.digest(result.key, content_hash(doc.render()))
    hit = ctx.store.get_document(doc_key) if plan.kind != "lead" else None
    if hit is not None and _valid_entry(hit):
        _from_entry(hit, result)
        result.cache = "document"
        _count(result)
        return
    raw: str | list[str]
    if plan.kind == "lead":
        raw = lead(units, result.settings["sentences"], result.settings["words"])
        result.cache = "off"
    else:
        raw = _model_summary(doc, units, ctx, plan, result)
        result.cache = "miss" if not result.hits else "partial" if result.misses else "segments"
    _finish(raw, plan, result)
    _count(result)
    if plan.kind != "lead":  # lead-N is instant: caching it would only fill the database
        entry = {
            "text": result.text,
            "rounds": result.rounds,
            "chunks": result.chunks,
            "retries": result.retries,
            "output_lang": result.output_lang,
            "lang_mismatch": result.lang_mismatch,
            "notes": result.notes,
        }
        meta = {"signature": result.signature, "model": result.model, "path": result.path}
        limit = ctx.pool.run.max_cache_value_bytes
        size = None if isinstance(ctx.store, NullStore) else over_limit(entry, limit)
        if size is not None:  # too big to cache: written all the same, with a note
            result.notes.append(not_cached_note(size, limit))
        else:
            ctx.store.put_document(doc_key, entry, meta)


def _detect(doc: Document, target: str | None) -> str:
    among = sorted(set(languages.DETECT_AMONG) | ({target} if target else set()))
    found = languages.detect(doc.prose() or doc.render(), among)
    if found is None:
        raise WorkbenchError(
            f"{doc.source or 'input'}: cannot tell the article's language; pass --from CODE"
        )
    return found


def body_sentences(doc: Document, lang: str) -> list[str]:
    """The sentences of the article body, in order: paragraphs, list items and quotes.

    The title, headings, bylines, datelines, captions, credits, link lines, "related" and
    source lines and tables are left out: they are not part of the story a summary (or the
    lead) is made from. So is a wire opener ("KYIV (Reuters) -") before the first sentence.
    """
    from workbench.furniture import opener_length

    out: list[str] = []
    first = True
    for block in doc.blocks:
        if block.translatable and block.kind in BODY_KINDS:
            text = block.text
            if first:
                text, first = text[opener_length(text) :], False
            for sentence in segment.split_sentences(text, lang, markdown=doc.fmt == "md"):
                if sentence.strip() and any(ch.isalpha() for ch in sentence):
                    out.append(sentence.strip())
    return out


def _title(doc: Document) -> str:
    return next((b.text for b in doc.blocks if b.kind == "title"), "")


# --- planning ----------------------------------------------------------------------------------


def _plan(ctx: _Context, source: str, target: str) -> _Plan:
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
        return _Plan("lead", source, target, strategy)
    resolved, entry = _resolve(ctx)
    info = ctx.pool.info(resolved)
    if info.family == "chat":
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
    plan = _Plan(kind, source, target, strategy, resolved, info, entry)
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


def _resolve(ctx: _Context) -> tuple[ResolvedModel, CatalogEntry | None]:
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


def _settings(ctx: _Context, plan: _Plan) -> dict[str, Any]:
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
    if plan.kind == "seq2seq":
        params = seq2seq_params(plan.resolved, plan.info, plan.entry, ctx.gen, opts)
    else:
        params = chat_params(plan.resolved, plan.info, plan.entry, ctx.gen, opts)
        settings["retry"] = opts.retry
    plan.params = params
    return {**settings, **params}


def seq2seq_params(
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


def _length_bound(max_new: int, opts: SummaryOptions) -> int:
    """Generated-token bound: --tokens, else what --words or --sentences can need at most."""
    if opts.tokens is not None:
        return opts.tokens
    if opts.words is not None:
        # About 4 tokens per word covers Korean and Ukrainian in common subword vocabularies.
        max_new = min(max_new, opts.words * 4 + 16)
    return max_new


def chat_params(
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


def _identify(ctx: _Context, plan: _Plan, result: SummaryResult) -> None:
    """Settings, recipe, cache key and signature of a plan, copied into the result."""
    result.settings = _settings(ctx, plan)
    extra: dict[str, Any] = {}
    if plan.kind == "lead":
        model_id, revision, backend = LEAD, f"lead-v{LEAD_VERSION}", "none"
    else:
        assert plan.resolved is not None
        model_id, revision = plan.resolved.model_id, plan.resolved.revision
        if plan.kind == "chat":
            backend = ctx.pool.backend_name(plan.resolved)
        else:
            from workbench.models.summariser import summariser_backend_name

            backend = summariser_backend_name(ctx.pool.run)
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


# --- lead-N and length limits --------------------------------------------------------------------


def limit_sentences(
    sentences: list[str], max_sentences: int | None, max_words: int | None
) -> tuple[list[str], list[str]]:
    """Keep at most ``max_sentences`` sentences and ``max_words`` words; returns (kept, notes).

    Words are cut at a sentence boundary; only when the first sentence alone is longer than the
    limit is it cut inside, at a word boundary (never inside a word), and marked with "…".
    Words are whitespace-separated; text without spaces (Chinese, Japanese, Thai) counts as few.
    """
    notes: list[str] = []
    kept = [s for s in sentences if s.strip()]
    if max_sentences is not None and len(kept) > max_sentences:
        kept = kept[:max_sentences]
        notes.append(f"trimmed to {max_sentences} sentences")
    if max_words is not None:
        out: list[str] = []
        total = 0
        for sentence in kept:
            n = len(sentence.split())
            if total + n > max_words:
                break
            out.append(sentence)
            total += n
        if not out and kept:
            words = kept[0].split()[:max_words]
            out = [" ".join(words).rstrip(",;:–—-") + "…"]
            notes.append(f"cut inside the first sentence at a word boundary ({max_words} words)")
        elif len(out) < len(kept):
            notes.append(f"trimmed to {total} words at a sentence boundary (limit {max_words})")
        kept = out
    return kept, notes


def lead(units: list[str], sentences: int | None, words: int | None) -> list[str]:
    """The lead-N baseline: the body's first sentences within the limits (the title excluded)."""
    if sentences is None and words is None:
        sentences = DEFAULT_SENTENCES
    kept, _ = limit_sentences(units, sentences, words)
    return kept


def _join(sentences: list[str], lang: str) -> str:
    return ("" if lang in _UNSPACED else " ").join(s.strip() for s in sentences)


def _clean(text: str) -> str:
    """A generated summary as one paragraph: line breaks and runs of spaces become one space."""
    return " ".join(text.split())


def _language_of(text: str, source: str, target: str) -> str | None:
    among = sorted(set(languages.DETECT_AMONG) | {source, target})
    return languages.detect(text, among)


def _finish(raw: str | list[str], plan: _Plan, result: SummaryResult) -> None:
    """Length limits, language check and counts of a fresh summary."""
    opts_sentences = result.settings.get("sentences")
    opts_words = result.settings.get("words")
    if isinstance(raw, list):  # lead-N: already sentences within the limits
        kept, notes = raw, []
        text = _join(raw, plan.target)
    else:
        text = _clean(raw)
        parts = segment.split_sentences(text, plan.target, markdown=False)
        kept, notes = limit_sentences([p.strip() for p in parts], opts_sentences, opts_words)
    result.notes.extend(notes)
    final = _join(kept, plan.target)
    if not final.strip():
        raise WorkbenchError(
            f"{result.path or 'input'}: the model wrote an empty summary; try another model "
            "or --model lead"
        )
    found = _language_of(text, plan.source, plan.target)
    result.output_lang = found
    result.lang_mismatch = found is not None and found != plan.target
    if found is None:
        result.notes.append("could not check the summary's language")
    elif result.lang_mismatch:
        result.notes.append(f"language mismatch: the summary looks like {found}, not {plan.target}")
    result.text = final


def _count(result: SummaryResult) -> None:
    text = result.text or ""
    lang = result.lang or "en"
    result.sentence_count = len(
        [s for s in segment.split_sentences(text, lang, markdown=False) if s.strip()]
    )
    result.word_count = len(text.split())


# --- model summaries: map-reduce -----------------------------------------------------------------


@dataclass(frozen=True)
class _Out:
    text: str
    notes: tuple[str, ...] = ()
    retries: int = 0


class _Seq2SeqRunner:
    def __init__(self, ctx: _Context, plan: _Plan) -> None:
        assert plan.resolved is not None and plan.info is not None
        self.params = plan.params
        self.model = _summariser(ctx.pool, plan.resolved, plan.info)
        self.budget = int(self.params["chunk_tokens"])

    def count(self, text: str) -> int:
        return self.model.count(text, self.params["prefix"])

    def run(self, texts: list[str], role: str) -> list[_Out]:
        bound = self._bound(role)
        return [_Out(t, n) for t, n in self.model.generate(texts, self.params, bound)]

    def _bound(self, role: str) -> int:
        bound = int(self.params["max_new_tokens"])
        # Part summaries at most half a chunk: each round then shrinks the text.
        return min(bound, max(8, self.budget // 2)) if role == "map" else bound


class _ChatRunner:
    def __init__(self, ctx: _Context, plan: _Plan, values: dict[str, Any]) -> None:
        assert plan.resolved is not None and plan.prompt is not None and plan.combine is not None
        from workbench.models.chat_backend import ChatTranslator

        backend = ctx.pool.backend(plan.resolved)
        assert isinstance(backend, ChatTranslator)
        self.backend = backend
        self.plan = plan
        self.params = plan.params
        self.values = values
        self.user_values = ctx.opts.variables
        self.retry = ctx.opts.retry
        overhead = max(
            backend.count(t.render({**values, "text": ""}, self._user_values(t)))
            for t in (plan.prompt, plan.combine)
        )
        context = int(self.params["context_tokens"])
        room = context - overhead - int(self.params["max_new_tokens"]) - 16
        if room < 32:
            raise ModelError(
                f"model {plan.resolved.model_id}: its context ({context} tokens) leaves no room for "
                f"an article after the prompt ({overhead} tokens) and the summary; use a shorter "
                "prompt, lower --tokens, or set a larger max_input_tokens in the catalog",
                model=plan.resolved.ref,
            )
        chunk = self.params.get("chunk_tokens")
        self.budget = min(room, int(chunk)) if chunk else room

    def _user_values(self, template: Prompt) -> dict[str, str]:
        # --var is checked against the chosen prompt; the combine step uses what it declares.
        return {k: v for k, v in self.user_values.items() if k in template.variables}

    def count(self, text: str) -> int:
        return self.backend.count_text(text)

    def run(self, texts: list[str], role: str) -> list[_Out]:
        template = self.plan.combine if role == "combine" else self.plan.prompt
        assert template is not None
        bound = int(self.params["max_new_tokens"])
        if role == "map":
            bound = min(bound, max(8, self.budget // 2))
        beams, guard = int(self.params["beams"]), int(self.params["repeat_guard"])
        user_values = self._user_values(template)
        convs = [template.render({**self.values, "text": t}, user_values) for t in texts]
        outs = self.backend.generate(convs, bound, beams=beams, repeat_guard=guard)
        results = [_Out(_clean(o.text), o.notes) for o in outs]
        if role == "map" or not self.retry:
            return results
        # The whole summary is checked: a wrong language is worth one more try, with the
        # template's retry message as a follow-up turn (greedy decoding would repeat itself).
        message = template.render_retry(self.values, user_values)
        source, target = self.plan.source, self.plan.target
        wrong = [
            i
            for i, r in enumerate(results)
            if message and (found := _language_of(r.text, source, target)) and found != target
        ]
        if not wrong or not message:
            return results
        again = [
            [
                *convs[i],
                {"role": "assistant", "content": results[i].text},
                {"role": "user", "content": message},
            ]
            for i in wrong
        ]
        redo = self.backend.generate(again, bound, beams=beams, repeat_guard=guard)
        for i, o in zip(wrong, redo, strict=True):
            results[i] = _Out(_clean(o.text), (*o.notes, "language-retry"), 1)
        return results


# Seq2seq summarisers per model pool: they live and die with the pool (and its Workbench),
# like the translation backends the pool itself keeps.
_SUMMARISERS: weakref.WeakKeyDictionary[ModelPool, dict[str, Any]] = weakref.WeakKeyDictionary()


def _summariser(pool: ModelPool, resolved: ResolvedModel, info: ModelInfo) -> Any:
    """The pool's seq2seq summariser for a model, created once (weights load on first use)."""
    from workbench.models.summariser import Seq2SeqSummariser

    per_pool = _SUMMARISERS.setdefault(pool, {})
    key = str(resolved.path)
    if key not in per_pool:
        per_pool[key] = Seq2SeqSummariser(resolved, info, pool.run)
    return per_pool[key]


def loaded_summarisers(pool: ModelPool) -> list[Any]:
    """The seq2seq summarisers whose weights this pool has loaded (for tests and benchmarks)."""
    return [s for s in _SUMMARISERS.get(pool, {}).values() if s.model_loaded]


def length_phrase(sentences: int | None, words: int | None) -> str:
    """``in at most 3 sentences and 60 words``: the $length of prompt templates."""
    parts = []
    if sentences:
        parts.append(f"{sentences} sentence{'s' if sentences != 1 else ''}")
    if words:
        parts.append(f"{words} words")
    return "in at most " + " and ".join(parts) if parts else "briefly"


def _model_summary(
    doc: Document, units: list[str], ctx: _Context, plan: _Plan, result: SummaryResult
) -> str:
    name = doc.source or "input"
    runner: _Seq2SeqRunner | _ChatRunner
    if plan.kind == "chat":
        values = {
            "title": _title(doc),
            "lang": plan.target,
            "language": languages.get(plan.target).name,
            "source_lang": plan.source,
            "source_language": languages.get(plan.source).name,
            "length": length_phrase(result.settings["sentences"], result.settings["words"]),
            "sentences": result.settings["sentences"],
            "words": result.settings["words"],
        }
        runner = _ChatRunner(ctx, plan, values)
    else:
        runner = _Seq2SeqRunner(ctx, plan)
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
            out.extend(p.strip() for p in segment.split_long(unit, budget, count) if p.strip())
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
    ctx: _Context,
    result: SummaryResult,
    runner: _Seq2SeqRunner | _ChatRunner,
    texts: list[str],
    role: str,
) -> list[_Out]:
    """Chunk-level cache: look every call up, run the misses together, store them."""
    assert result.key is not None
    keys = [signature.digest(result.key, role, t) for t in texts]
    found: dict[str, _Out] = {}
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


def _decode_out(value: str) -> _Out | None:
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None
    notes = data.get("notes") if isinstance(data.get("notes"), list) else []
    retries = data.get("retries") if isinstance(data.get("retries"), int) else 0
    return _Out(data["text"], tuple(str(n) for n in notes), retries)


# --- cache entries -------------------------------------------------------------------------------


def _valid_entry(entry: dict[str, Any]) -> bool:
    return (
        isinstance(entry.get("text"), str)
        and isinstance(entry.get("rounds"), int)
        and isinstance(entry.get("chunks"), int)
        and isinstance(entry.get("notes"), list)
    )


def _from_entry(entry: dict[str, Any], result: SummaryResult) -> None:
    result.text = entry["text"]
    result.rounds, result.chunks = entry["rounds"], entry["chunks"]
    result.retries = int(entry.get("retries") or 0)
    result.output_lang = entry.get("output_lang")
    result.lang_mismatch = bool(entry.get("lang_mismatch"))
    result.notes = [str(n) for n in entry["notes"]]


# --- summarise, then translate ------------------------------------------------------------------


def _then_translate(doc: Document, ctx: _Context, plan: _Plan, result: SummaryResult) -> None:
    """Summarise in the article's language (cached), then translate through the translation
    pipeline (cached, with its own signature in the provenance)."""
    from workbench.settings import TranslateOptions
    from workbench.tasks.translate import translate_documents

    opts = ctx.opts
    inner = SummaryResult(lang=plan.source, path=doc.source)
    _summarise(
        doc,
        _Context(
            replace(opts, lang=plan.source, src=plan.source, strategy="native"),
            ctx.pool,
            ctx.gen,
            ctx.store,
            ctx.engine,
        ),
        inner,
    )
    assert inner.text is not None
    tr = translate_documents(
        [parse(inner.text + "\n", "txt")],
        TranslateOptions((plan.target,), src=plan.source, model=opts.translation_model),
        pool=ctx.pool,
        gen=ctx.gen,
        store=ctx.store,
        engine=ctx.engine,
    )[0][0]
    if tr.error is not None:
        # The translation pipeline's own one-line message, with what was being translated.
        raise WorkbenchError(
            f"{doc.source or 'input'}: translating the summary into {plan.target} failed: {tr.error}"
        ) from getattr(tr, "exception", None)
    assert tr.text is not None
    result.model, result.revision, result.backend = inner.model, inner.revision, inner.backend
    result.prompt, result.prompt_sha256 = inner.prompt, inner.prompt_sha256
    result.settings = {**inner.settings, "strategy": "translate"}
    rec = signature.recipe(
        "summarise",
        model_id=inner.model or LEAD,
        revision=inner.revision or "",
        backend=inner.backend or "none",
        src=plan.source,
        tgt=plan.target,
        settings=result.settings,
        seg_version=segment.SEGMENTATION_VERSION,
        extra={"summary": inner.key, "translation": tr.key},
    )
    result.signature, result.key = signature.signature(rec), signature.key(rec)
    result.translation = tr.provenance()
    result.rounds, result.chunks, result.retries = inner.rounds, inner.chunks, inner.retries
    result.hits, result.misses = inner.hits, inner.misses
    result.notes.extend(inner.notes)
    result.notes.extend(f"translation: {n}" for n in tr.notes)
    # lead-N has no cache ("off"): the translation step alone decides then.
    steps = [c for c in (inner.cache, tr.cache) if c != "off"]
    if not steps:
        result.cache = "off"
    elif all(c == "document" for c in steps):
        result.cache = "document"
    elif all(c == "miss" for c in steps):
        result.cache = "miss"
    else:
        result.cache = "partial"
    _finish(tr.text, plan, result)
    _count(result)


__all__ = [
    "LEAD",
    "STRATEGIES",
    "SummaryOptions",
    "SummaryResult",
    "body_sentences",
    "lead",
    "limit_sentences",
    "summarise_documents",
]
