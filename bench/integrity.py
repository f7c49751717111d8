"""Integrity suite: real damage, real processes, the real CLI, on a tiny model built here.

    python bench/integrity.py [--out integrity.md] [--keep DIR] [--only rows,files,...]

Every case runs ``python -m workbench`` in subprocesses, as a user would, against a cache and
files it damages for real (bytes overwritten in the SQLite file, rows rewritten with raw SQL,
files truncated, processes killed with SIGKILL or stopped with SIGINT/SIGTERM mid-batch,
permissions removed and the run made as an unprivileged user, symbolic link loops, a 20 MB
input, job files that write elsewhere). Groups: rows, files, concurrent, kill, inputs, runs.
For each case it counts:

- handled: the run did what the README promises: a damaged cache row is a miss that is
  recomputed and replaced with one warning line; page damage stops with one line naming the
  file and the command that fixes it, and that command works; a bad input is one clear error
  line while the other documents finish; a killed run resumes; an input that cannot be read
  or would overwrite another's output is one line and a manifest row; a signal stops the run
  within seconds with its exit code; a job file reaching beyond its folder is refused (exit 2,
  nothing written) without --yes;
- lost: outputs missing that a finished run must have written (or manifest rows dropped);
- wrong served: outputs that differ from the uninterrupted reference where they must be
  identical, that carry damaged bytes (U+FFFD), or that hold another document's translation.

Prints a table and writes it as markdown to ``--out``. Takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ARTICLES = sorted((REPO / "seeds" / "en").glob("*.*"))
TARGET = "uk"  # the tiny multi-target Marian serves be, ru, uk


@dataclass
class Case:
    group: str
    name: str
    handled: bool
    lost: int = 0
    wrong: int = 0
    note: str = ""


class Suite:
    """Shared state: the model, a reference run and its pristine cache."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "WORKBENCH_HOME": str(root / "home"),
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
        self.env.pop("WORKBENCH_CACHE", None)
        self.cases: list[Case] = []
        self.skipped: list[str] = []
        self.model = root / "model"
        self.corpus = root / "corpus"
        self.ref_out = root / "ref-out"
        self.ref_cache = root / "ref.sqlite3"

    # -- running the CLI ---------------------------------------------------------------------

    def args(self, inputs: list[Path], out: Path, cache: Path | None) -> list[str]:
        cmd = [sys.executable, "-m", "workbench", "translate", *map(str, inputs)]
        cmd += ["--to", TARGET, "--from", "en", "--model", str(self.model), "--out", str(out)]
        cmd += ["--beams", "1", "--backend", "torch"]
        return cmd + (["--cache", str(cache)] if cache else ["--no-cache"])

    def run(self, cmd: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cmd, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def translate(
        self, out: Path, cache: Path | None, inputs: list[Path] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.run(self.args(inputs or [self.corpus], out, cache))

    def cache_cmd(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run([sys.executable, "-m", "workbench", "cache", *args], timeout=120)

    # -- setting up --------------------------------------------------------------------------

    def prepare(self) -> None:
        from tests.tinymodels import build

        build("marian-multi", self.model)
        self.corpus.mkdir()
        for path in ARTICLES:
            shutil.copy(path, self.corpus / path.name)
        body = ARTICLES[0].read_text("utf-8")
        (self.corpus / "extra.md").write_text(body + "\n\nOne more line at the end.\n", "utf-8")
        done = self.translate(self.ref_out, self.ref_cache)
        if done.returncode != 0:
            raise SystemExit(f"the reference run failed:\n{done.stderr}")
        # Cases copy the cache file alone: everything must be in it (checkpointed at exit).
        assert not self.ref_cache.with_name(self.ref_cache.name + "-wal").exists()

    # -- checking outputs --------------------------------------------------------------------

    @staticmethod
    def outputs(out: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(out)): p.read_bytes()
            for p in sorted(out.rglob(f"*.{TARGET}.*"))
            if p.suffix != ".json"
        }

    def compare(
        self, out: Path, strict: bool = True, ref: Path | None = None
    ) -> tuple[int, int, int]:
        """(lost, wrong, differing) against the reference outputs."""
        expected = self.outputs(ref or self.ref_out)
        got = self.outputs(out)
        lost = sum(name not in got for name in expected)
        differing = sum(name in got and got[name] != data for name, data in expected.items())
        damaged = sum("\ufffd" in data.decode("utf-8", "replace") for data in got.values())
        wrong = damaged + (differing if strict else 0)
        return lost, wrong, differing

    def record(self, case: Case) -> None:
        case.note = case.note.replace(f"{self.root}/", "")  # short, and the same on every run
        self.cases.append(case)
        mark = "ok " if case.handled and not case.lost and not case.wrong else "BAD"
        print(f"  [{mark}] {case.group}: {case.name}  {case.note}", flush=True)


# -- cache damage ---------------------------------------------------------------------------


def _rows(cache: Path, kind: str) -> list[tuple[str, str]]:
    with sqlite3.connect(cache) as conn:
        conn.text_factory = lambda b: b.decode("utf-8", "replace")
        return conn.execute(
            "SELECT key, value FROM entries WHERE kind = ? ORDER BY key", (kind,)
        ).fetchall()


def _unique_fragment(cache: Path, value: str, width: int = 8, ascii: bool = False) -> bytes:
    """Bytes of ``value`` stored exactly once in the file, starting with a multibyte character
    (a 3-byte one, such as Korean, when there is one) or, with ``ascii``, with a letter."""
    data = cache.read_bytes()
    tests = (
        [lambda c: c.isascii() and c.isalpha()]
        if ascii
        else [lambda c: ord(c) > 0x7FF, lambda c: ord(c) > 0x7F]
    )
    for test in tests:
        for start in range(len(value) - width):
            piece = value[start : start + width]
            encoded = piece.encode("utf-8")
            if test(piece[0]) and data.count(encoded) == 1:
                return encoded
    raise RuntimeError("no unique fragment")


def flip_high_bit(cache: Path, key: str, kind: str) -> None:
    """Flip the high bit of a byte inside the stored text of the row ``key`` where the file
    holds it: SQLite still reads the row, but its value is no longer UTF-8."""
    data = bytearray(cache.read_bytes())
    # The record holds the key, then the kind, then the value (the key's index holds no kind).
    marker = key.encode() + kind.encode()
    start = data.find(marker) + len(marker)
    assert start >= len(marker) and data.find(marker, start) < 0
    window = range(start, min(start + 3000, len(data)))
    leads = [i for i in window if data[i] >= 0xE0] or [i for i in window if data[i] >= 0xC0]
    data[leads[0] + 1] ^= 0x80  # a continuation byte of a Korean (or Cyrillic) character
    cache.write_bytes(bytes(data))


def flip_ascii_bit(cache: Path, value: str) -> None:
    """Flip a low bit of an ASCII letter inside ``value``: still UTF-8, checksum no longer holds."""
    data = bytearray(cache.read_bytes())
    data[data.find(_unique_fragment(cache, value, ascii=True))] ^= 0x01
    cache.write_bytes(bytes(data))


def sql(cache: Path, statement: str, *args: object) -> None:
    with sqlite3.connect(cache) as conn:
        conn.execute(statement, args)


def page_of(cache: Path, value: str) -> int:
    data = cache.read_bytes()
    size = int.from_bytes(data[16:18], "big")
    return data.find(_unique_fragment(cache, value)) // size + 1


def overwrite_page_header(cache: Path, page: int) -> int:
    data = bytearray(cache.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    data[(page - 1) * size : (page - 1) * size + 12] = b"\xff" * 12
    cache.write_bytes(bytes(data))
    return 0


def row_damage(suite: Suite) -> None:
    """Damage that touches single rows: a miss, one warning, recomputed and replaced."""
    from workbench.cache import checksum

    def docs(cache: Path) -> list[tuple[str, str]]:
        return _rows(cache, "document")

    def segs(cache: Path) -> list[tuple[str, str]]:
        return _rows(cache, "segment")

    def moved(cache: Path) -> None:
        (a, _), (b, _) = docs(cache)[:2]
        sql(
            cache,
            "UPDATE entries SET (value, checksum) = "
            "(SELECT value, checksum FROM entries WHERE key = ?) WHERE key = ?",
            b,
            a,
        )

    def shape(cache: Path) -> None:
        key = docs(cache)[0][0]
        text = json.dumps(["not", "a", "document"])
        sql(
            cache,
            "UPDATE entries SET value = ?, checksum = ? WHERE key = ?",
            text,
            checksum(key, text),
            key,
        )

    def segment_and_document(cache: Path) -> None:
        key, value = docs(cache)[0]
        targets = {t for _, t in json.loads(value)["segments"]}
        mine = [(k, v) for k, v in segs(cache) if json.loads(v) in targets and not v.isascii()]
        flip_high_bit(cache, key, "document")  # a segment of this document, and the document
        flip_high_bit(cache, max(mine, key=lambda kv: len(kv[1]))[0], "segment")

    def key_bytes(cache: Path) -> None:
        # Through SQL so that the key's index stays consistent with the table.
        key = docs(cache)[0][0].encode()
        damaged = key[:5] + bytes([key[5] ^ 0x80]) + key[6:]  # no longer UTF-8: orphaned
        sql(cache, "UPDATE entries SET key = CAST(? AS TEXT) WHERE key = ?", damaged, key.decode())

    cases: list[tuple[str, Callable[[Path], None], bool, int]] = [
        # (name, damage, outputs must equal the reference, warnings expected)
        (
            "high bit flipped in stored Korean/Ukrainian text (document row)",
            lambda c: flip_high_bit(c, docs(c)[0][0], "document"),
            True,
            1,
        ),
        ("high bit flipped in a segment row and its document row", segment_and_document, False, 2),
        (
            "ASCII bit flipped inside a value (valid UTF-8, checksum fails)",
            lambda c: flip_ascii_bit(c, docs(c)[1][1]),
            True,
            1,
        ),
        (
            "checksum overwritten (raw SQL)",
            lambda c: sql(c, "UPDATE entries SET checksum = 'x' WHERE key = ?", docs(c)[0][0]),
            True,
            1,
        ),
        ("another document's value and checksum copied under a key (raw SQL)", moved, True, 1),
        ("wrong JSON shape with a valid checksum (raw SQL)", shape, True, 1),
        (
            "value cut short (raw SQL)",
            lambda c: sql(
                c, "UPDATE entries SET value = substr(value, 1, 40) WHERE key = ?", docs(c)[0][0]
            ),
            True,
            1,
        ),
        (
            "high bit flipped in a key (raw SQL; orphaned row, verify --fix removes it)",
            key_bytes,
            True,
            0,
        ),
    ]
    for name, damage, strict, warnings_expected in cases:
        case_dir = suite.root / f"row-{len(suite.cases)}"
        case_dir.mkdir()
        cache = case_dir / "c.sqlite3"
        shutil.copy(suite.ref_cache, cache)
        try:
            damage(cache)
            run = suite.translate(case_dir / "out", cache)
            warnings = [ln for ln in run.stderr.splitlines() if "warning:" in ln]
            lost, wrong, differing = suite.compare(case_dir / "out", strict=strict)
            # Rows read as damaged were replaced; an orphaned row is removed by verify --fix.
            verify = suite.cache_cmd("verify", "--fix", "--cache", str(cache))
            expected = f"{0 if warnings_expected else 1} removed"
            handled = (
                run.returncode == 0
                and len(warnings) == (1 if warnings_expected else 0)
                and (not warnings or str(cache) in warnings[0])
                and verify.returncode == 0
                and expected in verify.stdout
            )
            removed = (
                verify.stdout.split("removed")[0].split(",")[-1].strip()
                if "removed" in verify.stdout
                else "?"
            )
            note = f"exit {run.returncode}, {len(warnings)} warning line(s), verify --fix removed {removed}"
            if differing and not strict:
                note += f"; {differing} output(s) recomputed with other batch neighbours differ"
            suite.record(Case("cache row damage", name, handled, lost, wrong, note))
        except Exception as exc:  # a case that crashes the harness is a case not handled
            suite.record(Case("cache row damage", name, False, note=f"harness: {exc!r}"))


def file_damage(suite: Suite) -> None:
    """Damage to the file: one line naming the file and the fix; the fix works."""

    def page(cache: Path) -> int:
        return overwrite_page_header(cache, page_of(cache, _rows(cache, "document")[0][1]))

    def truncated(cache: Path) -> int:
        data = cache.read_bytes()
        cache.write_bytes(data[: len(data) * 2 // 3])
        return 0

    def garbage(cache: Path) -> int:
        cache.write_bytes(os.urandom(cache.stat().st_size))
        return 0

    def large_then_page(cache: Path) -> int:
        # Past the size checked at open (2 MiB), damage shows only when the page is read.
        from workbench.cache import SqliteStore

        with SqliteStore(cache) as store:
            filler = [(f"{i:064x}", "채움 заповнення " * 20) for i in range(6000)]
            store.put_segments(filler, {"signature": "translate|model:other@1", "model": "other"})
        page(cache)
        return len(filler)

    cases = [
        ("page header overwritten", page),
        ("file truncated to two thirds", truncated),
        ("file overwritten with random bytes", garbage),
        ("page header overwritten in a 4 MB cache (found mid-run)", large_then_page),
    ]
    for name, damage in cases:
        case_dir = suite.root / f"file-{len(suite.cases)}"
        case_dir.mkdir()
        cache = case_dir / "c.sqlite3"
        shutil.copy(suite.ref_cache, cache)
        try:
            entries = len(_rows(cache, "document")) + len(_rows(cache, "segment"))
            entries += damage(cache)
            run = suite.translate(case_dir / "out", cache)
            lines = [ln for ln in run.stderr.splitlines() if ln.strip() and "Loading" not in ln]
            errors = [ln for ln in lines if "error" in ln]
            one_line = (
                run.returncode == 2
                and len(errors) == 1
                and str(cache) in errors[0]
                and "workbench cache repair" in errors[0]
            )
            fix = suite.cache_cmd("repair", "--cache", str(cache))
            again = suite.translate(case_dir / "out2", cache)
            lost, wrong, differing = suite.compare(case_dir / "out2", strict=False)
            handled = one_line and fix.returncode == 0 and again.returncode == 0
            kept = re.search(r"its (\d+) sound entries \((\d+) damaged", fix.stdout)
            what = f"kept {kept[1]} of {entries} entries" if kept else "moved aside"
            note = (
                f"exit {run.returncode}, {len(errors)} error line(s); repair: {what}; "
                f"rerun exit {again.returncode}"
            )
            if differing:
                note += f"; {differing} recomputed output(s) differ from the first run"
            suite.record(Case("cache file damage", name, handled, lost, wrong, note))
        except Exception as exc:
            suite.record(Case("cache file damage", name, False, note=f"harness: {exc!r}"))


# -- processes --------------------------------------------------------------------------------


def concurrent(suite: Suite) -> None:
    """Four processes on one new cache, each with an overlapping share of the documents."""
    case_dir = suite.root / "concurrent"
    names = sorted(p.name for p in suite.corpus.iterdir())
    folders = []
    for k in range(4):
        folder = case_dir / f"in{k}"
        folder.mkdir(parents=True)
        for name in (names[k % len(names)], names[(k + 1) % len(names)]):
            shutil.copy(suite.corpus / name, folder / name)
        folders.append(folder)
    cache = case_dir / "shared.sqlite3"
    procs = [
        subprocess.Popen(
            suite.args([folder], case_dir / f"out{k}", cache),
            cwd=REPO,
            env=suite.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k, folder in enumerate(folders)
    ]
    results = [(p, *p.communicate(timeout=600)) for p in procs]
    ok = all(p.returncode == 0 and "locked" not in err for p, _, err in results)
    lost = wrong = 0
    for k in range(4):
        got = suite.outputs(case_dir / f"out{k}")
        lost += 2 - len(got)
        wrong += sum("\ufffd" in v.decode("utf-8", "replace") for v in got.values())
    # Later runs return what was stored first, every time.
    first = suite.translate(case_dir / "again1", cache)
    second = suite.translate(case_dir / "again2", cache)
    stable = suite.outputs(case_dir / "again1") == suite.outputs(case_dir / "again2")
    cached = first.stderr.count("(document)") == len(names)
    verify = suite.cache_cmd("verify", "--cache", str(cache))
    differing = 0
    for name in names:
        versions = {
            out.read_bytes()
            for out in case_dir.glob(f"out*/{Path(name).stem}.{TARGET}{Path(name).suffix}")
        }
        differing += len(versions) > 1
    handled = ok and stable and cached and verify.returncode == 0 and second.returncode == 0
    note = (
        f"4 processes exit 0: {ok}; reruns all from cache: {cached}, identical: {stable}; "
        f"{differing} of {len(names)} shared documents decoded differently by two processes"
    )
    suite.record(
        Case("processes", "4 concurrent processes on one cache", handled, lost, wrong, note)
    )


SAME_KEYS = """
import sys, time
from workbench.cache import SqliteStore

store = SqliteStore(sys.argv[1])
keys = [f"seg-{i:03d}" for i in range(100)]
while time.time() < float(sys.argv[3]):
    time.sleep(0.001)
for k in keys:  # one commit per key, so the two writers interleave
    store.put_segments([(k, f"{sys.argv[2]} {k}")], {"signature": "translate|model:m@1"})
got = store.get_segments(keys)
print(" ".join(got[k].split()[0] for k in keys))
store.close()
"""


def same_keys(suite: Suite) -> None:
    """Two processes store different results for the same 100 keys at the same time."""
    cache = suite.root / "same-keys.sqlite3"
    start = str(time.time() + 1.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SAME_KEYS, str(cache), name, start],
            cwd=REPO,
            env=suite.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("첫째", "другий")
    ]
    outs = [(p, *p.communicate(timeout=120)) for p in procs]
    from workbench.cache import SqliteStore

    with SqliteStore(cache) as store:
        stored = store.get_segments([f"seg-{i:03d}" for i in range(100)])
    final = " ".join(stored[f"seg-{i:03d}"].split()[0] for i in range(100))
    agree = all(p.returncode == 0 and out.strip() == final for p, out, _ in outs)
    wins = {name: final.split().count(name) for name in ("첫째", "другий")}
    # A process that read back anything but what is stored now would have served a value
    # that a later run replaced: counted as wrong.
    wrong = sum(out.strip() != final for _, out, _ in outs)
    note = f"both read back what is stored (first writer per key: {wins}): {agree}"
    suite.record(
        Case(
            "processes",
            "2 processes store different results for the same keys",
            agree,
            wrong=wrong,
            note=note,
        )
    )


def killed(suite: Suite) -> None:
    """kill -9 at three moments, then the same command again: byte-identical to a clean run."""
    corpus = suite.root / "kill-corpus"
    corpus.mkdir()
    lines = ARTICLES[0].read_text("utf-8").splitlines()
    for i in range(6):
        body = "\n".join(lines) + f"\n\nThis is note number {i} about the ferry.\n"
        (corpus / f"doc{i:02d}.md").write_text(body, "utf-8")
    clean = suite.root / "kill-clean"
    done = suite.translate(clean, suite.root / "kill-clean.sqlite3", [corpus])
    if done.returncode != 0:
        suite.record(Case("processes", "kill -9 (reference run)", False, note=done.stderr[-200:]))
        return

    def segments(cache: Path) -> int:
        try:
            with sqlite3.connect(cache, timeout=1) as conn:
                return conn.execute("SELECT count(*) FROM entries").fetchone()[0]
        except sqlite3.Error:
            return 0

    moments: list[tuple[str, Callable[[Path, Path], bool]]] = [
        ("kill -9 while starting (before any result)", lambda out, cache: True),
        ("kill -9 after the first cache commit", lambda out, cache: segments(cache) > 0),
        (
            "kill -9 with half the outputs written",
            lambda out, cache: len(list(out.glob(f"*.{TARGET}.md"))) >= 3,
        ),
    ]
    for n, (name, ready) in enumerate(moments):
        out = suite.root / f"kill-out{n}"
        cache = suite.root / f"kill{n}.sqlite3"
        proc = subprocess.Popen(
            suite.args([corpus], out, cache),
            cwd=REPO,
            env=suite.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5 if n == 0 else 0)
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None and not ready(out, cache):
            time.sleep(0.02)
        was_running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        again = suite.translate(out, cache, [corpus])
        lost, wrong, _ = suite.compare(out, strict=True, ref=clean)
        handled = was_running and again.returncode == 0
        note = f"killed mid-run: {was_running}; rerun exit {again.returncode}, byte-identical: {not wrong}"
        suite.record(Case("processes", name, handled, lost, wrong, note))


# -- bad inputs -----------------------------------------------------------------------------


def bad_inputs(suite: Suite) -> None:
    """Bad files among good ones: one clear line each, the good documents all finish."""
    folder = suite.root / "mixed"
    folder.mkdir()
    good = ARTICLES[:2]
    for path in good:
        shutil.copy(path, folder / path.name)
    bad: dict[str, Path] = {
        "binary file (.md)": folder / "binary.md",
        "empty file (.txt)": folder / "empty.txt",
        "invalid UTF-8 (.md, Latin-1 bytes)": folder / "latin1.md",
        "unknown suffix named explicitly (.docx)": suite.root / "notes.docx",
    }
    bad["binary file (.md)"].write_bytes(b"\x00\x01PK\x03\x04" + os.urandom(3000))
    bad["empty file (.txt)"].write_bytes(b"")
    bad["invalid UTF-8 (.md, Latin-1 bytes)"].write_bytes(
        "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e.\n\nNa\u00efve fa\u00e7ade.\n".encode("latin-1")
    )
    import zipfile

    with zipfile.ZipFile(bad["unknown suffix named explicitly (.docx)"], "w") as docx:
        docx.writestr("word/document.xml", "<w:document>Hello</w:document>")
    unreadable = folder / "unreadable.md"
    unreadable.write_text("This file cannot be read.\n", "utf-8")
    os.chmod(unreadable, 0)
    if os.access(unreadable, os.R_OK):  # root reads anything: the case cannot be made here
        unreadable.unlink()
    else:
        bad["file without read permission (.md)"] = unreadable

    ref = suite.root / "mixed-ref"
    suite.translate(ref, None, list(good))
    out = suite.root / "mixed-out"
    run = suite.translate(
        out, suite.root / "mixed.sqlite3", [folder, bad["unknown suffix named explicitly (.docx)"]]
    )
    errors = [ln for ln in run.stderr.splitlines() if "error" in ln or "ignored" in ln]
    lost, wrong, _ = suite.compare(out, strict=True, ref=ref)
    for name, path in bad.items():
        mine = [ln for ln in errors if path.name in ln]
        handled = len(mine) == 1 and run.returncode == 1 and not lost
        note = mine[0] if mine else f"no line naming {path.name} (exit {run.returncode})"
        suite.record(Case("bad inputs", name, handled, lost, wrong, note))
        lost = wrong = 0  # the good documents are counted once
    if "file without read permission (.md)" not in bad:
        suite.skipped.append(
            "a file without read permission among these bad inputs (this user can read any "
            "file; the runs group makes that case as an unprivileged user)"
        )


# -- folder runs --------------------------------------------------------------------------------

# Lands a signal or a kill while a batch is in flight: each engine's decode announces itself in
# a file; ``CHUNK`` sets how many segments go to the engine at once.
_ANNOUNCING_RUN = """
import os, sys, pathlib
import workbench.tasks.translate as t
t.chunk_segments = lambda backend, limit: int(os.environ["CHUNK"])
marker = pathlib.Path(sys.argv[1])
from workbench.models.seq2seq_common import Seq2SeqBase
start = Seq2SeqBase._start
def announced(self, *a, **k):
    marker.write_text("decoding")
    return start(self, *a, **k)
Seq2SeqBase._start = announced
from workbench.models import ct2_backend
ct2_start = ct2_backend.CT2Seq2Seq._start
def ct2_announced(self, *a, **k):
    pending = ct2_start(self, *a, **k)
    marker.write_text("decoding")
    return pending
ct2_backend.CT2Seq2Seq._start = ct2_announced
from workbench.cli.app import main
sys.argv = ["workbench"] + sys.argv[2:]
main()
"""


def _write(folder: Path, names: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in names.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, "utf-8")
    return folder


def _manifest(out: Path) -> list[dict]:
    path = out / "manifest.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _errors(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "error" in ln]


def _diff(got: dict[str, bytes], expected: dict[str, bytes]) -> tuple[int, int]:
    """(lost, wrong): expected outputs missing, and outputs present with other bytes."""
    lost = sum(name not in got for name in expected)
    wrong = sum(name in got and got[name] != data for name, data in expected.items())
    return lost, wrong


def _case(suite: Suite, name: str, check: Callable[[], Case | list[Case]]) -> None:
    """Records what ``check`` found (one case or several) under the runs group."""
    try:
        found = check()
    except Exception as exc:  # a case that crashes the harness is a case not handled
        suite.record(Case("runs", name, False, note=f"harness: {exc!r}"))
        return
    for case in found if isinstance(found, list) else [found]:
        suite.record(case)


def runs(suite: Suite) -> None:
    """Folder runs: every input accounted for, shared manifests, leftovers, signals, limits
    and job files reaching beyond their folder."""
    from tests.helpers import OBJECTS, SUBJECTS, VERBS, article, nobody, outputs, run_forked_as

    base = suite.root / "runs"
    base.mkdir()
    lead = ["--model", "lead", "--from", "en"]

    def summarise(paths: list[Path], out: Path, *extra: str, **env: str):
        cmd = [sys.executable, "-m", "workbench", "summarise", *map(str, paths), *lead]
        return subprocess.run(
            [*cmd, "--out", str(out), *extra],
            cwd=REPO,
            env={**suite.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )

    def reference(docs: dict[str, str], tag: str) -> dict[str, bytes]:
        """Outputs of an untroubled run over ``docs`` alone."""
        folder = _write(base / f"{tag}-ref-in", docs)
        out = base / f"{tag}-ref-out"
        done = summarise([folder], out, "--no-cache")
        if done.returncode != 0:
            raise RuntimeError(f"reference run failed: {done.stderr[-200:]}")
        return outputs(out)

    # -- an unreadable folder and file (as nobody when we are root) ----------------------------
    def unreadable() -> list[Case]:
        user = nobody()
        shared = Path(tempfile.mkdtemp(prefix="wb-integrity-runs-", dir="/tmp"))
        try:
            shared.chmod(0o755)
            docs = {"a.md": article(1)}
            expected = reference(docs, "unreadable")
            src = _write(
                shared / "in", {**docs, "secret/b.md": article(2), "locked.md": article(3)}
            )
            out = shared / "out"
            out.mkdir()
            out.chmod(0o777)
            (src / "secret").chmod(0)
            (src / "locked.md").chmod(0)
            common = [*lead, "--no-cache"]
            warm = ["summarise", str(src / "a.md"), *common, "--out", str(shared / "warm")]
            args = ["summarise", str(src), *common, "--out", str(out)]
            code, err = run_forked_as(user, args, warm, suite.env)
            lost, wrong = _diff(outputs(out), expected)
            extra = set(outputs(out)) - set(expected)
            rows = {Path(r["input"]).name: r for r in _manifest(out)}
            who = "as nobody (forked, setuid)" if user else "as this user"
            cases = []
            for name, path, says in (
                ("unreadable sub-folder", "secret", "folder cannot be read"),
                ("unreadable file", "locked.md", "cannot be read"),
            ):
                mine = [e for e in _errors(err) if path in e and says in e]
                handled = (
                    code == 1
                    and len(mine) == 1
                    and bool(rows.get(path, {}).get("error"))
                    and not extra
                    and "1 done" in err
                )
                line = mine[0].replace(f"{shared}/", "") if mine else "no line"
                note = f"{who}: exit {code}; {line}"
                cases.append(Case("runs", name, handled, lost, wrong, note))
                lost = wrong = 0  # the readable document is counted once
            return cases
        finally:
            for p in shared.rglob("*"):
                if p.is_dir() and not p.is_symlink():
                    p.chmod(0o755)
                elif not p.is_symlink():
                    p.chmod(0o644)
            shutil.rmtree(shared, ignore_errors=True)

    try:
        for case in unreadable():
            suite.record(case)
    except KeyError:
        suite.skipped.append("unreadable folder and file: running as root with no 'nobody' user")
    except Exception as exc:
        suite.record(
            Case("runs", "unreadable sub-folder and file", False, note=f"harness: {exc!r}")
        )

    # -- symbolic link loops and a broken link ---------------------------------------------------
    def links() -> list[Case]:
        docs = {"a.md": article(1), "sub/b.md": article(2)}
        expected = reference(docs, "links")
        src = _write(base / "links-in", docs)
        (src / "sub" / "back").symlink_to("..")
        (src / "self.md").symlink_to("self.md")
        (src / "gone.md").symlink_to("nowhere.md")
        out = base / "links-out"
        run = summarise([src], out, "--no-cache")
        got = outputs(out)
        lost, wrong = _diff(got, expected)
        rows = {Path(r["input"]).name: r for r in _manifest(out)}
        cases = []
        for name, link, says in (
            ("symbolic link loop (a folder link to its parent)", "back", "symbolic link loop"),
            ("symbolic link to itself", "self.md", "symbolic link loop"),
            ("broken symbolic link", "gone.md", "symbolic link to something missing"),
        ):
            mine = [e for e in _errors(run.stderr) if f"/{link}:" in e or f"/{link} " in e]
            handled = (
                run.returncode == 1
                and len(mine) == 1
                and says in mine[0]
                and bool(rows.get(link, {}).get("error"))
                and set(got) == set(expected)
            )
            note = f"exit {run.returncode}; " + (mine[0] if mine else "no line")
            cases.append(Case("runs", name, handled, lost, wrong, note))
            lost = wrong = 0
        return cases

    _case(suite, "symbolic links", links)

    # -- two inputs whose outputs share a name -----------------------------------------------------
    def collision() -> Case:
        folder = _write(base / "collide", {"notes": article(1), "notes.txt": article(2)})
        alone = base / "collide-alone"
        suite.translate(alone, None, [folder / "notes"])
        expected = suite.outputs(alone)
        out = base / "collide-out"
        run = suite.translate(out, None, [folder / "notes", folder / "notes.txt"])
        lost, wrong = _diff(suite.outputs(out), expected)
        mine = [e for e in _errors(run.stderr) if "notes.txt" in e]
        prov = json.loads((out / f"notes.{TARGET}.txt.json").read_text("utf-8"))
        handled = (
            run.returncode == 1
            and len(mine) == 1
            and "would overwrite" in mine[0]
            and Path(prov["input"]).name == "notes"
        )
        note = f"exit {run.returncode}; " + (mine[0] if mine else "no line")
        return Case(
            "runs", "`notes` and `notes.txt` (same output name)", handled, lost, wrong, note
        )

    _case(suite, "`notes` and `notes.txt`", collision)

    # -- an earlier output folder inside the input tree ------------------------------------------
    def earlier() -> Case:
        docs = {"a0.md": article(0), "a1.md": article(1)}
        src = _write(base / "earlier-in", docs)
        first = base / "earlier-first"
        summarise([src], first, "--no-cache")
        expected = outputs(first)
        shutil.copytree(first, src / "old")
        for name in ("a0.summary.en.md", "a0.summary.en.md.json"):
            shutil.copy(first / name, src / name)
        out = base / "earlier-out"
        run = summarise([src], out, "--no-cache")
        got = outputs(out)
        lost, wrong = _diff(got, expected)
        skipped = [ln for ln in run.stderr.splitlines() if ln.startswith("workbench: skipped")]
        noted = [r for r in _manifest(out) if r.get("note")]
        handled = (
            run.returncode == 0
            and len(skipped) == 2
            and len(noted) == 2
            and set(got) == set(expected)
        )
        note = (
            f"exit {run.returncode}; {len(skipped)} 'skipped' lines, {len(noted)} manifest rows "
            f"noting them; outputs made: {sorted(got)}"
        )
        return Case(
            "runs",
            "earlier output folder (and a loose output) inside the input tree",
            handled,
            lost,
            wrong,
            note,
        )

    _case(suite, "earlier outputs in the input tree", earlier)

    # -- runs sharing one --out ------------------------------------------------------------------
    def shared_out() -> Case:
        docs = {f"d{i}.md": article(i) for i in range(5)}
        expected = reference(docs, "shared")
        src = _write(base / "shared-in", docs)
        out = base / "shared-out"
        codes = [summarise([src / name], out).returncode for name in docs]
        codes.append(summarise([src / "d2.md"], out).returncode)  # a rerun of one input
        rows = _manifest(out)
        inputs = sorted(Path(r["input"]).name for r in rows)
        lost, wrong = _diff(outputs(out), expected)
        lost += len(set(docs) - set(inputs))  # a dropped row loses track of a finished output
        handled = codes == [0] * 6 and inputs == sorted(docs)
        note = f"5 runs + 1 rerun, exits {set(codes)}; manifest rows: {len(rows)} ({inputs})"
        return Case(
            "runs", "6 runs sharing one --out (5 inputs, one twice)", handled, lost, wrong, note
        )

    _case(suite, "runs sharing one --out", shared_out)

    # -- a killed run: leftovers cleaned, manifest rebuilt ------------------------------------------
    def killed_run() -> Case:
        src = _write(base / "kill-in", {f"a{i:02d}.md": article(i, 6) for i in range(12)})
        other = _write(base / "kill-other", {f"b{i}.md": article(20 + i, 6) for i in range(2)})
        clean = base / "kill-clean"
        suite.translate(clean, None, [src])
        expected = suite.outputs(clean)
        out, cache, marker = base / "kill-out", base / "kill.sqlite3", base / "kill-marker"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _ANNOUNCING_RUN,
                str(marker),
                *suite.args([src], out, cache)[3:],
            ],
            cwd=REPO,
            env={**suite.env, "CHUNK": "4"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 300
        while (
            time.time() < deadline
            and proc.poll() is None
            and not list(out.glob(f"*.{TARGET}.md.json"))
        ):
            time.sleep(0.01)
        was_running = proc.poll() is None
        proc.kill()
        proc.wait()
        written = {p.name[: -len(".json")] for p in out.glob(f"*.{TARGET}.md.json")}
        # A temporary file left by a process killed while writing (a real one, really killed).
        script = (
            "import os, sys, tempfile\n"
            "fd, tmp = tempfile.mkstemp(dir=sys.argv[1], prefix='.a00.uk.md.%d.' % os.getpid(),"
            " suffix='.tmp')\n"
            "os.write(fd, b'half'); os.kill(os.getpid(), 9)\n"
        )
        subprocess.run([sys.executable, "-c", script, str(out)], check=False)
        leftovers = len(list(out.glob(".*.tmp")))
        no_manifest = not (out / "manifest.jsonl").exists()
        again = suite.translate(out, cache, [other])
        rows = _manifest(out)
        rebuilt = {Path(r["output"]).name for r in rows if Path(r["input"]).parent == src}
        left = len(list(out.rglob("*.tmp")))
        got = {k: v for k, v in suite.outputs(out).items() if k.startswith("a")}
        lost = sum(name not in got for name in written) + len(written - rebuilt)
        wrong = sum(got.get(name) not in (None, expected.get(name)) for name in got)
        handled = (
            was_running
            and no_manifest
            and again.returncode == 0
            and rebuilt == written
            and leftovers >= 1
            and left == 0
            and len(rows) == len(written) + 2
        )
        note = (
            f"killed with {len(written)} of 12 written and no manifest: {no_manifest}; "
            f"{leftovers} leftover temp file(s) before the next run, {left} after; "
            f"next run (other inputs) exit {again.returncode}, manifest rows {len(rows)} "
            f"({len(rebuilt)} rebuilt + 2 new)"
        )
        return Case(
            "runs",
            "killed run (SIGKILL): leftovers cleaned, manifest rebuilt",
            handled,
            lost,
            wrong,
            note,
        )

    _case(suite, "killed run", killed_run)

    # -- SIGINT / SIGTERM mid-batch ------------------------------------------------------------------
    def long_articles(sentences: int) -> Path:
        """Two articles of long sentences, all decoded as one batch: big enough that a signal
        0.3 s into decoding lands inside it (the tiny torch model decodes slower)."""
        docs = {}
        for i in range(2):
            parts = []
            for j in range(sentences):
                words = [
                    f"{SUBJECTS[(i + k) % 6]} {VERBS[k % 4]} {OBJECTS[(i * k) % 4]}"
                    for k in range(4)
                ]
                parts.append(
                    f"{' and '.join(words)} while {SUBJECTS[j % 6].lower()} waited on day {i}-{j}."
                )
            docs[f"long{i}.md"] = f"# Long report {i}\n\n" + "\n\n".join(parts) + "\n"
        return _write(base / f"long-in-{sentences}", docs)

    long_sources = {"ctranslate2": long_articles(40), "torch": long_articles(24)}
    clean_runs: dict[str, dict[str, bytes]] = {}

    def stop(backend: str, sig: int, code: int) -> Case:
        tag = f"{backend}-{sig}"
        out, cache, marker = base / f"{tag}-out", base / f"{tag}.sqlite3", base / f"{tag}-marker"
        long_src = long_sources[backend]
        args = suite.args([long_src], out, cache)[3:]
        args[args.index("--backend") + 1] = backend
        proc = subprocess.Popen(
            [sys.executable, "-c", _ANNOUNCING_RUN, str(marker), *args, "-q"],
            cwd=REPO,
            env={**suite.env, "CHUNK": "100000"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None and not marker.exists():
            time.sleep(0.005)
        mid = proc.poll() is None
        time.sleep(0.3)  # well inside the batch
        sent = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        took = time.monotonic() - sent
        # One batch holds every segment: an output written means the stop came after it.
        abandoned = not suite.outputs(out)
        rerun = subprocess.run(
            [sys.executable, "-m", "workbench", *args, "-q"],
            cwd=REPO,
            env=suite.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if backend not in clean_runs:
            clean_out = base / f"{backend}-clean"
            clean_args = suite.args([long_src], clean_out, None)[3:]
            clean_args[clean_args.index("--backend") + 1] = backend
            subprocess.run(
                [sys.executable, "-m", "workbench", *clean_args, "-q"],
                cwd=REPO,
                env=suite.env,
                capture_output=True,
                timeout=300,
            )
            clean_runs[backend] = suite.outputs(clean_out)
        lost, wrong = _diff(suite.outputs(out), clean_runs[backend])
        lines = [ln for ln in err.splitlines() if ln.strip()]
        handled = (
            mid
            and proc.returncode == code
            and took < 5
            and "Traceback" not in err
            and any("finished outputs and cache entries are kept" in ln for ln in lines)
            and rerun.returncode == 0
            and len(clean_runs[backend]) == 2
            and abandoned
        )
        name = f"{signal.Signals(sig).name} mid-batch ({backend})"
        note = (
            f"signal during decoding: {mid}, batch abandoned: {abandoned}; exit {proc.returncode} "
            f"after {took:.1f} s, "
            f"{len(lines)} line(s); rerun exit {rerun.returncode}, "
            f"byte-identical to an uninterrupted run: {not lost and not wrong}"
        )
        return Case("runs", name, handled, lost, wrong, note)

    stops = [("torch", signal.SIGINT, 130), ("torch", signal.SIGTERM, 143)]
    try:
        import ctranslate2  # noqa: F401

        stops = [("ctranslate2", signal.SIGINT, 130), ("ctranslate2", signal.SIGTERM, 143), *stops]
    except ImportError:
        suite.skipped.append("signals with the CTranslate2 engine (ctranslate2 is not installed)")
    for backend, sig, code in stops:
        _case(suite, f"{signal.Signals(sig).name} ({backend})", partial(stop, backend, sig, code))

    # -- a 20 MB document -------------------------------------------------------------------------
    # The bound: the 20 MB file may add at most this much to the peak memory of the same run
    # without it (a translation loads torch and the model for the small document either way).
    extra_mb = 50
    big_dir = base / "big"
    big_dir.mkdir()
    big = big_dir / "big.txt"
    line = "The council approved the new budget after a long meeting on Monday. " * 8 + "\n\n"
    with big.open("w", encoding="utf-8") as fh:
        while fh.tell() < 20_000_000:
            fh.write(line * 1000)
    small_docs = {"small.md": article(1)}
    peak_script = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stderr.write(p.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)\n"
    )

    def peak_run(cmd: list[str]) -> tuple[int, str, float, float]:
        """(exit code, stderr, seconds, peak resident MB) of ``cmd`` in a fresh process."""
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", peak_script, *cmd],
            cwd=REPO,
            env=suite.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        rss_kb, code = proc.stdout.split()  # Linux: kilobytes
        return int(code), proc.stderr, time.monotonic() - start, int(rss_kb) / 1024

    def oversize(task: str) -> Case:
        small = _write(base / f"big-{task}-in", small_docs)

        def cmd(paths: list[Path], out: Path) -> list[str]:
            if task == "translate":
                return suite.args(paths, out, None)
            args = [sys.executable, "-m", "workbench", "summarise", *map(str, paths), *lead]
            return [*args, "--out", str(out), "--no-cache"]

        ref_out, out = base / f"big-{task}-ref", base / f"big-{task}-out"
        ref_code, _, _, baseline = peak_run(cmd([small], ref_out))
        code, err, took, peak = peak_run(cmd([big, small], out))
        found = suite.outputs if task == "translate" else outputs
        expected = found(ref_out)
        lost, wrong = _diff(found(out), expected)
        mine = [e for e in _errors(err) if "big.txt" in e]
        handled = (
            ref_code == 0
            and len(expected) == 1
            and code == 1
            and len(_errors(err)) == 1
            and len(mine) == 1
            and "over the limit" in mine[0]
            and peak < baseline + extra_mb
        )
        note = (
            f"exit {code} in {took:.1f} s, peak memory {peak:.0f} MB against {baseline:.0f} MB "
            f"without the big file (bound: +{extra_mb} MB); " + (mine[0] if mine else "no line")
        )
        return Case("runs", f"20 MB document among others ({task})", handled, lost, wrong, note)

    for task in ("translate", "summarise"):
        _case(suite, f"20 MB document ({task})", partial(oversize, task))

    # -- file types without a reader, named explicitly ------------------------------------------------
    def no_reader() -> list[Case]:
        docs = {"a.md": article(1)}
        expected = reference(docs, "types")
        folder = _write(
            base / "types",
            {
                **docs,
                "page.docx": "<p>The council met.</p>",
                "clip.srt": "1\n00:00:01,000 --> 00:00:02,000\nHi\n",
            },
        )
        out = base / "types-out"
        run = summarise(
            [folder / "page.docx", folder / "clip.srt", folder / "a.md"], out, "--no-cache"
        )
        got = outputs(out)
        lost, wrong = _diff(got, expected)
        rows = {Path(r["input"]).name: r for r in _manifest(out)}
        cases = []
        for name in ("page.docx", "clip.srt"):
            mine = [e for e in _errors(run.stderr) if name in e]
            handled = (
                run.returncode == 1
                and len(mine) == 1
                and bool(rows.get(name, {}).get("error"))
                and set(got) == set(expected)
            )
            note = f"exit {run.returncode}; " + (mine[0] if mine else "no line")
            cases.append(
                Case(
                    "runs", f"{Path(name).suffix} file named explicitly", handled, lost, wrong, note
                )
            )
            lost = wrong = 0
        return cases

    _case(suite, "files without a reader", no_reader)

    # -- job files that reach beyond their folder -----------------------------------------------------
    job_text = (
        'inputs = ["in/"]\nout = "{out}"\nfrom = "en"\n{extra}\n'
        '[[steps]]\ntask = "summarise"\nto = ["own"]\nmodel = "lead"\n'
    )

    def job(tag: str, out_value: str, extra: str, says: str) -> Case:
        folder = _write(base / f"job-{tag}" / "jobs", {"in/a.md": article(1)})
        target = out_value.replace("ABS", str(base / f"job-{tag}"))
        path = folder / "job.toml"
        path.write_text(job_text.format(out=target, extra=extra), "utf-8")
        cmd = [sys.executable, "-m", "workbench", "run", str(path)]
        kw = dict(
            cwd=REPO,
            env=suite.env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        plan = subprocess.run([*cmd, "--dry-run"], **kw)
        listed = [ln for ln in plan.stdout.splitlines() if ln.startswith("needs confirmation")]
        refused = subprocess.run(cmd, **kw)
        lines = [ln for ln in refused.stderr.splitlines() if ln.strip()]
        written = [
            p for p in (base / f"job-{tag}").rglob("*") if p.is_file() and "summary" in p.name
        ]
        handled = (
            plan.returncode == 0
            and len(listed) == 1
            and says in listed[0]
            and refused.returncode == 2
            and len(lines) == 1
            and says in lines[0]
            and "--yes" in lines[0]
            and not written
        )
        note = (
            f"--dry-run lists it: {bool(listed)}; without --yes (no terminal): exit "
            f"{refused.returncode}, {len(lines)} line(s), {len(written)} file(s) written"
        )
        return Case("runs", f"job file: {tag}", handled, note=note)

    for tag, out_value, extra, says in (
        ("`out` climbs out with ..", "../published", "", "writes outside its own folder"),
        ("absolute `out` elsewhere", "ABS/published", "", "writes outside its own folder"),
        (
            "Ray cluster address",
            "published",
            'engine = "ray"\naddress = "ray://10.0.0.9:10001"',
            "Ray cluster at",
        ),
    ):
        _case(suite, f"job file: {tag}", partial(job, tag, out_value, extra, says))


# -- the report -----------------------------------------------------------------------------


def table(cases: list[Case], seconds: float, skipped: list[str]) -> str:
    rows = [
        "| group | case | handled | lost | wrong served | what happened |",
        "|---|---|---|---|---|---|",
    ]
    for c in cases:
        rows.append(
            f"| {c.group} | {c.name} | {'yes' if c.handled else 'NO'} | {c.lost} | {c.wrong} | "
            f"{c.note.replace('|', '/')} |"
        )
    handled = sum(c.handled for c in cases)
    lost = sum(c.lost for c in cases)
    wrong = sum(c.wrong for c in cases)
    summary = (
        f"**{len(cases)} cases tried, {handled} handled, {lost} outputs lost, "
        f"{wrong} wrong served** ({seconds:.0f} s)"
    )
    tail = "".join(f"\nNot tried here: {what}.\n" for what in skipped)
    return summary + "\n\n" + "\n".join(rows) + "\n" + tail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="Write the table as markdown here.")
    parser.add_argument("--keep", type=Path, default=None, help="Work in this folder and keep it.")
    parser.add_argument(
        "--only", default="", help="Comma-separated groups: rows,files,concurrent,kill,inputs,runs."
    )
    args = parser.parse_args()
    start = time.perf_counter()
    groups = {
        "rows": row_damage,
        "files": file_damage,
        "concurrent": lambda suite: (concurrent(suite), same_keys(suite)),
        "kill": killed,
        "inputs": bad_inputs,
        "runs": runs,
    }
    chosen = [g.strip() for g in args.only.split(",") if g.strip()] or list(groups)
    with tempfile.TemporaryDirectory(prefix="wb-integrity-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        suite = Suite(root)
        print("building the tiny model and the reference run ...", flush=True)
        suite.prepare()
        for name in chosen:
            print(f"{name}:", flush=True)
            groups[name](suite)
    report = table(suite.cases, time.perf_counter() - start, suite.skipped)
    print()
    print(report)
    if args.out:
        args.out.write_text(
            "# Integrity suite\n\n`python bench/integrity.py`: real damage through the CLI on a "
            "tiny model (see the script's docstring for what each column means).\n\n" + report,
            "utf-8",
        )
    failed = [c for c in suite.cases if not c.handled or c.lost or c.wrong]
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
