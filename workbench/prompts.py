"""Prompt templates: plain files users read and edit, rendered without executing anything.

A template is a TOML file (``summarise.toml``) or a markdown file whose TOML front matter sits
between ``+++`` lines and whose body is the user message (``summarise.md``). Placeholders are
``$name`` or ``${name}`` (``$$`` is a literal dollar sign), filled by :class:`string.Template`,
which only substitutes values: no expressions, no attribute access, no code. Every placeholder
must be declared in ``variables``; a declared variable gets its value from the pipeline, from
the user (``--var name=value``) or from ``[defaults]``, and a variable with none is an error.

Templates are looked up by name in the user's folder first (``WORKBENCH_PROMPTS`` or
``<WORKBENCH_HOME>/prompts``), then in the built-in folder: the repository's top-level
``prompts/`` (source checkouts and editable installs), or the copy shipped inside the package
as ``workbench/prompts_builtin/`` (wheels). A file path works wherever a name does.
The sha256 of a template's bytes goes into every cache key it contributes to.
"""

from __future__ import annotations

import hashlib
import os
import re
import string
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from workbench.errors import PromptError

#: What a template may be used for.
TASKS = ("summarise", "combine", "translate")
SUFFIXES = (".toml", ".md")
_KEYS = {"name", "task", "description", "variables", "defaults", "system", "user", "retry"}
_FRONT = "+++"
_IDENT = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")

#: Variables the pipelines fill for each task (a template declares the ones it uses).
PROVIDED: dict[str, frozenset[str]] = {
    "summarise": frozenset(
        {
            "text",
            "title",
            "lang",
            "language",
            "source_lang",
            "source_language",
            "length",
            "sentences",
            "words",
        }
    ),
    # ``terms``: the glossary's terms found in the sentence (the ``-glossary`` templates).
    "translate": frozenset(
        {"text", "context", "src", "tgt", "source_language", "target_language", "terms"}
    ),
}
PROVIDED["combine"] = PROVIDED["summarise"]


@dataclass(frozen=True)
class Prompt:
    """A validated template and where it came from."""

    name: str
    task: str
    path: Path
    origin: str  # "user", "built-in" or "file"
    sha256: str  # of the file's bytes: part of the cache key
    user: str
    system: str | None = None
    retry: str | None = None
    description: str = ""
    variables: tuple[str, ...] = ()
    defaults: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``summarise@3f2a9c1`` for provenance and messages."""
        return f"{self.name}@{self.sha256[:7]}"

    def check_values(self, user_values: dict[str, str]) -> None:
        """Reject user variables this template does not declare, or that workbench sets itself."""
        for name in user_values:
            if name in PROVIDED.get(self.task, frozenset()):
                raise PromptError(
                    f"variable {name!r} is set by workbench for {self.task} prompts; "
                    "remove --var " + name
                )
            if name not in self.variables:
                raise PromptError(
                    f"prompt {self.path}: unknown variable {name!r} (declared: "
                    f"{', '.join(self.variables) or 'none'}); check the spelling of --var"
                )

    def render(
        self, values: dict[str, Any], user_values: dict[str, str] | None = None
    ) -> list[dict[str, str]]:
        """Chat messages (system, then user) with every placeholder filled.

        ``values`` come from the pipeline, ``user_values`` from the user; defaults fill the rest.
        A placeholder that ends up without a value is a PromptError naming it.
        """
        self.check_values(user_values or {})
        messages = []
        if self.system:
            content = self._fill(self.system, values, user_values or {})
            messages.append({"role": "system", "content": content})
        messages.append(
            {"role": "user", "content": self._fill(self.user, values, user_values or {})}
        )
        return messages

    def render_retry(
        self, values: dict[str, Any], user_values: dict[str, str] | None = None
    ) -> str | None:
        """The follow-up message that asks again (wrong output language), or None."""
        if not self.retry:
            return None
        self.check_values(user_values or {})
        return self._fill(self.retry, values, user_values or {})

    def _fill(self, text: str, values: dict[str, Any], user_values: dict[str, str]) -> str:
        template = string.Template(text)
        filled: dict[str, str] = {}
        for name in template.get_identifiers():
            if values.get(name) is not None:
                filled[name] = str(values[name])
            elif name in user_values:
                filled[name] = user_values[name]
            elif name in self.defaults:
                filled[name] = self.defaults[name]
            elif name in ("sentences", "words"):
                raise PromptError(
                    f"prompt {self.path} uses ${name}, which has no value; pass --{name} N "
                    f"or add {name} under [defaults]"
                )
            else:
                raise PromptError(
                    f"prompt {self.path}: variable ${name} has no value; add it under "
                    f"[defaults] or pass --var {name}=VALUE"
                )
        # Validated at load: every identifier is declared, and each now has a value. Values
        # are inserted as they are: a "$" inside an article is never expanded.
        return template.substitute(filled).strip()


# --- folders ---------------------------------------------------------------------------------


def user_folder() -> Path:
    """The user's prompt folder (``WORKBENCH_PROMPTS`` overrides ``<WORKBENCH_HOME>/prompts``)."""
    env = os.environ.get("WORKBENCH_PROMPTS")
    if env:
        return Path(env).expanduser()
    from workbench.settings import default_home

    return default_home() / "prompts"


