"""Translating with a chat model: the translate-chat template, greedy decoding, cache keys."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS
from tests.helpers import assert_structure_kept, expected_segments
from workbench import Workbench
from workbench.documents import read_document
from workbench.errors import ModelError
from workbench.models.chat_backend import ChatTranslator, translation_recipe_extra
from workbench.models.families import inspect
from workbench.models.resolve import resolve
from workbench.settings import GenerationSettings, RunSettings

ARTICLE = SEEDS / "en" / "harbour-ferry.md"
TEXT = "The council met on Monday. The new ferry will carry 240 passengers."
# Short replies keep the tiny model fast; greedy decoding is the product default anyway.
FAST = GenerationSettings(beams=None, max_new_tokens_ratio=0.25, max_new_tokens_extra=2)


def wb(cache: Path | bool = False, **run: object) -> Workbench:
    return Workbench(cache=cache, run=RunSettings(backend="auto", **run), generation=FAST)


def test_a_chat_model_translates_an_article_faithfully(tiny) -> None:
    model = str(tiny("chat"))
    result = wb().translate(ARTICLE, to="ko", src="en", model=model)
    source = ARTICLE.read_text("utf-8")
    assert result.text is not None and result.text != source
    assert_structure_kept(source, result.text)
    assert [s.source for s in result.segments] == expected_segments(read_document(ARTICLE), "en")
    assert result.backend == "torch-fp32"
    sha = prompt_sha()
    assert result.signature is not None and f"prompt:{sha[:7]}" in result.signature
    assert result.signature.startswith("translate|model:chat@")


def prompt_sha() -> str:
    import hashlib

    return hashlib.sha256((REPO / "prompts" / "translate-chat.toml").read_bytes()).hexdigest()


def test_recipe_extra_is_the_template_hash_and_chat_settings(tiny) -> None:
    resolved = resolve(str(tiny("chat")))
    extra = translation_recipe_extra(resolved, inspect(resolved.path), RunSettings())
    assert extra["prompt"] == prompt_sha()
    assert extra["chat"]["sampling"] is False
    assert extra["chat"]["max_new_tokens"] > 0


def test_the_prompt_names_both_languages_and_carries_the_segment(tiny, monkeypatch) -> None:
    seen: list[list[dict[str, str]]] = []
    original = ChatTranslator.generate

    def spy(self, conversations, *args, **kwargs):
        seen.extend(conversations)
        return original(self, conversations, *args, **kwargs)

    monkeypatch.setattr(ChatTranslator, "generate", spy)
    wb().translate(TEXT, to="ko", src="en", model=str(tiny("chat")))
    users = [c[-1]["content"] for c in seen]
    assert len(users) == 2  # one turn per sentence
    assert all("from English into Korean" in u for u in users)
    assert users[0].endswith("The council met on Monday.")
    assert seen[0][0]["role"] == "system"


def test_sampling_defaults_are_overridden_and_reruns_are_identical(tiny) -> None:
    folder = tiny("chat")
    shipped = json.loads((folder / "generation_config.json").read_text())
    assert shipped["do_sample"] is True and shipped["temperature"] == 0.7  # what we override
    first = wb()
    one = first.translate(TEXT, to="uk", src="en", model=str(folder))
    backend = first.pool.loaded[0]
    assert isinstance(backend, ChatTranslator)
    config = backend._model.generation_config
    assert config.do_sample is False
    assert config.temperature is None and config.top_p is None and config.top_k is None
    two = wb().translate(TEXT, to="uk", src="en", model=str(folder))
    assert one.text == two.text


def test_tokenizer_pads_on_the_left_for_batched_generation(tiny) -> None:
    w = wb()
    w.translate(TEXT, to="ko", src="en", model=str(tiny("chat")))
    backend = w.pool.loaded[0]
    assert backend.tokenizer.padding_side == "left"
    assert backend.stats.batches >= 1 and backend.stats.segments == 2


def test_an_over_long_segment_is_split_not_truncated(tiny) -> None:
    sentence = "Officials said " + ", ".join(f"item {i}" for i in range(40)) + "."
    result = wb(max_input_tokens=24).translate(sentence, to="ko", src="en", model=str(tiny("chat")))
    notes = result.segments[0].notes
    assert any(n.startswith("split:") for n in notes), notes


def test_cached_rerun_loads_nothing_and_an_edited_template_is_a_miss(
    tiny, tmp_path: Path, isolated_env: Path
) -> None:
    cache = tmp_path / "c.sqlite3"
    model = str(tiny("chat"))
    first = wb(cache).translate(TEXT, to="ko", src="en", model=model)
    again = wb(cache)
    second = again.translate(TEXT, to="ko", src="en", model=model)
    assert second.cache == "document" and second.text == first.text
    assert again.pool.loaded == []
    # The user's copy of the template wins and has other bytes: a new key, so a miss.
    folder = isolated_env / "prompts"
    folder.mkdir(parents=True)
    text = (REPO / "prompts" / "translate-chat.toml").read_text("utf-8")
    (folder / "translate-chat.toml").write_text(text.replace("on one line", "on a single line"))
    third = wb(cache).translate(TEXT, to="ko", src="en", model=model)
    assert third.key != first.key and third.cache == "miss"


def test_a_causal_model_without_a_chat_template_is_refused(tiny, tmp_path: Path) -> None:
    folder = tmp_path / "no-template"
    shutil.copytree(tiny("chat"), folder)
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="has no chat template"):
        wb().translate(TEXT, to="ko", src="en", model=str(folder))


def test_cli_translate_with_a_chat_model(tiny, tmp_path: Path) -> None:
    article = tmp_path / "short.md"
    article.write_text("# Ferry news\n\nThe council met on Monday. It approved a ferry.\n")
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "translate",
            str(article),
            "--to",
            "ko",
            "--from",
            "en",
            "--model",
            str(tiny("chat")),
            "--out",
            str(out),
            "--no-cache",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    written = out / "short.ko.md"
    assert written.is_file()
    prov = json.loads((out / "short.ko.md.json").read_text())
    assert "prompt:" in prov["signature"]
