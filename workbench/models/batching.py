"""Length-sorted, token-budget batching shared by every backend."""

from __future__ import annotations

from collections.abc import Hashable, Sequence


def bound_step(bound: int) -> int:
    """``bound`` rounded up to a ladder with four steps per doubling (…, 20, 24, 28, 32, 40,
    48, 56, 64, 80, 96, …): at most 25% over from 16 on.

    Beam search is not prefix-stable: a row decoded to a longer bound can return a different
    hypothesis, so a row whose batch decodes to its neighbours' longer bound may differ from
    the same row decoded alone. Decoding every row to the step of its own bound, with only
    rows of one step in a batch, makes the bound a function of the row alone; the ladder keeps
    the number of distinct steps (and so of extra batches) small.
    """
    bound = max(1, bound)
    step = max(4, 1 << max(0, bound.bit_length() - 3))
    return -(-bound // step) * step


def plan_batches(
    lengths: Sequence[int],
    budget: int,
    max_size: int,
    row_cost: int = 0,
    groups: Sequence[Hashable] | None = None,
) -> list[list[int]]:
    """Group item indices into batches whose padded size ((longest + row_cost) × count) fits
    ``budget``. ``row_cost`` counts what every row costs beyond its source tokens (decoder
    caches, logits), in the same token units, so long inputs get fewer rows per batch.
    With ``groups`` (one key per item), items of different keys never share a batch.

    Items are sorted by length (longest first, ties by index so the plan is deterministic) so
    that padding is small; an item longer than the budget still gets a batch of its own. The
    greedy plan's batch count is then spread evenly where the limits allow (64 items at 27 a
    batch run as 22 + 21 + 21, not 27 + 27 + 10): a small last batch costs nearly as much time
    per step as a full one.
    """
    if groups is not None:
        members: dict[Hashable, list[int]] = {}
        for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
            members.setdefault(groups[i], []).append(i)
        planned: list[list[int]] = []
        for items in members.values():  # the group of the longest item first
            sub = plan_batches([lengths[i] for i in items], budget, max_size, row_cost)
            planned += [[items[k] for k in batch] for batch in sub]
        return planned
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
    return _even(batches, lengths, budget, max_size, row_cost) or batches


def _even(
    greedy: list[list[int]], lengths: Sequence[int], budget: int, max_size: int, row_cost: int
) -> list[list[int]] | None:
    """The same items, in the same order, in as many batches of near-equal size, or None when
    one of them would break a limit."""
    order = [i for batch in greedy for i in batch]
    k = len(greedy)
    if k < 2:
        return None
    n = len(order)
    batches: list[list[int]] = []
    start = 0
    for j in range(k):
        size = n // k + (1 if j < n % k else 0)
        batch = order[start : start + size]
        start += size
        width = max(1, lengths[batch[0]])  # longest first
        if size > max_size or (size > 1 and (width + row_cost) * size > budget):
            return None
        batches.append(batch)
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
