"""Tiny, deterministic stand-ins for the hub checkpoints workbench loads.

``build(family, dest)`` writes a folder that looks like a hub snapshot (``config.json``,
``generation_config.json``, ``model.safetensors`` and the tokenizer files) so the product
loads it through the same ``AutoTokenizer`` / ``AutoModelFor...`` code path as a real model.
Weights are random (``torch.manual_seed(seed)`` before init); tokenizers are trained in
memory on the news sentences in ``tests/data/corpus`` and cached per process.

Families (the real checkpoint each one imitates):

``marian``        Helsinki-NLP/opus-mt-en-uk: MarianTokenizer (source.spm, target.spm, vocab.json).
``marian-multi``  opus-mt-tc-big-en-zle: like ``marian`` plus ``>>ukr<<``/``>>rus<<``/``>>bel<<``
                  in vocab.json; the source text starts with ``">>ukr<< "``.
``nllb``          facebook/nllb-200: M2M100 model + NllbTokenizer with the NLLB-200 codes.
``m2m100``        facebook/m2m100_418M: M2M100Tokenizer (vocab.json + sentencepiece.bpe.model).
``mbart50``       facebook/mbart-large-50-many-to-many-mmt: MBart50Tokenizer.
``t5``            google/madlad400-*-mt: T5 + T5Tokenizer with ``<2ko>``-style target tokens.
``mt5-sum``       csebuetnlp/mT5_multilingual_XLSum: MT5 + XL-Sum generation defaults.
``bart-sum``      facebook/bart-large-cnn: BART + byte-level BPE (RobertaTokenizer).
``chat``          Qwen2.5-*-Instruct: Qwen2ForCausalLM + Qwen2Tokenizer + ChatML template.

Size overrides (``d_model``, ``layers``, ``encoder_layers``, ``decoder_layers``, ``heads``,
``ffn``, ``vocab_size``, ``tie_embeddings``) let a benchmark build a realistic-size model.
The corpus cannot train a 60k vocabulary, so a larger ``vocab_size`` adds embedding rows no
real token maps to: Marian's vocab.json is padded with ``<unused_N>`` entries (a real
vocab.json covers every row, and CTranslate2 conversion needs it), and where the model has a
``final_logits_bias`` (Marian, mBART, BART) those rows get ``-1e4`` so generation never picks
them; elsewhere (NLLB/M2M100/T5/Qwen2) an unused id decodes to nothing.

Input and output embeddings are untied by default (real Marian/NLLB/mBART/BART/small Qwen
tie them): tied random weights repeat one token forever (see ``_VARIETY``).  Pass
``tie_embeddings=True`` for the real parameter count (T5/mT5 are always tied in 5.24).
Tokens that are not plain corpus text (byte pieces, tags, sentinels) are made unreachable
for generation (see ``_init_model``), so outputs are varied plain text.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

CORPUS_DIR = Path(__file__).parent / "data" / "corpus"

FAMILY_BUILDS: tuple[str, ...] = (
    "marian",
    "marian-multi",
    "nllb",
    "m2m100",
    "mbart50",
    "t5",
    "mt5-sum",
    "bart-sum",
    "chat",
)

#: Target-language tokens of the ``marian-multi`` family (opus-mt-tc style).
MARIAN_LANG_TOKENS: tuple[str, ...] = (">>bel<<", ">>rus<<", ">>ukr<<")
#: Target-language tokens of the ``t5`` family (MADLAD-400 style).
T5_LANG_TOKENS: tuple[str, ...] = ("<2en>", "<2ko>", "<2uk>", "<2ru>", "<2be>")
#: Language codes the product uses with ``m2m100`` (the tokenizer registers all 100).
M2M100_LANGS: tuple[str, ...] = ("en", "ko", "uk", "ru")

#: Pieces in the default sentencepiece / BPE vocabularies.
TOKENIZER_VOCAB = 2000
#: Bias that keeps generation off embedding rows no token maps to.
_UNUSED_BIAS = -1.0e4


@dataclass(frozen=True)
class Sizes:
    """Model dimensions; ``vocab_size`` None means "exactly the tokenizer's size"."""

    d_model: int = 64
    encoder_layers: int = 2
    decoder_layers: int = 2
    heads: int = 4
    ffn: int = 128
    vocab_size: int | None = None
    tie_embeddings: bool = False


_OVERRIDE_KEYS = frozenset({f.name for f in fields(Sizes)} | {"layers"})


def _sizes(overrides: dict[str, Any]) -> Sizes:
    unknown = set(overrides) - _OVERRIDE_KEYS
    if unknown:
        raise TypeError(f"unknown size override(s): {sorted(unknown)}")
    values = dict(overrides)
    layers = values.pop("layers", None)
    if layers is not None:
        values.setdefault("encoder_layers", layers)
        values.setdefault("decoder_layers", layers)
    sizes = replace(Sizes(), **values)
    if sizes.d_model % sizes.heads:
        raise ValueError(f"d_model {sizes.d_model} is not divisible by heads {sizes.heads}")
    return sizes


# --------------------------------------------------------------------------- corpus


@functools.cache
def corpus_lines(lang: str | None = None) -> tuple[str, ...]:
    """Non-empty lines of ``tests/data/corpus/<lang>.txt`` (all languages when ``lang`` is None)."""
    files = [CORPUS_DIR / f"{lang}.txt"] if lang else sorted(CORPUS_DIR.glob("*.txt"))
    lines: list[str] = []
    for path in files:
        lines.extend(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(line for line in lines if line)


# --------------------------------------------------------------------------- tokenizers

_T5_IDS = {"pad_id": 0, "eos_id": 1, "unk_id": 2, "bos_id": -1}

# Trainer options per tokenizer flavour.  Ids default to the fairseq/Marian convention
# (<unk>=0, <s>=1, </s>=2) that NLLB and mBART-50 expect; T5 wants <pad>=0, </s>=1, <unk>=2.
# byte_fallback only where sentencepiece itself tokenizes (Marian, M2M100): the
# tokenizers-backed classes of 5.24 (NllbTokenizer, MBart50Tokenizer, T5Tokenizer) rebuild
# their model with byte_fallback=False, so byte pieces would only be dead "<0x8A>" tokens.
_SPM_KINDS: dict[str, dict[str, Any]] = {
    "marian": {"model_type": "unigram", "byte_fallback": True},
    "m2m100": {"model_type": "bpe", "byte_fallback": True},
    "nllb": {"model_type": "bpe"},
    "mbart50": {"model_type": "unigram"},
    "t5": {"model_type": "unigram", **_T5_IDS},
    "madlad": {"model_type": "unigram", **_T5_IDS, "user_defined_symbols": list(T5_LANG_TOKENS)},
}


@functools.cache
def spm_model(kind: str, vocab_size: int = TOKENIZER_VOCAB) -> bytes:
    """Serialized sentencepiece model of flavour ``kind`` trained on the corpus (cached).

    Every corpus character is a piece (``character_coverage=1.0``), so corpus text
    round-trips through every family; ``byte_fallback`` covers other characters where the
    tokenizer runs sentencepiece itself.
    """
    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus_lines()),
        model_writer=buffer,
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        character_coverage=1.0,
        split_digits=True,
        num_threads=1,
        minloglevel=2,
        **_SPM_KINDS[kind],
    )
    return buffer.getvalue()


def _spm_pieces(proto: bytes) -> list[str]:
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_proto=proto)
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@functools.cache
def _byte_bpe(pretokenizer: str, special: tuple[str, ...], vocab_size: int) -> str:
    """A byte-level BPE (GPT-2/RoBERTa or Qwen2 pre-tokenization) as tokenizer.json text."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    if pretokenizer == "qwen2":
        from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus_lines(), trainer=trainer)
    return tokenizer.to_str()


