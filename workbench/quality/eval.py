"""``workbench eval``: outputs paired with references, scored, cached and recorded.

Pairing: an output folder's outputs (files with a provenance record beside them, or named like
outputs: ``a.uk.md``, ``a.summary.en.md``) are scored against the file of the **same relative
name** under the reference folder: ``out/en/a.uk.md`` against ``REF/en/a.uk.md``. The name
carries the language and task, so one reference folder serves several target languages and
summaries without ambiguity. Or two parallel files, one segment per line (``--hyp``, ``--ref``).

The task (``translate`` or ``summarise``) and the language come from the output's provenance
(``task``, ``lang``), else from its name; they decide the metrics (see metrics.py).

Per-document statistics and corpus scores are cached in workbench's cache under a key over the
metric, its sacrebleu/rouge-score signature and the hashes of hypothesis and reference, so a
rerun computes nothing. Rows are appended to ``OUT/eval.jsonl``: a separate file, because the
manifest holds exactly one row per input, task and language and is rebuilt from provenance
records, while scores are many rows per output and a history (against other references, other
metric versions) worth keeping.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.quality import metrics
from workbench.signature import digest
from workbench.store import Store

EVAL_NAME = "eval.jsonl"
TASKS = ("translate", "summarise")
#: Output names without a provenance record: ``stem.LANG.ext`` or ``stem.summary.LANG.ext``.
_OUTPUT_NAME = re.compile(r"^.+?(\.summary)?\.([a-z]{2,3})\.(md|markdown|txt)$")
_SKIP_NAMES = {"manifest.jsonl", EVAL_NAME}


@dataclass(frozen=True)
class EvalOptions:
    """What ``workbench eval`` takes (the CLI reads help and defaults from here)."""

    ref: Path | None = field(
        default=None,
        metadata={
            "help": "Reference folder mirrored like the output folder (OUT/en/a.uk.md is "
            "scored against REF/en/a.uk.md), or with --hyp a file of reference lines."
        },
    )
    hyp: Path | None = field(
        default=None,
        metadata={"help": "A file of hypothesis lines, scored line by line against --ref."},
    )
    lang: str | None = field(
        default=None,
        metadata={"help": "Target language of --hyp (it picks BLEU's and ROUGE's tokenizer)."},
    )
    task: str = field(
        default="translate",
        metadata={"help": "Task of --hyp: translate (chrF, chrF++, BLEU) or summarise (ROUGE)."},
    )
    bootstrap: int = field(
        default=metrics.BOOTSTRAP,
        metadata={"help": "Bootstrap resamples of documents for the 95% intervals (0: none)."},
    )
    seed: int = field(default=metrics.SEED, metadata={"help": "Seed of the bootstrap."})

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise WorkbenchError(f"unknown task {self.task!r}; use {' or '.join(TASKS)}")
        if self.bootstrap < 0:
            raise WorkbenchError(f"bootstrap must be at least 0, not {self.bootstrap}")


@dataclass(frozen=True)
class Pair:
    """One output and its reference."""

    name: str  # the output's name as shown (relative to the output folder)
    hyp: str
    ref: str
    task: str
    lang: str
    lines: bool = False  # parallel files: every line is a segment (empty ones too)


@dataclass
class EvalReport:
    """Rows (per document and per corpus), warnings, and how much was computed."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    computed: int = 0  # per-document statistics computed (0 on a rerun: all from the cache)
    cached: int = 0
    notes: list[str] = field(default_factory=list)


def _read(path: Path) -> str:
    from workbench import formats
    from workbench.runs.outputs import read_output_text

    fmt = formats.for_path(path)
    try:
        if fmt is not None and fmt.binary:  # a Word file is scored on its readable text
            return read_output_text(path, fmt)
        return path.read_text("utf-8-sig")
    except UnicodeDecodeError:
        raise WorkbenchError(f"{path}: not UTF-8 text; re-encode it as UTF-8") from None
    except OSError as exc:
        raise WorkbenchError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def _outputs(out: Path) -> Iterable[tuple[Path, dict[str, Any]]]:
    """The outputs under ``out`` with their task and language, in sorted order."""
    from workbench.runs.outputs import provenance_path, read_json

    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        if path.name in _SKIP_NAMES or path.name.startswith(".") or path.suffix == ".json":
            continue
        prov = read_json(provenance_path(path))
        if isinstance(prov, dict) and prov.get("task") in TASKS and prov.get("lang"):
            yield path, prov
            continue
        match = _OUTPUT_NAME.match(path.name)
        if match:
            yield path, {"task": "summarise" if match[1] else "translate", "lang": match[2]}


def folder_pairs(out: Path, ref: Path) -> tuple[list[Pair], list[str]]:
    """The outputs under ``out`` paired with ``ref``'s files of the same relative name, and one
    warning line for each output that has none. No output, or no reference at all, is an error."""
    if not out.is_dir():
        raise WorkbenchError(f"{out}: not a folder of outputs; give the --out folder of a run")
    if not ref.is_dir():
        raise WorkbenchError(f"{ref}: reference folder not found; give --ref a folder")
    pairs: list[Pair] = []
    missing: list[str] = []
    first: Path | None = None
    for path, prov in _outputs(out):
        rel = path.relative_to(out)
        first = first or rel
        reference = ref / rel
        if not reference.is_file():
            missing.append(f"{rel}: no reference {reference}; not scored")
            continue
        pairs.append(Pair(str(rel), _read(path), _read(reference), prov["task"], prov["lang"]))
    if first is None:
        raise WorkbenchError(f"{out}: no outputs found (files with a provenance record beside)")
    if not pairs:
        raise WorkbenchError(
            f"no output in {out} has a reference under {ref} (the same relative name, "
            f"e.g. {ref / first})"
        )
    return pairs, missing


