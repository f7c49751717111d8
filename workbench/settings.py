"""Every setting, defined once.

CLI options read their defaults and help from these dataclasses, and the cache key and printed
signature are built from the same objects, so what is printed is what ran.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

#: Bumped whenever the meaning of a stored output changes (it is part of every cache key).
SCHEMA_VERSION = 1

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "int8", "fp16", "bf16")
BACKENDS = ("auto", "torch", "ctranslate2")


def check_precision(precision: str) -> str:
    """``precision`` if it is one of PRECISIONS, else a one-line WorkbenchError naming it."""
    from workbench.errors import WorkbenchError

    if precision not in PRECISIONS:
        raise WorkbenchError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    return precision


def _at_least(owner: object, names: tuple[str, ...], least: int) -> None:
    """Refuse a numeric setting below ``least`` (None means "the default" and passes)."""
    from workbench.errors import WorkbenchError

    for name in names:
        value = getattr(owner, name)
        if value is not None and value < least:
            raise WorkbenchError(f"{name} must be at least {least}, not {value}")


#: Preceding sentences a chat model translates each sentence with, unless told otherwise.
DEFAULT_CONTEXT_SENTENCES = 3
#: The most a run may ask for: each one lengthens every prompt of the document.
MAX_CONTEXT_SENTENCES = 16


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings; defaults are greedy and bounded, so outputs are reproducible."""

    beams: int | None = field(
        default=None,
        metadata={
            "help": "Beam size; default: the model's own (generation_config.json). "
            "1 is greedy and fastest. Decoding is deterministic either way."
        },
    )
    max_new_tokens_ratio: float = field(
        default=2.0, metadata={"help": "Bound on generated tokens per input token."}
    )
    max_new_tokens_extra: int = field(
        default=16, metadata={"help": "Generated tokens allowed beyond the ratio bound."}
    )
    repeat_guard: int = field(
        default=4,
        metadata={
            "help": "Treat an n-gram repeated this many times in a row as runaway repetition "
            "and decode that segment again with repeats forbidden (0 disables)."
        },
    )
    context_sentences: int | None = field(
        default=None,
        metadata={
            "help": "Chat models: how many preceding sentences of the same document each "
            f"sentence is translated with, so names and terms stay consistent (default "
            f"{DEFAULT_CONTEXT_SENTENCES}, at most {MAX_CONTEXT_SENTENCES}; 0 turns it off). "
            "Sentence-level models ignore it."
        },
    )

    def __post_init__(self) -> None:
        # Checked here, so the API, the CLI and job files refuse a bad value the same way.
        from workbench.errors import WorkbenchError

        _at_least(self, ("beams",), 1)
        _at_least(self, ("max_new_tokens_extra", "repeat_guard", "context_sentences"), 0)
        if (self.context_sentences or 0) > MAX_CONTEXT_SENTENCES:
            raise WorkbenchError(
                f"context_sentences must be at most {MAX_CONTEXT_SENTENCES}, "
                f"not {self.context_sentences}"
            )
        if not self.max_new_tokens_ratio > 0:
            raise WorkbenchError(
                f"max_new_tokens_ratio must be above 0, not {self.max_new_tokens_ratio}"
            )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Environment variables that override the input limits (for scripts and the job runner).
LIMIT_ENV = {
    "max_document_bytes": "WORKBENCH_MAX_DOCUMENT_BYTES",
    "max_segments": "WORKBENCH_MAX_SEGMENTS",
    "max_cache_value_bytes": "WORKBENCH_MAX_CACHE_VALUE_BYTES",
    "max_page_bytes": "WORKBENCH_MAX_PAGE_BYTES",
}


def _limit(name: str, default: int) -> Any:
    """A limit's default: its environment variable when set (read at construction, not import)."""

    def read() -> int:
        from workbench.errors import WorkbenchError

        raw = os.environ.get(LIMIT_ENV[name], "").strip().replace("_", "")
        if not raw:
            return default
        try:
            return int(raw)
        except ValueError:
            raise WorkbenchError(
                f"{LIMIT_ENV[name]}={raw!r}: expected a whole number (0 turns the limit off)"
            ) from None

    return read


