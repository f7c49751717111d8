"""Options of summarising, kept apart from the pipeline so that the CLI reads their help
without importing it (``workbench --help`` stays fast)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from workbench import languages
from workbench.errors import WorkbenchError

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

    def checked(self) -> SummaryOptions:
        """A copy with codes normalised; a bad value is a WorkbenchError naming it."""
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
