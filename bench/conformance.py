"""The conformance table: real model shapes × task × engine, each ``ok`` or the exact reason.

    python bench/conformance.py [--models DIR] [--write]

Builds the five real-shaped models of ../shared/realshape (real tokenizers and configs, small
random weights; about 5-10 s each, kept in --models DIR when given), runs the matrix of
tests/realshape.py through the CLI in this process, prints a markdown table and, with
--write, puts it in the ``conformance`` section of BENCHMARKS.md. A cell is ``ok`` when the
run wrote its outputs with the right language token and the document's structure, or the
one-line reason it was refused; a cell that differs from what the matrix expects says so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _check_ok(case, got) -> str:
    """``ok``, or what is wrong with an output that was written."""
    from tests.helpers import assert_structure_kept
    from tests.realshape import EN_ARTICLE, ZH_ARTICLE, provenance

    source = EN_ARTICLE if case.doc == "en" else ZH_ARTICLE
    if case.command == "summarise":
        return (
            "ok"
            if got.outputs and all(f.read_text("utf-8").strip() for f in got.outputs.values())
            else "empty summary"
        )
    for target, token in case.language_tokens:
        out = got.outputs.get(target)
        if out is None:
            return f"no {target} output"
        try:
            assert_structure_kept(source, out.read_text("utf-8"))
        except AssertionError as exc:
            return f"structure changed ({exc})"
        used = provenance(out).get("language_token")
        if used != (token or None):
            return f"language token {used!r}, expected {token or None!r}"
    return "ok"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=None, help="keep the built models here")
    ap.add_argument("--write", action="store_true", help="write the table into BENCHMARKS.md")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="wb-conformance-"))
    # Tiny models gain nothing from threads; several would only contend for the cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.update(
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        WORKBENCH_HOME=str(work / "home"),
        WORKBENCH_CACHE=str(work / "home" / "cache.sqlite3"),
    )
    from tests.helpers import invoke
    from tests.realshape import (
        CASES,
        MODELS,
        SKIP_REASON,
        available,
        build,
        outcome,
        refused_as_expected,
    )

    if not available():
        print(f"skipped: {SKIP_REASON}", file=sys.stderr)
        return 2
    models = args.models or work / "models"
    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # build.py reports on stdout
        folders = {name: build(name, models) for name in MODELS}
    built = time.perf_counter() - start

    cells: dict[tuple[str, str], dict[str, str]] = {}
    mismatches = 0
    for n, case in enumerate(CASES):
        t0 = time.perf_counter()
        got = outcome(case, invoke, folders[case.model], work / f"case{n}")
        status = _check_ok(case, got) if got.status == "ok" else got.status
        # The table names the article, not the scratch folder it was copied to.
        status = status.replace(f"{work / f'case{n}' / 'in'}/", "")
        if "Traceback" in got.output:
            status = "crash: " + got.output.strip().splitlines()[-1]
        expected = (case.expect == "ok" and status == "ok") or (
            case.expect != "ok" and refused_as_expected(case.expect, status)
        )
        # Messages quote commands in backticks, which a code span cannot hold: plain text.
        cell = status if status == "ok" else status.replace("|", "\\|")
        if not expected:
            mismatches += 1
            cell += f" — **expected** `{case.expect}`" + (
                f" (pending: {case.pending})" if case.pending else ""
            )
        cells.setdefault((case.model, case.task), {})[case.engine] = cell
        print(f"{case.id}: {status} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    total = time.perf_counter() - start

    lines = [
        "| model | task | torch | ctranslate2 |",
        "|---|---|---|---|",
        *(
            f"| {model} | {task} | {row.get('torch', '')} | {row.get('ctranslate2', '')} |"
            for (model, task), row in cells.items()
        ),
    ]
    table = "\n".join(lines)
    print(table)
    summary = (
        f"{len(CASES)} cases, {mismatches} not as expected; {built:.0f} s to build the models, "
        f"{total:.0f} s in all"
    )
    print(summary)
    if args.write:
        from report import machine, write_section

        body = (
            "Real tokenizers and configs of five public models (../shared/realshape), small "
            "random weights, through the CLI. `ok`: outputs written with the right language "
            "token and the document's structure; otherwise the exact one-line reason.\n\n"
            f"`python bench/conformance.py --write` on {machine()}\n\n{table}\n\n{summary}\n"
        )
        write_section("conformance", body)
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
