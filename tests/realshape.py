"""Real-shaped models and the conformance matrix, shared by tests/test_conformance.py and
bench/conformance.py.

``../shared/realshape/`` (beside the repository, not part of it) holds the real tokenizer and
config files of five public models and ``build.py``, which turns each into a small
random-weight model: real vocabulary, special ids, language tokens, position limits,
generation defaults and chat template. Each is built once per test session.

The matrix says, for every (model, task, engine), what a user must get: ``ok`` (an output that
keeps the document's structure, decoded with the right language token) or a one-line refusal
whose reason is given exactly. ``pending`` marks a row whose behaviour is known to be wrong
today, with what is missing.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: Where the reference files live: beside the repository (a worktree sees it through a link).
REALSHAPE = Path(__file__).resolve().parents[1].parent / "shared" / "realshape"
SKIP_REASON = (
    f"{REALSHAPE} is absent: the real-shaped model files live beside the repository "
    "(../shared/realshape), not in it"
)

#: Folder name -> tokens build.py must find as single tokens.
MODELS: dict[str, str] = {
    "opus-mt-tc-big-en-pt": ">>por<<,>>pob<<",
    "opus-mt-zh-en": "",
    "m2m100_418M": "__en__,__uk__,__ko__",
    "bart-large-cnn": "",
    "qwen2.5-0.5b-instruct": "<|im_start|>,<|im_end|>",
}

#: Opus-mt-tc-big-en-pt ends its outputs with this id, not 0.
EN_PT_EOS = 44670

EN_ARTICLE = """# Harbour ferry returns after repairs

The city council approved the new ferry budget on Tuesday after a long debate.

Engineers published the repair report at https://example.org/ferry/report for residents.

- The ferry runs every hour from the old pier.
- Tickets cost two euros for adults and one for children.
"""

ZH_ARTICLE = """港口渡轮修复后恢复运行

市议会星期二批准了新的渡轮预算。

工程师在 https://example.org/ferry/report 公布了维修报告。
"""


def available() -> bool:
    return (REALSHAPE / "build.py").is_file() and all((REALSHAPE / m).is_dir() for m in MODELS)


def _builder() -> Any:
    spec = importlib.util.spec_from_file_location("realshape_build", REALSHAPE / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(name: str, root: Path) -> Path:
    """Build the small random-weight model of ``name`` under ``root`` (once per root)."""
    out = root / name
    if (out / "realshape.json").is_file() and (out / "model.safetensors").is_file():
        return out
    argv = [str(REALSHAPE / name), str(out)]
    if MODELS[name]:
        argv += ["--expect-tokens", MODELS[name]]
    status = _builder().main(argv)
    if status != 0:
        raise RuntimeError(f"build.py could not build {name} (exit {status}); see its output")
    return out


def eos_at_once(folder: Path, dest: Path, eos_id: int) -> Path:
    """A copy of a built Marian/BART model whose first generated token is always ``eos_id``.

    Random weights never end a segment, so they cannot show whether the engine stops at the
    model's own EOS; a large logit bias on that one id makes every output end at once.
    """
    if (dest / "model.safetensors").is_file():
        return dest
    from safetensors.torch import load_file, save_file

    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(folder, tmp)
    weights = load_file(str(tmp / "model.safetensors"))
    weights["final_logits_bias"][..., eos_id] = 1.0e4
    save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    tmp.rename(dest)
    return dest


# --- the matrix ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One (model, task, engine) and what a user must get from it."""

    model: str
    task: str  # the label in the table
    command: str  # translate | summarise
    engine: str  # torch | ctranslate2
    args: tuple[str, ...]
    doc: str  # "en" or "zh"
    expect: str  # "ok", or the exact reason fragment of the refusal
    language_tokens: tuple[tuple[str, str], ...] = ()  # (target, token) used for it
    pending: str | None = None  # known wrong today: what is missing

    @property
    def id(self) -> str:
        return f"{self.model}|{self.task}|{self.engine}"


ENGINES = ("torch", "ctranslate2")
NOT_SUMMARISER = "is a translation model, not a summariser"
NO_CT2_CHAT = "--backend ctranslate2 does not run chat models; use --backend torch"
SHORT = ("--beams", "1")  # the models' own beams are checked separately; this keeps runs short
SUMMARY = ("--beams", "1", "--sentences", "1", "--tokens", "24")


