"""``workbench translate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import (
    EXIT_FAILED_DOCS,
    eprint,
    fail,
    gen_help,
    run_default,
    run_help,
    stdin_text,
    user_errors,
)


@user_errors
def translate(
    paths: Annotated[
        list[str], typer.Argument(help="Files or folders (recursive); - reads stdin.")
    ],
    to: Annotated[str, typer.Option("--to", "-t", help="Target languages, comma-separated: ko,uk")],
    src: Annotated[
        str | None, typer.Option("--from", "-f", help="Source language (default: detected).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Hub id or local model folder.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out"),
    beams: Annotated[int | None, typer.Option("--beams", help=gen_help("beams"), min=1)] = None,
    device: Annotated[str, typer.Option(help=run_help("device"))] = run_default("device"),
    backend: Annotated[str, typer.Option(help=run_help("backend"))] = run_default("backend"),
    cache: Annotated[
        Path | None, typer.Option(help="Cache database (default: WORKBENCH_CACHE or per-user).")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the cache.")
    ] = False,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Recompute and overwrite cached outputs.")
    ] = False,
    offline: Annotated[bool, typer.Option("--offline", help=run_help("offline"))] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON row per output.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")] = False,
) -> None:
    """Translate articles into one or more languages."""
    from workbench import languages
    from workbench.api import Workbench
    from workbench.batch import translate_paths

    targets = languages.parse_list(to)
    wb = Workbench(
        device=device,
        backend=backend,
        cache=False if no_cache else cache,
        refresh=refresh,
        offline=offline,
        beams=beams,
    )
    if paths == ["-"]:
        if len(targets) != 1:
            raise fail("reading stdin writes stdout: give exactly one --to language")
        result = wb.translate(stdin_text(), targets[0], src=src, model=model)
        typer.echo(result.text, nl=False)
        eprint(f"[{result.signature}]", quiet)
        return
    if "-" in paths:
        raise fail("- (stdin) cannot be mixed with files")
    report = translate_paths(wb, paths, targets, out=out, src=src, model=model)
    for row in report.rows:
        if as_json:
            typer.echo(json.dumps(row.manifest(), ensure_ascii=False))
        elif row.error:
            typer.echo(f"workbench: error: {row.error}", err=True)
        else:
            eprint(f"{row.input} → {row.output}  [{row.signature}] ({row.cache})", quiet)
    eprint(report.summary(), quiet)
    if report.failed:
        raise typer.Exit(EXIT_FAILED_DOCS)
