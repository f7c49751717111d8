"""Where model work runs: in this process, or on a Ray cluster (the ``ray`` extra).

The driver always does cache look-ups and writes; an engine only ever sees cache misses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import groupby
from typing import Any, Protocol, TypeVar

from workbench import cancel
from workbench.engines.work import (
    Chunk,
    ChunkOutputs,
    SegmentError,
    describe,
    positions,
    run_segments,
)
from workbench.errors import CacheError, WorkbenchError
from workbench.models.base import Output
from workbench.models.pool import ModelPool

__all__ = [
    "Chunk",
    "ChunkOutputs",
    "Engine",
    "LocalEngine",
    "SegmentError",
    "attempt",
    "describe",
    "isolate",
]

#: What a failing list is narrowed down over: texts, or segment positions.
T = TypeVar("T")


class Engine(Protocol):
    """Runs chunks of cache misses through their models."""

    name: str

    def translate_chunks(
        self, pool: ModelPool, chunks: list[Chunk]
    ) -> Iterator[tuple[int, ChunkOutputs | WorkbenchError]]:
        """Yield ``(index, outputs)`` for every chunk, in any order.

        An exception the backend raises for some segments (a runtime error, an index error,
        out of memory) fails those segments only: their outputs are SegmentErrors. A
        WorkbenchError in place of the outputs (the model cannot load, a language it lacks)
        fails that chunk's group, whose later chunks are then skipped.
        """
        ...


def isolate(
    translate: Callable[[list[T]], list[Output]], texts: list[T], model: str
) -> ChunkOutputs:
    """Translate ``texts`` in halves, down to single segments, to find those that fail.

    Called after ``translate`` raised for the whole list: every segment that still works is
    translated (batching does not change outputs), and each one that raises alone gets a
    SegmentError naming the model and the cause. A WorkbenchError still concerns every
    segment and is raised; KeyboardInterrupt and SystemExit are never caught.
    """
    if len(texts) > 1:
        mid = len(texts) // 2
        return [*attempt(translate, texts[:mid], model), *attempt(translate, texts[mid:], model)]
    return attempt(translate, texts, model) if texts else []


def attempt(
    translate: Callable[[list[T]], list[Output]], texts: list[T], model: str
) -> ChunkOutputs:
    """``translate(texts)``; if it raises (other than a WorkbenchError), the failure is narrowed
    down with ``isolate`` so that only the segments that fail alone fail."""
    try:
        return list(translate(texts))
    except WorkbenchError:
        raise
    except Exception as exc:
        if len(texts) == 1:
            error = SegmentError(model, describe(exc))
            error.__cause__ = exc  # its traceback, for WORKBENCH_DEBUG and API callers
            return [error]
        return isolate(translate, texts, model)


class LocalEngine:
    """In-process: each model is loaded once and kept by the pool."""

    name = "local"

    def translate_chunks(
        self, pool: ModelPool, chunks: list[Chunk]
    ) -> Iterator[tuple[int, ChunkOutputs | WorkbenchError]]:
        """Every chunk, in order; consecutive chunks of one group stream through one backend.

        A backend with ``translate_many`` (the seq2seq engines) then queues the next chunks
        while one is stored, so a background engine never idles between chunks. An exception
        from the backend is narrowed down to the segments it concerns (see ``isolate``) and
        the stream goes on with the next chunk. A WorkbenchError fails the chunk it happened
        in, and the rest of that group is not tried again.
        """
        for _, run in groupby(enumerate(chunks), key=lambda ic: ic[1].group):
            items = list(run)
            first = items[0][1]
            done = 0
            try:
                backend = pool.backend(first.resolved)
                if backend.name != first.backend:
                    # The cache key names the planned backend; storing another's outputs
                    # under it would make the key lie.
                    raise WorkbenchError(
                        f"model {first.resolved.label} would run as {backend.name}, but the "
                        f"run planned {first.backend}; use the same settings for both"
                    )
                while done < len(items):
                    try:
                        for outs in self._stream(backend, items[done:]):
                            yield items[done][0], list(outs)
                            done += 1
                    except KeyboardInterrupt as exc:
                        # What the backend kept of the list in flight is this chunk's.
                        if getattr(exc, cancel.KEPT_OUTPUTS, None) is not None:
                            setattr(exc, cancel.KEPT_CHUNK, items[done][0])
                        raise
                    except WorkbenchError:
                        raise
                    except Exception:
                        # Which chunk raised is not known when the engine queues ahead: the
                        # first unfinished one is narrowed down, then the stream restarts.
                        index, chunk = items[done]
                        try:
                            outs = isolate(
                                positions(backend, chunk.plan, chunk.texts, chunk.contexts),
                                list(range(len(chunk.texts))),
                                chunk.resolved.label,
                            )
                        except KeyboardInterrupt as exc:
                            # Outputs kept there are of a part of the chunk: not kept.
                            setattr(exc, cancel.KEPT_OUTPUTS, None)
                            raise
                        if len(outs) > 1 and all(isinstance(o, SegmentError) for o in outs):
                            # Nothing works (a broken device, a broken model): stop the group
                            # rather than try each of its segments alone.
                            cause = outs[0].cause  # type: ignore[union-attr]
                            raise WorkbenchError(
                                f"model {chunk.resolved.label} failed on every segment of a "
                                f"batch ({cause})"
                            ) from None
                        done += 1
                        yield index, outs
            except CacheError:
                raise
            except WorkbenchError as exc:
                yield items[done][0], exc

    @staticmethod
    def _stream(backend: Any, items: list[tuple[int, Chunk]]) -> Iterator[list[Output]]:
        first = items[0][1]
        many = getattr(backend, "translate_many", None)
        if many is None or first.contexts:
            return (run_segments(backend, c.plan, c.texts, c.contexts) for _, c in items)
        return many((list(c.texts) for _, c in items), first.plan)
