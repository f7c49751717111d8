"""Model limits in both directions: no segment decodes past the decoder's positions.

The models are adversarial tiny models (tests/tinymodels.py): a Marian or M2M100 decoder with
64 positions whose weights never emit EOS, so every segment runs to its bound, and a model
that emits EOS at once. Before the cap, a bound past the positions crashed torch with
``IndexError`` and CTranslate2 with "No position encodings are defined".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.tinymodels import build_adversarial, corpus_lines
from workbench.api import Workbench
from workbench.cli.app import app
from workbench.models.seq2seq_common import decoder_positions

POSITIONS = 64
ENGINES = ["torch", "ctranslate2"]
#: One sentence of ~90 words (no sentence break inside): its bound (2 × tokens + 16) is far
#: past 64 positions, and so is the bound of each part the input limit alone would give.
LONG = ", ".join(line.rstrip(".") for line in corpus_lines("en")[:6]) + "."


@pytest.fixture(scope="module")
def never_ends(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Marian with 64 decoder positions whose decoder never emits EOS."""
    return build_adversarial(
        "marian", tmp_path_factory.mktemp("adv") / "m64", positions=POSITIONS, eos="never"
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"model_type": "marian", "max_position_embeddings": 64}, 64),
        ({"model_type": "m2m_100", "max_position_embeddings": 1024}, 1024),
        ({"model_type": "gpt2", "n_positions": 128}, 128),
        ({"model_type": "t5", "n_positions": 512}, None),  # relative positions: no limit
        ({"model_type": "mt5"}, None),
        ({"model_type": "bart"}, None),  # not stated: nothing to cap by
    ],
)
def test_decoder_positions_come_from_the_config(
    tmp_path: Path, config: dict[str, object], expected: int | None
) -> None:
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert decoder_positions(tmp_path) == expected


@pytest.mark.parametrize("backend", ENGINES)
def test_a_long_sentence_is_split_again_where_the_decoder_runs_out(
    never_ends: Path, backend: str
) -> None:
    wb = Workbench(backend=backend, cache=False, beams=1)
    result = wb.translate(LONG, "uk", src="en", model=str(never_ends))
    assert result.ok and result.text
    (pair,) = result.segments
    # The one segment was decoded as parts that each fit the 64 positions; a model that never
    # stops still ends every part at its own bound, which the notes say.
    assert any(n.startswith("split:") and int(n.split(":")[1]) >= 3 for n in pair.notes)
    assert "length-bound" in pair.notes


def test_folder_run_with_one_long_sentence_writes_every_document_on_both_engines(
    never_ends: Path, tmp_path: Path
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a-short.txt").write_text("Markets rose on Monday.\n\nPrices fell later.\n", "utf-8")
    (src / "b-long.txt").write_text(f"Headline\n\n{LONG}\n", "utf-8")
    (src / "c-short.md").write_text("# News\n\nThe weather was fine today.\n", "utf-8")
    runner = CliRunner()
    args = ["translate", str(src), "--to", "uk", "--from", "en", "--model", str(never_ends)]
    for backend in ENGINES:
        out = tmp_path / f"out-{backend}"
        result = runner.invoke(
            app, [*args, "--out", str(out), "--backend", backend, "--beams", "1", "--no-cache"]
        )
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        for name in ("a-short.uk.txt", "b-long.uk.txt", "c-short.uk.md"):
            assert (out / name).read_text("utf-8").strip(), name
        prov = json.loads((out / "b-long.uk.txt.json").read_text("utf-8"))
        assert "length-bound" in prov["notes"]
        assert any(n.startswith("split:") for n in prov["notes"])
        rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
        assert len(rows) == 3 and all(r["error"] is None for r in rows)


@pytest.fixture(scope="module")
def m2m_never_ends(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """M2M100 with 64 decoder positions whose decoder never emits EOS."""
    return build_adversarial(
        "m2m100", tmp_path_factory.mktemp("adv") / "m2m", positions=POSITIONS, eos="never"
    )


@pytest.mark.parametrize("backend", ENGINES)
def test_a_forced_language_token_is_counted_among_the_positions(
    m2m_never_ends: Path, backend: str
) -> None:
    # M2M100 forces ``__uk__`` as the first generated token (a prefix for CTranslate2).
    wb = Workbench(backend=backend, cache=False, beams=1)
    result = wb.translate(LONG, "uk", src="en", model=str(m2m_never_ends))
    assert result.ok and result.text
    assert "length-bound" in result.segments[0].notes


def test_a_model_that_ends_at_once_gives_empty_segments_not_errors(tmp_path: Path) -> None:
    model = build_adversarial("marian", tmp_path / "eos", eos="at-once")
    wb = Workbench(backend="torch", cache=False, beams=1)
    result = wb.translate("Markets rose.\n\nPrices fell.", "uk", src="en", model=str(model))
    assert result.ok
    assert [p.target for p in result.segments] == ["", ""]
    assert not any("length-bound" in p.notes for p in result.segments)


def test_a_summary_stops_at_the_decoder_positions(tmp_path: Path) -> None:
    model = build_adversarial("bart-sum", tmp_path / "bart", positions=POSITIONS, eos="never")
    # Short enough for one chunk of 64 tokens: the summary's bound alone is capped.
    article = "\n\n".join([line for line in corpus_lines("en") if len(line.split()) < 9][:4])
    wb = Workbench(cache=False)
    result = wb.summarise(article, model=str(model), tokens=500)
    assert result.ok and result.text
    assert result.settings["max_new_tokens"] <= POSITIONS - 1
    assert "length-bound" in result.notes


def test_a_chat_reply_stops_where_the_context_runs_out(tiny, tmp_path: Path) -> None:
    import shutil

    from workbench.models.chat_backend import ChatTranslator

    folder = tmp_path / "chat"
    shutil.copytree(tiny("chat"), folder)
    config = json.loads((folder / "config.json").read_text())
    config["max_position_embeddings"] = 256  # rotary positions: only the config states it
    (folder / "config.json").write_text(json.dumps(config))
    wb = Workbench(cache=False, backend="torch")
    backend = wb.pool.backend(wb.pool.resolve(str(folder)))
    assert isinstance(backend, ChatTranslator)
    conversation = [{"role": "user", "content": "Translate: the weather was fine today."}]
    (reply,) = backend.generate([conversation], 1000, repeat_guard=0)
    assert backend.count(conversation) + reply.tokens <= 256
    # Translation splits a long sentence so that prompt, part and reply fit the context.
    result = wb.translate(LONG, "uk", src="en", model=str(folder))
    assert result.ok
    assert any(n.startswith("split:") for n in result.segments[0].notes)
