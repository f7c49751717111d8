"""mBART-50 (many-to-many): language tokens ``uk_UA`` for the 50 languages it covers."""

from __future__ import annotations

from workbench import languages
from workbench.errors import LanguageError
from workbench.languages import Lang
from workbench.models.families import Control, Family, ModelFiles, ModelInfo


class MBart50(Family):
    name = "mbart50"
    title = "mBART-50"
    order = 40  # before bart, which takes an mBART model without language tokens
    model_types = frozenset({"mbart"})
    source_tokens = True

    def recognise(self, files: ModelFiles) -> ModelInfo | None:
        if files.model_type not in self.model_types:
            return None
        mbart = {lang.mbart: lang.code for lang in languages.LANGUAGES.values() if lang.mbart}
        codes = frozenset(mbart[t] for t in files.specials if t in mbart)
        if not codes and "MBart50" not in files.tokenizer_class:
            return None
        return ModelInfo(
            self.name, files.model_type, "translate", codes or None, False, files.max_positions
        )

    def control(self, info: ModelInfo, src: Lang, tgt: Lang) -> Control:
        if not src.mbart or not tgt.mbart:
            missing = src.code if not src.mbart else tgt.code
            raise LanguageError(f"mBART-50 has no code for {missing}", code=missing)
        return Control(src_lang=src.mbart, forced_bos_token=tgt.mbart)

    def spells(self, code: str) -> bool:
        return languages.LANGUAGES[code].mbart is not None
