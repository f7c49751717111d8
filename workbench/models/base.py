"""One interface for a translation model; engines plug in behind it.

A backend turns a list of segments into a list of outputs for one language pair. It owns
over-long splitting (it knows its tokenizer), batching and decoding. Caching and document
handling wrap it and are never special cases inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from workbench.models.families import ModelInfo
from workbench.models.resolve import ResolvedModel

if TYPE_CHECKING:
    from workbench.models.plan import ModelPlan


@dataclass(frozen=True)
class Output:
    """One translated segment and what happened on the way."""

    text: str
    notes: tuple[str, ...] = ()  # e.g. "split:3" (over-long input), "repeat-guard", "length-bound"


@dataclass
class BackendStats:
    """Counters a backend keeps across calls, for provenance and benchmarks."""

    segments: int = 0
    batches: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    load_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """What the pipeline needs from an engine."""

    resolved: ResolvedModel
    info: ModelInfo
    stats: BackendStats

    @property
    def name(self) -> str:
        """Engine and precision, e.g. ``torch-fp32`` or ``ct2-int8``: part of the signature."""
        ...

    def translate(self, texts: list[str], plan: ModelPlan) -> list[Output]:
        """Translate ``texts`` as ``plan`` says (language pair, decoding settings, language
        control); one Output per text, in order. A plan with a context window (chat models)
        also passes ``contexts=``: each text's preceding sentences (see ``Chunk.contexts``)."""
        ...
