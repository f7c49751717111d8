"""T5: MADLAD-400 translators (a ``<2uk>`` source prefix) and mT5 summarisers (no such tags)."""

from __future__ import annotations

import re
from pathlib import Path

from workbench.languages import Lang
from workbench.models.families import Control, Family, ModelFiles, ModelInfo, codes_from, read_json

_TAG = re.compile(r"^<2([a-z]{2,3}(?:[-_][A-Za-z]+)?)>$")


class T5(Family):
    name = "t5"
    title = "T5/MADLAD"
    order = 50
    model_types = frozenset({"t5", "mt5", "umt5"})
    ct2 = True
    relative_positions = True
    summariser_note = " without <2xx> language tokens"

    def recognise(self, files: ModelFiles) -> ModelInfo | None:
        if files.model_type not in self.model_types:
            return None
        codes = codes_from(set(files.specials) | _vocab_tags(files.folder), _TAG)
        # Relative positions: config.json states no input limit.
        if codes:
            return ModelInfo(self.name, files.model_type, "translate", codes, True, None)
        return ModelInfo(self.name, files.model_type, "summarise", None, False, None)

    def control(self, info: ModelInfo, src: Lang, tgt: Lang) -> Control:
        return Control(prefix=f"<2{tgt.code}> ") if info.multi_target else Control()


def _vocab_tags(folder: Path) -> set[str]:
    # MADLAD's <2xx> tags live in the sentencepiece vocab, which only tokenizer.json exposes as text.
    vocab = read_json(folder / "tokenizer.json").get("model", {}).get("vocab", [])
    tags: set[str] = set()
    for item in vocab:
        piece = item[0] if isinstance(item, list) else item
        if isinstance(piece, str) and piece.startswith("<2") and piece.endswith(">"):
            tags.add(piece)
    return tags
