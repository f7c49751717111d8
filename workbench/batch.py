"""Folder runs: discover documents, translate them together, write outputs and provenance."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from workbench.api import Workbench
from workbench.documents import Document, read_document
from workbench.errors import WorkbenchError
from workbench.outputs import (
    Source,
    discover,
    output_name,
    provenance_path,
    safe_join,
    write_json_atomic,
    write_text_atomic,
)
from workbench.translate import TranslationResult


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
    result: Any = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def manifest(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "task": self.task,
            "lang": self.lang,
            "output": self.output,
            "signature": self.signature,
            "cache": self.cache,
            "seconds": round(self.seconds, 4),
            "error": self.error,
        }


@dataclass
class RunReport:
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(not r.ok for r in self.rows)

    @property
    def cached(self) -> int:
        return sum(r.ok and r.cache in ("document", "segments") for r in self.rows)

    @property
    def done(self) -> int:
        return sum(r.ok for r in self.rows)

    def summary(self) -> str:
        return (
            f"{self.done} done ({self.cached} from cache), {self.failed} failed "
            f"in {self.seconds:.2f} s"
        )


def versions() -> dict[str, str]:
    """Library versions for provenance (read from metadata: no imports)."""
    out = {}
    for name in ("workbench", "torch", "transformers", "tokenizers", "ctranslate2"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def read_sources(sources: list[Source]) -> tuple[list[tuple[Source, Document]], list[Row]]:
    docs: list[tuple[Source, Document]] = []
    failed: list[Row] = []
    for src in sources:
        try:
            docs.append((src, read_document(src.path)))
        except WorkbenchError as exc:
            failed.append(Row(str(src.path), "translate", "-", error=str(exc)))
    return docs, failed


def translate_paths(
    wb: Workbench,
    paths: list[str],
    targets: list[str],
    *,
    out: Path,
    src: str | None = None,
    model: str | None = None,
    on_segments: Callable[[int], None] | None = None,
) -> RunReport:
    """Translate files and folders into ``out``, mirroring the input tree.

    Unreadable documents become failed rows; the rest still complete.
    """
    start = time.perf_counter()
    report = RunReport()
    sources, missing = discover(paths)
    report.rows.extend(Row(e.path, "translate", "-", error=str(e)) for e in missing)
    docs, unreadable = read_sources(sources)
    report.rows.extend(unreadable)
    results = wb.translate_documents(
        [d for _, d in docs], targets, src=src, model=model, on_segments=on_segments
    )
    lib_versions = versions()
    for (source, _), per_target in zip(docs, results, strict=True):
        for result in per_target:
            report.rows.append(_write(source, result, out, lib_versions))
    report.seconds = time.perf_counter() - start
    return report


def _write(source: Source, result: TranslationResult, out: Path, lib: dict[str, str]) -> Row:
    row = Row(
        str(source.path),
        "translate",
        result.target_lang,
        signature=result.signature,
        cache=result.cache,
        seconds=result.seconds,
        error=result.error,
        result=result,
    )
    if result.error is not None or result.text is None:
        return row
    try:
        target = safe_join(out, output_name(source.rel, result.target_lang))
        write_text_atomic(target, result.text)
        prov = {
            **result.provenance(),
            "input": str(source.path),
            "output": str(target),
            "versions": lib,
        }
        write_json_atomic(provenance_path(target), prov)
        row.output = str(target)
    except (OSError, WorkbenchError) as exc:
        row.error = f"{source.path}: could not write output ({exc})"
    return row
