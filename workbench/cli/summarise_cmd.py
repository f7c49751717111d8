"""``workbench summarise``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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


def _help(name: str) -> str:
    # Read lazily from the options dataclass, which imports nothing heavy.
    from workbench.settings import help_for
    from workbench.summary_options import SummaryOptions

    return help_for(SummaryOptions, name)


@user_errors
def summarise(
    paths: Annotated[
        list[str], typer.Argument(help="Files or folders (recursive); - reads stdin.")
    ],
    lang: Annotated[str | None, typer.Option("--lang", "-l", help=_help("lang"))] = None,
    src: Annotated[str | None, typer.Option("--from", "-f", help=_help("src"))] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help=_help("model"))] = None,
    sentences: Annotated[
        int | None, typer.Option("--sentences", "-s", help=_help("sentences"), min=1)
    ] = None,
    words: Annotated[int | None, typer.Option("--words", "-w", help=_help("words"), min=1)] = None,
    tokens: Annotated[int | None, typer.Option("--tokens", help=_help("tokens"), min=1)] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", "-p", help=_help("prompt"))] = None,
    var: Annotated[
        list[str] | None, typer.Option("--var", help=_help("variables"), metavar="NAME=VALUE")
    ] = None,
    strategy: Annotated[str, typer.Option("--strategy", help=_help("strategy"))] = "auto",
    translation_model: Annotated[
        str | None, typer.Option("--translation-model", help=_help("translation_model"))
    ] = None,
    chunk_tokens: Annotated[
        int | None, typer.Option("--chunk-tokens", help=_help("chunk_tokens"), min=16)
    ] = None,
    max_rounds: Annotated[int, typer.Option("--max-rounds", help=_help("max_rounds"), min=1)] = 3,
    no_retry: Annotated[
        bool, typer.Option("--no-retry", help="Never ask a chat model a second time.")
    ] = False,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out"),
    beams: Annotated[int | None, typer.Option("--beams", help=gen_help("beams"), min=1)] = None,
    device: Annotated[str, typer.Option(help=run_help("device"))] = run_default("device"),
    backend: Annotated[
        str,
        typer.Option(
            help="Engine of the translate strategy's translation step: auto, torch or "
            "ctranslate2 (summarisers and chat models run on torch)."
        ),
    ] = run_default("backend"),
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
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON row per output.")] = False,
    skip_existing: Annotated[
        bool, typer.Option("--skip-existing/--overwrite", help=SKIP_HELP)
    ] = False,
    manifest: Annotated[Path | None, typer.Option(help=MANIFEST_HELP)] = None,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "local",
    address: Annotated[str | None, typer.Option(help=ADDRESS_HELP)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")] = False,
) -> None:
    """Summarise articles: lead-N, seq2seq summarisers or chat models, in any language."""
    from workbench.api import Workbench
    from workbench.batch import summarise_folder
    from workbench.progress import RunProgress
    from workbench.prompts import parse_vars

    options: dict[str, Any] = {
        "lang": lang,
        "src": src,
        "model": model,
        "sentences": sentences,
        "words": words,
        "tokens": tokens,
        "prompt": prompt,
        "variables": parse_vars(var or []),
        "strategy": strategy,
        "translation_model": translation_model,
        "chunk_tokens": chunk_tokens,
        "max_rounds": max_rounds,
        "retry": not no_retry,
        "beams": beams,
    }
    wb = Workbench(
        device=device,
        backend=backend,
        precision=precision,
        cache=False if no_cache else cache,
        refresh=refresh,
        offline=offline,
        engine=engine,
        ray_address=address,
    )
    if paths == ["-"]:
        result = wb.summarise(stdin_text(), **options)
        typer.echo(result.text)
        _notes(result, quiet)
        eprint(f"[{result.signature}] ({result.cache})", quiet)
        return
    if "-" in paths:
        raise fail("- (stdin) cannot be mixed with files")
    with (
        wb,
        stopping_cleanly(),
        RunProgress(quiet=quiet or as_json, line=row_line(quiet, as_json)) as progress,
    ):
        report = summarise_folder(
            wb,
            paths,
            out=out,
            skip_existing=skip_existing,
            manifest=manifest,
            listener=progress,
            **options,
        )
    licences: set[str] = set()
    for row in report.rows:
        if row.ok and not as_json:
            _notes(row.result, quiet, licences)
    finish(report, quiet=quiet, as_json=as_json)


def _notes(result: Any, quiet: bool, shown: set[str] | None = None) -> None:
    """Warnings worth a line: a language mismatch, and a non-commercial licence (once)."""
    if result is None:
        return
    if result.lang_mismatch:
        eprint(
            f"  warning: the summary looks like {result.output_lang}, not {result.lang}"
            + (" (after one retry)" if result.retries else ""),
            quiet,
        )
    licence = result.licence or ""
    if "non-commercial" in licence or "NC" in licence.upper().split("-"):
        if shown is None or result.model not in shown:
            eprint(f"  note: {result.model} is licensed {licence}", quiet)
        if shown is not None:
            shown.add(result.model)
