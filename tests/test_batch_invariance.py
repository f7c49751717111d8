"""A document's translation does not depend on what else was in the batch.

One document is translated alone, and inside a folder of other documents of varied lengths by
two concurrent processes (each with its own cache and its own neighbours); every tiny model
family, on torch and (where it runs the family) CTranslate2, at the model's own beam size
(the default, and where neighbours used to change outputs: beam search decoded to the batch's
longest bound ends differently from the same row decoded to its own), must give identical bytes.
The repeat guard is off: it re-decodes a runaway row alone, which on rambling random-weight
models would happen to nearly every row and hide what its batch did to it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.tinymodels import corpus_lines
from workbench import Workbench
from workbench.models import families
from workbench.models.batching import bound_step, plan_batches
from workbench.settings import GenerationSettings

GEN = GenerationSettings(repeat_guard=0)  # the model's own beam size
FAMILIES = [("marian", "uk"), ("nllb", "ko"), ("m2m100", "ko"), ("mbart50", "ko"), ("t5", "ko")]


def _ct2_installed() -> bool:
    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        return False
    return True


def combos() -> list[tuple[str, str, str]]:
    """(family, target, backend) of every family on every engine that runs it."""
    engines = ["torch", "ctranslate2"] if _ct2_installed() else ["torch"]
    return [
        (family, tgt, engine)
        for family, tgt in FAMILIES
        for engine in engines
        if engine == "torch" or families.get(family).ct2
    ]


def the_document() -> str:
    """Sentences of several lengths, so its own rows fall into different bound steps."""
    lines = corpus_lines("en")
    parts = [lines[3], f"{lines[4]} {lines[5]}", lines[6].split(",")[0] + ".", *lines[7:10]]
    return "\n\n".join(parts)


def neighbours(folder: Path, offset: int) -> Path:
    """A folder of documents of varied lengths: one word up to long run-on sentences."""
    folder.mkdir(parents=True)
    lines = corpus_lines("en")[10 + offset :]
    (folder / "short.txt").write_text("Yes.\n", "utf-8")
    (folder / "long.txt").write_text(
        "; ".join(line.rstrip(".") for line in lines[:4]) + ".\n", "utf-8"
    )
    for k, size in enumerate((1, 3)):
        text = "\n\n".join(lines[5 + 7 * k : 5 + 7 * k + size])
        (folder / f"n{k}.txt").write_text(text + "\n", "utf-8")
    return folder


def translate_in_folder(
    folder: Path, models: dict[str, str], cache: Path | None, out: Path
) -> dict[str, str]:
    """Translate every file of ``folder`` with every combination; the text of ``doc.txt``."""
    docs = [Workbench.document(p) for p in sorted(folder.iterdir())]
    index = [p.name for p in sorted(folder.iterdir())].index("doc.txt")
    texts: dict[str, str] = {}
    for family, tgt, engine in combos():
        wb = Workbench(
            cache=str(cache) if cache else False, backend=engine, device="cpu", generation=GEN
        )
        results = wb.translate_documents(docs, [tgt], src="en", model=models[family])
        result = results[index][0]
        assert result.error is None, result.error
        texts[f"{family}/{engine}"] = result.text or ""
    out.write_text(json.dumps(texts, ensure_ascii=False), "utf-8")
    return texts


@pytest.fixture
def models(tiny) -> dict[str, str]:
    return {family: str(tiny(family)) for family, _ in FAMILIES}


def test_alone_in_a_batch_and_in_two_concurrent_processes_give_identical_bytes(
    models: dict[str, str], tmp_path: Path
) -> None:
    doc = the_document()
    folders = []
    for k in range(2):
        folder = neighbours(tmp_path / f"run{k}", offset=20 * k)
        (folder / "doc.txt").write_text(doc + "\n", "utf-8")
        folders.append(folder)

    # Two processes at once, each with its own cache and its own neighbours.
    code = (
        "import json, sys; from pathlib import Path; "
        "from tests.test_batch_invariance import translate_in_folder; "
        "a = json.loads(sys.argv[1]); "
        "translate_in_folder(Path(a[0]), a[1], Path(a[2]), Path(a[3]))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                code,
                json.dumps(
                    [str(f), models, str(tmp_path / f"cache{k}.db"), str(tmp_path / f"out{k}")]
                ),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k, f in enumerate(folders)
    ]

    alone: dict[str, str] = {}
    for family, tgt, engine in combos():
        wb = Workbench(cache=False, backend=engine, device="cpu", generation=GEN)
        result = wb.translate(folders[0] / "doc.txt", to=tgt, src="en", model=models[family])
        alone[f"{family}/{engine}"] = result.text

    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    concurrent = [json.loads((tmp_path / f"out{k}").read_text("utf-8")) for k in range(2)]

    assert set(alone) == {f"{f}/{e}" for f, _, e in combos()}
    differ = []
    for key, text in alone.items():
        assert text and text.strip() != doc, key
        differ += [f"{key} (process {k})" for k in range(2) if concurrent[k][key] != text]
    assert not differ, f"in a batch differs from alone: {differ}"


def test_rows_of_one_batch_share_a_bound_step() -> None:
    """With ``groups``, no batch mixes keys; the ladder never goes below the bound by much."""
    lengths = [3, 40, 7, 41, 12, 90, 5, 39]
    steps = [bound_step(2 * n + 16) for n in lengths]
    batches = plan_batches(lengths, budget=10_000, max_size=3, groups=steps)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len({steps[i] for i in batch}) == 1 and len(batch) <= 3
    for bound in range(1, 2000):
        step = bound_step(bound)
        assert bound <= step and (bound < 16 or step <= 1.25 * bound)
        assert bound_step(step) == step  # a step is its own step: idempotent


def test_chat_model_with_beams_gives_the_same_bytes_alone_and_in_a_batch(
    tiny, tmp_path: Path
) -> None:
    """The chat backend batches its own rows; with beams, neighbours must not change them."""
    folder = neighbours(tmp_path / "run", offset=0)
    (folder / "doc.txt").write_text(the_document() + "\n", "utf-8")
    wb = Workbench(cache=False, device="cpu", generation=GenerationSettings(repeat_guard=0))
    model = str(tiny("chat"))
    alone = wb.translate(folder / "doc.txt", to="uk", src="en", model=model, beams=2).text
    docs = [Workbench.document(p) for p in sorted(folder.iterdir())]
    index = [p.name for p in sorted(folder.iterdir())].index("doc.txt")
    batched = wb.translate_documents(docs, ["uk"], src="en", model=model, beams=2)
    assert alone and batched[index][0].text == alone
