"""``workbench eval``: score outputs against references."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import eprint, fail, user_errors
from workbench.cli.options import CacheOption, NoCacheOption, QuietOption
from workbench.quality.eval import EvalOptions
from workbench.settings import default_for, help_for


def _help(name: str) -> str:
    return help_for(EvalOptions, name)


@user_errors
def evaluate(
    out: Annotated[
        Path | None,
        typer.Argument(help="An output folder (the --out of translate, summarise or run)."),
    ] = None,
    ref: Annotated[Path | None, typer.Option("--ref", help=_help("ref"))] = None,
    hyp: Annotated[Path | None, typer.Option("--hyp", help=_help("hyp"))] = None,
    lang: Annotated[str | None, typer.Option("--lang", help=_help("lang"))] = None,
    task: Annotated[str, typer.Option("--task", help=_help("task"))] = default_for(
        EvalOptions, "task"
    ),
    bootstrap: Annotated[int, typer.Option("--bootstrap", help=_help("bootstrap"))] = default_for(
        EvalOptions, "bootstrap"
    ),
    seed: Annotated[int, typer.Option("--seed", help=_help("seed"))] = default_for(
        EvalOptions, "seed"
    ),
    cache: CacheOption = None,
    no_cache: NoCacheOption = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON row per document and metric.")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Score outputs against references: chrF, chrF++ and BLEU for translations, ROUGE-1/2/L
    and chrF for summaries, per document and per corpus with bootstrap 95% intervals."""
    from workbench.api import open_store
    from workbench.quality import eval as ev

    options = EvalOptions(ref=ref, hyp=hyp, lang=lang, task=task, bootstrap=bootstrap, seed=seed)
    if ref is None:
        raise fail("give --ref: a reference folder (with OUT) or a reference file (with --hyp)")
    if (out is None) == (hyp is None):
        raise fail("give an output folder, or --hyp FILE with --ref FILE (not both)")
    if hyp is not None:
        pairs, missing = [ev.line_pairs(hyp, ref, lang, task)], []
    else:
        pairs, missing = ev.folder_pairs(out, ref)
    store = open_store(False if no_cache else cache)
    report = ev.evaluate(pairs, store, options)
    for line in missing:
        eprint(f"workbench: warning: {line}", quiet)
    for note in report.notes:
        eprint(f"workbench: note: {note}", quiet)
    for line in store.warnings():
        eprint(f"workbench: warning: {line}")
    if out is not None:
        written = ev.append_rows(out, report.rows, ref)
        eprint(f"{len(report.rows)} rows appended to {written}", quiet)
    if as_json:
        for row in report.rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
    else:
        _table(report.rows)
    eprint(f"{report.computed} scored, {report.cached} from cache", quiet)


def _table(rows: list[dict]) -> None:
    """One table per task and language: a line per document, then the corpus line with its
    bootstrap 95% interval; the metrics' signatures below."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["lang"]), []).append(row)
    for (task, lang), group in groups.items():
        names = list(dict.fromkeys(r["metric"] for r in group))
        table = Table(title=f"{task} {lang}".strip() or None, show_edge=False)
        table.add_column("output")
        for name in names:
            table.add_column(name, justify="right")
        # (label, is the interval line) -> cells; a line's interval goes right below it.
        lines: dict[tuple[str, bool], dict[str, str]] = {}
        for row in group:
            label = row["output"] or f"corpus ({row['documents']})"
            lines.setdefault((label, False), {})[row["metric"]] = f"{row['value']:.2f}"
            if row["low"] is not None:
                interval = f"{row['low']:.2f}–{row['high']:.2f}"
                lines.setdefault((label, True), {})[row["metric"]] = interval
        for (label, interval), cells in lines.items():
            shown = "  95% interval" if interval else label
            table.add_row(shown, *(cells.get(n, "") for n in names))
        console.print(table)
        for sig in dict.fromkeys(
            f"{r['metric']}: {r['signature']}" for r in group if not r["output"]
        ):
            console.print(f"  {sig}", markup=False, highlight=False, soft_wrap=True)