def _vocab_and_merges(tokenizer_json: str) -> tuple[dict[str, int], list[tuple[str, str]]]:
    model = json.loads(tokenizer_json)["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return dict(model["vocab"]), merges  # type: ignore[return-value]


# --------------------------------------------------------------------------- helpers


def _model_vocab(sizes: Sizes, tokenizer_size: int) -> int:
    if sizes.vocab_size is None:
        return tokenizer_size
    if sizes.vocab_size < tokenizer_size:
        raise ValueError(f"vocab_size {sizes.vocab_size} < tokenizer size {tokenizer_size}")
    return sizes.vocab_size


def _tokenizer_size(tokenizer: Any) -> int:
    """One past the largest id the tokenizer can produce."""
    return max(tokenizer.get_vocab().values()) + 1


@functools.cache
def corpus_alphabet() -> frozenset[str]:
    """Every character of the corpus (raw and NFKC-normalized, as sentencepiece sees it)."""
    text = "\n".join(corpus_lines())
    return frozenset(text + unicodedata.normalize("NFKC", text) + " ") - {"\n"}


_BYTE_PIECE = re.compile(r"<0x[0-9A-F]{2}>")


def _dead_ids(tokenizer: Any, config: Any, real: int) -> list[int]:
    """Ids a random model should never emit: rows past the ``real`` tokens, and tokens that
    are not plain corpus text (byte pieces, partial UTF-8, markup and control characters,
    ``<unk>``, ``<pad>``, language codes, sentinels).  EOS stays."""
    eos = config.eos_token_id
    keep = {tokenizer.eos_token_id, *(eos if isinstance(eos, list) else [eos])}
    alphabet = corpus_alphabet()
    dead = []
    for i in range(real):
        if i in keep:
            continue
        # a lone byte piece may decode to "" (str.strip() eats \x1c-\x1f): check its name too
        piece = tokenizer.convert_ids_to_tokens(i)
        text = tokenizer.decode([i], skip_special_tokens=False)
        if _BYTE_PIECE.fullmatch(piece or "") or not set(text) <= alphabet:
            dead.append(i)
    return dead + list(range(real, config.vocab_size))


def _init_model(model_cls: type, config: Any, seed: int, tokenizer: Any, real: int) -> Any:
    """``model_cls(config)`` with seeded random weights that never emit a ``_dead_ids`` token.

    Where the model has a ``final_logits_bias`` those ids get ``-1e4``; otherwise their rows
    of the output embedding are scaled by 1e-3, so their logit is about 0 while the best of
    the ~1700 live tokens is clearly positive: greedy and beam search never pick them (input
    embeddings that share the rows keep their direction, which the layer norms restore).
    Random weights otherwise spell out stray bytes, newlines, backticks and ``<2ru>`` tags
    that no trained model produces, and that break the product's structure checks.
    """
    import torch

    torch.manual_seed(seed)
    model = model_cls(config)
    model.eval()
    dead = torch.tensor(_dead_ids(tokenizer, config, real), dtype=torch.long)
    bias = getattr(model, "final_logits_bias", None)
    with torch.no_grad():
        if bias is not None:
            bias[0, dead] = _UNUSED_BIAS
        else:
            model.get_output_embeddings().weight[dead] *= 1e-3
    return model


def _save(model: Any, tokenizer: Any, generation: dict[str, Any], dest: Path) -> None:
    from transformers import GenerationConfig
    from transformers.utils import logging as hf_logging

    model.generation_config = GenerationConfig(**generation)
    # loading from a scratch folder leaves these in init_kwargs; a hub snapshot has neither
    for key in ("is_local", "local_files_only"):
        tokenizer.init_kwargs.pop(key, None)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model.save_pretrained(dest)
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    tokenizer.save_pretrained(dest)


# _VARIETY: with the stock init (std 0.02, tied input/output embeddings) a random model
# repeats one token forever: the residual stream is mostly the input token's embedding,
# which scores highest against itself.  Untied output embeddings and a wider init make
# greedy decoding wander over the vocabulary and depend on the source sentence.  T5/mT5
# configs of 5.24 always tie (tie_word_embeddings=False only turns off the v1.0 output
# scaling, as in mT5/MADLAD checkpoints); there initializer_factor=3 does the same job.


def _seq2seq_dims(sizes: Sizes) -> dict[str, Any]:
    """Dimensions plus the init that keeps random outputs varied (see ``_VARIETY``)."""
    return {
        "init_std": 0.8 / sizes.d_model**0.5,
        "tie_word_embeddings": sizes.tie_embeddings,
        "d_model": sizes.d_model,
        "encoder_layers": sizes.encoder_layers,
        "decoder_layers": sizes.decoder_layers,
        "encoder_attention_heads": sizes.heads,
        "decoder_attention_heads": sizes.heads,
        "encoder_ffn_dim": sizes.ffn,
        "decoder_ffn_dim": sizes.ffn,
    }


# --------------------------------------------------------------------------- families


def _build_marian(dest: Path, seed: int, sizes: Sizes, *, multi: bool) -> None:
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    proto = spm_model("marian")
    # opus-mt layout: </s>=0, <unk>=1, the pieces, <pad> last (= decoder start)
    vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
    for token in MARIAN_LANG_TOKENS if multi else ():
        vocab[token] = len(vocab)
    for piece in _spm_pieces(proto):
        vocab.setdefault(piece, len(vocab))
    del vocab["<s>"]  # sentencepiece control piece, unused by Marian
    vocab = {token: i for i, token in enumerate(vocab)}
    used = len(vocab)
    # A real vocab.json covers every embedding row, and CTranslate2 conversion needs that:
    # a larger vocab_size is filled with tokens nothing produces (masked by the bias).
    rows = sizes.vocab_size if sizes.vocab_size is not None else used + 1
    if rows < used + 1:
        raise ValueError(f"vocab_size {rows} < tokenizer size {used + 1}")
    vocab.update((f"<unused_{i}>", i) for i in range(used, rows - 1))
    vocab["<pad>"] = rows - 1

    with tempfile.TemporaryDirectory() as tmp:
        source = _write(Path(tmp) / "source.spm", proto)
        target = _write(Path(tmp) / "target.spm", proto)
        vocab_file = Path(tmp) / "vocab.json"
        vocab_file.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        tokenizer = MarianTokenizer(
            source_spm=str(source),
            target_spm=str(target),
            vocab=str(vocab_file),
            source_lang="en",
            target_lang="uk" if not multi else "zle",
            model_max_length=512,
        )
        pad = vocab["<pad>"]
        config = MarianConfig(
            vocab_size=len(vocab),
            max_position_embeddings=512,
            activation_function="swish",
            scale_embedding=True,
            pad_token_id=pad,
            eos_token_id=0,
            bos_token_id=None,
            forced_eos_token_id=0,
            decoder_start_token_id=pad,
            **_seq2seq_dims(sizes),
        )
        model = _init_model(MarianMTModel, config, seed, tokenizer, used)
        _save(
            model,
            tokenizer,
            {
                "bad_words_ids": [[pad]],
                "bos_token_id": 0,
                "decoder_start_token_id": pad,
                "eos_token_id": 0,
                "forced_eos_token_id": 0,
                "pad_token_id": pad,
                "max_length": 512,
                "num_beams": 4,
                "renormalize_logits": True,
            },
            dest,
        )


def _fairseq_generation(max_length: int = 200, num_beams: int = 5) -> dict[str, Any]:
    return {
        "bos_token_id": 0,
        "pad_token_id": 1,
        "eos_token_id": 2,
        "decoder_start_token_id": 2,
        "max_length": max_length,
        "num_beams": num_beams,
    }


def _m2m100_config(sizes: Sizes, vocab_size: int) -> Any:
    from transformers import M2M100Config

    return M2M100Config(
        vocab_size=vocab_size,
        max_position_embeddings=1024,
        activation_function="relu",
        scale_embedding=True,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        **_seq2seq_dims(sizes),
    )


def _build_nllb(dest: Path, seed: int, sizes: Sizes) -> None:
    from transformers import M2M100ForConditionalGeneration, NllbTokenizer
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp) / "sentencepiece.bpe.model", spm_model("nllb"))
        # From a bare .model NllbTokenizer registers no language codes: pass them.
        tokenizer = NllbTokenizer.from_pretrained(
            tmp,
            extra_special_tokens=list(FAIRSEQ_LANGUAGE_CODES),
            src_lang="eng_Latn",
            tgt_lang="kor_Hang",
            model_max_length=1024,
        )
    used = _tokenizer_size(tokenizer)
    config = _m2m100_config(sizes, _model_vocab(sizes, used))
    config.tokenizer_class = "NllbTokenizer"
    model = _init_model(M2M100ForConditionalGeneration, config, seed, tokenizer, used)
    _save(model, tokenizer, _fairseq_generation(), dest)


