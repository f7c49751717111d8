"""Model families: how to recognise one from its files and how to ask it for a language.

Families differ only in how source and target languages are spelled and passed: a source
prefix (multi-target Marian ``>>ukr<<``, MADLAD ``<2uk>``), the tokenizer's ``src_lang``, or a
forced first decoder token (NLLB ``ukr_Cyrl``, M2M100 ``__uk__``, mBART-50 ``uk_UA``).
Recognition reads JSON files only, so it is cheap enough for fully cached runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import languages
from workbench.errors import LanguageError, ModelError

if TYPE_CHECKING:
    from workbench.models.catalog import CatalogEntry

_MARIAN_TAG = re.compile(r"^>>([a-z]{2,3}(?:_[A-Za-z]+)?)<<$")
_MADLAD_TAG = re.compile(r"^<2([a-z]{2,3}(?:[-_][A-Za-z]+)?)>$")
# opus-mt names spell their pair: opus-mt-zh-en, opus-mt-tc-big-en-pt (groups such as "zle" or
# "mul" are not languages and are ignored).
_OPUS_NAME = re.compile(r"^opus-mt-(?:tc-[a-z]+-)?([A-Za-z_]+)-([A-Za-z_]+)$")
_CAUSAL_TYPES = {"qwen2", "qwen3", "llama", "mistral", "gemma", "gemma2", "gemma3", "phi3", "gpt2"}


@dataclass(frozen=True)
class ModelInfo:
    """What the files say about a model, without loading it."""

    family: str  # marian | nllb | m2m100 | mbart50 | t5 | bart | chat
    model_type: str
    task: str  # translate | summarise | chat
    targets: frozenset[str] | None  # ISO codes it can produce; None = not stated by its files
    multi_target: bool = False
    max_input_tokens: int | None = None


@dataclass(frozen=True)
class Control:
    """How to ask a loaded model for one language pair."""

    prefix: str = ""
    src_lang: str | None = None
    forced_bos_token: str | None = None


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file as a dict; a missing file is empty and a broken one a ModelError."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(
            f"{path} is not valid JSON ({exc}); the model folder is corrupt, download or save it again"
        ) from None
    return data if isinstance(data, dict) else {}


def _special_tokens(folder: Path) -> set[str]:
    tokens: set[str] = set()
    tok_cfg = read_json(folder / "tokenizer_config.json")
    for key in ("additional_special_tokens", "extra_special_tokens"):
        value = tok_cfg.get(key) or []
        if isinstance(value, dict):
            value = list(value.values())
        tokens.update(str(t if isinstance(t, str) else t.get("content", "")) for t in value)
    for added in (tok_cfg.get("added_tokens_decoder") or {}).values():
        if isinstance(added, dict) and "content" in added:
            tokens.add(str(added["content"]))
    tokenizer_json = read_json(folder / "tokenizer.json")
    for added in tokenizer_json.get("added_tokens", []) or []:
        if isinstance(added, dict) and "content" in added:
            tokens.add(str(added["content"]))
    return tokens


def _codes_from(tags: set[str], pattern: re.Pattern[str]) -> frozenset[str]:
    codes: set[str] = set()
    for tag in tags:
        m = pattern.match(tag)
        if not m:
            continue
        try:
            codes.add(languages.normalize(m.group(1).split("_")[0].split("-")[0]))
        except LanguageError:
            continue
    return frozenset(codes)


def inspect(folder: Path) -> ModelInfo:
    """Recognise the family of a saved model from its config and tokenizer files."""
    config = read_json(folder / "config.json")
    model_type = str(config.get("model_type", ""))
    if not model_type:
        raise ModelError(f"{folder}/config.json has no model_type; the model folder is corrupt")
    tok_class = str(read_json(folder / "tokenizer_config.json").get("tokenizer_class", ""))
    limit = config.get("max_position_embeddings") or config.get("n_positions")
    specials = _special_tokens(folder)

    if model_type == "marian":
        vocab = read_json(folder / "vocab.json")
        tags = {t for t in vocab if t.startswith(">>")} | specials
        codes = _codes_from(tags, _MARIAN_TAG)
        return ModelInfo("marian", model_type, "translate", codes or None, bool(codes), limit)
    if model_type == "m2m_100":
        if "Nllb" in tok_class or "eng_Latn" in specials:
            codes = _codes_from_nllb(specials)
            return ModelInfo("nllb", model_type, "translate", codes, False, limit)
        codes = frozenset(c for c in languages.LANGUAGES if f"__{c}__" in specials) or frozenset(
            languages.LANGUAGES
        )
        return ModelInfo("m2m100", model_type, "translate", codes, False, limit)
    if model_type == "mbart":
        mbart = {lang.mbart: lang.code for lang in languages.LANGUAGES.values() if lang.mbart}
        codes = frozenset(mbart[t] for t in specials if t in mbart)
        if codes or "MBart50" in tok_class:
            return ModelInfo("mbart50", model_type, "translate", codes or None, False, limit)
        return ModelInfo("bart", model_type, "summarise", None, False, limit)
    if model_type in {"t5", "mt5", "umt5"}:
        vocab_tags = specials | _t5_vocab_tags(folder)
        codes = _codes_from(vocab_tags, _MADLAD_TAG)
        if codes:
            return ModelInfo("t5", model_type, "translate", codes, True, None)
        return ModelInfo("t5", model_type, "summarise", None, False, None)
    if model_type in {"bart", "pegasus", "led"}:
        return ModelInfo("bart", model_type, "summarise", None, False, limit)
    if model_type in _CAUSAL_TYPES or config.get("architectures", [""])[0].endswith("ForCausalLM"):
        return ModelInfo("chat", model_type, "chat", None, False, limit)
    raise ModelError(
        f"{folder}: model type {model_type!r} is not supported; workbench runs Marian, NLLB, "
        "M2M100, mBART-50, T5/MADLAD, BART/PEGASUS and chat (causal) models"
    )


def _codes_from_nllb(specials: set[str]) -> frozenset[str]:
    by_nllb = {lang.nllb: lang.code for lang in languages.LANGUAGES.values()}
    return frozenset(by_nllb[t] for t in specials if t in by_nllb) or frozenset(languages.LANGUAGES)


def _t5_vocab_tags(folder: Path) -> set[str]:
    # MADLAD's <2xx> tags live in the sentencepiece vocab, which only tokenizer.json exposes as text.
    vocab = read_json(folder / "tokenizer.json").get("model", {}).get("vocab", [])
    tags: set[str] = set()
    for item in vocab:
        piece = item[0] if isinstance(item, list) else item
        if isinstance(piece, str) and piece.startswith("<2") and piece.endswith(">"):
            tags.add(piece)
    return tags


@dataclass(frozen=True)
class PairLanguages:
    """The languages a model translates from and into, and what says so (for messages).

    ``None`` on a side means nothing workbench can read restricts it.
    """

    sources: frozenset[str] | None = None
    targets: frozenset[str] | None = None
    sources_from: str = ""
    targets_from: str = ""


def _known_codes(value: object) -> frozenset[str] | None:
    """Language codes from a file's field (``"eng"``, ``"en"``, ``"de+fr"``, ``["zh"]``);
    None when any part is not a language workbench knows (``zle``, ``mul``: groups)."""
    parts = value if isinstance(value, list) else re.split(r"[+,\s]+", str(value or ""))
    codes: set[str] = set()
    for part in parts:
        if not str(part).strip():
            continue
        try:
            codes.add(languages.normalize(str(part)))
        except LanguageError:
            return None
    return frozenset(codes) or None


def _marian_pair(
    folder: Path, model_id: str
) -> list[tuple[frozenset[str] | None, frozenset[str] | None, str]]:
    """(sources, targets, where) stated by a Marian model's own files, strongest first."""
    tok = read_json(folder / "tokenizer_config.json")
    meta = read_json(folder / "metadata.json")
    name = _OPUS_NAME.match(model_id.rsplit("/", 1)[-1])
    return [
        (
            _known_codes(tok.get("source_lang")),
            _known_codes(tok.get("target_lang")),
            "its tokenizer_config.json",
        ),
        (
            _known_codes(meta.get("src_alpha2") or meta.get("source_languages")),
            _known_codes(meta.get("tgt_alpha2") or meta.get("target_languages")),
            "its metadata.json",
        ),
        (
            _known_codes(name.group(1)) if name else None,
            _known_codes(name.group(2)) if name else None,
            "its name",
        ),
    ]


