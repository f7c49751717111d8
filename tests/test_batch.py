"""Folder runs: failures isolated, the manifest, existing outputs, progress, and interrupts
(in-process, SIGTERM and SIGKILL) that a rerun finishes byte for byte."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO
from tests.helpers import manifest, outputs
from workbench import Workbench
from workbench.cli.app import app
from workbench.cli.progress import RunProgress
from workbench.engines import LocalEngine
from workbench.errors import WorkbenchError
from workbench.runs.folder import run_steps, translate_paths
from workbench.runs.report import MANIFEST_FIELDS, Row
from workbench.runs.steps import Step
from workbench.settings import RunSettings, TranslateOptions

SUBJECTS = ("The council", "Police", "The mayor", "Residents", "The ferry company", "Farmers")
VERBS = ("approved", "delayed", "welcomed", "rejected")
OBJECTS = ("the new budget", "the bridge plan", "the harbour repairs", "the tram line")
CACHE_STATES = {"document", "segments", "partial", "miss", "off", "skipped", None}


def article(i: int, sentences: int = 3) -> str:
    """A short article whose every sentence is unique to it (so nothing is shared)."""
    lines = [f"# Report number {i}", ""]
    for j in range(sentences):
        lines += [
            f"{SUBJECTS[(i + j) % 6]} {VERBS[j % 4]} {OBJECTS[(i + j) % 4]} on day {i}{j}.",
            "",
        ]
    return "\n".join(lines)


def corpus(root: Path, n: int, sentences: int = 3) -> Path:
    """``n`` articles, alternating .md and .txt, some in a subfolder."""
    for i in range(n):
        sub = root / "world" if i % 3 == 2 else root
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"a{i:02d}.{'md' if i % 2 == 0 else 'txt'}").write_text(
            article(i, sentences), encoding="utf-8"
        )
    return root


def cli_args(src: Path, out: Path, model: Path, to: str = "uk") -> list[str]:
    return [
        "translate",
        str(src),
        "--to",
        to,
        "--from",
        "en",
        "--model",
        str(model),
        "--beams",
        "1",
        "--backend",
        "torch",
        "--out",
        str(out),
    ]


def wb(**kw) -> Workbench:
    kw.setdefault("beams", 1)
    return Workbench(backend="torch", **kw)


@pytest.fixture
def model(tiny) -> Path:
    return tiny("marian-multi")


def test_bad_file_among_good_ones(model: Path, tmp_path: Path) -> None:
    src = corpus(tmp_path / "in", 3)
    (src / "world" / "broken.txt").write_bytes(b"\xff\xfeU\x00T\x00F\x00")  # UTF-16
    (src / "photo.jpg").write_bytes(b"\x89PNG")  # not an article: ignored and counted
    (src / ".hidden.md").write_text("never read", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, cli_args(src, out, model, "uk,ru"))
    assert result.exit_code == 1, result.output
    # The good documents completed, mirrored under --out, in both languages.
    for rel in ("a00.uk.md", "a00.ru.md", "a01.uk.txt", "world/a02.ru.md"):
        assert (out / rel).is_file(), rel
    assert not list(out.rglob("*broken*")) and not list(out.rglob("*photo*"))
    rows = manifest(out)
    failed = [r for r in rows if r["error"]]
    assert len(failed) == 1 and failed[0]["input"].endswith("broken.txt")
    assert "UTF-16" in failed[0]["error"] and failed[0]["output"] is None
    assert len(rows) == 1 + 3 * 2
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("6 done (0 from cache), 1 failed, 1 other files ignored")
    assert "photo.jpg" in result.stderr and ".hidden" not in result.stderr


def test_manifest_schema_order_and_json(model: Path, tmp_path: Path) -> None:
    src = corpus(tmp_path / "in", 3)
    out = tmp_path / "out"
    first = CliRunner().invoke(app, [*cli_args(src, out, model, "uk,ru"), "--json"])
    assert first.exit_code == 0, first.output
    printed = [json.loads(line) for line in first.stdout.splitlines()]
    rows = manifest(out)
    assert printed == rows
    for row in rows:
        assert tuple(row) == MANIFEST_FIELDS
        assert row["task"] == "translate" and row["lang"] in ("uk", "ru")
        assert row["cache"] in CACHE_STATES and row["error"] is None
        assert isinstance(row["seconds"], float) and row["seconds"] >= 0
        assert row["signature"].startswith("translate|model:marian-multi@")
        assert Path(row["output"]).is_file()
    # Deterministic order: by input, then the languages as given.
    assert [(r["input"], r["lang"]) for r in rows] == sorted(
        ((r["input"], r["lang"]) for r in rows), key=lambda k: (k[0], k[1] != "uk")
    )
    again = CliRunner().invoke(app, [*cli_args(src, out, model, "uk,ru"), "--json"])
    rerun = manifest(out)
    assert [(r["input"], r["lang"], r["output"]) for r in rerun] == [
        (r["input"], r["lang"], r["output"]) for r in rows
    ]
    assert {r["cache"] for r in rerun} == {"document"}
    assert "6 done (6 from cache), 0 failed" in again.stderr


def test_overwrite_is_default_and_skip_existing_keeps_up_to_date_outputs(
    model: Path, tmp_path: Path
) -> None:
    src = corpus(tmp_path / "in", 2)
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(app, cli_args(src, out, model)).exit_code == 0
    target, other = out / "a00.uk.md", out / "a01.uk.txt"
    original = target.read_text("utf-8")
    before = other.stat().st_mtime_ns
    # Default (--overwrite): outputs are written again from the cache...
    target.write_text("edited by hand\n", encoding="utf-8")
    time.sleep(0.01)
    assert runner.invoke(app, cli_args(src, out, model)).exit_code == 0
    assert target.read_text("utf-8") == original
    assert other.stat().st_mtime_ns == before  # ...and identical bytes are not rewritten
    # --skip-existing: an up-to-date output is left alone (hand edits survive)...
    target.write_text("edited by hand\n", encoding="utf-8")
    res = runner.invoke(app, [*cli_args(src, out, model), "--skip-existing", "--json"])
    assert res.exit_code == 0, res.output
    assert target.read_text("utf-8") == "edited by hand\n"
    assert {json.loads(line)["cache"] for line in res.stdout.splitlines()} == {"skipped"}
    # ...but a changed input, or a different model setting, is translated again.
    (src / "a00.md").write_text(article(7), encoding="utf-8")
    res = runner.invoke(app, [*cli_args(src, out, model), "--skip-existing", "--json"])
    rows = {Path(r["input"]).name: r["cache"] for r in map(json.loads, res.stdout.splitlines())}
    assert rows == {"a00.md": "miss", "a01.txt": "skipped"}
    assert target.read_text("utf-8") != "edited by hand\n"


def test_output_folder_inside_the_input_is_never_read(model: Path, tmp_path: Path) -> None:
    src = corpus(tmp_path / "in", 1)
    out = src / "translated"
    runner = CliRunner()
    for _ in range(2):
        res = runner.invoke(app, cli_args(src, out, model))
        assert res.exit_code == 0, res.output
    assert len(manifest(out)) == 1  # the first run's a00.uk.md was not taken for an input
    res = runner.invoke(app, cli_args(src, src, model))
    assert res.exit_code == 2
    assert "is also an input folder" in res.stderr


def test_clashing_output_names_fail_only_those_documents(model: Path, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        (folder / "same.md").write_text(article(1), encoding="utf-8")
    (two / "other.md").write_text(article(2), encoding="utf-8")
    report = translate_paths(
        wb(cache=False),
        [str(one), str(two)],
        TranslateOptions(("uk",), src="en", model=str(model)),
        out=tmp_path / "out",
    )
    errors = {Path(r.input).parent.name + "/" + Path(r.input).name: r.error for r in report.rows}
    assert errors["one/same.md"] is None and errors["two/other.md"] is None
    assert "would overwrite" in (errors["two/same.md"] or "")


class CountingEngine(LocalEngine):
    """Records every chunk (target language, segments) that reaches the model."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def translate_chunks(self, pool, chunks):
        for i, outs in super().translate_chunks(pool, chunks):
            self.calls.append((chunks[i].tgt, len(chunks[i].texts)))
            yield i, outs


