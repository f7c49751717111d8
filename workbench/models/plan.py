"""The model layer's one answer to a task: what runs, with which settings, under which name.

A task asks once per (model, language pair) and carries the answer (a ``ModelPlan``) in the
work it hands to an engine. The cache key is built from the plan and the backend decodes with
the same plan, so what the key says is what ran. Planning reads JSON files only; no weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.models.families import Control, ModelInfo
from workbench.models.resolve import ResolvedModel


@dataclass(frozen=True)
class ModelPlan:
    """What runs for one task and language pair.

    ``backend`` is the engine and precision (``torch-fp32``, ``ct2-int8``) the cache key
    names: whatever runs the plan must run exactly that. ``settings`` are the effective
    decoding settings (the model's defaults merged with the run's), ``extra`` the
    backend-specific parts of the cache key (a chat model's prompt hash), ``control`` how the
    model is asked for the target language.
    """

    task: str
    resolved: ResolvedModel
    info: ModelInfo
    backend: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    src: str = ""
    tgt: str = ""
    control: Control = field(default_factory=Control)
    # A glossary's rules for this pair, as plain data, for a model that is given the terms in
    # its prompt (``workbench.glossary.apply.with_terms``). Not part of the plan's key: each
    # segment's key covers the rules that match it.
    terms: tuple[Mapping[str, Any], ...] = ()

    @property
    def context_sentences(self) -> int:
        """How many preceding sentences of its document each sentence is translated with
        (chat models; 0: each sentence alone, as every sentence-level model does)."""
        return int(self.settings.get("context_sentences", 0))

    @property
    def language_token(self) -> str | None:
        """How the target language is asked for: a source prefix (``>>por<<``, ``<2ko>``) or a
        forced first token (``__uk__``, ``ukr_Cyrl``); None for single-pair and chat models."""
        return self.control.prefix.strip() or self.control.forced_bos_token or None

    def wire(self) -> dict[str, Any]:
        """The plan as plain JSON values, for engines that ship work to other processes."""
        return {
            "task": self.task,
            "backend": self.backend,
            "settings": dict(self.settings),
            "extra": dict(self.extra),
            "src": self.src,
            "tgt": self.tgt,
            "control": {
                "prefix": self.control.prefix,
                "src_lang": self.control.src_lang,
                "forced_bos_token": self.control.forced_bos_token,
            },
            "terms": [dict(t) for t in self.terms],
        }

    @classmethod
    def from_wire(
        cls, data: Mapping[str, Any], resolved: ResolvedModel, info: ModelInfo
    ) -> ModelPlan:
        """The plan ``wire()`` wrote, for the same model located on this machine."""
        return cls(
            task=str(data["task"]),
            resolved=resolved,
            info=info,
            backend=str(data["backend"]),
            settings=dict(data["settings"]),
            extra=dict(data["extra"]),
            src=str(data["src"]),
            tgt=str(data["tgt"]),
            control=Control(**data["control"]),
            terms=tuple(dict(t) for t in data.get("terms", ())),
        )
