"""Routing: which catalog model (or pair of models, through a pivot language) translates a pair.

Used when no ``--model`` is given. Models already on this machine (a complete snapshot in the
local Hugging Face cache, or a catalog entry that names an existing folder) win over ones that
would need a download, because a download is slow, may be impossible (offline) and is often
not what the user expects when a model that serves the pair is already there. The order is:

1. a local model that serves the pair directly (the catalog's ranking decides between them);
2. through the pivot language (English unless ``--pivot``): a local model for source→pivot and
   a local one for pivot→target, each sentence translated by the first and then the second;
3. the catalog's default for the pair, downloaded when needed (today's behaviour);
4. through the pivot with models that need a download, when no model serves the pair at all.

Non-commercial models are only chosen when the catalog names them a default or nothing else
serves the pair, as for the catalog's defaults. Nothing here loads weights or touches the
network: ``choose`` only reads the catalog and the cache layout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import NoModelForPair
from workbench.models.catalog import Catalog, CatalogEntry
from workbench.models.resolve import cached_snapshot, looks_like_path

#: The pivot language when none is given.
DEFAULT_PIVOT = "en"


def is_local(model_id: str) -> bool:
    """Whether a catalog model is on this machine: a folder that exists, or a complete snapshot
    in the local Hugging Face cache."""
    if looks_like_path(model_id):
        return Path(model_id).expanduser().is_dir()
    return cached_snapshot(model_id) is not None


@dataclass(frozen=True)
class Leg:
    """One model's part of a route: ``src``→``tgt`` with ``model``."""

    src: str
    tgt: str
    model: str
    local: bool

    def describe(self) -> str:
        where = "cached" if self.local else "not cached: it will be downloaded"
        return f"{self.src}->{self.tgt} with {self.model} ({where})"


@dataclass(frozen=True)
class Considered:
    """A model that serves the pair directly, whether it is local, and why it was not used."""

    model: str
    local: bool
    refused: str | None  # why it may not be chosen at all (its licence); None: it may


@dataclass(frozen=True)
class Route:
    """The models that translate ``src``→``tgt``: one leg, or two through ``pivot``."""

    src: str
    tgt: str
    legs: tuple[Leg, ...]
    why: str
    pivot: str | None = None
    considered: tuple[Considered, ...] = ()
    default: str | None = None  # the catalog's default for the pair, if any

    @property
    def plain(self) -> bool:
        """The catalog default, on one leg: what runs without routing (nothing to say)."""
        return self.pivot is None and self.legs[0].model == self.default

    @property
    def note(self) -> str:
        """``route: ko->en with X (cached), en->uk with Y (cached); why``"""
        legs = ", ".join(leg.describe() for leg in self.legs)
        return f"route: {legs}; {self.why}"

    def record(self) -> dict[str, Any]:
        """The provenance's ``route`` record (revisions are added once the legs resolve)."""
        return {
            "pivot": self.pivot,
            "legs": [
                {"src": leg.src, "tgt": leg.tgt, "model": leg.model, "cached": leg.local}
                for leg in self.legs
            ],
            "why": self.why,
        }


def _eligible(catalog: Catalog, src: str, tgt: str) -> tuple[list[CatalogEntry], set[str]]:
    """The ranked models that may be chosen for a pair, and the ids refused for their licence."""
    ranked = catalog.ranked(src, tgt)
    allowed = [e for e in ranked if e.default_for or not e.non_commercial]
    chosen = allowed or ranked
    return chosen, {e.id for e in ranked if e not in chosen}


def _first_local(entries: list[CatalogEntry], local: Callable[[str], bool]) -> str | None:
    return next((e.id for e in entries if local(e.id)), None)


def choose(
    catalog: Catalog,
    src: str,
    tgt: str,
    pivot: str | None = None,
    *,
    fallback: str | None = None,
    local: Callable[[str], bool] = is_local,
) -> Route:
    """The route for ``src``→``tgt`` (see the module's docstring for the order), or
    NoModelForPair naming the pair and what to do. With a ``fallback`` model (a cascade, which
    checks one model's sentences against the source) only direct routes are chosen."""
    via = pivot or DEFAULT_PIVOT
    direct, refused = _eligible(catalog, src, tgt)
    default = direct[0].id if direct else None
    here = {e.id: local(e.id) for e in catalog.ranked(src, tgt)}
    licence = "refused: non-commercial licence, used only when asked for with --model"
    considered = tuple(
        Considered(e.id, here[e.id], licence if e.id in refused else None)
        for e in catalog.ranked(src, tgt)
    )

    def route(legs: tuple[Leg, ...], why: str, through: str | None = None) -> Route:
        return Route(src, tgt, legs, why, through, considered, default)

    found = _first_local(direct, here.__getitem__)
    if found is not None:
        why = (
            "the catalog's default, cached"
            if found == default
            else f"the catalog's default {default} is not cached"
        )
        return route((Leg(src, tgt, found, True),), why)
    can_pivot = via not in (src, tgt) and fallback is None
    first, _ = _eligible(catalog, src, via) if can_pivot else ([], set())
    second, _ = _eligible(catalog, via, tgt) if can_pivot else ([], set())
    a, b = _first_local(first, local), _first_local(second, local)
    if a is not None and b is not None:
        legs = (Leg(src, via, a, True), Leg(via, tgt, b, True))
        return route(legs, f"no cached model translates {src}->{tgt} directly", via)
    if default is not None:
        why = "no model that serves the pair is cached"
        if can_pivot:
            why += f", nor a pair of models through {via}"
        return route((Leg(src, tgt, default, False),), why)
    if first and second:
        a, b = a or first[0].id, b or second[0].id
        legs = (Leg(src, via, a, local(a)), Leg(via, tgt, b, local(b)))
        return route(legs, f"no known model translates {src}->{tgt} directly", via)
    raise NoModelForPair(
        f"no known model translates {src}→{tgt}, directly or through {via}; "
        f"{catalog.describe_translation()}; pass --model with a hub id or folder that serves "
        "this pair, --pivot with another language, or add a model to your catalog",
        code=f"{src}-{tgt}",
    )


def explain(catalog: Catalog, src: str, tgt: str, pivot: str | None = None) -> list[str]:
    """What ``workbench models route`` prints: the direct models considered (local or not, why
    refused) and the chosen route with why. Raises NoModelForPair when there is none."""
    if src == tgt:
        return [f"{src}->{tgt}: nothing to translate; a document already in {tgt} is copied"]
    lines = [f"direct models for {src}->{tgt}:"]
    ranked = catalog.ranked(src, tgt)
    if not ranked:
        lines.append("  none in the catalog")
    route: Route | None = None
    error: NoModelForPair | None = None
    try:
        route = choose(catalog, src, tgt, pivot)
    except NoModelForPair as exc:
        error = exc
    for c in route.considered if route is not None else ():
        chosen = route is not None and route.pivot is None and route.legs[0].model == c.model
        if chosen:
            said = "chosen"
        elif c.refused:
            said = c.refused
        elif c.local:
            said = "not used: a model ranked higher in the catalog is cached"
        elif route is not None and route.pivot is None and not route.legs[0].local:
            said = f"not used: the catalog ranks {route.legs[0].model} first"
        else:
            said = "not used: it would need a download"
        lines.append(f"  {c.model} ({'cached' if c.local else 'not cached'}): {said}")
    if error is not None:
        raise error
    assert route is not None
    lines.append(route.note)
    return lines


__all__ = ["DEFAULT_PIVOT", "Considered", "Leg", "Route", "choose", "explain", "is_local"]
