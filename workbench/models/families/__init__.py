"""Model families: how to recognise one from its files and how to ask it for a language.

Families differ only in how source and target languages are spelled and passed: a source
prefix (multi-target Marian ``>>ukr<<``, MADLAD ``<2uk>``), the tokenizer's ``src_lang``, or a
forced first decoder token (NLLB ``ukr_Cyrl``, M2M100 ``__uk__``, mBART-50 ``uk_UA``).
Recognition reads JSON files only, so it is cheap enough for fully cached runs.

Each family is a ``Family`` subclass in a module of this package. The built-in ones are found by
scanning the package on first use (not at import), so adding a family is one new module plus its
catalog entry; a family defined elsewhere is added with ``register``. ``ModelInfo.family`` stays
the family's name, and ``get`` maps it to the family object that answers every family question.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from workbench import languages
from workbench.errors import LanguageError, ModelError

if TYPE_CHECKING:
    from workbench.languages import Lang

#: A config.json key that names a model's family outright; an unregistered name is refused.
FAMILY_KEY = "workbench_family"


@dataclass(frozen=True)
class ModelInfo:
    """What the files say about a model, without loading it."""

    family: str  # a registered family's name: marian | nllb | m2m100 | mbart50 | t5 | bart | chat
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


@dataclass(frozen=True)
class ModelFiles:
    """What recognition reads from a model folder (JSON files only), read once for all families."""

    folder: Path
    config: dict[str, Any]
    model_type: str
    tokenizer_class: str
    max_positions: Any  # max_position_embeddings or n_positions, as config.json states it
    specials: frozenset[str]  # the tokenizer's special and added tokens


#: (sources, targets, where) a model's own files or name state about its pair.
Stated = tuple[frozenset[str] | None, frozenset[str] | None, str]


class Family:
    """One model family: how its files are recognised and how it is asked for a language.

    A subclass sets the class attributes that differ and overrides the methods it needs; the
    defaults describe a family without language tokens that only torch runs.
    """

    #: The name ``ModelInfo.family`` and catalog entries use.
    name: ClassVar[str] = ""
    #: How messages name it ("mBART-50"); the name when empty.
    title: ClassVar[str] = ""
    #: Recognition precedence: families are asked in rising order and the first match wins.
    order: ClassVar[int] = 100
    #: config.json model types it reads (its recognition, and ``relative_positions`` below).
    model_types: ClassVar[frozenset[str]] = frozenset()
    #: The source language is spelled with the target's tokens, so one token list says both.
    source_tokens: ClassVar[bool] = False
    #: CTranslate2 converts and runs it.
    ct2: ClassVar[bool] = False
    #: Its decoder has relative positions (T5 buckets), so no position limit caps generation.
    relative_positions: ClassVar[bool] = False
    #: A prompted (chat) model: the chat backend runs it.
    chat: ClassVar[bool] = False
    #: The template a chat model translates with (``workbench.prompts``); None when unprompted.
    prompt: ClassVar[str | None] = None
    #: The template it translates a sentence with its document's preceding sentences with
    #: (``--context``); None: the family translates sentences alone.
    context_prompt: ClassVar[str | None] = None
    #: What a "cannot translate" message adds about a summariser of this family.
    summariser_note: ClassVar[str] = ""

    def recognise(self, files: ModelFiles) -> ModelInfo | None:
        """The model's ModelInfo when its files are of this family, else None."""
        return None

    def control(self, info: ModelInfo, src: Lang, tgt: Lang) -> Control:
        """How to ask a model of this family for ``src`` → ``tgt``."""
        return Control()

    def spells(self, code: str) -> bool:
        """Whether the family can spell language ``code`` (what a catalog wildcard covers)."""
        return code in languages.LANGUAGES

    def stated_pair(self, folder: Path, model_id: str) -> list[Stated]:
        """The pair the model's own files or name state, strongest first (beyond its tokens)."""
        return []

    def ct2_tokenizer(self, folder: Path) -> Any | None:
        """A sentencepiece tokenizer for CTranslate2 runs, which keeps transformers (and torch)
        out of the process; None: the transformers AutoTokenizer."""
        return None


# --------------------------------------------------------------------------- registry

_REGISTRY: dict[str, Family] = {}
_lock = threading.RLock()
_scanned = False


def _scan() -> None:
    """Register the families defined in this package's modules, once."""
    global _scanned
    with _lock:
        if _scanned:
            return
        for module_info in pkgutil.iter_modules(__path__):
            module = importlib.import_module(f"{__name__}.{module_info.name}")
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, Family)
                    and value.__module__ == module.__name__
                    and value.name
                ):
                    _add(value())
        _scanned = True


