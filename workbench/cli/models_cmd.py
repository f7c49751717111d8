"""``workbench models``: the catalog with licences, what a model is, which model (or pair of
models, through a pivot language) a language pair goes to, downloading one, and pinning the
models of a run in a lock file."""

from __future__ import annotations

from typing import Annotated

import typer

from workbench.cli.common import fail, translate_help, user_errors
from workbench.cli.options import LockFileOption

app = typer.Typer(
    help="Known models, their licences, and getting them.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help, fast start-up (see app.py)
)


@app.command("list")
@user_errors
def list_models(
    task: Annotated[str | None, typer.Option(help="translate, summarise or chat.")] = None,
) -> None:
    """The model catalog: pairs, licence, size and whether each model is in the local cache."""
    from rich.console import Console
    from rich.table import Table

    from workbench.models.catalog import Catalog, user_catalog_path
    from workbench.models.resolve import cached_snapshot

    catalog = Catalog.load()
    table = Table(title=f"Model catalog (extend it in {user_catalog_path()})")
    for col in ("model", "task", "family", "languages", "licence", "size", "default for", "local"):
        table.add_column(col)
    for e in catalog.entries:
        if task and e.task != task:
            continue
        langs = f"{','.join(e.sources)}→{','.join(e.targets)}"
        local = "yes" if cached_snapshot(e.id) else "-"
        size = f"{e.size_mb} MB" if e.size_mb else "?"
        table.add_row(
            e.id, e.task, e.family, langs, e.licence, size, ", ".join(e.default_for), local
        )
    Console().print(table)


@app.command("info")
@user_errors
def info(model: Annotated[str, typer.Argument(help="Hub id or model folder.")]) -> None:
    """Where a model is, its exact revision, family and the languages it serves."""
    from workbench.models.catalog import Catalog
    from workbench.models.families import inspect, pair_languages
    from workbench.models.resolve import resolve

    resolved = resolve(model, offline=True)
    meta = inspect(resolved.path)
    entry = Catalog.load().get(resolved.model_id)
    typer.echo(f"model:    {resolved.model_id}")
    typer.echo(f"revision: {resolved.revision} ({resolved.source})")
    typer.echo(f"path:     {resolved.path}")
    typer.echo(f"family:   {meta.family} ({meta.model_type}), task {meta.task}")
    langs = pair_languages(resolved.path, resolved.model_id, meta, entry)
    for side, codes, where in (
        ("sources", langs.sources, langs.sources_from),
        ("targets", langs.targets, langs.targets_from),
    ):
        said = f"{', '.join(sorted(codes))} ({where})" if codes is not None else "any"
        typer.echo(
            f"{side}:  {said if meta.task == 'translate' else 'not stated by the model files'}"
        )
    typer.echo(f"licence:  {entry.licence if entry else 'see the model card'}")


@app.command("route")
@user_errors
def route(
    src: Annotated[str, typer.Argument(help="Source language, e.g. ko.")],
    tgt: Annotated[str, typer.Argument(help="Target language, e.g. uk.")],
    pivot: Annotated[str | None, typer.Option("--pivot", help=translate_help("pivot"))] = None,
) -> None:
    """Which model, or pair of models through a pivot language, `translate` would use for a
    pair without --model, and why; nothing is run or downloaded. Exit 1 when there is none."""
    from workbench import languages
    from workbench.errors import NoModelForPair
    from workbench.models.catalog import Catalog
    from workbench.models.routing import explain

    src, tgt = languages.normalize(src), languages.normalize(tgt)
    try:
        lines = explain(Catalog.load(), src, tgt, languages.normalize(pivot) if pivot else None)
    except NoModelForPair as exc:
        raise fail(str(exc), code=1) from None
    for line in lines:
        typer.echo(line)


@app.command("download")
@user_errors
def download(
    model: Annotated[str, typer.Argument(help="Hub id, e.g. Helsinki-NLP/opus-mt-tc-big-en-zle.")],
    revision: Annotated[str | None, typer.Option(help="Branch, tag or commit.")] = None,
) -> None:
    """Download a model into the Hugging Face cache (needs a network; shows progress)."""
    from workbench.models.catalog import Catalog
    from workbench.models.resolve import download as fetch

    entry = Catalog.load().get(model)
    if entry is not None:
        typer.echo(f"{model}: licence {entry.licence}", err=True)
    resolved = fetch(model, revision)
    typer.echo(f"{resolved.label} → {resolved.path}")


