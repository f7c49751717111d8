"""Fingerprint the outputs of a fixed set of seed runs, to show a change left them byte-identical.

Builds the tests' tiny models of every family (random weights, so outputs are gibberish but
deterministic), runs ``workbench translate`` and ``workbench summarise`` over ``seeds/`` with
each of them, and prints one ``sha256  path`` line per output text (provenance files carry
timings, so only their signatures are fingerprinted). Compare two listings with ``diff``.

    python bench/seed_snapshot.py > before.txt   # on one tree
    python bench/seed_snapshot.py > after.txt    # on another
    diff before.txt after.txt
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: (name, arguments after ``workbench``); MODEL:<family> is replaced by a tiny model folder.
RUNS: list[tuple[str, list[str]]] = [
    (
        "marian-torch",
        ["translate", "--to", "uk", "--model", "MODEL:marian-multi", "--backend", "torch"],
    ),
    (
        "marian-ct2",
        ["translate", "--to", "uk", "--model", "MODEL:marian-multi", "--backend", "ctranslate2"],
    ),
    ("nllb", ["translate", "--to", "ko,uk", "--model", "MODEL:nllb", "--backend", "torch"]),
    (
        "nllb-ct2",
        ["translate", "--to", "ko,uk", "--model", "MODEL:nllb", "--backend", "ctranslate2"],
    ),
    ("m2m100", ["translate", "--to", "ko,uk", "--model", "MODEL:m2m100", "--backend", "torch"]),
    ("mbart50", ["translate", "--to", "uk", "--model", "MODEL:mbart50"]),
    ("madlad", ["translate", "--to", "ko,uk", "--model", "MODEL:t5", "--backend", "torch"]),
    ("chat", ["translate", "--to", "ko", "--model", "MODEL:chat"]),
    ("lead", ["summarise", "--model", "lead"]),
    ("lead-words", ["summarise", "--model", "lead", "--sentences", "2", "--words", "30"]),
    ("mt5-sum", ["summarise", "--model", "MODEL:mt5-sum"]),
    ("bart-sum", ["summarise", "--model", "MODEL:bart-sum", "--from", "en"]),
    ("chat-sum", ["summarise", "--model", "MODEL:chat", "--lang", "ko"]),
    (
        "then-translate",
        [
            "summarise",
            "--model",
            "lead",
            "--lang",
            "uk",
            "--strategy",
            "translate",
            "--translation-model",
            "MODEL:nllb",
        ],
    ),
]


def main() -> None:
    from tests.tinymodels import default_tiny_folder

    work = Path(tempfile.mkdtemp(prefix="seed-snapshot-"))
    models = Path(os.environ.get("SEED_SNAPSHOT_MODELS", work / "models"))
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "WORKBENCH_HOME": str(work / "home"),
        "WORKBENCH_CACHE": str(work / "home" / "cache.sqlite3"),
        "OMP_NUM_THREADS": "1",
    }
    for name, args in RUNS:
        argv = [
            str(default_tiny_folder(a[6:], models)) if a.startswith("MODEL:") else a for a in args
        ]
        out = work / "out" / name
        cmd = ["workbench", *argv, "seeds", "--out", str(out), "--no-cache", "-q"]
        done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        print(f"# {name}: exit {done.returncode}")
        for line in done.stderr.splitlines():
            print(f"#   {line[:160].replace(str(models), 'MODELS').replace(str(work), 'WORK')}")
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            rel = path.relative_to(work / "out")
            if path.name == "manifest.jsonl" or path.suffix == ".json":
                rows = (
                    [json.loads(x) for x in path.read_text().splitlines()]
                    if path.suffix == ".jsonl"
                    else [json.loads(path.read_text())]
                )
                sigs = sorted(
                    str(r.get("signature"))
                    for r in rows
                    for r in ([r] if "signature" in r else r.get("outputs", [r]))
                )
                print(
                    f"{hashlib.sha256(json.dumps(sigs).encode()).hexdigest()[:16]}  {rel} (signatures)"
                )
            else:
                print(f"{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}  {rel}")


if __name__ == "__main__":
    main()