def test_segments_of_all_documents_go_together_and_each_model_loads_once(
    model: Path, tmp_path: Path, monkeypatch
) -> None:
    import workbench.tasks.translate as pipeline

    monkeypatch.setattr(pipeline, "chunk_segments", lambda backend, limit: 10)
    src = corpus(tmp_path / "in", 6)  # 6 documents x 4 unique segments
    engine = CountingEngine()
    bench = wb(cache=False, engine=engine)
    report = translate_paths(
        bench,
        [str(src)],
        TranslateOptions(("uk", "ru"), src="en", model=str(model)),
        out=tmp_path / "out",
    )
    assert report.failed == 0 and report.done == 12
    # 24 segments per language in chunks of 10: 3 engine calls each, across all documents.
    assert engine.calls == [("uk", 10), ("uk", 10), ("uk", 4), ("ru", 10), ("ru", 10), ("ru", 4)]
    assert len(bench.pool.loaded) == 1


class InterruptingEngine(LocalEngine):
    """Ctrl-C after ``after`` chunks."""

    def __init__(self, after: int) -> None:
        self.after = after

    def translate_chunks(self, pool, chunks):
        for item in super().translate_chunks(pool, chunks):
            if self.after == 0:
                raise KeyboardInterrupt
            self.after -= 1
            yield item


