"""Folder runs under damage: every input accounted for, manifests that accumulate and are
rebuilt, file modes, leftovers, prompt stops on real signals, size limits and job files that
reach beyond their folder. The damage is done for real: permissions removed (as an ordinary
user when the tests run as root), symbolic link loops, processes killed and signalled."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO
from tests.helpers import (
    OBJECTS,
    SUBJECTS,
    VERBS,
    article,
    manifest,
    nobody,
    outputs,
    plan_for,
    run_forked_as,
)
from workbench.cli.app import app
from workbench.runs.outputs import clean_temp_files, discover_all, write_text_atomic


def lead(paths: list[Path | str], out: Path, *extra: str) -> object:
    """``workbench summarise PATHS --model lead`` (no model needed) in-process."""
    args = ["summarise", *map(str, paths), "--model", "lead", "--from", "en", "--out", str(out)]
    return CliRunner().invoke(app, [*args, *extra])


def env(**more: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), **more}


@pytest.fixture
def model(tiny) -> Path:
    return tiny("marian-multi")


# --- issue: files workbench cannot read are refused, not mangled -----------------------------


def test_a_file_type_without_a_reader_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "page.docx").write_text("<p>The council met.</p>", encoding="utf-8")
    (tmp_path / "clip.sub").write_text("{1}{25}Hi\n", "utf-8")
    good = tmp_path / "a.md"
    good.write_text(article(1), encoding="utf-8")
    out = tmp_path / "out"
    res = lead([tmp_path / "page.docx", tmp_path / "clip.sub", good], out)
    assert res.exit_code == 1, res.output
    lines = [line for line in res.stderr.splitlines() if "error" in line]
    assert len(lines) == 2
    for name, suffix in (("page.docx", ".docx"), ("clip.sub", ".sub")):
        (line,) = [x for x in lines if name in x]
        assert f"is a {suffix} file" in line and ".txt, .html, .htm, .md, .markdown" in line
    assert sorted(outputs(out)) == ["a.summary.en.md"]  # nothing renamed .txt
    rows = {Path(r["input"]).name: r for r in manifest(out)}
    assert rows["page.docx"]["error"] and rows["clip.sub"]["error"] and not rows["a.md"]["error"]


# --- every input accounted for ---------------------------------------------------------------


def test_symlink_loops_and_broken_links_are_reported_not_followed_forever(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.md").write_text(article(1), encoding="utf-8")
    (src / "sub" / "b.md").write_text(article(2), encoding="utf-8")
    (src / "sub" / "back").symlink_to("..")  # a folder loop
    (src / "self.md").symlink_to("self.md")  # a file link to itself
    (src / "gone.md").symlink_to("nowhere.md")  # a broken link
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "c.md").write_text(article(3), encoding="utf-8")
    (src / "linked").symlink_to(elsewhere)  # a link to a folder outside: followed
    found = discover_all([str(src)])
    assert sorted(str(s.rel) for s in found.sources) == ["a.md", "linked/c.md", "sub/b.md"]
    errors = {Path(e.path).name: e.problem for e in found.errors}
    assert set(errors) == {"back", "self.md", "gone.md"}
    assert "symbolic link loop" in errors["back"] and "symbolic link loop" in errors["self.md"]
    assert "missing" in errors["gone.md"]
    # Through the CLI each is one line and one manifest row; the readable articles complete.
    out = tmp_path / "out"
    res = lead([src], out)
    assert res.exit_code == 1, res.output
    assert sum("symbolic link" in line for line in res.stderr.splitlines()) == 3
    rows = manifest(out)
    assert sum(bool(r["error"]) for r in rows) == 3
    assert sorted(outputs(out)) == [
        "a.summary.en.md",
        "linked/c.summary.en.md",
        "sub/b.summary.en.md",
    ]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder an unprivileged user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="wb-integrity-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for p in path.rglob("*"):
            if p.is_dir() and not p.is_symlink():
                p.chmod(0o755)
        shutil.rmtree(path, ignore_errors=True)


def _as_nobody() -> tuple[int, int] | None:
    """(uid, gid) of an unprivileged user to run a check as when we are root, else None."""
    try:
        return nobody()
    except KeyError:
        pytest.skip("running as root and there is no 'nobody' user to drop privileges to")


def test_an_unreadable_folder_and_file_are_failed_rows(shared_dir: Path) -> None:
    """Permissions really removed; as root (which ignores them) the run is made as nobody."""
    src = shared_dir / "in"
    (src / "secret").mkdir(parents=True)
    (src / "a.md").write_text(article(1), encoding="utf-8")
    (src / "secret" / "b.md").write_text(article(2), encoding="utf-8")
    (src / "locked.md").write_text(article(3), encoding="utf-8")
    out, warm_out = shared_dir / "out", shared_dir / "warm"
    out.mkdir()
    out.chmod(0o777)
    (src / "secret").chmod(0)
    (src / "locked.md").chmod(0)
    common = ["--model", "lead", "--from", "en", "--no-cache"]
    warm = ["summarise", str(src / "a.md"), *common, "--out", str(warm_out)]
    args = ["summarise", str(src), *common, "--out", str(out)]
    code, err = run_forked_as(_as_nobody(), args, warm)
    assert code == 1, err
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 2, err
    assert any("secret" in e and "folder cannot be read" in e for e in errors)
    assert any("locked.md" in e and "cannot be read" in e for e in errors)
    rows = {Path(r["input"]).name: r for r in manifest(out)}
    assert rows["secret"]["error"] and rows["locked.md"]["error"]
    assert rows["a.md"]["error"] is None and Path(rows["a.md"]["output"]).is_file()
    assert "1 done (0 from cache), 2 failed" in err


def test_inputs_whose_outputs_share_a_name_fail_before_anything_is_written(
    model: Path, tmp_path: Path
) -> None:
    # `notes` and `notes.txt` both translate to notes.uk.txt: the first keeps it, the second
    # is a failed row naming both, and its translation never overwrites the first's.
    (tmp_path / "notes").write_text(article(1), encoding="utf-8")
    (tmp_path / "notes.txt").write_text(article(2), encoding="utf-8")
    out = tmp_path / "out"
    args = ["translate", str(tmp_path / "notes"), str(tmp_path / "notes.txt"), "--to", "uk"]
    res = CliRunner().invoke(
        app, [*args, "--from", "en", "--model", str(model), "--out", str(out), "--no-cache"]
    )
    assert res.exit_code == 1, res.output
    rows = {Path(r["input"]).name: r for r in manifest(out)}
    assert rows["notes"]["error"] is None
    assert "would overwrite those of" in rows["notes.txt"]["error"]
    assert "notes.*.txt" in rows["notes.txt"]["error"]
    prov = json.loads((out / "notes.uk.txt.json").read_text("utf-8"))
    assert Path(prov["input"]).name == "notes"
    # a.md and a.markdown do not collide: their outputs keep their own suffixes.
    (tmp_path / "a.md").write_text(article(3), encoding="utf-8")
    (tmp_path / "a.markdown").write_text(article(4), encoding="utf-8")
    res = lead([tmp_path / "a.md", tmp_path / "a.markdown"], tmp_path / "out2")
    assert res.exit_code == 0, res.output
    assert sorted(outputs(tmp_path / "out2")) == ["a.summary.en.markdown", "a.summary.en.md"]


def test_earlier_outputs_inside_the_input_tree_are_rows_not_inputs(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        (src / f"a{i}.md").write_text(article(i), encoding="utf-8")
    first = tmp_path / "first"
    assert lead([src], first).exit_code == 0
    # An earlier --out moved into the inbox, and one loose output with its provenance.
    shutil.copytree(first, src / "old")
    shutil.copy(first / "a0.summary.en.md", src / "a0.summary.en.md")
    shutil.copy(first / "a0.summary.en.md.json", src / "a0.summary.en.md.json")
    out = tmp_path / "second"
    res = lead([src], out)
    assert res.exit_code == 0, res.output
    skipped = [line for line in res.stderr.splitlines() if line.startswith("workbench: skipped")]
    assert len(skipped) == 2
    assert any("old" in line and "earlier output folder" in line for line in skipped)
    assert any("a0.summary.en.md" in line and "earlier output" in line for line in skipped)
    assert "2 done (0 from cache), 0 failed, 2 earlier outputs not read" in res.stderr
    rows = manifest(out)
    noted = [r for r in rows if r["note"]]
    assert len(noted) == 2 and all(r["cache"] == "not-read" and not r["error"] for r in noted)
    assert sorted(outputs(out)) == ["a0.summary.en.md", "a1.summary.en.md"]


def test_a_named_folder_holding_a_manifest_is_read_however_it_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The folder the user names may hold a manifest of its own (e.g. it was once an --out);
    # only folders below it are earlier outputs, whether it is named by a relative path or not.
    from workbench.runs.outputs import discover_all

    news = tmp_path / "news"
    news.mkdir()
    (news / "a.txt").write_text("The council met on Monday.\n", encoding="utf-8")
    (news / "manifest.jsonl").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for named in ("news", str(news)):
        found = discover_all([named])
        assert [s.rel for s in found.sources] == [Path("a.txt")], named
        assert found.skipped == [], named


# --- the manifest of a shared --out ------------------------------------------------------------


def test_manifest_accumulates_rows_of_runs_sharing_an_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    docs = []
    for i in range(4):
        doc = tmp_path / f"d{i}.md"
        doc.write_text(article(i), encoding="utf-8")
        docs.append(doc)
    for doc in docs:
        assert lead([doc], out).exit_code == 0
    assert sorted(Path(r["input"]).name for r in manifest(out)) == [d.name for d in docs]
    # A rerun replaces the rows with the same (input, task, language) and keeps the others.
    assert lead([docs[1]], out, "--sentences", "2").exit_code == 0
    rows = manifest(out)
    assert len(rows) == 4 and [r["input"] for r in rows] == sorted(r["input"] for r in rows)
    # An earlier row whose output is gone is dropped; a failed input replaces its rows.
    (out / "d2.summary.en.md").unlink()
    docs[3].write_bytes(b"\xff\xfe")
    assert lead([docs[3]], out).exit_code == 1
    rows = {Path(r["input"]).name: r for r in manifest(out)}
    assert set(rows) == {"d0.md", "d1.md", "d3.md"} and rows["d3.md"]["lang"] == "-"


def test_a_killed_runs_manifest_is_rebuilt_from_provenance(model: Path, tmp_path: Path) -> None:
    src, other = tmp_path / "in", tmp_path / "other"
    for folder, first, n in ((src, 0, 16), (other, 20, 2)):
        folder.mkdir()
        for i in range(first, first + n):
            (folder / f"a{i:02d}.md").write_text(article(i, 6), encoding="utf-8")
    out, cache = tmp_path / "out", tmp_path / "c.sqlite3"
    code = (
        "import workbench.tasks.translate as t; t.chunk_segments = lambda backend, limit: 4\n"
        "from workbench.cli.app import main; import sys; sys.argv = ['workbench'] + sys.argv[1:]\n"
        "main()\n"
    )
    args = ["translate", str(src), "--to", "uk", "--from", "en", "--model", str(model)]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args, "--out", str(out), "--cache", str(cache)],
        cwd=REPO,
        env=env(),
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not list(out.glob("*.uk.md.json")):
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.kill()
    proc.wait()
    assert not (out / "manifest.jsonl").exists()
    # (an output the kill caught before its provenance was written cannot be listed)
    written = sorted(p.name[: -len(".json")] for p in out.glob("*.uk.md.json"))
    assert written
    assert len(written) < 16
    # The next run into the same --out (other inputs) lists what the killed run wrote.
    res = CliRunner().invoke(
        app, ["translate", str(other), *args[2:], "--out", str(out), "--cache", str(cache)]
    )
    assert res.exit_code == 0, res.output
    rows = manifest(out)
    rebuilt = sorted(Path(r["output"]).name for r in rows if Path(r["input"]).parent == src)
    assert rebuilt == written
    assert all(r["task"] == "translate" and r["lang"] == "uk" and r["signature"] for r in rows)
    assert len(rows) == len(written) + 2


# --- modes and leftovers -----------------------------------------------------------------------


def test_outputs_follow_the_umask_and_keep_a_mode_the_user_set(tmp_path: Path) -> None:
    doc = tmp_path / "a.md"
    doc.write_text(article(1), encoding="utf-8")
    out = tmp_path / "out"
    old = os.umask(0o027)
    try:
        from workbench.runs import outputs

        outputs._umask = None  # read the umask again
        assert lead([doc], out).exit_code == 0
        target = out / "a.summary.en.md"
        prov = out / "a.summary.en.md.json"
        for path in (target, prov, out / "manifest.jsonl"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
        target.chmod(0o604)
        prov.chmod(0o600)
        doc.write_text(article(2), encoding="utf-8")  # a changed input rewrites both
        assert lead([doc], out).exit_code == 0
        assert "meeting on day 2" in target.read_text("utf-8")
        assert stat.S_IMODE(target.stat().st_mode) == 0o604
        assert stat.S_IMODE(prov.stat().st_mode) == 0o600
        os.umask(0o002)
        outputs._umask = None
        write_text_atomic(tmp_path / "new.txt", "x")
        assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o664
    finally:
        os.umask(old)
        outputs._umask = None


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftover_temporary_files_are_cleaned_and_only_ours(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    # A run killed while writing leaves its temporary file; a real one, from a real process.
    dead = _dead_pid()
    script = (
        "import os, sys, tempfile; from pathlib import Path\n"
        "fd, tmp = tempfile.mkstemp(dir=sys.argv[1], prefix='.a.uk.md.%d.' % os.getpid(),"
        " suffix='.tmp')\n"
        "os.write(fd, b'half'); os.kill(os.getpid(), 9)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(out / "sub")], check=False)
    killed = list((out / "sub").glob(".a.uk.md.*.tmp"))
    assert len(killed) == 1
    old_style = out / ".b.ko.md.k2x9q0za.tmp"  # an earlier version's name, an hour old
    old_style.write_text("", "utf-8")
    os.utime(old_style, (time.time() - 7200, time.time() - 7200))
    dead_one = out / f".c.ko.md.{dead}.abcdefgh.tmp"
    dead_one.write_text("", "utf-8")
    live = out / f".d.ko.md.{os.getpid()}.abcdefgh.tmp"  # a run writing right now
    live.write_text("", "utf-8")
    fresh_old_style = out / ".e.ko.md.abcdefgh.tmp"  # may belong to a running old version
    fresh_old_style.write_text("", "utf-8")
    theirs = [out / ".notes.tmp", out / "draft.tmp", out / ".x.abcdefgh.tmp.bak"]
    for p in theirs:
        p.write_text("mine", "utf-8")
    removed = clean_temp_files(out)
    assert sorted(removed) == sorted([*killed, old_style, dead_one])
    assert live.exists() and fresh_old_style.exists() and all(p.exists() for p in theirs)
    # A folder run cleans on start: nothing of ours is left after it.
    doc = tmp_path / "a.md"
    doc.write_text(article(1), encoding="utf-8")
    live.unlink()
    (out / f".f.md.{dead}.zzzzzzzz.tmp").write_text("", "utf-8")
    assert lead([doc], out).exit_code == 0
    left = {p.name for p in out.rglob("*.tmp")}
    assert left == {".notes.tmp", "draft.tmp", fresh_old_style.name}


# --- stopping promptly on real signals ---------------------------------------------------------

# The run is one chunk of every segment (the stop cannot wait for a chunk boundary), and it
# announces itself in a file: when decoding starts (the signal lands while the batch is in
# flight), or once the given number of segments are finished (the signal lands while the rest
# of the list is decoding or being finished: what finished must be kept).
_STOP_SCRIPT = """
import sys, pathlib
import workbench.tasks.translate as t
t.chunk_segments = lambda backend, limit: 100000
marker, after = pathlib.Path(sys.argv[1]), int(sys.argv[2])
from workbench.models.seq2seq_common import Seq2SeqBase
start = Seq2SeqBase._start
def announced(self, *a, **k):
    if not after:
        marker.write_text("decoding")
    return start(self, *a, **k)
