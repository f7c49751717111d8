"""Assertions about faithfulness that hold whatever a (tiny, random) model writes, and small
helpers shared by several test files and the bench scripts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from workbench import inline
from workbench.documents import Document

URL = re.compile(r"https?://[^\s)\]>]+")
CODE = re.compile(r"`[^`]+`")
LINK_TARGET = re.compile(r"\]\([^)]*\)")


def assert_structure_kept(source: str, translated: str) -> None:
    """Same lines in the same order with the same markup; URLs, link targets and code intact."""
    src_lines = source.splitlines(keepends=True)
    out_lines = translated.splitlines(keepends=True)
    assert len(out_lines) == len(src_lines), "line count changed"
    for a, b in zip(src_lines, out_lines, strict=True):
        # Line endings, blank lines and leading markup survive line by line.
        assert a.endswith("\r\n") == b.endswith("\r\n")
        assert (a.strip() == "") == (b.strip() == "")
        for marker in ("# ", "## ", "- ", "> ", "1. ", "2. ", "3. "):
            if a.startswith(marker):
                assert b.startswith(marker), (a, b)
        if URL.fullmatch(a.strip()):
            assert a == b, "a URL line changed"
    # Protected spans come through byte-identical (a random model may invent more backticks,
    # so this checks that each source span is present rather than comparing lists).
    for pattern in (URL, CODE, LINK_TARGET):
        rest = translated
        for span in pattern.findall(source):
            assert span in rest, span
            rest = rest[rest.index(span) + len(span) :]


def expected_segments(doc: Document, lang: str) -> list[str]:
    """Every translatable piece of a document, in order: what must come back translated."""
    out: list[str] = []
    syntax = inline.syntax_of(doc.format.inline_markup)
    for text in doc.translatable_texts():
        # A sentence with markup is one segment: its source as written.
        out.extend(
            p.source if isinstance(p, inline.Marked) else p.text
            for p in inline.pieces(text, lang, syntax)
            if p.translate
        )
    return out


def run_translate_then_summarise(tmp_path: Path, model: Path) -> Path:
    """Run a job file over ``tmp_path / "in"``: translate into Ukrainian with ``model``, then
    two-sentence lead summaries in Ukrainian and English; returns the output folder."""
    from typer.testing import CliRunner

    from workbench.cli.app import app

    job = tmp_path / "news.toml"
    job.write_text(
        'inputs = ["in"]\nout = "out"\nfrom = "en"\nbackend = "torch"\nbeams = 1\n\n'
        f'[[steps]]\ntask = "translate"\nto = ["uk"]\nmodel = "{model}"\n\n'
        '[[steps]]\ntask = "summarise"\nto = ["uk", "en"]\nmodel = "lead"\nsentences = 2\n',
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["run", str(job), "--quiet"])
    assert res.exit_code == 0, res.output
    return tmp_path / "out"


# -- folder runs -------------------------------------------------------------------------------

SUBJECTS = ("The council", "Police", "The mayor", "Residents", "The ferry company", "Farmers")
VERBS = ("approved", "delayed", "welcomed", "rejected")
OBJECTS = ("the new budget", "the bridge plan", "the harbour repairs", "the tram line")


def article(i: int, sentences: int = 5) -> str:
    """A short article (long enough for a lead summary) whose sentences are unique to it."""
    lines = [f"# Report number {i}", ""]
    for j in range(sentences):
        lines += [
            f"{SUBJECTS[(i + j) % 6]} {VERBS[j % 4]} {OBJECTS[(i + j) % 4]} after a long "
            f"meeting on day {i}{j}.",
            "",
        ]
    return "\n".join(lines)


def manifest(out: Path) -> list[dict]:
    """The rows of ``out``'s manifest (the file must exist)."""
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text("utf-8").splitlines()]


def outputs(out: Path) -> dict[str, bytes]:
    """Every output file under ``out`` (provenance and manifest hold timings, so not those);
    empty when ``out`` does not exist."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.name.endswith(".json") and p.name != "manifest.jsonl"
    }


# -- processes ---------------------------------------------------------------------------------


def invoke(argv: list[str], runner: object | None = None) -> tuple[int, str]:
    """The CLI's exit code and output, run in-process; an unexpected exception's traceback is
    appended (CliRunner catches what would be a traceback for a user)."""
    import traceback

    from typer.testing import CliRunner

    from workbench.cli.app import app

    result = (runner or CliRunner()).invoke(app, argv)
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += "".join(traceback.format_exception(result.exception))
    return result.exit_code, output


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    """``python -c code args`` started from the repository with this tree importable."""
    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=repo,
    )


def nobody() -> tuple[int, int] | None:
    """(uid, gid) of an unprivileged user to drop to when we are root; None if not root.

    Raises KeyError when we are root and there is no 'nobody' user."""
    if os.geteuid() != 0:
        return None
    import pwd

    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def run_forked_as(
    user: tuple[int, int] | None,
    args: list[str],
    warm: list[str],
    env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """The CLI's exit code and stderr, run in a forked child as ``user`` (None: as we are).

    The interpreter may live where an unprivileged user cannot start it (root's private
    folder), so the child forks this one, sets ``env``, runs ``warm`` first (importing what
    the run needs), then drops privileges and runs ``args``."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 99
        try:
            os.close(read)
            os.environ.update(env or {})
            from typer.testing import CliRunner

            from workbench.cli.app import app

            CliRunner().invoke(app, warm)
            if user is not None:
                os.setgid(user[1])
                os.setuid(user[0])
            res = CliRunner().invoke(app, args)
            os.write(write, json.dumps([res.exit_code, res.stderr]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("the forked run failed")
    code, err = json.loads(data)
    return code, err


def plan_for(backend: object, src: str, tgt: str, gen: object = None) -> object:
    """The plan a run would hand ``backend`` for ``src`` → ``tgt`` (for calling it directly)."""
    from workbench.models.pool import translation_plan
    from workbench.settings import GenerationSettings

    return translation_plan(
        backend.resolved,  # type: ignore[attr-defined]
        backend.info,  # type: ignore[attr-defined]
        backend.run,  # type: ignore[attr-defined]
        src,
        tgt,
        gen or GenerationSettings(),  # type: ignore[arg-type]
    )
