"""``workbench compare``: one HTML page comparing models (or earlier runs) on the same documents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import (
    EXIT_FAILED_DOCS,
    check_models,
    eprint,
    fail,
    quiet_libraries,
    translate_help,
    user_errors,
)
from workbench.cli.options import (
    DEFAULT_BACKEND,
    DEFAULT_DEVICE,
    DEFAULT_OFFLINE,
    DEFAULT_PRECISION,
    BackendOption,
    CacheOption,
    DeviceOption,
    NoCacheOption,
    OfflineOption,
    PrecisionOption,
    QuietOption,
)

MODEL_HELP = (
    "A model to compare: hub id or model folder, optionally with its own settings, as "
    "MODEL:beams=4,backend=torch,precision=int8 ('default': the catalog's choice). "
    "Give two or more."
)
READ_HELP = (
    "PATHS are --out folders of earlier runs: their outputs are compared, matched by path "
    "inside the folders; nothing is run."
)


@user_errors
def compare(
    paths: Annotated[
        list[str],
        typer.Argument(help="Files or folders to translate (with --read: output folders)."),
    ],
    model: Annotated[list[str] | None, typer.Option("--model", "-m", help=MODEL_HELP)] = None,
    to: Annotated[str | None, typer.Option("--to", "-t", help=translate_help("targets"))] = None,
    src: Annotated[str | None, typer.Option("--from", "-f", help=translate_help("src"))] = None,
    read: Annotated[bool, typer.Option("--read", help=READ_HELP)] = False,
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML page to write.")] = Path(
        "compare.html"
    ),
    title: Annotated[str | None, typer.Option(help="The page's title.")] = None,
    ref: Annotated[
        Path | None,
        typer.Option(
            "--ref",
            help="Reference folder (laid out as workbench eval reads it): each model's chrF, "
            "chrF++ and BLEU (ROUGE for summaries) with intervals in the summary table. "
            "Needs the eval extra.",
        ),
    ] = None,
    device: DeviceOption = DEFAULT_DEVICE,
    backend: BackendOption = DEFAULT_BACKEND,
    precision: PrecisionOption = DEFAULT_PRECISION,
    cache: CacheOption = None,
    no_cache: NoCacheOption = False,
    offline: OfflineOption = DEFAULT_OFFLINE,
    quiet: QuietOption = False,
) -> None:
    """Compare models side by side on the same documents, in one HTML page."""
    from workbench.quality import compare as page
    from workbench.quality import compare_runs
    from workbench.runs.outputs import write_text_atomic

    problems: list[str] = []
    if read:
        if model or to or src:
            raise fail("--read compares existing outputs: leave out --model, --to and --from")
        if len(paths) < 2:
            raise fail("--read needs two or more output folders, e.g. out_a/ out_b/")
        from workbench.api import open_store

        store = None if no_cache else open_store(cache)
        try:
            columns = compare_runs.read_folders(paths, store)
        finally:
            closer = getattr(store, "close", None)
            if closer is not None:
                closer()
        how = "Earlier outputs, read from " + ", ".join(paths) + "."
    else:
        entries = [compare_runs.parse_entry(spec) for spec in model or []]
        if len(entries) < 2:
            raise fail("give two or more --model entries, e.g. --model A --model A:beams=4")
        if not to:
            raise fail("--to is needed: the language to translate into, e.g. --to ko")
        from workbench.settings import TranslateOptions

        options = TranslateOptions((to,), src=src).checked()
        check_models(*(e.model for e in entries), offline=offline)
        with quiet_libraries(quiet):
            columns, problems = compare_runs.run_models(
                paths,
                entries,
                options,
                device=device,
                backend=backend,
                precision=precision,
                cache=False if no_cache else cache,
                offline=offline,
            )
        how = f"Translated into {', '.join(options.targets)} by each model, through the cache."
    scores = None
    if ref is not None:
        scores, unmatched = compare_runs.reference_scores(columns, ref)
        for line in unmatched:
            eprint(f"workbench: warning: {line}", quiet)
    report = page.build_report(columns, scores=scores, title=title, how=how)
    write_text_atomic(out, page.render_html(report))
    failed = [o for c in columns for o in c.outputs.values() if o.error]
    for line in [*problems, *(o.error for o in failed)]:
        eprint(f"workbench: error: {line}")
    for c in columns:
        for o in c.outputs.values():
            if o.looks_like:
                eprint(
                    f"workbench: warning: {o.name}: the {o.lang} output of {c.label} looks "
                    f"like {o.looks_like}",
                    quiet,
                )
    for c in report["columns"]:
        eprint(
            f"{c['label']}: {c['documents']} documents, {c['segments']} segments "
            f"({c['hits']} of {c['lookups']} from the cache), {c['seconds']:.2f} s, "
            f"{c['flags']} flags",
            quiet,
        )
    eprint(
        f"wrote {out}: {len(report['documents'])} documents, {report['changed']} of "
        f"{report['rows']} rows differ",
        quiet,
    )
    if failed or problems:
        raise typer.Exit(EXIT_FAILED_DOCS)
