"""``workbench import-xliff``: post-edited targets from XLIFF back into a run's outputs.

Each file is checked in full before anything is written: well-formed and safe XML (no DTD),
XLIFF 2 in its namespace, workbench's metadata naming an output under the folder, the same
languages, cache key and input hash as that output's provenance, the input unchanged, and
exactly the output's units (same ids, same sources), each with a target. The document is
then rebuilt as translation builds it (a target with inline codes gets its markup back from
the input, as ``inline.restore`` puts back a model's placeholders; a code lost, duplicated or
badly nested is refused): the input is parsed and segmented again, and the
targets are put in place of the segments, so markup, links, code and line structure stay as
the model's output had them. The output is written atomically and its provenance records
``human_edited``: the file, the ids of the units whose target differs from the model's, the
time, and those targets. A folder run leaves such an output alone (unless told
``--overwrite-edits``). Any problem is one line naming the file, and nothing is written for it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workbench import inline, segment
from workbench.errors import WorkbenchError
from workbench.exchange.codes import codes_of
from workbench.exchange.records import (
    Output,
    block_pieces,
    human_targets,
    machine_pairs,
    output_at,
    read_input,
    rebuild,
    sources,
    unit_id,
    whole,
)
from workbench.exchange.xliff import XliffFile, XliffUnit, read_xliff
from workbench.exchange.xmltext import MAX_BYTES
from workbench.runs.outputs import (
    MANIFEST_NAME,
    provenance_path,
    read_manifest,
    write_json_atomic,
    write_jsonl_atomic,
    write_text_atomic,
)
from workbench.runs.provenance import HUMAN_EDITED
from workbench.runs.report import EDITED, MANIFEST_FIELDS
from workbench.store import Store

#: Ids named in one error line.
_NAMED = 3


@dataclass
class Imported:
    """One XLIFF file's import: the output it went into, the edited units, or the error."""

    file: str
    output: Path | None = None
    edited: list[str] = field(default_factory=list)  # ids whose target differs from the model's
    changed: bool = False  # whether the output was written
    error: str | None = None


def import_files(out: Path, files: Sequence[Path], store: Store) -> list[Imported]:
    """Import each XLIFF file into its output under ``out``; one result per file, a problem
    in one never stops the others."""
    results = []
    for file in files:
        result = Imported(str(file))
        try:
            _import(out, file, store, result)
        except WorkbenchError as exc:
            result.error = str(exc)
        results.append(result)
    return results


def _read(file: Path) -> bytes:
    name = str(file)
    try:
        if file.is_dir():
            raise WorkbenchError(f"{name}: is a folder; give XLIFF files")
        if file.stat().st_size > MAX_BYTES:
            raise WorkbenchError(f"{name}: is over {MAX_BYTES:,} bytes; not read")
        return file.read_bytes()
    except OSError as exc:
        raise WorkbenchError(f"{name}: cannot be read ({exc.strerror or exc})") from None


def _import(out: Path, file: Path, store: Store, result: Imported) -> None:
    name = str(file)
    found = read_xliff(_read(file), name)
    rel = found.meta.get("output", "")
    if not rel:
        raise WorkbenchError(
            f"{name}: has no workbench metadata naming its output (mda:metaGroup "
            'category="workbench"); import files made by `workbench export`'
        )
    output = output_at(out, rel, name)
    result.output = output.path
    _check_origin(found, output, name)
    doc = read_input(output)
    pieces = block_pieces(doc, output.get("source_lang"), whole(output))
    wanted = sources(pieces)
    machine = machine_pairs(output, store)
    if [s for s, _ in machine] != wanted:
        raise WorkbenchError(
            f"{name}: the cached segments of {output.path} do not match its input; translate "
            "it again, then export again"
        )
    ids = [unit_id(i, s) for i, s in enumerate(wanted, start=1)]
    flat = [p for block in pieces for p in block if p.translate]
    units = _matched(found.units, ids, wanted, name)
    targets = [_target(u, p, f"{name}: unit {u.id}") for u, p in zip(units, flat, strict=True)]
    edits = {uid: t for uid, (_, m), t in zip(ids, machine, targets, strict=True) if t != m}
    result.edited = list(edits)
    if edits == human_targets(output):
        return  # nothing differs from the output as it stands: nothing written
    text = rebuild(doc, pieces, targets, output.get("target_lang"))
    prov = dict(output.prov)
    if edits:
        prov[HUMAN_EDITED] = {
            "file": name,
            "segments": list(edits),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "targets": edits,
        }
    else:
        prov.pop(HUMAN_EDITED, None)  # every target is the model's again
    try:
        write_text_atomic(output.path, text)
        write_json_atomic(provenance_path(output.path), prov)
    except OSError as exc:
        raise WorkbenchError(f"{name}: could not write {output.path} ({exc})") from None
    result.changed = True
    _mark_manifest(out, output, name, len(edits))


def _check_origin(found: XliffFile, output: Output, name: str) -> None:
    """The file was exported from this very output: same key, input, languages."""
    where = output.get("input")
    if found.meta.get("input_sha256") != output.get("input_sha256"):
        raise WorkbenchError(
            f"{name}: is for another version of {where} (its input hash differs from that of "
            f"{output.path}); export again and carry the edits over"
        )
    if found.meta.get("key") != output.get("key"):
        raise WorkbenchError(
            f"{name}: was exported from another translation of {where} ({output.path} has "
            "been translated again since, with another model or settings); export again and "
            "carry the edits over"
        )
    pair = (found.src, found.trg)
    expected = (output.get("source_lang"), output.get("target_lang"))
    if pair != expected:
        raise WorkbenchError(
            f"{name}: is {pair[0]}→{pair[1]}, but {output.path} is {expected[0]}→{expected[1]}"
        )