def builtin_folder() -> Path:
    """The shipped templates: the repository's ``prompts/`` or the package's copy."""
    package = Path(__file__).resolve().parent
    checkout = package.parent / "prompts"
    # A source checkout or editable install: the canonical, user-visible folder.
    if checkout.is_dir() and (package.parent / "pyproject.toml").is_file():
        return checkout
    shipped = resources.files("workbench").joinpath("prompts_builtin")
    return Path(str(shipped))


def _candidates(folder: Path, name: str) -> list[Path]:
    return [
        folder / f"{name}{suffix}" for suffix in SUFFIXES if (folder / f"{name}{suffix}").is_file()
    ]


def looks_like_file(ref: str) -> bool:
    """Whether ``--prompt`` names a file rather than a template name."""
    return ref.endswith(SUFFIXES) or "/" in ref or os.sep in ref


def find(ref: str) -> tuple[Path, str]:
    """(path, origin) of a template given by name or file; PromptError when there is none."""
    if looks_like_file(ref):
        path = Path(ref).expanduser()
        if not path.is_file():
            raise PromptError(f"prompt file {ref} does not exist; check the path")
        return path, "file"
    if not _IDENT.match(ref.replace("-", "_")):
        raise PromptError(f"{ref!r} is not a prompt name; use a name such as summarise, or a file")
    for folder, origin in ((user_folder(), "user"), (builtin_folder(), "built-in")):
        found = _candidates(folder, ref)
        if len(found) > 1:
            raise PromptError(
                f"prompt {ref} exists as both {found[0].name} and {found[1].name} in {folder}; "
                "remove one"
            )
        if found:
            return found[0], origin
    known = ", ".join(_names()) or "none"
    raise PromptError(
        f"unknown prompt {ref!r}; known: {known} (see `workbench prompts list`), "
        f"or add {ref}.toml to {user_folder()}"
    )


def load(ref: str, task: str | None = None) -> Prompt:
    """Find, read and validate a template; with ``task``, check it is meant for that task."""
    path, origin = find(ref)
    prompt = read(path, origin)
    if task is not None and prompt.task != task:
        raise PromptError(
            f"prompt {path} is a {prompt.task} template, not a {task} one; "
            f"pick one with task = {task!r} (see `workbench prompts list`)"
        )
    return prompt


def _names() -> list[str]:
    """Template names in both folders, without reading the files."""
    names: set[str] = set()
    for folder in (user_folder(), builtin_folder()):
        if folder.is_dir():
            names.update(p.stem for p in folder.iterdir() if p.suffix in SUFFIXES)
    return sorted(n for n in names if not n.startswith("."))


def list_prompts() -> list[Prompt]:
    """Every template, by name; a user template hides the built-in one of that name.

    A broken file raises its PromptError: it is never skipped silently.
    """
    seen: set[str] = set()
    out: list[Prompt] = []
    for folder, origin in ((user_folder(), "user"), (builtin_folder(), "built-in")):
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file()):
            if path.stem in seen or path.name.startswith("."):
                continue
            seen.add(path.stem)
            out.append(read(path, origin))
    return sorted(out, key=lambda p: (p.name, p.origin))


# --- reading and validating ------------------------------------------------------------------


