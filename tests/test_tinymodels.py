"""The tiny fixture models load through the Auto classes and behave like their hub models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
)

from tests import tinymodels
from tests.tinymodels import FAMILY_BUILDS, build, corpus_lines, default_tiny_folder

pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")

MODEL_TYPES = {
    "marian": "marian",
    "marian-multi": "marian",
    "nllb": "m2m_100",
    "m2m100": "m2m_100",
    "mbart50": "mbart",
    "t5": "t5",
    "mt5-sum": "mt5",
    "bart-sum": "bart",
    "chat": "qwen2",
}

SENTENCES = [corpus_lines("en")[3], corpus_lines("en")[17]]


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny models decode fastest on one thread (several spin and fight on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _load(folder: Path, family: str, **tokenizer_kwargs: Any) -> tuple[Any, Any]:
    tokenizer = AutoTokenizer.from_pretrained(folder, **tokenizer_kwargs)
    auto = AutoModelForCausalLM if family == "chat" else AutoModelForSeq2SeqLM
    return tokenizer, auto.from_pretrained(folder).eval()


def _generate(model: Any, batch: Any, **kwargs: Any) -> torch.Tensor:
    with torch.inference_mode():
        return model.generate(**batch, max_new_tokens=16, do_sample=False, num_beams=1, **kwargs)


def _check_output(tokenizer: Any, new_tokens: torch.Tensor) -> list[str]:
    assert new_tokens.shape[0] == 2
    for row in new_tokens.tolist():
        assert len(set(row)) > 3, f"degenerate output {row}"
    texts = tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    # plain text: no stray bytes, newlines, markup or tags that break structure checks
    assert set("".join(texts)) <= tinymodels.corpus_alphabet(), texts
    return texts


def test_families_list_matches_builders() -> None:
    assert set(FAMILY_BUILDS) == set(MODEL_TYPES)
    assert len(set(FAMILY_BUILDS)) == len(FAMILY_BUILDS)


@pytest.mark.parametrize("family", FAMILY_BUILDS)
def test_folder_loads_through_auto_classes(family: str, tiny: Callable[[str], Path]) -> None:
    folder = tiny(family)
    assert (folder / "config.json").is_file()
    assert (folder / "generation_config.json").is_file()
    assert (folder / "model.safetensors").is_file()
    config = AutoConfig.from_pretrained(folder)
    assert config.model_type == MODEL_TYPES[family]
    tokenizer, model = _load(folder, family)
    assert config.vocab_size >= len(tokenizer)
    assert model.get_input_embeddings().num_embeddings == config.vocab_size
    assert tokenizer.pad_token_id is not None
    assert sum(p.numel() for p in model.parameters()) < 1_000_000  # tiny: fast everywhere


@pytest.mark.parametrize("lang", ["en", "ko", "uk", "ru"])
@pytest.mark.parametrize("family", FAMILY_BUILDS)
def test_corpus_round_trips(family: str, lang: str, tiny: Callable[[str], Path]) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny(family))
    for text in corpus_lines(lang)[::40]:
        ids = tokenizer(text).input_ids
        assert tokenizer.unk_token_id not in ids or tokenizer.unk_token_id is None
        assert tokenizer.decode(ids, skip_special_tokens=True) == text


def test_marian(tiny: Callable[[str], Path]) -> None:
    tokenizer, model = _load(tiny("marian"), "marian")
    config = model.config
    assert config.pad_token_id == config.decoder_start_token_id == tokenizer.pad_token_id
    assert config.eos_token_id == tokenizer.eos_token_id == 0
    assert model.generation_config.num_beams == 4  # like opus-mt: the product overrides it
    batch = tokenizer(SENTENCES, return_tensors="pt", padding=True)
    assert (batch.attention_mask == 0).any()
    out = _generate(model, batch)
    assert (out[:, 0] == config.decoder_start_token_id).all()
    _check_output(tokenizer, out[:, 1:])


def test_marian_multi_target_token(tiny: Callable[[str], Path]) -> None:
    tokenizer, model = _load(tiny("marian-multi"), "marian-multi")
    assert set(tinymodels.MARIAN_LANG_TOKENS) <= set(tokenizer.get_vocab())
    assert ">>ukr<<" in tokenizer.supported_language_codes
    ukr = tokenizer.convert_tokens_to_ids(">>ukr<<")
    assert ukr != tokenizer.unk_token_id
    assert tokenizer.tokenize(">>ukr<< " + SENTENCES[0])[0] == ">>ukr<<"
    batch = tokenizer([">>ukr<< " + s for s in SENTENCES], return_tensors="pt", padding=True)
    assert (batch.input_ids[:, 0] == ukr).all()
    _check_output(tokenizer, _generate(model, batch)[:, 1:])


def test_nllb_language_codes(tiny: Callable[[str], Path]) -> None:
    tokenizer, model = _load(tiny("nllb"), "nllb")
    codes = ["eng_Latn", "kor_Hang", "ukr_Cyrl", "rus_Cyrl"]
    ids = tokenizer.convert_tokens_to_ids(codes)
    assert tokenizer.unk_token_id not in ids
    assert set(codes) <= set(tokenizer.all_special_tokens)
    tokenizer.src_lang = "eng_Latn"
    batch = tokenizer(SENTENCES, return_tensors="pt", padding=True)
    assert (batch.input_ids[:, 0] == ids[0]).all()
    tokenizer.src_lang = "ukr_Cyrl"
    assert tokenizer("Київ").input_ids[0] == ids[2]
    kor = tokenizer.convert_tokens_to_ids("kor_Hang")
    out = _generate(model, batch, forced_bos_token_id=kor)
    assert (out[:, 0] == model.config.decoder_start_token_id).all()
    assert (out[:, 1] == kor).all()
    _check_output(tokenizer, out[:, 2:])
    assert "kor_Hang" not in tokenizer.decode(out[0], skip_special_tokens=True)


def test_m2m100_language_codes(tiny: Callable[[str], Path]) -> None:
    tokenizer, model = _load(tiny("m2m100"), "m2m100")
    for lang in tinymodels.M2M100_LANGS:
        token = f"__{lang}__"
        assert tokenizer.get_lang_id(lang) == tokenizer.convert_tokens_to_ids(token)
        assert token in tokenizer.all_special_tokens
        assert tokenizer.tokenize(f"{token} x")[0] == token
    assert max(tokenizer.get_vocab().values()) < model.config.vocab_size
    tokenizer.src_lang = "en"
    batch = tokenizer(SENTENCES, return_tensors="pt", padding=True)
    assert (batch.input_ids[:, 0] == tokenizer.get_lang_id("en")).all()
    out = _generate(model, batch, forced_bos_token_id=tokenizer.get_lang_id("ko"))
    assert (out[:, 1] == tokenizer.get_lang_id("ko")).all()
    _check_output(tokenizer, out[:, 2:])
    assert "__ko__" not in tokenizer.decode(out[0], skip_special_tokens=True)


def test_mbart50_language_codes(tiny: Callable[[str], Path]) -> None:
    tokenizer, model = _load(tiny("mbart50"), "mbart50")
    for code in ["en_XX", "ko_KR", "uk_UA", "ru_RU"]:
        assert tokenizer.lang_code_to_id[code] == tokenizer.convert_tokens_to_ids(code)
    tokenizer.src_lang = "en_XX"
    batch = tokenizer(SENTENCES, return_tensors="pt", padding=True)
    assert (batch.input_ids[:, 0] == tokenizer.lang_code_to_id["en_XX"]).all()
    ko = tokenizer.convert_tokens_to_ids("ko_KR")
    out = _generate(model, batch, forced_bos_token_id=ko)
    assert (out[:, 1] == ko).all()
    _check_output(tokenizer, out[:, 2:])


def test_t5_target_prefix(tiny: Callable[[str], Path]) -> None:
    tokenizer, model = _load(tiny("t5"), "t5")
    for token in tinymodels.T5_LANG_TOKENS:
        assert tokenizer.tokenize(f"{token} {SENTENCES[0]}")[0] == token
    ko = tokenizer.convert_tokens_to_ids("<2ko>")
    batch = tokenizer(["<2ko> " + s for s in SENTENCES], return_tensors="pt", padding=True)
    assert (batch.input_ids[:, 0] == ko).all()
    assert (batch.input_ids[:, 1] != tokenizer.unk_token_id).all()
    _check_output(tokenizer, _generate(model, batch)[:, 1:])


@pytest.mark.parametrize("family", ["mt5-sum", "bart-sum"])
def test_summarisers(family: str, tiny: Callable[[str], Path]) -> None:
    tokenizer, model = _load(tiny(family), family)
    generation = model.generation_config
    assert generation.num_beams == 4
    if family == "mt5-sum":
        assert type(model).__name__ == "MT5ForConditionalGeneration"
        assert (generation.no_repeat_ngram_size, generation.max_length) == (2, 84)
    batch = tokenizer(
        [" ".join(corpus_lines("en")[i : i + 3]) for i in (0, 9)], return_tensors="pt", padding=True
    )
    out = _generate(model, batch, no_repeat_ngram_size=0, min_length=0)
    _check_output(tokenizer, out[:, 2:])


def test_chat_template_and_generation(tiny: Callable[[str], Path]) -> None:
    folder = tiny("chat")
    tokenizer, model = _load(folder, "chat", padding_side="left")
    assert tokenizer.padding_side == "left"
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert tokenizer.eos_token == "<|im_end|>"
    generation = model.generation_config
    assert generation.do_sample is True
    assert (generation.temperature, generation.top_p, generation.top_k) == (0.7, 0.8, 20)
    assert im_end in generation.eos_token_id
    messages = [
        {"role": "system", "content": "Translate the user's text into Korean."},
        {"role": "user", "content": SENTENCES[0]},
    ]
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)
    rendered = tokenizer.decode(encoded["input_ids"])
    assert rendered.startswith("<|im_start|>system\n")
    assert rendered.endswith(f"{SENTENCES[0]}<|im_end|>\n<|im_start|>assistant\n")
    assert tokenizer.convert_tokens_to_ids("<|im_start|>") in encoded["input_ids"]
    prompts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": s}], add_generation_prompt=True, tokenize=False
        )
        for s in SENTENCES
    ]
    batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    assert (batch.attention_mask[:, -1] == 1).all()  # left padding
    out = _generate(model, batch, temperature=None, top_p=None, top_k=None)
    _check_output(tokenizer, out[:, batch.input_ids.shape[1] :])


@pytest.mark.parametrize("family", FAMILY_BUILDS)
def test_seed_fixes_weights(family: str, tmp_path: Path) -> None:
    first = load_file(build(family, tmp_path / "a", seed=3) / "model.safetensors")
    again = load_file(build(family, tmp_path / "b", seed=3) / "model.safetensors")
    other = load_file(build(family, tmp_path / "a", seed=4) / "model.safetensors")
    assert first.keys() == again.keys() == other.keys()
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_size_overrides_and_unused_rows(tmp_path: Path) -> None:
    folder = build("marian", tmp_path / "m", d_model=32, layers=1, heads=2, ffn=64, vocab_size=4096)
    tokenizer, model = _load(folder, "marian")
    config = model.config
    assert (config.d_model, config.encoder_layers, config.decoder_layers) == (32, 1, 1)
    assert (config.encoder_attention_heads, config.decoder_ffn_dim) == (2, 64)
    # vocab.json covers every row, as in a real opus-mt checkpoint; <pad> stays last
    assert config.vocab_size == len(tokenizer) == 4096
    assert config.pad_token_id == tokenizer.pad_token_id == 4095
    real = sum(not t.startswith("<unused_") for t in tokenizer.get_vocab()) - 1  # minus <pad>
    assert (model.final_logits_bias[0, real:] < -1000).all()
    assert (model.final_logits_bias[0, :real] == 0).float().mean() > 0.8  # the live tokens
    out = _generate(model, tokenizer(SENTENCES, return_tensors="pt", padding=True))
    assert out[:, 1:].max() < real
    tokenizer.batch_decode(out, skip_special_tokens=True)

    # 5.24 always ties T5 embeddings; tie_embeddings=True means T5 v1.0 output scaling
    folder = build("t5", tmp_path / "t", vocab_size=2304, tie_embeddings=True)
    tokenizer, model = _load(folder, "t5")
    assert (model.config.vocab_size, model.config.scale_decoder_outputs) == (2304, True)
    assert len(tokenizer) < 2304
    batch = tokenizer(["<2uk> " + s for s in SENTENCES], return_tensors="pt", padding=True)
    tokenizer.batch_decode(_generate(model, batch), skip_special_tokens=True)


@pytest.mark.parametrize("family", FAMILY_BUILDS)
def test_ctranslate2_converts(family: str, tiny: Callable[[str], Path], tmp_path: Path) -> None:
    ctranslate2 = pytest.importorskip("ctranslate2")
    from ctranslate2.converters import TransformersConverter

    folder = tiny(family)
    out = TransformersConverter(str(folder)).convert(str(tmp_path / "ct2"))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokens = tokenizer.convert_ids_to_tokens(tokenizer(SENTENCES[0]).input_ids)
    if family == "chat":
        result = ctranslate2.Generator(out).generate_batch(
            [tokens], max_length=8, sampling_topk=1, include_prompt_in_result=False
        )
        assert len(result[0].sequences[0]) == 8
    else:
        result = ctranslate2.Translator(out).translate_batch(
            [tokens], max_decoding_length=8, beam_size=1
        )
        assert result[0].hypotheses[0]


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown family"):
        build("gpt9", tmp_path)
    with pytest.raises(TypeError, match="hidden"):
        build("marian", tmp_path, hidden=3)
    with pytest.raises(ValueError, match="vocab_size"):
        build("marian", tmp_path, vocab_size=10)


def test_default_folder_is_built_once(tmp_path: Path) -> None:
    root = tmp_path / "models"
    folder = default_tiny_folder("bart-sum", root)
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert default_tiny_folder("bart-sum", root) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert [p.name for p in root.iterdir()] == ["bart-sum"]  # no scratch folder left


def test_tokenizer_training_is_cached() -> None:
    assert tinymodels.spm_model("marian") is tinymodels.spm_model("marian")
    assert len(corpus_lines("en")) >= 150
    assert len(corpus_lines("ko")) >= 150
    assert len(corpus_lines("uk")) >= 150