def _cases() -> list[Case]:
    rows: list[Case] = []
    for engine in ENGINES:
        rows += [
            Case("opus-mt-tc-big-en-pt", "translate en→pt", "translate", engine,
                 ("--from", "en", "--to", "pt", *SHORT), "en", "ok", (("pt", ">>por<<"),)),
            Case("opus-mt-tc-big-en-pt", "translate en→uk", "translate", engine,
                 ("--from", "en", "--to", "uk", *SHORT), "en",
                 "cannot translate into uk; it translates into pt"),
            Case("opus-mt-tc-big-en-pt", "summarise", "summarise", engine, SUMMARY, "en",
                 NOT_SUMMARISER),
            # No --beams: the model has no generation_config.json, its beams come from config.json.
            Case("opus-mt-zh-en", "translate zh→en", "translate", engine,
                 ("--from", "zh", "--to", "en"), "zh", "ok", (("en", ""),)),
            Case("opus-mt-zh-en", "translate zh→ko", "translate", engine,
                 ("--from", "zh", "--to", "ko", *SHORT), "zh", "cannot translate into ko; it translates into en"),
            Case("m2m100_418M", "translate en→uk,ko", "translate", engine,
                 ("--from", "en", "--to", "uk,ko", *SHORT), "en", "ok",
                 (("uk", "__uk__"), ("ko", "__ko__"))),
            Case("m2m100_418M", "summarise", "summarise", engine, SUMMARY, "en", NOT_SUMMARISER),
            Case("bart-large-cnn", "summarise", "summarise", engine, SUMMARY, "en",
                 "ok" if engine == "torch"
                 else "--backend ctranslate2 does not run bart summarisers; use --backend torch"),
            Case("bart-large-cnn", "translate en→uk", "translate", engine,
                 ("--from", "en", "--to", "uk", *SHORT), "en", "is a summarisation model (bart) and cannot translate into uk"),
            Case("qwen2.5-0.5b-instruct", "summarise (chat)", "summarise", engine, SUMMARY, "en",
                 "ok" if engine == "torch" else NO_CT2_CHAT),
            Case("qwen2.5-0.5b-instruct", "translate en→uk (chat)", "translate", engine,
                 ("--from", "en", "--to", "uk", *SHORT), "en",
                 "ok" if engine == "torch" else NO_CT2_CHAT, (("uk", ""),)),
        ]  # fmt: skip
    return rows


CASES: list[Case] = _cases()


def refused_as_expected(expect: str, status: str) -> bool:
    """Whether a refusal line says what ``expect`` says: every ``; ``-separated part of it, in
    order (a folder run names the files it stopped between the cause and the advice)."""
    at = 0
    for part in expect.split("; "):
        at = status.find(part, at)
        if at < 0:
            return False
        at += len(part)
    return True


@dataclass
class Outcome:
    """What one case gave: ``ok``, or the one line that refused it."""

    status: str  # "ok" or the error line without its prefix
    exit_code: int
    output: str
    outputs: dict[str, Path]  # target language (or "summary") -> output file


def write_doc(case: Case, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("article.md" if case.doc == "en" else "article.txt")
    path.write_text(EN_ARTICLE if case.doc == "en" else ZH_ARTICLE, encoding="utf-8")
    return path


def command(case: Case, model: Path, doc: Path, out: Path) -> list[str]:
    return [case.command, str(doc), "--model", str(model), "--backend", case.engine,
            "--no-cache", "--quiet", "--out", str(out), *case.args]  # fmt: skip


def outcome(
    case: Case, invoke: Callable[[list[str]], tuple[int, str]], model: Path, work: Path
) -> Outcome:
    """Run one case through ``invoke(argv) -> (exit code, combined output)``."""
    doc = write_doc(case, work / "in")
    out = work / "out"
    code, text = invoke(command(case, model, doc, out))
    errors = [line for line in text.splitlines() if line.startswith("workbench: error:")]
    files = {}
    for f in sorted(out.glob("article.*")):
        if not f.name.endswith(".json"):
            files[f.name.split(".")[-2]] = f
    if code == 0 and not errors:
        return Outcome("ok", code, text, files)
    reason = errors[0].removeprefix("workbench: error:").strip() if errors else text.strip()[-300:]
    return Outcome(reason, code, text, files)


def provenance(path: Path) -> dict[str, Any]:
    return json.loads(path.with_name(path.name + ".json").read_text("utf-8"))


@pytest.fixture(scope="session", name="realshape")
def realshape_fixture(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``realshape("m2m100_418M")`` → folder of its small random-weight model (built once)."""
    if not available():
        pytest.skip(SKIP_REASON)
    root = tmp_path_factory.mktemp("realshape")

    def get(name: str) -> Path:
        return build(name, root)

    return get
