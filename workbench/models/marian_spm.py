"""MarianTokenizer's encode and decode straight on sentencepiece, without transformers.

The CTranslate2 backend needs a tokenizer but no torch; importing transformers (which imports
torch) costs about 3 s and 230 MB of memory, more than an opus-mt model itself. For the common
Marian layout (``source.spm``, ``target.spm``, one shared ``vocab.json``) this module repeats
what transformers 5's MarianTokenizer does, step for step:

* encode: a leading ``>>xxx<<`` language code is one token, the rest goes through the source
  sentencepiece model; pieces missing from vocab.json become ``<unk>``; ``</s>`` is appended.
* decode: special ids are dropped, ids become vocab.json tokens, and the pieces are joined by
  the *source* sentencepiece model (transformers does so when the vocabulary is shared), with
  ``▁`` turned into spaces and the ends stripped.

Anything this does not cover — text containing a special or added token, separate vocabularies,
sampling options, space clean-up — returns None from ``load`` (or falls back to transformers
per text), so outputs stay identical to the transformers tokenizer; tests/test_ct2.py checks
that on every tiny Marian model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SPIECE_UNDERLINE = "▁"
# tokenizer_config.json keys this module understands; any other key may change tokenization.
_KNOWN_KEYS = {
    "added_tokens_decoder",
    "additional_special_tokens",
    "extra_special_tokens",
    "backend",
    "clean_up_tokenization_spaces",
    "eos_token",
    "model_max_length",
    "name_or_path",
    "pad_token",
    "separate_vocabs",
    "source_lang",
    "sp_model_kwargs",
    "special_tokens_map_file",
    "target_lang",
    "target_vocab_file",
    "tokenizer_class",
    "tokenizer_file",
    "transformers_version",
    "unk_token",
}


@dataclass(frozen=True)
class Encoded:
    """The one field of a transformers BatchEncoding the backends read."""

    input_ids: list[list[int]] | list[int]


def _content(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("content"), str):
        return value["content"]
    return None


class MarianSpm:
    """The parts of MarianTokenizer the seq2seq backends use, on sentencepiece alone."""

    def __init__(self, folder: Path, config: dict[str, Any], vocab: dict[str, int]) -> None:
        import sentencepiece as spm

        self.folder = folder
        self._source = spm.SentencePieceProcessor(model_file=str(folder / "source.spm"))
        self._vocab = vocab
        self._decoder = {i: t for t, i in vocab.items()}
        self.unk_token = _content(config.get("unk_token")) or "<unk>"
        self.eos_token = _content(config.get("eos_token")) or "</s>"
        self.pad_token = _content(config.get("pad_token")) or "<pad>"
        self.unk_token_id = vocab[self.unk_token]
        self.eos_token_id = vocab[self.eos_token]
        self.pad_token_id = vocab.get(self.pad_token)
        limit = config.get("model_max_length")
        self.model_max_length = int(limit) if isinstance(limit, int) else int(1e30)
        self.src_lang: str | None = None  # set by the backends for other families; unused
        specials = {self.unk_token, self.eos_token, self.pad_token}
        for key in ("additional_special_tokens", "extra_special_tokens"):
            value = config.get(key) or []
            for item in value.values() if isinstance(value, dict) else value:
                if (token := _content(item)) is not None:
                    specials.add(token)
        added = set(specials)
        for item in (config.get("added_tokens_decoder") or {}).values():
            if (token := _content(item)) is not None:
                added.add(token)
                if isinstance(item, dict) and item.get("special"):
                    specials.add(token)
        # Text containing one of these is split around it by transformers: handed over to it.
        self._added = tuple(sorted(added))
        self._special_ids = {vocab[t] for t in specials if t in vocab}
        self._fallback: Any = None

    @classmethod
    def load(cls, folder: Path) -> MarianSpm | None:
        """The fast tokenizer for a plain Marian folder, or None when transformers is needed."""
        needed = [folder / n for n in ("source.spm", "target.spm", "vocab.json")]
        if not all(p.is_file() for p in needed) or (folder / "tokenizer.json").exists():
            return None
        try:
            config = json.loads((folder / "tokenizer_config.json").read_text("utf-8"))
            vocab = json.loads((folder / "vocab.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(config, dict) or not isinstance(vocab, dict):
            return None
        if set(config) - _KNOWN_KEYS or config.get("tokenizer_class", "MarianTokenizer") != (
            "MarianTokenizer"
        ):
            return None
        if config.get("separate_vocabs") or config.get("sp_model_kwargs"):
            return None
        if config.get("clean_up_tokenization_spaces"):
            return None
        unk = _content(config.get("unk_token")) or "<unk>"
        eos = _content(config.get("eos_token")) or "</s>"
        if unk not in vocab or eos not in vocab:
            return None
        return cls(folder, config, vocab)

    # --- encode ----------------------------------------------------------------------------

    def _encode_one(self, text: str, add_special_tokens: bool) -> list[int]:
        if any(token in text for token in self._added):
            return self._transformers()(text, add_special_tokens=add_special_tokens).input_ids
        tokens: list[str] = []
        if text.startswith(">>") and (end := text.find("<<")) != -1:
            tokens.append(text[: end + 2])
            text = text[end + 2 :]
        if text:
            tokens.extend(self._source.encode(text, out_type=str))
        unk = self.unk_token_id
        ids = [self._vocab.get(t, unk) for t in tokens]
        return [*ids, self.eos_token_id] if add_special_tokens else ids

    def __call__(self, texts: str | Sequence[str], add_special_tokens: bool = True) -> Encoded:
        if isinstance(texts, str):
            return Encoded(self._encode_one(texts, add_special_tokens))
        return Encoded([self._encode_one(t, add_special_tokens) for t in texts])

    def convert_tokens_to_ids(self, token: str) -> int:
        return self._vocab.get(token, self.unk_token_id)

    # --- decode ----------------------------------------------------------------------------

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        if not skip_special_tokens:
            return str(self._transformers().decode(list(ids), skip_special_tokens=False))
        pieces: list[str] = []
        for i in ids:
            if i in self._special_ids:
                continue
            token = self._decoder.get(i)
            if token is None:
                token = self._source.id_to_piece(i) if 0 <= i < len(self._source) else ""
                token = token or self.unk_token
            pieces.append(token)
        return self._source.decode_pieces(pieces).replace(_SPIECE_UNDERLINE, " ").strip()

    def _transformers(self) -> Any:
        # Rare inputs only (a special token typed into the text): load the real tokenizer.
        if self._fallback is None:
            from transformers import AutoTokenizer

            self._fallback = AutoTokenizer.from_pretrained(str(self.folder))
        return self._fallback
