"""What users read when something is wrong: one line per cause, naming the file and what to do,
with the README's exit codes (1: some documents failed, 2: the command could not run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO, SEEDS
from workbench import Workbench
from workbench.cli.app import app
from workbench.cli.run_cmd import MAX_NAMED, error_lines
from workbench.errors import ModelError, WorkbenchError
from workbench.models.resolve import model_id
from workbench.runs.report import Row

runner = CliRunner()
ARTICLE = SEEDS / "en" / "harbour-ferry.md"
SHA = "0123456789abcdef0123456789abcdef01234567"
TOKENIZER_FILES = ("source.spm", "target.spm", "vocab.json", "tokenizer_config.json")


def cli(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def error_lines_of(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("workbench: error:")]


# --- the quick start without models -------------------------------------------------------------


def test_quick_start_without_models_is_one_line_per_model_naming_the_files(tmp_path: Path) -> None:
    """The README's first command, offline with an empty cache: one line for each missing
    model, naming the documents it stopped and the command that fetches it."""
    result = cli("translate", str(SEEDS), "--to", "ko,uk", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    errors = error_lines_of(result.output)
    assert len(errors) == 2, result.output
    for model in ("facebook/m2m100_418M", "Helsinki-NLP/opus-mt-tc-big-en-zle"):
        (line,) = [e for e in errors if f"model {model} is" in e]
        assert "offline mode is on (HF_HUB_OFFLINE=1)" in line
        assert f"`workbench models download {model}`" in line
    # Every English article needs both models; each file is named with the language it missed.
    for path in (SEEDS / "en").iterdir():
        assert sum(str(path) in e for e in errors) == 2
    assert "Error" not in result.output.replace("error:", "")  # no exception class names
    assert "Traceback" not in result.output


def test_error_lines_group_causes_and_name_files() -> None:
    model_error = "model m is not cached (x); fetch it with `workbench models download m`"
    rows = [Row(f"news/{i}.md", "translate", "ko", error=model_error) for i in range(12)]
    rows += [
        Row("news/a.md", "translate", "uk", error="news/a.md: is empty; there is no text"),
        Row("news/b.md", "translate", "uk", error="news/b.md: is empty; there is no text"),
    ]
    lines = error_lines(rows)
    assert lines[0] == (
        "workbench: error: model m is not cached (x): "
        + ", ".join(f"news/{i}.md (ko)" for i in range(MAX_NAMED))
        + f" and {12 - MAX_NAMED} more (see the manifest)"
        + "; fetch it with `workbench models download m`"
    )
    assert (
        lines[1] == "workbench: error: news/a.md (uk), news/b.md (uk): is empty; there is no text"
    )
    assert len(lines) == 2
    # One language in the run: no language after each name.
    assert error_lines(rows[:1]) == [
        "workbench: error: model m is not cached (x): news/0.md; fetch it with "
        "`workbench models download m`"
    ]


def test_unreachable_hub_says_so_without_exception_names(tmp_path: Path) -> None:
    """Online mode, but the hub does not answer (a closed local port stands in for it)."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "0",
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "PYTHONPATH": str(REPO),
        "HF_HUB_ETAG_TIMEOUT": "2",
        "HF_HUB_DOWNLOAD_TIMEOUT": "2",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "models", "download", "org/not-cached"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        "workbench: error: model org/not-cached is not in the local Hugging Face cache"
    )
    assert "the hub cannot be reached" in proc.stderr
    assert "NotFoundError" not in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_models_download_offline_says_offline_mode_is_on() -> None:
    result = cli("models", "download", "org/some-model")
    assert result.exit_code == 2
    (line,) = error_lines_of(result.output)
    assert "offline mode is on (HF_HUB_OFFLINE=1)" in line
    assert "`HF_HUB_OFFLINE=0 workbench models download org/some-model`" in line
    assert "network" not in line


# --- models that cannot be used ------------------------------------------------------------------


def _without_tokenizer(tiny, tmp_path: Path) -> Path:
    folder = tmp_path / "no-tokenizer"
    shutil.copytree(tiny("marian-multi"), folder)
    for name in TOKENIZER_FILES:
        (folder / name).unlink()
    return folder


