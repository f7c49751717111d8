"""Prompt templates: loading, validation, rendering without executing anything, lookup."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from workbench import prompts
from workbench.errors import PromptError

BUILT_IN = {
    "summarise": "summarise",
    "summarise-lang": "summarise",
    "combine": "combine",
    "translate-chat": "translate",
    "translate-chat-context": "translate",
}


def write(folder: Path, name: str, body: str, suffix: str = ".toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{suffix}"
    path.write_text(body, "utf-8")
    return path


def toml(
    user: str,
    variables: list[str],
    defaults: str = "",
    task: str = "summarise",
    name: str = "t",
    extra: str = "",
) -> str:
    names = ", ".join(f'"{v}"' for v in variables)
    text = f'name = "{name}"\ntask = "{task}"\nvariables = [{names}]\n{extra}\n'
    text += f"user = '''{user}'''\n"
    if defaults:
        text += f"[defaults]\n{defaults}\n"
    return text


# --- the built-in templates ----------------------------------------------------------------


def test_builtin_folder_is_the_repositorys_prompts_folder() -> None:
    assert prompts.builtin_folder() == REPO / "prompts"


@pytest.mark.parametrize(("name", "task"), sorted(BUILT_IN.items()))
def test_builtin_templates_load_and_render(name: str, task: str) -> None:
    prompt = prompts.load(name)
    assert prompt.task == task and prompt.origin == "built-in"
    assert prompt.sha256 == hashlib.sha256(prompt.path.read_bytes()).hexdigest()
    values = {
        "text": "The council met on Monday.",
        "language": "Korean",
        "source_language": "English",
        "target_language": "Korean",
        "length": "in at most 3 sentences",
        "context": "The harbour council met.",
    }
    messages = prompt.render(values)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "The council met on Monday." in messages[-1]["content"]
    assert "$" not in messages[-1]["content"]
    if task != "translate":
        assert "Korean" in (prompt.render_retry(values) or "")


def test_the_package_carries_the_builtin_templates() -> None:
    """``workbench/prompts_builtin`` links to ``prompts/``: what wheels ship (package data)."""
    from importlib import resources

    shipped = resources.files("workbench").joinpath("prompts_builtin")
    names = sorted(p.name for p in shipped.iterdir() if p.name.endswith((".toml", ".md")))
    assert names == sorted(
        p.name for p in (REPO / "prompts").iterdir() if p.suffix in (".toml", ".md")
    )


def test_list_shows_every_builtin_template() -> None:
    listed = {p.name: (p.task, p.origin) for p in prompts.list_prompts()}
    for name, task in BUILT_IN.items():
        assert listed[name] == (task, "built-in")


# --- rendering: a table of cases -----------------------------------------------------------

RENDER_CASES = [
    # (id, user template, variables, defaults, pipeline values, --var values, expected or error)
    ("plain", "Sum up: $text", ["text"], "", {"text": "A."}, {}, "Sum up: A."),
    ("braces", "${text}!", ["text"], "", {"text": "A"}, {}, "A!"),
    ("dollar", "Costs $$5: $text", ["text"], "", {"text": "A"}, {}, "Costs $5: A"),
    ("default", "$text ($tone)", ["text", "tone"], 'tone = "dry"', {"text": "A"}, {}, "A (dry)"),
    (
        "numeric default",
        "$text in $n",
        ["text", "n"],
        "n = 2",
        {"text": "A"},
        {},
        "A in 2",
    ),
    (
        "--var beats default",
        "$text ($tone)",
        ["text", "tone"],
        'tone = "dry"',
        {"text": "A"},
        {"tone": "warm"},
        "A (warm)",
    ),
    (
        "pipeline beats default",
        "$text, $sentences",
        ["text", "sentences"],
        "sentences = 9",
        {"text": "A", "sentences": 2},
        {},
        "A, 2",
    ),
    (
        "missing variable",
        "$text ($tone)",
        ["text", "tone"],
        "",
        {"text": "A"},
        {},
        PromptError(
            "variable $tone has no value; add it under [defaults] or pass --var tone=VALUE"
        ),
    ),
    (
        "missing length",
        "$text in $words words",
        ["text", "words"],
        "",
        {"text": "A", "words": None},
        {},
        PromptError("uses $words, which has no value; pass --words N"),
    ),
    (
        "unknown --var",
        "$text",
        ["text"],
        "",
        {"text": "A"},
        {"tone": "warm"},
        PromptError("unknown variable 'tone'"),
    ),
    (
        "--var for a pipeline variable",
        "$text",
        ["text"],
        "",
        {"text": "A"},
        {"text": "B"},
        PromptError("variable 'text' is set by workbench"),
    ),
    (
        "values are not expanded again",
        "<$text>",
        ["text"],
        "",
        {"text": "Price: $text ${x} {y} {{z}}"},
        {},
        "<Price: $text ${x} {y} {{z}}>",
    ),
    (
        "attribute syntax is plain text",
        "$text.__class__ {text}",
        ["text"],
        "",
        {"text": "A"},
        {},
        "A.__class__ {text}",
    ),
]


@pytest.mark.parametrize(
    ("user", "variables", "defaults", "values", "user_values", "expected"),
    [case[1:] for case in RENDER_CASES],
    ids=[case[0] for case in RENDER_CASES],
)
def test_render(
    tmp_path: Path,
    user: str,
    variables: list[str],
    defaults: str,
    values: dict,
    user_values: dict,
    expected: str | PromptError,
) -> None:
    prompt = prompts.read(write(tmp_path, "t", toml(user, variables, defaults)))
    if isinstance(expected, PromptError):
        with pytest.raises(PromptError) as err:
            prompt.render(values, user_values)
        assert str(expected) in str(err.value)
        assert "\n" not in str(err.value)
    else:
        assert prompt.render(values, user_values)[-1]["content"] == expected


LOAD_ERRORS = [
    ("undeclared", toml("$text $tone", ["text"]), "uses $tone, which is not declared"),
    ("bad placeholder", toml("$text costs $ 5", ["text"]), "bad placeholder in user, line 1"),
    ("unclosed brace", toml("${text", ["text"]), "bad placeholder"),
    ("no text", toml("Summarise.", []), "never uses $text"),
    (
        "unknown key",
        toml("$text", ["text"], extra='varibles = ["x"]'),
        "unknown setting 'varibles'",
    ),
    ("bad task", toml("$text", ["text"], task="poem"), "task must be one of"),
    ("name mismatch", toml("$text", ["text"], name="other"), "named 'other' inside but 't'"),
    ("default undeclared", toml("$text", ["text"], 'tone = "x"'), "default for unknown variable"),
    (
        "bad variables",
        'name = "t"\ntask = "summarise"\nvariables = "text"\nuser = "$text"\n',
        "variables must be a list",
    ),
    ("no user", 'name = "t"\ntask = "summarise"\nvariables = ["text"]\n', "has no user message"),
    ("not toml", 'name = "t\n', "not valid TOML"),
]


@pytest.mark.parametrize(
    ("body", "message"), [c[1:] for c in LOAD_ERRORS], ids=[c[0] for c in LOAD_ERRORS]
)
def test_invalid_templates_are_clear_errors(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, "t", body)
    with pytest.raises(PromptError) as err:
        prompts.read(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_markdown_with_front_matter(tmp_path: Path) -> None:
    body = (
        '+++\nname = "brief"\ntask = "summarise"\nvariables = ["text", "language"]\n'
        'system = "You are terse."\n+++\nSummarise in $language:\n\n$text\n'
    )
    prompt = prompts.read(write(tmp_path, "brief", body, ".md"))
    messages = prompt.render({"text": "A.", "language": "Korean"})
    assert messages == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Summarise in Korean:\n\nA."},
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Summarise $text\n", "has no front matter"),
        ('+++\nname = "brief"\ntask = "summarise"\n$text\n', "no closing +++"),
        (
            '+++\nname = "brief"\ntask = "summarise"\nvariables = ["text"]\nuser = "x"\n+++\n$text\n',
            "the user message is the body",
        ),
    ],
)
def test_markdown_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(PromptError, match=message.replace("+", r"\+")):
        prompts.read(write(tmp_path, "brief", body, ".md"))


# --- lookup: user folder, files, names -------------------------------------------------------


def test_user_folder_defaults_to_workbench_home(isolated_env: Path) -> None:
    assert prompts.user_folder() == isolated_env / "prompts"


def test_user_template_wins_over_builtin(isolated_env: Path) -> None:
    text = (REPO / "prompts" / "summarise.toml").read_text("utf-8").replace("careful", "terse")
    write(isolated_env / "prompts", "summarise", text)
    prompt = prompts.load("summarise")
    assert prompt.origin == "user" and "terse" in (prompt.system or "")
    assert prompt.sha256 != prompts.read(REPO / "prompts" / "summarise.toml").sha256
    listed = {p.name: p.origin for p in prompts.list_prompts()}
    assert listed["summarise"] == "user" and listed["combine"] == "built-in"


def test_workbench_prompts_env_names_the_user_folder(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "my-prompts"
    write(folder, "headline", toml("One line: $text", ["text"], name="headline"))
    monkeypatch.setenv("WORKBENCH_PROMPTS", str(folder))
    assert prompts.user_folder() == folder
    prompt = prompts.load("headline", task="summarise")
    assert prompt.origin == "user" and prompt.path == folder / "headline.toml"


def test_a_file_path_works_wherever_a_name_does(tmp_path: Path) -> None:
    path = write(tmp_path, "mine", toml("Short: $text", ["text"], name="mine"))
    assert prompts.load(str(path)).origin == "file"
    with pytest.raises(PromptError, match="does not exist"):
        prompts.load(str(tmp_path / "absent.toml"))


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(PromptError) as err:
        prompts.load("summarize")
    message = str(err.value)
    assert "unknown prompt 'summarize'" in message and "summarise" in message
    assert "workbench prompts list" in message


def test_a_template_for_another_task_is_refused() -> None:
    with pytest.raises(PromptError, match="is a translate template, not a summarise one"):
        prompts.load("translate-chat", task="summarise")


def test_two_files_with_one_name_are_ambiguous(isolated_env: Path) -> None:
    folder = isolated_env / "prompts"
    write(folder, "dup", toml("$text", ["text"], name="dup"))
    write(
        folder,
        "dup",
        '+++\nname = "dup"\ntask = "summarise"\nvariables = ["text"]\n+++\n$text\n',
        ".md",
    )
    with pytest.raises(PromptError, match=r"both dup\.toml and dup\.md"):
        prompts.load("dup")


def test_parse_vars() -> None:
    assert prompts.parse_vars(["tone=dry", "x=a=b"]) == {"tone": "dry", "x": "a=b"}
    with pytest.raises(PromptError, match="not NAME=VALUE"):
        prompts.parse_vars(["tone"])


# --- CLI -----------------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_cli_prompts_list_and_show(isolated_env: Path) -> None:
    listed = cli("prompts", "list")
    assert listed.returncode == 0, listed.stderr
    for name in BUILT_IN:
        assert name in listed.stdout
    shown = cli("prompts", "show", "translate-chat")
    assert shown.returncode == 0
    assert shown.stdout == (REPO / "prompts" / "translate-chat.toml").read_text("utf-8")
    assert "sha256" in shown.stderr
    missing = cli("prompts", "show", "nope")
    assert missing.returncode == 2
    assert missing.stderr.startswith("workbench: error: unknown prompt 'nope'")
    assert len(missing.stderr.strip().splitlines()) == 1
