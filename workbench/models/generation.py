"""Effective generation settings: the user's settings merged with the model's own defaults.

Read from ``generation_config.json`` as plain JSON so that the cache key can be built without
loading transformers. Sampling is always off: cached outputs must be reproducible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.models.families import read_json
from workbench.settings import GenerationSettings

#: Generation fields that older checkpoints keep in config.json; transformers reads them from
#: there when a model has no generation_config.json (as Helsinki-NLP/opus-mt-zh-en does).
LEGACY_KEYS = (
    "num_beams",
    "length_penalty",
    "max_length",
    "min_length",
    "no_repeat_ngram_size",
    "repetition_penalty",
    "bad_words_ids",
    "early_stopping",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "decoder_start_token_id",
    "forced_bos_token_id",
    "forced_eos_token_id",
)


def model_generation_defaults(folder: Path) -> dict[str, Any]:
    """The model's own generation defaults, as transformers will apply them.

    ``generation_config.json`` when the folder has one; otherwise the generation fields of
    ``config.json``, so that the settings in the signature (beams) and the ones torch runs with
    agree for checkpoints saved before generation configs existed.
    """
    shipped = read_json(folder / "generation_config.json")
    if shipped or (folder / "generation_config.json").is_file():
        return shipped
    config = read_json(folder / "config.json")
    return {k: config[k] for k in LEGACY_KEYS if config.get(k) is not None}


def effective(folder: Path, gen: GenerationSettings) -> dict[str, Any]:
    """The decoding settings that will actually run, as a flat dict (goes into the signature)."""
    model_defaults = model_generation_defaults(folder)
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
