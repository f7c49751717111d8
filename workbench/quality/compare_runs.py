"""The columns of a comparison page: models run on documents, or earlier output folders read.

Two ways in:

- ``run_models``: each entry (``MODEL`` or ``MODEL:beams=4,backend=torch,precision=int8``)
  translates the documents through ``Workbench`` with the cache, so a rerun is answered from
  it. The results carry their segments.
- ``read_folders``: the ``--out`` folders of earlier runs, matched by relative output path.
  Each output's provenance record names its cache key and input hash, which together are the
  key of the cached document; the cached entry holds the run's segments (source and output),
  and is used when its text is the output on disk. No model is loaded and nothing is
  recomputed. Where the cache no longer has it (or the output was edited), the output and its
  input are aligned by paragraph, which the formats keep line for line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import zip_longest
from pathlib import Path
from typing import Any

from workbench import formats
from workbench.errors import InputError, WorkbenchError
from workbench.quality.compare import Column, Output, output_from_result
from workbench.settings import TranslateOptions

#: What an entry may set besides its model, e.g. ``MODEL:beams=4,precision=int8``.
ENTRY_SETTINGS = ("beams", "backend", "precision")
#: The model name that means "the catalog's choice for each language pair".
DEFAULT_MODEL = "default"
_ENTRY = re.compile(r"^(?P<model>.*?):(?P<settings>[a-z_]+=[^,=:]+(?:,[a-z_]+=[^,=:]+)*)$")


@dataclass(frozen=True)
class Entry:
    """One column to run: a model and the settings that differ from the run's."""

    spec: str
    model: str | None  # None: the catalog's choice
    beams: int | None = None
    backend: str | None = None
    precision: str | None = None

    @property
    def label(self) -> str:
        """The spec, with a local folder shortened to its name."""
        if self.model is None or not Path(self.model).expanduser().is_dir():
            return self.spec
        return Path(self.model).name + self.spec[len(self.model) :]


def parse_entry(spec: str) -> Entry:
    """``MODEL`` or ``MODEL:name=value,...`` (names: ENTRY_SETTINGS); ``default`` as the model
    is the catalog's choice. A bad spec is a one-line WorkbenchError naming it."""
    spec = spec.strip()
    found = _ENTRY.match(spec)
    model, settings = (found["model"].strip(), found["settings"]) if found else (spec, "")
    if not model:
        raise WorkbenchError(
            f"--model {spec!r}: no model named; use MODEL or MODEL:beams=4 "
            f"({DEFAULT_MODEL}: the catalog's choice)"
        )
    values: dict[str, Any] = {}
    for item in settings.split(",") if settings else []:
        name, _, value = item.partition("=")
        if name not in ENTRY_SETTINGS:
            raise WorkbenchError(
                f"--model {spec}: unknown setting {name!r}; use {', '.join(ENTRY_SETTINGS)}"
            )
        values[name] = value.strip()
    if "beams" in values:
        try:
            values["beams"] = int(values["beams"])
        except ValueError:
            raise WorkbenchError(
                f"--model {spec}: beams={values['beams']} is not a whole number"
            ) from None
    return Entry(spec, None if model == DEFAULT_MODEL else model, **values)


def _unique(labels: Sequence[str]) -> list[str]:
    out: list[str] = []
    for label in labels:
        name, n = label, 1
        while name in out:
            n += 1
            name = f"{label} #{n}"
        out.append(name)
    return out


