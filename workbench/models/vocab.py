"""Keep text off token ids that have no embedding row.

Some checkpoints ship a tokenizer with more tokens than the model has embedding rows:
facebook/bart-large-cnn's config says 50264 while its tokenizer adds ``<mask>`` as id 50264.
An article that happens to contain the text ``<mask>`` would then reach the model as that id
and fail inside the embedding lookup (``IndexError: index out of range in self``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.models.families import read_json


def embedding_rows(folder: Path) -> int | None:
    """The number of token embeddings ``config.json`` declares, when it says."""
    config = read_json(folder / "config.json")
    rows = config.get("vocab_size")
    if not isinstance(rows, int):
        rows = (config.get("text_config") or {}).get("vocab_size")
    return rows if isinstance(rows, int) and rows > 0 else None


def guard_vocab(tokenizer: Any, folder: Path) -> Any:
    """Make ``tokenizer`` read special-token text in articles as plain text when the tokenizer
    knows ids past the model's embedding rows (the extra ids are always added special tokens).

    Control tokens the tokenizer itself adds (BOS, EOS) are unaffected; only text such as a
    literal ``<mask>`` in an article is split into ordinary pieces.
    """
    rows = embedding_rows(folder)
    if rows is not None and len(tokenizer) > rows and hasattr(tokenizer, "split_special_tokens"):
        tokenizer.split_special_tokens = True
    return tokenizer
