"""``workbench export`` and ``workbench import-xliff``: exchange with translators' tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import EXIT_FAILED_DOCS, eprint, user_errors
from workbench.cli.options import CacheOption, QuietOption

FORMAT_HELP = (
    "xliff (one XLIFF 2.1 file per output, OUTPUT.xlf), tmx (one TMX 1.4b translation "
    "memory per run, translations.tmx), or both: xliff,tmx."
)
DEST_HELP = "Where to write them, mirroring the outputs (default: beside the outputs)."


@user_errors
def export(
    out: Annotated[Path, typer.Argument(help="The --out folder of a translate run.")],
    fmt: Annotated[list[str] | None, typer.Option("--format", help=FORMAT_HELP)] = None,
    dest: Annotated[Path | None, typer.Option("--dest", help=DEST_HELP)] = None,
    cache: CacheOption = None,
    quiet: QuietOption = False,
) -> None:
    """Export a run's aligned segments (from the cache) as XLIFF and TMX for CAT tools."""
    from workbench.api import Workbench
    from workbench.exchange.export import export_run, parse_formats

    formats = parse_formats(fmt or ["xliff"])  # checked before the cache is opened
    with Workbench(cache=cache) as wb:
        report = export_run(out, formats, wb.store, dest)
    for file in report.files:
        what = f"{file.source} → {file.path}" if file.source else str(file.path)
        state = "" if file.changed else ", unchanged"
        eprint(f"{what} ({file.units} units{state})", quiet)
    for line in report.skipped:
        eprint(f"workbench: skipped {line}", quiet)
    for line in report.errors:
        eprint(f"workbench: error: {line}")
    eprint(report.summary(), quiet)
    if report.errors:
        raise typer.Exit(EXIT_FAILED_DOCS)


@user_errors
def import_xliff(
    out: Annotated[Path, typer.Argument(help="The --out folder the files were exported from.")],
    files: Annotated[list[Path], typer.Argument(help="Post-edited XLIFF files (.xlf).")],
    cache: CacheOption = None,
    quiet: QuietOption = False,
) -> None:
    """Put post-edited XLIFF targets into their outputs; later runs keep those outputs."""
    from workbench.api import Workbench
    from workbench.errors import WorkbenchError
    from workbench.exchange.importing import import_files

    if not out.is_dir():
        raise WorkbenchError(f"{out}: no such folder; give the --out folder of a translate run")
    with Workbench(cache=cache) as wb:
        results = import_files(out, files, wb.store)
    for r in results:
        if r.error:
            eprint(f"workbench: error: {r.error}")
        elif r.changed:
            ids = ", ".join(r.edited) if r.edited else "none: the model's text again"
            eprint(f"{r.file} → {r.output} ({len(r.edited)} units edited: {ids})", quiet)
        else:
            eprint(f"{r.file}: {r.output} already holds these targets; nothing written", quiet)
    failed = sum(1 for r in results if r.error)
    eprint(f"{len(results) - failed} imported, {failed} failed", quiet)
    if failed:
        raise typer.Exit(EXIT_FAILED_DOCS)
