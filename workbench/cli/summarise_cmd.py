"""``workbench summarise``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from workbench.cli.common import (
    EXIT_FAILED_DOCS,
    check_models,
    eprint,
    fail,
    quiet_libraries,
    reads_stdin,
    stdin_text,
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
    BeamsOption,
    CacheOption,
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
    PathsArgument,
    PrecisionOption,
    QuietOption,
    RefreshOption,
    RowsJsonOption,
    SkipOption,
)
from workbench.cli.run_cmd import finish, folder_run


def _help(name: str) -> str:
    # Read from the options dataclass, which imports nothing heavy.
    from workbench.settings import SummaryOptions, help_for

    return help_for(SummaryOptions, name)


def _default(name: str) -> Any:
    from workbench.settings import SummaryOptions, default_for

    return default_for(SummaryOptions, name)


@user_errors
def summarise(
    paths: PathsArgument,
    lang: Annotated[str | None, typer.Option("--lang", "-l", help=_help("lang"))] = None,
    src: Annotated[str | None, typer.Option("--from", "-f", help=_help("src"))] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help=_help("model"))] = None,
    # Values are checked by SummaryOptions.checked() (one line, as in job files and the API).
    sentences: Annotated[
        int | None, typer.Option("--sentences", "-s", help=_help("sentences"))
    ] = None,
    words: Annotated[int | None, typer.Option("--words", "-w", help=_help("words"))] = None,
    tokens: Annotated[int | None, typer.Option("--tokens", help=_help("tokens"))] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", "-p", help=_help("prompt"))] = None,
    var: Annotated[
        list[str] | None, typer.Option("--var", help=_help("variables"), metavar="NAME=VALUE")
    ] = None,
    strategy: Annotated[str, typer.Option("--strategy", help=_help("strategy"))] = _default(
        "strategy"
    ),
    translation_model: Annotated[
        str | None, typer.Option("--translation-model", help=_help("translation_model"))
    ] = None,
    chunk_tokens: Annotated[
        int | None, typer.Option("--chunk-tokens", help=_help("chunk_tokens"))
    ] = None,
    max_rounds: Annotated[int, typer.Option("--max-rounds", help=_help("max_rounds"))] = _default(
        "max_rounds"
    ),
    no_retry: Annotated[
        bool, typer.Option("--no-retry", help="Never ask a chat model a second time.")
    ] = False,
    glossary: Annotated[
        str | None, typer.Option("--glossary", "-g", help=_help("glossary"))
    ] = None,
    out: OutOption = Path("out"),
    fmt: FormatOption = None,
    beams: BeamsOption = None,
    device: DeviceOption = DEFAULT_DEVICE,
    backend: Annotated[
        str,
        typer.Option(
            help="Engine of the translate strategy's translation step: auto, torch or "
            "ctranslate2 (summarisers and chat models run on torch)."
        ),
    ] = DEFAULT_BACKEND,
    precision: PrecisionOption = DEFAULT_PRECISION,
    cache: CacheOption = None,
    no_cache: NoCacheOption = False,
    refresh: RefreshOption = False,
    offline: OfflineOption = DEFAULT_OFFLINE,
    as_json: RowsJsonOption = False,
    skip_existing: SkipOption = False,
    manifest: ManifestOption = None,
    engine: EngineOption = "local",
    address: AddressOption = None,
    fail_on: FailOnOption = DEFAULT_FAIL_ON,
    locked: LockedOption = False,
    lock_file: LockFileOption = None,
    quiet: QuietOption = False,
) -> None:
    """Summarise articles: lead-N, seq2seq summarisers or chat models, in any language."""
    from workbench import formats
    from workbench.api import Workbench
    from workbench.prompts import parse_vars
    from workbench.runs.folder import summarise_folder
    from workbench.settings import QualitySettings

    quality = QualitySettings(fail_on=fail_on)
    fmt = fmt and formats.get(fmt).name  # an unknown name: one line listing the formats
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
        "glossary": glossary,
    }
    check_models(model, translation_model, offline=offline)
    if glossary:
        from workbench.glossary import load

        load(glossary)  # a malformed glossary stops the command before any work
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
    if locked:
        _require_lock(wb, paths, options, out, lock_file)
    if reads_stdin(paths):
        with quiet_libraries(quiet):
            result = wb.summarise(stdin_text(wb.run.max_document_bytes), fmt=fmt, **options)
        typer.echo(result.text)
        for line in [*result.warnings(), *wb.warnings()]:
            eprint(f"workbench: warning: {line}")
        _notes(result, quiet)
        licence_notice([result])
        eprint(f"[{result.signature}] ({result.cache})", quiet)
        if quality.fail_on == "flag" and result.verdict == "flag":
            found = ", ".join(dict.fromkeys(f["check"] for f in result.checks))
            eprint(f"workbench: error: the quality checks flagged the summary ({found})")
            raise typer.Exit(EXIT_FAILED_DOCS)
        return
    with wb, folder_run(quiet, as_json) as progress:
        report = summarise_folder(
            wb,
            paths,
            out=out,
            skip_existing=skip_existing,
            manifest=manifest,
            listener=progress,
            fmt=fmt,
            **options,
        )
    for row in report.rows:
        if row.ok and not as_json:
            _notes(row.result, quiet)
    finish(report, quiet=quiet, as_json=as_json, fail_on=quality.fail_on)


def _notes(result: Any, quiet: bool) -> None:
    """Warnings worth a line: a language mismatch (licences: ``licence_notice``, once a run)."""
    if result is None:
        return
    if result.lang_mismatch:
        name = f"{result.path}: " if result.path else ""
        eprint(
            f"  warning: {name}the summary looks like {result.output_lang}, not {result.lang}"
            + (" (after one retry)" if result.retries else ""),
            quiet,
        )


def _require_lock(
    wb: Any, paths: list[str], options: dict[str, Any], out: Path, lock_file: Path | None
) -> None:
    """``--locked``: refuse the run unless its models are the locked ones."""
    from workbench.runs.lock import lock_command, lock_path
    from workbench.runs.steps import OWN, Step

    if reads_stdin(paths):
        raise fail(
            "--locked checks the models of a run over files or folders; save the text to a file"
        )
    # The step a folder run makes of these options (runs.folder.summarise_folder).
    rest = {k: v for k, v in options.items() if k not in ("lang", "src", "model", "beams")}
    step = Step("summarise", (options["lang"] or OWN,), model=options["model"], options=rest)
    require_lock(
        wb,
        paths,
        [step],
        lock=lock_file or lock_path(paths),
        refresh=lock_command(paths, summary=step, src=options["src"], lock_file=lock_file),
        src=options["src"],
        exclude=[out],
    )
