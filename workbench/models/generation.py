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


#: Generation-config fields that only matter when sampling.
SAMPLING_KEYS = (
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "typical_p",
    "epsilon_cutoff",
    "eta_cutoff",
)


def deterministic_config(model: Any) -> Any:
    """A copy of the model's generation config with sampling and shipped length limits off.

    Callers set their own bounds per call and install the copy as ``model.generation_config``:
    generate() fills every unset value from the model's config, so leaving the original in
    place would bring the shipped sampling defaults and ``max_length`` back.
    """
    import copy

    config = copy.deepcopy(model.generation_config)
    config.do_sample = False
    for key in SAMPLING_KEYS:
        if hasattr(config, key):
            setattr(config, key, None)
    config.max_length = None
    config.num_return_sequences = 1
    return config