Seq2SeqBase._start = announced
from workbench.models import ct2_backend
ct2_start = ct2_backend.CT2Seq2Seq._start
def ct2_announced(self, *a, **k):
    pending = ct2_start(self, *a, **k)
    if not after:
        marker.write_text("decoding")
    return pending
ct2_backend.CT2Seq2Seq._start = ct2_announced
finish, finished = Seq2SeqBase._finish, []
def counted(self, *a, **k):
    out = finish(self, *a, **k)
    if len(a) == 5 and after and not marker.exists():  # not a repeat-guard retry's own
        finished.append(out)
        if len(finished) == after:
            marker.write_text("finished")
    return out
Seq2SeqBase._finish = counted
from workbench.cli.app import main
sys.argv = ["workbench"] + sys.argv[3:]
main()
"""


def _short_articles(root: Path, n: int, sentences: int) -> Path:
    """Articles of short unique sentences: many rows per batch, each quick to decode."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        body = [
            f"{SUBJECTS[(i + j) % 6]} {VERBS[j % 4]} {OBJECTS[(i * j) % 4]} on day {i}-{j}."
            for j in range(sentences)
        ]
        (root / f"long{i}.md").write_text(f"# Long report {i}\n\n" + "\n\n".join(body) + "\n")
    return root


def _segment_entries(cache: Path) -> int:
    if not cache.exists():
        return 0
    with sqlite3.connect(cache) as conn:
        return conn.execute("SELECT count(*) FROM entries WHERE kind = 'segment'").fetchone()[0]