def _ids(ids: Sequence[str]) -> str:
    more = f" and {len(ids) - _NAMED} more" if len(ids) > _NAMED else ""
    return ", ".join(ids[:_NAMED]) + more


def _matched(
    units: list[XliffUnit], ids: list[str], wanted: list[str], name: str
) -> list[XliffUnit]:
    """The file's units in the output's order, checked one for one against it."""
    by_id: dict[str, XliffUnit] = {}
    for unit in units:
        if unit.id in by_id:
            raise WorkbenchError(f"{name}: unit {unit.id} appears twice")
        by_id[unit.id] = unit
    known = set(ids)
    unknown = [u.id for u in units if u.id not in known]
    if unknown:
        raise WorkbenchError(
            f"{name}: unknown unit ids {_ids(unknown)} (not units of this output; were units "
            "split, merged or added?)"
        )
    missing = [uid for uid in ids if uid not in by_id]
    if missing:
        raise WorkbenchError(
            f"{name}: units {_ids(missing)} are missing; every unit must come back"
        )
    ordered = [by_id[uid] for uid in ids]
    for unit, source in zip(ordered, wanted, strict=True):
        # With inline codes, the source is checked against its placeholders (``_target``).
        if not unit.source_codes and unit.target_codes:
            raise WorkbenchError(
                f"{name}: unit {unit.id} has an inline {unit.code_tag}; workbench exported "
                "this unit as plain text, so it stands for nothing here: remove it"
            )
        if not unit.source_codes and unit.source != source:
            raise WorkbenchError(
                f"{name}: unit {unit.id}: its source was changed; only targets may be edited"
            )
        if unit.target is None:
            raise WorkbenchError(f"{name}: unit {unit.id} has no <target>")
        if not unit.target.strip() and source.strip():
            raise WorkbenchError(f"{name}: unit {unit.id} has an empty target")
    return ordered


def _encoded(piece: segment.Piece) -> inline.Encoded | None:
    if isinstance(piece, inline.Marked) and codes_of(piece.encoded):
        return piece.encoded
    return None


def _code(kind: str, n: int) -> str:
    return f'<ph id="{n}"/>' if kind == "x" else f'<pc id="{n}">'


def _target(unit: XliffUnit, piece: segment.Piece, where: str) -> str:
    """A unit's target as it goes into the output: with inline codes, its markup put back."""
    target = unit.target or ""
    if not unit.source_codes:
        return target
    enc = _encoded(piece)
    if enc is None:
        raise WorkbenchError(
            f"{where} has an inline {unit.code_tag}; workbench exported this unit as plain "
            "text, so it stands for nothing here: remove it"
        )
    if unit.source != enc.text:
        raise WorkbenchError(f"{where}: its source was changed; only targets may be edited")
    if unit.typed:
        raise WorkbenchError(
            f"{where}: its target has text that reads as a placeholder (such as <x1/> or "
            "<g1>); inline codes must be codes, not typed text"
        )
    wanted = [("x", n) for n in enc.atoms] + [(k, n) for n in enc.pairs for k in ("g", "/g")]
    got = Counter(p for p in inline.split_placeholders(target) if not isinstance(p, str))
    unknown = sorted({n for _, n in got if n not in enc.atoms and n not in enc.pairs})
    if unknown:
        raise WorkbenchError(
            f"{where}: its target has inline codes its source does not have (ids "
            f"{', '.join(map(str, unknown))}); use only the source's codes"
        )
    lost = list(dict.fromkeys(_code(k.lstrip("/"), n) for k, n in wanted if not got[(k, n)]))
    if lost:
        raise WorkbenchError(
            f"{where}: its target lost the inline code {', '.join(lost)}; every code of the "
            "source must be in the target exactly once (it may move)"
        )
    twice = list(dict.fromkeys(_code(k.lstrip("/"), n) for k, n in wanted if got[(k, n)] > 1))
    if twice:
        raise WorkbenchError(
            f"{where}: its target has the inline code {', '.join(twice)} more than once; every "
            "code of the source must be in the target exactly once"
        )
    try:
        return inline.restore(enc, target)
    except inline.PlaceholderError as exc:
        why = (
            "leaves a <pc> empty (paired codes must hold words)"
            if "empty" in str(exc)
            else "has inline codes that are not properly nested (a <pc> must hold whole codes)"
        )
        raise WorkbenchError(f"{where}: its target {why}") from None


def _mark_manifest(out: Path, output: Output, name: str, edited: int) -> None:
    """Say in the folder's manifest that the output now holds a person's edits."""
    path = out / MANIFEST_NAME
    if not path.is_file():
        return
    rows = read_manifest(path, MANIFEST_FIELDS)
    target = output.path.resolve()
    touched = False
    for row in rows:
        if row.get("output") and Path(str(row["output"])).resolve() == target:
            if edited:
                row["cache"], row["note"] = EDITED, f"post-edited: {edited} segments from {name}"
            else:  # the model's text again, as the run made it
                row["cache"], row["note"] = output.prov.get("cache"), None
            touched = True
    if touched:
        try:
            write_jsonl_atomic(path, rows)
        except OSError as exc:
            raise WorkbenchError(f"{path}: could not be updated ({exc})") from None
