"""BART, PEGASUS and LED summarisers (and an mBART model without language tokens)."""

from __future__ import annotations

from workbench.models.families import Family, ModelFiles, ModelInfo


class Bart(Family):
    name = "bart"
    title = "BART/PEGASUS"
    order = 60  # after mbart50, which takes an mBART model with language tokens
    model_types = frozenset({"bart", "pegasus", "led", "mbart"})

    def recognise(self, files: ModelFiles) -> ModelInfo | None:
        if files.model_type not in self.model_types:
            return None
        return ModelInfo(self.name, files.model_type, "summarise", None, False, files.max_positions)