def run_models(
    paths: Sequence[str],
    entries: Sequence[Entry],
    options: TranslateOptions,
    *,
    device: str | None = None,
    backend: str | None = None,
    precision: str | None = None,
    cache: str | Path | bool | None = None,
    offline: bool | None = None,
) -> tuple[list[Column], list[str]]:
    """Translate the documents under ``paths`` with each entry (through the cache) and return
    one column per entry, plus one line per input that could not be read.

    Raises WorkbenchError when no document can be read or the options are invalid.
    """
    from workbench.api import Workbench
    from workbench.runs.outputs import discover_all, output_name
    from workbench.runs.pages import read_source
    from workbench.settings import RunSettings

    options = options.checked()
    found = discover_all(list(paths))
    problems = [str(e) for e in found.errors]
    workbenches: dict[tuple[str | None, str | None], Workbench] = {}
    try:
        docs = []
        # The document limits (and their environment variables); a URL is fetched unless offline.
        limits = RunSettings(offline=bool(offline))
        for src in found.sources:
            try:
                docs.append(read_source(src, limits))
            except WorkbenchError as exc:
                problems.append(str(exc))
        if not docs:
            raise WorkbenchError(
                "nothing to compare: " + ("; ".join(problems) or "no documents found")
            )
        columns = []
        for entry, label in zip(entries, _unique([e.label for e in entries]), strict=True):
            where = (entry.backend or backend, entry.precision or precision)
            if where not in workbenches:
                workbenches[where] = Workbench(
                    device=device,
                    backend=where[0],
                    precision=where[1],
                    cache=cache,
                    offline=offline,
                )
            wb = workbenches[where]
            start = time.perf_counter()
            rows = wb.translate_documents(
                [doc for _, doc in docs],
                options=replace(options, model=entry.model),
                beams=entry.beams,
            )
            column = Column(label, seconds=time.perf_counter() - start)
            for (src, _), results in zip(docs, rows, strict=True):
                for result in results:
                    key = f"{src.name} {result.target_lang}"
                    output = output_from_result(src.name, result)
                    output.ref_name = output_name(src.rel, result.target_lang).as_posix()
                    column.outputs[key] = output
            models = {o.model for o in column.outputs.values() if o.model}
            column.description = ", ".join(sorted(models))
            columns.append(column)
        for wb in workbenches.values():
            problems.extend(f"cache: {line}" for line in wb.warnings())
        return columns, problems
    finally:
        for wb in workbenches.values():
            wb.close()


def read_folders(folders: Sequence[str | Path], store: Any | None = None) -> list[Column]:
    """One column per output folder: every output with a provenance record beside it, keyed by
    its path inside the folder. ``store`` (the cache, or None) supplies the segments.

    Raises InputError for a folder that is missing or holds no outputs.
    """
    from workbench.runs.outputs import MANIFEST_NAME, provenance_path

    columns = []
    labels = _unique([Path(f).name or str(f) for f in folders])
    for folder, label in zip(folders, labels, strict=True):
        root = Path(folder)
        if not root.is_dir():
            raise InputError(str(folder), "is not a folder; pass the --out folders of earlier runs")
        files = sorted(
            p
            for p in root.rglob("*")
            if p.is_file()
            and p.suffix != ".json"
            and p.name != MANIFEST_NAME
            and provenance_path(p).is_file()
        )
        if not files:
            raise InputError(
                str(folder),
                "holds no outputs with provenance records; pass the --out folder of a "
                "translate or summarise run",
            )
        column = Column(label)
        for path in files:
            rel = path.relative_to(root).as_posix()
            column.outputs[rel] = read_output(path, rel, store)
        models = {o.model for o in column.outputs.values() if o.model}
        column.description = ", ".join(sorted(models))
        columns.append(column)
    return columns


