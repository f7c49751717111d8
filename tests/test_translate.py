"""The translation pipeline through the Python API, on tiny models of every family."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.helpers import assert_structure_kept, expected_segments
from workbench import Workbench, WorkbenchError
from workbench.documents import read_document
from workbench.errors import LanguageError, ModelError, NoModelForPair
from workbench.models.catalog import Catalog, CatalogEntry
from workbench.models.pool import ModelPool
from workbench.settings import RunSettings

FAMILY_TARGETS = [
    ("marian", "uk"),
    ("marian-multi", "uk"),
    ("nllb", "ko"),
    ("m2m100", "ko"),
    ("mbart50", "ko"),
    ("t5", "ko"),
]
ARTICLES = [
    SEEDS / "en" / "harbour-ferry.md",
    SEEDS / "en" / "heatwave-grid.txt",
    SEEDS / "en" / "chess-prodigy.md",
]


def torch_wb(**kwargs) -> Workbench:
    """Greedy on torch: the tiny models ship beam settings like real ones, which only cost time."""
    kwargs.setdefault("beams", 1)
    return Workbench(cache=False, backend="torch", **kwargs)


@pytest.mark.parametrize(("family", "tgt"), FAMILY_TARGETS)
def test_every_family_translates_an_article_faithfully(tiny, family: str, tgt: str) -> None:
    folder = tiny(family)
    wb = torch_wb()
    for article in ARTICLES:
        result = wb.translate(article, to=tgt, src="en", model=str(folder))
        source = article.read_text("utf-8")
        assert result.text is not None and result.text != source
        assert_structure_kept(source, result.text)
        # Every sentence is accounted for: one translated segment per source segment.
        doc = read_document(article)
        assert [s.source for s in result.segments] == expected_segments(doc, "en")
        assert all(s.target.strip() for s in result.segments)
        assert result.model == folder.name and len(result.revision or "") == 64
        assert result.signature and f"tgt:{tgt}" in result.signature
        assert result.signature.startswith(f"translate|model:{folder.name}@")


def test_language_control_reaches_the_model(tiny) -> None:
    """Different targets give different outputs: the target token really is passed."""
    wb = torch_wb()
    for family, a, b in [
        ("marian-multi", "uk", "ru"),
        ("nllb", "ko", "uk"),
        ("m2m100", "ko", "uk"),
        ("mbart50", "ko", "uk"),
        ("t5", "ko", "uk"),
    ]:
        text = "The council met on Monday to discuss the new ferry."
        one = wb.translate(text, to=a, src="en", model=str(tiny(family))).text
        two = wb.translate(text, to=b, src="en", model=str(tiny(family))).text
        assert one != two, family


def test_deterministic_across_processes_of_work(tiny) -> None:
    article = ARTICLES[0]
    first = torch_wb().translate(article, to="uk", src="en", model=str(tiny("marian-multi")))
    second = torch_wb().translate(article, to="uk", src="en", model=str(tiny("marian-multi")))
    assert first.text == second.text


@pytest.mark.parametrize("family", ["marian-multi", "m2m100", "nllb"])
def test_batched_equals_unbatched(tiny, family: str) -> None:
    docs = [Workbench.document(p) for p in ARTICLES[:2]]
    model = str(tiny(family))
    batched = Workbench(cache=False, run=RunSettings(backend="torch", max_batch_size=64))
    single = Workbench(cache=False, run=RunSettings(backend="torch", max_batch_size=1))
    tgt = "uk" if family != "m2m100" else "ko"
    a = batched.translate_documents(docs, [tgt], src="en", model=model, beams=1)
    b = single.translate_documents(docs, [tgt], src="en", model=model, beams=1)
    assert [r[0].text for r in a] == [r[0].text for r in b]
    backend = batched.pool.loaded[0]
    assert backend.stats.batches < backend.stats.segments  # it really batched


def test_a_400_word_sentence_is_split_not_truncated(tiny) -> None:
    words = [f"word{i % 37}" if i % 5 else "the" for i in range(399)]
    sentence = " ".join(["Officials", *words]) + "."
    assert len(sentence.split()) == 400
    wb = Workbench(cache=False, beams=1, run=RunSettings(backend="torch", max_input_tokens=64))
    result = wb.translate(sentence, to="uk", src="en", model=str(tiny("marian-multi")))
    assert len(result.segments) == 1
    notes = result.segments[0].notes
    split = [n for n in notes if n.startswith("split:")]
    assert split and int(split[0].split(":")[1]) >= 2, notes
    backend = wb.pool.loaded[0]
    # The model saw every token of the sentence, in chunks that each fit its limit.
    whole = len(backend.tokenizer(">>ukr<< " + sentence).input_ids)
    assert backend.stats.input_tokens >= whole
    assert result.text.strip()


def test_same_language_is_copied(tiny) -> None:
    article = SEEDS / "uk" / "river-cleanup.txt"
    result = torch_wb().translate(article, to="uk", model=str(tiny("marian-multi")))
    assert result.text == article.read_text("utf-8")
    assert result.source_lang == "uk" and result.detected


def test_source_language_is_detected_and_recorded(tiny) -> None:
    result = torch_wb().translate(ARTICLES[1], to="uk", model=str(tiny("marian-multi")))
    assert result.source_lang == "en" and result.detected
    assert "src:en" in (result.signature or "")


def test_crlf_and_bom_are_kept(tiny, tmp_path: Path) -> None:
    text = ARTICLES[1].read_text("utf-8").replace("\n", "\r\n")
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    result = torch_wb().translate(path, to="uk", src="en", model=str(tiny("marian-multi")))
    assert result.text.startswith("\ufeff")
    assert result.text.count("\r\n") == text.count("\r\n")
    assert_structure_kept(text, result.text.lstrip("\ufeff"))


# --- errors: one clear line each -------------------------------------------------------------


def test_unknown_language_lists_supported() -> None:
    with pytest.raises(LanguageError) as err:
        torch_wb().translate("Hello there.", to="xx")
    assert "'xx'" in str(err.value) and "ko" in str(err.value) and "uk" in str(err.value)


def test_pair_no_model_serves_says_what_serves_what() -> None:
    catalog = Catalog(
        [
            CatalogEntry(
                id="org/en-uk", task="translate", family="marian", sources=("en",), targets=("uk",)
            )
        ]
    )
    wb = torch_wb()
    wb.pool = ModelPool(wb.run, catalog)
    with pytest.raises(WorkbenchError) as err:
        wb.translate("The council met on Monday.", to="ko", src="en")
    assert isinstance(err.value, WorkbenchError)
    message = str(err.value)
    assert "en→ko" in message and "org/en-uk (en→uk)" in message


def test_no_model_for_pair_error_class() -> None:
    catalog = Catalog([])
    with pytest.raises(NoModelForPair):
        catalog.choose_translation("en", "ko")


def test_model_not_available_offline_fails_fast_and_says_how_to_get_it() -> None:
    start = time.perf_counter()
    with pytest.raises(WorkbenchError) as err:
        torch_wb().translate(
            "The council met on Monday.",
            to="uk",
            src="en",
            model="Helsinki-NLP/opus-mt-tc-big-en-zle",
        )
    assert time.perf_counter() - start < 5
    message = str(err.value)
    assert "Helsinki-NLP/opus-mt-tc-big-en-zle" in message
    assert "workbench models download" in message and "--model DIR" in message


def test_default_model_not_cached_names_it() -> None:
    with pytest.raises(WorkbenchError, match="facebook/m2m100_418M"):
        torch_wb().translate("The council met on Monday.", to="ko", src="en")


def test_target_the_model_cannot_produce(tiny) -> None:
    with pytest.raises(WorkbenchError, match="cannot translate into ko"):
        torch_wb().translate("The council met.", to="ko", src="en", model=str(tiny("marian-multi")))


@pytest.mark.parametrize("damage", ["config", "weights", "no-config", "missing"])
def test_corrupt_model_folder(tiny, tmp_path: Path, damage: str) -> None:
    import shutil

    folder = tmp_path / "broken"
    shutil.copytree(tiny("marian-multi"), folder)
    if damage == "config":
        (folder / "config.json").write_text("{not json")
    elif damage == "weights":
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "no-config":
        (folder / "config.json").unlink()
    else:
        folder = tmp_path / "absent"
    with pytest.raises(ModelError) as err:
        torch_wb().translate("The council met.", to="uk", src="en", model=str(folder))
    assert str(folder.name) in str(err.value)
    assert "\n" not in str(err.value)


def test_precision_is_in_the_signature_and_matches_what_ran(tiny) -> None:
    wb = Workbench(cache=False, backend="torch", precision="int8", beams=1)
    result = wb.translate(
        "The council met on Monday.", to="uk", src="en", model=str(tiny("marian-multi"))
    )
    assert "backend:torch-int8" in (result.signature or "")
    assert wb.pool.loaded[0].name == "torch-int8"


def test_unknown_precision_is_one_line() -> None:
    with pytest.raises(WorkbenchError, match="unknown precision 'int4'"):
        Workbench(precision="int4")
