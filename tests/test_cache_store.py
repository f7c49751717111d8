"""The SQLite cache store: round trips, damage, concurrency, crashes and management."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import run_python
from workbench.cache import (
    CACHE_SCHEMA,
    CorruptCacheError,
    SqliteStore,
    checksum,
    parse_age,
    repair,
)
from workbench.errors import CacheError, WorkbenchError

REPO = Path(__file__).resolve().parent.parent
META = {"signature": "translate|model:org/m@3f2a9c1|src:en|tgt:ko", "model": "org/m"}
DOC = {
    "text": "안녕하세요, 세계!\n\nПривіт, світе! Ґанок, їжак, є.",
    "segments": [["Hello, world!", "안녕하세요, 세계!"], ["Hello, world!", "Привіт, світе!"]],
}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "sub" / "cache.sqlite3"


@pytest.fixture
def store(path: Path):
    s = SqliteStore(path)
    yield s
    s.close()


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection, as another program (or damage) would touch the file."""
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


# -- round trips ----------------------------------------------------------------------------


def test_constructing_and_reading_create_no_file(path: Path) -> None:
    s = SqliteStore(path).open()
    assert s.get_document("0" * 64) is None
    assert s.get_segments(["a", "b"]) == {}
    assert s.stats()["exists"] is False
    assert s.ls() == []
    assert s.clear(everything=True) == 0
    s.close()
    assert not path.parent.exists()


def test_document_round_trip_and_miss(store: SqliteStore, path: Path) -> None:
    store.put_document("d" * 64, DOC, {**META, "path": "news/a.md"})
    assert path.exists()
    assert store.get_document("d" * 64) == DOC
    assert store.get_document("e" * 64) is None
    # Segment and document keys do not answer for each other.
    assert store.get_segments(["d" * 64]) == {}
    # A fresh store (another process, later) reads the same.
    with SqliteStore(path) as again:
        assert again.get_document("d" * 64) == DOC


@pytest.mark.parametrize(
    "text",
    [
        "안녕하세요, 세계!",
        "Привіт, світе! Ґанок, їжак, є.",
        'quotes " and \\ backslashes \n newlines',
        "",
        "emoji 🙂 and \u0000 nul",
    ],
)
def test_segment_round_trip(store: SqliteStore, text: str) -> None:
    store.put_segments([("k1", text), ("k2", text + "!")], META)
    assert store.get_segments(["k1", "k2", "missing"]) == {"k1": text, "k2": text + "!"}


def test_put_keeps_the_first_result_and_replace_overwrites(store: SqliteStore) -> None:
    # The first complete result stays (reruns return what the first run returned); only an
    # explicit refresh (replace=True) overwrites it.
    store.put_segments([("k", "old")], META)
    store.put_segments([("k", "new")], {**META, "model": "org/other"})
    assert store.get_segments(["k"]) == {"k": "old"}
    assert [(r["key"], r["model"]) for r in store.ls()] == [("k", "org/m")]
    store.put_segments([("k", "new")], {**META, "model": "org/other"}, replace=True)
    assert store.get_segments(["k"]) == {"k": "new"}
    assert [(r["key"], r["model"]) for r in store.ls()] == [("k", "org/other")]


def test_get_segments_is_a_few_queries(store: SqliteStore) -> None:
    keys = [f"{i:064x}" for i in range(1200)]
    store.put_segments([(k, f"문장 {k[-4:]}") for k in keys[:1000]], META)
    statements: list[str] = []
    conn = store._db.state.conn
    assert conn is not None
    conn.set_trace_callback(statements.append)
    try:
        found = store.get_segments(keys)
    finally:
        conn.set_trace_callback(None)
    assert len(found) == 1000
    assert sum(s.lstrip().upper().startswith("SELECT") for s in statements) == 3


