"""The work item a task hands to an engine, and what comes back for each segment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.errors import WorkbenchError
from workbench.models.base import Output
from workbench.models.plan import ModelPlan
from workbench.models.resolve import ResolvedModel


@dataclass(frozen=True)
class Chunk:
    """One engine call: up to ``chunk_segments`` cache misses for one model and language pair.

    Engines run chunks through ``translate_chunks`` (see ``workbench.engines.Engine``). The
    ``plan`` is the one the cache keys were built from: whatever runs the chunk decodes with
    its settings and must run exactly its backend. ``contexts``, when the plan has a context
    window (chat models), holds each segment's preceding sentences (parallel to ``texts``);
    it is empty otherwise, and backends are then called as they always were.
    """

    group: int
    plan: ModelPlan
    keys: tuple[str, ...]
    texts: tuple[str, ...]
    contexts: tuple[tuple[str, ...], ...] = ()

    @property
    def resolved(self) -> ResolvedModel:
        return self.plan.resolved

    @property
    def backend(self) -> str:
        return self.plan.backend

    @property
    def src(self) -> str:
        return self.plan.src

    @property
    def tgt(self) -> str:
        return self.plan.tgt


def run_segments(
    backend: Any,
    plan: ModelPlan,
    texts: Sequence[str],
    contexts: Sequence[Sequence[str]] | None = None,
) -> list[Output]:
    """``backend.translate`` of ``texts``, with their contexts where there are any (only a
    backend whose plan has a context window, the chat backend, is ever given them)."""
    if contexts:
        return list(backend.translate(list(texts), plan, contexts=[tuple(c) for c in contexts]))
    return list(backend.translate(list(texts), plan))


def positions(
    backend: Any, plan: ModelPlan, texts: Sequence[str], contexts: Sequence[Sequence[str]]
) -> Callable[[list[int]], list[Output]]:
    """``segment positions -> outputs``: what ``isolate`` narrows a failure down with, so that
    each segment keeps its own context whichever half it lands in."""

    def run(idx: list[int]) -> list[Output]:
        ctx = [contexts[i] for i in idx] if contexts else None
        return run_segments(backend, plan, [texts[i] for i in idx], ctx)

    return run


class SegmentError(WorkbenchError):
    """A model failed on one segment (the documents holding it fail; the others go on)."""

    def __init__(self, model: str, cause: str) -> None:
        super().__init__(f"model {model} failed on it ({cause})")
        self.model = model
        self.cause = cause


def describe(exc: BaseException) -> str:
    """``Type: first line of the message`` of an unexpected exception, for one error line."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:200]}" if lines else type(exc).__name__


#: One chunk's outcome: an output per segment (a SegmentError where that segment failed).
ChunkOutputs = list[Output | SegmentError]