@dataclass(frozen=True)
class RunSettings:
    """How a run executes: device, batching and input limits."""

    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda or mps."})
    backend: str = field(
        default="auto",
        metadata={
            "help": "auto (CTranslate2 when installed and supported, else torch), torch or ctranslate2."
        },
    )
    precision: str = field(
        default="auto",
        metadata={
            "help": "auto (CTranslate2 int8 or torch fp32 on CPU; bf16/fp16 on GPU), fp32, "
            "int8, fp16 or bf16. Part of the signature and cache key."
        },
    )
    batch_tokens: int | None = field(
        default=None,
        metadata={
            "help": "Token budget of one batch (padded source tokens); "
            "default 4096 on a CPU, 16384 on a CUDA GPU."
        },
    )
    max_batch_size: int | None = field(
        default=None,
        metadata={"help": "Most segments in one batch; default 64 on a CPU, 256 on a CUDA GPU."},
    )
    max_input_tokens: int = field(
        default=256,
        metadata={
            "help": "Longer sentences are split at clause boundaries before translation "
            "(never truncated); capped by the model's own input limit."
        },
    )
    offline: bool = field(
        default=False,
        metadata={"help": "Never contact the Hugging Face hub (also set by HF_HUB_OFFLINE=1)."},
    )
    # Input limits: checked before any work, so a huge file is refused in a moment instead of
    # filling memory and the cache (0 turns a limit off).
    max_document_bytes: int = field(
        default_factory=_limit("max_document_bytes", 5_000_000),
        metadata={
            "help": "Refuse a document over this many bytes before reading it "
            "(default 5 MB; env WORKBENCH_MAX_DOCUMENT_BYTES; 0: no limit)."
        },
    )
    max_segments: int = field(
        default_factory=_limit("max_segments", 50_000),
        metadata={
            "help": "Refuse a document with more sentences than this before any model work "
            "(default 50000; env WORKBENCH_MAX_SEGMENTS; 0: no limit)."
        },
    )
    max_cache_value_bytes: int = field(
        default_factory=_limit("max_cache_value_bytes", 16_000_000),
        metadata={
            "help": "Do not cache a result over this many bytes (it is still written, with a "
            "note; default 16 MB; env WORKBENCH_MAX_CACHE_VALUE_BYTES; 0: no limit)."
        },
    )
    max_page_bytes: int = field(  # web pages (URL inputs): workbench/web.py
        default_factory=_limit("max_page_bytes", 10_000_000),
        metadata={"help": "Refuse a web page over this many bytes (default 10 MB; 0: no limit)."},
    )
    fetch_timeout: float = field(default=30.0, metadata={"help": "Seconds to fetch a web page."})
    max_redirects: int = field(default=5, metadata={"help": "Redirects followed per web page."})

    def __post_init__(self) -> None:
        # Checked here so a typo fails before any document or model is touched.
        from workbench.errors import WorkbenchError

        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise WorkbenchError(
                f"unknown device {self.device!r}; use {', '.join(DEVICES)} or cuda:N"
            )
        check_precision(self.precision)
        if self.backend not in BACKENDS:
            raise WorkbenchError(f"unknown backend {self.backend!r}; use {', '.join(BACKENDS)}")
        _at_least(self, ("batch_tokens", "max_batch_size", "max_input_tokens"), 1)
        _at_least(self, ("max_redirects",), 0)
        if not self.fetch_timeout > 0:
            raise WorkbenchError(f"fetch_timeout must be above 0, not {self.fetch_timeout}")
        for name in LIMIT_ENV:
            if getattr(self, name) < 0:
                raise WorkbenchError(
                    f"{name} must be 0 (no limit) or more, not {getattr(self, name)}"
                )

    def batch_limits(self, device: str) -> tuple[int, int]:
        """(most segments, token budget) of one batch on a resolved device: the run's own
        values, else the device's defaults. A GPU decodes a step of 256 rows in about the time
        of 64 (on an H100, 256 rows ran about four times faster; BENCHMARKS.md), so it gets
        wider batches."""
        gpu = device.startswith("cuda")
        rows = self.max_batch_size or (256 if gpu else 64)
        tokens = self.batch_tokens or (16384 if gpu else 4096)
        return rows, tokens


# --- translating ------------------------------------------------------------------------


