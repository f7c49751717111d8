"""Folder runs: discover documents, run steps over all of them together, write outputs,
provenance and a manifest.

Semantics, shared by ``workbench translate``, ``workbench run`` (job files) and the API:

- Inputs: files, folders and URLs; folders are walked recursively in sorted order and
  contribute the files of formats workbench reads (``workbench.formats``); a URL is fetched and
  its article extracted (``runs/pages.py``, ``workbench.web``). Other files are ignored and
  counted in the report (hidden files are skipped silently). Outputs mirror the input tree
  under ``out``; an output folder inside an input folder is never read as input.
- Existing outputs: by default every output is written again (from the cache, so cheaply) and
  an output whose bytes would not change is left untouched. With ``skip_existing`` an output
  is skipped, and its model work avoided, when its provenance records the same cache key
  (model, revision, settings) and the same input text: hand edits to such outputs survive.
  An output holding a person's post-edits (``workbench import-xliff``) is translated (into
  the cache) but never written over (its row's cache state is ``human-edited``) unless
  ``overwrite_edits`` is given.
- Failures: one document's problem is one failed row; the others complete.
- Every input is accounted for: an unreadable folder or file, a symbolic link loop, a file
  type there is no reader for, and two inputs whose outputs would have the same name (``notes``
  and ``notes.txt``) are failed rows; earlier outputs found inside an input folder (a folder
  holding a manifest, a file with a provenance record beside it) are rows noted "not read".
- Manifest: one JSON row per (document, task, language) in ``<out>/manifest.jsonl``, rewritten
  atomically at the end of each run in a deterministic order (input, step, language). Rows of
  earlier runs into the same folder are kept unless this run has a row with the same (input,
  task, language), and rows a killed run never wrote are rebuilt from the provenance records
  beside the outputs. An interrupted run writes the rows it finished and re-raises the
  interrupt.
- Leftovers: temporary files a killed run left in ``out`` are removed at the start and end.
- Limits: a document over ``RunSettings.max_document_bytes`` is refused before it is read,
  one with more than ``max_segments`` sentences before any model work.
- Interrupts: outputs are written as soon as each is final and cache entries as each chunk
  finishes, so a rerun continues from there and writes exactly what an uninterrupted run would.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.documents import Document
from workbench.errors import InputError, WorkbenchError
from workbench.runs.outputs import (
    MANIFEST_NAME,
    Source,
    clean_temp_files,
    discover_all,
    merge_manifest,
    output_name,
    read_output_text,
    safe_join,
    write_jsonl_atomic,
)
from workbench.runs.pages import read_source
from workbench.runs.provenance import kept_edit, up_to_date, versions, write_output
from workbench.runs.report import (
    EDITED,
    MANIFEST_FIELDS,
    NOT_READ,
    Listener,
    NullListener,
    Row,
    RunReport,
)
from workbench.runs.steps import OWN, Step
from workbench.settings import RunSettings, TranslateOptions

if TYPE_CHECKING:
    from workbench.api import Workbench

# Summaries are requested a few documents at a time, so each is written (and counted) soon
# after it is made rather than when the whole step ends.
_SUMMARY_SLICE = 8


def read_sources(
    sources: list[Source], limits: RunSettings | None = None
) -> tuple[list[tuple[Source, Document]], list[Row]]:
    """Read every source (a URL is fetched: runs/pages.py); an unreadable one, or one over the
    ``limits``, becomes a failed row."""
    docs: list[tuple[Source, Document]] = []
    failed: list[Row] = []
    for src in sources:
        try:
            docs.append(read_source(src, limits))
        except WorkbenchError as exc:
            failed.append(Row(src.name, "translate", "-", error=str(exc)))
    return docs, failed


def check_out(paths: Sequence[str], out: Path) -> None:
    """Refuse an output folder that is one of the input folders (outputs would become inputs)."""
    target = out.resolve()
    for raw in paths:
        if Path(raw).is_dir() and Path(raw).resolve() == target:
            raise InputError(
                str(out),
                "is also an input folder; outputs would be read as inputs on the next run: "
                "choose another --out",
            )


def translate_paths(
    wb: Workbench,
    paths: list[str],
    options: TranslateOptions,
    *,
    out: Path,
    skip_existing: bool = False,
    manifest: Path | None = None,
    listener: Listener | None = None,
    overwrite_edits: bool = False,
    fmt: str | None = None,
) -> RunReport:
    """Translate files and folders into ``out``, mirroring the input tree (see the module doc).

    Unreadable documents become failed rows; the rest still complete.
    """
    return run_steps(
        wb,
        paths,
        [Step.translating(options)],
        out=out,
        skip_existing=skip_existing,
        manifest=manifest,
        listener=listener,
        overwrite_edits=overwrite_edits,
        fmt=fmt,
    )


def summarise_folder(
    wb: Workbench,
    paths: Sequence[str],
    *,
    out: Path,
    lang: str | None = None,
    src: str | None = None,
    model: str | None = None,
    beams: int | None = None,
    skip_existing: bool = False,
    manifest: Path | None = None,
    listener: Listener | None = None,
    fmt: str | None = None,
    **options: Any,
) -> RunReport:
    """Summarise files and folders into ``out`` (``a.summary.ko.md``) with the same semantics
    as translation runs; ``lang=None`` summarises each article in its own language.
    ``options`` are the other summarising options (sentences, words, strategy, ...)."""
    step = Step("summarise", (lang or OWN,), model=model, beams=beams, options=options)
    return run_steps(
        wb,
        paths,
        [step],
        out=out,
        src=src,
        skip_existing=skip_existing,
        manifest=manifest,
        listener=listener,
        fmt=fmt,
    )


def run_steps(
    wb: Workbench,
    paths: Sequence[str],
    steps: Sequence[Step],
    *,
    out: Path,
    src: str | None = None,
    skip_existing: bool = False,
    manifest: Path | None = None,
    listener: Listener | None = None,
    overwrite_edits: bool = False,
    fmt: str | None = None,
) -> RunReport:
    """Run ``steps`` in order over every document found in ``paths``, writing into ``out``.

    ``manifest`` defaults to ``out/manifest.jsonl``; ``fmt`` names the format every input is
    read in (``--format``; None: by suffix, and ``article`` for a URL). Raises WorkbenchError
    only when the run cannot start (or the cache becomes unusable); document problems are
    failed rows.
    """
    if not steps:
        raise WorkbenchError("nothing to do: no steps were given")
    check_out(paths, out)
    clean_temp_files(out)  # what a killed run left behind
    run = _Run(wb, out, skip_existing, listener or NullListener(), src)
    run.overwrite_edits = overwrite_edits
    found = discover_all(list(paths), exclude=[out], fmt=fmt)
    run.report.ignored = [str(p) for p in found.ignored]
    first_task = steps[0].task
    missing = [Row(exc.path, first_task, "-", error=str(exc)) for exc in found.errors]
    not_read = [
        Row(str(path), first_task, "-", cache=NOT_READ, note=why) for path, why in found.skipped
    ]
    docs, unreadable = read_sources(found.sources, wb.run)
    for row in unreadable:
        row.task = first_task
    run.start(docs, steps, extra=len(unreadable))
    for row in missing + not_read + unreadable:
        run.report.rows.append(row)
        run.listener.row(row)
    for _ in unreadable:
        run.listener.document_done()
    manifest_path = manifest or out / MANIFEST_NAME
    try:
        for s, step in enumerate(steps):
            if step.task == "translate":
                run.translate(s, step)
            else:
                run.summarise(s, step)
    except KeyboardInterrupt:
        run.report.interrupted = True
        run.finish(manifest_path)
        raise
    finally:
        clean_temp_files(out)
    run.finish(manifest_path)
    run.report.warnings = wb.warnings()
    return run.report


class _Run:
    """The state of one folder run: documents, texts made so far, rows and progress."""

    def __init__(
        self, wb: Workbench, out: Path, skip_existing: bool, listener: Listener, src: str | None
    ) -> None:
        self.wb, self.out, self.skip_existing = wb, out, skip_existing
        self.listener, self.src = listener, src
        self.report = RunReport()
        self.started = time.perf_counter()
        self.lib = versions()
        self.sources: list[Source] = []
        self.docs: list[Document] = []
        self.hashes: list[str] = []
        self.clash: dict[int, str] = {}  # doc index -> why its outputs cannot be written
        self.remaining: list[int] = []
        # texts[d][lang] = (text, output path) of each translation made (or kept) this run
        self.texts: list[dict[str, tuple[str, Path]]] = []
        self.failed_langs: list[dict[str, str]] = []
        self.overwrite_edits = False
        self.kept: dict[tuple[int, str], str] = {}  # (doc, lang) -> why a post-edit is kept

    def start(self, docs: list[tuple[Source, Document]], steps: Sequence[Step], extra: int) -> None:
        """Take the readable documents; ``extra`` unreadable ones also count in the progress."""
        self.sources = [s for s, _ in docs]
        self.docs = [d for _, d in docs]
        self.hashes = [d.input_hash() for d in self.docs]
        self.texts = [{} for _ in docs]
        self.failed_langs = [{} for _ in docs]
        per_doc = sum(len(step.langs) for step in steps)
        self.remaining = [per_doc] * len(docs)
        seen: dict[Path, Source] = {}
        tasks = {step.task for step in steps}
        for d, source in enumerate(self.sources):
            # Outputs are named from the input's name less its suffix (``notes`` and
            # ``notes.txt`` both give ``notes.uk.txt``; ``a.srt`` and ``a.txt`` the summary
            # ``a.summary.uk.txt``): compare those names, not the inputs'.
            for task in sorted(tasks):
                name = output_name(source.rel, "*", task)
                other = seen.setdefault(name, source)
                if other is not source:
                    self.clash[d] = (
                        f"{source.name}: its outputs would overwrite those of {other.name} "
                        f"(both write {name} under --out); rename one "
                        "or run them into separate folders"
                    )
                    break
        self.listener.documents(len(docs) + extra)

    def finish(self, manifest: Path) -> None:
        self.report.sort()
        self.report.seconds = time.perf_counter() - self.started
        try:
            rows = merge_manifest(
                manifest, self.out, [r.manifest() for r in self.report.rows], MANIFEST_FIELDS
            )
            write_jsonl_atomic(manifest, rows)
            self.report.manifest = str(manifest)
        except OSError as exc:
            raise WorkbenchError(
                f"{manifest}: could not write the manifest ({exc}); check --out"
            ) from None

    def add(self, d: int, row: Row) -> None:
        self.report.rows.append(row)
        self.listener.row(row)
        self.remaining[d] -= 1
        if self.remaining[d] == 0:
            self.listener.document_done()

    def target(self, d: int, task: str, lang: str) -> Path:
        return safe_join(self.out, output_name(self.sources[d].rel, lang, task))

    # --- translate -------------------------------------------------------------------------

    def translate(self, s: int, step: Step) -> None:
        langs = list(step.langs)
        index = {lang: i for i, lang in enumerate(langs)}
        todo = [d for d in range(len(self.docs)) if d not in self.clash]
        for d in self.clash:
            for lang in langs:
                self.add(d, self._row(d, s, index[lang], "translate", lang, error=self.clash[d]))

        def skip(i: int, result: Any) -> bool:
            d = todo[i]
            try:
                target = self.target(d, "translate", result.target_lang)
            except WorkbenchError:
                return False  # writing it says what is wrong
            why = None if self.overwrite_edits else kept_edit(target, self.hashes[d])
            if why is not None:
                # Translated all the same (from the cache when it can), so that a rerun refills
                # the cache an export reads, but not written: ``on_result`` keeps the file.
                self.kept[(d, result.target_lang)] = why
            if not self.skip_existing:
                return False
            return up_to_date(target, result.key, self.hashes[d])

        def on_result(i: int, result: Any) -> None:
            d = todo[i]
            lang = result.target_lang
            kept = self.kept.get((d, lang)) if result.error is None else None
            if kept is not None:  # a person's post-edits: the file stays as it is
                row = self._row(
                    d,
                    s,
                    index.get(lang, 0),
                    "translate",
                    lang,
                    output=str(self.target(d, "translate", lang)),
                    signature=result.signature,
                    cache=EDITED,
                    seconds=result.seconds,
                    note=kept,
                    result=result,
                )
            else:
                row = self._write(
                    d, s, index.get(lang, 0), "translate", lang, result, result.output()
                )
            if row.ok and row.output is not None:
                text = None if kept is not None else result.text
                if text is None:  # skipped or kept: the output on disk is the translation
                    try:
                        text = read_output_text(Path(row.output), self.docs[d].format)
                    except (OSError, UnicodeError, WorkbenchError) as exc:
                        row.error = f"{row.output}: cannot be read back ({exc})"
                if text is not None:
                    self.texts[d][lang] = (text, Path(row.output))
            if not row.ok:
                self.failed_langs[d][lang] = row.error or "failed"
            self.add(d, row)

        self.wb.translate_documents(
            [self.docs[d] for d in todo],
            options=step.translate_options(self.src),
            beams=step.beams,
            on_segments=self.listener.segments_done,
            on_planned=self.listener.segments,
            on_result=on_result,
            skip=skip,
        )

    # --- summarise -------------------------------------------------------------------------

    def summarise(self, s: int, step: Step) -> None:
        for li, lang in enumerate(step.langs):
            originals: list[int] = []
            translated: list[int] = []
            for d in range(len(self.docs)):
                if d in self.clash:
                    self.add(d, self._row(d, s, li, "summarise", lang, error=self.clash[d]))
                elif lang in self.texts[d]:
                    translated.append(d)
                elif lang in self.failed_langs[d]:
                    error = f"{self.sources[d].name}: no {lang} text to summarise (its translation failed)"
                    self.add(d, self._row(d, s, li, "summarise", lang, error=error))
                else:
                    originals.append(d)
            want = None if lang == OWN else lang
            self._summaries(s, li, step, want, originals, from_translation=False)
            self._summaries(s, li, step, want, translated, from_translation=True)

    def _summaries(
        self,
        s: int,
        li: int,
        step: Step,
        lang: str | None,
        docs: list[int],
        *,
        from_translation: bool,
    ) -> None:
        for start in range(0, len(docs), _SUMMARY_SLICE):
            part = docs[start : start + _SUMMARY_SLICE]
            inputs: list[Document] = []
            for d in part:
                if from_translation and lang is not None:
                    text, path = self.texts[d][lang]
                    doc = self.docs[d].format.readable().parse(text)
                    doc.source = str(path)
                    inputs.append(doc)
                else:
                    inputs.append(self.docs[d])
            options = dict(step.options)
            # A translation is known to be in its language; detection on it is only a risk.
            src = lang if from_translation else self.src
            results = self.wb.summarise_documents(
                inputs, lang=lang, model=step.model, beams=step.beams, src=src, **options
            )
            for d, doc, result in zip(part, inputs, results, strict=True):
                out_lang = lang or result.lang or "-"  # "own": the language the article is in
                input_sha = doc.input_hash() if from_translation else self.hashes[d]
                if (
                    self.skip_existing
                    and result.error is None
                    and out_lang != "-"
                    and up_to_date(self.target(d, "summarise", out_lang), result.key, input_sha)
                ):
                    result.cache = "skipped"
                extra = {"summarised_from": doc.source} if from_translation else {}
                text = None if result.text is None else result.text + "\n"
                row = self._write(
                    d, s, li, "summarise", out_lang, result, text, input_sha=input_sha, extra=extra
                )
                self.add(d, row)

    # --- rows and outputs --------------------------------------------------------------------

    def _row(self, d: int, s: int, li: int, task: str, lang: str, **kw: Any) -> Row:
        return Row(self.sources[d].name, task, lang, order=(s, li), **kw)

    def _write(
        self,
        d: int,
        s: int,
        li: int,
        task: str,
        lang: str,
        result: Any,
        text: str | bytes | None,
        *,
        input_sha: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Row:
        source = self.sources[d]
        row = self._row(
            d,
            s,
            li,
            task,
            lang,
            signature=result.signature,
            cache=result.cache,
            seconds=result.seconds,
            error=result.error,
            result=result,
        )
        if result.error is not None:
            return row
        try:
            target = self.target(d, task, lang)
            if result.cache == "skipped":
                row.output = str(target)
                return row
            if text is None:
                row.error = f"{source.name}: no {lang} output was produced"
                return row
            write_output(
                target,
                text,
                result,
                task=task,
                input_path=source.name,
                input_sha256=input_sha or self.hashes[d],
                lang=lang,
                versions=self.lib,
                extra={**(source.record or {}), **(extra or {})},
            )
            row.output = str(target)
        except (OSError, WorkbenchError) as exc:
            row.error = f"{source.name}: could not write its {lang} output ({exc})"
        return row