def _add(family: Family) -> None:
    if not family.name:
        raise ValueError(f"{type(family).__name__} has no name")
    if family.name in _REGISTRY:
        raise ValueError(f"model family {family.name!r} is already registered")
    _REGISTRY[family.name] = family


def register(family: Family) -> Family:
    """Add a family defined outside this package; its name must be new."""
    with _lock:
        _scan()
        _add(family)
    return family


def unregister(name: str) -> None:
    """Remove a registered family (a no-op for an unknown name)."""
    with _lock:
        _scan()
        _REGISTRY.pop(name, None)


def families() -> list[Family]:
    """Every registered family, in recognition order."""
    _scan()
    return sorted(_REGISTRY.values(), key=lambda f: f.order)


def get(name: str) -> Family:
    """The family of that name; an unknown one is a one-line ModelError."""
    _scan()
    family = _REGISTRY.get(name)
    if family is None:
        raise ModelError(f"model family {name!r} is not supported; workbench runs {_supported()}")
    return family


def relative_positions(model_type: str) -> bool:
    """Whether a config.json model type has a decoder with relative positions."""
    return any(f.relative_positions and model_type in f.model_types for f in families())


def _supported() -> str:
    titles = [f.title or f.name for f in families()]
    listing = ", ".join(titles[:-1]) + " and " + titles[-1] if len(titles) > 1 else "".join(titles)
    return f"{listing} models"


# --------------------------------------------------------------------------- reading files


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


def codes_from(tags: set[str], pattern: re.Pattern[str]) -> frozenset[str]:
    """The languages a family's tags spell (``pattern``'s first group), unknown ones skipped."""
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


def known_codes(value: object) -> frozenset[str] | None:
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


def inspect(folder: Path) -> ModelInfo:
    """Recognise the family of a saved model from its config and tokenizer files."""
    config = read_json(folder / "config.json")
    model_type = str(config.get("model_type", ""))
    if not model_type:
        raise ModelError(f"{folder}/config.json has no model_type; the model folder is corrupt")
    files = ModelFiles(
        folder=folder,
        config=config,
        model_type=model_type,
        tokenizer_class=str(read_json(folder / "tokenizer_config.json").get("tokenizer_class", "")),
        max_positions=config.get("max_position_embeddings") or config.get("n_positions"),
        specials=frozenset(_special_tokens(folder)),
    )
    candidates = families()
    named = config.get(FAMILY_KEY)
    if named is not None:
        # A model that names its family is that family's alone, even when its architecture
        # is another's (a Marian model asked for languages differently, say).
        _scan()
        if str(named) not in _REGISTRY:
            raise ModelError(
                f"{folder}: model family {str(named)!r} (config.json {FAMILY_KEY}) is not "
                f"supported; workbench runs {_supported()}"
            )
        candidates = [_REGISTRY[str(named)]]
    for family in candidates:
        info = family.recognise(files)
        if info is not None:
            return info
    raise ModelError(
        f"{folder}: model type {model_type!r} is not supported; workbench runs {_supported()}"
    )


# --------------------------------------------------------------------------- language pairs


class CatalogEntry(Protocol):
    """What these checks read from a catalog entry (``workbench.models.catalog``)."""

    @property
    def task(self) -> str: ...
    @property
    def sources(self) -> tuple[str, ...]: ...
    @property
    def targets(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class PairLanguages:
    """The languages a model translates from and into, and what says so (for messages).

    ``None`` on a side means nothing workbench can read restricts it.
    """

    sources: frozenset[str] | None = None
    targets: frozenset[str] | None = None
    sources_from: str = ""
    targets_from: str = ""


def pair_languages(
    folder: Path, model_id: str, info: ModelInfo, entry: CatalogEntry | None = None
) -> PairLanguages:
    """What a translation model can do, from the catalog, its language tokens and what its
    family reads from its other files (a single-pair Marian model's tokenizer config, metadata
    or name). Reads JSON only."""
    family = get(info.family)
    sources: list[tuple[frozenset[str], str]] = []
    targets: list[tuple[frozenset[str], str]] = []
    if entry is not None:
        if "*" not in entry.sources and "same" not in entry.sources:
            sources.append((frozenset(entry.sources), "the catalog"))
        if "*" not in entry.targets and "same" not in entry.targets:
            targets.append((frozenset(entry.targets), "the catalog"))
    if info.targets is not None:
        targets.append((info.targets, "its language tokens"))
        if family.source_tokens:
            sources.append((info.targets, "its language tokens"))
    stated = family.stated_pair(folder, model_id)
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
        what += get(info.family).summariser_note
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
    return get(info.family).control(info, s, t)
