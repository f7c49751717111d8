"""The family registry: every built-in family is found, recognition is unchanged, and adding a
family is one module (here a class in this file) plus a catalog entry."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Callable, Iterator
from dataclasses import astuple
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import SEEDS
from tests.tinymodels import FAMILY_BUILDS, MARIAN_LANG_TOKENS, build
from workbench import Workbench, languages
from workbench.cli.app import app
from workbench.errors import LanguageError, ModelError
from workbench.languages import Lang
from workbench.models import families
from workbench.models.catalog import Catalog
from workbench.models.families import (
    FAMILY_KEY,
    Control,
    ModelFiles,
    ModelInfo,
    codes_from,
    inspect,
    read_json,
)
from workbench.models.families.marian import Marian

EN = SEEDS / "en" / "harbour-ferry.md"
BUILT_IN = ("marian", "nllb", "m2m100", "mbart50", "t5", "bart", "chat")
SUPPORTED = "Marian, NLLB, M2M100, mBART-50, T5/MADLAD, BART/PEGASUS and chat (causal) models"

# --- built-in families ----------------------------------------------------------------------


def test_every_built_in_family_is_found_by_scanning_the_package() -> None:
    assert [f.name for f in families.families()] == list(BUILT_IN)  # recognition order
    # One module per family, and nothing else in the package.
    modules = [m.name for m in pkgutil.iter_modules(families.__path__)]
    assert sorted(modules) == sorted(BUILT_IN)
    for name in modules:
        module = importlib.import_module(f"workbench.models.families.{name}")
        assert type(families.get(name)).__module__ == module.__name__


@pytest.mark.parametrize(
    ("name", "ct2", "relative", "chat", "source_tokens", "prompt"),
    [
        ("marian", True, False, False, False, None),
        ("nllb", True, False, False, True, None),
        ("m2m100", True, False, False, True, None),
        ("mbart50", False, False, False, True, None),
        ("t5", True, True, False, False, None),
        ("bart", False, False, False, False, None),
        ("chat", False, False, True, False, "translate-chat"),
    ],
)
def test_what_each_family_says(
    name: str, ct2: bool, relative: bool, chat: bool, source_tokens: bool, prompt: str | None
) -> None:
    family = families.get(name)
    assert (family.ct2, family.relative_positions, family.chat) == (ct2, relative, chat)
    assert (family.source_tokens, family.prompt) == (source_tokens, prompt)


def test_relative_positions_by_model_type() -> None:
    assert [
        t for t in ("t5", "mt5", "umt5", "marian", "bart") if families.relative_positions(t)
    ] == [
        "t5",
        "mt5",
        "umt5",
    ]


ALL = frozenset(languages.LANGUAGES)
MBART = frozenset(c for c, lang in languages.LANGUAGES.items() if lang.mbart)
T5_TARGETS = frozenset({"en", "ko", "uk", "ru", "be"})


TABLE = [
    ("marian", ModelInfo("marian", "marian", "translate", None, False, 512)),
    (
        "marian-multi",
        ModelInfo("marian", "marian", "translate", frozenset({"uk", "ru", "be"}), True, 512),
    ),
    ("nllb", ModelInfo("nllb", "m2m_100", "translate", ALL, False, 1024)),
    ("m2m100", ModelInfo("m2m100", "m2m_100", "translate", ALL, False, 1024)),
    ("mbart50", ModelInfo("mbart50", "mbart", "translate", MBART, False, 1024)),
    ("t5", ModelInfo("t5", "t5", "translate", T5_TARGETS, True, None)),
    ("mt5-sum", ModelInfo("t5", "mt5", "summarise", None, False, None)),
    ("bart-sum", ModelInfo("bart", "bart", "summarise", None, False, 1024)),
    ("chat", ModelInfo("chat", "qwen2", "chat", None, False, 32768)),
]


@pytest.mark.parametrize(("build_name", "expected"), TABLE)
def test_inspect_recognises_every_tiny_family_as_before(
    build_name: str, expected: ModelInfo, tiny: Callable[[str], Path]
) -> None:
    assert astuple(inspect(tiny(build_name))) == astuple(expected)


def test_the_table_covers_every_tiny_build() -> None:
    assert [name for name, _ in TABLE] == list(FAMILY_BUILDS)


@pytest.mark.parametrize(
    ("config", "tokenizer_class", "expected"),
    [
        ({"model_type": "m2m_100"}, "NllbTokenizerFast", ("nllb", "translate")),
        ({"model_type": "m2m_100"}, "M2M100Tokenizer", ("m2m100", "translate")),
        ({"model_type": "mbart"}, "MBart50TokenizerFast", ("mbart50", "translate")),
        ({"model_type": "mbart"}, "MBartTokenizer", ("bart", "summarise")),
        ({"model_type": "pegasus"}, "", ("bart", "summarise")),
        ({"model_type": "led"}, "", ("bart", "summarise")),
        ({"model_type": "umt5"}, "", ("t5", "summarise")),
        ({"model_type": "llama"}, "", ("chat", "chat")),
        ({"model_type": "olmo", "architectures": ["OlmoForCausalLM"]}, "", ("chat", "chat")),
        # The model type wins over a causal architecture (Marian has a ForCausalLM head too).
        (
            {"model_type": "marian", "architectures": ["MarianForCausalLM"]},
            "",
            ("marian", "translate"),
        ),
    ],
)
def test_recognition_precedence_is_kept(
    config: dict[str, object], tokenizer_class: str, expected: tuple[str, str], tmp_path: Path
) -> None:
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": tokenizer_class})
    )
    info = inspect(tmp_path)
    assert (info.family, info.task) == expected


def test_an_unknown_model_type_is_refused_naming_every_family(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "fsmt"}))
    with pytest.raises(ModelError) as err:
        inspect(tmp_path)
    assert (
        str(err.value)
        == f"{tmp_path}: model type 'fsmt' is not supported; workbench runs {SUPPORTED}"
    )
    with pytest.raises(ModelError, match=r"model family 'nope' is not supported"):
        families.get("nope")


# --- a new family: one class, one catalog entry -------------------------------------------------

TAG = re.compile(r"^<<([a-z]{3})>>$")


class TaggedMarian(Marian):
    """Marian weights asked for a target by a ``<<ukr>>`` source prefix instead of ``>>ukr<<``.

    Its config.json names the family (``workbench_family``), so it is never taken for Marian.
    """

    name = "tagged-marian"
    title = "tagged Marian"
    ct2 = False  # the sentencepiece tokenizer CTranslate2 runs with would split <<ukr>>

    def recognise(self, files: ModelFiles) -> ModelInfo | None:
        if files.config.get(FAMILY_KEY) != self.name or files.model_type not in self.model_types:
            return None
        codes = codes_from(set(read_json(files.folder / "vocab.json")), TAG)
        return ModelInfo(
            self.name,
            files.model_type,
            "translate",
            codes or None,
            bool(codes),
            files.max_positions,
        )

    def control(self, info: ModelInfo, src: Lang, tgt: Lang) -> Control:
        return Control(prefix=f"<<{tgt.iso3}>> ")


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A multi-target Marian model whose language tags are ``<<ukr>>`` and whose config.json
    names the tagged-marian family."""
    folder = build("marian-multi", tmp_path_factory.mktemp("tagged") / "tagged-en-zle")
    vocab = read_json(folder / "vocab.json")
    renamed = {f"<<{t[2:-2]}>>": t for t in MARIAN_LANG_TOKENS}
    vocab = {
        next((new for new, old in renamed.items() if old == k), k): i for k, i in vocab.items()
    }
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tok = read_json(folder / "tokenizer_config.json")
    tok["additional_special_tokens"] = sorted(renamed)  # kept whole, with their vocab.json ids
    (folder / "tokenizer_config.json").write_text(json.dumps(tok), encoding="utf-8")
    config = read_json(folder / "config.json")
    config[FAMILY_KEY] = TaggedMarian.name
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.fixture
def registered() -> Iterator[TaggedMarian]:
    family = families.register(TaggedMarian())
    yield family
    families.unregister(family.name)


