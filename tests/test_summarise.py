"""Summarising: lead-N, tiny seq2seq (mT5, BART) and chat models, strategies, map-reduce,
length limits, caching, errors, CLI and API.

Tiny models write gibberish, so these tests assert properties: limits respected, structure,
strategy and settings recorded, deterministic reruns, cache behaviour, bounded rounds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS
from workbench import Workbench, WorkbenchError, languages
from workbench.documents import parse, read_document
from workbench.errors import InputError, ModelError, PromptError
from workbench.models.summariser import Seq2SeqSummariser
from workbench.settings import RunSettings
from workbench.tasks.summarise import body_sentences, limit_sentences

ARTICLES = sorted(p for p in SEEDS.rglob("*") if p.suffix in (".md", ".txt"))
EN = SEEDS / "en" / "harbour-ferry.md"


def wb(cache: Path | bool = False, **run: object) -> Workbench:
    """Greedy: the tiny models ship beam settings like the real ones, which only cost time."""
    return Workbench(cache=cache, beams=1, run=RunSettings(**run))


def long_article(times: int = 4) -> str:
    """An English article several times longer than the seed (for map-reduce)."""
    body = "\n\n".join(
        p for p in EN.read_text("utf-8").split("\n\n") if p and p[0].isalpha() and len(p) > 80
    )
    return "# A long day at the harbour\n\n" + "\n\n".join([body] * times) + "\n"


# --- lead-N --------------------------------------------------------------------------------


@pytest.mark.parametrize("article", ARTICLES, ids=lambda p: p.name)
def test_lead_n_on_the_sample_articles(article: Path) -> None:
    w = wb()
    result = w.summarise(article, model="lead")
    doc = read_document(article)
    lang = languages.detect(doc.prose())
    first = body_sentences(doc, lang)[:3]
    assert result.text == " ".join(first)
    assert result.sentence_count <= 3 and result.strategy == "native"
    assert result.summariser == "lead" and result.cache == "off"
    title = next(b.text for b in doc.blocks if b.kind == "title")
    assert title not in result.text  # the headline is not part of the lead
    assert result.signature.startswith("summarise|model:lead@lead-v2|")
    assert "sentences:3" in result.signature
    assert w.pool.loaded == []


def test_lead_words_cut_at_a_sentence_boundary() -> None:
    first = body_sentences(read_document(EN), "en")
    limit = len(first[0].split()) + len(first[1].split()) + 3  # two sentences and a bit
    result = wb().summarise(EN, model="lead", words=limit)
    assert result.text == f"{first[0]} {first[1]}"
    assert result.word_count <= limit
    assert "sentences" not in result.signature.split("|")[4]  # only --words was given


def test_lead_words_cut_inside_a_long_first_sentence_at_a_word_boundary() -> None:
    first = body_sentences(read_document(EN), "en")[0]
    result = wb().summarise(EN, model="lead", words=5)
    assert result.word_count == 5
    assert result.text == " ".join(first.split()[:5]) + "…"


@pytest.mark.parametrize(
    ("sentences", "words", "expected", "note"),
    [
        (["A b.", "C d.", "E f."], (2, None), ["A b.", "C d."], "trimmed to 2 sentences"),
        (["A b c.", "D e f."], (None, 4), ["A b c."], "trimmed to 3 words at a sentence boundary"),
        (["A b c d e f."], (None, 3), ["A b c…"], "cut inside the first sentence"),
        (["A b.", "C d."], (5, 50), ["A b.", "C d."], None),
    ],
)
def test_limit_sentences(sentences, words, expected, note) -> None:
    kept, notes = limit_sentences(sentences, *words)
    assert kept == expected
    assert (note is None and not notes) or any(note in n for n in notes)


def test_too_short_to_summarise() -> None:
    with pytest.raises(InputError) as err:
        wb().summarise("# Ferry\n\nThe council met on Monday.\n", model="lead")
    message = str(err.value)
    assert "too short to summarise" in message and "1 sentences" in message
    assert "\n" not in message


def test_lead_refuses_tokens_and_prompts() -> None:
    with pytest.raises(WorkbenchError, match="with --model lead use --sentences or --words"):
        wb().summarise(EN, model="lead", tokens=20)
    with pytest.raises(WorkbenchError, match="--prompt and --var apply to chat models"):
        wb().summarise(EN, model="lead", prompt="summarise")


# --- seq2seq summarisers ---------------------------------------------------------------------


@pytest.mark.parametrize("family", ["mt5-sum", "bart-sum"])
def test_seq2seq_summary_within_limits_and_deterministic(tiny, family: str) -> None:
    model = str(tiny(family))
    one = wb().summarise(EN, model=model, sentences=2, words=12, tokens=24)
    two = wb().summarise(EN, model=model, sentences=2, words=12, tokens=24)
    assert one.text and one.text == two.text
    assert one.sentence_count <= 2 and one.word_count <= 12
    assert one.summariser == "seq2seq" and one.strategy == "native"
    assert one.settings["beams"] == 1 and one.settings["sampling"] is False
    assert one.settings["max_new_tokens"] == 24
    assert one.rounds >= 1 and one.rounds <= one.settings["max_rounds"]
    assert one.backend == "torch-fp32"


def test_seq2seq_settings_come_from_the_model_files(tiny) -> None:
    # generation_config.json of the XL-Sum stand-in: no_repeat_ngram_size 2, max_length 84
    result = Workbench(cache=False).summarise(EN, model=str(tiny("mt5-sum")), chunk_tokens=512)
    assert result.settings["no_repeat_ngram_size"] == 2
    assert result.settings["max_new_tokens"] == 83
    assert result.settings["beams"] == 4 and result.settings["length_penalty"] == 0.6


def test_catalog_generation_table_is_data_not_code(tiny, tmp_path: Path, monkeypatch) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[[model]]\nid = "bart-sum"\ntask = "summarise"\nfamily = "bart"\nsources = ["en"]\n'
        'targets = ["same"]\nlicence = "MIT"\n[model.generation]\nmax_input_tokens = 96\n'
        "beams = 1\nno_repeat_ngram_size = 3\nmax_new_tokens = 9\n"
    )
    monkeypatch.setenv("WORKBENCH_CATALOG", str(catalog))
    result = Workbench(cache=False).summarise(EN, model=str(tiny("bart-sum")))
    s = result.settings
    assert (s["chunk_tokens"], s["beams"], s["no_repeat_ngram_size"], s["max_new_tokens"]) == (
        96,
        1,
        3,
        9,
    )
    assert result.licence == "MIT"
    # The catalog says English only: a Ukrainian article is refused with a way out.
    with pytest.raises(ModelError, match=r"summarises en articles only.*--model lead"):
        Workbench(cache=False).summarise(
            SEEDS / "uk" / "river-cleanup.txt", model=str(tiny("bart-sum"))
        )


# --- long documents: map-reduce -------------------------------------------------------------


def test_long_input_goes_through_map_reduce_within_limits(tiny, monkeypatch) -> None:
    seen: list[str] = []
    original = Seq2SeqSummariser.generate

    def spy(self, texts, params, max_new):
        seen.extend(texts)
        return original(self, texts, params, max_new)

    monkeypatch.setattr(Seq2SeqSummariser, "generate", spy)
    w = wb()
    result = w.summarise(long_article(), model=str(tiny("bart-sum")), chunk_tokens=96, tokens=10)
    assert result.chunks > 2 and 2 <= result.rounds <= 3
    summariser = w.pool.loaded_summarisers()[0]
    # Every model call fit the chunk limit: nothing was truncated by the tokenizer.
    assert all(summariser.count(t) <= 96 for t in seen)
    # Every sentence of the article reached the model in the first round.
    doc = parse(long_article())
    first_round = " ".join(seen[: result.chunks])
    assert all(s in first_round for s in body_sentences(doc, "en"))
    assert result.settings["chunk_tokens"] == 96 and result.settings["chunking"] == 2


def test_map_reduce_is_bounded_and_never_truncates_silently(tiny) -> None:
    with pytest.raises(WorkbenchError) as err:
        wb().summarise(
            long_article(), model=str(tiny("bart-sum")), chunk_tokens=64, tokens=10, max_rounds=1
        )
    assert "too long to summarise in 1 rounds" in str(err.value)
    assert "--max-rounds 2" in str(err.value)


def test_chunk_settings_are_in_the_cache_key(tiny, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    model = str(tiny("bart-sum"))
    a = wb(cache).summarise(long_article(2), model=model, chunk_tokens=128, tokens=8)
    b = wb(cache).summarise(long_article(2), model=model, chunk_tokens=96, tokens=8)
    assert a.key != b.key and b.cache == "miss"


# --- caching --------------------------------------------------------------------------------


def test_rerun_is_a_document_hit_and_loads_no_model(tiny, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    model = str(tiny("mt5-sum"))
    first = wb(cache).summarise(EN, model=model, tokens=12)
    assert first.cache == "miss" and first.misses >= 1
    again = wb(cache)
    second = again.summarise(EN, model=model, tokens=12)
    assert second.cache == "document" and second.text == first.text
    assert second.rounds == first.rounds and second.signature == first.signature
    assert again.pool.loaded == [] and again.pool.loaded_summarisers() == []


def test_cached_rerun_in_a_fresh_process_never_imports_torch(tiny, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    model = str(tiny("bart-sum"))
    wb(cache).summarise(EN, model=model, tokens=8)
    code = (
        "import sys, json\n"
        "from workbench import Workbench\n"
        f"r = Workbench(cache={str(cache)!r}, beams=1).summarise({str(EN)!r}, model={model!r}, "
        "tokens=8)\n"
        "print(json.dumps([r.cache, 'torch' in sys.modules, 'transformers' in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["document", False, False]


def test_chunk_entries_answer_a_changed_document_without_loading_weights(
    tiny, tmp_path: Path
) -> None:
    cache = tmp_path / "c.sqlite3"
    model = str(tiny("bart-sum"))
    text = long_article(2)
    first = wb(cache).summarise(text, model=model, chunk_tokens=96, tokens=8)
    # Same body, one more link line: a new document, the same chunks.
    changed = text + "\nhttps://example.org/more\n"
    again = wb(cache)
    second = again.summarise(changed, model=model, chunk_tokens=96, tokens=8)
    assert second.cache == "segments" and second.misses == 0 and second.hits >= 2
    assert second.text == first.text
    assert again.pool.loaded_summarisers() == []  # only the tokenizer, for chunking


# --- chat models ------------------------------------------------------------------------------


def test_chat_summary_same_language_and_other_language(tiny) -> None:
    model = str(tiny("chat"))
    same = wb().summarise(EN, model=model, tokens=8, retry=False)
    assert same.strategy == "native" and same.summariser == "chat"
    assert same.prompt and same.prompt.startswith("summarise@")
    other = wb().summarise(EN, model=model, lang="ko", tokens=8, retry=False)
    assert other.strategy == "prompt" and other.lang == "ko"
    assert other.prompt and other.prompt.startswith("summarise-lang@")
    assert "prompt:" in other.signature and "tgt:ko" in other.signature
    assert other.settings["sampling"] is False


def test_chat_summary_is_deterministic_and_within_limits(tiny) -> None:
    model = str(tiny("chat"))
    one = wb().summarise(EN, model=model, words=6, sentences=1)
    two = wb().summarise(EN, model=model, words=6, sentences=1)
    assert one.text == two.text
    assert one.word_count <= 6 and one.sentence_count <= 1


def test_chat_map_reduce_uses_the_combine_prompt(tiny) -> None:
    result = wb().summarise(
        long_article(), model=str(tiny("chat")), chunk_tokens=120, tokens=8, retry=False
    )
    assert result.chunks > 1 and 2 <= result.rounds <= 3


def test_changing_the_prompt_template_is_a_cache_miss(
    tiny, tmp_path: Path, isolated_env: Path
) -> None:
    cache = tmp_path / "c.sqlite3"
    model = str(tiny("chat"))
    first = wb(cache).summarise(EN, model=model, tokens=8, retry=False)
    assert wb(cache).summarise(EN, model=model, tokens=8, retry=False).cache == "document"
    folder = isolated_env / "prompts"
    folder.mkdir(parents=True)
    text = (REPO / "prompts" / "summarise.toml").read_text("utf-8")
    (folder / "summarise.toml").write_text(text.replace("careful", "meticulous"))
    second = wb(cache).summarise(EN, model=model, tokens=8, retry=False)
    assert second.prompt_sha256 != first.prompt_sha256
    assert second.key != first.key and second.cache == "miss"


def test_prompt_option_and_variables(tiny, tmp_path: Path) -> None:
    path = tmp_path / "tone.toml"
    path.write_text(
        'name = "tone"\ntask = "summarise"\nvariables = ["text", "tone", "language"]\n'
        'user = "Summarise in a $tone tone, in $language: $text"\n[defaults]\ntone = "neutral"\n'
    )
    model = str(tiny("chat"))
    a = wb().summarise(EN, model=model, prompt=str(path), tokens=6, retry=False)
    b = wb().summarise(
        EN, model=model, prompt=str(path), tokens=6, retry=False, variables={"tone": "dry"}
    )
    assert a.prompt.startswith("tone@") and a.key != b.key
    with pytest.raises(PromptError, match="unknown variable 'mood'"):
        wb().summarise(EN, model=model, prompt=str(path), variables={"mood": "x"})
    with pytest.raises(PromptError, match="unknown prompt 'nope'"):
        wb().summarise(EN, model=model, prompt="nope")


# --- output language: check, flag, retry, strategies ----------------------------------------


def test_language_mismatch_is_flagged_and_a_chat_model_retried(tiny, monkeypatch) -> None:
    monkeypatch.setattr(languages, "detect", lambda text, candidates=None: "uk")
    result = wb().summarise(EN, model=str(tiny("chat")), lang="ko", src="en", tokens=6)
    assert result.lang_mismatch and result.output_lang == "uk"
    assert result.retries == 1 and "language-retry" in result.notes
    assert any("language mismatch" in n for n in result.notes)
    lead = wb().summarise(EN, model="lead", src="en")
    assert lead.lang_mismatch and lead.retries == 0  # nothing to retry with lead-N


def test_no_mismatch_when_the_language_is_right() -> None:
    result = wb().summarise(SEEDS / "ko" / "library-night.md", model="lead")
    assert result.lang == "ko" and result.output_lang == "ko" and not result.lang_mismatch


def test_summarise_then_translate_goes_through_the_translation_pipeline(
    tiny, tmp_path: Path
) -> None:
    cache = tmp_path / "c.sqlite3"
    translator = str(tiny("marian-multi"))
    first = wb(cache).summarise(EN, model="lead", lang="uk", translation_model=translator)
    assert first.strategy == "translate" and first.lang == "uk"
    assert first.translation is not None
    assert first.translation["signature"].startswith("translate|model:marian-multi@")
    assert first.translation["target_lang"] == "uk"
    assert "strategy:translate" in first.signature and "tgt:uk" in first.signature
    assert first.sentence_count <= 3
    again = wb(cache)
    second = again.summarise(EN, model="lead", lang="uk", translation_model=translator)
    assert second.cache == "document" and second.text == first.text
    assert again.pool.loaded == []


def test_a_seq2seq_summariser_reaches_another_language_by_translating(tiny, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    kwargs = {
        "model": str(tiny("mt5-sum")),
        "lang": "uk",
        "tokens": 10,
        "translation_model": str(tiny("marian-multi")),
    }
    first = wb(cache).summarise(EN, **kwargs)
    assert first.strategy == "translate" and first.summariser == "seq2seq"
    assert first.translation["model"] == "marian-multi"
    again = wb(cache)
    second = again.summarise(EN, **kwargs)
    assert second.cache == "document" and second.text == first.text
    assert again.pool.loaded == [] and again.pool.loaded_summarisers() == []


def test_strategy_errors() -> None:
    with pytest.raises(WorkbenchError, match="cannot write uk summaries of en articles"):
        wb().summarise(EN, model="lead", lang="uk", strategy="native")
    with pytest.raises(WorkbenchError, match="--strategy prompt needs a chat model"):
        wb().summarise(EN, model="lead", lang="uk", strategy="prompt")
    with pytest.raises(WorkbenchError, match="unknown strategy 'fast'"):
        wb().summarise(EN, model="lead", strategy="fast")


def test_translation_errors_are_one_clear_line() -> None:
    with pytest.raises(WorkbenchError) as err:
        wb().summarise(EN, model="lead", lang="ko")  # the default en→ko model is not cached
    message = str(err.value)
    assert "translating the summary into ko failed" in message
    assert "facebook/m2m100_418M" in message and "\n" not in message


# --- model choice errors ------------------------------------------------------------------------


def test_default_summariser_not_cached_says_what_to_do() -> None:
    with pytest.raises(ModelError) as err:
        wb().summarise(EN)
    message = str(err.value)
    assert "csebuetnlp/mT5_multilingual_XLSum" in message and "non-commercial" in message
    assert "--model lead" in message and "chat model" in message


def test_a_translation_model_is_not_a_summariser(tiny) -> None:
    with pytest.raises(ModelError, match="is a translation model, not a summariser"):
        wb().summarise(EN, model=str(tiny("marian-multi")))


def test_summarise_documents_reports_errors_per_document() -> None:
    docs = [read_document(EN), parse("# Short\n\nToo short.\n")]
    results = wb().summarise_documents(docs, model="lead")
    assert results[0].ok and results[0].text
    assert not results[1].ok and "too short" in (results[1].error or "")
    assert isinstance(results[1].exception, InputError)


def test_provenance_is_json_ready() -> None:
    result = wb().summarise(EN, model="lead", sentences=2)
    prov = json.loads(json.dumps(result.provenance()))
    assert prov["task"] == "summarise" and prov["strategy"] == "native"
    assert prov["settings"]["sentences"] == 2 and "text" not in prov


# --- CLI ------------------------------------------------------------------------------------


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", "summarise", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=REPO,
        env=os.environ.copy(),
        timeout=300,
    )


def test_cli_folder_run_mirrors_names_and_writes_provenance(tmp_path: Path) -> None:
    src = tmp_path / "news"
    shutil.copytree(SEEDS, src)
    (src / "en" / "brief.md").write_text("# Brief\n\nToo short.\n")
    out = tmp_path / "out"
    proc = cli(str(src), "--model", "lead", "--sentences", "2", "--out", str(out), "--no-cache")
    assert proc.returncode == 1  # one document failed, the others were written
    assert "too short to summarise" in proc.stderr
    written = out / "en" / "harbour-ferry.summary.en.md"
    assert written.read_text("utf-8").count(".") >= 2
    assert (out / "ko" / "library-night.summary.ko.md").is_file()
    assert (out / "uk" / "river-cleanup.summary.uk.txt").is_file()
    prov = json.loads((out / "en" / "harbour-ferry.summary.en.md.json").read_text())
    assert prov["strategy"] == "native" and prov["signature"].startswith("summarise|model:lead")
    assert prov["input"].endswith("harbour-ferry.md") and "versions" in prov


def test_cli_stdin_and_lang(tiny, tmp_path: Path) -> None:
    proc = cli("-", "--model", "lead", "--words", "12", "--no-cache", stdin=EN.read_text("utf-8"))
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.split()) <= 12
    assert "summarise|model:lead" in proc.stderr
    out = tmp_path / "out"
    proc = cli(
        str(EN),
        "--model",
        "lead",
        "--lang",
        "uk",
        "--translation-model",
        str(tiny("marian-multi")),
        "--out",
        str(out),
        "--no-cache",
        "--json",
        "--beams",
        "1",
        "--backend",
        "torch",
    )
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    assert row["task"] == "summarise" and row["lang"] == "uk"
    assert (out / "harbour-ferry.summary.uk.md").is_file()


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    proc = cli(str(EN), "--model", "lead", "--strategy", "fast", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "workbench: error: unknown strategy 'fast'; use auto, native, prompt, translate"
    ]


def test_cli_with_a_seq2seq_summariser_and_map_reduce(tiny, tmp_path: Path) -> None:
    article = tmp_path / "long.md"
    article.write_text(long_article(2), "utf-8")
    out = tmp_path / "out"
    args = [str(article), "--model", str(tiny("bart-sum")), "--tokens", "8", "--beams", "1"]
    proc = cli(*args, "--chunk-tokens", "96", "--out", str(out), "--cache", str(tmp_path / "c.db"))
    assert proc.returncode == 0, proc.stderr
    prov = json.loads((out / "long.summary.en.md.json").read_text())
    assert prov["summariser"] == "seq2seq" and prov["chunks"] > 1 and prov["rounds"] >= 2
    assert prov["settings"]["chunk_tokens"] == 96 and prov["cache"] == "miss"
    again = cli(*args, "--chunk-tokens", "96", "--out", str(out), "--cache", str(tmp_path / "c.db"))
    assert "(document)" in again.stderr and "1 done (1 from cache)" in again.stderr
