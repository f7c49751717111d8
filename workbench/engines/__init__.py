"""Where model work runs: in this process, or on a Ray cluster (the ``ray`` extra).

The driver always does cache look-ups and writes; an engine only ever sees cache misses.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import TYPE_CHECKING, Protocol

from workbench.errors import CacheError, WorkbenchError
from workbench.models.backend import Output
from workbench.models.pool import ModelPool
from workbench.settings import GenerationSettings

if TYPE_CHECKING:
    from workbench.translate import Chunk


class Engine(Protocol):
    """Runs chunks of cache misses through their models."""

    name: str

    def translate_chunks(
        self, pool: ModelPool, chunks: list[Chunk], gen: GenerationSettings
    ) -> Iterator[tuple[int, list[Output] | WorkbenchError]]:
        """Yield ``(index, outputs)`` for every chunk, in any order; a WorkbenchError in place
        of the outputs fails that chunk's group, whose later chunks are then skipped."""
        ...


class LocalEngine:
    """In-process: each model is loaded once and kept by the pool."""

    name = "local"

    def translate_chunks(
        self, pool: ModelPool, chunks: list[Chunk], gen: GenerationSettings
    ) -> Iterator[tuple[int, list[Output] | WorkbenchError]]:
        """Every chunk, in order; consecutive chunks of one group stream through one backend.

        A backend with ``translate_many`` (the seq2seq engines) then queues the next chunks
        while one is stored, so a background engine never idles between chunks. An error
        fails the chunk it happened in, and the rest of that group is not tried again.
        """
        for _, run in groupby(enumerate(chunks), key=lambda ic: ic[1].group):
            items = list(run)
            first = items[0][1]
            done = 0
            try:
                backend = pool.backend(first.resolved)
                many = getattr(backend, "translate_many", None)
                if many is None:
                    outputs: Iterator[list[Output]] = (
                        backend.translate(list(c.texts), c.src, c.tgt, gen) for _, c in items
                    )
                else:
                    outputs = many((list(c.texts) for _, c in items), first.src, first.tgt, gen)
                for outs in outputs:
                    yield items[done][0], outs
                    done += 1
            except CacheError:
                raise
            except WorkbenchError as exc:
                yield items[done][0], exc
