"""Errors written for users: one line that names the thing and says what to do.

The library raises these; only the CLI decides how to print them and which exit code to use.
"""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class for every error workbench reports to a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(WorkbenchError):
    """An input document cannot be read or has nothing to work on."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class LanguageError(WorkbenchError):
    """A language code is unknown or cannot be served."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class ModelError(WorkbenchError):
    """A model cannot be found, resolved or loaded."""

    def __init__(self, message: str, model: str | None = None) -> None:
        super().__init__(message)
        self.model = model


class NoModelForPair(LanguageError):
    """No model in the catalog serves a language pair."""


class CacheError(WorkbenchError):
    """The cache database is unusable."""


class PromptError(WorkbenchError):
    """A prompt template is missing, malformed or lacks a variable."""


class JobError(WorkbenchError):
    """A job file is malformed."""