def test_reopening_a_large_cache_reads_no_more_than_it_needs(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SqliteStore(path) as s:
        s.put_document("d" * 64, DOC, META)
        s.put_segments([(f"{i:064x}", "값 " * 150) for i in range(5000)], META)
    assert path.stat().st_size > 2 * 1024 * 1024
    statements: list[str] = []
    connect = sqlite3.connect

    def traced(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    start = time.perf_counter()
    s = SqliteStore(path)
    assert s.get_document("d" * 64) == DOC
    seconds = time.perf_counter() - start
    opened = list(statements)
    s.close()
    # A few pragmas, the schema check and the lookup: no scan of the whole file.
    assert not [q for q in opened if "_check" in q.lower()]
    assert len(opened) <= 8, opened
    assert seconds < 1.0  # a few milliseconds in practice; generous for loaded machines


# -- damaged rows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("UPDATE entries SET value = '\"tampered\"' WHERE key = ?", "value changed"),
        ("UPDATE entries SET checksum = 'x' WHERE key = ?", "checksum changed"),
        ("UPDATE entries SET value = substr(value, 1, 5) WHERE key = ?", "value cut short"),
    ],
)
def test_checksum_mismatch_reads_as_miss(store: SqliteStore, path: Path, sql: str, what) -> None:
    store.put_document("doc", DOC, META)
    store.put_segments([("seg", "세그먼트"), ("ok", "добре")], META)
    with raw(path) as conn:
        conn.execute(sql, ("doc",))
        conn.execute(sql, ("seg",))
    assert store.get_document("doc") is None, what
    assert store.get_segments(["seg", "ok"]) == {"ok": "добре"}, what
    assert store.stats()["counters"]["bad_reads"] == 2
    report = store.verify()
    assert (report["entries"], report["ok"], report["bad"]) == (3, 1, 2)
    assert sorted(report["bad_keys"]) == ["doc", "seg"]
    assert store.verify(fix=True)["removed"] == 2
    assert store.verify()["entries"] == 1


def test_value_of_the_wrong_shape_is_a_miss(store: SqliteStore, path: Path) -> None:
    store.put_document("doc", DOC, META)
    text = json.dumps(["not", "a", "dict"])
    with raw(path) as conn:
        conn.execute(
            "UPDATE entries SET value = ?, checksum = ? WHERE key = 'doc'",
            (text, checksum("doc", text)),
        )
    assert store.get_document("doc") is None


# -- schema ---------------------------------------------------------------------------------


def test_schema_version_stored_and_newer_refused(store: SqliteStore, path: Path) -> None:
    store.put_segments([("k", "v")], META)
    store.close()
    with raw(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone() == (
            str(CACHE_SCHEMA),
        )
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.execute("UPDATE meta SET value = ? WHERE name = 'schema'", (str(CACHE_SCHEMA + 1),))
    with pytest.raises(CacheError, match="newer workbench") as err:
        SqliteStore(path).get_segments(["k"])
    assert str(path) in str(err.value)


def test_foreign_sqlite_database_refused(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with raw(path) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER)")
    with pytest.raises(CacheError, match="not a workbench cache"):
        SqliteStore(path).put_segments([("k", "v")], META)


# -- corrupt files --------------------------------------------------------------------------


def _random_bytes(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(8192))


def _truncated(path: Path) -> None:
    with SqliteStore(path) as s:
        for i in range(40):
            s.put_document(f"doc{i}", {"text": "본문 " * 300, "segments": []}, META)
    data = path.read_bytes()
    assert not path.with_name(path.name + "-wal").exists()  # checkpointed at close
    path.write_bytes(data[: len(data) // 2])


def _garbled_pages(path: Path) -> None:
    with SqliteStore(path) as s:
        for i in range(40):
            s.put_document(f"doc{i}", {"text": "текст " * 300, "segments": []}, META)
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 6] = os.urandom(4096 * 4)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_random_bytes, _truncated, _garbled_pages])
def test_corrupt_file_raises_and_repair_moves_it_aside(path: Path, damage) -> None:
    damage(path)
    with pytest.raises(CorruptCacheError) as err:
        SqliteStore(path).open()
    with pytest.raises(CorruptCacheError):
        SqliteStore(path).get_document("doc1")
    message = str(err.value)
    assert str(path) in message and "workbench cache repair" in message and "\n" not in message

    moved = repair(path)
    assert moved.exists() and not path.exists()
    assert moved.name.startswith("cache.sqlite3.corrupt-")
    with SqliteStore(path) as fresh:
        fresh.put_document("doc1", DOC, META)
        assert fresh.get_document("doc1") == DOC


