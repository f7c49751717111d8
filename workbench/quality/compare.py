"""The comparison page: several models' outputs of the same documents, side by side.

``Column`` holds one model's (or one setting's, or one output folder's) outputs, keyed by
document; ``build_report`` aligns the columns segment by segment, diffs every output against
the first word by word, gathers check flags, cache and timing figures and metric scores, and
``render_html`` turns that into one self-contained HTML page (inline CSS and SVG, no scripts,
no external requests). Gathering the columns (running models, reading output folders) lives
in ``workbench.quality.compare_runs``. Pure functions: nothing here prints.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from importlib import resources
from typing import Any

from workbench.errors import WorkbenchError

#: The template shipped in this package (see pyproject's package-data).
TEMPLATE = "compare.html.j2"
#: One colour per column, in order (then repeated): distinct, and readable on white.
PALETTE = ("#2f6fb3", "#c2572b", "#2e8b57", "#8a4fb8", "#b8860b", "#3a8f9b")

# Words, single CJK characters (scripts without spaces), punctuation and runs of space: a diff
# over these shows which words changed, and joining them gives the text back unchanged.
_TOKEN = re.compile(
    r"\s+|[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|\w+|[^\w\s]", re.UNICODE
)


@dataclass
class Output:
    """One column's output of one document: what the page shows of it."""

    name: str  # the document, as the page names it
    lang: str | None = None
    source_lang: str | None = None
    segments: list[tuple[str, str]] = field(default_factory=list)  # (source, output)
    aligned: str = "segment"  # "segment", "paragraph" (no segments recorded) or "document"
    model: str | None = None
    signature: str | None = None
    cache: str | None = None
    hits: int = 0
    misses: int = 0
    seconds: float = 0.0
    checks: list[dict[str, Any]] = field(default_factory=list)
    verdict: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    looks_like: str | None = None  # the language the output looks like, when not ``lang``
    text: str | None = None  # the whole output, for scoring against a reference
    ref_name: str | None = None  # its name under an output folder (and a reference folder)
    task: str = "translate"


@dataclass
class Column:
    """One model or setting: its outputs by document key, in the order they were given."""

    label: str
    outputs: dict[str, Output] = field(default_factory=dict)
    # Wall time of the run that made them, when it was measured (running models); else the
    # longest document's recorded time (documents of one run are translated together).
    seconds: float | None = None
    description: str = ""


def output_from_result(name: str, result: Any) -> Output:
    """An Output from a TranslationResult or SummaryResult (or anything shaped like one).

    ``checks`` and ``verdict`` are read with a default, so results without them work too.
    """
    segments = [(p.source, p.target) for p in getattr(result, "segments", None) or []]
    aligned = "segment"
    if not segments and result.text is not None:
        # A summary (or a copied document) has no segments: the whole text is one row.
        segments, aligned = [("", result.text)], "document"
    return Output(
        name=name,
        lang=getattr(result, "target_lang", None),
        source_lang=result.source_lang,
        segments=segments,
        aligned=aligned,
        model=result.model,
        signature=result.signature,
        cache=result.cache,
        hits=result.hits,
        misses=result.misses,
        seconds=float(result.seconds or 0.0),
        checks=[dict(c) for c in getattr(result, "checks", None) or []],
        verdict=getattr(result, "verdict", None),
        error=result.error,
        notes=list(result.notes or []),
        looks_like=result.output_lang if getattr(result, "lang_mismatch", False) else None,
        text=result.text,
    )


# --- word-level differences --------------------------------------------------------------------


def tokens(text: str) -> list[str]:
    """``text`` cut into words, CJK characters, punctuation and spaces (joined: ``text``)."""
    return _TOKEN.findall(text)


def diff_words(base: str, other: str) -> list[tuple[str, str]]:
    """``other`` against ``base`` as pieces ``(op, text)``: ``same``, ``ins`` (in ``other``
    only) and ``del`` (in ``base`` only). The ``same`` and ``ins`` pieces joined give
    ``other``; adjacent pieces of one kind are merged."""
    a, b = tokens(base), tokens(other)
    pieces: list[tuple[str, str]] = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if pieces and pieces[-1][0] == op:
            pieces[-1] = (op, pieces[-1][1] + text)
        else:
            pieces.append((op, text))

    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            add("same", "".join(b[j1:j2]))
            continue
        removed, added = "".join(a[i1:i2]), "".join(b[j1:j2])
        # A change of spacing alone is not worth a highlight.
        if not removed.strip() and not added.strip():
            add("same", added)
            continue
        add("del", removed)
        add("ins", added)
    return pieces