def pair_languages(
    folder: Path, model_id: str, info: ModelInfo, entry: CatalogEntry | None = None
) -> PairLanguages:
    """What a translation model can do, from the catalog, its language tokens and (for a
    single-pair Marian model) its tokenizer config, metadata or name. Reads JSON only."""
    sources: list[tuple[frozenset[str], str]] = []
    targets: list[tuple[frozenset[str], str]] = []
    if entry is not None:
        if "*" not in entry.sources and "same" not in entry.sources:
            sources.append((frozenset(entry.sources), "the catalog"))
        if "*" not in entry.targets and "same" not in entry.targets:
            targets.append((frozenset(entry.targets), "the catalog"))
    if info.targets is not None:
        targets.append((info.targets, "its language tokens"))
        if info.family in ("nllb", "m2m100", "mbart50"):
            # These spell the source language with the same tokens as the target.
            sources.append((info.targets, "its language tokens"))
    if info.family == "marian":
        stated = _marian_pair(folder, model_id)
        src = next(((c, where) for c, _, where in stated if c), None)
        if src is not None:
            sources.append(src)
        tgt = next(((c, where) for _, c, where in stated if c), None)
        # A multi-target model's language tokens say more than its config's one target.
        if tgt is not None and not info.multi_target:
            targets.append(tgt)

    def combine(side: list[tuple[frozenset[str], str]]) -> tuple[frozenset[str] | None, str]:
        if not side:
            return None, ""
        codes = frozenset.intersection(*(c for c, _ in side))
        return codes, " and ".join(dict.fromkeys(o for _, o in side))

    (src_codes, src_from), (tgt_codes, tgt_from) = combine(sources), combine(targets)
    return PairLanguages(src_codes, tgt_codes, src_from, tgt_from)


