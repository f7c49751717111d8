"""NLLB-200: the M2M100 architecture with FLORES-200 codes (``ukr_Cyrl``) as language tokens."""

from __future__ import annotations

from workbench import languages
from workbench.languages import Lang
from workbench.models.families import Control, Family, ModelFiles, ModelInfo


class Nllb(Family):
    name = "nllb"
    title = "NLLB"
    order = 20  # before m2m100, which reads the same model type
    model_types = frozenset({"m2m_100"})
    source_tokens = True
    ct2 = True

    def recognise(self, files: ModelFiles) -> ModelInfo | None:
        if files.model_type not in self.model_types:
            return None
        if "Nllb" not in files.tokenizer_class and "eng_Latn" not in files.specials:
            return None
        by_nllb = {lang.nllb: lang.code for lang in languages.LANGUAGES.values()}
        codes = frozenset(by_nllb[t] for t in files.specials if t in by_nllb) or frozenset(
            languages.LANGUAGES
        )
        return ModelInfo(
            self.name, files.model_type, "translate", codes, False, files.max_positions
        )

    def control(self, info: ModelInfo, src: Lang, tgt: Lang) -> Control:
        return Control(src_lang=src.nllb, forced_bos_token=tgt.nllb)