def test_damage_in_a_large_cache_is_reported_when_read(path: Path) -> None:
    # Past the size checked at open, damage shows when SQLite reads the bad pages.
    keys = [f"{i:064x}" for i in range(5000)]
    with SqliteStore(path) as s:
        s.put_segments([(k, "값 " * 150) for k in keys], META)
    data = bytearray(path.read_bytes())
    assert len(data) > 2 * 1024 * 1024
    middle = len(data) // 2 // 4096 * 4096
    data[middle : middle + 8 * 4096] = os.urandom(8 * 4096)
    path.write_bytes(bytes(data))
    s = SqliteStore(path)
    with pytest.raises(CorruptCacheError, match="malformed"):
        s.get_segments(keys)
    with pytest.raises(CorruptCacheError):
        s.verify()


def test_repair_moves_wal_and_shm_beside_the_database(path: Path) -> None:
    path.parent.mkdir(parents=True)
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).write_bytes(b"junk")
    moved = repair(path)
    assert moved.with_name(moved.name + "-wal").read_bytes() == b"junk"
    assert moved.with_name(moved.name + "-shm").exists()
    assert not any(path.parent.glob("cache.sqlite3-*"))
    _random_bytes(path)
    assert repair(path) != moved  # moved within the same second: still a distinct name
    with pytest.raises(CacheError, match="nothing to repair"):
        repair(path)


# -- locking, threads, fork, processes ------------------------------------------------------


def test_lock_held_too_long_gives_clear_error(path: Path) -> None:
    SqliteStore(path).put_segments([("k", "v")], META)
    holder = raw(path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        s = SqliteStore(path, busy_timeout=0.05, retry_seconds=0.3)
        start = time.perf_counter()
        with pytest.raises(CacheError, match="locked") as err:
            s.put_segments([("k2", "v2")], META)
        assert time.perf_counter() - start < 3
        assert str(path) in str(err.value)
        # Readers are not blocked by a writer in WAL mode.
        assert s.get_segments(["k"]) == {"k": "v"}
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_write_waits_out_a_short_lock(path: Path) -> None:
    SqliteStore(path).put_segments([("k", "v")], META)
    holder = raw(path)
    holder.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, holder.execute, ("ROLLBACK",)).start()
    s = SqliteStore(path, busy_timeout=0.05, retry_seconds=10)
    s.put_segments([("k2", "v2")], META)  # retried past busy_timeout until the lock went
    assert s.get_segments(["k", "k2"]) == {"k": "v", "k2": "v2"}
    holder.close()


def test_one_store_shared_by_threads(store: SqliteStore) -> None:
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(40):
                store.put_segments([(f"t{t}-{i}", f"значення {t} {i}")], META)
                assert store.get_segments([f"t{t}-{i}"]) == {f"t{t}-{i}": f"значення {t} {i}"}
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.stats()["entries"] == 240


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_reopens(store: SqliteStore) -> None:
    store.put_segments([("parent", "부모")], META)
    pid = os.fork()
    if pid == 0:  # the child: must not reuse the parent's connection
        code = 1
        try:
            store.put_segments([("child", "дитина")], META)
            both = store.get_segments(["parent", "child"])
            code = 0 if both == {"parent": "부모", "child": "дитина"} else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.get_segments(["parent", "child"]) == {"parent": "부모", "child": "дитина"}
    store.put_segments([("parent2", "ok")], META)


WRITER = """
    import sys
    import time
    from workbench.cache import SqliteStore

    path, worker, rounds, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    store = SqliteStore(path)
    time.sleep(max(0.0, float(start) - time.time()))  # start together, once all are up
    meta = {"signature": "translate|model:m@1", "model": f"org/m{worker % 2}"}

    def value(k):
        return f"번역 {k} переклад"

    for i in range(rounds):
        keys = [f"seg-{(i * 7 + j + worker) % 120:03d}" for j in range(4)]
        store.put_segments([(k, value(k)) for k in keys], meta)
        got = store.get_segments(keys)
        assert got == {k: value(k) for k in keys}, got
        if i % 25 == 0:
            store.put_document(f"doc-{i // 25}", {"text": value(i), "segments": []}, meta)
    store.close()
    print("done")
"""