def _build_m2m100(dest: Path, seed: int, sizes: Sizes) -> None:
    from transformers import M2M100ForConditionalGeneration, M2M100Tokenizer
    from transformers.models.m2m_100.tokenization_m2m_100 import FAIRSEQ_LANGUAGE_CODES

    proto = spm_model("m2m100")
    vocab: dict[str, int] = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for piece in _spm_pieces(proto):
        vocab.setdefault(piece, len(vocab))
    with tempfile.TemporaryDirectory() as tmp:
        spm_file = _write(Path(tmp) / "sentencepiece.bpe.model", proto)
        vocab_file = Path(tmp) / "vocab.json"
        vocab_file.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        tokenizer = M2M100Tokenizer(
            vocab_file=str(vocab_file),
            spm_file=str(spm_file),
            src_lang="en",
            tgt_lang="ko",
            model_max_length=1024,
            # 5.24 computes the ``__xx__`` tokens but never registers them unless passed
            additional_special_tokens=[f"__{c}__" for c in FAIRSEQ_LANGUAGE_CODES["m2m100"]],
        )
    used = _tokenizer_size(tokenizer)
    # fairseq appends 8 "madeupword" rows after the language codes
    config = _m2m100_config(sizes, _model_vocab(sizes, used + tokenizer.num_madeup_words))
    model = _init_model(M2M100ForConditionalGeneration, config, seed, tokenizer, used)
    _save(model, tokenizer, {**_fairseq_generation(), "early_stopping": True}, dest)


