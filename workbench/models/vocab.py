"""Article text is text: it never becomes a control token or an id without an embedding row.

Some checkpoints ship a tokenizer with more tokens than the model has embedding rows:
facebook/bart-large-cnn's config says 50264 while its tokenizer adds ``<mask>`` as id 50264.
An article that happens to contain the text ``<mask>`` would then reach the model as that id
and fail inside the embedding lookup (``IndexError: index out of range in self``). Likewise an
article that spells a chat model's markup (``<|im_end|>``, ``<|im_start|>system``) must not end
its turn and open another one.
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


# Private-use characters mark where each message's content sits in the rendered template.
_OPEN, _CLOSE = "\ue000", "\ue001"


def encode_chat(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    """Token ids of a conversation through the tokenizer's chat template, generation prompt
    added, with every message's content tokenized as plain text.

    The template alone supplies control tokens: content that contains an added token's text
    is tokenized with special tokens split, and spliced into the rendered template.
    """
    added = [t.content for t in getattr(tokenizer, "added_tokens_decoder", {}).values()]
    contents = [str(m.get("content", "")) for m in messages]
    if not any(t and t in c for c in contents for t in added):
        enc = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)
        return list(enc["input_ids"])
    marks = [f"{_OPEN}{i}{_CLOSE}" for i in range(len(messages))]
    skeleton = [{**m, "content": mark} for m, mark in zip(messages, marks, strict=True)]
    rendered = tokenizer.apply_chat_template(skeleton, add_generation_prompt=True, tokenize=False)
    ids: list[int] = []
    pos = 0
    for content, mark in zip(contents, marks, strict=True):
        at = rendered.find(mark, pos)
        if at < 0:  # a template that rewrites its content: nothing to splice into
            enc = tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_dict=True
            )
            return list(enc["input_ids"])
        ids += tokenizer(rendered[pos:at], add_special_tokens=False).input_ids
        ids += tokenizer(content, add_special_tokens=False, split_special_tokens=True).input_ids
        pos = at + len(mark)
    return ids + tokenizer(rendered[pos:], add_special_tokens=False).input_ids
