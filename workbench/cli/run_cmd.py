"""``workbench run JOB.toml``, and what every folder-running command shares: progress,
row lines, the summary line, ``--json`` rows and a clean stop on Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from workbench.cli.common import EXIT_FAILED_DOCS, eprint, fail, user_errors
from workbench.cli.options import (
    ADDRESS_HELP,
    ENGINE_HELP,
    CacheOption,
    ManifestOption,
    NoCacheOption,
    OfflineOption,
    QuietOption,
    RefreshOption,
)

if TYPE_CHECKING:
    from workbench.batch import Row, RunReport
    from workbench.progress import RunProgress

#: Exit code after SIGTERM (128 + 15), as a shell reports a process it terminated.
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as an interrupt so that it stops a run the same clean way as Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    from workbench import cancel

    cancel.request()
    raise Terminated()


def _on_sigint(signum: int, frame: object) -> None:
    from workbench import cancel

    cancel.request()
    raise KeyboardInterrupt()


@contextlib.contextmanager
def stopping_cleanly() -> Iterator[None]:
    """Run a folder job so that Ctrl-C and SIGTERM both stop it cleanly and promptly.

    Outputs are written as they finish and the cache commits every chunk, so what finished is
    kept; the batch in flight is abandoned (engines wait for it in short sleeps, and torch
    checks the stop request at every step, so the stop takes well under a second). Exits 130
    (Ctrl-C) or 143 (SIGTERM).
    """
    from workbench import cancel

    cancel.clear()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is signal.default_int_handler:  # not when the shell made us ignore it
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    except KeyboardInterrupt as exc:
        why = "terminated" if isinstance(exc, Terminated) else "interrupted"
        typer.echo(
            f"workbench: {why}; finished outputs and cache entries are kept: run the same "
            "command again to continue",
            err=True,
        )
        code = EXIT_TERMINATED if isinstance(exc, Terminated) else 130
        if cancel.abandoned() and cancel.prompt_exit_allowed():
            # Every output, cache entry and the manifest are written; what is left is a batch
            # the engine cannot cancel, which a normal exit would wait for (minutes).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        raise typer.Exit(code) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        if previous_int is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous_int)


@contextlib.contextmanager
def folder_run(quiet: bool, as_json: bool) -> Iterator[RunProgress]:
    """Progress and row lines for a folder run, which Ctrl-C and SIGTERM stop cleanly."""
    from workbench.progress import RunProgress

    with (
        stopping_cleanly(),
        RunProgress(quiet=quiet or as_json, line=row_line(quiet, as_json)) as progress,
    ):
        yield progress


def row_line(quiet: bool, as_json: bool) -> Callable[[Row], str | None]:
    """The stderr line for a finished row: errors always (unless --json), others unless quiet."""

    def line(row: Row) -> str | None:
        if as_json:
            return None
        if row.error:
            return f"workbench: error: {row.error}"
        if quiet:
            return None
        if row.note:  # a file deliberately not read (an earlier output among the inputs)
            return f"workbench: skipped {row.input}: {row.note}"
        if row.signature:
            return f"{row.input} → {row.output}  [{row.signature}] ({row.cache})"
        # No model ran (a document already in the target language is copied): say why.
        why = "; ".join(getattr(row.result, "notes", None) or ()) or "no model run"
        return f"{row.input} → {row.output}  ({why})"

    return line


def finish(report: RunReport, *, quiet: bool, as_json: bool) -> None:
    """Print the ``--json`` rows, ignored files and the summary line; exit 1 if any failed."""
    if as_json:
        for row in report.rows:
            typer.echo(json.dumps(row.manifest(), ensure_ascii=False))
    elif not quiet:
        for path in report.ignored:
            eprint(f"workbench: ignored {path} (not .txt or .md)")
    eprint(report.summary(), quiet)
    if report.failed:
        raise typer.Exit(EXIT_FAILED_DOCS)


def confirm(job_file: Path, risks: list[str]) -> None:
    """Ask on a terminal whether to run a job that reaches beyond its folder; without a
    terminal refuse, naming what needs confirming and the flag that gives it."""
    what = "; ".join(risks)
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise fail(f"{job_file}: {what}: add --yes to run it (see --dry-run)")
    typer.echo(f"{job_file}: {what}.", err=True)
    if not typer.confirm("Run it?", default=False, err=True):
        raise fail(f"{job_file}: not confirmed; nothing was run")


@user_errors
def run(
    job_file: Annotated[Path, typer.Argument(help="Job file (TOML): inputs, out and steps.")],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the plan (documents, steps, cached counts, models needed) and stop.",
        ),
    ] = False,
    skip_existing: Annotated[
        bool | None,
        typer.Option(
            "--skip-existing/--overwrite",
            help="As for translate; default: the job file's skip_existing (else --overwrite).",
        ),
    ] = None,
    engine: Annotated[str | None, typer.Option(help=ENGINE_HELP)] = None,
    address: Annotated[str | None, typer.Option(help=ADDRESS_HELP)] = None,
    cache: CacheOption = None,
    no_cache: NoCacheOption = False,
    refresh: RefreshOption = False,
    offline: OfflineOption = False,
    manifest: ManifestOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON row per output (or the plan).")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Confirm a job that writes outside its own folder or sends documents to a "
            "Ray cluster (asked on a terminal; required in scripts).",
        ),
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Run a job file: translate and summarise folders of articles in one command."""
    from workbench.jobs import load_job, plan_job, run_job

    job = load_job(job_file)
    overrides: dict[str, Any] = {
        "skip_existing": skip_existing,
        "engine": engine,
        "address": address,
    }
    job = job.with_overrides(**{k: v for k, v in overrides.items() if v is not None})
    risks = job.confirmations(address_given=address is not None)
    if risks and not dry_run and not yes:
        confirm(job_file, risks)
    wb = job.workbench(cache=False if no_cache else cache, refresh=refresh, offline=offline)
    with wb:
        if dry_run:
            plan = plan_job(job, wb, address_given=address is not None)
            if as_json:
                typer.echo(json.dumps(plan.as_dict(), ensure_ascii=False, indent=2))
            else:
                typer.echo("\n".join(plan.lines()))
            return
        with folder_run(quiet, as_json) as progress:
            report = run_job(job, wb, listener=progress, manifest=manifest)
    finish(report, quiet=quiet, as_json=as_json)
