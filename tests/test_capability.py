"""A model is refused, before it loads, for a language (or a task) it cannot do.

What a model can do comes from the catalog, its own language tokens, and a single-pair Marian
model's tokenizer config, metadata or name. Each refusal is one line naming the model, the
language and what the model does; in a folder run it fails that document only.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import SEEDS
from tests.realshape import REALSHAPE, SKIP_REASON
from workbench import Workbench
from workbench.cli.app import app
from workbench.errors import LanguageError, ModelError
from workbench.models.catalog import Catalog
from workbench.models.families import check_pair, inspect, pair_languages

needs_realshape = pytest.mark.skipif(not REALSHAPE.is_dir(), reason=SKIP_REASON)
EN = SEEDS / "en" / "harbour-ferry.md"
KO = SEEDS / "ko" / "library-night.md"


def wb() -> Workbench:
    return Workbench(cache=False, backend="torch", beams=1)


def copy_model(src: Path, dest: Path, drop: tuple[str, ...] = (), **extra: object) -> Path:
    """A copy of a model folder with keys dropped from (or added to) its tokenizer config."""
    shutil.copytree(src, dest)
    config = dest / "tokenizer_config.json"
    data = json.loads(config.read_text("utf-8"))
    for key in drop:
        data.pop(key, None)
    data.update(extra)
    config.write_text(json.dumps(data), encoding="utf-8")
    return dest


def languages_of(folder: Path, model_id: str | None = None):
    model_id = model_id or folder.name
    info = inspect(folder)
    return pair_languages(folder, model_id, info, Catalog.load().get(model_id))


# --- what the files say --------------------------------------------------------------------


def test_single_pair_marian_reads_its_tokenizer_config(tiny) -> None:
    langs = languages_of(tiny("marian"))
    assert langs.sources == {"en"} and langs.targets == {"uk"}
    assert langs.targets_from == "its tokenizer_config.json"


def test_multi_target_marian_targets_come_from_its_tokens(tiny) -> None:
    langs = languages_of(tiny("marian-multi"))  # tokenizer_config says target_lang "zle"
    assert langs.sources == {"en"} and langs.targets == {"uk", "ru", "be"}
    assert langs.targets_from == "its language tokens"


def test_single_pair_marian_from_metadata_then_from_its_name(tiny, tmp_path: Path) -> None:
    bare = ("source_lang", "target_lang")
    meta = copy_model(tiny("marian"), tmp_path / "my-model", drop=bare)
    (meta / "metadata.json").write_text(
        json.dumps({"src_alpha2": "zh", "tgt_alpha2": "en", "source_languages": "zho"})
    )
    langs = languages_of(meta)
    assert (langs.sources, langs.targets) == ({"zh"}, {"en"})
    assert langs.sources_from == "its metadata.json"
    named = copy_model(tiny("marian"), tmp_path / "opus-mt-tc-big-de-fr", drop=bare)
    langs = languages_of(named)
    assert (langs.sources, langs.targets, langs.targets_from) == ({"de"}, {"fr"}, "its name")
    # Three-letter codes in the tokenizer config (as the real opus-mt-zh-en writes "zho").
    iso3 = copy_model(tiny("marian"), tmp_path / "iso3", source_lang="zho", target_lang="eng")
    langs = languages_of(iso3)
    assert (langs.sources, langs.targets) == ({"zh"}, {"en"})
    # A group ("zle", "mul") is not a language: it restricts nothing.
    group = copy_model(tiny("marian"), tmp_path / "opus-mt-mul-en", drop=bare)
    assert languages_of(group).sources is None and languages_of(group).targets == {"en"}


def test_multilingual_models_are_not_restricted_beyond_their_tokens(tiny) -> None:
    for family in ("m2m100", "nllb"):
        langs = languages_of(tiny(family))
        assert langs.sources is not None and {"en", "ko", "uk"} <= langs.sources, family
        check_pair(langs, family, "ko", "uk")
        check_pair(langs, family, "en", "ko")
    chat = languages_of(tiny("chat"))
    assert chat.sources is None and chat.targets is None


@needs_realshape
def test_real_marian_files() -> None:
    zh_en = languages_of(REALSHAPE / "opus-mt-zh-en")  # tokenizer_config {"source_lang": "zho"}
    assert (zh_en.sources, zh_en.targets) == ({"zh"}, {"en"})
    en_pt = languages_of(REALSHAPE / "opus-mt-tc-big-en-pt")  # >>por<< and >>pob<< tokens
    assert (en_pt.sources, en_pt.targets) == ({"en"}, {"pt"})
    with pytest.raises(LanguageError, match=r"cannot translate into uk; it translates into pt"):
        check_pair(en_pt, "opus-mt-tc-big-en-pt", "en", "uk")
    m2m = languages_of(REALSHAPE / "m2m100_418M")
    check_pair(m2m, "m2m100_418M", "ko", "uk")


# --- refusals, before any weights load ------------------------------------------------------


def test_single_pair_folder_refuses_another_target_without_loading(tiny, tmp_path: Path) -> None:
    # Weights that cannot load: a refusal that came after loading would be a load error.
    folder = tmp_path / "marian"
    shutil.copytree(tiny("marian"), folder)
    (folder / "model.safetensors").write_bytes(b"not weights")
    workbench = wb()
    with pytest.raises(LanguageError) as err:
        workbench.translate("The council met on Monday.", to="ko", src="en", model=str(folder))
    message = str(err.value)
    assert "marian@" in message and "cannot translate into ko" in message
    assert "it translates into uk (its tokenizer_config.json)" in message
    assert "\n" not in message and workbench.pool.loaded == []
    with pytest.raises(ModelError, match="could not be loaded"):  # the pair it does serve
        workbench.translate("The council met on Monday.", to="uk", src="en", model=str(folder))


def test_english_only_model_refuses_a_korean_article(tiny) -> None:
    with pytest.raises(LanguageError) as err:
        wb().translate(KO, to="uk", model=str(tiny("marian-multi")))
    message = str(err.value)
    assert message.startswith(f"{KO}: model marian-multi@")
    assert "cannot translate from ko (detected); it translates from en" in message
    assert "--from" in message  # the detection might be wrong: the user can say so


def test_catalog_sources_refuse_even_when_the_files_do_not_say(tiny) -> None:
    from tests.test_resolve import put_in_hub_cache

    repo = "Helsinki-NLP/opus-mt-tc-big-en-zle"
    snap = put_in_hub_cache(tiny("marian-multi"), repo)
    config = snap / "tokenizer_config.json"
    data = json.loads(config.read_text("utf-8"))
    del data["source_lang"]
    config.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(
        LanguageError,
        match=r"from ko \(detected\); it translates from en \(the catalog and its name\)",
    ):
        wb().translate(KO, to="uk", model=repo)
    with pytest.raises(
        LanguageError, match=r"into be, ru, uk \(the catalog and its language tokens\)"
    ):
        wb().translate(EN, to="ko", model=repo)


@pytest.mark.parametrize("family", ["mt5-sum", "bart-sum"])
def test_a_summariser_is_not_a_translator(tiny, family: str) -> None:
    workbench = wb()
    with pytest.raises(ModelError) as err:
        workbench.translate(EN, to="ko", src="en", model=str(tiny(family)))
    message = str(err.value)
    assert f"model {family}@" in message and "is a summarisation model" in message
    assert "cannot translate into ko" in message
    assert "workbench summarise" in message and workbench.pool.loaded == []


@needs_realshape
def test_real_single_pair_files_refuse_before_weights(tmp_path: Path) -> None:
    # The real zh→en files with placeholder weights: whatever is refused never reached them.
    folder = tmp_path / "opus-mt-zh-en"
    folder.mkdir()
    for item in (REALSHAPE / "opus-mt-zh-en").iterdir():
        os.symlink(item, folder / item.name)
    (folder / "model.safetensors").write_bytes(b"placeholder")
    with pytest.raises(LanguageError, match=r"cannot translate into uk; it translates into en"):
        wb().translate("这是一个测试句子，用来检查语言。", to="uk", model=str(folder))
    with pytest.raises(LanguageError, match=r"cannot translate from ko \(detected\); .* from zh"):
        wb().translate(KO, to="en", model=str(folder))


def test_folder_run_refuses_per_document_and_language(tiny, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(EN, src / "ferry.md")
    shutil.copy(KO, src / "library.md")
    out = tmp_path / "out"
    model = str(tiny("marian"))  # en→uk only
    args = ["translate", str(src), "--to", "uk,ko", "--out", str(out), "--model", model]
    result = CliRunner().invoke(app, [*args, "--beams", "1", "--backend", "torch", "--no-cache"])
    assert result.exit_code == 1, result.output
    rows = {
        (Path(r["input"]).name, r["lang"]): r
        for r in map(json.loads, (out / "manifest.jsonl").read_text("utf-8").splitlines())
    }
    assert rows[("ferry.md", "uk")]["error"] is None and (out / "ferry.uk.md").is_file()
    assert rows[("library.md", "ko")]["error"] is None  # already Korean: copied, no model needed
    into_ko = rows[("ferry.md", "ko")]["error"]
    from_ko = rows[("library.md", "uk")]["error"]
    assert "ferry.md: model marian@" in into_ko and "cannot translate into ko" in into_ko
    assert "library.md: model marian@" in from_ko and "cannot translate from ko" in from_ko
    errors = [line for line in result.stderr.splitlines() if line.startswith("workbench: error")]
    assert len(errors) == 2 and "2 done (0 from cache), 2 failed" in result.stderr


def test_models_info_says_what_a_translator_can_do(tiny) -> None:
    result = CliRunner().invoke(app, ["models", "info", str(tiny("marian"))])
    assert result.exit_code == 0, result.output
    assert "sources:  en (its tokenizer_config.json)" in result.stdout
    assert "targets:  uk (its tokenizer_config.json)" in result.stdout
    multi = CliRunner().invoke(app, ["models", "info", str(tiny("marian-multi"))]).stdout
    assert "targets:  be, ru, uk (its language tokens)" in multi


def test_stdin_refusal_is_one_line_and_exit_2(tiny) -> None:
    args = ["translate", "-", "--to", "ko", "--from", "en", "--model", str(tiny("marian"))]
    result = CliRunner().invoke(app, [*args, "--no-cache"], input="The council met on Monday.\n")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("workbench: error: model marian@")
    assert "cannot translate into ko; it translates into uk" in lines[0]