def read_output(path: Path, name: str, store: Any | None) -> Output:
    """One output file and its provenance record as an Output (see the module doc)."""
    from workbench.runs.outputs import provenance_path, read_json, read_output_text

    prov = read_json(provenance_path(path))
    if not isinstance(prov, dict):
        return Output(name, error=f"{provenance_path(path)}: not a readable provenance record")
    fmt = formats.for_path(path) or formats.get(formats.PLAIN)
    try:  # a binary output (a Word file) is read as its readable view
        text = read_output_text(path, fmt).removeprefix("\ufeff")
    except (OSError, UnicodeDecodeError, WorkbenchError) as exc:
        return Output(name, error=f"{path}: cannot be read ({exc})")
    out = Output(
        name=name,
        lang=prov.get("lang") or prov.get("target_lang"),
        source_lang=prov.get("source_lang"),
        model=prov.get("model"),
        signature=prov.get("signature"),
        cache=prov.get("cache"),
        hits=int(prov.get("hits") or 0),
        misses=int(prov.get("misses") or 0),
        seconds=float(prov.get("seconds") or 0.0),
        checks=[c for c in prov.get("checks") or [] if isinstance(c, dict)],
        verdict=prov.get("verdict"),
        error=prov.get("error"),
        notes=list(prov.get("notes") or []),
        looks_like=prov.get("output_lang") if prov.get("lang_mismatch") else None,
        text=text,
        ref_name=name,
        task=str(prov.get("task") or "translate"),
    )
    source = _source(prov)
    if prov.get("task") == "summarise":
        out.segments, out.aligned = [(source.view() if source else "", text)], "document"
        return out
    segments = _cached_segments(prov, text, store)
    if segments is not None:
        out.segments = segments
        return out
    targets = fmt.readable().parse(text).translatable_texts()
    sources = source.as_text().translatable_texts() if source else []
    out.segments = [(s, t) for s, t in zip_longest(sources, targets, fillvalue="")]
    out.aligned = "paragraph"
    return out


def _source(prov: dict[str, Any]) -> Any | None:
    """The input document, when it is still there and unchanged since the run."""
    from workbench.documents import read_document

    name = prov.get("input")
    if not isinstance(name, str) or not Path(name).is_file():
        return None
    try:
        doc = read_document(name)
    except WorkbenchError:
        return None
    if prov.get("input_sha256") not in (None, doc.input_hash()):
        return None  # edited since: its paragraphs are not what was translated
    return doc


def _cached_segments(
    prov: dict[str, Any], text: str, store: Any | None
) -> list[tuple[str, str]] | None:
    """The run's segments from the cache entry of its document, when that entry made ``text``."""
    from workbench.documents import content_hash
    from workbench.signature import digest

    key, sha = prov.get("key"), prov.get("input_sha256")
    if store is None or not isinstance(key, str) or not isinstance(sha, str):
        return None
    # The document entry's key, as the translate task builds it: recipe key + input hash.
    hit = store.get_document(digest(key, sha))
    if not isinstance(hit, dict) or not isinstance(hit.get("text"), str):
        return None
    if content_hash(hit["text"]) != content_hash(text):
        return None  # the output on disk is not what the cache holds (edited by hand, say)
    pairs = hit.get("segments")
    if not isinstance(pairs, list) or not all(
        isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(x, str) for x in p)
        for p in pairs
    ):
        return None
    return [(s, t) for s, t in pairs]


def reference_scores(
    columns: Sequence[Column], ref: Path
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each column's corpus scores against the reference folder ``ref`` (the layout
    ``workbench eval`` reads: a reference has its output's relative name), per metric, with
    the language in the name when the outputs have several; plus one line per output without
    a reference. Needs the eval extra."""
    from workbench.quality.metrics import corpus_scores

    if not ref.is_dir():
        raise WorkbenchError(f"{ref}: reference folder not found; give --ref a folder")
    scores: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for column in columns:
        groups: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
        for output in column.outputs.values():
            if output.text is None or output.ref_name is None or output.lang is None:
                continue
            path = ref / output.ref_name
            if not path.is_file():
                missing.append(f"{column.label}: {output.ref_name}: no reference {path}")
                continue
            hyps, refs = groups.setdefault((output.task, output.lang), ([], []))
            hyps.append(output.text)
            refs.append(path.read_text("utf-8-sig"))
        named = len(groups) > 1
        for (task, lang), (hyps, refs) in sorted(groups.items()):
            for name, score in corpus_scores(hyps, refs, lang, task).items():
                scores.setdefault(column.label, {})[f"{name} ({lang})" if named else name] = score
    return scores, missing
