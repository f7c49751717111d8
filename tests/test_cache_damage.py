"""Damage done for real to the cache file: every damaged entry is a miss that is recomputed and
replaced (one warning naming the cache), `verify --fix` removes exactly the damaged entries,
`repair` never needs --force for damaged rows, page damage is one line; the first stored result
stays; the file and its folder are private."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS
from tests.helpers import run_python
from workbench.cache import (
    CACHE_SCHEMA,
    MIGRATIONS,
    CorruptCacheError,
    SqliteStore,
    checksum,
    rebuild,
)
from workbench.store import WriteOnlyStore

META = {"signature": "translate|model:org/m@3f2a9c1|src:en|tgt:ko", "model": "org/m"}
ARTICLE = SEEDS / "en" / "harbour-ferry.md"


def korean(i: int) -> str:
    return f"키보드 {i}번 한국어 문장입니다"


def ukrainian(i: int) -> str:
    return f"Речення {i} українською: ґанок, їжак, є"


def doc(i: int) -> dict:
    return {"text": f"# 제목 {i}\n\n문서 {i} 본문입니다", "segments": [[f"Title {i}", f"제목 {i}"]]}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "cache.sqlite3"


def fill(path: Path, n: int = 20) -> None:
    """Documents d0.. and Korean/Ukrainian segments k0../u0.., checkpointed into the file."""
    with SqliteStore(path) as s:
        for i in range(n):
            s.put_document(f"d{i}", doc(i), META)
        s.put_segments([(f"k{i}", korean(i)) for i in range(n)], META)
        s.put_segments([(f"u{i}", ukrainian(i)) for i in range(n)], META)
    assert not path.with_name(path.name + "-wal").exists()  # all in the main file


def flip_high_bit_in(path: Path, text: str) -> None:
    """Flip the high bit of a continuation byte inside ``text`` where it is stored in the file
    (it must be stored exactly once): the row stays readable to SQLite, but is no UTF-8."""
    data = bytearray(path.read_bytes())
    needle = text.encode("utf-8")
    pos = data.find(needle)
    assert pos >= 0 and data.find(needle, pos + 1) < 0, "the text must be stored exactly once"
    at = next(pos + j for j, b in enumerate(needle) if 0x80 <= b < 0xC0)  # a continuation byte
    data[at] ^= 0x80
    path.write_bytes(bytes(data))


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def integrity_ok(path: Path) -> bool:
    with raw(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- each kind of damage is a miss, counted, warned about once, and replaced ----------------


@pytest.mark.parametrize(
    ("key", "needle", "kind"),
    [
        ("k3", korean(3), "segment"),
        ("u4", ukrainian(4), "segment"),
        ("d5", "문서 5 본문입니다", "document"),
    ],
    ids=["korean-segment", "ukrainian-segment", "korean-document"],
)
def test_flipped_high_bit_is_a_miss_then_replaced(path: Path, key: str, needle: str, kind) -> None:
    fill(path)
    flip_high_bit_in(path, needle)
    assert integrity_ok(path)  # SQLite itself sees nothing wrong
    s = SqliteStore(path)
    if kind == "segment":
        keys = [f"k{i}" for i in range(20)] + [f"u{i}" for i in range(20)]
        found = s.get_segments(keys)
        assert key not in found and len(found) == 39  # every other row still a hit
    else:
        assert s.get_document(key) is None
        assert s.get_document("d6") == doc(6)
    assert s.get_document(key) is None and s.get_segments([key]) == {}  # read again: one entry
    warnings = s.warnings()
    assert len(warnings) == 1 and str(path) in warnings[0] and "1 damaged entry" in warnings[0]
    assert "\n" not in warnings[0]
    report = s.verify()
    assert report["bad"] == 1 and len(report["bad_keys"]) == 1 and report["integrity"] == []
    assert report["bad_keys"][0] == key
    # The recomputed result replaces the damaged row (first-writer-wins does not keep damage).
    fresh = "새 번역" if kind == "segment" else {"text": "다시", "segments": []}
    if kind == "segment":
        s.put_segments([(key, fresh)], META)
        assert s.get_segments([key]) == {key: fresh}
    else:
        s.put_document(key, fresh, META)
        assert s.get_document(key) == fresh
    assert s.verify()["bad"] == 0
    assert s.stats()["counters"]["bad_reads"] == 2  # reads, where the warning counts entries
    s.close()


def test_a_writer_that_never_read_the_damaged_row_replaces_it(path: Path) -> None:
    fill(path)
    flip_high_bit_in(path, korean(3))
    with SqliteStore(path) as writer:  # e.g. another process, whose lookups came earlier
        writer.put_segments([("k3", "다시 계산됨"), ("k4", "keeps the first")], META)
    with SqliteStore(path) as s:
        assert s.get_segments(["k3", "k4"]) == {"k3": "다시 계산됨", "k4": korean(4)}


def test_value_copied_under_another_key_is_a_miss(path: Path) -> None:
    fill(path)
    with raw(path) as conn:  # the row of k1 now holds k2's value and checksum
        conn.execute(
            "UPDATE entries SET (value, checksum) = "
            "(SELECT value, checksum FROM entries WHERE key = 'k2') WHERE key = 'k1'"
        )
        conn.execute(
            "UPDATE entries SET (value, checksum) = "
            "(SELECT value, checksum FROM entries WHERE key = 'd2') WHERE key = 'd1'"
        )
    with SqliteStore(path) as s:
        assert s.get_segments(["k1", "k2"]) == {"k2": korean(2)}
        assert s.get_document("d1") is None and s.get_document("d2") == doc(2)
        assert sorted(s.verify()["bad_keys"]) == ["d1", "k1"]
        s.put_segments([("k1", korean(1))], META)
        assert s.get_segments(["k1"]) == {"k1": korean(1)}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("d1", ["a", "list"]),
        ("d1", {"segments": []}),  # no text
        ("d1", {"text": "ok", "segments": "not a list"}),
        ("d1", "a string"),
        ("k1", {"a": "dict"}),
        ("k1", None),
        ("k1", 42),
    ],
)
def test_wrong_json_shape_with_a_valid_checksum_is_a_miss(path: Path, key: str, value) -> None:
    fill(path)
    text = json.dumps(value, ensure_ascii=False)
    with raw(path) as conn:
        conn.execute(
            "UPDATE entries SET value = ?, checksum = ? WHERE key = ?",
            (text, checksum(key, text), key),
        )
    with SqliteStore(path) as s:
        if key.startswith("d"):
            assert s.get_document(key) is None
            s.put_document(key, doc(1), META)
            assert s.get_document(key) == doc(1)
        else:
            assert s.get_segments([key]) == {}
            s.put_segments([(key, korean(1))], META)
            assert s.get_segments([key]) == {key: korean(1)}
        assert s.warnings() and s.verify()["bad"] == 0


def test_wrong_checksum_and_cut_value_are_misses(path: Path) -> None:
    fill(path)
    with raw(path) as conn:
        conn.execute("UPDATE entries SET checksum = 'x' WHERE key = 'k1'")
        conn.execute("UPDATE entries SET value = substr(value, 1, 4) WHERE key = 'u1'")
        conn.execute("UPDATE entries SET value = CAST(x'ff00fe' AS TEXT) WHERE key = 'u2'")
    with SqliteStore(path) as s:
        assert s.get_segments(["k1", "u1", "u2", "k2"]) == {"k2": korean(2)}
        assert s.warnings()[0].count("3 damaged entries") == 1


def test_verify_fix_removes_exactly_the_damaged_rows(path: Path) -> None:
    fill(path)
    flip_high_bit_in(path, korean(7))
    flip_high_bit_in(path, ukrainian(8))
    with raw(path) as conn:
        conn.execute("UPDATE entries SET checksum = 'x' WHERE key = 'd3'")
        conn.execute(  # a key whose bytes are no longer UTF-8, as a flipped bit leaves it
            "UPDATE entries SET key = CAST(x'6bff39' AS TEXT) WHERE key = 'k9'"
        )
    with SqliteStore(path) as s:
        report = s.verify()
        assert report["entries"] == 60 and report["bad"] == 4
        assert sorted(report["bad_keys"]) == sorted(["d3", "k7", "u8", "k\ufffd9"])
        assert s.verify(fix=True)["removed"] == 4
        after = s.verify()
        assert (after["entries"], after["bad"]) == (56, 0)
        keys = [f"k{i}" for i in range(20)] + [f"u{i}" for i in range(20)]
        assert set(keys) - set(s.get_segments(keys)) == {"k7", "k9", "u8"}
        assert s.get_document("d4") == doc(4)


def test_listing_and_showing_damaged_rows_never_crash(path: Path) -> None:
    fill(path)
    key = "ab" * 32
    with SqliteStore(path) as s:
        s.put_segments([(key, "손상된 값")], {**META, "path": "news/a.md"})
    flip_high_bit_in(path, "손상된 값")
    with raw(path) as conn:
        conn.execute("UPDATE entries SET path = CAST(x'6eff' AS TEXT) WHERE key = ?", (key,))
    with SqliteStore(path) as s:
        assert len(s.ls(limit=100)) == 61
        assert s.stats()["entries"] == 61
        shown = s.show(key[:10])
        assert shown["checksum_ok"] is False and "\ufffd" in shown["value"]
        assert shown["path"] == "n\ufffd"


# -- the CLI: verify, repair without --force, one line for page damage ----------------------


def cli(*args: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from workbench.cli.cache_cmd import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_verify_and_repair_fix_damaged_rows_without_force(path: Path) -> None:
    fill(path)
    flip_high_bit_in(path, korean(7))
    flip_high_bit_in(path, ukrainian(8))
    code, out, _ = cli("verify", "--cache", str(path))
    assert code == 1 and "60 entries: 58 ok, 2 damaged" in out
    assert sorted(line for line in out.splitlines() if line.startswith("damaged:")) == [
        "damaged: k7",
        "damaged: u8",
    ]
    code, out, _ = cli("repair", "--cache", str(path))
    assert code == 0 and "removed 2 damaged entries" in out, out
    assert path.exists() and not list(path.parent.glob("*.corrupt-*"))
    code, out, _ = cli("verify", "--cache", str(path))
    assert code == 0 and "58 entries: 58 ok, 0 damaged" in out
    code, out, _ = cli("repair", "--cache", str(path))
    assert code == 0 and "sound; nothing to repair" in out


def _leaf_pages(path: Path) -> list[int]:
    """Numbers of the table b-tree leaf pages (type byte 0x0d) of the file, page 1 excluded."""
    data = path.read_bytes()
    size = int.from_bytes(data[16:18], "big")
    return [n + 1 for n in range(1, len(data) // size) if data[n * size] == 0x0D]


def overwrite_page_header(path: Path, page: int) -> None:
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    data[(page - 1) * size : (page - 1) * size + 12] = b"\xff" * 12
    path.write_bytes(bytes(data))


def test_page_damage_is_one_line_and_repair_rebuilds_from_the_rest(path: Path) -> None:
    fill(path, n=150)
    leaves = _leaf_pages(path)
    assert len(leaves) > 4
    overwrite_page_header(path, leaves[len(leaves) // 2])
    with pytest.raises(CorruptCacheError) as err:
        SqliteStore(path).open()
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    assert f"workbench cache repair --cache {path}" in message
    code, _, err_text = cli("stats", "--cache", str(path))
    assert code == 2 and len(err_text.strip().splitlines()) == 1 and str(path) in err_text

    code, out, _ = cli("repair", "--cache", str(path))
    assert code == 0 and "rebuilt" in out and "sound entries" in out, out
    moved = list(path.parent.glob("cache.sqlite3.corrupt-*"))
    assert len(moved) == 1
    with SqliteStore(path) as s:
        report = s.verify()
        assert report["integrity"] == [] and report["bad"] == 0
        assert 300 < report["entries"] < 450  # most of the 450 entries kept, the page's lost
        keys = [f"k{i}" for i in range(150)] + [f"u{i}" for i in range(150)]
        found = s.get_segments(keys)
        assert all(found[k] == (korean if k[0] == "k" else ukrainian)(int(k[1:])) for k in found)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_truncated_file_is_one_line_and_repair_keeps_the_readable_rows(path: Path) -> None:
    fill(path, n=150)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CorruptCacheError) as err:
        SqliteStore(path).get_document("d1")
    assert "\n" not in str(err.value) and str(path) in str(err.value)
    result = rebuild(path)
    assert result["kept"] > 0 and Path(result["moved"]).exists()
    with SqliteStore(path) as s:
        assert s.verify()["bad"] == 0 and s.verify()["integrity"] == []


def test_file_that_is_no_database_is_moved_aside_by_repair(path: Path) -> None:
    path.write_bytes(os.urandom(10_000))
    code, out, _ = cli("repair", "--cache", str(path))
    assert code == 0 and "moved" in out and not path.exists()


# -- the real CLI over a real model ---------------------------------------------------------


def _translate(model: Path, cache: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
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
            "--cache",
            str(cache),
            "--beams",
            "1",
            "--backend",
            "torch",
            *extra,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _document_fragment(cache: Path) -> str:
    """A piece of the stored document's text (with its JSON escapes) found once in the file."""
    with raw(cache) as conn:
        (value,) = conn.execute("SELECT value FROM entries WHERE kind = 'document'").fetchone()
    data = cache.read_bytes()
    for start in range(len(value) - 8):
        piece = value[start : start + 8]
        encoded = piece.encode("utf-8")
        if any(ord(c) > 0x7FF for c in piece[:2]) and data.count(encoded) == 1:
            return piece
    for start in range(len(value) - 8):  # no 3-byte character: any multibyte one will do
        piece = value[start : start + 8]
        if any(ord(c) > 0x7F for c in piece) and data.count(piece.encode("utf-8")) == 1:
            return piece
    raise AssertionError("no unique multibyte fragment in the document row")


