"""Where model work runs: in this process, or on a Ray cluster (the ``ray`` extra).

The driver always does cache look-ups and writes; an engine only ever sees cache misses.
"""

from __future__ import annotations

from typing import Protocol

from workbench.models.backend import Output
from workbench.models.pool import ModelPool
from workbench.models.resolve import ResolvedModel
from workbench.settings import GenerationSettings


class Engine(Protocol):
    """Runs one chunk of segments through one model."""

    name: str

    def translate(
        self,
        pool: ModelPool,
        resolved: ResolvedModel,
        texts: list[str],
        src: str,
        tgt: str,
        gen: GenerationSettings,
    ) -> list[Output]: ...


class LocalEngine:
    """In-process: each model is loaded once and kept by the pool."""

    name = "local"

    def translate(
        self,
        pool: ModelPool,
        resolved: ResolvedModel,
        texts: list[str],
        src: str,
        tgt: str,
        gen: GenerationSettings,
    ) -> list[Output]:
        return pool.backend(resolved).translate(texts, src, tgt, gen)
