"""``workbench cache …``: inspect and manage the cache database (thin over workbench.cache)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from workbench.cli.common import debug, fail
from workbench.cli.options import CacheOption
from workbench.errors import WorkbenchError

app = typer.Typer(
    help="Inspect and manage the cache of translated documents and segments.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help, fast start-up (see app.py)
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
MODEL_HELP = "Only entries of this model: a hub id or a model folder."


@contextlib.contextmanager
def _reported() -> Iterator[None]:
    """Errors meant for users become one line on stderr and exit status 2, as in every other
    command (the command could not run)."""
    try:
        yield
    except WorkbenchError as exc:
        if debug():
            raise
        raise fail(str(exc)) from None


def _path(cache: Path | None) -> Path:
    from workbench.settings import default_cache_path

    return cache.expanduser() if cache is not None else default_cache_path()


def _store(cache: Path | None) -> Any:
    from workbench.cache import SqliteStore

    return SqliteStore(_path(cache))


def _when(stamp: float | None) -> str:
    return "-" if stamp is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _table(title: str | None, columns: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_edge=False, show_header=any(columns))
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


@app.command()
def stats(cache: CacheOption = None, as_json: JsonOption = False) -> None:
    """Size, entries by kind and model, and lifetime hits and misses."""
    with _reported():
        store = _store(cache)
        info = store.stats()
        store.close()
    if as_json:
        typer.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    if not info["exists"]:
        typer.echo(f"no cache yet at {info['path']}")
        return
    counters = info["counters"]
    rows = [
        ["path", info["path"]],
        ["size", _bytes(info["bytes"])],
        ["entries", f"{info['entries']} ({_bytes(info['value_bytes'])} of values)"],
        *([f"  {kind}s", str(n)] for kind, n in info["kinds"].items()),
        ["oldest", _when(info["oldest"])],
        ["newest", _when(info["newest"])],
        ["document hits/misses", f"{counters['document_hits']}/{counters['document_misses']}"],
        ["segment hits/misses", f"{counters['segment_hits']}/{counters['segment_misses']}"],
        ["damaged rows read", str(counters["bad_reads"])],
    ]
    _table(None, ["", ""], rows)
    if info["models"]:
        _table(
            "by model",
            ["model", "entries", "size"],
            [
                [str(model), str(m["entries"]), _bytes(m["bytes"] or 0)]
                for model, m in info["models"].items()
            ],
        )


@app.command("ls")
def list_entries(
    cache: CacheOption = None,
    limit: Annotated[int, typer.Option(help="Most entries to list.")] = 50,
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
    kind: Annotated[str | None, typer.Option(help="document or segment.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The newest entries with their signatures."""
    with _reported():
        store = _store(cache)
        rows = store.ls(limit=limit, model=_model_id(model), kind=kind)
        store.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    # Plain lines, not a table: a signature is one long token that a table column would wrap
    # into pieces nobody can copy. Key, kind, date, size and path first, the signature last.
    for r in rows:
        typer.echo(
            f"{r['key'][:12]}  {r['kind']:<8}  {_when(r['created'])}  {_bytes(r['size']):>9}  "
            f"{r['path'] or '-'}  {r['signature'] or '-'}"
        )


@app.command()
def show(
    key: Annotated[str, typer.Argument(help="The key, or a unique prefix of 6+ characters.")],
    cache: CacheOption = None,
) -> None:
    """One entry, with its value, as JSON."""
    with _reported():
        store = _store(cache)
        entry = store.show(key)
        store.close()
    typer.echo(json.dumps(entry, indent=2, ensure_ascii=False))


