"""A run's steps: one task over every document, in one or more languages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench import languages
from workbench.errors import WorkbenchError

TASKS = ("translate", "summarise")
#: A summary language meaning "the language the article is in" (detected, or ``src``).
OWN = "own"


@dataclass
class Step:
    """One task over every document: translate into ``langs``, or summarise in each of them.

    A summary in language L is made from the document's text in L: the translation from an
    earlier step when there is one, otherwise the original (which the summariser takes into L
    by its own strategy when L is not the article's language). ``own`` is the article's own
    language, whatever it is.
    """

    task: str
    langs: tuple[str, ...]
    model: str | None = None
    beams: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # summarise options (sentences, ...)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise WorkbenchError(f"unknown task {self.task!r}; use translate or summarise")
        if not self.langs:
            raise WorkbenchError(f"a {self.task} step needs at least one language")
        if OWN in self.langs and self.task != "summarise":
            raise WorkbenchError(f"{OWN!r} names a summary language; translate needs real codes")
        self.langs = tuple(
            dict.fromkeys(lang if lang == OWN else languages.normalize(lang) for lang in self.langs)
        )
