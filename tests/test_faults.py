"""Faults stay where they happen: one failing segment fails its document, not the run.

The fault is real: a Marian model whose embedding lacks the piece of the word "budget"
(tests/tinymodels.py ``build_poisoned_marian``), so torch raises ``IndexError`` for exactly
the segments that contain it. Unloadable models and chat templates the sandbox refuses
become one error line per document as well.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.tinymodels import build_poisoned_marian, build_vocab_mismatch, corpus_lines
from workbench.api import Workbench
from workbench.cli.app import app
from workbench.engines import SegmentError, isolate
from workbench.models.base import Output

runner = CliRunner()

DOCS = {
    "a.txt": "Markets rose on Monday.\n\nPrices fell later in the day.\n",
    "b.md": "# Weather\n\nThe weather was fine today. People walked in the park.\n",
    "c.txt": "The council approved a new budget on Tuesday. It was a long debate.\n",
    "d.txt": "Prices fell later in the day.\n\nThe teachers met on Friday.\n",
}


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_poisoned_marian(tmp_path_factory.mktemp("faults") / "poisoned")


def folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (root / name).write_text(text, "utf-8")
    return root


def manifest(out: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    return {Path(str(r["input"])).name: r for r in rows}


def test_isolate_narrows_a_failure_down_to_the_segments_that_raise() -> None:
    calls: list[list[str]] = []

    def translate(texts: list[str]) -> list[Output]:
        calls.append(texts)
        if any("x" in t for t in texts):
            raise RuntimeError("boom\nsecond line")
        return [Output(t.upper()) for t in texts]

    outs = isolate(translate, ["a", "b", "x", "c", "d"], "m@1")
    assert [o.text if isinstance(o, Output) else None for o in outs] == [
        "A",
        "B",
        None,
        "C",
        "D",
    ]
    error = outs[2]
    assert isinstance(error, SegmentError)
    assert error.model == "m@1" and error.cause == "RuntimeError: boom"

    def interrupted(texts: list[str]) -> list[Output]:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        isolate(interrupted, ["a", "b"], "m@1")


def test_one_failing_segment_fails_only_its_document(poisoned: Path, tmp_path: Path) -> None:
    src, out = folder(tmp_path / "in"), tmp_path / "out"
    cache = tmp_path / "cache.sqlite3"
    args = ["translate", str(src), "--to", "uk", "--from", "en", "--out", str(out)]
    args += ["--model", str(poisoned), "--backend", "torch", "--beams", "1", "--cache", str(cache)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if "error" in line]
    assert len(errors) == 1
    line = errors[0]
    assert str(src / "c.txt") in line and "poisoned@" in line and "IndexError" in line
    assert "1 of 2 segments" in line
    # Every other document, including those sharing the model and the chunk, is written.
    for name in ("a.uk.txt", "b.uk.md", "d.uk.txt"):
        assert (out / name).read_text("utf-8").strip(), name
    assert not (out / "c.uk.txt").exists()
    rows = manifest(out)
    assert set(rows) == set(DOCS)
    assert rows["c.txt"]["error"] and all(rows[n]["error"] is None for n in DOCS if n != "c.txt")

    # The cache kept every segment that finished, the good half of c.txt included: a rerun
    # sends only the failing segment to the model, and fails the same way.
    again = runner.invoke(app, [*args, "--json"])
    assert again.exit_code == 1
    lines = [line for line in again.stdout.splitlines() if line.startswith("{")]
    rows = {Path(r["input"]).name: r for r in map(json.loads, lines)}
    assert {rows[n]["cache"] for n in ("a.txt", "b.md", "d.txt")} == {"document"}


def test_debug_shows_the_traceback_behind_a_failed_document(
    poisoned: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, out = folder(tmp_path / "in"), tmp_path / "out"
    args = ["translate", str(src), "--to", "uk", "--from", "en", "--out", str(out)]
    args += ["--model", str(poisoned), "--backend", "torch", "--beams", "1", "--no-cache"]
    monkeypatch.setenv("WORKBENCH_DEBUG", "1")
    result = runner.invoke(app, args)
    # The run still goes on (the other documents are written); the cause is shown in full.
    assert result.exit_code == 1, result.output
    assert f"workbench: traceback for {src / 'c.txt'}:" in result.output
    assert "Traceback (most recent call last)" in result.output and "IndexError" in result.output
    assert (out / "a.uk.txt").exists() and not (out / "c.uk.txt").exists()


def test_the_api_reports_the_failure_on_that_document_only(poisoned: Path) -> None:
    wb = Workbench(backend="torch", cache=False, beams=1)
    docs = [wb.document(text) for text in DOCS.values()]
    rows = wb.translate_documents(docs, ["uk"], src="en", model=str(poisoned))
    errors = [r[0].error for r in rows]
    assert errors[0] is None and errors[1] is None and errors[3] is None
    assert errors[2] is not None and "IndexError" in errors[2]
    assert rows[2][0].exception is not None
    assert all(r[0].text for i, r in enumerate(rows) if i != 2)


@pytest.mark.parametrize("backend", ["torch", "ctranslate2"])
def test_a_corrupt_weight_file_fails_each_document_in_one_line(
    tiny, tmp_path: Path, backend: str
) -> None:
    model = tmp_path / "broken"
    shutil.copytree(tiny("marian"), model)
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    src, out = folder(tmp_path / "in"), tmp_path / "out"
    args = ["translate", str(src), "--to", "uk", "--from", "en", "--out", str(out)]
    args += ["--model", str(model), "--backend", backend, "--no-cache"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    # One cause: one line, naming every document it stopped.
    errors = [line for line in result.output.splitlines() if line.startswith("workbench: error")]
    assert len(errors) == 1, errors
    line = errors[0]
    assert all(name in line for name in DOCS) and "broken@" in line and "corrupt" in line
    assert "--backend torch" not in line  # the weights are broken, not the engine
    assert set(manifest(out)) == set(DOCS)


def test_a_chat_template_the_sandbox_refuses_is_one_line_per_document(tiny, tmp_path: Path) -> None:
    model = tmp_path / "chat"
    shutil.copytree(tiny("chat"), model)
    config_path = model / "tokenizer_config.json"
    config = json.loads(config_path.read_text("utf-8"))
    config["chat_template"] = "{% set x = [] %}{{ x.append(1) }}{{ messages[0]['content'] }}"
    config_path.write_text(json.dumps(config), "utf-8")
    (model / "chat_template.jinja").unlink(missing_ok=True)
    src, out = folder(tmp_path / "in"), tmp_path / "out"
    articles = tmp_path / "articles"  # long enough to summarise
    articles.mkdir()
    for n in range(2):
        lines = corpus_lines("en")[6 * n : 6 * n + 6]
        (articles / f"{n}.txt").write_text("\n\n".join(lines) + "\n", "utf-8")
    for command in (["translate", str(src), "--to", "uk"], ["summarise", str(articles)]):
        options = ["--from", "en", "--model", str(model), "--out", str(out / command[0])]
        result = runner.invoke(app, [*command, *options, "--no-cache"])
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        errors = [line for line in result.output.splitlines() if line.startswith("workbench:")]
        assert errors and all("chat template cannot be rendered" in e for e in errors), errors
        assert all("SecurityError" in e for e in errors)
        assert len(errors) == 1  # one cause: one line naming every document it stopped
        assert all(p.name in errors[0] for p in Path(command[1]).iterdir())


def _word_without_embedding(model: Path) -> str:
    """An ordinary word the tokenizer turns into an id past the model's embedding rows."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    rows = json.loads((model / "config.json").read_text("utf-8"))["vocab_size"]
    for piece, index in sorted(tok.get_vocab().items(), key=lambda kv: -kv[1]):
        word = tok.convert_tokens_to_string([piece]).strip()
        if index >= rows and word.isalpha() and len(word) > 3:
            ids = tok(f"It was {word} today.", add_special_tokens=False).input_ids
            if any(i >= rows for i in ids):
                return word
    raise AssertionError("no ordinary word without an embedding row")


