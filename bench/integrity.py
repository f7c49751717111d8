"""Integrity suite: real damage, real processes, the real CLI, on a tiny model built here.

    python bench/integrity.py [--out integrity.md] [--keep DIR]

Every case runs ``python -m workbench`` in subprocesses, as a user would, against a cache and
files it damages for real (bytes overwritten in the SQLite file, rows rewritten with raw SQL,
files truncated, processes killed with SIGKILL). For each case it counts:

- handled: the run did what the README promises: a damaged cache row is a miss that is
  recomputed and replaced with one warning line; page damage stops with one line naming the
  file and the command that fixes it, and that command works; a bad input is one clear error
  line while the other documents finish; a killed run resumes;
- lost: outputs missing that a finished run must have written;
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
        suite.skipped.append("a file without read permission (this user can read any file)")


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
        "--only", default="", help="Comma-separated groups: rows,files,concurrent,kill,inputs."
    )
    args = parser.parse_args()
    start = time.perf_counter()
    groups = {
        "rows": row_damage,
        "files": file_damage,
        "concurrent": lambda suite: (concurrent(suite), same_keys(suite)),
        "kill": killed,
        "inputs": bad_inputs,
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
