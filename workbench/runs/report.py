"""What a run reports: one row per (document, task, language), the run's totals and summary
line, and the listener a run tells about its progress (printing is left to the caller)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

#: Keys of every manifest row, in order.
MANIFEST_FIELDS = (
    "input",
    "task",
    "lang",
    "output",
    "signature",
    "cache",
    "seconds",
    "error",
    "lang_mismatch",
    "verdict",
    "flags",
    "glossary",
    "note",
)
#: The cache state of a row for a file that was deliberately not read (an earlier output).
NOT_READ = "not-read"
#: The cache state of a row whose output holds a person's edits (``workbench import-xliff``):
#: a rerun leaves it as it is unless told ``--overwrite-edits``.
EDITED = "human-edited"
#: Cache states that mean "nothing was computed": a whole-document hit, or every part a hit.
CACHED_STATES = ("document", "segments", "chunks")


@dataclass
class Row:
    """One (document, task, language): the unit of a run's report and manifest."""

    input: str
    task: str
    lang: str
    output: str | None = None
    signature: str | None = None
    cache: str | None = None
    seconds: float = 0.0
    error: str | None = None
    # Why a file was not read (an earlier output found among inputs), or an output was kept.
    note: str | None = None
    result: Any = field(default=None, repr=False)
    order: tuple[int, int] = field(default=(0, 0), repr=False, compare=False)  # (step, lang)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def verdict(self) -> str | None:
        """The quality checks' verdict on this row's output (None: failed, skipped or not
        checked)."""
        if not self.ok or self.cache in ("skipped", NOT_READ):
            return None
        return getattr(self.result, "verdict", None)

    def manifest(self) -> dict[str, Any]:
        """The row as written to the manifest and printed by ``--json``."""
        return {
            "input": self.input,
            "task": self.task,
            "lang": self.lang,
            "output": self.output,
            "signature": self.signature,
            "cache": self.cache,
            "seconds": round(self.seconds, 4),
            "error": self.error,
            # The output does not look like `lang` (translations and summaries are checked).
            "lang_mismatch": bool(getattr(self.result, "lang_mismatch", False)),
            # The quality checks: "pass" or "flag", and how many findings (None: not checked).
            "verdict": self.verdict,
            "flags": None if self.verdict is None else len(getattr(self.result, "checks", [])),
            # With a glossary: how many of its terms were applied, missed or deprecated.
            "glossary": glossary_counts(getattr(self.result, "glossary", None))
            if self.ok
            else None,
            "note": self.note,
        }


def glossary_counts(record: Any) -> dict[str, int] | None:
    """A manifest row's glossary cell: the counts of a result's glossary record."""
    if not isinstance(record, dict):
        return None
    return {k: int(record.get(k, 0)) for k in ("applied", "missed", "deprecated")}


@dataclass
class RunReport:
    """Every row of a run, with what the summary line needs."""

    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0
    ignored: list[str] = field(default_factory=list)  # files in input folders that are not articles
    manifest: str | None = None  # where the manifest was written
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)  # lines to show once, e.g. cache damage

    @property
    def failed(self) -> int:
        return sum(not r.ok for r in self.rows)

    @property
    def skipped(self) -> int:
        return sum(r.ok and r.cache == "skipped" for r in self.rows)

    @property
    def cached(self) -> int:
        return sum(r.ok and r.cache in CACHED_STATES for r in self.rows)

    @property
    def done(self) -> int:
        return sum(r.ok and r.cache not in ("skipped", NOT_READ, EDITED) for r in self.rows)

    @property
    def kept(self) -> int:
        """Outputs left as a person edited them."""
        return sum(r.ok and r.cache == EDITED for r in self.rows)

    @property
    def flagged(self) -> int:
        """Outputs the quality checks flagged."""
        return sum(r.verdict == "flag" for r in self.rows)

    @property
    def not_read(self) -> int:
        return sum(r.ok and r.cache == NOT_READ for r in self.rows)

    def sort(self) -> None:
        """Deterministic order: by input, then step, then language as given."""
        self.rows.sort(key=lambda r: (r.input, r.order))

    def summary(self) -> str:
        """``12 done (8 from cache), 2 skipped, 1 failed, 3 other files ignored, 2 flagged by
        the quality checks in 4.21 s``."""
        parts = [f"{self.done} done ({self.cached} from cache)"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped (up to date)")
        if self.kept:
            parts.append(f"{self.kept} kept (human-edited)")
        parts.append(f"{self.failed} failed")
        if self.not_read:
            parts.append(f"{self.not_read} earlier outputs not read")
        if self.ignored:
            parts.append(f"{len(self.ignored)} other files ignored")
        if self.flagged:
            parts.append(f"{self.flagged} flagged by the quality checks")
        return ", ".join(parts) + f" in {self.seconds:.2f} s"


class Listener(Protocol):
    """What a run reports while it goes (the CLI's progress display implements it)."""

    def documents(self, total: int) -> None: ...

    def document_done(self) -> None: ...

    def segments(self, total: int) -> None: ...

    def segments_done(self, count: int) -> None: ...

    def row(self, row: Row) -> None: ...


class NullListener:
    """Reports nothing."""

    def documents(self, total: int) -> None:
        return None

    def document_done(self) -> None:
        return None

    def segments(self, total: int) -> None:
        return None

    def segments_done(self, count: int) -> None:
        return None

    def row(self, row: Row) -> None:
        return None