# --- alignment ----------------------------------------------------------------------------------


@dataclass
class _Row:
    source: str
    found: dict[int, int] = field(default_factory=dict)  # column -> segment index


def align(outputs: Sequence[Output | None]) -> list[_Row]:
    """Rows of segments with the same source across the outputs (None: a column without this
    document). Outputs of one segmentation line up one to one; where sources differ, runs of
    equal length are paired in order and the rest get rows of their own."""
    rows: list[_Row] = []
    for m, out in enumerate(outputs):
        if out is None:
            continue
        sources = [s for s, _ in out.segments]
        if not rows:
            rows = [_Row(s, {m: i}) for i, s in enumerate(sources)]
            continue
        merged: list[_Row] = []
        matcher = SequenceMatcher(None, [r.source for r in rows], sources, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
                for k in range(i2 - i1):
                    rows[i1 + k].found[m] = j1 + k
                    merged.append(rows[i1 + k])
            else:
                merged.extend(rows[i1:i2])
                merged.extend(_Row(sources[j], {m: j}) for j in range(j1, j2))
        rows = merged
    return rows


# --- the report ---------------------------------------------------------------------------------


def _flag(check: Mapping[str, Any]) -> dict[str, Any]:
    """A check dict with every field the page reads (older or partial records have defaults)."""
    severity = str(check.get("severity") or "warning")
    return {
        "check": str(check.get("check") or "check"),
        "severity": severity if severity in ("error", "warning", "info") else "warning",
        "reason": str(check.get("reason") or ""),
        "segment": check.get("segment"),
    }


def _score(value: Any) -> dict[str, float | None]:
    """A Score (``value``, ``low``, ``high``), a mapping with those keys or a bare number."""
    if isinstance(value, int | float):
        return {"value": float(value), "low": None, "high": None}
    names = ("value", "low", "high")
    raw = (
        {n: value.get(n) for n in names}
        if isinstance(value, Mapping)
        else {n: getattr(value, n, None) for n in names}
    )
    return {n: None if v is None else float(v) for n, v in raw.items()}


def _document(key: str, columns: Sequence[Column]) -> dict[str, Any]:
    """One document's section: a header per column and the aligned rows."""
    outs = [c.outputs.get(key) for c in columns]
    usable = [o if o is not None and o.error is None else None for o in outs]
    rows = align(usable)
    flags: list[dict[int, list[dict[str, Any]]]] = [{} for _ in columns]
    heads = []
    for m, out in enumerate(outs):
        whole: list[dict[str, Any]] = []
        for check in out.checks if out is not None else []:
            flag = _flag(check)
            seg = flag["segment"]
            if isinstance(seg, int) and not isinstance(seg, bool):
                flags[m].setdefault(seg, []).append(flag)
            else:
                whole.append(flag)
        heads.append({"output": out, "flags": whole, "colour": PALETTE[m % len(PALETTE)]})
    first = next((o for o in outs if o is not None), None)
    table = []
    for number, row in enumerate(rows, 1):
        cells = []
        base: str | None = None
        targets = []
        for m, out in enumerate(usable):
            j = row.found.get(m)
            if out is None or j is None:
                cells.append(None)
                continue
            target = out.segments[j][1]
            targets.append(target)
            if base is None:
                base, pieces = target, [("same", target)]
            else:
                pieces = diff_words(base, target)
            cells.append({"pieces": pieces, "flags": flags[m].get(j, []), "lang": out.lang})
        changed = len(set(targets)) > 1
        flagged = any(c and c["flags"] for c in cells)
        table.append(
            {"number": number, "source": row.source, "cells": cells, "changed": changed}
            | {"flagged": flagged}
        )
    return {
        "key": key,
        "name": first.name if first is not None else key,
        "anchor": "doc-" + re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-"),
        "lang": next((o.lang for o in outs if o is not None and o.lang), None),
        "source_lang": next((o.source_lang for o in outs if o is not None and o.source_lang), None),
        "aligned": next((o.aligned for o in usable if o is not None), "segment"),
        "heads": heads,
        "rows": table,
        "changed": sum(r["changed"] for r in table),
    }


def _summary(column: Column, m: int, scores: Mapping[str, Any]) -> dict[str, Any]:
    outs = list(column.outputs.values())
    done = [o for o in outs if o.error is None]
    seconds = (
        column.seconds
        if column.seconds is not None
        else max((o.seconds for o in outs), default=0.0)
    )
    checks = [_flag(c) for o in outs for c in o.checks]
    return {
        "label": column.label,
        # Shown only where it adds something (a folder's label does not name its model).
        "description": "" if column.label.startswith(column.description) else column.description,
        "colour": PALETTE[m % len(PALETTE)],
        "documents": len(done),
        "failed": len(outs) - len(done),
        "segments": sum(len(o.segments) for o in done if o.aligned == "segment"),
        "hits": sum(o.hits for o in done),
        "lookups": sum(o.hits + o.misses for o in done),
        "seconds": seconds,
        "flags": len(checks),
        "errors": sum(c["severity"] == "error" for c in checks),
        "flagged": sum(o.verdict == "flag" for o in done),
        "signatures": list(dict.fromkeys(o.signature for o in outs if o.signature)),
        "scores": {name: _score(v) for name, v in (scores.get(column.label) or {}).items()},
    }


def _chart(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Bar geometry for the inline SVG chart: seconds and flags per column."""
    label_w, bar_w, bar_h, gap, panel_gap = 180, 300, 18, 6, 28
    panels = []
    y = 0
    for metric, title, fmt in (("seconds", "Seconds", "{:.2f} s"), ("flags", "Flags", "{:d}")):
        top = max((s[metric] for s in summaries), default=0) or 1
        bars = []
        y += 22  # the panel title
        for s in summaries:
            value = s[metric]
            width = round(bar_w * value / top, 1) if value else 0
            bars.append(
                {
                    "label": s["label"],
                    "colour": s["colour"],
                    "y": y,
                    "width": max(width, 1.5 if value else 0),
                    "text": fmt.format(value),
                }
            )
            y += bar_h + gap
        panels.append({"title": title, "title_y": y - len(bars) * (bar_h + gap) - 8, "bars": bars})
        y += panel_gap
    return {
        "panels": panels,
        "label_w": label_w,
        "bar_h": bar_h,
        "width": label_w + bar_w + 90,
        "height": y - panel_gap + 4,
    }


def build_report(
    columns: Sequence[Column],
    scores: Mapping[str, Mapping[str, Any]] | None = None,
    title: str | None = None,
    how: str = "",
) -> dict[str, Any]:
    """Everything the page shows, as plain data: a summary per column (documents, segments,
    cache hits, seconds, flags, ``scores``: label -> metric name -> Score or number), the
    chart, and per document the aligned rows with word differences against the first column.
    ``how`` says in one line where the outputs came from."""
    if len(columns) < 2:
        raise WorkbenchError("a comparison needs two or more models or output folders")
    scores = scores or {}
    keys = list(dict.fromkeys(k for c in columns for k in c.outputs))
    summaries = [_summary(c, m, scores) for m, c in enumerate(columns)]
    score_names = list(dict.fromkeys(n for s in summaries for n in s["scores"]))
    docs = [_document(k, columns) for k in keys]
    return {
        "title": title or f"{len(columns)} models on {len(keys)} documents",
        "how": how,
        "columns": summaries,
        "score_names": score_names,
        "chart": _chart(summaries),
        "documents": docs,
        "rows": sum(len(d["rows"]) for d in docs),
        "changed": sum(d["changed"] for d in docs),
    }


def render_html(report: Mapping[str, Any]) -> str:
    """The page for a ``build_report`` result: one HTML file, article text always escaped."""
    try:
        import jinja2
    except ImportError:  # installed with torch; missing only in a trimmed environment
        raise WorkbenchError("the comparison page needs jinja2: pip install jinja2") from None
    source = resources.files("workbench.quality").joinpath(TEMPLATE).read_text("utf-8")
    # Autoescaping on for everything: article text must never become markup.
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return env.from_string(source).render(**report)