def test_four_processes_share_one_cache(path: Path) -> None:
    # All four start on a cache that does not exist yet, so creation races too.
    start = str(time.time() + 0.6)
    procs = [run_python(WRITER, str(path), str(w), "250", start) for w in range(4)]
    outputs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert out.strip() == "done" and err == ""
    with SqliteStore(path) as s:
        report = s.verify()
        assert report["integrity"] == [] and report["bad"] == 0
        keys = [f"seg-{i:03d}" for i in range(120)]
        assert s.get_segments(keys) == {k: f"번역 {k} переклад" for k in keys}
        stats = s.stats()
        assert stats["kinds"] == {"document": 10, "segment": 120}
        assert stats["counters"]["segment_hits"] == 4 * 250 * 4 + 120


KILLED_WRITER = """
    import sys
    from workbench.cache import SqliteStore

    store = SqliteStore(sys.argv[1])
    meta = {"signature": "translate|model:m@1", "model": "org/m"}
    batch = 0
    while True:
        store.put_segments(
            [(f"b{batch:06d}-{j:02d}", f"배치 {batch} пакет {j} " * 20) for j in range(50)], meta
        )
        store.put_document(f"doc{batch:06d}", {"text": "문서 " * 500, "segments": []}, meta)
        if batch == 0:
            print("ready", flush=True)
        batch += 1
"""


def test_sigkill_mid_write_leaves_valid_entries_only(path: Path) -> None:
    proc = run_python(KILLED_WRITER, str(path))
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.4)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    with SqliteStore(path) as s:
        report = s.verify()
        assert report["integrity"] == [] and report["bad"] == 0
        batches = s.stats()["kinds"]["segment"] // 50
        assert batches >= 1
        # Each batch was one transaction: wholly there or wholly absent.
        for batch in range(batches + 2):
            keys = [f"b{batch:06d}-{j:02d}" for j in range(50)]
            found = s.get_segments(keys)
            assert len(found) in (0, 50), batch
            for j, k in enumerate(keys):
                if k in found:
                    assert found[k] == f"배치 {batch} пакет {j} " * 20
        s.put_segments([("after", "ok")], META)
        assert s.get_segments(["after"]) == {"after": "ok"}


# -- management -----------------------------------------------------------------------------


@pytest.fixture
def filled(store: SqliteStore, path: Path) -> SqliteStore:
    store.put_document("aaaaaa01" + "0" * 56, DOC, {**META, "path": "a.md"})
    store.put_segments([("aaaaaa02" + "0" * 56, "하나"), ("bbbbbb01" + "0" * 56, "два")], META)
    store.put_segments([("cccccc01" + "0" * 56, "three")], {**META, "model": "org/other"})
    week = 7 * 86400
    with raw(path) as conn:  # make two entries old
        conn.execute(
            "UPDATE entries SET created = created - ? WHERE key LIKE 'aaaaaa%'", (week + 60,)
        )
    return store


def test_stats(filled: SqliteStore, path: Path) -> None:
    filled.get_document("aaaaaa01" + "0" * 56)
    filled.get_document("nope")
    filled.get_segments(["bbbbbb01" + "0" * 56, "nope"])
    info = filled.stats()
    assert info["path"] == str(path) and info["bytes"] > 0 and info["schema"] == CACHE_SCHEMA
    assert info["entries"] == 4
    assert info["kinds"] == {"document": 1, "segment": 3}
    assert {m: v["entries"] for m, v in info["models"].items()} == {"org/m": 3, "org/other": 1}
    assert info["oldest"] < info["newest"]
    expected = {"document_hits": 1, "document_misses": 1, "segment_hits": 1, "segment_misses": 1}
    assert {k: info["counters"][k] for k in expected} == expected
    filled.close()  # counters are kept across processes
    with SqliteStore(path) as again:
        assert {k: again.stats()["counters"][k] for k in expected} == expected


def test_ls(filled: SqliteStore) -> None:
    rows = filled.ls()
    assert [r["key"][:8] for r in rows][:2] == ["cccccc01", "bbbbbb01"]  # newest first
    assert {r["kind"] for r in rows} == {"document", "segment"}
    assert rows[-1]["path"] == "a.md" and rows[-1]["signature"] == META["signature"]
    assert rows[-1]["task"] == "translate"
    assert len(filled.ls(limit=2)) == 2
    assert [r["key"][:8] for r in filled.ls(model="org/other")] == ["cccccc01"]
    assert [r["key"][:8] for r in filled.ls(kind="document")] == ["aaaaaa01"]
    with pytest.raises(WorkbenchError, match="unknown entry kind"):
        filled.ls(kind="paragraph")


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("bbbbbb", "bbbbbb01"),
        ("AAAAAA01", "aaaaaa01"),
        ("aaaaaa", CacheError("several")),
        ("dddddd", CacheError("no cache entry")),
        ("bbbbb", CacheError("too short")),
    ],
)
def test_show(filled: SqliteStore, prefix: str, expected: object) -> None:
    if isinstance(expected, Exception):
        with pytest.raises(type(expected), match=str(expected)):
            filled.show(prefix)
        return
    entry = filled.show(prefix)
    assert entry["key"].startswith(str(expected)) and entry["checksum_ok"] is True
    if entry["kind"] == "document":
        assert entry["value"] == DOC


