"""Document context for chat models: each sentence is sent with the sentences before it.

The window is ``context_sentences`` (``--context``): a sentence's prompt holds the N source
sentences before it in the same document, its cache key covers them, and sentence-level models
(and a window of 0) are untouched.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from workbench import Workbench, WorkbenchError
from workbench.cli.app import app
from workbench.engines import LocalEngine
from workbench.models.chat_backend import ChatTranslator
from workbench.runs.job_keys import top_keys
from workbench.settings import (
    DEFAULT_CONTEXT_SENTENCES,
    MAX_CONTEXT_SENTENCES,
    GenerationSettings,
    RunSettings,
    TranslateOptions,
)
from workbench.signature import digest
from workbench.tasks.legs import segment_key, windows

# Short replies keep the tiny model fast (it writes gibberish: structure is what is tested).
FAST = GenerationSettings(max_new_tokens_ratio=0.25, max_new_tokens_extra=2)
HARBOUR = (
    "Harbour news\n\n"
    "Anna Berg chairs the harbour council. She met the ferry crew on Monday.\n\n"
    "The crew asked for a new dock. Berg promised an answer by June. "
    "The council will vote next week.\n"
)
PIERS = ("north", "east", "old", "new", "west", "stone", "ferry", "fish", "main", "south")
WEATHER = (
    "Rain fell across the northern valley. Farmers welcomed the storm.\n\n"
    "Rivers rose by two metres. Roads to the villages were closed.\n"
)


def wb(cache: Path | bool = False, context: int | None = None, **run: Any) -> Workbench:
    gen = replace(FAST, context_sentences=context)
    return Workbench(cache=cache, run=RunSettings(backend="auto", **run), generation=gen)


def spy_prompts(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The user message of every conversation the chat backend generates for, per call."""
    calls: list[list[str]] = []
    original = ChatTranslator.generate

    def spy(self: ChatTranslator, conversations: list, *args: Any, **kwargs: Any) -> Any:
        calls.append([c[-1]["content"] for c in conversations])
        return original(self, conversations, *args, **kwargs)

    monkeypatch.setattr(ChatTranslator, "generate", spy)
    return calls


