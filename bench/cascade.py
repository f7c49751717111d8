"""The quality-gated cascade: how many sentences go to the fallback, and the time it saves.

A fast model translates everything; the sentences whose translation fails a check (numbers,
names, URLs, language, untranslated copies, length, repetition) are translated again by the
strong model (``--fallback-model``). The baseline is the strong model on every sentence, in
the same process, each run with its own empty cache and every model loaded before timing.

The models are random-weight stand-ins built here: the fast one is the tests' tiny Marian
model, the strong one a Marian model of opus-mt base size (512 wide, 6+6 layers), so the time
ratio is a real one while the share of flagged sentences depends on what random weights write.

    python bench/cascade.py              # writes its section of BENCHMARKS.md
    python bench/cascade.py --no-write
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is built here

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.corpus import sentence  # noqa: E402
from bench.report import machine, write_section  # noqa: E402

COMMAND = "python bench/cascade.py"
#: Facts news sentences carry, which a translation must keep (the checks look for them).
FACTS = (
    "Fares rise by 3.5% from Jan. 9.",
    "About 1,200 passengers use the route every day.",
    "The plan costs €4.2 million, Harbour Lines said.",
    "Olena Kovalenko, the mayor, met residents on Monday.",
    "Details are at https://example.org/ferry.",
)


def write_corpus(folder: Path, articles: int, seed: int = 7) -> None:
    """News-like articles: a title, then paragraphs mixing plain sentences and facts."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(articles):
        paras = []
        for _ in range(3):
            sents = [sentence(rng, rng.randint(6, 14)) for _ in range(2)]
            if rng.random() < 0.5:
                sents.insert(rng.randint(0, 2), rng.choice(FACTS))
            paras.append(" ".join(sents))
        (folder / f"story-{i:03d}.md").write_text(
            f"# Story {i}\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8"
        )


def timed(model: str, folder: Path, work: Path, name: str, fallback: str | None = None) -> dict:
    from workbench import Workbench
    from workbench.runs.folder import translate_paths
    from workbench.settings import TranslateOptions

    wb = Workbench(backend="torch", beams=1, cache=work / f"{name}.sqlite3")
    for ref in (model, fallback):  # loaded before timing starts
        if ref:
            wb.pool.backend(wb.pool.resolve(ref))._ensure_loaded()
    options = TranslateOptions(("uk",), src="en", model=model, fallback_model=fallback)
    start = time.perf_counter()
    report = translate_paths(wb, [str(folder)], options, out=work / f"out-{name}")
    seconds = time.perf_counter() - start
    if report.failed:
        raise SystemExit(f"{report.failed} documents failed: {report.rows[0].error}")
    results = [r.result for r in report.rows]
    total = sum(len(r.segments) for r in results)
    to_fallback = sum((r.cascade or {}).get("to_fallback", 0) for r in results)
    why: dict[str, int] = {}  # check -> sentences it sent to the strong model
    for r in results:
        for seg in (r.cascade or {}).get("segments", []):
            for check in sorted({reason.split(":")[0] for reason in seg["why"]}):
                why[check] = why.get(check, 0) + 1
    wb.close()
    return {"seconds": seconds, "segments": total, "to_fallback": to_fallback, "why": why}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20, help="articles in the corpus")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md")
    args = parser.parse_args()
    from tests.tinymodels import build, default_tiny_folder

    with tempfile.TemporaryDirectory(prefix="wb-cascade-") as tmp:
        work = Path(tmp)
        fast = str(default_tiny_folder("marian-multi", work / "models"))
        strong = str(
            build(
                "marian-multi",
                work / "models" / "strong",
                seed=1,
                d_model=512,
                layers=6,
                heads=8,
                ffn=2048,
            )
        )
        corpus = work / "in"
        write_corpus(corpus, args.articles)
        rows = {
            "strong on everything": timed(strong, corpus, work, "strong"),
            "fast on everything": timed(fast, corpus, work, "fast"),
            "cascade (fast, then strong on flagged sentences)": timed(
                fast, corpus, work, "cascade", fallback=strong
            ),
        }
    base = rows["strong on everything"]["seconds"]
    cascade = rows["cascade (fast, then strong on flagged sentences)"]
    lines = [
        "| run | sentences | to the strong model | seconds | × strong-only time |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        sent = r["segments"] if name.startswith("strong") else r["to_fallback"]
        lines.append(
            f"| {name} | {r['segments']} | {sent} | {r['seconds']:.2f} | "
            f"{r['seconds'] / base:.2f} |"
        )
    share = cascade["to_fallback"] / max(1, cascade["segments"])
    fast_ratio = rows["fast on everything"]["seconds"] / base
    reasons = ", ".join(
        f"{k} {v}" for k, v in sorted(cascade["why"].items(), key=lambda kv: -kv[1])
    )
    body = "\n".join(
        [
            "## Quality-gated cascade (`bench/cascade.py`)",
            "",
            f"`{COMMAND}` on {machine()}, {os.environ['OMP_NUM_THREADS']} torch thread(s).",
            "",
            f"{args.articles} news-like articles into Ukrainian, greedy, torch fp32, each run "
            "with its own empty cache and its models loaded before timing. Fast model: the "
            "tests' tiny Marian model; strong model: a random-weight Marian of opus-mt base "
            "size. Both write gibberish, so which sentences the checks flag is what random "
            "weights earn, not what a real model would; the time ratios are real.",
            "",
            *lines,
            "",
            f"{share:.0%} of the sentences went to the strong model (sentences flagged, by "
            f"check: {reasons or 'none'}); the cascade took {cascade['seconds'] / base:.0%} of "
            "the strong-only time. Its cost is the fast run plus the flagged share of the "
            f"strong run: with the fast model at {fast_ratio:.0%} of the strong one's time, it "
            f"saves time while fewer than about {1 - fast_ratio:.0%} of the sentences are "
            "flagged, which a real fast model (whose sentences mostly pass) is far below and "
            "random weights are not.",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("cascade", body)


if __name__ == "__main__":
    main()
