"""The README runs as written: its shell commands, Python snippets and TOML examples, from a
copy of the repository's sample articles, exactly as a new user would paste them.

Hub models are tiny local models laid out in a Hugging Face cache under the hub ids the README
names (as ``huggingface_hub`` lays them out), offline; ``~`` is a scratch home holding the model
folder the README points at. A user catalog there (a README feature too) lowers the summarisers'
beams and token bounds, so random tiny models finish in seconds. Commands that need the network,
a cluster or minutes of CPU are listed in NOT_RUN with the reason; the rest all run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS

README = REPO / "README.md"
SHA = "0123456789abcdef0123456789abcdef01234567"

#: Hub ids the README names, and the tiny family standing in for each.
HUB_MODELS = {
    "Helsinki-NLP/opus-mt-tc-big-en-zle": "marian-multi",
    "facebook/m2m100_418M": "m2m100",
    "facebook/nllb-200-distilled-600M": "nllb",
    "csebuetnlp/mT5_multilingual_XLSum": "mt5-sum",
    "facebook/bart-large-cnn": "bart-sum",
    "Qwen/Qwen2.5-0.5B-Instruct": "chat",
}
#: The model folder of the README's "Local model folders" example (under the scratch home).
HOME_MODELS = {"models/opus-mt-tc-big-en-zle": "marian-multi"}

#: Commands that are not run, by a piece of their text, with the reason.
NOT_RUN = {
    "pip install": "installs packages from PyPI: needs the network (this test runs installed code)",
    "pytest": "the test suite itself",
    "ruff check .": "the linter: run by CI on the repository, not a product command",
    "python bench/": "benchmarks take minutes and rewrite BENCHMARKS.md (their options are checked)",
    "--address ray://": "needs a Ray cluster at that address (its options are checked)",
    "models download csebuetnlp": "downloads from the hub (the offline message is tested elsewhere)",
    "translate https://": "fetches a web page: needs the network (tests/test_web.py serves pages)",
    "summarise https://": "fetches a web page: needs the network (tests/test_web.py serves pages)",
}
#: Values in the README that stand for something only a real run knows, and what replaces them.
KEY_PREFIX = "3f2a9c"  # `cache show 3f2a9c`: a key prefix, taken from `cache ls --json`
#: Words marking an inline command as a pattern (``models download ID``), not a command.
PLACEHOLDER = re.compile(r"\b(ID|NAME|DIR|PATH|KEY|M|N|AGE)\b|<|…|\.\.\.")


@dataclass
class Command:
    text: str  # as written in the README
    comment: str  # the text after `#`, where the README says what the command makes


def fenced(text: str) -> list[tuple[str, str]]:
    """Every fenced block as (language, body)."""
    return [(m[1], m[2]) for m in re.finditer(r"```(\w*)\n(.*?)```", text, flags=re.S)]


def shell_commands() -> list[Command]:
    out = []
    for lang, body in fenced(README.read_text("utf-8")):
        if lang != "bash":
            continue
        for line in body.splitlines():
            command, _, comment = line.partition("  #")
            if command.strip():
                out.append(Command(command.strip(), comment.strip()))
    return out


def inline_commands() -> list[str]:
    """Commands quoted in the prose (`workbench …`), outside the fenced blocks."""
    prose = re.sub(r"```.*?```", "", README.read_text("utf-8"), flags=re.S)
    found = re.findall(r"`((?:[A-Z_]+=\S+ )?(?:workbench|python|pip) [^`]*)`", prose)
    return list(dict.fromkeys(found))


def not_run(part: str) -> str | None:
    return next((why for piece, why in NOT_RUN.items() if piece in part), None)


# --- the scratch world the README runs in ---------------------------------------------------------


def _lay_out(folder: Path, repo_id: str, hub: Path) -> None:
    root = hub / ("models--" + repo_id.replace("/", "--"))
    snap = root / "snapshots" / SHA
    shutil.copytree(folder, snap)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(SHA)
    _greedy(snap)


def _greedy(folder: Path) -> None:
    # Greedy decoding by default: random tiny weights gain nothing from beams.
    config = folder / "generation_config.json"
    if config.is_file():
        data = json.loads(config.read_text("utf-8"))
        data["num_beams"] = 1
        config.write_text(json.dumps(data), "utf-8")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)


def _user_catalog(path: Path) -> None:
    """The shipped entries of the README's summarisers with small beams and token bounds."""
    shipped = tomllib.loads((REPO / "workbench" / "models" / "catalog.toml").read_text("utf-8"))
    lines = []
    for entry in shipped["model"]:
        if entry["id"] not in HUB_MODELS or entry.get("task") == "translate":
            continue
        generation = dict(entry.pop("generation", {}))
        generation.update(beams=1, max_new_tokens=16)
        lines.append("[[model]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items()]
        lines.append("[model.generation]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in generation.items()]
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), "utf-8")


