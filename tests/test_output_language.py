"""Languages are checked where a user cannot see them go wrong.

A translation whose text is not in the target language is flagged in the result, the provenance,
the manifest and on stderr (naming the file); ``--from`` is questioned, never overruled, when the
text clearly is another language; a summary's language warning names its file.

Tiny random models write gibberish in no language, so the mismatches here are made certain on
purpose: a cache that answers every segment with its own source text is a model that copies its
input, the real failure this check exists for.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import SEEDS
from workbench import Workbench, languages
from workbench.cli.app import app
from workbench.documents import content_hash, parse, read_document
from workbench.settings import GenerationSettings, TranslateOptions
from workbench.signature import digest
from workbench.tasks.legs import Job
from workbench.tasks.translate import TranslationResult, _check_output, translate_documents

EN = SEEDS / "en" / "harbour-ferry.md"
KO = SEEDS / "ko" / "library-night.md"
UK = SEEDS / "uk" / "river-cleanup.txt"
UK_SENTENCE = "Рада міста зібралася в понеділок, щоб обговорити новий пором через гавань."


class DictStore:
    """A cache in a dict, so a test can say what every segment translates to."""

    def __init__(self) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        self.segments: dict[str, str] = {}

    def get_document(self, key: str) -> dict[str, Any] | None:
        return self.documents.get(key)

    def put_document(self, key: str, value: dict[str, Any], meta: dict[str, Any]) -> None:
        self.documents[key] = value

    def get_segments(self, keys: list[str]) -> dict[str, str]:
        return {k: self.segments[k] for k in keys if k in self.segments}

    def put_segments(self, items: list[tuple[str, str]], meta: dict[str, Any]) -> None:
        self.segments.update(items)


# --- the detector --------------------------------------------------------------------------


def test_contradicts_only_when_the_detector_is_sure() -> None:
    among = list(languages.DETECT_AMONG)
    korean = read_document(KO).prose()[:600]
    english = read_document(EN).prose()[:600]
    assert languages.contradicts(korean, "en", among) == "ko"
    assert languages.contradicts(english, "en", among) is None
    assert languages.contradicts(english, "de", among) == "en"
    assert languages.contradicts(UK_SENTENCE, "uk", among) is None
    # Too little text to go on, or a close call: the user's word stands.
    assert languages.contradicts("서울 — 2026", "en", among) is None
    assert languages.contradicts("Berlin, Portland, NATO", "de", among) is None


def check(text: str, target: str, source: str = "en") -> TranslationResult:
    """Run the output check on ``text`` as the translation of the English seed article."""
    result = TranslationResult(target_lang=target, source_lang=source, text=text, path="a.md")
    _check_output(Job(0, read_document(EN), result))
    return result


def test_output_check_on_known_text() -> None:
    english = EN.read_text("utf-8")
    wrong = check(english, "uk")
    assert wrong.lang_mismatch and wrong.output_lang == "en"
    assert "language mismatch: the translation looks like en, not uk" in wrong.notes
    assert wrong.warnings() == [
        "a.md: the uk translation looks like en, not uk; check the output and the model (None)"
    ]
    right = check(f"# Пором\n\n{UK_SENTENCE}\n", "uk")
    assert not right.lang_mismatch and right.output_lang == "uk" and right.notes == []
    assert right.warnings() == []


def test_output_check_is_skipped_where_it_means_nothing() -> None:
    short = check("Пором.\n", "uk")  # too few letters to tell
    assert short.output_lang is None and not short.lang_mismatch
    copied = check(EN.read_text("utf-8"), "en")  # a copy of a document already in English
    assert copied.output_lang is None and not copied.lang_mismatch


# --- end to end ----------------------------------------------------------------------------


def test_a_model_that_copies_its_input_is_flagged(tiny) -> None:
    """Through the pipeline: every segment answered by the cache with its own source text."""
    doc = read_document(EN)
    pool = Workbench(cache=False, backend="torch").pool
    gen = GenerationSettings(beams=1)
    model = str(tiny("marian-multi"))
    store = DictStore()

    def run() -> TranslationResult:
        return translate_documents(
            [doc], TranslateOptions(("uk",), src="en", model=model), pool=pool, gen=gen, store=store
        )[0][0]

    first = run()  # the tiny model's gibberish fills the cache
    assert first.ok and first.key is not None
    store.documents.clear()
    for answer, expect in ((None, "en"), (UK_SENTENCE, "uk")):
        for text in _model_texts(doc):
            store.segments[digest(first.segment_key or first.key, text)] = answer or text
        store.documents.clear()
        again = run()
        assert again.cache == "segments" and again.output_lang == expect
        assert again.lang_mismatch is (expect != "uk")
        assert again.provenance()["lang_mismatch"] is (expect != "uk")
        # The document cache keeps the check, so a whole-document hit says the same.
        assert [d["output_lang"] for d in store.documents.values()] == [expect]
        hit = run()
        assert hit.cache == "document" and hit.output_lang == expect
        assert hit.lang_mismatch is (expect != "uk")


def test_cli_flags_a_wrong_language_translation(tiny, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(EN, src / "ferry.md")
    shutil.copy(UK, src / "river.txt")
    cache, out, model = tmp_path / "cache.sqlite3", tmp_path / "out", tiny("marian-multi")
    # The document cache holds the English text as ferry.md's Ukrainian translation.
    wb = Workbench(cache=cache, backend="torch", beams=1)
    doc = read_document(src / "ferry.md")
    planned = wb.translate_documents([doc], ["uk"], src="en", model=str(model), plan_only=True)
    key = planned[0][0].key
    assert key is not None
    entry = {"text": doc.render(), "segments": []}
    wb.store.put_document(digest(key, content_hash(doc.render())), entry, {"signature": "x"})
    wb.close()
    args = ["translate", str(src), "--to", "uk", "--out", str(out), "--model", str(model)]
    result = CliRunner().invoke(
        app, [*args, "--from", "en", "--beams", "1", "--backend", "torch", "--cache", str(cache)]
    )
    assert result.exit_code == 0, result.output  # a warning, not a failure
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    # ferry.md is English in its "translation"; river.txt is Ukrainian, and --from en is wrong.
    assert any(
        line.startswith("workbench: warning: ")
        and "ferry.md: the uk translation looks like en" in line
        for line in warnings
    ), result.stderr
    rows = {
        Path(r["input"]).name: r
        for r in map(json.loads, (out / "manifest.jsonl").read_text("utf-8").splitlines())
    }
    assert rows["ferry.md"]["lang_mismatch"] is True and rows["ferry.md"]["cache"] == "document"
    prov = json.loads((out / "ferry.uk.md.json").read_text("utf-8"))
    assert prov["lang_mismatch"] is True and prov["output_lang"] == "en"
    assert any("language mismatch" in note for note in prov["notes"])


def test_from_is_questioned_not_overruled(tiny, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(KO, src / "library.md")
    shutil.copy(EN, src / "ferry.md")
    out = tmp_path / "out"
    args = ["translate", str(src), "--to", "uk,ru", "--from", "en", "--out", str(out)]
    model = ["--model", str(tiny("marian-multi")), "--beams", "1", "--backend", "torch"]
    result = CliRunner().invoke(app, [*args, *model, "--no-cache"])
    assert result.exit_code == 0, result.output  # translated as told
    warned = [line for line in result.stderr.splitlines() if "--from en was given" in line]
    # One line for the document, naming it and both languages, though it has two targets.
    assert len(warned) == 1, result.stderr
    assert warned[0].startswith("workbench: warning: ") and "library.md" in warned[0]
    assert "looks like ko" in warned[0]
    for lang in ("uk", "ru"):
        prov = json.loads((out / f"library.{lang}.md.json").read_text("utf-8"))
        assert prov["source_lang"] == "en" and prov["source_mismatch"] == "ko"
        assert "--from en was given, but the text looks like ko" in prov["notes"]
        clean = json.loads((out / f"ferry.{lang}.md.json").read_text("utf-8"))
        assert clean["source_mismatch"] is None
        assert not any("--from" in note for note in clean["notes"])


def test_stdin_translation_warns_too(tiny) -> None:
    text = read_document(KO).render()
    args = ["translate", "-", "--to", "uk", "--from", "en", "--model", str(tiny("marian-multi"))]
    result = CliRunner().invoke(
        app, [*args, "--beams", "1", "--backend", "torch", "--no-cache"], input=text
    )
    assert result.exit_code == 0, result.output
    assert "workbench: warning: input: --from en was given, but the text looks like ko" in (
        result.stderr
    )


def test_summary_language_warning_names_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli.summarise_cmd import _notes
    from workbench.tasks.summarise import SummaryResult

    result = SummaryResult(lang="uk", output_lang="en", lang_mismatch=True, path="news/a.md")
    _notes(result, quiet=False)
    assert "warning: news/a.md: the summary looks like en, not uk" in capsys.readouterr().err


def test_translated_prose_is_what_gets_checked() -> None:
    """Markdown furniture (a URL line, a code block) does not decide the language."""
    text = f"# Пором\n\n{UK_SENTENCE}\n\n```\nprint('hello world, this is code')\n```\n"
    assert "print" not in parse(text, "md").prose()
    assert not check(text, "uk").lang_mismatch


def _model_texts(doc) -> list[str]:
    """Every text the model is given for ``doc``: sentences (with placeholders where they have
    markup) and the fragments such a sentence falls back to."""
    from workbench import inline

    syntax = inline.syntax_of(doc.format.inline_markup)
    out = []
    for text in doc.translatable_texts():
        for piece in inline.pieces(text, "en", syntax):
            if piece.translate:
                out.append(piece.text)
            if isinstance(piece, inline.Marked):
                out.extend(p.text for p in piece.fragments if p.translate)
    return out