def spy_chunks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every chunk handed to the local engine."""
    seen: list[Any] = []
    original = LocalEngine.translate_chunks

    def spy(self: LocalEngine, pool: Any, chunks: list) -> Any:
        seen.extend(chunks)
        return original(self, pool, chunks)

    monkeypatch.setattr(LocalEngine, "translate_chunks", spy)
    return seen


def parse(prompt: str) -> tuple[str, list[str]]:
    """(the sentence asked for, its context lines) of one rendered user message."""
    if "Context:\n" not in prompt:
        return prompt.rsplit("\n", 1)[-1], []  # the plain template: the sentence ends it
    head, sentence = prompt.split("\nSentence:\n")
    return sentence, head.split("Context:\n", 1)[1].strip().splitlines()


def documents(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    (folder / "harbour.txt").write_text(HARBOUR, "utf-8")
    (folder / "weather.txt").write_text(WEATHER, "utf-8")
    return [folder / "harbour.txt", folder / "weather.txt"]


def translate(w: Workbench, paths: list[Path], model: Path, to: str = "ko") -> list[Any]:
    docs = [w.document(p) for p in paths]
    opts = TranslateOptions((to,), src="en", model=str(model)).checked()
    rows = w.translate_documents(docs, options=opts)
    for (result,) in rows:
        assert result.error is None, result.error
    return [row[0] for row in rows]


# --- the prompt ----------------------------------------------------------------------------


def test_each_prompt_holds_the_n_preceding_sentences_of_its_own_document(
    tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = spy_prompts(monkeypatch)
    results = translate(wb(context=2), documents(tmp_path), tiny("chat"))
    asked = dict(parse(p) for call in calls for p in call)
    for result in results:
        sources = [s.source for s in result.segments]
        assert len(sources) >= 4  # context runs across paragraphs (blocks)
        for k, sentence in enumerate(sources):
            assert asked[sentence] == sources[max(0, k - 2) : k], sentence
    # A document's first sentence has no context: it gets the plain template.
    first = next(p for call in calls for p in call if p.endswith("Harbour news"))
    assert "Context:" not in first and "from English into Korean" in first
    assert all("Korean" in p for call in calls for p in call)


def test_windows_and_segment_keys() -> None:
    texts = ["a", "b", "c", "d"]
    assert windows(texts, 2) == [(), ("a",), ("a", "b"), ("b", "c")]
    prefix = "p" * 64
    # No window: the key every sentence-level model has always had.
    assert segment_key(prefix, "d") == digest(prefix, "d")
    assert segment_key(prefix, "d", ("b", "c")) != segment_key(prefix, "d", ("x", "c"))
    assert segment_key(prefix, "d", ("b", "c")) != segment_key(prefix, "d")
    assert segment_key(prefix, "d", ()) != segment_key(prefix, "d")  # the window is explicit


# --- cache keys ----------------------------------------------------------------------------


def test_a_key_covers_the_window_and_nothing_further_back(tiny, tmp_path: Path) -> None:
    model = tiny("chat")
    cache = tmp_path / "c.sqlite3"
    sentences = [f"Sentence number {n} is about the harbour." for n in range(6)]
    (tmp_path / "a.txt").write_text(" ".join(sentences) + "\n", "utf-8")
    (first,) = translate(wb(cache, context=2), [tmp_path / "a.txt"], model)
    assert first.misses == 6 and [s.source for s in first.segments] == sentences

    def plan(changed: int) -> Any:
        edited = list(sentences)
        edited[changed] = edited[changed].replace("harbour", "ferry")
        (tmp_path / "b.txt").write_text(" ".join(edited) + "\n", "utf-8")
        w = wb(cache, context=2)
        opts = TranslateOptions(("ko",), src="en", model=str(model)).checked()
        return w.plan_translations([w.document(tmp_path / "b.txt")], opts)[0][0]

    # Sentence 2 changed: it and the two after it (which see it) are new; 0, 1, 5 are hits.
    middle = plan(2)
    assert (middle.hits, middle.misses) == (3, 3)
    # Sentence 0 changed: 3, 4 and 5 are more than 2 sentences after it: still hits.
    start = plan(0)
    assert (start.hits, start.misses) == (3, 3)


def test_window_zero_keeps_todays_keys_and_the_window_is_in_the_recipe(
    tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tiny("chat")
    chunks = spy_chunks(monkeypatch)
    off = wb(tmp_path / "off.sqlite3", context=0)
    (plain,) = translate(off, documents(tmp_path)[:1], model)
    assert "context:" not in (plain.signature or "")
    assert "context_sentences" not in plain.settings
    assert all(c.contexts == () for c in chunks)
    # Each sentence is cached under digest(model key, sentence), as before the option existed.
    keys = [digest(plain.key, s.source) for s in plain.segments]
    assert set(off.store.get_segments(keys)) == set(keys)

    (default,) = translate(wb(tmp_path / "on.sqlite3"), documents(tmp_path)[:1], model)
    assert default.settings["context_sentences"] == DEFAULT_CONTEXT_SENTENCES
    assert f"context:{DEFAULT_CONTEXT_SENTENCES}" in (default.signature or "")
    assert default.key != plain.key
    five = wb(context=5).plan_translations(
        [wb().document(documents(tmp_path)[0])],
        TranslateOptions(("ko",), src="en", model=str(model)).checked(),
    )[0][0]
    assert five.key not in (plain.key, default.key)


def test_sentence_level_models_are_unchanged(
    tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = spy_chunks(monkeypatch)
    model = str(tiny("marian-multi"))
    out = []
    for context in (None, 0, 5):
        gen = GenerationSettings(context_sentences=context)
        w = Workbench(
            cache=tmp_path / f"{context}.sqlite3", backend="torch", beams=1, generation=gen
        )
        (result,) = translate(w, documents(tmp_path)[:1], Path(model), to="uk")
        keys = [digest(result.key, s.source) for s in result.segments]
        assert set(w.store.get_segments(keys)) == set(keys)
        out.append((result.key, result.signature, result.text, dict(result.settings)))
    assert out[0] == out[1] == out[2]
    assert "context_sentences" not in out[0][3] and "context:" not in out[0][1]
    assert chunks and all(c.contexts == () for c in chunks)


# --- bounded by the model's window ---------------------------------------------------------


def test_a_long_context_is_trimmed_oldest_first_never_the_sentence(
    tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "short-window"
    shutil.copytree(tiny("chat"), folder)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["model_max_length"] = 400  # the context template alone takes about 250
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    calls = spy_prompts(monkeypatch)
    long = [f"Report {n} says " + ", ".join(f"the {w} pier" for w in PIERS) + "." for n in range(4)]
    last = "The council met."
    (tmp_path / "long.txt").write_text(" ".join([*long, last]) + "\n", "utf-8")
    w = wb(context=4)
    (result,) = translate(w, [tmp_path / "long.txt"], folder)
    assert [s.source for s in result.segments] == [*long, last]
    backend = w.pool.loaded[0]
    prompts = {parse(p)[0]: p for call in calls for p in call}
    sentence, context = parse(prompts[last])
    assert sentence == last  # the sentence whole
    assert 0 < len(context) < 4 and context == long[4 - len(context) :]  # newest kept
    used = backend.count([{"role": "user", "content": prompts[last]}])
    assert used < backend.settings["context_tokens"] == 400
    assert not any(n.startswith("split:") for s in result.segments for n in s.notes)


# --- batching, caching, the CLI --------------------------------------------------------------


def test_a_folder_run_batches_both_documents_and_a_rerun_hits(
    tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = documents(tmp_path)
    calls = spy_prompts(monkeypatch)
    loads: list[str] = []
    original = ChatTranslator._ensure_model

    def counting(self: ChatTranslator) -> None:
        if self._model is None:
            loads.append(str(self.resolved.path))
        original(self)

    monkeypatch.setattr(ChatTranslator, "_ensure_model", counting)
    model = str(tiny("chat"))
    cache = tmp_path / "c.sqlite3"
    args = ["translate", str(paths[0].parent), "--to", "ko", "--from", "en", "--model", model]
    args += ["--out", str(tmp_path / "out"), "--cache", str(cache), "--context", "2"]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0, run.output
    assert len(loads) == 1  # one model load for both documents
    both = [c for c in calls if any("harbour" in p for p in c) and any("Rain fell" in p for p in c)]
    assert both, "the two documents' sentences were not batched together"
    prov = json.loads((tmp_path / "out" / "harbour.ko.txt.json").read_text())
    assert "context:2" in prov["signature"]

    loads.clear()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert loads == []  # every document from the cache

    # One sentence edited at the end: only that sentence is translated again.
    paths[1].write_text(WEATHER.replace("were closed", "stayed closed"), "utf-8")
    calls.clear()
    w = Workbench(cache=cache, context_sentences=2)  # the CLI's settings
    (_, weather) = translate(w, paths, Path(model))
    assert (weather.hits, weather.misses) == (3, 1)
    assert [parse(p)[0] for c in calls for p in c] == ["Roads to the villages stayed closed."]


def test_the_setting_is_checked_and_reaches_job_files_and_the_cli() -> None:
    assert "context_sentences" in top_keys()
    for bad in (-1, MAX_CONTEXT_SENTENCES + 1):
        with pytest.raises(WorkbenchError, match="context_sentences"):
            GenerationSettings(context_sentences=bad)
    with pytest.raises(WorkbenchError, match="context_sentences"):
        Workbench(context_sentences=MAX_CONTEXT_SENTENCES + 1)
    assert Workbench(context_sentences=0).generation.context_sentences == 0
    result = CliRunner().invoke(app, ["translate", "x.txt", "--to", "ko", "--context", "99"])
    assert result.exit_code == 2 and "context_sentences must be at most" in result.output


def test_a_ray_worker_gets_each_segments_context(
    tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker side of the Ray engine, run here: contexts travel with the chunk as JSON
    and give the same outputs as the local engine."""
    from workbench.engines.ray_engine import ChunkTranslator

    chunks = spy_chunks(monkeypatch)
    w = wb(context=2)
    translate(w, documents(tmp_path), tiny("chat"))
    (chunk,) = chunks
    assert len(chunk.contexts) == len(chunk.texts) and any(chunk.contexts)
    local = w.pool.backend(chunk.resolved).translate(
        list(chunk.texts), chunk.plan, contexts=list(chunk.contexts)
    )
    row = {
        "path": str(chunk.resolved.path),
        "ref": chunk.resolved.ref,
        "model_id": chunk.resolved.model_id,
        "revision": chunk.resolved.revision,
        "source": chunk.resolved.source,
        "plan": json.dumps(chunk.plan.wire()),
        "texts": list(chunk.texts),
        "contexts": json.dumps([list(c) for c in chunk.contexts]),
    }
    worker = ChunkTranslator({"device": "cpu", "backend": "auto"})
    remote = worker._translate(row)
    assert [o.text for o in remote] == [o.text for o in local]