@pytest.fixture(scope="module")
def world(tiny, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A folder like the repository's root (with its sample articles), and the environment.

    Shared by the tests of this module, as one user's machine: later commands may find earlier
    results in the cache, as they would.
    """
    tmp_path = tmp_path_factory.mktemp("readme")
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(SEEDS, root / "seeds")
    shutil.copytree(REPO / "references", root / "references")  # for `workbench eval`
    shutil.copytree(REPO / "prompts" / "glossary", root / "prompts" / "glossary")  # --glossary
    home = tmp_path / "home"
    hub = tmp_path / "hf-hub"
    for repo_id, family in HUB_MODELS.items():
        _lay_out(tiny(family), repo_id, hub)
    for rel, family in HOME_MODELS.items():
        shutil.copytree(tiny(family), home / rel)
        _greedy(home / rel)
    _user_catalog(home / ".cache" / "workbench" / "catalog.toml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "workbench"  # the console script, running this checkout
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m workbench "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WORKBENCH_", "XDG_")) and k not in ("HF_HOME", "PYTHONSTARTUP")
    }
    env.update(
        HOME=str(home),
        HF_HUB_CACHE=str(hub),
        HF_HUB_OFFLINE="1",
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(REPO),
    )
    # The README's TOML examples, where it says they go.
    for lang, body in fenced(README.read_text("utf-8")):
        if lang != "toml":
            continue
        first = body.splitlines()[0]
        if first.startswith("# ") and first.endswith(".toml"):  # a job file, named on line 1
            (root / first[2:]).write_text(body, "utf-8")
        elif body.startswith("name = "):  # a prompt template
            name = tomllib.loads(body)["name"]
            prompts = home / ".cache" / "workbench" / "prompts"
            prompts.mkdir(parents=True, exist_ok=True)
            (prompts / f"{name}.toml").write_text(body, "utf-8")
    return root, env


def sh(command: str, root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True, timeout=900
    )


def check_ran(command: str, proc: subprocess.CompletedProcess[str]) -> list[str]:
    """What is wrong with a command's run, as lines for the failure report."""
    problems = []
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        problems.append(f"exit {proc.returncode}")
    if "Traceback" in output or "workbench: error" in output:
        problems.append("an error was printed")
    return [f"{command}: {p}\n{output[-2000:]}" for p in problems]


def check_help(part: str, env: dict[str, str]) -> list[str]:
    """A command not run still names a command that exists, with options it has."""
    words = [w for w in part.split() if not re.fullmatch(r"[A-Z_]+=\S*", w)]  # no VAR=value
    if words[0] == "workbench":
        path = [w for w in words[1:3] if re.fullmatch(r"[a-z]+", w)]
        argv = [sys.executable, "-m", "workbench", *path, "--help"]
    elif words[0] == "python" and words[1].startswith("bench/"):
        argv = [sys.executable, str(REPO / words[1]), "--help"]
    else:
        return []
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return [f"{part}: `{' '.join(argv[2:])}` exits {proc.returncode}\n{proc.stderr[-1000:]}"]
    options = [w.split("=")[0] for w in words if w.startswith("--")]
    return [f"{part}: no option {o} in its --help" for o in options if o not in proc.stdout]


# --- the tests -------------------------------------------------------------------------------------


def test_not_run_list_is_current() -> None:
    """Every exception above matches a command the README still has."""
    written = [c.text for c in shell_commands()] + inline_commands()
    for piece in NOT_RUN:
        assert any(piece in command for command in written), piece
    assert any(KEY_PREFIX in c.text for c in shell_commands())


@pytest.mark.slow
def test_shell_commands_run_as_written(world: tuple[Path, dict[str, str]]) -> None:
    root, env = world
    problems: list[str] = []
    ran = 0
    for command in shell_commands():
        parts = command.text.split(" && ")
        for part in parts:
            if not_run(part):
                problems += check_help(part, env)
                continue
            text = part
            if KEY_PREFIX in text:
                rows = json.loads(sh("workbench cache ls --json", root, env).stdout)
                text = text.replace(KEY_PREFIX, rows[0]["key"][:8])
            proc = sh(text, root, env)
            ran += 1
            problems += check_ran(part, proc)
            if "stdout" in command.comment and not proc.stdout.strip():
                problems.append(f"{part}: nothing on stdout")
            # "# → out/name.md (+ .json provenance)": the file the README promises is there.
            promised = re.match(r"→ (\S+/\S+)", command.comment)
            if promised and proc.returncode == 0:
                target = root / promised[1]
                if not target.is_file():
                    problems.append(f"{part}: {promised[1]} was not written")
                elif ".json" in command.comment and not Path(f"{target}.json").is_file():
                    problems.append(f"{part}: {promised[1]}.json was not written")
    assert ran >= 15
    assert not problems, "\n\n".join(problems)


@pytest.mark.slow
def test_inline_commands_run_or_exist(world: tuple[Path, dict[str, str]]) -> None:
    root, env = world
    problems: list[str] = []
    for command in inline_commands():
        if not_run(command) or PLACEHOLDER.search(command):
            problems += check_help(command, env)
            continue
        proc = sh(command, root, env)
        problems += check_ran(command, proc)
        if command == "workbench prompts list" and "brief" not in proc.stdout:
            problems.append("the README's prompt template is not listed by `prompts list`")
    assert (root / "published" / "manifest.jsonl").is_file()  # `workbench run news.toml`
    assert not problems, "\n\n".join(problems)


@pytest.mark.slow
def test_python_snippets_run_as_written(world: tuple[Path, dict[str, str]]) -> None:
    root, env = world
    snippets = [body for lang, body in fenced(README.read_text("utf-8")) if lang == "python"]
    assert len(snippets) >= 2
    for snippet in snippets:
        proc = subprocess.run(
            [sys.executable, "-c", snippet],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, f"{snippet}\n{proc.stderr[-3000:]}"
        assert proc.stdout.strip()


def test_catalog_points_to_commands_that_exist() -> None:
    """The shipped catalog's comments name commands a user can run."""
    text = (REPO / "workbench" / "models" / "catalog.toml").read_text("utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    problems = []
    for command in re.findall(r"`(workbench [^`]*)`", text):
        problems += check_help(command, env)
    assert not problems, problems


def test_ci_runs_the_readmes_test_command() -> None:
    # CI on a fresh machine must run exactly what the README tells a contributor to run,
    # torch pinned, so a green CI means the README's command works.
    test_lines = [
        line.strip()
        for lang, block in fenced(README.read_text("utf-8"))
        if lang == "bash"
        for line in block.splitlines()
        if line.strip().endswith("&& pytest")
    ]
    assert len(test_lines) == 1, test_lines
    assert 'pip install "torch==2.13.0"' in test_lines[0]
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text("utf-8").splitlines()]
    assert test_lines[0] in ci