@pytest.mark.parametrize(
    ("kwargs", "removed", "left"),
    [
        ({"model": "org/other"}, 1, {"aaaaaa01", "aaaaaa02", "bbbbbb01"}),
        ({"older_than_seconds": parse_age("7d")}, 2, {"bbbbbb01", "cccccc01"}),
        ({"older_than_seconds": 3600, "model": "org/m"}, 2, {"bbbbbb01", "cccccc01"}),
        ({"older_than_seconds": 3600, "model": "org/other"}, 0, None),
        ({"model": "org/none"}, 0, None),
        ({"everything": True}, 4, set()),
        ({"everything": True, "vacuum": True}, 4, set()),
    ],
)
def test_clear(filled: SqliteStore, kwargs: dict, removed: int, left: set[str] | None) -> None:
    before = {r["key"][:8] for r in filled.ls()}
    assert filled.clear(**kwargs) == removed
    assert {r["key"][:8] for r in filled.ls()} == (before if left is None else left)


def test_clear_needs_a_filter(filled: SqliteStore) -> None:
    with pytest.raises(WorkbenchError, match="say what to clear"):
        filled.clear()


def test_verify_sound_cache(filled: SqliteStore) -> None:
    report = filled.verify(fix=True)
    assert report["integrity"] == []
    assert (report["entries"], report["ok"], report["bad"], report["removed"]) == (4, 4, 0, 0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30d", 30 * 86400),
        ("12h", 12 * 3600),
        ("90m", 90 * 60),
        ("45s", 45),
        ("2w", 14 * 86400),
        (" 1.5h ", 5400),
        ("10D", 10 * 86400),
        ("0s", 0),
    ],
)
def test_parse_age(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["", "30", "d", "-5m", "5 years", "5y", "1h30m", "h1"])
def test_parse_age_rejects(text: str) -> None:
    with pytest.raises(WorkbenchError, match="cannot read the age"):
        parse_age(text)


# -- the CLI --------------------------------------------------------------------------------


def test_cli(filled: SqliteStore, path: Path) -> None:
    from typer.testing import CliRunner

    from workbench.cli.cache_cmd import app

    filled.close()
    runner = CliRunner()

    def cli(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, [*args, "--cache", str(path)])
        return result.exit_code, result.stdout, result.stderr

    code, out, _ = cli("stats", "--json")
    assert code == 0 and json.loads(out)["entries"] == 4
    code, out, _ = cli("ls", "--json", "--kind", "segment")
    assert code == 0 and len(json.loads(out)) == 3
    code, out, _ = cli("show", "bbbbbb")
    assert code == 0 and json.loads(out)["value"] == "два"
    code, _, err = cli("show", "aaaaaa")
    assert code == 2 and err.startswith("workbench: error:") and err.count("\n") == 1
    code, _, err = cli("clear")
    assert code == 2 and "say what to clear" in err
    code, _, err = cli("clear", "--older-than", "soon")
    assert code == 2 and "cannot read the age" in err
    code, out, _ = cli("clear", "--older-than", "7d")
    assert code == 0 and "removed 2 entries" in out
    code, out, _ = cli("verify")
    assert code == 0 and "2 entries: 2 ok" in out
    code, out, _ = cli("repair")
    assert code == 0 and "nothing to repair" in out and path.exists()
    for command in (["stats"], ["ls"]):
        assert cli(*command)[0] == 0

    path.write_bytes(b"not a database at all" * 100)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    code, _, err = cli("stats")
    assert code == 2 and "is corrupt" in err and str(path) in err
    code, out, _ = cli("repair")
    assert code == 0 and "moved" in out and not path.exists()
    code, out, _ = cli("stats")
    assert code == 0 and "no cache yet" in out