@app.command()
def clear(
    cache: CacheOption = None,
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
    older_than: Annotated[
        str | None, typer.Option(help="Only entries older than this: 30d, 12h, 90m, 45s.")
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every entry.")] = False,
    vacuum: Annotated[bool, typer.Option(help="Give the freed space back to the disk.")] = False,
) -> None:
    """Remove entries by model and/or age, or all of them."""
    from workbench.cache import parse_age

    with _reported():
        if not everything and model is None and older_than is None:
            raise WorkbenchError("say what to clear: --model M, --older-than AGE or --all")
        age = parse_age(older_than) if older_than is not None else None
        model_id = _model_id(model)
        store = _store(cache)
        removed = store.clear(
            model=model_id, older_than_seconds=age, everything=everything, vacuum=vacuum
        )
        models = list(store.stats()["models"]) if removed == 0 and model_id else []
        store.close()
    typer.echo(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {store.path}")
    if model_id and not everything and model_id not in models and removed == 0:
        known = ", ".join(str(m) for m in models) or "none"
        typer.echo(
            f"no entries are stored under the model {model_id!r}; models in the cache: {known} "
            "(a folder's entries are stored under its folder name)",
            err=True,
        )


def _model_id(model: str | None) -> str | None:
    """The id a model's entries are stored under: a folder is stored under its name (or, for a
    snapshot in a Hugging Face cache, its hub id), as in every signature."""
    if model is None:
        return None
    from workbench.models.resolve import model_id

    return model_id(model)


@app.command()
def verify(
    cache: CacheOption = None,
    fix: Annotated[bool, typer.Option(help="Delete exactly the damaged entries.")] = False,
) -> None:
    """Check the database and every entry (checksum over key and value, UTF-8, shape); list
    the damaged entries; exit 1 when problems remain."""
    with _reported():
        store = _store(cache)
        report = store.verify(fix=fix)
        store.close()
    for problem in report["integrity"][:10]:
        typer.echo(f"integrity: {problem}", err=True)
    typer.echo(
        f"{report['entries']} entries: {report['ok']} ok, {report['bad']} damaged"
        + (f", {report['removed']} removed" if fix else "")
    )
    for key in report["bad_keys"][:200]:
        typer.echo(f"damaged: {key}")
    if len(report["bad_keys"]) > 200:
        typer.echo(f"… and {len(report['bad_keys']) - 200} more damaged entries")
    if report["integrity"]:
        typer.echo(
            f"error: cache database {report['path']} is damaged; run `workbench cache repair`",
            err=True,
        )
        raise typer.Exit(1)
    if report["bad"] > report["removed"]:
        typer.echo("error: damaged entries remain; run `workbench cache verify --fix`", err=True)
        raise typer.Exit(1)


@app.command()
def repair(
    cache: CacheOption = None,
    force: Annotated[bool, typer.Option(help="Move the database aside even if sound.")] = False,
) -> None:
    """Remove damaged entries; rebuild a damaged file from its sound entries (the damaged file
    is moved aside); --force moves the file aside whatever its state."""
    from workbench.cache import CorruptCacheError, rebuild
    from workbench.cache import repair as move_aside

    path = _path(cache)
    with _reported():
        if not path.exists():
            typer.echo(f"no cache at {path}; nothing to repair")
            return
        if force:
            target = move_aside(path)
            typer.echo(f"moved {path} to {target}; the next run starts a new cache")
            return
        store = _store(cache)
        try:
            report: dict[str, Any] | None = store.verify(fix=True)
        except CorruptCacheError:
            report = None
        finally:
            store.close()
        if report is not None and not report["integrity"]:
            if report["removed"]:
                n = report["removed"]
                typer.echo(
                    f"removed {n} damaged entr{'y' if n == 1 else 'ies'} from {path}; the "
                    "next run recomputes them"
                )
            else:
                typer.echo(
                    f"cache database {path} is sound; nothing to repair "
                    "(pass --force to move it aside anyway)"
                )
            return
        done = rebuild(path)
    if done["kept"]:
        typer.echo(
            f"rebuilt {path} with its {done['kept']} sound entries "
            f"({done['dropped']} damaged ones dropped); moved the damaged file to {done['moved']}"
        )
    else:
        typer.echo(
            f"moved {path} to {done['moved']} (no sound entries could be read); the next run "
            "starts a new cache"
        )