def _build_mbart50(dest: Path, seed: int, sizes: Sizes) -> None:
    from transformers import MBart50Tokenizer, MBartConfig, MBartForConditionalGeneration

    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp) / "sentencepiece.bpe.model", spm_model("mbart50"))
        # bos_token: the hub's special_tokens_map sets it; MBart50Tokenizer has no default
        tokenizer = MBart50Tokenizer.from_pretrained(
            tmp, src_lang="en_XX", tgt_lang="ko_KR", bos_token="<s>", model_max_length=1024
        )
    used = _tokenizer_size(tokenizer)
    config = MBartConfig(
        vocab_size=_model_vocab(sizes, used),
        # legacy keys every mBART checkpoint carries; CTranslate2's converter reads them
        normalize_before=True,
        add_final_layer_norm=True,
        normalize_embedding=True,
        max_position_embeddings=1024,
        activation_function="gelu",
        scale_embedding=True,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_eos_token_id=2,
        tokenizer_class="MBart50Tokenizer",
        **_seq2seq_dims(sizes),
    )
    model = _init_model(MBartForConditionalGeneration, config, seed, tokenizer, used)
    generation = {**_fairseq_generation(), "forced_eos_token_id": 2, "early_stopping": True}
    _save(model, tokenizer, generation, dest)