def user_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[[model]]\nid = "tagged-en-zle"\ntask = "translate"\nfamily = "tagged-marian"\n'
        'sources = ["en"]\ntargets = ["uk", "ru"]\nmulti_target = true\nlicence = "MIT"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("WORKBENCH_CATALOG", str(catalog))
    return catalog


def test_a_registered_family_translates_through_the_api(
    tiny: Callable[[str], Path],
    tagged: Path,
    registered: TaggedMarian,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user_catalog(tmp_path, monkeypatch)
    assert Catalog.load().get("tagged-en-zle").family == "tagged-marian"
    info = inspect(tagged)
    assert astuple(info) == astuple(
        ModelInfo("tagged-marian", "marian", "translate", frozenset({"uk", "ru", "be"}), True, 512)
    )
    assert inspect(tiny("marian-multi")).family == "marian"  # Marian models stay Marian
    wb = Workbench(cache=False, backend="torch", beams=1)
    result = wb.translate(EN, "uk", src="en", model=str(tagged))
    assert result.ok and result.language_token == "<<ukr>>"
    assert result.segments and all(pair.target.strip() for pair in result.segments)
    assert result.backend is not None and result.backend.startswith("torch")
    # The catalog entry bounds it (be is among its tokens but not in the entry).
    with pytest.raises(LanguageError, match=r"cannot translate into be; it translates into ru, uk"):
        wb.translate(EN, "be", src="en", model=str(tagged))


def test_the_prefix_reaches_the_model_as_one_token(tagged: Path, registered: TaggedMarian) -> None:
    from workbench.models.pool import ModelPool
    from workbench.settings import GenerationSettings, RunSettings

    pool = ModelPool(RunSettings(backend="torch"))
    resolved = pool.resolve(str(tagged))
    backend = pool.backend(resolved)
    backend._ensure_loaded()
    plan = pool.plan_translation(resolved, "en", "ru", GenerationSettings())
    ctl, forced = backend._control(plan)
    assert (ctl.prefix, forced) == ("<<rus>> ", None)
    vocab = read_json(tagged / "vocab.json")
    assert backend._encode([ctl.prefix + "The ferry left."])[0][0] == vocab["<<rus>>"]


def test_an_unregistered_family_is_refused_in_one_line(
    tagged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = (
        f"{tagged}: model family 'tagged-marian' (config.json {FAMILY_KEY}) is not supported; "
        f"workbench runs {SUPPORTED}"
    )
    with pytest.raises(ModelError) as err:
        Workbench(cache=False, backend="torch").translate(EN, "uk", src="en", model=str(tagged))
    assert str(err.value) == expected
    args = ["translate", "-", "--to", "uk", "--from", "en", "--model", str(tagged), "--no-cache"]
    result = CliRunner().invoke(app, args, input="The council met on Monday.\n")
    assert result.exit_code != 0 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"workbench: error: {expected}"]
    # Its catalog entry is refused too: the family is unknown.
    user_catalog(tmp_path, monkeypatch)
    with pytest.raises(ModelError, match=r"unknown family 'tagged-marian'; use one of marian, "):
        Catalog.load()


def test_registering_a_taken_name_is_refused() -> None:
    with pytest.raises(ValueError, match="'marian' is already registered"):
        families.register(Marian())
