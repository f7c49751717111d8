"""Length-sorted, token-budget batching shared by every backend."""

from __future__ import annotations

from collections.abc import Sequence


def plan_batches(
    lengths: Sequence[int], budget: int, max_size: int, row_cost: int = 0
) -> list[list[int]]:
    """Group item indices into batches whose padded size ((longest + row_cost) × count) fits
    ``budget``. ``row_cost`` counts what every row costs beyond its source tokens (decoder
    caches, logits), in the same token units, so long inputs get fewer rows per batch.

    Items are sorted by length (longest first, ties by index so the plan is deterministic) so
    that padding is small; an item longer than the budget still gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        n = max(1, lengths[i])
        width = max(longest, n)
        if current and (
            (width + row_cost) * (len(current) + 1) > budget or len(current) >= max_size
        ):
            batches.append(current)
            current, width = [], n
        current.append(i)
        longest = width
    if current:
        batches.append(current)
    return batches


def repeated_run(tokens: Sequence[int], times: int, max_n: int = 4) -> bool:
    """True when some n-gram (n ≤ ``max_n``) repeats ``times`` times in a row: runaway output."""
    if times <= 1:
        return False
    length = len(tokens)
    for n in range(1, max_n + 1):
        need = n * times
        if need > length:
            break
        for start in range(length - need + 1):
            gram = tokens[start : start + n]
            if all(tokens[start + k * n : start + (k + 1) * n] == gram for k in range(1, times)):
                return True
    return False