@pytest.mark.parametrize("task", ["translate", "summarise"])
def test_folder_without_tokenizer_is_refused_by_name(tiny, tmp_path: Path, task: str) -> None:
    folder = _without_tokenizer(tiny, tmp_path)
    args = ["--to", "uk"] if task == "translate" else []
    result = cli(task, str(SEEDS / "en"), *args, "--model", str(folder), "--out", str(tmp_path))
    assert result.exit_code == 2  # nothing could run
    (line,) = error_lines_of(result.output)
    assert f"model folder {folder} has no tokenizer files" in line
    assert "tokenizer.json" in line and ".spm" in line and "vocab.json" in line
    assert "TypeError" not in result.output and "shorten" not in result.output
    with pytest.raises(ModelError, match="has no tokenizer files"):
        Workbench(cache=False).translate("Hello there.", to="uk", src="en", model=str(folder))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["translate", "{seeds}", "--to", "uk", "--model", "{missing}"], "does not exist"),
        (["summarise", "{seeds}", "--model", "{missing}"], "does not exist"),
        (["summarise", "{seeds}", "--lang", "uk", "--translation-model", "{missing}"], "exist"),
        (["translate", "{seeds}", "--to", "uk", "--model", "{file}"], "is a file"),
        (["translate", "{seeds}", "--to", "uk", "--model", "org/not-cached"], "offline mode"),
        (["translate", "{seeds}", "--to", "uk", "--model", "bad id!"], "neither a folder"),
    ],
)
def test_model_no_document_can_use_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    values = {"{seeds}": str(SEEDS), "{missing}": str(tmp_path / "nope"), "{file}": str(ARTICLE)}
    result = cli(*[values.get(a, a) for a in args], "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    (line,) = error_lines_of(result.output)
    assert message in line
    assert not (tmp_path / "out").exists()


def test_corrupt_weights_on_ctranslate2_say_download_again(tiny, tmp_path: Path) -> None:
    pytest.importorskip("ctranslate2")
    folder = tmp_path / "corrupt"
    shutil.copytree(tiny("marian-multi"), folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    wb = Workbench(cache=False, backend="ctranslate2", beams=1)
    with pytest.raises(ModelError) as err:
        wb.translate("The council met on Monday.", to="uk", src="en", model=str(folder))
    message = str(err.value)
    assert "download or save the model again" in message and str(folder) in message
    assert "--backend torch" not in message


# --- summarising ---------------------------------------------------------------------------------


def test_summarise_errors_say_summarise(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="nothing to summarise"):
        Workbench(cache=False).summarise("   \n", model="lead")
    empty = tmp_path / "empty.md"
    empty.write_text("")
    result = cli("summarise", str(empty), "--model", "lead", "--out", str(tmp_path / "o"))
    assert result.exit_code == 1
    assert "translate" not in result.output
    assert f"{empty}: is empty" in result.output


def test_summarise_documents_takes_paths_and_texts(tmp_path: Path) -> None:
    text = (SEEDS / "en" / "heatwave-grid.txt").read_text("utf-8")
    results = Workbench(cache=False).summarise_documents(
        [ARTICLE, str(SEEDS / "en" / "chess-prodigy.md"), tmp_path / "missing.md", text],
        model="lead",
        sentences=2,
    )
    assert [r.ok for r in results] == [True, True, False, True]
    assert results[0].path == str(ARTICLE) and results[0].sentence_count == 2
    assert "missing.md: no such file" in (results[2].error or "")


# --- the cache commands --------------------------------------------------------------------------


def test_cache_errors_use_the_common_prefix_and_exit_2() -> None:
    for args in (["cache", "show", "zz"], ["cache", "clear"]):
        result = cli(*args)
        assert result.exit_code == 2
        assert result.output.startswith("workbench: error: ")


def test_cache_clear_and_ls_take_a_model_folder(tiny, tmp_path: Path) -> None:
    folder = tmp_path / "my-marian"
    shutil.copytree(tiny("marian-multi"), folder)
    cache = tmp_path / "cache.sqlite3"
    with Workbench(cache=cache, backend="torch", beams=1) as wb:
        result = wb.translate("The council met on Monday.", to="uk", src="en", model=str(folder))
    listed = cli("cache", "ls", "--cache", str(cache), "--model", str(folder))
    assert listed.exit_code == 0
    assert result.signature and result.signature in listed.output  # signatures are shown
    nothing = cli("cache", "clear", "--cache", str(cache), "--model", str(tmp_path / "other"))
    assert nothing.exit_code == 0
    assert "removed 0 entries" in nothing.output
    assert "no entries are stored under the model 'other'" in nothing.output
    assert "my-marian" in nothing.output  # what the cache does hold
    cleared = cli("cache", "clear", "--cache", str(cache), "--model", str(folder) + "/")
    assert cleared.exit_code == 0
    removed = int(cleared.output.split()[1])
    assert removed >= 2  # the document and its segments
    assert cli("cache", "ls", "--cache", str(cache)).output.strip() == ""


def test_model_id_of_a_snapshot_folder_is_its_hub_id(tmp_path: Path) -> None:
    snap = tmp_path / "hub" / "models--org--name" / "snapshots" / SHA
    snap.mkdir(parents=True)
    assert model_id(str(snap)) == "org/name"
    assert model_id("org/name") == "org/name"
    assert model_id(str(tmp_path / "hub")) == "hub"


# --- quiet model loading -------------------------------------------------------------------------


@pytest.mark.parametrize("quiet", [False, True])
def test_model_loading_is_quiet_off_a_terminal(tiny, tmp_path: Path, quiet: bool) -> None:
    """stderr is a pipe here: no library bars or warnings, only workbench's own lines."""
    args = [
        sys.executable,
        "-m",
        "workbench",
        "translate",
        str(SEEDS / "en" / "heatwave-grid.txt"),
        "--to",
        "uk",
        "--from",
        "en",
        "--model",
        str(tiny("marian-multi")),
        "--backend",
        "torch",
        "--beams",
        "1",
        "--no-cache",
        "--out",
        str(tmp_path / "out"),
        *(["-q"] if quiet else []),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Loading weights" not in proc.stderr and "it/s" not in proc.stderr
    lines = proc.stderr.splitlines()
    if quiet:
        assert lines == []
    else:
        assert len(lines) == 2 and lines[1].startswith("1 done"), proc.stderr


def test_summary_language_warning_names_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    from workbench.cli.summarise_cmd import _notes
    from workbench.tasks.summarise import SummaryResult

    result = SummaryResult(lang="en", output_lang="ko", lang_mismatch=True, path="news/a.md")
    _notes(result, quiet=False)
    assert capsys.readouterr().err == ("  warning: news/a.md: the summary looks like ko, not en\n")
