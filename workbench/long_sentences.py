"""Splitting a sentence longer than a model takes into consecutive chunks within its limit.

Chunks are cut where a sentence is easiest to split (after ``;``, ``:``, ``,``, before a clause
conjunction, at whitespace) and between characters only as a last resort; joining them gives
the sentence back, so nothing is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from itertools import pairwise

# fmt: off
_CONJUNCTIONS = (
    "and", "but", "or", "because", "while", "whereas", "although", "though", "which", "who",
    "so", "yet", "when", "after", "before", "і", "й", "та", "але", "а", "бо", "що", "який",
    "яка", "яке", "які", "коли", "щоб", "хоча", "проте", "однак", "тому",
)
_KO_CONNECTIVES = ("고", "며", "지만", "는데", "면서", "으나", "므로", "니까", "어서", "아서")
# fmt: on

# Preferred cut points, best first; a chunk is cut at the end of the match.
_CUTS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[;；]\s*"),
    re.compile(r"[:：]\s+"),
    re.compile(r",(?!\d)\s*|[，、]\s*"),
    re.compile(
        r"\s+(?=(?:" + "|".join(_CONJUNCTIONS) + r")\b)"
        r"|(?:" + "|".join(f"(?<={w})" for w in _KO_CONNECTIVES) + r")\s+",
        re.IGNORECASE,
    ),
    re.compile(r"\s+"),
)


def split_long(text: str, max_tokens: int, count_tokens: Callable[[str], int]) -> list[str]:
    """Split a sentence longer than ``max_tokens`` into consecutive chunks within the limit.

    Cuts preferably after ``;``, then ``:``, then ``,``, then before a clause conjunction, then at
    whitespace, and finally between characters (CJK text without spaces, or one over-long word).
    ``"".join(result) == text``; nothing is dropped. A sentence within the limit is ``[text]``.
    A chunk exceeds the limit only when a single character already does.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, not {max_tokens}")
    if not text or count_tokens(text) <= max_tokens:
        return [text]
    return _split_level(text, 0, max_tokens, count_tokens)


def _split_level(
    text: str, level: int, max_tokens: int, count_tokens: Callable[[str], int]
) -> list[str]:
    if level == len(_CUTS):
        return _hard_split(text, max_tokens, count_tokens)
    cuts = [m.end() for m in _CUTS[level].finditer(text) if 0 < m.end() < len(text)]
    if not cuts:
        return _split_level(text, level + 1, max_tokens, count_tokens)
    edges = [0, *sorted(set(cuts)), len(text)]
    chunks: list[str] = []
    current = ""
    # Greedy packing: as many consecutive segments per chunk as the limit allows.
    for segment in (text[a:b] for a, b in pairwise(edges)):
        if current and count_tokens(current + segment) <= max_tokens:
            current += segment
            continue
        if current:
            chunks.append(current)
        if count_tokens(segment) <= max_tokens:
            current = segment
        else:
            chunks.extend(_split_level(segment, level + 1, max_tokens, count_tokens))
            current = ""
    if current:
        chunks.append(current)
    return chunks


def _hard_split(text: str, max_tokens: int, count_tokens: Callable[[str], int]) -> list[str]:
    chunks: list[str] = []
    while text:
        # Longest prefix within the limit, by binary search (token counts grow with length).
        low, high = 1, len(text)
        while low < high:
            middle = (low + high + 1) // 2
            if count_tokens(text[:middle]) <= max_tokens:
                low = middle
            else:
                high = middle - 1
        cut = low
        while 1 < cut < len(text) and unicodedata.combining(text[cut]):
            cut -= 1  # keep a combining mark with its base character
        chunks.append(text[:cut])
        text = text[cut:]
    return chunks
