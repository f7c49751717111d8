"""Random-weight models with the exact architecture of real checkpoints, for timing only.

``build_opus_mt`` writes a Marian model shaped like Helsinki-NLP/opus-mt-* base models
(d_model 512, 6+6 layers, 8 heads, FFN 2048, shared 60k-row embeddings, swish, sinusoidal
positions). The tokenizer is a sentencepiece model trained here on benchmark-style sentences and the
tests' news corpus (a few thousand pieces); vocab.json is padded with never-used filler tokens
up to the full 60k rows, so that the converted CTranslate2 model, the output projection and
every per-token cost are full size.
Filler rows get a ``final_logits_bias`` of -1e4, so generation never picks them.

``build_nllb_600m`` does the same for the NLLB-200-distilled-600M shape (GPU rows only).

The folder's ``generation_config.json`` sets ``min_new_tokens``: torch inherits it through the
model's generation config and workbench's CTranslate2 backend reads it from the same file, so
every engine generates exactly the same number of tokens per sentence (random weights would
otherwise stop at arbitrary lengths and make the engines incomparable).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: Bumped whenever a builder below changes what it writes, so benchmarks rebuild their models.
BUILD_VERSION = 2
#: opus-mt base sizes (Helsinki-NLP/opus-mt-en-de has 58101 rows; en-uk 61587).
OPUS_MT = {"d_model": 512, "layers": 6, "heads": 8, "ffn": 2048, "vocab": 60_000}
#: facebook/nllb-200-distilled-600M sizes.
NLLB_600M = {"d_model": 1024, "layers": 12, "heads": 16, "ffn": 4096, "vocab": 256_206}


def train_spm(vocab_size: int = 8000) -> bytes:
    """A unigram sentencepiece model (opus-mt style, byte fallback) trained in memory."""
    import io

    import sentencepiece as spm

    from bench.corpus import sentences

    lines = sentences(3000, seed=12345)
    for path in sorted((REPO / "tests" / "data" / "corpus").glob("*.txt")):
        lines += [x.strip() for x in path.read_text("utf-8").splitlines() if x.strip()]
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buffer,
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        model_type="unigram",
        character_coverage=1.0,
        byte_fallback=True,
        num_threads=1,
        minloglevel=2,
    )
    return buffer.getvalue()


def spm_pieces(proto: bytes) -> list[str]:
    """Every piece of a sentencepiece model, in id order."""
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_proto=proto)
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def _generation(pad: int, forced_tokens: int) -> dict[str, Any]:
    return {
        "bad_words_ids": [[pad]],
        "bos_token_id": 0,
        "decoder_start_token_id": pad,
        "eos_token_id": 0,
        "forced_eos_token_id": 0,
        "pad_token_id": pad,
        "max_length": 512,
        "num_beams": 4,
        "min_new_tokens": forced_tokens,
    }


def build_opus_mt(dest: Path, *, forced_tokens: int = 48, seed: int = 0) -> Path:
    """Write a random opus-mt-sized Marian model (en→uk tokenizer files) into ``dest``."""
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    proto = train_spm()
    vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
    for piece in spm_pieces(proto):
        vocab.setdefault(piece, len(vocab))
    del vocab["<s>"]  # a sentencepiece control piece Marian does not use
    tokens = list(vocab)
    used = len(tokens)
    rows = OPUS_MT["vocab"]
    tokens += [f"<filler_{i}>" for i in range(rows - 1 - used)]
    tokens.append("<pad>")
    vocab = {t: i for i, t in enumerate(tokens)}
    pad = vocab["<pad>"]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "source.spm").write_bytes(proto)
        (Path(tmp) / "target.spm").write_bytes(proto)
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), "utf-8")
        tokenizer = MarianTokenizer(
            source_spm=str(Path(tmp) / "source.spm"),
            target_spm=str(Path(tmp) / "target.spm"),
            vocab=str(Path(tmp) / "vocab.json"),
            source_lang="en",
            target_lang="uk",
            model_max_length=512,
        )
        tokenizer.save_pretrained(dest)
    config = MarianConfig(
        vocab_size=rows,
        d_model=OPUS_MT["d_model"],
        encoder_layers=OPUS_MT["layers"],
        decoder_layers=OPUS_MT["layers"],
        encoder_attention_heads=OPUS_MT["heads"],
        decoder_attention_heads=OPUS_MT["heads"],
        encoder_ffn_dim=OPUS_MT["ffn"],
        decoder_ffn_dim=OPUS_MT["ffn"],
        max_position_embeddings=512,
        activation_function="swish",
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
        pad_token_id=pad,
        eos_token_id=0,
        bos_token_id=None,
        forced_eos_token_id=0,
        decoder_start_token_id=pad,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config).eval()
    with torch.no_grad():
        model.final_logits_bias[..., used:pad] = -1.0e4
    model.generation_config = GenerationConfig(**_generation(pad, forced_tokens))
    model.save_pretrained(dest)
    return dest


def build_nllb_600m(dest: Path, *, forced_tokens: int = 48, seed: int = 0) -> Path:
    """Write a random NLLB-200-distilled-600M-shaped model (GPU rows only: 2.4 GB fp32)."""
    from tests.tinymodels import build

    dest = build(
        "nllb",
        Path(dest),
        seed=seed,
        d_model=NLLB_600M["d_model"],
        layers=NLLB_600M["layers"],
        heads=NLLB_600M["heads"],
        ffn=NLLB_600M["ffn"],
        vocab_size=NLLB_600M["vocab"],
        # The real checkpoint shares one embedding matrix (2.46 GB in fp32, not 5.6).
        tie_embeddings=True,
    )
    path = dest / "generation_config.json"
    cfg = json.loads(path.read_text("utf-8"))
    cfg["min_new_tokens"] = forced_tokens
    path.write_text(json.dumps(cfg, indent=2), "utf-8")
    return dest


def folder_bytes(folder: Path, pattern: str = "*") -> int:
    """Total size of the files in ``folder`` matching ``pattern``."""
    return sum(p.stat().st_size for p in Path(folder).glob(pattern) if p.is_file())
