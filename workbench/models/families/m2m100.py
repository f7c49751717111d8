"""M2M100: language tokens ``__uk__``; the target is the forced first decoder token."""

from __future__ import annotations

from workbench import languages
from workbench.languages import Lang
from workbench.models.families import Control, Family, ModelFiles, ModelInfo


class M2M100(Family):
    name = "m2m100"
    title = "M2M100"
    order = 30
    model_types = frozenset({"m2m_100"})
    source_tokens = True
    ct2 = True

    def recognise(self, files: ModelFiles) -> ModelInfo | None:
        if files.model_type not in self.model_types:
            return None
        codes = frozenset(
            c for c in languages.LANGUAGES if f"__{c}__" in files.specials
        ) or frozenset(languages.LANGUAGES)
        return ModelInfo(
            self.name, files.model_type, "translate", codes, False, files.max_positions
        )

    def control(self, info: ModelInfo, src: Lang, tgt: Lang) -> Control:
        return Control(src_lang=src.code, forced_bos_token=f"__{tgt.code}__")