def _build_t5(dest: Path, seed: int, sizes: Sizes, *, summariser: bool) -> None:
    from transformers import T5Tokenizer

    kind = "t5" if summariser else "madlad"
    with tempfile.TemporaryDirectory() as tmp:
        _write(Path(tmp) / "spiece.model", spm_model(kind))
        tokenizer = T5Tokenizer.from_pretrained(tmp, model_max_length=512)
    used = _tokenizer_size(tokenizer)
    dims = {
        "vocab_size": _model_vocab(sizes, used),
        "d_model": sizes.d_model,
        "d_kv": sizes.d_model // sizes.heads,
        "d_ff": sizes.ffn,
        "num_layers": sizes.encoder_layers,
        "num_decoder_layers": sizes.decoder_layers,
        "num_heads": sizes.heads,
        "feed_forward_proj": "gated-gelu",
        "tie_word_embeddings": sizes.tie_embeddings,  # False: v1.1 (no output scaling)
        "initializer_factor": 3.0,  # see _VARIETY
        "pad_token_id": 0,
        "eos_token_id": 1,
        "decoder_start_token_id": 0,
    }
    generation: dict[str, Any] = {"pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0}
    if summariser:
        from transformers import MT5Config, MT5ForConditionalGeneration

        config = MT5Config(**dims, tokenizer_class="T5Tokenizer")
        model_cls: type = MT5ForConditionalGeneration
        generation |= {
            "num_beams": 4,
            "no_repeat_ngram_size": 2,
            "max_length": 84,
            "length_penalty": 0.6,
        }
    else:
        from transformers import T5Config, T5ForConditionalGeneration

        config = T5Config(**dims)
        model_cls = T5ForConditionalGeneration
        generation |= {"max_length": 256}
    model = _init_model(model_cls, config, seed, tokenizer, used)
    # Write the embeddings under every name, not only "shared": a checkpoint that relies on
    # tying at load time loaded with untied meta tensors now and then under parallel tests.
    import torch

    with torch.no_grad():
        for module in (model.encoder.embed_tokens, model.decoder.embed_tokens):
            module.weight = torch.nn.Parameter(model.shared.weight.detach().clone())
        if (
            getattr(model, "lm_head", None) is not None
            and model.lm_head.weight is model.shared.weight
        ):
            model.lm_head.weight = torch.nn.Parameter(model.shared.weight.detach().clone())
    _save(model, tokenizer, generation, dest)


def _build_bart(dest: Path, seed: int, sizes: Sizes) -> None:
    from transformers import BartConfig, BartForConditionalGeneration, RobertaTokenizer

    vocab, merges = _vocab_and_merges(
        _byte_bpe("gpt2", ("<s>", "<pad>", "</s>", "<unk>"), TOKENIZER_VOCAB)
    )
    vocab["<mask>"] = len(vocab)
    tokenizer = RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=1024)
    used = _tokenizer_size(tokenizer)
    config = BartConfig(
        vocab_size=_model_vocab(sizes, used),
        # legacy keys every BART checkpoint carries; CTranslate2's converter reads them
        normalize_before=False,
        add_final_layer_norm=False,
        normalize_embedding=True,
        max_position_embeddings=1024,
        activation_function="gelu",
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        decoder_start_token_id=2,
        forced_bos_token_id=0,
        forced_eos_token_id=2,
        **_seq2seq_dims(sizes),
    )
    model = _init_model(BartForConditionalGeneration, config, seed, tokenizer, used)
    generation = {
        "bos_token_id": 0,
        "pad_token_id": 1,
        "eos_token_id": 2,
        "decoder_start_token_id": 2,
        "forced_bos_token_id": 0,
        "forced_eos_token_id": 2,
        "num_beams": 4,
        "max_length": 142,
        "min_length": 56,
        "length_penalty": 2.0,
        "no_repeat_ngram_size": 3,
        "early_stopping": True,
    }
    _save(model, tokenizer, generation, dest)


