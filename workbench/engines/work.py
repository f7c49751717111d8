"""The work item a task hands to an engine, and what comes back for each segment."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.errors import WorkbenchError
from workbench.models.base import Output
from workbench.models.resolve import ResolvedModel


@dataclass(frozen=True)
class Chunk:
    """One engine call: up to ``chunk_segments`` cache misses for one model and language pair.

    Engines run chunks through ``translate_chunks`` (see ``workbench.engines.Engine``).
    ``backend`` is the backend name the cache key was built with: whatever runs the chunk
    must run exactly that.
    """

    group: int
    resolved: ResolvedModel
    backend: str
    src: str
    tgt: str
    keys: tuple[str, ...]
    texts: tuple[str, ...]


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