def test_interrupt_keeps_finished_work_and_a_rerun_completes_it(
    model: Path, tmp_path: Path, monkeypatch
) -> None:
    import workbench.tasks.translate as pipeline

    monkeypatch.setattr(pipeline, "chunk_segments", lambda backend, limit: 8)
    src = corpus(tmp_path / "in", 4)
    cache, out = tmp_path / "c.sqlite3", tmp_path / "out"
    steps = [Step("translate", ("uk", "ru"), model=str(model))]
    with pytest.raises(KeyboardInterrupt):
        run_steps(
            wb(cache=cache, engine=InterruptingEngine(2)), [str(src)], steps, out=out, src="en"
        )
    # The uk group (16 segments, two chunks) finished: its outputs are written, and the
    # manifest lists exactly those.
    written = manifest(out)
    assert {r["lang"] for r in written} == {"uk"} and len(written) == 4
    assert sorted(outputs(out)) == ["a00.uk.md", "a01.uk.txt", "a03.uk.txt", "world/a02.uk.md"]
    assert not list(out.rglob("*.tmp"))
    resumed = run_steps(wb(cache=cache), [str(src)], steps, out=out, src="en")
    assert resumed.failed == 0
    assert {r.cache for r in resumed.rows if r.lang == "uk"} == {"document"}
    clean = tmp_path / "clean"
    run_steps(wb(cache=False), [str(src)], steps, out=clean, src="en")
    assert outputs(out) == outputs(clean) and len(outputs(out)) == 8