#: ChatML, as Qwen2.5-Instruct renders it (system turn only when given).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def _build_chat(dest: Path, seed: int, sizes: Sizes) -> None:
    from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2Tokenizer

    specials = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
    vocab, merges = _vocab_and_merges(_byte_bpe("qwen2", (), TOKENIZER_VOCAB))
    for token in specials:  # Qwen keeps its control tokens after the BPE vocabulary
        vocab[token] = len(vocab)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=["<|im_start|>", "<|im_end|>"],
        chat_template=CHAT_TEMPLATE,
        model_max_length=32768,
        errors="replace",
    )
    used = _tokenizer_size(tokenizer)
    endoftext, im_end = vocab["<|endoftext|>"], vocab["<|im_end|>"]
    config = Qwen2Config(
        vocab_size=_model_vocab(sizes, used),
        hidden_size=sizes.d_model,
        intermediate_size=sizes.ffn,
        num_hidden_layers=sizes.decoder_layers,
        num_attention_heads=sizes.heads,
        num_key_value_heads=max(1, sizes.heads // 2),
        max_position_embeddings=32768,
        tie_word_embeddings=sizes.tie_embeddings,  # see _VARIETY
        bos_token_id=endoftext,
        eos_token_id=im_end,
        pad_token_id=None,
    )
    model = _init_model(Qwen2ForCausalLM, config, seed, tokenizer, used)
    generation = {
        "bos_token_id": endoftext,
        "pad_token_id": endoftext,
        "eos_token_id": [im_end, endoftext],
        "do_sample": True,
        "temperature": 0.7,
        "top_p": 0.8,
        "top_k": 20,
        "repetition_penalty": 1.05,
    }
    _save(model, tokenizer, generation, dest)


_BUILDERS: dict[str, Callable[[Path, int, Sizes], None]] = {
    "marian": functools.partial(_build_marian, multi=False),
    "marian-multi": functools.partial(_build_marian, multi=True),
    "nllb": _build_nllb,
    "m2m100": _build_m2m100,
    "mbart50": _build_mbart50,
    "t5": functools.partial(_build_t5, summariser=False),
    "mt5-sum": functools.partial(_build_t5, summariser=True),
    "bart-sum": _build_bart,
    "chat": _build_chat,
}


# --------------------------------------------------------------------------- API


def build(family: str, dest: Path | str, *, seed: int = 0, **overrides: Any) -> Path:
    """Build a tiny ``family`` checkpoint into ``dest`` (created if needed) and return it.

    ``seed`` fixes the weights; ``overrides`` change sizes (see ``Sizes``; ``layers`` sets
    both stacks).  Re-building into the same folder overwrites the weights.
    """
    if family not in _BUILDERS:
        raise ValueError(f"unknown family {family!r}; choose from {FAMILY_BUILDS}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    _BUILDERS[family](dest, seed, _sizes(overrides))
    return dest


def default_tiny_folder(family: str, root: Path | str) -> Path:
    """``root/family`` built with the defaults, once: an existing ``config.json`` is reused.

    The build goes to a scratch folder renamed into place, so concurrent callers (pytest-xdist
    workers sharing ``root``) never see a half-written model.
    """
    folder = Path(root) / family
    if (folder / "config.json").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{family}-", dir=folder.parent))
    try:
        build(family, scratch)
        try:
            os.rename(scratch, folder)
        except OSError:  # another process won the race (or a stale folder without config)
            if not (folder / "config.json").is_file():
                shutil.rmtree(folder, ignore_errors=True)
                os.rename(scratch, folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


# --------------------------------------------------------------------------- adversarial models
#
# Models that break the assumptions friendly checkpoints let a product make: a decoder with few
# positions, a decoder that never ends (or ends at once), and a tokenizer that produces ids the
# model's embedding does not have. Each starts from a family build and changes only that.


def _reload_seq2seq(dest: Path) -> tuple[Any, Any]:
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    return AutoModelForSeq2SeqLM.from_pretrained(dest), AutoConfig.from_pretrained(dest)


def _with_config(model: Any, config: Any, seed: int) -> Any:
    """A model of ``config`` holding every weight of ``model`` whose shape still fits."""
    import torch

    torch.manual_seed(seed)
    fresh = type(model)(config)
    fresh.eval()
    old = model.state_dict()
    state = {k: v for k, v in fresh.state_dict().items()}
    for key, value in old.items():
        if key in state and state[key].shape == value.shape:
            state[key] = value
    fresh.load_state_dict(state, strict=False)
    fresh.generation_config = model.generation_config
    return fresh


def _bias_eos(model: Any, eos: int, value: float) -> None:
    """Push every decoding step toward (``value`` > 0) or away from (< 0) the EOS token."""
    import torch

    with torch.no_grad():
        bias = getattr(model, "final_logits_bias", None)
        if bias is not None:
            bias[0, eos] = value
        elif value < 0:
            # No bias: a zero output row scores 0 while the best live token scores above it.
            model.get_output_embeddings().weight[eos] = 0.0
        else:
            raise ValueError("EOS at once needs a model with final_logits_bias")


def build_adversarial(
    family: str,
    dest: Path | str,
    *,
    positions: int | None = None,
    eos: str | None = None,
    seed: int = 0,
) -> Path:
    """A ``family`` seq2seq model whose decoder has ``positions`` positions and whose EOS is
    never (``eos="never"``) or at once (``eos="at-once"``) generated.

    The encoder shares the position table, and the tokenizer keeps its own (larger)
    ``model_max_length``, so the model's config is the only place that states the limit.
    """
    dest = build(family, dest, seed=seed)
    model, config = _reload_seq2seq(dest)
    if positions is not None:
        config.max_position_embeddings = positions
        model = _with_config(model, config, seed)
    if eos is not None:
        eos_id = config.eos_token_id
        _bias_eos(model, eos_id, -1.0e4 if eos == "never" else 1.0e4)
    model.save_pretrained(dest)
    return dest


def build_poisoned_marian(dest: Path | str, poison: str = "budget", *, seed: int = 0) -> Path:
    """A Marian model whose embedding lacks the piece of the word ``poison`` (one piece).

    The tokenizer still produces that piece (as an id past the embedding, like a config whose
    ``vocab_size`` is smaller than its tokenizer), so torch raises ``IndexError`` for exactly
    the inputs that contain the word and translates every other input normally.
    """
    from transformers import MarianMTModel, MarianTokenizer

    dest = build("marian", dest, seed=seed)
    tokenizer = MarianTokenizer.from_pretrained(dest)
    bad = set(tokenizer(poison, add_special_tokens=False).input_ids)
    if len(bad) != 1 or bad & {tokenizer.unk_token_id, tokenizer.pad_token_id}:
        raise ValueError(f"{poison!r} is not one piece of its own in the Marian vocabulary")
    vocab = json.loads((dest / "vocab.json").read_text("utf-8"))
    by_id = sorted(vocab, key=lambda t: vocab[t])
    order = [t for t in by_id if vocab[t] not in bad] + [t for t in by_id if vocab[t] in bad]
    vocab = {token: i for i, token in enumerate(order)}
    (dest / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), "utf-8")
    keep = len(order) - len(bad)
    pad = vocab["<pad>"]
    model, config = _reload_seq2seq(dest)
    config.vocab_size = keep
    config.pad_token_id = config.decoder_start_token_id = pad
    tokenizer = MarianTokenizer.from_pretrained(dest)
    fresh = _init_model(MarianMTModel, config, seed, tokenizer, keep)
    generation = model.generation_config.to_dict()
    generation.update(bad_words_ids=[[pad]], decoder_start_token_id=pad, pad_token_id=pad)
    generation.pop("transformers_version", None)
    _save(fresh, tokenizer, generation, dest)
    return dest


def build_vocab_mismatch(dest: Path | str, *, missing: int = 1, seed: int = 0) -> Path:
    """A ``bart-sum`` model whose config has ``missing`` rows fewer than its tokenizer, as
    facebook/bart-large-cnn (``vocab_size`` 50264, tokenizer 50265): with one row missing the
    last token, ``<mask>``, has no embedding; with more, the last ordinary pieces have none
    either, so an input that contains one of them makes torch raise."""
    dest = build("bart-sum", dest, seed=seed)
    model, config = _reload_seq2seq(dest)
    import torch

    model.resize_token_embeddings(config.vocab_size - missing)
    # Resizing ties the encoder and decoder embeddings to the shared one, which an untied
    # config would not load back: write each as its own tensor.
    with torch.no_grad():
        for module in (model.model.encoder.embed_tokens, model.model.decoder.embed_tokens):
            module.weight = torch.nn.Parameter(model.model.shared.weight.detach().clone())
    model.save_pretrained(dest)
    return dest
