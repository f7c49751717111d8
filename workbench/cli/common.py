"""What every command shares: user-error handling and option definitions built from settings."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from workbench.errors import WorkbenchError
from workbench.settings import GenerationSettings, RunSettings, default_for, help_for

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


def stdin_text() -> str:
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WorkbenchError(
            f"stdin: not UTF-8 text (invalid byte at offset {exc.start}); re-encode it as UTF-8"
        ) from None
