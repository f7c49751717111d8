"""The package keeps its shape: no import circle inside workbench/, no module over 500 lines."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_no_import_circle_and_no_module_over_500_lines() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "layout.py"), "--max-lines", "500"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "import cycles (strongly connected groups): 0" in done.stdout


def test_the_layout_check_finds_a_circle(tmp_path) -> None:
    """The check is not vacuous: a package with two modules importing each other fails it."""
    pkg = tmp_path / "workbench"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from workbench import b\n")
    (pkg / "b.py").write_text("def f():\n    from workbench.a import x\n")
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "layout.py"), str(pkg), "--max-lines", "500"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "workbench.a, workbench.b" in done.stdout