def test_a_summary_failing_on_one_article_leaves_the_others(tmp_path: Path) -> None:
    # Config vocabulary smaller than the tokenizer's: the last ordinary pieces have no
    # embedding row, so the article that contains one of them makes torch raise for it alone.
    # (Special-token text such as a literal <mask> is read as text and fails nothing.)
    model = build_vocab_mismatch(tmp_path / "bart", missing=40)
    word = _word_without_embedding(model)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model)
    rows = json.loads((model / "config.json").read_text("utf-8"))["vocab_size"]
    # Sentences every piece of which has an embedding row: only the poisoned article fails.
    sound = [
        s for s in corpus_lines("en") if max(tok(s, add_special_tokens=False).input_ids) < rows
    ]
    articles = tmp_path / "articles"
    articles.mkdir()
    for n in range(3):
        lines = list(sound[6 * n : 6 * n + 6])
        if n == 1:
            lines[2] = f"Reporters wrote {word} and <mask> in the draft before it was published."
        (articles / f"{n}.txt").write_text("\n\n".join(lines) + "\n", "utf-8")
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["summarise", str(articles), "--model", str(model), "--out", str(out), "--no-cache"]
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("workbench: error")]
    assert len(errors) == 1
    assert "1.txt" in errors[0] and "bart@" in errors[0] and "IndexError" in errors[0]
    written = sorted(p.name for p in out.iterdir() if not p.name.endswith(".json"))
    assert [n for n in written if n != "manifest.jsonl"] == ["0.summary.en.txt", "2.summary.en.txt"]
    assert set(manifest(out)) == {"0.txt", "1.txt", "2.txt"}


def test_a_batch_where_every_segment_fails_stops_its_model_group(poisoned: Path) -> None:
    # Nothing in the batch works: the group stops instead of trying every segment alone.
    wb = Workbench(backend="torch", cache=False, beams=1)
    docs = [wb.document("The budget was approved."), wb.document("A budget was debated.")]
    rows = wb.translate_documents(docs, ["uk"], src="en", model=str(poisoned))
    for row in rows:
        assert row[0].error is not None
        assert "failed on every segment of a batch (IndexError" in row[0].error
