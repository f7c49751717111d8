"""``workbench translate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import (
    eprint,
    fail,
    gen_help,
    run_default,
    run_help,
    stdin_text,
    user_errors,
)
from workbench.cli.run_cmd import (
    ADDRESS_HELP,
    ENGINE_HELP,
    MANIFEST_HELP,
    SKIP_HELP,
    finish,
    row_line,
    stopping_cleanly,
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
    precision: Annotated[str, typer.Option(help=run_help("precision"))] = run_default("precision"),
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
    skip_existing: Annotated[
        bool, typer.Option("--skip-existing/--overwrite", help=SKIP_HELP)
    ] = False,
    manifest: Annotated[Path | None, typer.Option(help=MANIFEST_HELP)] = None,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "local",
    address: Annotated[str | None, typer.Option(help=ADDRESS_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON row per output.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print errors only (no progress bars).")
    ] = False,
) -> None:
    """Translate articles into one or more languages."""
    from workbench import languages
    from workbench.api import Workbench
    from workbench.batch import translate_paths

    targets = languages.parse_list(to)
    wb = Workbench(
        device=device,
        backend=backend,
        precision=precision,
        cache=False if no_cache else cache,
        refresh=refresh,
        offline=offline,
        beams=beams,
        engine=engine,
        ray_address=address,
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
    from workbench.progress import RunProgress

    with (
        wb,
        stopping_cleanly(),
        RunProgress(quiet=quiet or as_json, line=row_line(quiet, as_json)) as progress,
    ):
        report = translate_paths(
            wb,
            paths,
            targets,
            out=out,
            src=src,
            model=model,
            skip_existing=skip_existing,
            manifest=manifest,
            listener=progress,
        )
    finish(report, quiet=quiet, as_json=as_json)
