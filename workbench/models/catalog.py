"""The model catalog: which model serves which pair or task, with licence and size.

The catalog is data (``catalog.toml`` shipped in the package); a user file extends it and its
entries win over shipped ones with the same id.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from workbench import languages
from workbench.errors import ModelError, NoModelForPair
from workbench.models import families


@dataclass(frozen=True)
class CatalogEntry:
    """One known model."""

    id: str
    task: str  # translate | summarise | chat
    family: str
    sources: tuple[str, ...] = ("*",)
    targets: tuple[str, ...] = ("*",)
    multi_target: bool = False
    licence: str = "unknown"
    size_mb: int | None = None
    quality: str = ""
    default_for: tuple[str, ...] = ()
    generation: dict[str, Any] = field(default_factory=dict)

    def serves(self, src: str, tgt: str) -> bool:
        """Whether this model translates ``src`` into ``tgt``."""
        return _covers(self.sources, src, self.family) and _covers(self.targets, tgt, self.family)

    @property
    def non_commercial(self) -> bool:
        from workbench.models.licence import is_non_commercial

        return is_non_commercial(self.licence)


def _covers(codes: tuple[str, ...], code: str, family: str) -> bool:
    if code in codes:
        return True
    if "*" not in codes:
        return False
    # A wildcard means every language the family can spell.
    return families.get(family).spells(code)


def user_catalog_path() -> Path:
    """Where a user's own catalog lives (``WORKBENCH_CATALOG`` overrides)."""
    env = os.environ.get("WORKBENCH_CATALOG")
    if env:
        return Path(env).expanduser()
    from workbench.settings import default_home

    return default_home() / "catalog.toml"


def _entries_from(data: dict[str, Any], origin: str) -> list[CatalogEntry]:
    out: list[CatalogEntry] = []
    names = [f.name for f in families.families()]
    for i, raw in enumerate(data.get("model", [])):
        try:
            entry = CatalogEntry(
                id=str(raw["id"]),
                task=str(raw.get("task", "translate")),
                family=str(raw["family"]),
                sources=tuple(_codes(raw.get("sources", ["*"]))),
                targets=tuple(_codes(raw.get("targets", ["*"]))),
                multi_target=bool(raw.get("multi_target", False)),
                # ``license`` (the model cards' spelling) is read too.
                licence=str(raw.get("licence", raw.get("license", "unknown"))),
                size_mb=raw.get("size_mb"),
                quality=str(raw.get("quality", "")),
                default_for=tuple(raw.get("default_for", [])),
                generation=dict(raw.get("generation", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"{origin}: model entry {i + 1} is invalid ({exc}); see the shipped catalog for the fields"
            ) from None
        if entry.family not in names:
            raise ModelError(
                f"{origin}: model {entry.id!r} has unknown family {entry.family!r}; "
                f"use one of {', '.join(names)}"
            )
        out.append(entry)
    return out


def _codes(values: list[str]) -> list[str]:
    return [v if v in ("*", "same") else languages.normalize(v) for v in values]


class Catalog:
    """The shipped catalog, extended by the user's file when present."""

    def __init__(self, entries: list[CatalogEntry]) -> None:
        self.entries = entries

    @classmethod
    def load(cls, user_path: Path | None = None) -> Catalog:
        text = resources.files("workbench.models").joinpath("catalog.toml").read_text("utf-8")
        shipped = _entries_from(tomllib.loads(text), "shipped catalog")
        path = user_path if user_path is not None else user_catalog_path()
        user: list[CatalogEntry] = []
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text("utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ModelError(
                    f"{path}: not a valid TOML catalog ({exc}); fix or remove it"
                ) from None
            user = _entries_from(data, str(path))
        ids = {e.id for e in user}
        # User entries come first so that their default_for wins.
        return cls(user + [e for e in shipped if e.id not in ids])

    def get(self, model_id: str) -> CatalogEntry | None:
        for entry in self.entries:
            if entry.id == model_id:
                return entry
        return None

    def for_task(self, task: str) -> list[CatalogEntry]:
        return [e for e in self.entries if e.task == task]

    def ranked(self, src: str, tgt: str) -> list[CatalogEntry]:
        """The translation models that serve a pair, best first: a specific default, then a
        wildcard default, then permissive models, then any (catalog order within each)."""
        patterns = (f"{src}-{tgt}", f"*-{tgt}", f"{src}-*", "*-*")

        def rank(entry: CatalogEntry) -> tuple[int, int]:
            for i, pattern in enumerate(patterns):
                if pattern in entry.default_for:
                    return (i, 0)
            return (len(patterns), int(entry.non_commercial))

        return sorted((e for e in self.for_task("translate") if e.serves(src, tgt)), key=rank)

    def choose_translation(self, src: str, tgt: str) -> CatalogEntry:
        """The default model for a pair: a specific default, then a wildcard default, then any
        permissive model that serves it, then any model at all (whether cached or not; see
        ``workbench.models.routing`` for the choice that prefers models on this machine)."""
        candidates = self.ranked(src, tgt)
        if candidates:
            return candidates[0]
        raise NoModelForPair(
            f"no known model translates {src}→{tgt}; {self.describe_translation()}; "
            "pass --model with a hub id or folder that serves this pair",
            code=f"{src}-{tgt}",
        )

    def describe_translation(self) -> str:
        parts = []
        for e in self.for_task("translate"):
            src = ",".join(e.sources)
            tgt = ",".join(e.targets)
            parts.append(f"{e.id} ({src}→{tgt})")
        return "known models: " + "; ".join(parts)
