"""A translate run's outputs and their aligned segments ("units"), as exchange files carry them.

An output is found by its provenance record (``a.uk.md.json`` beside ``a.uk.md``): it names the
cache key and the input's hash, which together key the document's cached value, a list of
``[source, target]`` segments (``tasks/translate.py``). A document too big to be cached whole
still has each segment cached: its input is read and segmented again, exactly as translation
segmented it, and every segment is looked up. When neither is there, the output cannot be
exported; running the same ``workbench translate`` again fills the cache (nothing is
translated behind the user's back here, and no model is loaded).

A unit's id is its position plus a short hash of its source (``u3-1f2e4d5c``): stable across
runs of the same input, and a unit moved or changed cannot be mistaken for another.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench import inline, segment, signature
from workbench.documents import Document, read_document
from workbench.errors import InputError, WorkbenchError
from workbench.runs.outputs import read_json, safe_join
from workbench.runs.provenance import HUMAN_EDITED
from workbench.store import Store


@dataclass(frozen=True)
class Output:
    """One translation written by a folder run, with its provenance record."""

    path: Path  # the output file
    rel: str  # its path under the run's folder, with forward slashes
    prov: dict[str, Any]

    def get(self, field: str) -> str:
        """A text field of the provenance ('' when absent)."""
        value = self.prov.get(field)
        return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Unit:
    """One segment: its stable id, source, target, and whether a person edited the target."""

    id: str
    source: str
    target: str
    edited: bool = False
    # A sentence with inline markup (``exchange.codes``): its placeholders, and its target
    # with them; None where the unit is plain text (markup, if any, as text).
    encoded: inline.Encoded | None = None
    coded: str | None = None


def unit_id(index: int, source: str) -> str:
    """``u{index}-{8 hex digits of the source's sha256}``, index from 1."""
    return f"u{index}-{hashlib.sha256(source.encode('utf-8')).hexdigest()[:8]}"


def find_outputs(out: Path) -> tuple[list[Output], list[str]]:
    """The translations under ``out`` (sorted), and one line for each one that has nothing to
    exchange (a document already in the target language was copied, not translated)."""
    found: list[Output] = []
    skipped: list[str] = []
    for folder, dirs, names in os.walk(out):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or not name.endswith(".json"):
                continue
            path = Path(folder) / name[: -len(".json")]
            prov = read_json(Path(folder) / name)
            if not isinstance(prov, dict) or prov.get("task") != "translate":
                continue
            if not path.is_file():
                continue
            rel = path.relative_to(out).as_posix()
            if not prov.get("key"):
                skipped.append(f"{path}: copied unchanged, not translated; nothing to exchange")
                continue
            found.append(Output(path, rel, prov))
    return found, skipped


def output_at(out: Path, rel: str, name: str) -> Output:
    """The translation at ``rel`` under ``out`` (a path an exchange file names, so it is
    checked to stay inside ``out``); ``name`` (the exchange file) starts every error."""
    path = out / rel
    try:
        if not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise InputError(rel, "is not a path under the output folder")
        safe_join(out, Path(rel))  # no link leads out of the folder either
    except InputError:
        raise WorkbenchError(
            f"{name}: names the output {rel!r}, which is not a path under {out}"
        ) from None
    prov = read_json(path.with_name(path.name + ".json"))
    if not path.is_file() or not isinstance(prov, dict):
        raise WorkbenchError(
            f"{name}: is for {path}, which is not a translation in {out} (no such output or "
            "no provenance record beside it); give the folder it was exported from"
        )
    if prov.get("task") != "translate" or not prov.get("key"):
        raise WorkbenchError(f"{name}: is for {path}, which is not a translation")
    return Output(path, rel, prov)


def read_input(output: Output) -> Document:
    """The input the output was translated from, checked to be unchanged since."""
    where = output.get("input")
    try:
        doc = read_document(where)
    except WorkbenchError as exc:
        raise WorkbenchError(
            f"{output.path}: its input cannot be read ({exc}); run from the folder the "
            "translation was run from"
        ) from None
    if doc.input_hash() != output.get("input_sha256"):
        raise WorkbenchError(
            f"{output.path}: its input {where} has changed since it was translated; translate "
            "it again, then export again"
        )
    return doc


def block_pieces(doc: Document, src: str, whole: bool = True) -> list[list[segment.Piece]]:
    """Each translatable block's pieces, exactly as translation cuts them (``whole``: sentences
    with markup in one piece, with placeholders; not for a pivot route's output)."""
    syntax = inline.syntax_of(doc.format.inline_markup)
    return [inline.pieces(text, src, syntax, whole=whole) for text in doc.translatable_texts()]


def sources(pieces: list[list[segment.Piece]]) -> list[str]:
    """The segments as written, in document order (a sentence with markup as it stands)."""
    return [
        p.source if isinstance(p, inline.Marked) else p.text
        for block in pieces
        for p in block
        if p.translate
    ]


def rebuild(
    doc: Document, pieces: list[list[segment.Piece]], targets: list[str], lang: str | None = None
) -> str | bytes:
    """The output document with ``targets`` (one per segment) in place, as translation
    reassembles it (as a translation into ``lang`` when given; bytes for a binary format)."""
    it = iter(targets)
    texts = []
    for block in pieces:
        wanted = sum(1 for p in block if p.translate)
        texts.append(segment.reassemble(block, [next(it) for _ in range(wanted)]))
    return doc.render(texts) if lang is None else doc.render_translation(texts, lang)


def machine_pairs(output: Output, store: Store) -> list[tuple[str, str]]:
    """The output's (source, target) segments as the model made them, from the cache."""
    key = output.get("key")
    value = store.get_document(signature.digest(key, output.get("input_sha256")))
    pairs = value.get("segments") if isinstance(value, dict) else None
    if isinstance(pairs, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in pairs
    ):
        return [(s, t) for s, t in pairs]
    # Not cached whole (over the size limit): every segment is cached on its own.
    doc = read_input(output)
    flat = [p for b in block_pieces(doc, output.get("source_lang"), whole(output)) for p in b]
    flat = [p for p in flat if p.translate]
    prefix = output.get("segment_key") or key  # recorded where the sentences' key differs
    keys = segment_keys(output, prefix, [p.text for p in flat])
    found = store.get_segments(list(dict.fromkeys(keys))) if keys else {}
    pairs = []
    for p, k in zip(flat, keys, strict=True):
        if isinstance(p, inline.Marked) and k in found and p.encoded is not None:
            try:  # the cache holds the model's output, placeholders and all
                pairs.append((p.source, inline.restore(p.encoded, found[k])))
            except inline.PlaceholderError:  # the sentence went in fragments: theirs answer
                texts = [f.text for f in p.fragments if f.translate]
                parts = segment_keys(output, prefix, texts, fragments=True)
                got = store.get_segments(parts)
                if any(f not in got for f in parts):
                    found.pop(k)
                    continue
                pairs.append((p.source, inline.fragments_text(p, [got[f] for f in parts])))
        elif k in found:
            pairs.append((p.text, found[k]))
    if any(k not in found for k in keys):
        raise WorkbenchError(
            f"{output.path}: its segments are not in the cache (was it translated with "
            "--no-cache, or was the cache cleared?); run the same `workbench translate` again "
            "(it fills the cache and keeps post-edited outputs as they are), then export again"
        )
    return pairs


def whole(output: Output) -> bool:
    """Whether the output's sentences with markup went whole, with placeholders."""
    return "|inline:" in str(output.get("signature") or "")


def segment_keys(
    output: Output, key: str, texts: list[str], *, fragments: bool = False
) -> list[str]:
    """The cache keys the translation run stored ``texts`` under: each with its preceding
    sentences where the run translated with a context window (chat models); ``fragments``
    of a sentence whose placeholders were lost went without context."""
    from workbench.tasks.legs import segment_key, windows

    settings = output.prov.get("settings")
    window = settings.get("context_sentences") if isinstance(settings, dict) else None
    if not isinstance(window, int) or isinstance(window, bool) or window <= 0:
        return [segment_key(key, text) for text in texts]
    around = [()] * len(texts) if fragments else windows(texts, window)
    return [segment_key(key, t, c) for t, c in zip(texts, around, strict=True)]


def human_targets(output: Output) -> dict[str, str]:
    """The targets a person edited (imported from XLIFF), by unit id."""
    edit = output.prov.get(HUMAN_EDITED)
    targets = edit.get("targets") if isinstance(edit, dict) else None
    if not isinstance(targets, dict):
        return {}
    return {k: v for k, v in targets.items() if isinstance(k, str) and isinstance(v, str)}


def units_of(output: Output, store: Store) -> list[Unit]:
    """The output's units as they stand: the model's targets, with a person's edits in place."""
    edits = human_targets(output)
    units = []
    for i, (source, target) in enumerate(machine_pairs(output, store), start=1):
        uid = unit_id(i, source)
        units.append(Unit(uid, source, edits.get(uid, target), uid in edits))
    return units
