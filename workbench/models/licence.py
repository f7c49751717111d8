"""A model's licence: from its model card, its config, or the catalog; never part of a key.

Where it is read, in order: the ``license:`` field of the YAML front matter of the model's
``README.md`` (its model card, in a local folder or a Hugging Face cache snapshot), a
``license`` field in its ``config.json``, the catalog entry's ``licence``; else ``unknown``.
The licence is information for people (provenance, notices, lock files): it never enters a
signature or cache key, so a corrected model card changes no cached result.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.models.resolve import ResolvedModel

UNKNOWN = "unknown"
#: A model card's front matter: a ``---`` line, YAML, a ``---`` line (as the hub writes it).
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
#: Words that make a licence non-commercial: Creative Commons' NC element (cc-by-nc-4.0,
#: cc-by-nc-sa-4.0, cc-by-nc-nd-4.0, ...) and licences that say so in their name.
_NON_COMMERCIAL_WORDS = ("non-commercial", "noncommercial", "non commercial")


def is_non_commercial(licence: str | None) -> bool:
    """Whether a licence forbids commercial use: it has a Creative Commons ``NC`` element
    (``cc-by-nc-4.0``, ``CC-BY-NC-SA-4.0 (non-commercial)``) or says non-commercial."""
    if not licence:
        return False
    text = licence.lower()
    if any(word in text for word in _NON_COMMERCIAL_WORDS):
        return True
    return "nc" in re.split(r"[^a-z0-9]+", text)


def card_licence(folder: Path) -> str | None:
    """The ``license:`` of the model card (``README.md``) in ``folder``, or None.

    ``license: other`` with a ``license_name`` gives that name; a list is joined with ``, ``.
    A card that cannot be read or parsed says nothing (the next source is asked).
    """
    try:
        text = (folder / "README.md").read_text("utf-8", errors="replace")
    except OSError:
        return None
    match = _FRONT_MATTER.match(text)
    if match is None:
        return None
    import yaml  # only when a card has front matter

    try:
        meta = yaml.safe_load(match[1])
    except yaml.YAMLError:
        return None
    if not isinstance(meta, dict):
        return None
    value = _text(meta.get("license"))
    name = _text(meta.get("license_name"))
    if value in (None, "other") and name:
        return name
    return value


def config_licence(folder: Path) -> str | None:
    """A ``license`` field in the model's ``config.json`` (few models have one), or None."""
    try:
        data = json.loads((folder / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return _text(data.get("license")) if isinstance(data, dict) else None


def licence_of(resolved: ResolvedModel, catalog: str | None) -> tuple[str, str]:
    """(licence, where it was found: ``model card``, ``config``, ``catalog`` or ``none``);
    ``catalog`` is the catalog entry's licence, if the model has an entry."""
    found = card_licence(resolved.path)
    if found:
        return found, "model card"
    found = config_licence(resolved.path)
    if found:
        return found, "config"
    if catalog and catalog != UNKNOWN:
        return catalog, "catalog"
    return UNKNOWN, "none"


def non_commercial_notice(licences: dict[str, str]) -> str | None:
    """The one line a run prints when any of its models (``{model: licence}``) is
    non-commercial, or None."""
    restricted = {m: lic for m, lic in sorted(licences.items()) if is_non_commercial(lic)}
    if not restricted:
        return None
    named = ", ".join(f"{model} ({lic})" for model, lic in restricted.items())
    return (
        f"workbench: notice: non-commercial licence: {named}; outputs made with "
        f"{'this model' if len(restricted) == 1 else 'these models'} may not be used "
        "commercially (see each output's provenance)"
    )


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return ", ".join(v.strip() for v in value)
    return None
