"""Job-file keys, read from the settings classes: a new setting is a job-file key too; and
the check of a value's type against its field."""

from __future__ import annotations

import types
import typing
from dataclasses import fields
from typing import Any

from workbench.settings import (
    GenerationSettings,
    QualitySettings,
    RunSettings,
    SummaryOptions,
    TranslateOptions,
)

#: The job's own top-level keys: what to read, where to write, how to run it.
JOB_KEYS = ("inputs", "format", "out", "steps", "skip_existing", "engine", "address")
#: Job-file names of the options' language fields: ``from = "en"``, ``to = ["ko", "uk"]``.
KEY_NAMES = {"src": "from", "targets": "to", "lang": "to"}
#: The generation setting a step may set for itself (the others are the job's).
STEP_GENERATION = ("beams",)
TASK_ALIASES = {"translate": "translate", "summarise": "summarise", "summarize": "summarise"}


def key_name(name: str) -> str:
    """The job-file key of a settings field."""
    return KEY_NAMES.get(name, name)


def top_keys() -> tuple[str, ...]:
    """Every key a job file may have at the top level."""
    classes = (RunSettings, GenerationSettings, QualitySettings)
    settings = [f.name for cls in classes for f in fields(cls)]
    return (*JOB_KEYS, key_name("src"), *settings)


def step_keys(task: str) -> tuple[str, ...]:
    """Every key a step of ``task`` may have: ``task``, its options' fields (the source
    language is the job's ``from``) and STEP_GENERATION."""
    cls = TranslateOptions if task == "translate" else SummaryOptions
    own = [key_name(f.name) for f in fields(cls) if f.name != "src"]
    return ("task", *dict.fromkeys(own), *STEP_GENERATION)


def summarise_option_names() -> tuple[str, ...]:
    """The summarising options a summarise step sets besides its languages and model."""
    return tuple(f.name for f in fields(SummaryOptions) if f.name not in (*KEY_NAMES, "model"))


#: How a settings file (a job file) names the type a field takes.
_KIND_NAMES = {
    str: "text",
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    dict: "a table",
    tuple: "a list",
}


def _kinds(hint: Any) -> tuple[type, ...]:
    """The types a field's type hint admits (``int | None`` → ``(int,)``)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return tuple(k for arg in typing.get_args(hint) for k in _kinds(arg))
    if hint is type(None):
        return ()
    return (typing.get_origin(hint) or hint,)


def type_problem(value: Any, hint: Any) -> str | None:
    """What is wrong with the type of ``value``, read from a TOML file, for a field of type
    ``hint`` (a type or a hint such as ``int | None``): ``expected a whole number, got
    'four'``; None when it fits. A bool is no number here, a whole number is a float."""
    kinds = _kinds(hint)
    if isinstance(value, bool):
        fits = bool in kinds
    elif isinstance(value, int) and float in kinds:
        fits = True
    else:
        fits = isinstance(value, tuple(list if k is tuple else k for k in kinds))
    return None if fits else f"expected {_KIND_NAMES[kinds[0]]}, got {value!r}"
