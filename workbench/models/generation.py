"""Effective generation settings: the user's settings merged with the model's own defaults.

Read from ``generation_config.json`` as plain JSON so that the cache key can be built without
loading transformers. Sampling is always off: cached outputs must be reproducible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.models.families import read_json
from workbench.settings import GenerationSettings


def effective(folder: Path, gen: GenerationSettings) -> dict[str, Any]:
    """The decoding settings that will actually run, as a flat dict (goes into the signature)."""
    model_defaults = read_json(folder / "generation_config.json")
    beams = gen.beams if gen.beams is not None else int(model_defaults.get("num_beams") or 1)
    out: dict[str, Any] = {
        "beams": max(1, beams),
        "length_penalty": float(model_defaults.get("length_penalty", 1.0) or 1.0)
        if beams > 1
        else 1.0,
        "max_new_tokens_ratio": gen.max_new_tokens_ratio,
        "max_new_tokens_extra": gen.max_new_tokens_extra,
        "repeat_guard": gen.repeat_guard,
        "sampling": False,
    }
    return out