_UNINTERRUPTED: dict[str, dict[str, bytes]] = {}
#: Segments finished before the signal in the "finished" cases.
FINISHED_FIRST = 3


@pytest.mark.parametrize(
    ("backend", "sig", "code", "when"),
    [
        ("ctranslate2", signal.SIGINT, 130, "decoding"),
        ("ctranslate2", signal.SIGTERM, 143, "finished"),
        ("torch", signal.SIGTERM, 143, "decoding"),
        ("torch", signal.SIGINT, 130, "finished"),
    ],
)
def test_a_signal_mid_batch_stops_within_seconds_keeps_what_finished_and_the_rerun_is_identical(
    model: Path, tmp_path: Path, backend: str, sig: int, code: int, when: str
) -> None:
    pytest.importorskip("ctranslate2") if backend == "ctranslate2" else None
    src = _short_articles(tmp_path / "in", 2, 12)
    out, cache, marker = tmp_path / "out", tmp_path / "c.sqlite3", tmp_path / "marker"
    args = ["translate", str(src), "--to", "uk", "--from", "en", "--model", str(model)]
    # On the CPU on every machine, so that the batch lasts long enough to be interrupted.
    args += ["--backend", backend, "--device", "cpu", "--out", str(out), "--cache", str(cache)]
    args += ["-q"]
    home = {"WORKBENCH_HOME": str(tmp_path / "home")}
    after = FINISHED_FIRST if when == "finished" else 0
    proc = subprocess.Popen(
        [sys.executable, "-c", _STOP_SCRIPT, str(marker), str(after), *args],
        cwd=REPO,
        env=env(**home),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not marker.exists():
        time.sleep(0.005)
    # The marker is written as the batch starts (or once the first segments are finished).
    assert proc.poll() is None, "the run ended before the signal could be sent"
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    took = time.monotonic() - sent
    assert proc.returncode == code, err
    assert took < 8, f"the stop took {took:.1f} s"
    assert "finished outputs and cache entries are kept" in err and "Traceback" not in err
    # No document was complete: nothing was written as an output.
    assert not outputs(out)
    if when == "finished":
        # The whole run was one chunk, so none was complete before the stop; the segments
        # finished within it are kept all the same.
        assert _segment_entries(cache) >= FINISHED_FIRST
    rerun = subprocess.run(
        [sys.executable, "-m", "workbench", *args], cwd=REPO, env=env(**home), capture_output=True
    )
    assert rerun.returncode == 0, rerun.stderr
    if backend not in _UNINTERRUPTED:  # one uninterrupted run per backend serves every signal
        clean_out = tmp_path / "clean"
        clean_args = [*args[: args.index("--out")], "--out", str(clean_out), "--no-cache", "-q"]
        clean = subprocess.run(
            [sys.executable, "-m", "workbench", *clean_args],
            cwd=REPO,
            env=env(**home),
            capture_output=True,
        )
        assert clean.returncode == 0, clean.stderr
        _UNINTERRUPTED[backend] = outputs(clean_out)
    # What was kept is exactly what an uninterrupted run gives: never a cut row.
    assert outputs(out) == _UNINTERRUPTED[backend] and len(outputs(out)) == 2


def test_a_stop_keeps_the_rows_that_had_ended_and_drops_those_it_cut(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Greedy torch: a stop during ``generate`` keeps the rows that had emitted EOS (exactly
    what an uninterrupted decode gives) and drops every row it cut."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    from workbench import Workbench, cancel
    from workbench.models.generation import effective
    from workbench.settings import GenerationSettings

    texts = [f"{SUBJECTS[i % 6]} {VERBS[i % 4]} {OBJECTS[i % 4]} on day {i}." for i in range(12)]
    gen = GenerationSettings(beams=1, repeat_guard=0)  # greedy: beam search may revise
    wb = Workbench(cache=False, backend="torch")
    be = wb.pool.backend(wb.pool.resolve(str(model)))
    be._ensure_loaded()
    ctl, forced = be._control(plan_for(be, "en", "uk", gen))
    dec = be._decoding(ctl, forced, effective(be.resolved.path, gen))
    ids = be._encode([ctl.prefix + t for t in texts])
    eos = next(iter(dec.eos_ids))
    # A random model rarely ends a row: raise EOS until some rows end early and some do not.
    for value in range(0, 40, 2):
        with torch.no_grad():
            be._model.final_logits_bias[0, eos] = float(value)
        rows = be._decode(ids, 12, dec)
        steps = [next((k for k, t in enumerate(r) if t == eos), None) for r in rows]
        ended = [k for k in steps if k is not None]
        if ended and len(ended) < len(texts) - 1:
            break
    else:
        pytest.fail("no EOS bias gives rows that end and rows that do not")
    stop_at = min(ended) + 1  # generated tokens when the stop arrives
    reference = be.translate(texts, plan_for(be, "en", "uk", gen))

    class StopAt(StoppingCriteria):
        """A stop requested during generate, at a known step (as a signal would)."""

        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kw: object) -> object:
            if input_ids.shape[1] - 1 >= stop_at:  # column 0 is the decoder start
                cancel.request()
            return torch.full((input_ids.shape[0],), cancel.requested(), dtype=torch.bool)

    monkeypatch.setattr(cancel, "stopping_criteria", lambda: StoppingCriteriaList([StopAt()]))
    try:
        with pytest.raises(cancel.Cancelled) as stopped:
            be.translate(texts, plan_for(be, "en", "uk", gen))
    finally:
        cancel.clear()
    kept = getattr(stopped.value, cancel.KEPT_OUTPUTS)
    assert set(kept) == {i for i, k in enumerate(steps) if k is not None and k < stop_at}
    assert {i: o.text for i, o in kept.items()} == {i: reference[i].text for i in kept}
    assert 0 < len(kept) < len(texts)


# --- size limits --------------------------------------------------------------------------------


def _peak_child_rss_mb(args: list[str], **extra: str) -> tuple[subprocess.CompletedProcess, float]:
    """Run the CLI in a fresh child process; its peak resident memory in MB (Linux: KB units)."""
    script = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(p.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, sys.executable, "-m", "workbench", *args],
        cwd=REPO,
        env=env(**extra),
        capture_output=True,
        text=True,
        timeout=300,
    )
    rss_kb, code = proc.stdout.split()
    proc.returncode = int(code)
    return proc, int(rss_kb) / 1024


