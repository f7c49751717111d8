"""``workbench translate``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from workbench.cli.common import (
    EXIT_FAILED_DOCS,
    check_models,
    eprint,
    fail,
    quiet_libraries,
    reads_stdin,
    stdin_text,
    translate_help,
    user_errors,
)
from workbench.cli.locking import licence_notice, require_lock
from workbench.cli.options import (
    DEFAULT_BACKEND,
    DEFAULT_DEVICE,
    DEFAULT_FAIL_ON,
    DEFAULT_OFFLINE,
    DEFAULT_PRECISION,
    AddressOption,
    BackendOption,
    BeamsOption,
    CacheOption,
    ContextOption,
    DeviceOption,
    EngineOption,
    FailOnOption,
    FormatOption,
    LockedOption,
    LockFileOption,
    ManifestOption,
    NoCacheOption,
    OfflineOption,
    OutOption,
    OverwriteEditsOption,
    PathsArgument,
    PrecisionOption,
    QuietOption,
    RefreshOption,
    RowsJsonOption,
    SkipOption,
)
from workbench.cli.run_cmd import finish, folder_run

if TYPE_CHECKING:
    from workbench.api import Workbench
    from workbench.settings import TranslateOptions


@user_errors
def translate(
    paths: PathsArgument,
    to: Annotated[str, typer.Option("--to", "-t", help=translate_help("targets"))],
    src: Annotated[str | None, typer.Option("--from", "-f", help=translate_help("src"))] = None,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help=translate_help("model"))
    ] = None,
    fallback_model: Annotated[
        str | None, typer.Option("--fallback-model", help=translate_help("fallback_model"))
    ] = None,
    pivot: Annotated[str | None, typer.Option("--pivot", help=translate_help("pivot"))] = None,
    glossary: Annotated[
        str | None, typer.Option("--glossary", "-g", help=translate_help("glossary"))
    ] = None,
    out: OutOption = Path("out"),
    fmt: FormatOption = None,
    beams: BeamsOption = None,
    context: ContextOption = None,
    device: DeviceOption = DEFAULT_DEVICE,
    backend: BackendOption = DEFAULT_BACKEND,
    precision: PrecisionOption = DEFAULT_PRECISION,
    cache: CacheOption = None,
    no_cache: NoCacheOption = False,
    refresh: RefreshOption = False,
    offline: OfflineOption = DEFAULT_OFFLINE,
    skip_existing: SkipOption = False,
    overwrite_edits: OverwriteEditsOption = False,
    manifest: ManifestOption = None,
    engine: EngineOption = "local",
    address: AddressOption = None,
    as_json: RowsJsonOption = False,
    fail_on: FailOnOption = DEFAULT_FAIL_ON,
    locked: LockedOption = False,
    lock_file: LockFileOption = None,
    quiet: QuietOption = False,
) -> None:
    """Translate articles into one or more languages."""
    from workbench import formats
    from workbench.api import Workbench
    from workbench.runs.folder import translate_paths
    from workbench.settings import QualitySettings, TranslateOptions

    quality = QualitySettings(fail_on=fail_on)
    fmt = fmt and formats.get(fmt).name  # an unknown name: one line listing the formats
    options = TranslateOptions(
        (to,), src=src, model=model, fallback_model=fallback_model, pivot=pivot, glossary=glossary
    ).checked()
    check_models(options.model, options.fallback_model, offline=offline)
    if options.glossary:
        from workbench.glossary import load

        load(options.glossary)  # a malformed glossary stops the command before any work
    wb = Workbench(
        device=device,
        backend=backend,
        precision=precision,
        cache=False if no_cache else cache,
        refresh=refresh,
        offline=offline,
        beams=beams,
        context_sentences=context,
        engine=engine,
        ray_address=address,
    )
    if locked:
        _require_lock(wb, paths, options, out, lock_file)
    if reads_stdin(paths):
        if len(options.targets) != 1:
            raise fail("reading stdin writes stdout: give exactly one --to language")
        with quiet_libraries(quiet):
            (result,) = wb.translate(
                stdin_text(wb.run.max_document_bytes), options=options, fmt=fmt
            )
        typer.echo(result.text, nl=False)
        for warning in result.warnings():
            eprint(f"workbench: warning: {warning}", quiet)
        for line in wb.warnings():
            eprint(f"workbench: warning: {line}")
        eprint(f"[{result.signature}]", quiet)
        licence_notice([result])
        if quality.fail_on == "flag" and result.verdict == "flag":
            found = ", ".join(dict.fromkeys(f["check"] for f in result.checks))
            eprint(f"workbench: error: the quality checks flagged the translation ({found})")
            raise typer.Exit(EXIT_FAILED_DOCS)
        return
    with wb, folder_run(quiet, as_json) as progress:
        report = translate_paths(
            wb,
            paths,
            options,
            out=out,
            skip_existing=skip_existing,
            manifest=manifest,
            listener=progress,
            overwrite_edits=overwrite_edits,
            fmt=fmt,
        )
    finish(report, quiet=quiet, as_json=as_json, fail_on=quality.fail_on)


def _require_lock(
    wb: Workbench, paths: list[str], options: TranslateOptions, out: Path, lock_file: Path | None
) -> None:
    """``--locked``: refuse the run unless its models are the locked ones."""
    from workbench.runs.lock import lock_command, lock_path
    from workbench.runs.steps import Step

    if reads_stdin(paths):
        raise fail(
            "--locked checks the models of a run over files or folders; save the text to a file"
        )
    require_lock(
        wb,
        paths,
        [Step.translating(options)],
        lock=lock_file or lock_path(paths),
        refresh=lock_command(paths, translate=options, lock_file=lock_file),
        exclude=[out],
    )
