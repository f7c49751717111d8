"""A run's steps: one task over every document, in one or more languages."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from workbench import languages
from workbench.errors import WorkbenchError
from workbench.settings import TranslateOptions

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
    #: A translate step's options, whole (built from ``langs`` and ``model`` when not given).
    translation: TranslateOptions | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise WorkbenchError(f"unknown task {self.task!r}; use translate or summarise")
        if not self.langs:
            raise WorkbenchError(f"a {self.task} step needs at least one language")
        if OWN in self.langs and self.task != "summarise":
            raise WorkbenchError(f"{OWN!r} names a summary language; translate needs real codes")
        if self.task == "translate":
            given = self.translation or TranslateOptions(tuple(self.langs), model=self.model)
            self.translation = given.checked()
            self.langs, self.model = self.translation.targets, self.translation.model
            return
        self.langs = tuple(
            dict.fromkeys(lang if lang == OWN else languages.normalize(lang) for lang in self.langs)
        )

    @classmethod
    def translating(cls, options: TranslateOptions, beams: int | None = None) -> Step:
        """A translate step with these options."""
        options = options.checked()
        return cls("translate", options.targets, beams=beams, translation=options)

    def translate_options(self, src: str | None = None) -> TranslateOptions:
        """A translate step's options, with the run's source language ``src`` where the step
        names none."""
        if self.translation is None:
            raise WorkbenchError(f"a {self.task} step has no translation options")
        if self.translation.src is None and src is not None:
            return replace(self.translation, src=src)
        return self.translation
