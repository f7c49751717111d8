"""Run the quality checks over the corpus of planted errors and their clean versions.

Every case of ``tests/data/quality/cases.json`` (translations en->uk, en->ko, uk->en, ko->en
and summaries, written for the purpose) is checked clean and with each of its planted errors.
Prints, per check, how many errors were planted for it, how many it caught, and how many flags
it raised on the clean versions (false flags), then the time the checks took.

    python bench/quality.py                       # print the table
    python bench/quality.py --out BENCHMARKS.md   # and write it under "Quality checks"
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from workbench.quality.checks import CHECKS, Flag, check_summary, check_translation  # noqa: E402

CORPUS = REPO / "tests" / "data" / "quality" / "cases.json"
#: Line-aligned English news sentences with Korean and Ukrainian translations (by people).
PARALLEL = REPO / "tests" / "data" / "corpus"
HEADING = "## Quality checks"
COMMAND = "python bench/quality.py --out BENCHMARKS.md"


def run(case: dict[str, Any], planted: dict[str, Any] | None = None, **kw: Any) -> list[Flag]:
    """``kw``: ``output_lang`` when the output's language is known (as in the pipeline)."""
    if case["kind"] == "summary":
        summary = case["clean"] if planted is None else planted["summary"]
        return check_summary(case["article"], summary, case["tgt"], case["src"], **kw)
    pairs = [list(p) for p in case["clean"]]
    for index, output in (planted or {}).get("replace", {}).items():
        pairs[int(index)][1] = output
    return check_translation([(s, t) for s, t in pairs], case["src"], case["tgt"], **kw)


def seconds_known_language(cases: list[dict[str, Any]]) -> float:
    """Seconds to check every version when the output's language is already known."""
    start = time.perf_counter()
    for case in cases:
        for variant in [None, *case["planted"]]:
            run(case, variant, output_lang=case["tgt"])
    return time.perf_counter() - start


def measure(cases: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The table's lines, and the lines of planted errors that were missed."""
    planted = dict.fromkeys(CHECKS, 0)
    caught = dict.fromkeys(CHECKS, 0)
    false = dict.fromkeys(CHECKS, 0)
    missed: list[str] = []
    segments = 0
    for case in cases:  # load the language detector's models before timing
        run(case)
    start = time.perf_counter()
    for case in cases:
        for flag in run(case):
            false[flag.check] += 1
        segments += 1 if case["kind"] == "summary" else len(case["clean"])
        for variant in case["planted"]:
            planted[variant["check"]] += 1
            segments += 1 if case["kind"] == "summary" else len(case["clean"])
            if any(f.check == variant["check"] for f in run(case, variant)):
                caught[variant["check"]] += 1
            else:
                missed.append(f"{case['id']}: {variant['what']} ({variant['check']})")
    seconds = time.perf_counter() - start
    known = seconds_known_language(cases)
    translations = [c for c in cases if c["kind"] == "translation"]
    pairs = sorted({f"{c['src']}->{c['tgt']}" for c in translations})
    lines = [
        f"{len(cases)} cases ({len(translations)} translations: {', '.join(pairs)}; "
        f"{len(cases) - len(translations)} summaries), "
        f"{sum(planted.values())} planted errors.",
        "",
        "| check | severity | planted | caught | false flags on clean |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, (severity, _) in CHECKS.items():
        lines.append(f"| {name} | {severity} | {planted[name]} | {caught[name]} | {false[name]} |")
    lines.append(
        f"| **all** | | {sum(planted.values())} | {sum(caught.values())} | {sum(false.values())} |"
    )
    each = 1000 / max(segments, 1)
    lines += [
        "",
        f"Checking {segments} segments and summaries took {seconds * 1000:.0f} ms "
        f"({seconds * each:.2f} ms each) with the output's language detected by the checks "
        f"(once per version, the detector's models loaded beforehand), {known * 1000:.0f} ms "
        f"({known * each:.2f} ms each) with it given, as the pipelines give it.",
    ]
    return lines, missed


def parallel_flags(folder: Path) -> list[str]:
    """Every flag the checks raise on the human translations of ``folder`` (en.txt with ko.txt
    and uk.txt, line by line): what a clean translation looks like to them."""
    lines_of = {
        lang: [x for x in (folder / f"{lang}.txt").read_text("utf-8").splitlines() if x.strip()]
        for lang in ("en", "ko", "uk")
    }
    english = lines_of["en"]
    out = [
        "",
        f"On the {len(english)} English news sentences of `tests/data/corpus` and their Korean "
        "and Ukrainian translations, written by people (where a translation localised an "
        "amount, the number really changed):",
        "",
        "| pair | flags | check | reason | source |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for lang in ("ko", "uk"):
        pairs = list(zip(english, lines_of[lang][: len(english)], strict=True))
        flags = check_translation(pairs, "en", lang)
        if not flags:
            out.append(f"| en->{lang} | 0 | | | |")
        for i, f in enumerate(flags):
            source = pairs[f.segment][0] if f.segment is not None else ""
            count = str(len(flags)) if i == 0 else ""
            out.append(f"| en->{lang} | {count} | {f.check} | {f.reason} | {source} |")
    return out


def write_section(path: Path, lines: list[str]) -> None:
    """Replace (or add) the "Quality checks" section of ``path``."""
    body = [
        HEADING,
        "",
        "Checks that run on every output without a reference (`workbench/quality/checks/`),",
        "measured on texts with planted errors and their clean versions",
        "(`tests/data/quality/cases.json`). Reproduce:",
        "",
        "```sh",
        COMMAND,
        "```",
        "",
        *lines,
        "",
    ]
    text = path.read_text("utf-8") if path.exists() else "# Benchmarks\n"
    start = text.find(HEADING + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + "\n".join(body)
    else:
        end = text.find("\n## ", start + len(HEADING))
        rest = "" if end < 0 else text[end + 1 :]
        text = text[:start] + "\n".join(body) + ("\n" + rest if rest else "")
    path.write_text(text, "utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, help="Markdown file to write the table into.")
    args = parser.parse_args()
    cases = json.loads(args.corpus.read_text("utf-8"))["cases"]
    lines, missed = measure(cases)
    lines += parallel_flags(PARALLEL)
    print("\n".join(lines))
    for line in missed:
        print(f"missed: {line}")
    if args.out:
        write_section(args.out, lines)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
