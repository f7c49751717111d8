"""How often a sentence with inline markup falls back to fragments (placeholders lost).

Translates the Markdown seeds with models given on the command line (or the tests' tiny
models of each family) and counts, per model, the sentences sent whole with placeholders and
those whose output lost, duplicated or misordered one (translated in fragments instead).

    python bench/inline_fallback.py                      # tiny models (random weights)
    python bench/inline_fallback.py Helsinki-NLP/opus-mt-en-uk:uk facebook/nllb-200-distilled-600M:ko
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TINY = [("marian-multi", "uk"), ("nllb", "ko"), ("m2m100", "ko"), ("mbart50", "ko"), ("t5", "ko")]


def main(argv: list[str]) -> None:
    from workbench import Workbench, WorkbenchError

    if argv:
        models = [(ref, tgt) for ref, _, tgt in (a.rpartition(":") for a in argv)]
    else:
        from tests.tinymodels import default_tiny_folder

        root = Path(os.environ.get("SEED_SNAPSHOT_MODELS") or tempfile.mkdtemp())
        models = [(str(default_tiny_folder(f, root)), t) for f, t in TINY]
    seeds = sorted((REPO / "seeds").rglob("*.md"))
    wb = Workbench(cache=False, backend="torch", beams=1)
    print("model | target | sentences with markup | in fragments | rate")
    for ref, tgt in models:
        whole = lost = 0
        for path in seeds:
            src = path.parent.name  # seeds/<language>/
            if src == tgt:
                continue
            try:
                result = wb.translate(path, tgt, src=src, model=ref)
            except WorkbenchError as exc:  # a model that cannot take this language
                # The first line of the reason: which pair the model cannot take.
                reason = str(exc).splitlines()[0]
                print(f"# {Path(ref).name}: {path.name} skipped: {reason}")
                continue
            for pair in result.segments:
                if any(n.startswith("markup:") for n in pair.notes):
                    lost += 1
            whole += sum(1 for _ in _marked(path, src))
        rate = f"{lost / whole:.0%}" if whole else "-"
        print(f"{Path(ref).name} | {tgt} | {whole} | {lost} | {rate}")


def _marked(path: Path, lang: str):
    from workbench import inline
    from workbench.documents import read_document

    doc = read_document(path)
    syntax = inline.syntax_of(doc.format.inline_markup)
    for text in doc.translatable_texts():
        for piece in inline.pieces(text, lang, syntax):
            enc = piece.encoded if isinstance(piece, inline.Marked) else None
            if enc is not None and (enc.atoms or enc.pairs):
                yield piece


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "models", nargs="*", help="MODEL:TARGET pairs (default: the tests' tiny models)"
    )
    main(parser.parse_args().models)
