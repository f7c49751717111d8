"""`workbench translate` as users run it: CliRunner in-process and a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO, SEEDS
from tests.helpers import assert_structure_kept
from workbench.cli.app import app

runner = CliRunner()


def cli(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def base_args(model: Path) -> list[str]:
    return ["--model", str(model), "--beams", "1", "--backend", "torch", "--no-cache"]


def test_folder_is_mirrored_with_language_in_names(tiny, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli(
        "translate",
        str(SEEDS / "en"),
        "--to",
        "uk",
        "--from",
        "en",
        "--out",
        str(out),
        *base_args(tiny("marian-multi")),
    )
    assert result.exit_code == 0, result.output
    for article in sorted((SEEDS / "en").iterdir()):
        target = out / f"{article.stem}.uk{article.suffix}"
        assert target.is_file()
        assert_structure_kept(article.read_text("utf-8"), target.read_text("utf-8"))
        prov = json.loads(target.with_name(target.name + ".json").read_text("utf-8"))
        assert prov["signature"].startswith("translate|model:marian-multi@")
        assert prov["source_lang"] == "en" and prov["target_lang"] == "uk"
    assert "3 done" in result.output


def test_whole_seeds_folder_with_detection(tiny, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli(
        "translate", str(SEEDS), "--to", "uk", "--out", str(out), *base_args(tiny("marian-multi"))
    )
    # The English-only model refuses the Korean article (detected), and only that one.
    assert result.exit_code == 1, result.output
    assert (out / "en" / "harbour-ferry.uk.md").is_file()
    refused = [line for line in result.output.splitlines() if "error" in line]
    assert len(refused) == 1 and "library-night.md" in refused[0], refused
    assert "marian-multi@" in refused[0] and "from ko (detected)" in refused[0]
    assert not (out / "ko" / "library-night.uk.md").exists()
    # The Ukrainian article is already in Ukrainian: copied, and the detection recorded.
    copied = out / "uk" / "river-cleanup.uk.txt"
    assert copied.read_bytes() == (SEEDS / "uk" / "river-cleanup.txt").read_bytes()
    # No model ran for it: its line says why instead of an empty signature.
    assert "river-cleanup.uk.txt  (already in uk: copied unchanged)" in result.output
    assert "[None]" not in result.output
    prov = json.loads((out / "uk" / "river-cleanup.uk.txt.json").read_text("utf-8"))
    assert prov["source_lang"] == "uk" and prov["detected"] is True


def test_stdin_to_stdout(tiny) -> None:
    text = "The council met on Monday.\n\nhttps://example.org/a\n"
    result = cli(
        "translate", "-", "--to", "uk", "--from", "en", *base_args(tiny("marian-multi")), input=text
    )
    assert result.exit_code == 0, result.output
    assert "https://example.org/a" in result.stdout
    assert result.stdout.count("\n") == text.count("\n")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"  \n\t\n", "whitespace"),
        ("binary.txt", b"\x00\x01\x02PNG\x00", "binary"),
        ("latin1.txt", "Caf\u00e9 au lait.".encode("latin-1"), "UTF-8"),
    ],
)
def test_bad_file_among_good_ones(
    tiny, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    folder = tmp_path / "in"
    shutil.copytree(SEEDS / "en", folder)
    (folder / name).write_bytes(content)
    out = tmp_path / "out"
    result = cli(
        "translate",
        str(folder),
        "--to",
        "uk",
        "--from",
        "en",
        "--out",
        str(out),
        *base_args(tiny("marian-multi")),
    )
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("workbench: error:")]
    assert len(errors) == 1 and name in errors[0] and message in errors[0]
    assert "Traceback" not in result.output
    assert len(list(out.glob("*.uk.*"))) - len(list(out.glob("*.json"))) == 3  # the others finished


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope.md", "--to", "uk"], "nope.md: no such file or folder"),
        (["{seed}", "--to", "xx"], "unknown language code 'xx'"),
        (
            ["{seed}", "--to", "uk", "--model", "org/not-downloaded"],
            "workbench models download org/not-downloaded",
        ),
        (["{seed}", "--to", "uk", "--device", "tpu"], "unknown device 'tpu'"),
    ],
)
def test_user_mistakes_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    seed = str(SEEDS / "en" / "heatwave-grid.txt")
    args = [a.replace("{seed}", seed) for a in args]
    result = cli("translate", *args, "--out", str(tmp_path / "o"), "--from", "en")
    assert result.exit_code in (1, 2)
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert not any(tmp_path.joinpath("o").glob("**/*.txt"))


def test_real_subprocess_and_help(tiny, tmp_path: Path) -> None:
    env = {**os.environ}
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "translate",
            str(SEEDS / "en" / "harbour-ferry.md"),
            "--to",
            "uk",
            "--from",
            "en",
            "--out",
            str(out),
            *base_args(tiny("marian-multi")),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "harbour-ferry.uk.md").is_file()
    assert "translate|model:marian-multi@" in proc.stderr
    helped = subprocess.run(["workbench", "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0 and "translate" in helped.stdout