def line_pairs(hyp: Path, ref: Path, lang: str | None, task: str) -> Pair:
    """Two parallel files, one segment per line (empty lines count: they keep the alignment):
    one pair, scored over its lines, with an interval from resampling them."""
    hyp_text, ref_text = _read(hyp), _read(ref)
    hyps, refs = hyp_text.splitlines(), ref_text.splitlines()
    if len(hyps) != len(refs):
        raise WorkbenchError(
            f"{hyp} has {len(hyps)} lines but {ref} has {len(refs)}; give parallel files"
        )
    if not hyps:
        raise WorkbenchError(f"{hyp}: no lines to score")
    return Pair(str(hyp), hyp_text, ref_text, task, lang or "und", lines=True)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _row(
    output: str | None, task: str, lang: str, score: metrics.Score, documents: int = 1
) -> dict[str, Any]:
    """One result row: a document's score (``output`` names it) or a corpus score (None)."""
    data = score.to_dict()
    return {
        "scope": "document" if output else "corpus",
        "output": output,
        "task": task,
        "lang": lang,
        "metric": data.pop("name"),
        **data,
        "documents": documents,
    }


def evaluate(pairs: list[Pair], store: Store, options: EvalOptions) -> EvalReport:
    """Score every pair with its task's metrics: a row per document and metric, and per
    (task, language) a corpus row per metric with its bootstrap interval. Parallel files
    (one pair of ``lines``) are a corpus of lines: one corpus row per metric."""
    report = EvalReport()
    groups: dict[tuple[str, str], list[Pair]] = {}
    for pair in pairs:
        groups.setdefault((pair.task, pair.lang), []).append(pair)
    for (task, lang), group in groups.items():
        for metric in metrics.metrics_for(task, lang):
            if metric.note and metric.note not in report.notes:
                report.notes.append(metric.note)
            keys, stats = [], []
            for pair in group:
                key, stat, doc = _document(store, metric, pair, options, report)
                if pair.lines:
                    count = len(pair.hyp.splitlines())
                    report.rows.append(_row(None, task, lang, doc, count))
                    continue
                keys.append(key)
                stats.append(stat)
                report.rows.append(_row(pair.name, task, lang, doc))
            if not keys:
                continue
            corpus = _corpus(store, metric, keys, stats, options)
            report.rows.append(_row(None, task, lang, corpus, len(group)))
    return report


def _document(
    store: Store, metric: metrics.Metric, pair: Pair, options: EvalOptions, report: EvalReport
) -> tuple[str, list[float], metrics.Score]:
    """A document's cache key, its statistics and its score, from the cache when it was scored
    before with this metric, signature and bootstrap (its interval resamples its lines)."""
    key = digest(
        "eval",
        metric.name,
        metric.signature,
        _sha(pair.hyp),
        _sha(pair.ref),
        pair.lines,
        options.bootstrap,
        options.seed,
    )
    entry = store.get_document(key)
    try:
        stat = [float(x) for x in entry["stats"]]  # type: ignore[index]
        score = metrics.Score(**entry["score"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError):  # not cached, or of another shape: computed
        pass
    else:
        report.cached += 1
        return key, stat, score
    if pair.lines:
        segments = metric.line_stats(pair.hyp.splitlines(), pair.ref.splitlines())
    else:
        segments = metric.segments(pair.hyp, pair.ref)
    stat, score = metric.combine(segments), metric.corpus(segments, options.bootstrap, options.seed)
    report.computed += 1
    meta = {"signature": f"eval|{metric.name}|{score.signature}", "task": "eval"}
    value = {"text": f"{metric.name} {score.value:.2f}", "stats": stat, "score": score.to_dict()}
    store.put_document(key, value, {**meta, "model": f"eval:{metric.name}", "path": pair.name})
    return key, stat, score


def _corpus(
    store: Store, metric: metrics.Metric, keys: list[str], stats: list[list[float]], options: Any
) -> metrics.Score:
    """The corpus score with its interval, from the cache when these documents were scored."""
    key = digest(
        "eval-corpus", metric.name, metric.signature, keys, options.bootstrap, options.seed
    )
    entry = store.get_document(key)
    if entry and isinstance(entry.get("score"), dict):
        try:
            return metrics.Score(**entry["score"])
        except TypeError:
            pass  # another shape: recompute
    score = metric.corpus(stats, options.bootstrap, options.seed)
    meta = {"signature": f"eval|{metric.name}|{score.signature}", "task": "eval"}
    value = {"text": f"{metric.name} {score.value:.2f}", "score": score.to_dict()}
    store.put_document(key, value, {**meta, "model": f"eval:{metric.name}", "path": None})
    return score


def append_rows(out: Path, rows: list[dict[str, Any]], reference: Path) -> Path:
    """Append the rows, stamped with time and reference, to ``OUT/eval.jsonl``."""
    path = out / EVAL_NAME
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with path.open("a", encoding="utf-8") as fh:
        for row in rows:
            fh.write(
                json.dumps({**row, "reference": str(reference), "time": stamp}, ensure_ascii=False)
                + "\n"
            )
    return path