@app.command("lock")
@user_errors
def lock(
    paths: Annotated[
        list[str], typer.Argument(help="A job file (TOML), or the files and folders of a run.")
    ],
    to: Annotated[
        str | None, typer.Option("--to", "-t", help="Translation targets, e.g. ko,uk.")
    ] = None,
    src: Annotated[str | None, typer.Option("--from", "-f", help=translate_help("src"))] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help=translate_help("model"))
    ] = None,
    fallback_model: Annotated[
        str | None, typer.Option("--fallback-model", help=translate_help("fallback_model"))
    ] = None,
    pivot: Annotated[str | None, typer.Option("--pivot", help=translate_help("pivot"))] = None,
    summarise: Annotated[
        bool, typer.Option("--summarise", help="Lock the models of a summarise run too.")
    ] = False,
    summary_model: Annotated[
        str | None,
        typer.Option("--summary-model", help="summarise --model (implies --summarise)."),
    ] = None,
    summary_lang: Annotated[
        str | None,
        typer.Option("--summary-lang", help="summarise --lang, e.g. ko (implies --summarise)."),
    ] = None,
    translation_model: Annotated[
        str | None, typer.Option("--translation-model", help="summarise --translation-model.")
    ] = None,
    strategy: Annotated[str, typer.Option("--strategy", help="summarise --strategy.")] = "auto",
    lock_file: LockFileOption = None,
) -> None:
    """Pin the models a run would use: resolve them here (no weights loaded, no network) and
    write their revisions and licences to a lock file that `--locked` runs are checked against."""
    from pathlib import Path

    from workbench.api import Workbench
    from workbench.cli.locking import licence_notice
    from workbench.runs.lock import lock_command, lock_path, lock_run
    from workbench.runs.steps import Step
    from workbench.settings import TranslateOptions

    job_file = Path(paths[0]) if len(paths) == 1 and paths[0].endswith(".toml") else None
    if job_file is not None:
        from workbench.runs.jobs import load_job

        job = load_job(job_file)
        wb, steps, src, exclude = job.workbench(cache=False), list(job.steps), job.src, [job.out]
        inputs = list(job.inputs)
        command = lock_command([], job_file=job_file, lock_file=lock_file)
    else:
        for raw in paths:
            if not Path(raw).exists():
                raise fail(f"{raw}: no such file or folder; give the files and folders of a run")
        translate = None
        steps, exclude, inputs = [], [], paths
        if to:
            translate = TranslateOptions(
                (to,), src=src, model=model, fallback_model=fallback_model, pivot=pivot
            ).checked()
            steps.append(Step.translating(translate))
        summary = None
        if summarise or summary_model or summary_lang:
            options = {"strategy": strategy, "translation_model": translation_model}
            langs = tuple(summary_lang.split(",")) if summary_lang else ("own",)
            summary = Step("summarise", langs, model=summary_model, options=options)
            steps.append(summary)
        if not steps:
            raise fail("nothing to lock: give --to LANGS (a translation run) and/or --summarise")
        wb = Workbench(cache=False)
        command = lock_command(
            paths, translate=translate, summary=summary, src=src, lock_file=lock_file
        )
    target = lock_file or lock_path(paths, job_file)
    locked, problems = lock_run(
        wb, inputs, steps, path=target, command=command, src=src, exclude=exclude
    )
    if problems:
        for line in problems:
            typer.echo(f"workbench: error: {line}", err=True)
        raise fail(f"{target} was not written: lock only models that are on this machine")
    for m in locked.models:
        typer.echo(f"{m.model}@{m.revision[:12]} ({m.licence}): {'; '.join(m.uses)}")
    licence_notice(licences={m.model: m.licence for m in locked.models})
    typer.echo(f"{len(locked.models)} models locked → {target}")