def test_export_finds_the_sentences_by_their_context_keys(tiny, tmp_path: Path) -> None:
    """A document not cached whole is exported from its sentences' entries, found under the
    keys their contexts made."""
    import sqlite3

    paths = documents(tmp_path)
    cache, out = tmp_path / "c.sqlite3", tmp_path / "out"
    args = ["translate", str(paths[0].parent), "--to", "ko", "--from", "en"]
    args += ["--model", str(tiny("chat")), "--out", str(out), "--cache", str(cache)]
    assert CliRunner().invoke(app, [*args, "--context", "2"]).exit_code == 0
    with sqlite3.connect(cache) as db:
        db.execute("DELETE FROM entries WHERE kind = 'document'")
    dest = tmp_path / "xliff"
    export = ["export", str(out), "--format", "xliff", "--cache", str(cache), "--dest", str(dest)]
    res = CliRunner().invoke(app, export)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in dest.glob("*.xlf")) == [
        "harbour.ko.txt.xlf",
        "weather.ko.txt.xlf",
    ]


def test_the_context_prompt_through_qwens_own_tokenizer_and_template(tmp_path_factory) -> None:
    """On the real Qwen2.5 tokenizer and chat template (a small random-weight model built from
    ../shared/realshape): the context sits in the user turn before the sentence, and trimming
    counts real tokens, keeping the newest sentences."""
    from tests.realshape import available, build
    from workbench.models.families import inspect
    from workbench.models.resolve import resolve

    if not available():
        pytest.skip("../shared/realshape is absent")
    folder = build("qwen2.5-0.5b-instruct", tmp_path_factory.mktemp("realshape-context"))
    resolved = resolve(str(folder))
    chat = ChatTranslator(resolved, inspect(resolved.path), RunSettings(device="cpu"))
    values = {"source_language": "English", "target_language": "Korean"}
    context = ("Anna Berg chairs the council.", "She met the crew.", "They asked for a dock.")
    conversation = chat._with_context(values, "Berg promised an answer.", context, 40)
    assert conversation is not None
    text = chat.tokenizer.decode(chat.encode(conversation))
    assert text.index("She met the crew.") < text.index("Sentence:\nBerg promised an answer.")
    assert text.rstrip().endswith("<|im_start|>assistant")
    # A window too small for all three keeps the newest that fit; too small for any: None.
    sizes = [chat.count(chat._with_context(values, "Berg.", context[i:], 0) or []) for i in (0, 2)]
    assert sizes[0] > sizes[1]
    chat.settings["context_tokens"] = sizes[1]  # exactly one sentence fits
    kept = chat._with_context(values, "Berg.", context, 0)
    assert kept is not None and parse(kept[-1]["content"])[1] == [context[-1]]
    chat.settings["context_tokens"] = sizes[1] - 1
    assert chat._with_context(values, "Berg.", context, 0) is None


def test_a_chat_fallback_sees_each_sentences_place_in_the_whole_document(
    tiny, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a cascade, only the flagged sentences go to the fallback, each with the sentences
    before it in the document (not the sentences before it among the flagged)."""
    chunks = spy_chunks(monkeypatch)
    w = Workbench(
        cache=False, backend="torch", beams=1, generation=replace(FAST, context_sentences=2)
    )
    (path,) = documents(tmp_path)[:1]
    result = w.translate(
        path, to="uk", src="en", model=str(tiny("marian-multi")), fallback_model=str(tiny("chat"))
    )
    sources = [s.source for s in result.segments]
    fallback = [c for c in chunks if c.plan.info.family == "chat"]
    assert fallback and all(c.contexts == () for c in chunks if c not in fallback)
    sent = [(t, ctx) for c in fallback for t, ctx in zip(c.texts, c.contexts, strict=True)]
    assert len(sent) > 0 and result.cascade is not None
    assert len(sent) == result.cascade["to_fallback"]
    # Some flagged sentence has unflagged ones before it: their text is its context.
    assert any(ctx for _, ctx in sent)
    for text, ctx in sent:
        k = sources.index(text)
        assert ctx == tuple(sources[max(0, k - 2) : k])
