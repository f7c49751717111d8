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

from workbench import formats
from workbench.cli.common import (
    EXIT_FAILED_DOCS,
    debug,
    eprint,
    fail,
    quality_help,
    quiet_libraries,
    user_errors,
)
from workbench.cli.options import (
    ADDRESS_HELP,
    ENGINE_HELP,
    CacheOption,
    LockedOption,
    LockFileOption,
    ManifestOption,
    NoCacheOption,
    OfflineOption,
    OverwriteEditsOption,
    QuietOption,
    RefreshOption,
)

if TYPE_CHECKING:
    from workbench.cli.progress import RunProgress
    from workbench.runs.report import Row, RunReport

#: Exit code after SIGTERM (128 + 15), as a shell reports a process it terminated.
EXIT_TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as an interrupt so that it stops a run the same clean way as Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    from workbench import cancel

    cancel.interrupt(Terminated())


def _on_sigint(signum: int, frame: object) -> None:
    from workbench import cancel

    cancel.interrupt(KeyboardInterrupt())


@contextlib.contextmanager
def stopping_cleanly(failed: list[Row] | None = None) -> Iterator[None]:
    """Run a folder job so that Ctrl-C and SIGTERM both stop it cleanly and promptly.

    Outputs are written as they finish and the cache commits every chunk, so what finished is
    kept; the batch in flight is abandoned (engines wait for it in short sleeps, and torch
    checks the stop request at every step, so the stop takes well under a second). Exits 130
    (Ctrl-C) or 143 (SIGTERM). The errors of rows that failed before the stop (``failed``) are
    printed first.
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
        for line in error_lines(failed or []):
            typer.echo(line, err=True)
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
    from workbench.cli.progress import RunProgress

    failed: list[Row] = []
    with (
        stopping_cleanly(failed),
        quiet_libraries(quiet or as_json),
        RunProgress(quiet=quiet or as_json, line=row_line(quiet, as_json, failed)) as progress,
    ):
        yield progress


def row_line(
    quiet: bool, as_json: bool, failed: list[Row] | None = None
) -> Callable[[Row], str | None]:
    """The stderr line for a finished row (none unless it succeeded and the run is not quiet),
    then its warnings (a language mismatch), each said once per run.

    Failed rows are kept in ``failed``: their errors are printed at the end, one line per
    cause naming every file it stopped, rather than the same line once per document.
    """
    warned: set[str] = set()

    def line(row: Row) -> str | None:
        if as_json:
            return None
        if row.error:
            if failed is not None:
                failed.append(row)
            return None
        if quiet:
            return None
        if row.note:  # a file not read (an earlier output among the inputs), an edit kept
            return f"workbench: skipped {row.input}: {row.note}"
        if row.signature:
            text = f"{row.input} → {row.output}  [{row.signature}] ({row.cache})"
        else:
            # No model ran (a document already in the target language is copied): say why.
            why = "; ".join(getattr(row.result, "notes", None) or ()) or "no model run"
            text = f"{row.input} → {row.output}  ({why})"
        warnings = getattr(row.result, "warnings", None)
        for warning in warnings() if callable(warnings) else ():
            if warning not in warned:
                warned.add(warning)
                text += f"\nworkbench: warning: {warning}"
        return text

    return line


#: Files named in one grouped error line; the manifest lists them all.
MAX_NAMED = 8


def error_lines(rows: list[Row]) -> list[str]:
    """One ``workbench: error:`` line per cause, naming the files (and languages) it failed.

    Rows are grouped by their error with the file's own name taken out, so a model that cannot
    be found is one line for the whole run. A message ``cause; what to do`` becomes
    ``cause: files; what to do``; a message about a file (``path: problem``) becomes
    ``files: problem``.
    """
    langs = {r.lang for r in rows if r.lang and r.lang != "-"}
    groups: dict[tuple[bool, str], dict[str, list[str]]] = {}
    for row in rows:
        message = row.error or "failed"
        about_file = message.startswith(f"{row.input}: ")
        key = (about_file, message[len(row.input) + 2 :] if about_file else message)
        files = groups.setdefault(key, {})
        files.setdefault(row.input, [])
        if row.lang and row.lang != "-" and row.lang not in files[row.input]:
            files[row.input].append(row.lang)
    lines = []
    for (about_file, message), files in groups.items():
        names = [
            f"{name} ({', '.join(ls)})" if len(langs) > 1 and ls else name
            for name, ls in files.items()
        ]
        named = ", ".join(names[:MAX_NAMED])
        if len(names) > MAX_NAMED:
            named += f" and {len(names) - MAX_NAMED} more (see the manifest)"
        if about_file:
            lines.append(f"workbench: error: {named}: {message}")
            continue
        cause, sep, advice = message.partition("; ")
        lines.append(f"workbench: error: {cause}: {named}{sep}{advice}")
    return lines


def finish(report: RunReport, *, quiet: bool, as_json: bool, fail_on: str = "never") -> None:
    """Print the ``--json`` rows, ignored files, grouped errors and the summary line; exit 1
    if any document failed, or (``fail_on="flag"``) if the quality checks flagged an output."""
    if as_json:
        for row in report.rows:
            typer.echo(json.dumps(row.manifest(), ensure_ascii=False))
    else:
        if not quiet:
            for path in report.ignored:
                eprint(f"workbench: ignored {path} (not {formats.either()})")
        failed = [r for r in report.rows if not r.ok]
        if debug():
            print_causes(failed)
        for line in error_lines(failed):
            eprint(line)
    for line in report.warnings:
        eprint(f"workbench: warning: {line}")
    from workbench.cli.locking import licence_notice

    licence_notice(row.result for row in report.rows if row.ok)
    eprint(report.summary(), quiet)
    if report.failed:
        raise typer.Exit(EXIT_FAILED_DOCS)
    if fail_on == "flag" and report.flagged:
        if not as_json:
            for line in flagged_lines(report.rows):
                eprint(line, quiet)
        eprint(
            f"workbench: error: the quality checks flagged {report.flagged} outputs "
            "(--fail-on flag); every output was written, and each one's checks are in its "
            "provenance (.json beside it)"
        )
        raise typer.Exit(EXIT_FAILED_DOCS)


def flagged_lines(rows: list[Row]) -> list[str]:
    """One line per flagged output: the file, the language and the checks that flagged it."""
    lines = []
    for row in rows:
        if row.verdict != "flag":
            continue
        counts: dict[str, int] = {}
        for flag in getattr(row.result, "checks", []):
            if flag.get("severity") in ("error", "warning"):
                counts[flag["check"]] = counts.get(flag["check"], 0) + 1
        found = ", ".join(f"{name} ×{n}" if n > 1 else name for name, n in counts.items())
        lines.append(f"workbench: flagged {row.output or row.input} ({row.lang}): {found}")
    return lines


def print_causes(rows: list[Row]) -> None:
    """``WORKBENCH_DEBUG=1``: the traceback behind each failed row's one-line error (once per
    exception), so a model misbehaving can be diagnosed without losing the other documents."""
    import traceback

    seen: set[int] = set()
    for row in rows:
        exc = getattr(row.result, "exception", None)
        cause = getattr(exc, "__cause__", None)
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        typer.echo(f"workbench: traceback for {row.input}:", err=True)
        typer.echo("".join(traceback.format_exception(cause)).rstrip(), err=True)


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
    overwrite_edits: OverwriteEditsOption = False,
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
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help=quality_help("fail_on") + " Default: the job file's fail_on, else never.",
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Confirm a job that writes outside its own folder or sends documents to a "
            "Ray cluster (asked on a terminal; required in scripts).",
        ),
    ] = False,
    locked: LockedOption = False,
    lock_file: LockFileOption = None,
    quiet: QuietOption = False,
) -> None:
    """Run a job file: translate and summarise folders of articles in one command."""
    from workbench.runs.jobs import load_job, plan_job, run_job
    from workbench.settings import QualitySettings

    job = load_job(job_file)
    overrides: dict[str, Any] = {
        "skip_existing": skip_existing,
        "engine": engine,
        "address": address,
        "quality": None if fail_on is None else QualitySettings(fail_on=fail_on),
    }
    job = job.with_overrides(**{k: v for k, v in overrides.items() if v is not None})
    wb = job.workbench(cache=False if no_cache else cache, refresh=refresh, offline=offline)
    if locked:
        from workbench.cli.locking import require_lock
        from workbench.runs.lock import lock_command, lock_path

        require_lock(
            wb,
            list(job.inputs),
            list(job.steps),
            lock=lock_file or lock_path([], job_file),
            refresh=lock_command([], job_file=job_file, lock_file=lock_file),
            src=job.src,
            exclude=[job.out],
        )
    risks = job.confirmations(address_given=address is not None)
    if risks and not dry_run and not yes:
        confirm(job_file, risks)
    with wb:
        if dry_run:
            plan = plan_job(job, wb, address_given=address is not None)
            if as_json:
                typer.echo(json.dumps(plan.as_dict(), ensure_ascii=False, indent=2))
            else:
                typer.echo("\n".join(plan.lines()))
            return
        with folder_run(quiet, as_json) as progress:
            report = run_job(
                job, wb, listener=progress, manifest=manifest, overwrite_edits=overwrite_edits
            )
    finish(report, quiet=quiet, as_json=as_json, fail_on=job.quality.fail_on)