def test_cli_run_over_a_damaged_row_recomputes_warns_once_and_keeps_bytes(
    tiny, tmp_path: Path
) -> None:
    model = tiny("marian-multi")
    cache = tmp_path / "c.sqlite3"
    first = _translate(model, cache, tmp_path / "a")
    assert first.returncode == 0, first.stderr
    flip_high_bit_in(cache, _document_fragment(cache))
    second = _translate(model, cache, tmp_path / "b")
    assert second.returncode == 0, second.stderr
    warnings = [line for line in second.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and str(cache) in warnings[0], second.stderr
    assert "damaged" in warnings[0]
    assert (tmp_path / "a" / "harbour-ferry.uk.md").read_bytes() == (
        tmp_path / "b" / "harbour-ferry.uk.md"
    ).read_bytes()
    with SqliteStore(cache) as s:
        assert s.verify()["bad"] == 0  # the damaged row was replaced
    third = _translate(model, cache, tmp_path / "c")
    assert third.returncode == 0 and "warning" not in third.stderr
    assert "(document)" in third.stderr


def test_cli_run_over_page_damage_stops_with_one_line(tiny, tmp_path: Path) -> None:
    model = tiny("marian-multi")
    cache = tmp_path / "c.sqlite3"
    assert _translate(model, cache, tmp_path / "a").returncode == 0
    overwrite_page_header(cache, _leaf_pages(cache)[-1])
    run = _translate(model, cache, tmp_path / "b")
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, run.stderr
    assert str(cache) in lines[0] and f"workbench cache repair --cache {cache}" in lines[0]


# -- the first result stays -----------------------------------------------------------------


WRITER = """
    import sys, time
    from workbench.cache import SqliteStore

    path, value, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
    store = SqliteStore(path)
    meta = {"signature": "translate|model:m@1", "model": "org/m"}
    keys = [f"seg-{i:03d}" for i in range(60)]
    while time.time() < start:
        time.sleep(0.001)
    for k in keys:
        store.put_segments([(k, f"{value} {k}")], meta)
    store.put_document("doc", {"text": value, "segments": []}, meta)
    got = store.get_segments(keys)
    print(" ".join(got[k].split()[0] for k in keys), store.get_document("doc")["text"])
    store.close()
"""


def test_a_later_process_never_replaces_the_first_result(path: Path) -> None:
    first = run_python(WRITER, str(path), "첫번째", "0")
    assert first.communicate(timeout=60)[0].split()[-1] == "첫번째"
    second = run_python(WRITER, str(path), "другий", "0")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert set(out.split()) == {"첫번째"}  # the second process reads back the first's values
    with SqliteStore(path) as s:
        assert s.get_document("doc") == {"text": "첫번째", "segments": []}


def test_racing_processes_agree_on_one_stored_result(path: Path) -> None:
    start = str(time.time() + 0.8)
    procs = [run_python(WRITER, str(path), name, start) for name in ("알파", "бета", "감마")]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        outs.append(out.split())
    with SqliteStore(path) as s:
        stored = s.get_segments([f"seg-{i:03d}" for i in range(60)])
        doc_text = s.get_document("doc")["text"]
    final = [stored[f"seg-{i:03d}"].split()[0] for i in range(60)] + [doc_text]
    # Whoever stored a key first, every process read back that value, and it is still there.
    assert all(o == final for o in outs)


def test_refresh_replaces_the_stored_result(path: Path) -> None:
    with SqliteStore(path) as s:
        s.put_segments([("k", "old")], META)
        WriteOnlyStore(s).put_segments([("k", "new")], META)
        WriteOnlyStore(s).put_document("d", {"text": "new", "segments": []}, META)
        s.put_document("d", {"text": "later", "segments": []}, META)
        assert s.get_segments(["k"]) == {"k": "new"}
        assert s.get_document("d") == {"text": "new", "segments": []}


# -- schema 1 caches ------------------------------------------------------------------------


def test_schema_1_cache_is_migrated_resigned_and_made_private(path: Path) -> None:
    import hashlib

    with raw(path) as conn:
        for sql in MIGRATIONS[0][1]:
            conn.execute(sql)
        conn.execute("INSERT INTO meta VALUES ('schema', '1')")
        for key, value in [("k1", korean(1)), ("k2", korean(2)), ("bad", "깨짐")]:
            text = json.dumps(value, ensure_ascii=False)
            old = hashlib.sha256(text.encode()).hexdigest() if key != "bad" else "0" * 64
            conn.execute(
                "INSERT INTO entries (key, kind, value, created, accessed, size, checksum) "
                "VALUES (?, 'segment', ?, 0, 0, ?, ?)",
                (key, text, len(text), old),
            )
    os.chmod(path, 0o644)
    with SqliteStore(path) as s:
        assert s.get_segments(["k1", "k2", "bad"]) == {"k1": korean(1), "k2": korean(2)}
        assert s.stats()["schema"] == CACHE_SCHEMA == 2
        assert s.verify()["bad_keys"] == ["bad"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- permissions ----------------------------------------------------------------------------


def test_new_cache_file_and_folders_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "home" / "cache" / "c.sqlite3"
        s = SqliteStore(path)
        s.put_segments([("k", korean(1))], META)
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        for f in files:
            assert f.exists() and stat.S_IMODE(f.stat().st_mode) == 0o600, f
        for folder in (path.parent, path.parent.parent):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        s.close()
    finally:
        os.umask(old)


def test_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o755)
    with SqliteStore(folder / "c.sqlite3") as s:
        s.put_segments([("k", "v")], META)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "c.sqlite3").stat().st_mode) == 0o600


def test_rebuilt_copy_is_private_and_leaves_no_scratch(path: Path) -> None:
    fill(path, n=150)
    overwrite_page_header(path, _leaf_pages(path)[1])
    rebuild(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(path.parent.glob(".*rebuild*"))
