"""Signatures and cache keys: what ran, as a readable string and as a hash.

A *recipe* is a plain dict of everything that determines an output (model id and full revision,
languages, backend and precision, effective decoding settings, prompt hash, segmentation and
schema versions). The cache key is the hash of the recipe; the signature is its short readable
form, printed beside outputs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from workbench.settings import SCHEMA_VERSION
from workbench.version import __version__


def canonical(data: Any) -> str:
    """Stable JSON: sorted keys, no whitespace, unicode kept."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(*parts: Any) -> str:
    """sha256 hex of the canonical JSON of ``parts``."""
    return hashlib.sha256(canonical(list(parts)).encode("utf-8")).hexdigest()


def recipe(
    task: str,
    *,
    model_id: str,
    revision: str,
    backend: str,
    src: str | None,
    tgt: str | None,
    settings: dict[str, Any],
    seg_version: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything that determines an output, as data."""
    return {
        "task": task,
        "model": model_id,
        "revision": revision,
        "backend": backend,
        "src": src,
        "tgt": tgt,
        "settings": settings,
        "seg": seg_version,
        "schema": SCHEMA_VERSION,
        **(extra or {}),
    }


def key(rec: dict[str, Any]) -> str:
    """The cache key of a recipe. The package version is deliberately not in it: upgrading
    workbench keeps the cache unless the schema or segmentation version changes."""
    return digest(rec)


def signature(rec: dict[str, Any]) -> str:
    """``translate|model:org/name@3f2a9c1|src:en|tgt:ko|beams:4|backend:torch-fp32|seg:1|wb:0.1``"""
    settings = rec.get("settings", {})
    parts = [rec["task"], f"model:{rec['model']}@{str(rec['revision'])[:7]}"]
    if rec.get("src"):
        parts.append(f"src:{rec['src']}")
    if rec.get("tgt"):
        parts.append(f"tgt:{rec['tgt']}")
    if "beams" in settings:
        parts.append(f"beams:{settings['beams']}")
    for name in ("strategy", "sentences", "words"):
        if settings.get(name) is not None and name in settings:
            parts.append(f"{name}:{settings[name]}")
    if rec.get("prompt"):
        parts.append(f"prompt:{str(rec['prompt'])[:7]}")
    if settings.get("context_sentences"):
        parts.append(f"context:{settings['context_sentences']}")
    pivot = rec.get("pivot")
    if isinstance(pivot, dict):
        # Through a pivot language: the first model is ``model:``, the second follows it.
        parts.append(f"pivot:{pivot['lang']}")
        parts.append(f"then:{pivot['model']}@{str(pivot['revision'])[:7]}")
    fallback = rec.get("fallback")
    if isinstance(fallback, dict):
        parts.append(f"fallback:{fallback['model']}@{str(fallback['revision'])[:7]}")
    if rec.get("glossary"):
        parts.append(f"glossary:{str(rec['glossary'])[:7]}")
    parts.append(f"backend:{rec['backend']}")
    parts.append(f"seg:{rec['seg']}")
    if rec.get("inline"):
        parts.append(f"inline:{rec['inline']}")  # sentences with markup sent with placeholders
    parts.append(f"wb:{__version__}")
    return "|".join(parts)
