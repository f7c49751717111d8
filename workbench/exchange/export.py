"""``workbench export``: a translate run's aligned segments as XLIFF (one file per output,
``a.uk.md.xlf`` beside ``a.uk.md`` or mirrored under another folder) and TMX (one
``translations.tmx`` per run).

Segments come from the cache (see ``records``); nothing is translated and no model is loaded.
An output whose segments are not cached is one error line and is left out; the others are
exported. Files whose bytes would not change are left untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import InputError, WorkbenchError
from workbench.exchange import tmx, xliff
from workbench.exchange.codes import with_codes
from workbench.exchange.records import Output, Unit, find_outputs, units_of
from workbench.runs.outputs import safe_join, write_text_if_changed
from workbench.store import Store
from workbench.version import __version__

FORMATS = ("xliff", "tmx")


def parse_formats(given: Sequence[str]) -> tuple[str, ...]:
    """``["xliff,tmx"]`` or ``["xliff", "tmx"]`` → ``("xliff", "tmx")``; refuses others."""
    names = [n.strip().lower() for item in given for n in item.split(",") if n.strip()]
    for name in names:
        if name not in FORMATS:
            raise WorkbenchError(f"unknown export format {name!r}; use xliff, tmx or xliff,tmx")
    if not names:
        raise WorkbenchError("no export format given; use --format xliff, tmx or xliff,tmx")
    return tuple(dict.fromkeys(names))


@dataclass
class Written:
    """One exchange file: where, what it holds, and whether its bytes changed."""

    path: Path
    units: int
    changed: bool
    source: Path | None = None  # the output an XLIFF file is for (None: the run's TMX)


@dataclass
class ExportReport:
    """What an export did: files written, outputs skipped (one line each) and errors."""

    files: list[Written] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    outputs: int = 0  # outputs whose units were exported

    def summary(self) -> str:
        changed = sum(f.changed for f in self.files)
        files = "file" if changed == 1 else "files"
        parts = [
            f"{self.outputs} outputs exported",
            f"{changed} {files} written, {len(self.files) - changed} unchanged",
        ]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        parts.append(f"{len(self.errors)} failed")
        return ", ".join(parts)


def export_run(
    out: Path, formats: Sequence[str], store: Store, dest: Path | None = None
) -> ExportReport:
    """Export every translation under ``out`` (a translate run's output folder) in
    ``formats`` into ``dest`` (default: ``out``). Raises WorkbenchError only when nothing can
    be exported; an output that cannot is an error line in the report."""
    formats = parse_formats(formats)
    if not out.is_dir():
        raise WorkbenchError(f"{out}: no such folder; give the --out folder of a translate run")
    outputs, skipped = find_outputs(out)
    if not outputs and not skipped:
        raise WorkbenchError(
            f"{out}: holds no translations (no output with a translate provenance record "
            "beside it); give the --out folder of a translate run"
        )
    dest = dest or out
    report = ExportReport(skipped=skipped)
    done: list[tuple[Output, list[Unit]]] = []
    for output in outputs:
        try:
            units = with_codes(output, store, units_of(output, store))
        except WorkbenchError as exc:
            report.errors.append(str(exc))
            continue
        if not units:
            report.skipped.append(f"{output.path}: has no text to translate; nothing to exchange")
            continue
        done.append((output, units))
        report.outputs += 1
        if "xliff" in formats:
            _write(
                report,
                dest,
                output.rel + xliff.SUFFIX,
                xliff.xliff_text(output, units),
                len(units),
                output.path,
            )
    if "tmx" in formats and done:
        text = tmx.tmx_text(done, __version__)
        _write(report, dest, tmx.NAME, text, sum(len(u) for _, u in done), None)
    return report


def _write(
    report: ExportReport, dest: Path, rel: str, text: str, units: int, source: Path | None
) -> None:
    try:
        path = safe_join(dest, Path(rel))
        changed = write_text_if_changed(path, text)
    except (OSError, InputError) as exc:
        report.errors.append(f"{dest / rel}: could not be written ({exc})")
        return
    report.files.append(Written(dest / rel, units, changed, source))
