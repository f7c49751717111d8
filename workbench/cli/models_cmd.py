"""``workbench models``: the catalog with licences, what a model is, which model (or pair of
models, through a pivot language) a language pair goes to, and downloading one."""

from __future__ import annotations

from typing import Annotated

import typer

from workbench.cli.common import fail, translate_help, user_errors

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
