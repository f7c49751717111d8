"""Cold versus fully cached runs of a folder, as a user runs them (the CLI in a subprocess).

    python bench/cache_bench.py [--folder seeds] [--repeats 5]

The model is a random-weight Marian with the opus-mt base architecture (built here: no hub),
so the cold run does the real amount of work. Writes the `cache` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from model import build_opus_mt  # noqa: E402
from report import REPO, machine, write_section  # noqa: E402


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(
        cmd, check=True, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folder", default="seeds")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()

    import os

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # Generation stops at EOS here (no forced length): what a user's run does.
        model = build_opus_mt(root / "opus-mt-base", forced_tokens=0)
        env = {**os.environ, "WORKBENCH_HOME": str(root / "home"), "HF_HUB_OFFLINE": "1"}
        cache = root / "cache.sqlite3"
        base = [
            sys.executable,
            "-m",
            "workbench",
            "translate",
            args.folder,
            "--to",
            "uk",
            "--from",
            "en",
            "--model",
            str(model),
            "--cache",
            str(cache),
        ]
        startup = statistics.median(
            timed([sys.executable, "-c", "pass"]) for _ in range(args.repeats)
        )
        help_time = statistics.median(
            timed([sys.executable, "-m", "workbench", "--help"], env) for _ in range(args.repeats)
        )
        cold = timed([*base, "--out", str(root / "cold")], env)
        cached = [timed([*base, "--out", str(root / f"hot{i}")], env) for i in range(args.repeats)]
        hot = statistics.median(cached)
        no_cache = timed([*base, "--out", str(root / "nocache"), "--no-cache"], env)
        for i in range(args.repeats):
            cold_files = sorted(p for p in (root / "cold").rglob("*.uk.*") if p.suffix != ".json")
            assert [f.read_bytes() for f in cold_files] == [
                (root / f"hot{i}" / f.relative_to(root / "cold")).read_bytes() for f in cold_files
            ], "a cached run wrote different bytes"

    docs = len([p for p in (REPO / args.folder).rglob("*") if p.suffix in (".md", ".txt")])
    body = f"""## Cache: cold versus fully cached run

`python bench/cache_bench.py --folder {args.folder} --repeats {args.repeats}`

{machine()}. Model: random-weight Marian with the opus-mt base architecture (d_model 512,
6+6 layers, 60k vocabulary), default backend, {docs} documents of `{args.folder}/` into Ukrainian,
CLI in a fresh subprocess each time (median of {args.repeats} for repeated rows).

| run | seconds | beyond Python start-up |
|---|---|---|
| `python -c pass` (start-up) | {startup:.3f} | — |
| `workbench --help` | {help_time:.3f} | {help_time - startup:.3f} |
| cold (empty cache) | {cold:.2f} | {cold - startup:.2f} |
| `--no-cache` | {no_cache:.2f} | {no_cache - startup:.2f} |
| fully cached rerun | {hot:.3f} | {hot - startup:.3f} |

Cold / cached: **{cold / hot:.1f}×**. The cached rerun loads no model and imports neither torch nor
transformers (tested in `tests/test_cache_pipeline.py`); its outputs are byte-identical to the cold run's.
"""
    print(body)
    if args.write:
        write_section("cache", body)


if __name__ == "__main__":
    main()