def test_a_20_mb_document_is_refused_at_once_in_little_memory(model: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    line = "The council approved the new budget after a long meeting on Monday. " * 8 + "\n\n"
    with big.open("w", encoding="utf-8") as fh:
        while fh.tell() < 20_000_000:
            fh.write(line * 1000)
    small = tmp_path / "small.md"
    small.write_text(article(1), encoding="utf-8")
    out = tmp_path / "out"
    common = ["--from", "en", "--out", str(out), "--no-cache"]
    runs = {
        "translate": ["translate", str(big), "--to", "uk", "--model", str(model), *common],
        "summarise": ["summarise", str(big), str(small), "--model", "lead", *common],
    }
    for task, args in runs.items():
        start = time.monotonic()
        proc, peak = _peak_child_rss_mb(args)
        took = time.monotonic() - start
        assert proc.returncode == 1, proc.stderr
        (line_,) = [x for x in proc.stderr.splitlines() if "error" in x]
        assert "big.txt" in line_ and "over the limit of 5.0 MB per document" in line_
        assert peak < 300, f"{task}: peak RSS {peak:.0f} MB"
        assert took < 60, f"{task}: took {took:.1f} s"
    # The summary of the small article was still made, and the limit is configurable.
    assert (out / "small.summary.en.md").is_file()
    args = ["summarise", str(small), "--model", "lead", "--out", str(out), "--no-cache"]
    res = CliRunner().invoke(app, args, env={"WORKBENCH_MAX_DOCUMENT_BYTES": "100"})
    assert res.exit_code == 1 and "over the limit of 100 bytes per document" in res.stderr


def test_a_document_with_too_many_sentences_is_refused_before_any_model_work(
    model: Path, tmp_path: Path
) -> None:
    doc = tmp_path / "many.md"
    doc.write_text(article(1, sentences=30), encoding="utf-8")
    out = tmp_path / "out"
    # A model whose weights cannot be loaded (its files are all there, so the command accepts
    # it) proves no model work started: the limit fails first.
    broken = tmp_path / "broken-model"
    shutil.copytree(model, broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    args = ["translate", str(doc), "--to", "uk", "--from", "en", "--model", str(broken)]
    res = CliRunner().invoke(app, [*args, "--out", str(out)], env={"WORKBENCH_MAX_SEGMENTS": "20"})
    assert res.exit_code == 1, res.output
    (line,) = [x for x in res.stderr.splitlines() if "error" in x]
    assert "many.md" in line and "over 20 sentences" in line and "WORKBENCH_MAX_SEGMENTS" in line
    res = CliRunner().invoke(app, [*args, "--out", str(out)], env={"WORKBENCH_MAX_SEGMENTS": "x"})
    assert res.exit_code == 2 and "WORKBENCH_MAX_SEGMENTS" in res.stderr


def test_a_result_over_the_cache_value_limit_is_written_but_not_cached(
    model: Path, tmp_path: Path
) -> None:
    doc = tmp_path / "in" / "a.md"
    doc.parent.mkdir()
    doc.write_text(article(1), encoding="utf-8")
    args = ["translate", str(doc.parent), "--to", "uk", "--from", "en", "--model", str(model)]

    def run(out: Path, cache: Path, limit: str) -> tuple[object, dict[str, int]]:
        res = CliRunner().invoke(
            app,
            [*args, "--out", str(out), "--cache", str(cache)],
            env={"WORKBENCH_MAX_CACHE_VALUE_BYTES": limit},
        )
        with sqlite3.connect(cache) as conn:
            kinds = dict(conn.execute("SELECT kind, count(*) FROM entries GROUP BY kind"))
        return res, kinds

    res, kinds = run(tmp_path / "out", tmp_path / "small.sqlite3", "300")
    assert res.exit_code == 0, res.output
    # Written all the same, with the note in its provenance; its segments are cached.
    written = tmp_path / "out" / "a.uk.md"
    assert written.is_file()
    prov = json.loads(written.with_name("a.uk.md.json").read_text("utf-8"))
    (note,) = [n for n in prov["notes"] if n.startswith("not-cached")]
    assert "over the limit of 300 bytes" in note
    assert kinds.get("document", 0) == 0 and kinds["segment"] == 6
    (line,) = [x for x in res.stderr.splitlines() if "not-cached" in x]
    assert "warning" in line and "a.md" in line and "300 bytes" in line
    assert "WORKBENCH_MAX_CACHE_VALUE_BYTES" in line
    # Under the default limit the same result is cached whole, and the outputs are the same.
    res, kinds = run(tmp_path / "out2", tmp_path / "big.sqlite3", "")
    assert res.exit_code == 0 and kinds["document"] == 1 and "not-cached" not in res.stderr
    assert (tmp_path / "out2" / "a.uk.md").read_bytes() == written.read_bytes()


def test_the_document_limit_holds_for_the_python_api_and_stdin(model: Path, tmp_path: Path) -> None:
    from workbench import Workbench
    from workbench.errors import InputError
    from workbench.settings import RunSettings

    doc = tmp_path / "a.md"
    doc.write_text(article(1), encoding="utf-8")
    wb = Workbench(run=RunSettings(max_document_bytes=100), cache=False)
    for call in (
        lambda: wb.translate(doc, "uk", src="en", model=str(model)),
        lambda: wb.translate(str(doc), "uk", src="en", model=str(model)),
        lambda: wb.summarise(doc, model="lead"),
    ):
        with pytest.raises(InputError) as err:
            call()
        assert str(err.value).startswith(f"{doc}: is ")
        assert "over the limit of 100 bytes per document" in str(err.value)
    (failed,) = wb.summarise_documents([doc], model="lead")
    assert "over the limit of 100 bytes" in (failed.error or "")
    with pytest.raises(InputError, match=r"^text: .* over the limit of 100 bytes"):
        wb.summarise(article(1), model="lead")
    # Under the limit the API works as before.
    assert Workbench(cache=False).summarise(doc, model="lead").text
    commands = {
        "translate": ["translate", "-", "--to", "uk", "--from", "en", "--model", str(model)],
        "summarise": ["summarise", "-", "--model", "lead", "--from", "en"],
    }
    for task, args in commands.items():
        res = CliRunner().invoke(
            app,
            [*args, "--no-cache"],
            input=article(1),
            env={"WORKBENCH_MAX_DOCUMENT_BYTES": "100"},
        )
        assert res.exit_code == 2, (task, res.output)  # a usage error, as any on stdin
        (line,) = [x for x in res.stderr.splitlines() if x.strip()]
        assert "stdin: is " in line and "over the limit of 100 bytes per document" in line, line


# --- job files that reach beyond their folder ----------------------------------------------------

JOB = """
inputs = ["in/"]
out = "{out}"
from = "en"
{extra}
[[steps]]
task = "summarise"
to = ["own"]
model = "lead"
"""


def _job(folder: Path, out: str, extra: str = "") -> Path:
    (folder / "in").mkdir(parents=True, exist_ok=True)
    (folder / "in" / "a.md").write_text(article(1), encoding="utf-8")
    job = folder / "job.toml"
    job.write_text(JOB.format(out=out, extra=extra), encoding="utf-8")
    return job


@pytest.mark.parametrize(
    ("out", "extra", "says"),
    [
        ("../published", "", "writes outside its own folder"),
        ("/ABS/published", "", "writes outside its own folder"),
        ("published", 'engine = "ray"\naddress = "ray://10.0.0.9:10001"', "Ray cluster at"),
    ],
)
def test_a_job_reaching_beyond_its_folder_needs_confirmation(
    tmp_path: Path, out: str, extra: str, says: str
) -> None:
    folder = tmp_path / "jobs"
    job = _job(folder, out.replace("/ABS", str(tmp_path)), extra)
    runner = CliRunner()
    plan = runner.invoke(app, ["run", str(job), "--dry-run"])
    assert plan.exit_code == 0, plan.output
    (line,) = [x for x in plan.stdout.splitlines() if x.startswith("needs confirmation")]
    assert says in line and "--yes" in line
    plan = runner.invoke(app, ["run", str(job), "--dry-run", "--json"])
    assert says in json.loads(plan.stdout)["confirm"][0]
    # No terminal and no --yes: one line, nothing run (no Ray contacted, nothing written).
    refused = runner.invoke(app, ["run", str(job)])
    assert refused.exit_code == 2
    assert refused.stderr.count("\n") == 1 and says in refused.stderr
    assert "add --yes" in refused.stderr
    assert not (tmp_path / "published").exists() and not (folder / "published").exists()
    if "ray" not in extra:
        done = runner.invoke(app, ["run", str(job), "--yes"])
        assert done.exit_code == 0, done.output
        assert (tmp_path / "published" / "a.summary.en.md").is_file()


def test_a_job_inside_its_folder_runs_without_confirmation(tmp_path: Path) -> None:
    job = _job(tmp_path, "published")
    res = CliRunner().invoke(app, ["run", str(job)])
    assert res.exit_code == 0, res.output
    plan = CliRunner().invoke(app, ["run", str(job), "--dry-run"])
    assert "needs confirmation" not in plan.stdout


@pytest.mark.parametrize(("answer", "code"), [("n", 2), ("y", 0)])
def test_on_a_terminal_the_job_asks(tmp_path: Path, answer: str, code: int) -> None:
    job = _job(tmp_path / "jobs", "../published")
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "run", str(job)],
        cwd=REPO,
        env=env(),
        stdin=slave,
        stderr=slave,
        stdout=slave,
    )
    os.close(slave)
    seen = b""
    deadline = time.time() + 120
    while b"Run it?" not in seen and time.time() < deadline:
        # A child that never asks must fail the test, not hang it.
        if not select.select([master], [], [], max(0.0, deadline - time.time()))[0]:
            break
        seen += os.read(master, 1024)
    os.write(master, answer.encode() + b"\n")
    while True:
        try:
            chunk = os.read(master, 1024)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=120) == code, seen
    os.close(master)
    assert b"writes outside its own folder" in seen
    assert (tmp_path / "published" / "a.summary.en.md").is_file() == (answer == "y")
