"""Fast paths stay fast: commands that need no model never import the heavy libraries.

Each check runs in a fresh interpreter (``sys.modules`` of the test process is polluted by
other tests) and lists what got imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "ctranslate2", "tokenizers", "sentencepiece", "numpy")
# Rendering help through rich costs ~0.2 s of imports; the CLI prints plain help instead.
HELP_HEAVY = ("rich", "markdown_it")


def heavy_imports(
    code: str, env: dict[str, str] | None = None, heavy: tuple[str, ...] = HEAVY
) -> list[str]:
    """Run ``code`` in a fresh interpreter and return the heavy top-level modules it imported."""
    probe = (
        f"{code}\n"
        "import json, sys\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & {set(heavy)!r})\n"
        "sys.__stdout__.write('\\nHEAVY=' + json.dumps(heavy) + '\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        check=False,
    )
    marker = [line for line in done.stdout.splitlines() if line.startswith("HEAVY=")]
    assert marker, f"probe failed (exit {done.returncode}):\n{done.stderr[-2000:]}"
    return json.loads(marker[-1][len("HEAVY=") :])


def cli(*args: str) -> str:
    """Code that runs the CLI in-process with ``args`` (exit codes are not the point here)."""
    return (
        "import sys\n"
        f"sys.argv = ['workbench', *{list(args)!r}]\n"
        "from workbench.cli.app import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
    )


def test_help_imports_nothing_heavy() -> None:
    assert heavy_imports(cli("--help")) == []


def test_translate_help_imports_nothing_heavy() -> None:
    assert heavy_imports(cli("translate", "--help")) == []


@pytest.mark.parametrize(
    "args", [("--help",), ("translate", "--help"), ("cache", "--help"), ("models", "--help")]
)
def test_help_is_rendered_without_rich(args: tuple[str, ...]) -> None:
    assert heavy_imports(cli(*args), heavy=HELP_HEAVY) == []


def test_models_list_imports_nothing_heavy(tmp_path: Path) -> None:
    env = {"HF_HUB_CACHE": str(tmp_path / "hub"), "WORKBENCH_HOME": str(tmp_path / "home")}
    assert heavy_imports(cli("models", "list"), env) == []


def test_backend_modules_import_nothing_heavy() -> None:
    code = (
        "import workbench.models.ct2_backend, workbench.models.torch_backend\n"
        "import workbench.models.seq2seq_common, workbench.models.backend\n"
    )
    assert heavy_imports(code) == []


def test_backend_name_imports_nothing_heavy(tmp_path: Path) -> None:
    """The cache key names the backend; on a CPU-only machine that needs no engine at all."""
    if any(Path("/dev").glob("nvidia[0-9]*")):
        pytest.skip("with a GPU present, device auto-detection imports torch by design")
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "marian"}))
    code = (
        "from pathlib import Path\n"
        "from workbench.models.backend import backend_name\n"
        "from workbench.models.families import inspect\n"
        "from workbench.settings import RunSettings\n"
        f"info = inspect(Path({str(folder)!r}))\n"
        "for backend in ('torch', 'ctranslate2', 'auto'):\n"
        "    try:\n"
        "        backend_name(info, RunSettings(backend=backend))\n"
        "    except Exception as exc:  # ctranslate2 not installed: a WorkbenchError\n"
        "        print(exc)\n"
    )
    assert heavy_imports(code) == []