@dataclass(frozen=True)
class TranslateOptions:
    """What to translate into, from what, with what. Built once where a request comes in
    (the CLI, a job file, the API) and passed down whole; ``checked()`` normalises it."""

    targets: tuple[str, ...] = field(
        default=(), metadata={"help": "Target languages, comma-separated: ko,uk"}
    )
    src: str | None = field(default=None, metadata={"help": "Source language (default: detected)."})
    model: str | None = field(default=None, metadata={"help": "Hub id or local model folder."})
    fallback_model: str | None = field(
        default=None,
        metadata={
            "help": "A stronger model for the sentences whose translation fails a check "
            "(numbers, names, URLs, language...): a quality-gated cascade."
        },
    )
    pivot: str | None = field(
        default=None,
        metadata={
            "help": "The language a pair no single available model serves goes through "
            "(default en): source→pivot with one model, pivot→target with another. "
            "Not used with --model."
        },
    )

    glossary: str | None = field(
        default=None,
        metadata={"help": "The newsroom's terms to keep to: a TSV, CSV or TBX glossary file."},
    )

    def checked(self) -> TranslateOptions:
        """A copy with language codes normalised (``KO``, ``kor``, ``ko `` → ``ko``), repeated
        targets dropped and the model stripped; a bad value is a one-line WorkbenchError naming
        it. A target may list several, comma-separated (``("ko,uk",)``, as ``--to`` gives them).

        Options this returned are marked, so checking them again (as every layer below the
        one that built them may) returns them as they are.
        """
        if self.__dict__.get("_checked"):
            return self
        from workbench import languages
        from workbench.errors import WorkbenchError

        raw = (self.targets,) if isinstance(self.targets, str) else tuple(self.targets)
        for value in raw:
            if not isinstance(value, str):
                raise WorkbenchError(f"target language {value!r}: expected a code such as ko")
        if not any(value.strip(" ,") for value in raw):
            raise WorkbenchError("no target language given; pass codes such as ko,uk")
        targets = tuple(languages.parse_list(",".join(raw)))
        for name in ("src", "model", "fallback_model", "pivot", "glossary"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise WorkbenchError(f"{name} {value!r}: expected text")
        src = languages.normalize(self.src) if self.src else None
        pivot = languages.normalize(self.pivot) if self.pivot else None
        model = self.model.strip() if self.model else None
        fallback = self.fallback_model.strip() if self.fallback_model else None
        out = replace(
            self,
            targets=targets,
            src=src,
            model=model or None,
            fallback_model=fallback or None,
            pivot=pivot,
            glossary=self.glossary.strip() if self.glossary else None,
        )
        # Not a field: it stays out of equality, repr and the job-file keys, and replace()
        # (which may change a value) drops it.
        object.__setattr__(out, "_checked", True)
        return out


# --- summarising ------------------------------------------------------------------------

#: ``--model lead``: the lead-N baseline (no model).
LEAD = "lead"
STRATEGIES = ("auto", "native", "prompt", "translate")
#: Sentences when no length is asked for.
DEFAULT_SENTENCES = 3


@dataclass(frozen=True)
class SummaryOptions:
    """What to summarise into, how long, with what; every field is part of the cache key."""

    lang: str | None = field(
        default=None, metadata={"help": "Summary language (default: the article's)."}
    )
    src: str | None = field(
        default=None, metadata={"help": "The articles' language (default: detected)."}
    )
    model: str | None = field(
        default=None,
        metadata={
            "help": "lead (first sentences, no download), a hub id or a model folder "
            "(default: the catalog's summariser)."
        },
    )
    sentences: int | None = field(
        default=None, metadata={"help": f"At most N sentences (default {DEFAULT_SENTENCES})."}
    )
    words: int | None = field(
        default=None,
        metadata={"help": "At most N words; cut at a sentence boundary where possible."},
    )
    tokens: int | None = field(
        default=None, metadata={"help": "At most N generated tokens (model summarisers)."}
    )
    prompt: str | None = field(
        default=None,
        metadata={
            "help": "Prompt template for chat models: a name (workbench prompts list) or a file."
        },
    )
    variables: dict[str, str] = field(
        default_factory=dict, metadata={"help": "Template variable NAME=VALUE (repeatable)."}
    )
    strategy: str = field(
        default="auto",
        metadata={
            "help": "How to reach --lang: auto, native, prompt (chat models) or translate "
            "(summarise, then translate the summary)."
        },
    )
    translation_model: str | None = field(
        default=None,
        metadata={"help": "Model for the translate strategy (default: the catalog's)."},
    )
    chunk_tokens: int | None = field(
        default=None,
        metadata={"help": "Input tokens per chunk of a long article (default: the model's limit)."},
    )
    max_rounds: int = field(
        default=3,
        metadata={"help": "Most summarising passes over a long article (map, ..., combine)."},
    )
    retry: bool = field(
        default=True,
        metadata={"help": "Ask a chat model once more when its summary is in the wrong language."},
    )
    glossary: str | None = field(
        default=None,
        metadata={"help": "A TSV, CSV or TBX glossary the summaries' terms are checked against."},
    )

    def checked(self) -> SummaryOptions:
        """A copy with codes normalised; a bad value is a WorkbenchError naming it."""
        from workbench import languages
        from workbench.errors import WorkbenchError

        for name in ("sentences", "words", "tokens", "chunk_tokens", "max_rounds"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise WorkbenchError(
                    f"--{name.replace('_', '-')} must be a whole number ≥ 1, not {value!r}"
                )
        if self.chunk_tokens is not None and self.chunk_tokens < 16:
            raise WorkbenchError("--chunk-tokens must be at least 16")
        if self.strategy not in STRATEGIES:
            raise WorkbenchError(f"unknown strategy {self.strategy!r}; use {', '.join(STRATEGIES)}")
        lang = languages.normalize(self.lang) if self.lang else None
        src = languages.normalize(self.src) if self.src else None
        model = self.model.strip() if self.model else None
        return replace(self, lang=lang, src=src, model=model or None)


# --- quality checks ---------------------------------------------------------------------

#: What a flagged output does to a run's exit code.
FAIL_ON = ("never", "flag")


@dataclass(frozen=True)
class QualitySettings:
    """What a run does with the quality checks' verdicts (the checks run on every output;
    their flags are in each output's provenance and the manifest)."""

    fail_on: str = field(
        default="never",
        metadata={
            "help": "never: only report flagged outputs; flag: exit 1, after writing "
            "everything, when the quality checks flagged any output."
        },
    )

    def __post_init__(self) -> None:
        from workbench.errors import WorkbenchError

        if self.fail_on not in FAIL_ON:
            raise WorkbenchError(
                f"unknown fail-on value {self.fail_on!r}; use {' or '.join(FAIL_ON)}"
            )


def default_home() -> Path:
    """Per-user folder for the cache database and derived files (``WORKBENCH_HOME`` overrides)."""
    env = os.environ.get("WORKBENCH_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "workbench"


def default_cache_path() -> Path:
    """The cache database (``WORKBENCH_CACHE`` overrides)."""
    env = os.environ.get("WORKBENCH_CACHE")
    if env:
        return Path(env).expanduser()
    return default_home() / "cache.sqlite3"


def env_offline() -> bool:
    """True when the user asked huggingface_hub to stay offline."""
    value = os.environ.get("HF_HUB_OFFLINE", "") or os.environ.get("TRANSFORMERS_OFFLINE", "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def help_for(cls: type, name: str) -> str:
    """The help text of one settings field, for CLI options."""
    for f in fields(cls):
        if f.name == name:
            return str(f.metadata.get("help", ""))
    raise KeyError(name)


def default_for(cls: type, name: str) -> Any:
    """The default of one settings field, for CLI options."""
    for f in fields(cls):
        if f.name == name:
            return f.default
    raise KeyError(name)


__all__ = [
    "BACKENDS",
    "DEFAULT_CONTEXT_SENTENCES",
    "DEFAULT_SENTENCES",
    "DEVICES",
    "FAIL_ON",
    "LEAD",
    "MAX_CONTEXT_SENTENCES",
    "PRECISIONS",
    "SCHEMA_VERSION",
    "STRATEGIES",
    "GenerationSettings",
    "QualitySettings",
    "RunSettings",
    "SummaryOptions",
    "TranslateOptions",
    "check_precision",
    "default_cache_path",
    "default_for",
    "default_home",
    "env_offline",
    "help_for",
    "replace",
]
