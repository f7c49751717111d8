"""The cache as users meet it: instant reruns without models, misses when anything changes,
safe sharing between processes, and recovery from crashes and damage."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS
from tests.tinymodels import build
from workbench import Workbench, segment
from workbench.errors import CacheError

ARTICLE = SEEDS / "en" / "harbour-ferry.md"


def wb(cache: Path, **kwargs) -> Workbench:
    kwargs.setdefault("beams", 1)
    return Workbench(cache=cache, backend="torch", **kwargs)


@pytest.fixture
def model(tiny, tmp_path: Path) -> Path:
    """A private copy, so tests may re-save it."""
    folder = tmp_path / "model"
    shutil.copytree(tiny("marian-multi"), folder)
    return folder


def test_rerun_is_a_document_hit_and_loads_no_model(model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    first = wb(cache).translate(ARTICLE, to="uk", src="en", model=str(model))
    assert first.cache == "miss" and first.misses > 0
    again = wb(cache)
    second = again.translate(ARTICLE, to="uk", src="en", model=str(model))
    assert second.text == first.text
    assert second.cache == "document" and second.misses == 0
    assert again.pool.loaded == []  # no backend was even created


def test_cached_rerun_in_a_fresh_process_never_imports_torch(model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    wb(cache).translate(ARTICLE, to="uk", src="en", model=str(model))
    code = (
        "import sys, json\n"
        "from workbench import Workbench\n"
        f"r = Workbench(cache={str(cache)!r}, backend='torch', beams=1).translate("
        f"{str(ARTICLE)!r}, to='uk', src='en', model={str(model)!r})\n"
        "print(json.dumps([r.cache, 'torch' in sys.modules, 'transformers' in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=os.environ.copy(),
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == ["document", False, False]


def test_resaved_model_with_new_weights_is_a_miss(model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    first = wb(cache).translate(ARTICLE, to="uk", src="en", model=str(model))
    build("marian-multi", model, seed=1)  # same files and shapes, different values
    second = wb(cache).translate(ARTICLE, to="uk", src="en", model=str(model))
    assert second.revision != first.revision
    assert second.cache == "miss" and second.hits == 0


def test_changed_settings_are_misses(model: Path, tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "c.sqlite3"
    base = wb(cache).translate(ARTICLE, to="uk", src="en", model=str(model))
    beams = wb(cache, beams=2).translate(ARTICLE, to="uk", src="en", model=str(model))
    assert beams.cache == "miss" and beams.key != base.key
    monkeypatch.setattr(segment, "SEGMENTATION_VERSION", segment.SEGMENTATION_VERSION + 1)
    seg = wb(cache).translate(ARTICLE, to="uk", src="en", model=str(model))
    assert seg.cache == "miss" and seg.key != base.key


def test_editing_one_paragraph_recomputes_only_its_segments(model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    text = ARTICLE.read_text("utf-8")
    first = wb(cache).translate(text, to="uk", src="en", model=str(model))
    old = "Not everyone was convinced."
    edited = text.replace(old, "Not everybody agreed.")
    second = wb(cache).translate(edited, to="uk", src="en", model=str(model))
    assert second.cache == "partial"
    assert second.misses == 1 and second.hits == first.misses - 1
    fresh = [s.source for s in second.segments if not s.cached]
    assert fresh == ["Not everybody agreed."]


def test_refresh_recomputes_and_no_cache_writes_nothing(model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    wb(cache).translate(ARTICLE, to="uk", src="en", model=str(model))
    refreshed = Workbench(cache=cache, backend="torch", beams=1, refresh=True).translate(
        ARTICLE, to="uk", src="en", model=str(model)
    )
    assert refreshed.cache == "miss" and refreshed.hits == 0
    other = tmp_path / "never.sqlite3"
    Workbench(cache=False, backend="torch", beams=1).translate(
        ARTICLE, to="uk", src="en", model=str(model)
    )
    assert not other.exists()


def _run_cli(args: list[str], cache: Path, **kw) -> subprocess.Popen:
    env = {**os.environ, "WORKBENCH_CACHE": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-m", "workbench", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _corpus(root: Path, n: int, offset: int = 0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = ARTICLE.read_text("utf-8").splitlines()
    for i in range(offset, offset + n):
        body = "\n".join(lines) + f"\n\nThis is note number {i} about the ferry.\n"
        (root / f"doc{i:03d}.md").write_text(body, encoding="utf-8")
    return root


def test_four_processes_share_one_cache(model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "shared.sqlite3"
    folders = [_corpus(tmp_path / f"in{k}", 4, offset=k * 2) for k in range(4)]  # overlapping
    procs = [
        _run_cli(
            [
                "translate",
                str(f),
                "--to",
                "uk",
                "--from",
                "en",
                "--model",
                str(model),
                "--out",
                str(tmp_path / f"out{k}"),
                "--beams",
                "1",
                "--backend",
                "torch",
            ],
            cache,
        )
        for k, f in enumerate(folders)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        assert "locked" not in err
    con = sqlite3.connect(cache)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    # Every process wrote the same bytes for the same document.
    a = (tmp_path / "out0" / "doc002.uk.md").read_text("utf-8")
    b = (tmp_path / "out1" / "doc002.uk.md").read_text("utf-8")
    assert a == b
    from workbench.cache import SqliteStore

    assert SqliteStore(cache).verify()["bad"] == 0


def test_sigkill_mid_run_leaves_a_usable_cache(model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    src = _corpus(tmp_path / "in", 12)
    args = [
        "translate",
        str(src),
        "--to",
        "uk",
        "--from",
        "en",
        "--model",
        str(model),
        "--beams",
        "1",
        "--backend",
        "torch",
    ]
    proc = _run_cli([*args, "--out", str(tmp_path / "killed")], cache)
    deadline = time.time() + 300
    segments = 0
    while time.time() < deadline and proc.poll() is None:
        if cache.exists():
            try:
                con = sqlite3.connect(cache, timeout=1)
                segments = con.execute(
                    "SELECT count(*) FROM entries WHERE kind='segment'"
                ).fetchone()[0]
                con.close()
            except sqlite3.Error:
                segments = 0
        if segments:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = _run_cli([*args, "--out", str(tmp_path / "resumed")], cache)
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    clean = _run_cli([*args, "--out", str(tmp_path / "clean")], tmp_path / "clean.sqlite3")
    _, err = clean.communicate(timeout=600)
    assert clean.returncode == 0, err
    for f in sorted((tmp_path / "clean").rglob("*.md")):
        twin = tmp_path / "resumed" / f.relative_to(tmp_path / "clean")
        assert twin.read_bytes() == f.read_bytes()


def test_corrupt_database_is_a_clear_error(model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    cache.write_bytes(os.urandom(8192))
    with pytest.raises(CacheError) as err:
        wb(cache).translate(ARTICLE, to="uk", src="en", model=str(model))
    assert str(cache) in str(err.value) and "workbench cache repair" in str(err.value)
    proc = _run_cli(
        [
            "translate",
            str(ARTICLE),
            "--to",
            "uk",
            "--from",
            "en",
            "--model",
            str(model),
            "--out",
            str(tmp_path / "o"),
        ],
        cache,
    )
    _, err_text = proc.communicate(timeout=120)
    assert proc.returncode == 2
    lines = [line for line in err_text.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("workbench: error:") and "Traceback" not in err_text
    assert not (tmp_path / "o").exists()


def test_provenance_beside_output_and_cache_commands(model: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite3"
    out = tmp_path / "out"
    args = [
        "translate",
        str(ARTICLE),
        "--to",
        "uk",
        "--from",
        "en",
        "--model",
        str(model),
        "--out",
        str(out),
        "--beams",
        "1",
        "--backend",
        "torch",
    ]
    for expected in ("miss", "document"):
        p = _run_cli(args, cache)
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        prov = json.loads((out / "harbour-ferry.uk.md.json").read_text("utf-8"))
        assert prov["cache"] == expected
        assert prov["signature"].startswith("translate|model:model@")
        assert prov["revision"] and prov["settings"]["beams"] == 1 and "versions" in prov
    stats = _run_cli(["cache", "stats", "--json"], cache)
    text, err = stats.communicate(timeout=60)
    assert stats.returncode == 0, err
    assert json.loads(text)["entries"]
