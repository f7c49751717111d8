"""Folder runs at scale: time per document for 10, 100 and 1,000 small articles.

The claim under test: a folder run costs the same per document whatever the number of
documents (discovery, cache look-ups, batching across documents, output and manifest writes
all scale linearly), both cold (every segment translated) and warm (every document a cache hit).

Each size gets its own corpus of distinct sentences (so de-duplication saves nothing) and its
own empty cache; the model is loaded before timing starts. The default model is the tests'
tiny Marian model with generation bounded to the input length, so the model's share stays small
and any super-linear overhead would show; ``--model`` takes any model folder or hub id.

    python bench/scale.py                   # 10, 100, 1000 documents; writes BENCHMARKS.md
    python bench/scale.py --sizes 10,100 --no-write
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

# One intra-op thread unless told otherwise: on a small shared machine, threads fighting other
# load make timings swing by 10x, which would hide the trend this measures.
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.corpus import sentence  # noqa: E402
from bench.report import machine, write_section  # noqa: E402

SENTENCES_PER_DOC = 4
# Cached reruns per size; the median is reported (the first rerun after a cold run also pays
# for SQLite folding in the cold run's writes, which would read as noise).
WARM_RUNS = 3
COMMAND = "python bench/scale.py"


def write_corpus(folder: Path, n: int, seed: int) -> int:
    """``n`` short articles (a title and two paragraphs) of distinct sentences; returns the
    number of segments to translate."""
    rng = random.Random(seed)
    seen: set[str] = set()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        sents: list[str] = []
        while len(sents) < SENTENCES_PER_DOC:
            text = sentence(rng, rng.randint(6, 14))
            if text not in seen:
                seen.add(text)
                sents.append(text)
        body = f"Story number {i}\n\n{' '.join(sents[:2])}\n\n{' '.join(sents[2:])}\n"
        sub = folder / f"desk{i % 10}"  # a nested tree, as newsrooms have
        sub.mkdir(exist_ok=True)
        (sub / f"story-{i:04d}.txt").write_text(body, encoding="utf-8")
    return n * (SENTENCES_PER_DOC + 1)


def run_size(n: int, model: str, work: Path) -> dict[str, float]:
    from workbench import Workbench
    from workbench.runs.folder import translate_paths
    from workbench.settings import GenerationSettings, TranslateOptions

    folder = work / f"in-{n}"
    segments = write_corpus(folder, n, seed=n)
    gen = GenerationSettings(beams=1, max_new_tokens_ratio=1.0, max_new_tokens_extra=2)
    wb = Workbench(backend="torch", cache=work / f"cache-{n}.sqlite3", generation=gen)
    wb.translate("The model is loaded before timing starts.", "uk", src="en", model=model)
    times = []
    for _ in range(1 + WARM_RUNS):  # the cold run, then the cached reruns
        start = time.perf_counter()
        report = translate_paths(
            wb,
            [str(folder)],
            TranslateOptions(("uk",), src="en", model=model),
            out=work / f"out-{n}",
        )
        times.append(time.perf_counter() - start)
        if report.failed:
            raise SystemExit(f"{report.failed} documents failed: {report.rows[0].error}")
    wb.close()
    warm = statistics.median(times[1:])
    return {"documents": n, "segments": segments, "cold": times[0], "warm": warm}


def table(rows: list[dict[str, float]]) -> str:
    lines = [
        "| documents | segments | cold run | per document | cached rerun | per document |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        n = r["documents"]
        lines.append(
            f"| {n:,} | {r['segments']:,} | {r['cold']:.2f} s | {1000 * r['cold'] / n:.1f} ms "
            f"| {r['warm']:.2f} s | {1000 * r['warm'] / n:.1f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000", help="comma-separated document counts")
    parser.add_argument("--model", help="model folder or hub id (default: the tiny test model)")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    with tempfile.TemporaryDirectory(prefix="wb-scale-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        model = args.model
        label = model
        if model is None:
            from tests.tinymodels import default_tiny_folder

            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # built here: nothing to download
            model = str(default_tiny_folder("marian-multi", work / "models"))
            label = "the tests' tiny Marian model (`marian-multi`, random weights)"
        rows = []
        for n in sizes:
            rows.append(run_size(n, model, work))
            print(table(rows).splitlines()[-1], flush=True)
    body = "\n".join(
        [
            "## Folder runs at scale (`bench/scale.py`)",
            "",
            f"`{COMMAND}` on {machine()}, {os.environ['OMP_NUM_THREADS']} torch thread(s).",
            "",
            f"English → Ukrainian with {label}, greedy, output bounded to the input length; "
            f"each article is a title and {SENTENCES_PER_DOC} distinct sentences (6–14 words) in a "
            "nested folder tree, each size with its own empty cache. *Cold*: every segment is "
            "translated (segments of all documents batched together, one model load); *cached "
            "rerun*: the same command again, every document a cache hit (median of "
            f"{WARM_RUNS} reruns). Times are the whole "
            "folder run (discovery, reading, planning, translation, output, provenance and "
            "manifest writes) with the model already loaded.",
            "",
            table(rows),
        ]
    )
    print(body)
    if not args.no_write:
        print(f"wrote {write_section('scale', body)}")


if __name__ == "__main__":
    main()
