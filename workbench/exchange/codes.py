"""Inline markup as inline codes in exchange files.

A sentence with inline markup went to the model with placeholders (``workbench.inline``):
``The <g1>new</g1> ferry costs <g2>€2</g2>.``. Exchange files carry it the same way, as their
formats' inline codes (XLIFF ``<pc>``/``<ph>``, TMX ``<bpt>``/``<ept>``/``<ph>``), so that a
translator's tool shows link targets, code and tags as codes that cannot be edited, only moved.

A unit's target with placeholders is, in order of preference:

- the model's own output (the cached placeholder text), where the sentence went whole and
  that output gives the target the output holds;
- otherwise (the sentence went in fragments, or a person edited the target) the target parsed
  back: its markup is found again and matched to the source's, markup for markup, and the
  result is kept only if putting the markup back gives the target byte for byte.

When neither works (the target's markup is not the source's: rare), or the input has changed
since the translation, the unit is written as before, its markup as text in source and target;
``import-xliff`` reads either form.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from xml.etree import ElementTree as ET

from workbench import inline
from workbench.errors import WorkbenchError
from workbench.exchange.records import (
    Output,
    Unit,
    block_pieces,
    read_input,
    segment_keys,
    sources,
    whole,
)
from workbench.exchange.xmltext import ILLEGAL
from workbench.store import Store


def codes_of(enc: inline.Encoded | None) -> bool:
    """Whether a sentence's encoding has any placeholder (markup to carry as codes)."""
    return enc is not None and bool(enc.atoms or enc.pairs)


def with_codes(output: Output, store: Store, units: list[Unit]) -> list[Unit]:
    """``units`` with each sentence that has inline markup given its placeholders (``encoded``)
    and its target in them (``coded``). Only an output whose sentences went whole has such
    sentences; its input is read (where it has changed since, every unit stays plain)."""
    if not whole(output):
        return units
    try:
        doc = read_input(output)
    except WorkbenchError:
        # The input has changed or gone: such an output cannot be imported into any more,
        # but its segments still make a translation memory; plain text is always right.
        return units
    pieces = block_pieces(doc, output.get("source_lang"), True)
    flat = [p for block in pieces for p in block if p.translate]
    if sources(pieces) != [u.source for u in units]:
        return units  # cannot happen for an unchanged input; plain text is always right
    prefix = output.get("segment_key") or output.get("key")
    keys = segment_keys(output, prefix, [p.text for p in flat])
    marked = [
        (i, p, k)
        for i, (p, k) in enumerate(zip(flat, keys, strict=True))
        if isinstance(p, inline.Marked) and codes_of(p.encoded)
    ]
    raw = store.get_segments([k for _, _, k in marked]) if marked else {}
    out = list(units)
    for i, piece, key in marked:
        enc = piece.encoded
        assert enc is not None
        unit = units[i]
        if any(ILLEGAL.search(m) for m in (*enc.atoms.values(), *sum(enc.pairs.values(), ()))):
            continue  # markup XML cannot carry as it is (TMX codes have no <cp/>): as text
        answer = None if unit.edited else raw.get(key)
        coded = answer if answer is not None and _gives(enc, answer, unit.target) else None
        if coded is None:
            coded = parse_back(enc, unit.target)
        if coded is not None:
            out[i] = dataclasses.replace(unit, encoded=enc, coded=coded)
    return out


def _gives(enc: inline.Encoded, text: str, target: str) -> bool:
    try:
        return inline.restore(enc, text) == target
    except inline.PlaceholderError:
        return False


def parse_back(enc: inline.Encoded, target: str) -> str | None:
    """``target`` (a translation with the markup in place) with ``enc``'s placeholders, or
    None when its markup is not exactly the source's (each piece of markup once)."""
    found = inline.encode(target, enc.syntax)
    if found is None:
        return None
    numbers: dict[int, int] = {}
    free_atoms = dict(enc.atoms)
    for n, markup in found.atoms.items():
        m = next((k for k, v in free_atoms.items() if v == markup), None)
        if m is None:
            return None
        numbers[n] = m
        del free_atoms[m]
    free_pairs = dict(enc.pairs)
    for n, pair in found.pairs.items():
        m = next((k for k, v in free_pairs.items() if v == pair), None)
        if m is None:
            return None
        numbers[n] = m
        del free_pairs[m]
    if free_atoms or free_pairs:
        return None
    parts = []
    for part in inline.split_placeholders(found.text):
        if isinstance(part, str):
            parts.append(part)
        else:
            kind, n = part
            parts.append(f"<x{numbers[n]}/>" if kind == "x" else f"<{kind}{numbers[n]}>")
    text = "".join(parts)
    return text if _gives(enc, text, target) else None


def add_text(parent: ET.Element, text: str, code: Callable[[ET.Element, str], ET.Element]) -> None:
    """Append ``text`` to ``parent``'s content (after its last child); each character XML
    cannot carry becomes ``code(parent, char)``."""
    pieces = ILLEGAL.split(text)
    chars = ILLEGAL.findall(text)
    _append(parent, pieces[0])
    for char, rest in zip(chars, pieces[1:], strict=True):
        code(parent, char)
        _append(parent, rest)


def _append(parent: ET.Element, text: str) -> None:
    if not text:
        return
    children = list(parent)
    if children:
        children[-1].tail = (children[-1].tail or "") + text
    else:
        parent.text = (parent.text or "") + text


__all__ = ["add_text", "codes_of", "parse_back", "with_codes"]
