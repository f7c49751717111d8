"""What every command shares: user-error handling and option definitions built from settings."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import typer

from workbench.errors import WorkbenchError
from workbench.settings import (
    GenerationSettings,
    QualitySettings,
    RunSettings,
    TranslateOptions,
    default_for,
    help_for,
)

F = TypeVar("F", bound=Callable[..., Any])

#: Exit codes: 0 all done, 1 some documents failed, 2 the command could not run at all.
EXIT_FAILED_DOCS = 1
EXIT_USAGE = 2


def debug() -> bool:
    """``WORKBENCH_DEBUG=1`` shows tracebacks instead of one-line errors."""
    return os.environ.get("WORKBENCH_DEBUG", "").strip() not in ("", "0", "false")


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print one error line to stderr and return the Exit to raise."""
    typer.echo(f"workbench: error: {message}", err=True)
    return typer.Exit(code)


def user_errors(func: F) -> F:
    """Turn WorkbenchError (and Ctrl-C) into one line on stderr and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except WorkbenchError as exc:
            if debug():
                raise
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            typer.echo(
                "workbench: interrupted; finished outputs and cache entries are kept", err=True
            )
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def gen_help(name: str) -> str:
    return help_for(GenerationSettings, name)


def run_help(name: str) -> str:
    return help_for(RunSettings, name)


def run_default(name: str) -> Any:
    return default_for(RunSettings, name)


def quality_help(name: str) -> str:
    return help_for(QualitySettings, name)


def quality_default(name: str) -> Any:
    return default_for(QualitySettings, name)


def translate_help(name: str) -> str:
    return help_for(TranslateOptions, name)


def eprint(message: str, quiet: bool = False) -> None:
    if not quiet:
        typer.echo(message, err=True)


def reads_stdin(paths: list[str]) -> bool:
    """True when the only path is ``-``; ``-`` among files is a usage error."""
    if paths == ["-"]:
        return True
    if "-" in paths:
        raise fail("- (stdin) cannot be mixed with files")
    return False


def stdin_text(limit: int = 0) -> str:
    """Standard input as text; over ``limit`` bytes (0: no limit) it is refused in one line,
    reading no more than one byte past the limit."""
    from workbench.runs.limits import check_bytes

    data = sys.stdin.buffer.read(limit + 1) if limit else sys.stdin.buffer.read()
    if limit and len(data) > limit:
        # The size is at least this; read on in pieces only to say how big it is.
        size = len(data)
        while piece := sys.stdin.buffer.read(1 << 20):
            size += len(piece)
        check_bytes("stdin", size, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorkbenchError(
            f"stdin: not UTF-8 text (invalid byte at offset {exc.start}); re-encode it as UTF-8"
        ) from None


def check_models(*refs: str | None, offline: bool = False) -> None:
    """Refuse, before any work, a ``--model`` that no document could use: a folder that does
    not exist or lacks files, a malformed hub id, a hub model that is not cached when offline.

    Such a run could not do anything, so it exits 2 (through ``user_errors``) with one line,
    instead of failing every document with the same error.
    """
    from workbench.models.resolve import check

    for ref in refs:
        if ref and ref != "lead":
            check(ref, offline=offline)


#: What libraries print while loading a model, and the environment switches that silence it
#: in processes started later (Ray workers) or libraries not imported yet.
_QUIET_ENV = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


@contextlib.contextmanager
def quiet_libraries(quiet: bool) -> Iterator[None]:
    """Silence transformers' and huggingface_hub's bars and warnings ("Loading weights", ...)
    under ``-q`` and whenever stderr is not a terminal (logs and pipes stay clean).

    Restores everything on exit, so in-process callers (tests, notebooks) are left as they were.
    """
    if not quiet and sys.stderr.isatty():
        yield
        return
    import warnings

    saved_env = {name: os.environ.get(name) for name in _QUIET_ENV}
    os.environ.update(_QUIET_ENV)
    undo: list[Callable[[], None]] = []
    # Only libraries already imported need switching off here: the environment covers the
    # others when they are imported (importing them now would slow every command down).
    hub = sys.modules.get("huggingface_hub.utils")
    if hub is not None and not hub.are_progress_bars_disabled():
        hub.disable_progress_bars()
        undo.append(hub.enable_progress_bars)
    tf_logging = sys.modules.get("transformers.utils.logging")
    if tf_logging is not None:
        level = tf_logging.get_verbosity()
        tf_logging.set_verbosity_error()
        undo.append(lambda: tf_logging.set_verbosity(level))
        if tf_logging.is_progress_bar_enabled():
            tf_logging.disable_progress_bar()
            undo.append(tf_logging.enable_progress_bar)
    try:
        with warnings.catch_warnings():
            # Library warnings about model files (deprecated options, generation flags) are
            # for developers; workbench reports what matters to a user in its own lines.
            warnings.simplefilter("ignore")
            yield
    finally:
        for restore in reversed(undo):
            restore()
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