def _listing(codes: frozenset[str]) -> str:
    return ", ".join(sorted(codes)) if codes else "none of the languages workbench knows"


def check_translates(
    info: ModelInfo, entry: CatalogEntry | None, model_label: str, tgt: str | None = None
) -> None:
    """Raise a ModelError when a model is not a translation model (a summariser, say)."""
    if "summarise" in (info.task, entry.task if entry is not None else None):
        what = info.family
        if info.model_type != info.family:
            what += f" ({info.model_type})"
        if info.family == "t5":
            what += " without <2xx> language tokens"
        into = f" into {tgt}" if tgt else ""
        raise ModelError(
            f"model {model_label} is a summarisation model ({what}) and cannot translate{into}; "
            "it summarises (`workbench summarise`); translate with a translation model "
            "(`workbench models list --task translate`)",
            model=model_label,
        )


def check_pair(
    langs: PairLanguages, model_label: str, src: str, tgt: str, *, detected: bool = False
) -> None:
    """Raise a LanguageError naming the model, the language and what the model can do when
    ``src`` → ``tgt`` is outside what it translates."""
    if langs.targets is not None and tgt not in langs.targets:
        raise LanguageError(
            f"model {model_label} cannot translate into {tgt}; it translates into "
            f"{_listing(langs.targets)} ({langs.targets_from}); choose another --model or --to",
            code=tgt,
        )
    if langs.sources is not None and src not in langs.sources:
        how = " (detected)" if detected else ""
        hint = "; pass --from if the detection is wrong" if detected else ""
        raise LanguageError(
            f"model {model_label} cannot translate from {src}{how}; it translates from "
            f"{_listing(langs.sources)} ({langs.sources_from}); choose a model for "
            f"{src}→{tgt} with --model{hint}",
            code=src,
        )


def control(info: ModelInfo, src: str, tgt: str) -> Control:
    """How to ask a model of this family for ``src`` → ``tgt``."""
    s, t = languages.get(src), languages.get(tgt)
    if info.family == "marian":
        return Control(prefix=f">>{t.iso3}<< " if info.multi_target else "")
    if info.family == "nllb":
        return Control(src_lang=s.nllb, forced_bos_token=t.nllb)
    if info.family == "m2m100":
        return Control(src_lang=s.code, forced_bos_token=f"__{t.code}__")
    if info.family == "mbart50":
        if not s.mbart or not t.mbart:
            missing = src if not s.mbart else tgt
            raise LanguageError(f"mBART-50 has no code for {missing}", code=missing)
        return Control(src_lang=s.mbart, forced_bos_token=t.mbart)
    if info.family == "t5" and info.multi_target:
        return Control(prefix=f"<2{t.code}> ")
    return Control()