def _spawn(args: list[str], cache: Path) -> subprocess.Popen:
    # Chunks of 4 segments give the run several points at which it can be stopped.
    code = (
        "import workbench.tasks.translate as t; t.chunk_segments = lambda backend, limit: 4\n"
        "from workbench.cli.app import main; import sys; sys.argv = ['workbench'] + sys.argv[1:]\n"
        "main()\n"
    )
    env = {**os.environ, "WORKBENCH_CACHE": str(cache)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _segments_in(cache: Path) -> int:
    try:
        con = sqlite3.connect(cache, timeout=1)
        try:
            return con.execute("SELECT count(*) FROM entries WHERE kind='segment'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _stop_mid_run(args: list[str], cache: Path, sig: int) -> tuple[int, str]:
    """Start a run and send ``sig`` once its first chunk is in the cache."""
    proc = _spawn(args, cache)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not _segments_in(cache):
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be stopped"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_killed_run_then_rerun_gives_identical_outputs(model: Path, tmp_path: Path) -> None:
    src = corpus(tmp_path / "in", 4)  # 16 unique segments per language
    out, cache = tmp_path / "out", tmp_path / "c.sqlite3"
    args = cli_args(src, out, model, "uk,ru")
    code, _ = _stop_mid_run(args, cache, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert 0 < _segments_in(cache) < 32
    resumed = _spawn(args, cache)
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert "8 done" in err
    clean_out = tmp_path / "clean"
    clean = _spawn(cli_args(src, clean_out, model, "uk,ru"), tmp_path / "clean.sqlite3")
    _, err = clean.communicate(timeout=600)
    assert clean.returncode == 0, err
    assert outputs(out) == outputs(clean_out) and len(outputs(out)) == 8
    assert not list(out.rglob("*.tmp"))
    strip = ("seconds", "cache", "output")
    assert [{k: v for k, v in r.items() if k not in strip} for r in manifest(out)] == [
        {k: v for k, v in r.items() if k not in strip} for r in manifest(clean_out)
    ]


def test_sigterm_stops_cleanly_and_the_rerun_continues(model: Path, tmp_path: Path) -> None:
    src = corpus(tmp_path / "in", 4)
    out, cache = tmp_path / "out", tmp_path / "c.sqlite3"
    args = cli_args(src, out, model, "uk,ru")
    code, err = _stop_mid_run(args, cache, signal.SIGTERM)
    assert code == 143, err
    assert "terminated; finished outputs and cache entries are kept" in err
    assert "Traceback" not in err
    assert (out / "manifest.jsonl").is_file()  # the rows finished before the stop
    stored = _segments_in(cache)
    resumed = _spawn([*args, "--json"], cache)
    text, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    rows = [json.loads(line) for line in text.splitlines()]
    assert len(rows) == 8 and all(r["error"] is None for r in rows)
    assert any(r["cache"] in ("document", "segments", "partial") for r in rows), stored


def test_progress_is_quiet_off_a_terminal_and_prints_rows(capsys) -> None:
    row = Row("in/a.md", "translate", "uk", output="out/a.uk.md", signature="sig", cache="miss")
    with RunProgress(line=lambda r: f"{r.input} -> {r.output}") as progress:
        assert not progress.show_bars  # pytest's stderr is not a terminal
        progress.documents(2)
        progress.segments(10)
        progress.segments_done(5)
        progress.row(row)
        progress.document_done()
    assert capsys.readouterr().err == "in/a.md -> out/a.uk.md\n"
    assert not RunProgress(quiet=True).show_bars
    # Forced on, the bars take the same calls (a later step adds to the segment total).
    with RunProgress(bars=True, line=lambda r: None) as progress:
        progress.documents(1)
        progress.segments(4)
        progress.segments(6)
        progress.segments_done(10)
        progress.document_done()
        assert progress._progress is not None
        assert [t.total for t in progress._progress.tasks] == [1, 10]


def test_summarise_folder_run_in_each_articles_own_language(tmp_path: Path) -> None:
    from workbench.runs.folder import summarise_folder

    src = tmp_path / "in"
    src.mkdir()
    (src / "en.md").write_text(
        "# Ferry\n\nThe council met on Monday to discuss the ferry. The ferry will run again "
        "in May after repairs. Residents welcomed the decision at the meeting.\n\nThe mayor "
        "said the budget was approved. Work on the harbour starts next week.\n",
        encoding="utf-8",
    )
    (src / "short.txt").write_text("Too short.\n", encoding="utf-8")
    out = tmp_path / "out"
    report = summarise_folder(
        Workbench(cache=False), [str(src)], out=out, src="en", model="lead", sentences=2
    )
    rows = {Path(r.input).name: r for r in report.rows}
    assert rows["en.md"].ok and rows["en.md"].lang == "en"
    assert (out / "en.summary.en.md").read_text("utf-8") == (
        "The council met on Monday to discuss the ferry. The ferry will run again in May "
        "after repairs.\n"
    )
    assert not rows["short.txt"].ok and "too short" in (rows["short.txt"].error or "")
    assert [r["task"] for r in manifest(out)] == ["summarise", "summarise"]
    with pytest.raises(WorkbenchError):
        Step("translate", ("own",))


def test_local_engine_fails_only_the_group_whose_model_fails() -> None:
    """An error mid-stream fails the chunk it happened in; that group is not tried again and
    the next group still runs."""
    from workbench.engines.work import Chunk
    from workbench.errors import ModelError
    from workbench.models.base import Output
    from workbench.models.plan import ModelPlan

    class Backend:
        name = "x"

        def __init__(self, fail_at: int | None) -> None:
            self.fail_at, self.seen = fail_at, 0

        def translate_many(self, parts, plan):
            for texts in parts:
                if self.seen == self.fail_at:
                    raise ModelError("model broke")
                self.seen += 1
                yield [Output(t.upper()) for t in texts]

    backends = {"bad": Backend(fail_at=1), "good": Backend(fail_at=None)}

    class Pool:
        def backend(self, resolved):
            return backends[resolved]

    def chunk(group: int, name: str, text: str) -> Chunk:
        plan = ModelPlan("translate", name, None, "x", src="en", tgt="uk")  # type: ignore[arg-type]
        return Chunk(group, plan, (text,), (text,))

    chunks = [chunk(0, "bad", "a"), chunk(0, "bad", "b"), chunk(0, "bad", "c")]
    chunks += [chunk(1, "good", "d"), chunk(1, "good", "e")]
    got = list(LocalEngine().translate_chunks(Pool(), chunks))  # type: ignore[arg-type]
    assert [i for i, _ in got] == [0, 1, 3, 4]
    assert got[0][1] == [Output("A")]
    assert isinstance(got[1][1], ModelError)
    assert got[2][1] == [Output("D")] and got[3][1] == [Output("E")]
    assert backends["bad"].seen == 1  # chunk "c" was never tried


def test_chunk_size_follows_the_engine_and_never_caps_the_batch_limit() -> None:
    from workbench.tasks.translate import chunk_segments

    assert chunk_segments("torch-fp32", 64) == 64
    assert chunk_segments("torch-fp32", 200) == 200
    assert chunk_segments("ct2-int8", 64) == 256
    assert chunk_segments("torch-bf16", 256) == 512


def test_a_row_limit_above_64_runs_as_one_batch(model: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    text = "\n\n".join(f"Item {i} was counted on Monday." for i in range(150))
    (src / "a.txt").write_text(text + "\n", "utf-8")
    bench = wb(cache=False, run=RunSettings(backend="torch", max_batch_size=160))
    report = translate_paths(
        bench,
        [str(src)],
        TranslateOptions(("uk",), src="en", model=str(model)),
        out=tmp_path / "out",
    )
    assert report.failed == 0
    stats = bench.pool.loaded[0].stats
    # Chunks of 64 segments would have cut this into three batches.
    assert stats.segments == 150 and stats.batches == 1


def test_batch_limits_default_by_device_and_the_run_s_own_values_win() -> None:
    assert RunSettings().batch_limits("cpu") == (64, 4096)
    assert RunSettings().batch_limits("cuda") == (256, 16384)
    assert RunSettings().batch_limits("cuda:1") == (256, 16384)
    assert RunSettings().batch_limits("mps") == (64, 4096)
    assert RunSettings(max_batch_size=8, batch_tokens=100).batch_limits("cuda") == (8, 100)
    with pytest.raises(WorkbenchError, match="max_batch_size must be at least 1"):
        RunSettings(max_batch_size=0)