def read(path: Path, origin: str = "file") -> Prompt:
    """Parse and validate one template file."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise PromptError(f"prompt {path} cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise PromptError(f"prompt {path} is not UTF-8 text; re-save it as UTF-8") from None
    data = _parse(path, text)
    return _validate(path, origin, hashlib.sha256(raw).hexdigest(), data)


def _parse(path: Path, text: str) -> dict[str, Any]:
    if path.suffix == ".md":
        lines = text.splitlines(keepends=True)
        if not lines or lines[0].strip() != _FRONT:
            raise PromptError(
                f"prompt {path} has no front matter; start it with a {_FRONT} line, the TOML "
                f"settings (name, task, variables), a closing {_FRONT} line, then the message"
            )
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == _FRONT), None)
        if end is None:
            raise PromptError(f"prompt {path}: the front matter has no closing {_FRONT} line")
        front, body = "".join(lines[1:end]), "".join(lines[end + 1 :])
        data = _toml(path, front)
        if "user" in data:
            raise PromptError(
                f"prompt {path}: the user message is the body; remove user = from the front matter"
            )
        data["user"] = body
        return data
    return _toml(path, text)


def _toml(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PromptError(f"prompt {path} is not valid TOML ({exc})") from None


def _validate(path: Path, origin: str, sha: str, data: dict[str, Any]) -> Prompt:
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise PromptError(
            f"prompt {path}: unknown setting {unknown[0]!r}; allowed: {', '.join(sorted(_KEYS))}"
        )
    name = data.get("name", path.stem)
    if name != path.stem:
        raise PromptError(
            f"prompt {path} is named {name!r} inside but {path.stem!r} by its file; make them match"
        )
    task = data.get("task")
    if task not in TASKS:
        raise PromptError(f"prompt {path}: task must be one of {', '.join(TASKS)}, not {task!r}")
    texts: dict[str, str | None] = {}
    for key in ("user", "system", "retry"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise PromptError(f"prompt {path}: {key} must be text")
        texts[key] = value
    if not (texts["user"] or "").strip():
        raise PromptError(f"prompt {path} has no user message")
    variables = data.get("variables", [])
    if not isinstance(variables, list) or not all(
        isinstance(v, str) and _IDENT.match(v) for v in variables
    ):
        raise PromptError(f'prompt {path}: variables must be a list of names such as ["text"]')
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or not all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in defaults.values()
    ):
        raise PromptError(f"prompt {path}: [defaults] must map names to text or numbers")
    for key in defaults:
        if key not in variables:
            raise PromptError(
                f"prompt {path}: default for unknown variable {key!r}; declare it in variables"
            )
    used: set[str] = set()
    for key, value in texts.items():
        if value:
            used |= _placeholders(path, key, value)
    for var in sorted(used):
        if var not in variables:
            raise PromptError(
                f"prompt {path} uses ${var}, which is not declared in variables "
                f"({', '.join(variables) or 'none'}); declare it or fix the spelling"
            )
    if task in ("summarise", "combine", "translate") and "text" not in used:
        raise PromptError(f"prompt {path} never uses $text, so the model would not see the article")
    return Prompt(
        name=name,
        task=task,
        path=path,
        origin=origin,
        sha256=sha,
        user=texts["user"] or "",
        system=texts["system"],
        retry=texts["retry"],
        description=str(data.get("description", "")),
        variables=tuple(variables),
        defaults={k: str(v) for k, v in defaults.items()},
    )


def _placeholders(path: Path, key: str, text: str) -> set[str]:
    template = string.Template(text)
    if not template.is_valid():
        # Find the first bad ``$`` for a message that points at it.
        for number, line in enumerate(text.splitlines(), 1):
            if not string.Template(line).is_valid():
                raise PromptError(
                    f"prompt {path}: bad placeholder in {key}, line {number}: {line.strip()!r}; "
                    "write $name or ${name}, and $$ for a dollar sign"
                )
        raise PromptError(f"prompt {path}: bad placeholder in {key}; write $name or ${{name}}")
    return set(template.get_identifiers())


def parse_vars(items: list[str]) -> dict[str, str]:
    """``["tone=dry", "audience=kids"]`` → dict; a malformed item is a PromptError."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not _IDENT.match(name):
            raise PromptError(f"--var {item!r} is not NAME=VALUE")
        out[name] = value
    return out
