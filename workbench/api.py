"""The Python API: ``Workbench().translate(text_or_path, to="ko")``; a web page with
``Workbench().translate_url(url, to="ko")``.

A Workbench keeps its models loaded and its cache open across calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, overload

from workbench import formats
from workbench.documents import Document, parse
from workbench.engines import Engine, LocalEngine
from workbench.errors import WorkbenchError
from workbench.models.pool import ModelPool
from workbench.results import SummaryResult, TranslationResult
from workbench.settings import GenerationSettings, RunSettings, TranslateOptions
from workbench.store import NullStore, Store, WriteOnlyStore
from workbench.tasks.translate import translate_documents


def open_store(cache: str | Path | bool | None) -> Store:
    """``False``: no cache; ``None``/``True``: the default database; a path: that database."""
    if cache is False:
        return NullStore()
    from workbench.cache import SqliteStore
    from workbench.settings import default_cache_path

    path = default_cache_path() if cache in (None, True) else Path(str(cache))
    return SqliteStore(path)


def _is_file(text: str) -> bool:
    """Whether a string names an existing file (text that merely looks like a name is text)."""
    if "\n" in text or len(text) > 1024:
        return False
    try:
        return Path(text).is_file()
    except OSError:  # e.g. a sentence longer than a file name may be
        return False


def _merged(base: Any, **given: Any) -> Any:
    """``base`` with the keyword values that were given (not None) put in its place."""
    given = {name: value for name, value in given.items() if value is not None}
    return replace(base, **given) if given else base


def _translate_options(
    to: str | Sequence[str] | None,
    src: str | None,
    model: str | None,
    options: TranslateOptions | None,
    fallback_model: str | None = None,
    pivot: str | None = None,
    glossary: str | Path | None = None,
) -> TranslateOptions:
    """The checked options of one call: ``options`` with the keywords given in their place."""
    targets = None if to is None else (to,) if isinstance(to, str) else tuple(to)
    base = options or TranslateOptions()
    given = _merged(
        base,
        targets=targets,
        src=src,
        model=model,
        fallback_model=fallback_model,
        pivot=pivot,
        glossary=None if glossary is None else str(glossary),
    )
    return given.checked()


class Workbench:
    """Translate (and summarise) documents with local models, keeping them loaded.

    Settings come as keywords (``device``, ``backend``, ``precision``, ``offline``; ``beams``,
    ``context_sentences``)
    or whole (``run=RunSettings(...)``, ``generation=GenerationSettings(...)``). Given both,
    the keywords are merged into the object (``dataclasses.replace``): a keyword that is given
    wins over the object's value, so ``Workbench(run=RunSettings(max_batch_size=8),
    device="cpu")`` runs on the CPU with batches of 8.
    """

    def __init__(
        self,
        *,
        device: str | None = None,
        backend: str | None = None,
        precision: str | None = None,
        cache: str | Path | bool | None = None,
        refresh: bool = False,
        offline: bool | None = None,
        beams: int | None = None,
        context_sentences: int | None = None,
        run: RunSettings | None = None,
        generation: GenerationSettings | None = None,
        engine: str | Engine = "local",
        ray_address: str | None = None,
    ) -> None:
        self.run: RunSettings = _merged(
            run or RunSettings(),
            device=device,
            backend=backend,
            precision=precision,
            offline=offline,
        )
        self.generation: GenerationSettings = _merged(
            generation or GenerationSettings(), beams=beams, context_sentences=context_sentences
        )
        self.pool = ModelPool(self.run)
        self._offline_pool: ModelPool | None = None
        self._cache_arg = cache
        self._refresh = refresh
        self._store: Store | None = None
        if isinstance(engine, str) and engine not in ("local", "ray"):
            raise WorkbenchError(f"unknown engine {engine!r}; use local or ray")
        self._engine_arg = engine
        self._ray_address = ray_address
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """Where model work runs: ``local`` (this process) or ``ray``; created on first use."""
        if self._engine is None:
            if self._engine_arg == "ray":
                from workbench.engines.ray_engine import RayEngine

                self._engine = RayEngine(address=self._ray_address)
            elif self._engine_arg == "local":
                self._engine = LocalEngine()
            else:
                self._engine = self._engine_arg  # type: ignore[assignment]
        return self._engine

    @property
    def store(self) -> Store:
        """The cache, opened on first use."""
        if self._store is None:
            store = open_store(self._cache_arg)
            opener = getattr(store, "open", None)
            if opener is not None:
                opener()  # a damaged cache is reported before any work starts
            self._store = WriteOnlyStore(store) if self._refresh else store
        return self._store

    def close(self) -> None:
        """Close the cache and the engine (models are released with the object)."""
        inner = getattr(self._store, "inner", self._store)
        closer = getattr(inner, "close", None)
        if closer is not None:
            closer()
        self._store = None
        engine_closer = getattr(self._engine, "close", None)
        if engine_closer is not None:
            engine_closer()  # e.g. stops the Ray instance the engine started
        self._engine = None

    def warnings(self) -> list[str]:
        """Lines to show once at the end of a run, such as damaged cache entries that were
        read as misses and recomputed (the library itself prints nothing)."""
        return list(self._store.warnings()) if self._store is not None else []

    def __enter__(self) -> Workbench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def document(
        text_or_path: str | Path | Document,
        fmt: str | None = None,
        task: str = "translate",
        limits: RunSettings | None = None,
    ) -> Document:
        """A Document from a Document, a path (``Path`` or an existing file name) or text, in
        the format named ``fmt`` (default: by the file's suffix; Markdown for text).

        With ``limits`` (``translate`` and ``summarise`` pass the run's), a file over
        ``max_document_bytes`` is refused before it is read, and a text or file with more than
        ``max_segments`` sentences before any model work, as in folder runs.
        """
        from workbench.runs.limits import check_bytes, check_segments, read_limited

        if isinstance(text_or_path, Document):
            return text_or_path
        if isinstance(text_or_path, Path) or _is_file(text_or_path):
            return read_limited(Path(text_or_path), limits, fmt)
        if not text_or_path.strip():
            raise WorkbenchError(f"nothing to {task}: the text is empty")
        if limits is not None and limits.max_document_bytes:
            check_bytes("text", len(text_or_path.encode("utf-8")), limits.max_document_bytes)
        doc = parse(text_or_path, fmt or formats.DEFAULT)
        if limits is not None:
            check_segments(doc, "text", limits.max_segments)
        return doc

    @overload
    def translate(
        self, source: str | Path | Document, to: str, **kwargs: Any
    ) -> TranslationResult: ...

    @overload
    def translate(
        self, source: str | Path | Document, to: Sequence[str] | None = None, **kwargs: Any
    ) -> list[TranslationResult]: ...

    def translate(
        self,
        source: str | Path | Document,
        to: str | Sequence[str] | None = None,
        *,
        src: str | None = None,
        model: str | None = None,
        beams: int | None = None,
        fmt: str | None = None,
        options: TranslateOptions | None = None,
        fallback_model: str | None = None,
        pivot: str | None = None,
        glossary: str | Path | None = None,
        context_sentences: int | None = None,
    ) -> TranslationResult | list[TranslationResult]:
        """Translate one text or file into one language (returns a result) or several (a list).

        ``to``, ``src``, ``model``, ``fallback_model`` and ``pivot`` are those of
        ``TranslateOptions`` (``fallback_model``: a quality-gated cascade; ``pivot``: the
        language a pair no single available model serves goes through; ``glossary``: a TSV,
        CSV or TBX file of terms to keep to, see ``result.glossary``); ``options`` gives them
        whole, and a keyword given too takes the place of its field. ``beams`` and
        ``context_sentences`` (chat models: preceding sentences sent with each sentence) take
        the place of this Workbench's generation settings for this call. One language code as
        a string (``"ko"``) returns one result; a list, or ``"ko,uk"``, returns a list.

        Raises WorkbenchError when the document cannot be translated.
        """
        doc = self.document(source, fmt, limits=self.run)
        raw = to if to is not None else options.targets if options is not None else None
        single = isinstance(raw, str) and "," not in raw
        opts = _translate_options(to, src, model, options, fallback_model, pivot, glossary)
        rows = self.translate_documents(
            [doc], options=opts, beams=beams, context_sentences=context_sentences
        )
        for result in rows[0]:
            if result.exception is not None:
                raise result.exception
            if result.error:
                raise WorkbenchError(result.error)
        return rows[0][0] if single else rows[0]

    def read_url(self, url: str, fmt: str | None = None) -> tuple[Document, dict[str, Any]]:
        """Fetch the web page at ``url`` within this Workbench's limits (``RunSettings``:
        ``max_page_bytes``, ``fetch_timeout``, ``max_redirects``, ``offline``) and read it as
        an article (or in the format named ``fmt``): the document and the fetch record (URL,
        final URL, HTTP status, time, sha256 of the bytes). InputError names the URL."""
        from workbench.runs.outputs import Source
        from workbench.runs.pages import read_source
        from workbench.web import is_url, output_stem

        if not is_url(url):
            raise WorkbenchError(f"{url}: not a URL; pass http:// or https:// and the address")
        source, doc = read_source(Source(Path(url), Path(output_stem(url)), url, fmt), self.run)
        return doc, (source.record or {})["fetch"]

    def translate_url(
        self, url: str, to: str | Sequence[str] | None = None, **kwargs: Any
    ) -> TranslationResult | list[TranslationResult]:
        """``translate`` of the web page at ``url`` (``read_url``; ``fmt`` as there, the other
        keywords as ``translate``'s); each result's ``fetch`` (and provenance) records the
        fetch. The cache key is the extracted article, so an unchanged page is a cache hit."""
        doc, fetched = self.read_url(url, kwargs.pop("fmt", None))
        results = self.translate(doc, to, **kwargs)
        for result in results if isinstance(results, list) else [results]:
            result.fetch = fetched
        return results

    def summarise_url(self, url: str, **kwargs: Any) -> SummaryResult:
        """``summarise`` of the web page at ``url`` (see ``translate_url``)."""
        doc, fetched = self.read_url(url, kwargs.pop("fmt", None))
        result = self.summarise(doc, **kwargs)
        result.fetch = fetched
        return result

    def translate_documents(
        self,
        docs: Sequence[Document],
        targets: Sequence[str] | None = None,
        *,
        src: str | None = None,
        model: str | None = None,
        beams: int | None = None,
        options: TranslateOptions | None = None,
        context_sentences: int | None = None,
        on_segments: Callable[[int], None] | None = None,
        on_planned: Callable[[int], None] | None = None,
        on_result: Callable[[int, TranslationResult], None] | None = None,
        skip: Callable[[int, TranslationResult], bool] | None = None,
        plan_only: bool = False,
    ) -> list[list[TranslationResult]]:
        """Translate many documents at once (misses of all documents are batched together).
        Errors are reported per result, never raised for one document. ``targets``, ``src``,
        ``model`` and ``options`` are as in ``translate``; the callbacks and ``plan_only`` are
        those of ``workbench.tasks.translate.translate_documents``."""
        opts = _translate_options(targets, src, model, options)
        return translate_documents(
            docs,
            opts,
            pool=self.pool,
            gen=_merged(self.generation, beams=beams, context_sentences=context_sentences),
            store=self.store,
            engine=self.engine,
            on_segments=on_segments,
            on_planned=on_planned,
            on_result=on_result,
            skip=skip,
            plan_only=plan_only,
        )

    @property
    def offline_pool(self) -> ModelPool:
        """A model pool with this run's settings that never contacts the hub: dry runs ask it
        what is on this machine now."""
        if self._offline_pool is None:
            self._offline_pool = ModelPool(replace(self.run, offline=True))
        return self._offline_pool

    def plan_translations(
        self,
        docs: Sequence[Document],
        options: TranslateOptions,
        *,
        beams: int | None = None,
        skip: Callable[[int, TranslationResult], bool] | None = None,
    ) -> list[list[TranslationResult]]:
        """What translating ``docs`` would do, loading and downloading nothing: each result
        carries its signature, cache hits and misses, and the error a run would meet."""
        return translate_documents(
            docs,
            options.checked(),
            pool=self.offline_pool,
            gen=_merged(self.generation, beams=beams),
            store=self.store,
            skip=skip,
            plan_only=True,
        )

    def summarise(
        self,
        source: str | Path | Document,
        *,
        lang: str | None = None,
        model: str | None = None,
        sentences: int | None = None,
        words: int | None = None,
        prompt: str | None = None,
        fmt: str | None = None,
        **options: Any,
    ) -> SummaryResult:
        """Summarise one text or file, in its language or ``lang``; ``model="lead"`` is the
        lead-N baseline. More ``options``: see ``workbench.tasks.summarise.SummaryOptions``.

        Raises WorkbenchError when the document cannot be summarised.
        """
        doc = self.document(source, fmt, task="summarise", limits=self.run)
        result = self.summarise_documents(
            [doc],
            lang=lang,
            model=model,
            sentences=sentences,
            words=words,
            prompt=prompt,
            **options,
        )[0]
        if result.exception is not None:
            raise result.exception
        if result.error:
            raise WorkbenchError(result.error)
        return result

    def summarise_documents(
        self,
        docs: Sequence[str | Path | Document],
        *,
        lang: str | None = None,
        model: str | None = None,
        sentences: int | None = None,
        words: int | None = None,
        prompt: str | None = None,
        beams: int | None = None,
        **options: Any,
    ) -> list[SummaryResult]:
        """Summarise many documents: Documents, paths or texts, as ``summarise`` takes them.
        Errors are reported per result (a file that cannot be read too), never raised for one
        document (invalid options and an unusable cache are raised)."""
        from workbench.settings import SummaryOptions
        from workbench.tasks.summarise import summarise_documents

        opts = SummaryOptions(
            lang=lang, model=model, sentences=sentences, words=words, prompt=prompt, **options
        )
        gen = self.generation if beams is None else replace(self.generation, beams=beams)
        read: list[Document] = []
        unread: dict[int, SummaryResult] = {}
        for i, item in enumerate(docs):
            try:
                read.append(self.document(item, task="summarise", limits=self.run))
            except WorkbenchError as exc:
                path = str(item) if isinstance(item, Path) else None
                unread[i] = SummaryResult(lang=lang, path=path, error=str(exc), exception=exc)
        done = iter(
            summarise_documents(
                read, opts, pool=self.pool, gen=gen, store=self.store, engine=self.engine
            )
        )
        return [unread[i] if i in unread else next(done) for i in range(len(docs))]
