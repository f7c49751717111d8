"""What the two tasks return: a result per (document, language) with what produced it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from workbench.errors import WorkbenchError
from workbench.store import not_cached_warnings


@dataclass(frozen=True)
class SegmentPair:
    """One source segment and its translation."""

    source: str
    target: str
    cached: bool
    notes: tuple[str, ...] = ()


@dataclass
class TranslationResult:
    """The translation of one document into one language, with what ran to produce it."""

    target_lang: str
    # The translated document as text; for a binary format (a Word file) its readable view
    # (``Document.view``: paragraphs as Markdown-like text), the document itself in ``data``.
    text: str | None = None
    source_lang: str | None = None
    detected: bool = False
    model: str | None = None
    revision: str | None = None
    backend: str | None = None
    signature: str | None = None
    key: str | None = None
    # The key its model's sentences are cached under, where it is not ``key`` (a document key
    # that also covers placeholders, a cascade or a pivot route).
    segment_key: str | None = None
    segments: list[SegmentPair] = field(default_factory=list)
    cache: str = "miss"  # "document" (whole hit), "partial", "miss", "off"
    hits: int = 0
    misses: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    path: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    output_lang: str | None = None  # detected in the translation; None: not checked
    lang_mismatch: bool = False  # the translation does not look like target_lang
    source_mismatch: str | None = None  # --from was given, but the text clearly is this language
    # How the target language was asked for: a source prefix (">>por<<", "<2ko>") or a forced
    # first token ("__uk__", "ukr_Cyrl"); None for single-pair and chat models.
    language_token: str | None = None
    # Findings of the quality checks (workbench.quality.checks: Flag dicts whose ``segment``
    # indexes ``segments``) and their verdict ("pass" or "flag"); None: not checked.
    checks: list[dict[str, Any]] = field(default_factory=list)
    verdict: str | None = None
    # A quality-gated cascade: the fallback model, and which segments it made and why.
    cascade: dict[str, Any] | None = None
    # How the model was chosen when none was given (workbench.models.routing): the pivot
    # language (None: direct), each leg's languages, model, revision and whether it was cached,
    # and why. None: the model was given.
    route: dict[str, Any] | None = None
    # The licence of ``model`` (its model card, config, else the catalog; "unknown"), and of
    # every model this output used (a pivot's second leg, a fallback): information only,
    # never part of the key.
    licence: str | None = None
    licences: dict[str, str] = field(default_factory=dict)
    # The web page the document was fetched from (``Workbench.translate_url``): URL, final
    # URL, HTTP status, time and sha256 of the bytes (workbench.web.Page.record).
    fetch: dict[str, Any] | None = None
    # With a glossary (workbench.glossary.apply.account): its file and hash, how it was
    # applied, counts of applied, missed and deprecated terms, and each term found per segment.
    glossary: dict[str, Any] | None = None
    exception: WorkbenchError | None = field(default=None, repr=False, compare=False)
    # A binary format's translated document (the bytes of a .docx); None for text formats.
    data: bytes | None = field(default=None, repr=False)

    def fail(self, exc: WorkbenchError) -> None:
        """Record a problem; the result keeps the exception for API callers to re-raise."""
        self.error, self.exception = str(exc), exc

    @property
    def ok(self) -> bool:
        return self.error is None

    def output(self) -> str | bytes | None:
        """What an output file holds: ``data`` for a binary format, else ``text``."""
        return self.data if self.data is not None else self.text

    def warnings(self) -> list[str]:
        """One line per thing the user should look at, each naming the input."""
        name = self.path or "input"
        out = []
        if self.source_mismatch:
            out.append(
                f"{name}: --from {self.source_lang} was given, but the text looks like "
                f"{self.source_mismatch}; it was translated as {self.source_lang}"
            )
        if self.lang_mismatch:
            out.append(
                f"{name}: the {self.target_lang} translation looks like {self.output_lang}, "
                f"not {self.target_lang}; check the output and the model ({self.model})"
            )
        out.extend(not_cached_warnings(name, self.notes))
        return out

    def provenance(self) -> dict[str, Any]:
        """A JSON-ready record of what produced this output."""
        data = asdict(self)
        data.pop("text")
        data.pop("data")
        data.pop("exception")
        data["segments"] = len(self.segments)
        for name in ("fetch", "glossary"):
            if data[name] is None:
                data.pop(name)  # records of runs without one stay as they were
        return data


@dataclass
class SummaryResult:
    """The summary of one document, with what produced it."""

    lang: str | None = None  # the summary's language (requested, or the article's)
    text: str | None = None
    source_lang: str | None = None
    detected: bool = False
    strategy: str | None = None  # native | prompt | translate
    summariser: str | None = None  # lead | seq2seq | chat
    model: str | None = None
    revision: str | None = None
    backend: str | None = None
    licence: str | None = None  # the summariser's (see TranslationResult.licence)
    licences: dict[str, str] = field(default_factory=dict)  # every model used: summary, translation
    signature: str | None = None
    key: str | None = None
    prompt: str | None = None  # template name@sha (chat models)
    prompt_sha256: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    cache: str = "miss"  # document | segments (every chunk call cached) | partial | miss | off
    hits: int = 0  # chunk calls answered by the cache
    misses: int = 0  # chunk calls computed
    rounds: int = 0  # summarising passes (1: the article fit in one chunk)
    chunks: int = 0  # chunks of the first pass
    retries: int = 0
    output_lang: str | None = None  # detected in the summary
    lang_mismatch: bool = False
    sentence_count: int = 0
    word_count: int = 0
    translation: dict[str, Any] | None = None  # provenance of the translate step
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    path: str | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)  # quality flags (segment None)
    verdict: str | None = None  # "pass" or "flag"; None: not checked
    fetch: dict[str, Any] | None = None  # the web page it came from, as in TranslationResult
    glossary: dict[str, Any] | None = None  # with a glossary: the article's terms it used
    exception: WorkbenchError | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def target_lang(self) -> str | None:
        """Same as ``lang`` (the name translation results use)."""
        return self.lang

    def warnings(self) -> list[str]:
        """One line per thing the user should look at, each naming the input."""
        return not_cached_warnings(self.path or "input", self.notes)

    def provenance(self) -> dict[str, Any]:
        """A JSON-ready record of what produced this summary."""
        data = asdict(self)
        data.pop("text")
        data.pop("exception")
        data["task"] = "summarise"
        for name in ("fetch", "glossary"):
            if data[name] is None:
                data.pop(name)
        return data
