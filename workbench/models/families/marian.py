"""Marian (opus-mt): one pair per model, or many targets asked for by a ``>>ukr<<`` prefix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from workbench.languages import Lang
from workbench.models.families import (
    Control,
    Family,
    ModelFiles,
    ModelInfo,
    Stated,
    codes_from,
    known_codes,
    read_json,
)

_TAG = re.compile(r"^>>([a-z]{2,3}(?:_[A-Za-z]+)?)<<$")
# opus-mt names spell their pair: opus-mt-zh-en, opus-mt-tc-big-en-pt (groups such as "zle" or
# "mul" are not languages and are ignored).
_OPUS_NAME = re.compile(r"^opus-mt-(?:tc-[a-z]+-)?([A-Za-z_]+)-([A-Za-z_]+)$")


class Marian(Family):
    name = "marian"
    title = "Marian"
    order = 10
    model_types = frozenset({"marian"})
    ct2 = True

    def recognise(self, files: ModelFiles) -> ModelInfo | None:
        if files.model_type not in self.model_types:
            return None
        vocab = read_json(files.folder / "vocab.json")
        tags = {t for t in vocab if t.startswith(">>")} | files.specials
        codes = codes_from(tags, _TAG)
        return ModelInfo(
            self.name,
            files.model_type,
            "translate",
            codes or None,
            bool(codes),
            files.max_positions,
        )

    def control(self, info: ModelInfo, src: Lang, tgt: Lang) -> Control:
        return Control(prefix=f">>{tgt.iso3}<< " if info.multi_target else "")

    def stated_pair(self, folder: Path, model_id: str) -> list[Stated]:
        tok = read_json(folder / "tokenizer_config.json")
        meta = read_json(folder / "metadata.json")
        name = _OPUS_NAME.match(model_id.rsplit("/", 1)[-1])
        return [
            (
                known_codes(tok.get("source_lang")),
                known_codes(tok.get("target_lang")),
                "its tokenizer_config.json",
            ),
            (
                known_codes(meta.get("src_alpha2") or meta.get("source_languages")),
                known_codes(meta.get("tgt_alpha2") or meta.get("target_languages")),
                "its metadata.json",
            ),
            (
                known_codes(name.group(1)) if name else None,
                known_codes(name.group(2)) if name else None,
                "its name",
            ),
        ]

    def ct2_tokenizer(self, folder: Path) -> Any | None:
        # Tokenized on sentencepiece directly (identical output): this keeps transformers, and
        # with it torch, out of a CTranslate2 process.
        from workbench.models.marian_spm import MarianSpm

        return MarianSpm.load(folder)
