"""The cache database: translated documents and segments in one SQLite file.

Several workbench processes may share one cache. SQLite in WAL mode lets readers run while one
writer commits; every write is a short ``BEGIN IMMEDIATE`` transaction, and a writer that finds
the database busy waits (``busy_timeout``) and then retries with backoff for a bounded time.
Values are JSON text with a sha256 checksum per row over the key and the value, so a damaged
row, or a row holding another key's value, reads as a miss (and is replaced by the recomputed
result) and never as a wrong translation. Values are read as bytes and decoded row by row, so
bytes that are no longer UTF-8 damage only their own row.

The first complete result stored under a key is kept: later writers of the same key leave it
alone (results do not change behind a user's back), except an explicit refresh and except a
damaged row, which is replaced. The file and the folder workbench creates for it are private to
the user (0600 / 0700): they hold every article's text.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from workbench.errors import CacheError, WorkbenchError
from workbench.store import dumps

T = TypeVar("T")

#: Layout of the database (tables, columns). Independent of settings.SCHEMA_VERSION, which is
#: the meaning of stored outputs and is already part of every key.
CACHE_SCHEMA = 2

#: (version, statements): applied in order, each version in one transaction, at open.
MIGRATIONS: list[tuple[int, tuple[str, ...]]] = [
    (
        1,
        (
            "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """CREATE TABLE entries (
                key TEXT PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('document', 'segment')),
                value TEXT NOT NULL,
                signature TEXT,
                model TEXT,
                task TEXT,
                path TEXT,
                created REAL NOT NULL,
                accessed REAL NOT NULL,
                size INTEGER NOT NULL,
                checksum TEXT NOT NULL
            )""",
            "CREATE INDEX entries_model ON entries (model)",
            "CREATE INDEX entries_created ON entries (created)",
        ),
    ),
    # Checksums bind the key as well as the value. Rows whose old (value-only) checksum holds
    # are re-signed; the others keep a checksum that no longer matches and read as misses.
    (
        2,
        (
            "UPDATE entries SET checksum = wb_checksum(CAST(key AS BLOB), CAST(value AS BLOB)) "
            "WHERE checksum = wb_checksum_v1(CAST(value AS BLOB))",
        ),
    ),
]

KINDS = ("document", "segment")

#: Lifetime counters kept in ``meta``.
COUNTERS = ("document_hits", "document_misses", "segment_hits", "segment_misses", "bad_reads")

# Most parameters in one ``IN (...)`` list: far under SQLite's limit, and a 1,000-key lookup
# is still only two queries.
_IN_CHUNK = 500
# Rows deleted per transaction by clear(), so other processes are never blocked for long.
_DELETE_CHUNK = 2000
# quick_check reads every page (about 1.5 ms per MiB), so at open it runs only on files up to
# this size, keeping an open a few milliseconds; larger files get it only when their header
# looks truncated, and otherwise rely on SQLite reporting damage when it reads a bad page
# (and on `workbench cache verify`).
_QUICK_CHECK_MAX_BYTES = 2 * 1024 * 1024
# Access times of hits are kept in memory and written with the next write; past this many the
# oldest are dropped (they are only bookkeeping).
_MAX_PENDING_ACCESS = 20_000

_HEADER = b"SQLite format 3\x00"
_CORRUPT_HINTS = ("malformed", "not a database", "corrupt", "disk image")
_BUSY_HINTS = ("locked", "busy")

# Connections inherited over fork() must never be used or closed by the child (closing them
# would disturb the parent's locks); they are parked here instead of being garbage-collected.
_ABANDONED: list[sqlite3.Connection] = []


class CorruptCacheError(CacheError):
    """The cache file is not a SQLite database or is damaged; ``repair`` rebuilds it from what
    is still readable (or moves it aside)."""

    def __init__(self, path: Path, detail: str) -> None:
        # SQLite's reports span lines ("*** in database main ***\nPage 6: ..."): keep one.
        detail = " ".join(detail.split())
        detail = detail if len(detail) <= 120 else detail[:117] + "..."
        super().__init__(
            f"cache database {path} is corrupt ({detail}); run `workbench cache repair --cache "
            f"{path}` to keep its sound entries and set the damaged file aside, or pass --no-cache"
        )
        self.path = path
        self.detail = detail


def checksum(key: str, value: str) -> str:
    """sha256 hex binding a stored value to its key: over the key, a NUL byte and the value's
    UTF-8 JSON text, so a value copied under another key no longer matches."""
    return _checksum_bytes(key.encode("utf-8"), value.encode("utf-8"))


def _checksum_bytes(key: bytes, value: bytes) -> str:
    return hashlib.sha256(key + b"\0" + value).hexdigest()


def _checksum_v1(value: bytes | None) -> str | None:
    """The checksum of cache schema 1 (value only), for the migration."""
    return None if value is None else hashlib.sha256(value).hexdigest()


def _lenient_text(data: bytes) -> str:
    """How TEXT columns are read: damaged bytes in a path or model name must not stop a
    listing; values, keys and checksums are read as bytes and checked strictly instead."""
    return data.decode("utf-8", "replace")


#: What a damaged row parses to (None is a valid JSON value, so it cannot be the marker).
_DAMAGED = object()


def _parsed(key: bytes, kind: str, value: Any, check: Any) -> Any:
    """The value of a row whose checksum binds ``key`` and whose JSON has the shape of its
    kind; ``_DAMAGED`` otherwise. ``value`` and ``check`` are the raw bytes of the row."""
    if not isinstance(value, bytes) or not isinstance(check, bytes):
        return _DAMAGED
    if _checksum_bytes(key, value) != check.decode("ascii", "replace"):
        return _DAMAGED
    try:
        obj = json.loads(value.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
        return _DAMAGED
    return obj if _shape_ok(kind, obj) else _DAMAGED


def _shape_ok(kind: str, obj: Any) -> bool:
    """A segment is a string; a document is an object with its text (and a list of segment
    pairs when it has them)."""
    if kind == "segment":
        return isinstance(obj, str)
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("text"), str)
        and isinstance(obj.get("segments", []), list)
    )


def _sound(key: Any, kind: Any, value: Any, check: Any) -> int:
    """SQL function ``wb_sound``: 1 when a stored row is intact (used to replace damaged rows
    on write, whichever process read them)."""
    if not isinstance(key, bytes) or kind not in KINDS:
        return 0
    return int(_parsed(key, kind, value, check) is not _DAMAGED)


def _prepare(conn: sqlite3.Connection) -> None:
    """What every connection to a cache needs: lenient text, and the checksum functions."""
    conn.text_factory = _lenient_text
    conn.create_function("wb_checksum", 2, _checksum_or_null, deterministic=True)
    conn.create_function("wb_checksum_v1", 1, _checksum_v1, deterministic=True)
    conn.create_function("wb_sound", 4, _sound, deterministic=True)


def _checksum_or_null(key: bytes | None, value: bytes | None) -> str | None:
    if key is None or value is None:
        return None
    return _checksum_bytes(key, value)


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _is_busy(exc: sqlite3.Error) -> bool:
    return any(h in str(exc).lower() for h in _BUSY_HINTS)


def _is_corrupt(exc: sqlite3.Error) -> bool:
    return any(h in str(exc).lower() for h in _CORRUPT_HINTS)


@dataclass
class _State:
    """What one store holds in one process; shared with its exit finalizer (not the store)."""

    busy_timeout: float
    conn: sqlite3.Connection | None = None
    pid: int = field(default_factory=os.getpid)
    lock: threading.RLock = field(default_factory=threading.RLock)
    counts: Counter[str] = field(default_factory=Counter)
    accessed: dict[str, float] = field(default_factory=dict)
    # Keys of damaged rows met by this process (read as misses): reported once by the caller.
    damaged: set[str] = field(default_factory=set)

    def flush(self, conn: sqlite3.Connection) -> None:
        """Write pending counters and access times; the caller holds a write transaction."""
        if self.counts:
            conn.executemany(
                "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) "
                "DO UPDATE SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)",
                [(name, str(n)) for name, n in self.counts.items() if n],
            )
        if self.accessed:
            conn.executemany(
                "UPDATE entries SET accessed = ? WHERE key = ? AND accessed < ?",
                [(t, k, t) for k, t in self.accessed.items()],
            )

    def forget_pending(self) -> None:
        self.counts.clear()
        self.accessed.clear()

    def here(self) -> threading.RLock:
        """The lock, after making sure the state belongs to this process.

        After fork() the child must not use the parent's connection (nor close it, which would
        disturb the parent's locks), its lock may be held by a thread that does not exist in
        the child, and its pending counters are the parent's to store.
        """
        if self.pid != os.getpid():
            if self.conn is not None:
                _ABANDONED.append(self.conn)
            self.conn = None
            self.lock = threading.RLock()
            self.forget_pending()
            self.damaged = set()
            self.pid = os.getpid()
        return self.lock

    def shutdown(self) -> None:
        """Best effort at close or exit: store pending counters, then close the connection."""
        with self.here():
            conn, self.conn = self.conn, None
            if conn is None:
                return
            try:
                if self.counts or self.accessed:
                    # Bookkeeping only: never hold up an exit behind another writer for long.
                    conn.execute("PRAGMA busy_timeout = 1000")
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        self.flush(conn)
                        conn.execute("COMMIT")
                        self.forget_pending()
                    finally:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            finally:
                conn.close()


class SqliteStore:
    """The cache: a SQLite database shared safely by threads and processes.

    Nothing touches the disk until first use; a lookup in a cache that does not exist yet is a
    miss and creates nothing, and the first write creates the file and its folder.

    A file that is not a SQLite database, a truncated one, or one SQLite reports as malformed
    raises :class:`CorruptCacheError` (a ``CacheError``) naming the file, rather than silently
    starting over: the file may be a user's mistake (a wrong ``--cache``) or hold hours of
    translations, so deleting it is left to ``workbench cache repair``, which keeps its sound
    entries and moves it aside. A damaged row (bytes changed, no longer UTF-8, a checksum that
    does not bind its key and value, a value of the wrong shape) is only a miss: it is counted
    in ``bad_reads``, reported by :meth:`warnings`, and replaced when the result is stored.
    """

    readable = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        retry_seconds: float = 60.0,
    ) -> None:
        self.path = Path(path).expanduser()
        self.retry_seconds = retry_seconds
        self._state = _State(busy_timeout)
        self._finalizer = weakref.finalize(self, _State.shutdown, self._state)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the Store protocol ------------------------------------------------------------------

    def get_document(self, key: str) -> dict[str, Any] | None:
        """The cached document entry under ``key``, or None."""

        def read(conn: sqlite3.Connection) -> tuple[bytes, bytes] | None:
            return conn.execute(
                "SELECT CAST(value AS BLOB), CAST(checksum AS BLOB) FROM entries "
                "WHERE key = ? AND kind = 'document'",
                (key,),
            ).fetchone()

        row = self._read(read)
        value = self._decode(key, "document", row) if row else None
        self._count("document", 1 if value is not None else 0, 0 if value is not None else 1)
        return value

    def put_document(
        self, key: str, value: dict[str, Any], meta: dict[str, Any], *, replace: bool = False
    ) -> None:
        """Store a document entry; ``meta`` carries signature, model and path.

        An intact entry already under ``key`` is kept (the first result stays) unless
        ``replace``; a damaged one is replaced.
        """
        self._put("document", [(key, value)], meta, replace)

    def get_segments(self, keys: list[str]) -> dict[str, str]:
        """The cached segments among ``keys`` (absent keys are misses), in a few queries."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}

        def read(conn: sqlite3.Connection) -> list[tuple[str, bytes, bytes]]:
            rows: list[tuple[str, bytes, bytes]] = []
            for chunk in _chunks(wanted, _IN_CHUNK):
                marks = ",".join("?" * len(chunk))
                rows.extend(
                    conn.execute(
                        "SELECT key, CAST(value AS BLOB), CAST(checksum AS BLOB) FROM entries "
                        f"WHERE kind = 'segment' AND key IN ({marks})",
                        chunk,
                    )
                )
            return rows

        found: dict[str, str] = {}
        for k, value, check in self._read(read) or []:
            text = self._decode(k, "segment", (value, check))
            if text is not None:
                found[k] = text
        self._count("segment", len(found), len(wanted) - len(found))
        return found

    def put_segments(
        self, items: list[tuple[str, str]], meta: dict[str, Any], *, replace: bool = False
    ) -> None:
        """Store segment translations, all of ``items`` in one transaction; intact entries
        already stored are kept unless ``replace`` (damaged ones are replaced)."""
        self._put("segment", items, meta, replace)

    def warnings(self) -> list[str]:
        """One line naming the cache when this process met damaged entries, else nothing.

        The library does not print; a command shows this once at the end of its run.
        """
        with self._state.here():
            n = len(self._state.damaged)
        if not n:
            return []
        what = (
            "1 damaged entry was read as a miss"
            if n == 1
            else f"{n} damaged entries were read as misses"
        )
        return [
            f"cache database {self.path}: {what} and recomputed; run `workbench cache verify "
            f"--cache {self.path}` to check the others"
        ]

    # -- management --------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Size, entries by kind and model, oldest/newest entry and lifetime hit counters."""
        files = [self.path, *self._companions(self.path)]
        info: dict[str, Any] = {
            "path": str(self.path),
            "exists": self.path.exists(),
            "bytes": sum(p.stat().st_size for p in files if p.exists()),
            "schema": None,
            "entries": 0,
            "value_bytes": 0,
            "kinds": dict.fromkeys(KINDS, 0),
            "models": {},
            "oldest": None,
            "newest": None,
            "counters": dict.fromkeys(COUNTERS, 0),
        }

        def read(conn: sqlite3.Connection) -> None:
            meta = dict(conn.execute("SELECT name, value FROM meta"))
            info["schema"] = int(meta.get("schema", 0))
            for name in COUNTERS:
                info["counters"][name] = int(meta.get(name, 0))
            n, size, oldest, newest = conn.execute(
                "SELECT count(*), coalesce(sum(size), 0), min(created), max(created) FROM entries"
            ).fetchone()
            info.update(entries=n, value_bytes=size, oldest=oldest, newest=newest)
            for kind, count in conn.execute("SELECT kind, count(*) FROM entries GROUP BY kind"):
                info["kinds"][kind] = count
            info["models"] = {
                model: {"entries": count, "bytes": size}
                for model, count, size in conn.execute(
                    "SELECT model, count(*), sum(size) FROM entries GROUP BY model "
                    "ORDER BY count(*) DESC"
                )
            }

        self._read(read)
        with self._state.here():
            for name, n in self._state.counts.items():
                info["counters"][name] += n
        return info

    def ls(
        self, limit: int = 50, model: str | None = None, kind: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest entries, optionally of one model or kind."""
        if kind is not None and kind not in KINDS:
            raise WorkbenchError(f"unknown entry kind {kind!r}; use document or segment")
        where, args = self._where(model=model, kind=kind)

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            cur = conn.execute(
                "SELECT key, kind, signature, model, task, path, created, accessed, size "
                f"FROM entries {where} ORDER BY created DESC LIMIT ?",
                [*args, limit],
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur]

        return self._read(read) or []

    def show(self, key_prefix: str) -> dict[str, Any]:
        """The entry whose key starts with ``key_prefix`` (at least 6 characters, unique)."""
        prefix = key_prefix.strip().lower()
        if len(prefix) < 6:
            raise CacheError(f"key prefix {key_prefix!r} is too short; give at least 6 characters")

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            # A range rather than LIKE, so the primary-key index answers it.
            cur = conn.execute(
                "SELECT key, kind, signature, model, task, path, created, accessed, size, "
                "checksum, CAST(key AS BLOB) AS raw_key, CAST(value AS BLOB) AS value, "
                "CAST(checksum AS BLOB) AS raw_checksum "
                "FROM entries WHERE key >= ? AND key < ? ORDER BY key LIMIT 3",
                (prefix, prefix + "\U0010ffff"),
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur]

        rows = self._read(read) or []
        if not rows:
            raise CacheError(f"no cache entry in {self.path} has a key starting with {prefix}")
        if len(rows) > 1:
            keys = ", ".join(r["key"][: len(prefix) + 4] for r in rows)
            raise CacheError(f"key prefix {prefix} matches several entries ({keys}…); give more")
        entry = rows[0]
        raw, key, check = entry.pop("value"), entry.pop("raw_key"), entry.pop("raw_checksum")
        value = _parsed(key, entry["kind"], raw, check)
        entry["checksum_ok"] = value is not _DAMAGED
        if value is _DAMAGED:
            value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            with contextlib.suppress(TypeError, ValueError):
                value = json.loads(value)
        entry["value"] = value
        return entry

    def clear(
        self,
        model: str | None = None,
        older_than_seconds: float | None = None,
        everything: bool = False,
        vacuum: bool = False,
    ) -> int:
        """Remove entries of ``model`` and/or created more than ``older_than_seconds`` ago
        (both given: entries matching both), or ``everything``; returns how many went."""
        if not everything and model is None and older_than_seconds is None:
            raise WorkbenchError("say what to clear: a model, an age, or everything")
        if everything:
            model = older_than_seconds = None
        cutoff = None if older_than_seconds is None else time.time() - older_than_seconds
        where, args = self._where(model=model, before=cutoff)
        if not self.path.exists():
            return 0
        removed = 0
        while True:
            # Chunked deletes keep each write transaction short for other processes.
            n = self._write(
                lambda conn: (
                    conn.execute(
                        "DELETE FROM entries WHERE rowid IN "
                        f"(SELECT rowid FROM entries {where} LIMIT {_DELETE_CHUNK})",
                        args,
                    ).rowcount
                )
            )
            removed += n
            if n < _DELETE_CHUNK:
                break
        if vacuum:
            self._run(lambda conn: conn.execute("VACUUM"), create=False)
        return removed

    def verify(self, fix: bool = False) -> dict[str, Any]:
        """Run SQLite's integrity_check and check every row (checksum over key and value,
        UTF-8, JSON shape).

        Returns ``integrity`` (a list of SQLite's complaints, empty when sound), ``entries``,
        ``ok``, ``bad``, ``bad_keys`` (every damaged row's key, damaged bytes shown as U+FFFD)
        and, with ``fix``, ``removed`` (exactly the damaged rows, deleted). Damage to the
        file's pages raises :class:`CorruptCacheError`.
        """
        report: dict[str, Any] = {
            "path": str(self.path),
            "integrity": [],
            "entries": 0,
            "ok": 0,
            "bad": 0,
            "bad_keys": [],
            "removed": 0,
        }
        bad: list[tuple[int, bytes]] = []

        def read(conn: sqlite3.Connection) -> None:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            report["integrity"] = [] if problems == ["ok"] else problems
            for rowid, k, kind, value, check in conn.execute(
                "SELECT rowid, CAST(key AS BLOB), kind, CAST(value AS BLOB), "
                "CAST(checksum AS BLOB) FROM entries"
            ):
                report["entries"] += 1
                if _sound(k, kind, value, check):
                    report["ok"] += 1
                else:
                    bad.append((rowid, check))
                    shown = k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)
                    report["bad_keys"].append(shown)

        self._read(read)
        report["bad"] = len(bad)
        if fix and bad:
            for chunk in _chunks(bad, _IN_CHUNK):
                # Only rows still as they were: a row replaced meanwhile is left alone.
                report["removed"] += self._write(
                    lambda conn, chunk=chunk: sum(
                        conn.execute(
                            "DELETE FROM entries WHERE rowid = ? AND CAST(checksum AS BLOB) = ?",
                            pair,
                        ).rowcount
                        for pair in chunk
                    )
                )
        return report

    def open(self) -> SqliteStore:
        """Open an existing cache now (creating nothing), so that a damaged cache or one from a
        newer workbench is reported before any work starts rather than at the first lookup."""
        self._read(lambda conn: None)
        return self

    def close(self) -> None:
        """Store pending counters and close the connection; the store reopens on next use."""
        self._state.shutdown()

    # -- internals ---------------------------------------------------------------------------

    @staticmethod
    def _companions(path: Path) -> list[Path]:
        return [path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]

    @staticmethod
    def _where(
        *, model: str | None = None, kind: str | None = None, before: float | None = None
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if model is not None:
            clauses.append("model = ?")
            args.append(model)
        if kind is not None:
            clauses.append("kind = ?")
            args.append(kind)
        if before is not None:
            clauses.append("created < ?")
            args.append(before)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), args

    def _decode(self, key: str, kind: str, row: tuple[bytes, bytes]) -> Any:
        """The value of a row that is intact under ``key``, else None (counted as damaged)."""
        value = _parsed(key.encode("utf-8"), kind, *row)
        with self._state.here():
            if value is _DAMAGED:
                self._state.counts["bad_reads"] += 1
                self._state.damaged.add(key)
                return None
            accessed = self._state.accessed
            if len(accessed) >= _MAX_PENDING_ACCESS:
                accessed.pop(next(iter(accessed)))
            accessed[key] = time.time()
        return value

    def _count(self, kind: str, hits: int, misses: int) -> None:
        with self._state.here():
            self._state.counts[f"{kind}_hits"] += hits
            self._state.counts[f"{kind}_misses"] += misses

    def _put(
        self, kind: str, items: list[tuple[str, Any]], meta: dict[str, Any], replace: bool
    ) -> None:
        if not items:
            return
        now = time.time()
        signature = meta.get("signature")
        # The signature starts with the task ("translate|model:…").
        task = meta.get("task") or (signature.split("|", 1)[0] if signature else None)
        rows = []
        for k, value in items:
            text = dumps(value)
            rows.append(
                (
                    k,
                    kind,
                    text,
                    signature,
                    meta.get("model"),
                    task,
                    None if meta.get("path") is None else str(meta["path"]),
                    now,
                    now,
                    len(text.encode("utf-8")),
                    checksum(k, text),
                )
            )
        # The first intact result stays (another process may have stored it meanwhile); a
        # damaged row is replaced whoever read it; a refresh replaces everything.
        keep = (
            ""
            if replace
            else " WHERE NOT wb_sound(CAST(entries.key AS BLOB), entries.kind, "
            "CAST(entries.value AS BLOB), CAST(entries.checksum AS BLOB))"
        )
        self._write(
            lambda conn: conn.executemany(
                "INSERT INTO entries (key, kind, value, signature, model, task, path, created, "
                "accessed, size, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, value = excluded.value, "
                "signature = excluded.signature, model = excluded.model, task = excluded.task, "
                "path = excluded.path, created = excluded.created, accessed = excluded.accessed, "
                "size = excluded.size, checksum = excluded.checksum" + keep,
                rows,
            )
        )

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T | None:
        """``fn(conn)`` on the existing database; None when there is no database yet."""
        return self._run(fn, create=False)

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(conn)`` in one short write transaction, with pending bookkeeping stored too."""
        state = self._state

        def attempt(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                state.flush(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
            state.forget_pending()
            return result

        result = self._run(attempt, create=True)
        return result  # type: ignore[return-value]  # create=True always has a connection

    def _run(self, fn: Callable[[sqlite3.Connection], T], *, create: bool) -> T | None:
        """Run ``fn`` under the lock, retrying while another process holds the database."""
        state = self._state
        deadline: float | None = None
        delay = 0.02
        with state.here():
            while True:
                try:
                    conn = self._connection(create)
                    return None if conn is None else fn(conn)
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc):
                        raise self._error(exc) from exc
                    now = time.monotonic()
                    deadline = deadline or now + self.retry_seconds
                    if now >= deadline:
                        raise CacheError(
                            f"cache database {self.path} stayed locked by another process for "
                            f"over {self.retry_seconds + state.busy_timeout:.0f} s; retry when "
                            "the other workbench runs finish, or pass --no-cache"
                        ) from exc
                    # Jitter keeps processes that collided from retrying in lockstep.
                    time.sleep(min(delay, deadline - now) * random.uniform(0.5, 1.0))
                    delay = min(delay * 2, 1.0)
                except sqlite3.Error as exc:
                    raise self._error(exc) from exc

    def _error(self, exc: sqlite3.Error) -> CacheError:
        """A user-facing error for a SQLite failure; drops the connection if the file is bad."""
        detail = str(exc)
        if _is_corrupt(exc):
            self._drop_connection()
            return CorruptCacheError(self.path, detail)
        return CacheError(
            f"cache database {self.path} cannot be used ({detail}); check the disk and the "
            "file's permissions, or pass --no-cache"
        )

    def _drop_connection(self) -> None:
        conn, self._state.conn = self._state.conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _connection(self, create: bool) -> sqlite3.Connection | None:
        """The open connection of this process, opening (and migrating) it on first use."""
        state = self._state
        if state.conn is not None:
            return state.conn
        if not create and not self.path.exists():
            return None
        if create:
            try:
                _private_folders(self.path.parent)
                _private_file(self.path)
            except OSError as exc:
                raise CacheError(
                    f"cannot create the cache folder {self.path.parent} ({exc.strerror}); "
                    "pass --cache with a writable path, or --no-cache"
                ) from exc
        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0
        suspect = size > 0 and self._suspect_truncation()
        uri = self.path.resolve().as_uri() + ("?mode=rwc" if create else "?mode=rw")
        conn = sqlite3.connect(
            uri,
            uri=True,
            timeout=state.busy_timeout,
            isolation_level=None,  # transactions are explicit
            check_same_thread=False,  # guarded by state.lock
        )
        try:
            _prepare(conn)
            conn.execute(f"PRAGMA busy_timeout = {int(state.busy_timeout * 1000)}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL cannot corrupt the database; a power cut may lose only the
            # last commits, which are a cache's to lose.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA journal_size_limit = 67108864")
            if suspect or 0 < size <= _QUICK_CHECK_MAX_BYTES:
                problems = [r[0] for r in conn.execute("PRAGMA quick_check")]
                if problems != ["ok"]:
                    raise CorruptCacheError(self.path, "; ".join(problems[:3]))
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        state.conn = conn
        return conn

    def _suspect_truncation(self) -> bool:
        """True when the header promises more pages than the file holds.

        Only a suspicion: a checkpoint in another process writes page 1 before the pages after
        it, so the caller confirms with quick_check, which reads a consistent snapshot.
        """
        try:
            size = self.path.stat().st_size
            with self.path.open("rb") as f:
                header = f.read(100)
        except OSError:
            return False  # SQLite will report what is wrong with the file
        if len(header) < 100 or not header.startswith(_HEADER):
            return False  # not SQLite's format: connecting reports "file is not a database"
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        # The page count in the header is valid only when its change counter matches.
        return bool(pages) and header[24:28] == header[92:96] and size < pages * page_size

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = self._version(conn)
        if version == CACHE_SCHEMA:
            return
        if version > CACHE_SCHEMA:
            raise CacheError(
                f"cache database {self.path} was written by a newer workbench (cache schema "
                f"{version}, this one reads {CACHE_SCHEMA}); upgrade workbench or use another "
                "--cache"
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._version(conn)  # another process may have migrated meanwhile
            for target, statements in MIGRATIONS:
                if target <= version:
                    continue
                for sql in statements:
                    conn.execute(sql)
                conn.execute(
                    "INSERT INTO meta (name, value) VALUES ('schema', ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (str(target),),
                )
            conn.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('created', ?)",
                (repr(time.time()),),
            )
            conn.execute("COMMIT")
            if 0 < version < 2:
                # Caches created before schema 2 were readable by every local user.
                for file in (self.path, *self._companions(self.path)):
                    with contextlib.suppress(OSError):
                        os.chmod(file, 0o600)
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise

    def _version(self, conn: sqlite3.Connection) -> int:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables:
            if tables - {"entries"}:
                raise CacheError(
                    f"{self.path} is a SQLite database but not a workbench cache; pass "
                    "--cache with another file"
                )
            return 0
        row = conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        try:
            return int(row[0]) if row else 0
        except ValueError as exc:
            raise CorruptCacheError(self.path, f"bad schema version {row[0]!r}") from exc


def _private_folders(folder: Path) -> None:
    """Create ``folder`` and any missing parents, each private to the user (0700)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for each in reversed(missing):
        try:
            os.mkdir(each, 0o700)
        except FileExistsError:
            continue
        os.chmod(each, 0o700)  # whatever the umask


def _private_file(path: Path) -> None:
    """Create the database file empty with mode 0600 (SQLite gives its -wal and -shm files
    the database file's mode), unless it exists: an existing file keeps the mode it has."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def repair(path: str | os.PathLike[str]) -> Path:
    """Move a broken cache (and its -wal/-shm files) aside; returns where the database went.

    The files become ``<name>.corrupt-<timestamp>`` (with ``-wal``/``-shm`` kept beside it so
    SQLite tools still read them together); the next run starts a new cache at ``path``.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise CacheError(f"there is no cache database at {path}; nothing to repair")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        path.rename(target)
        for suffix in ("-wal", "-shm"):
            extra = path.with_name(path.name + suffix)
            if extra.exists():
                extra.rename(target.with_name(target.name + suffix))
    except OSError as exc:
        raise CacheError(
            f"cannot move the cache database {path} aside ({exc.strerror}); move or delete it "
            "by hand"
        ) from exc
    return target


#: Columns copied by rebuild(), in table order.
_COLUMNS = "key, kind, value, signature, model, task, path, created, accessed, size, checksum"
# rebuild() steps over rows it cannot read one rowid at a time; past this many failed steps
# in a row the rest of the table is taken as lost.
_SALVAGE_PROBES = 20_000


def _scratch_copy(path: Path, scratch: Path) -> None:
    """Copy a damaged cache (and its -wal) to ``scratch`` for reading, never touching the
    original. A truncated file's header promises pages it no longer has, and SQLite then
    refuses every page; the copy's header is cut down to the pages that are there."""
    _private_file(scratch)  # created 0600 first: copyfile keeps the mode of what it overwrites
    shutil.copyfile(path, scratch)
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        _private_file(scratch.with_name(scratch.name + "-wal"))
        shutil.copyfile(wal, scratch.with_name(scratch.name + "-wal"))
        return
    with scratch.open("r+b") as f:
        header = f.read(100)
        if len(header) < 100 or not header.startswith(_HEADER):
            return
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = scratch.stat().st_size // page_size
        if 0 < pages < int.from_bytes(header[28:32], "big"):
            f.truncate(pages * page_size)
            f.seek(28)
            f.write(pages.to_bytes(4, "big"))


def _readable_rows(path: Path) -> tuple[list[tuple[Any, ...]], int]:
    """The intact rows SQLite can still read from a copy of a damaged cache, and how many it
    read but found damaged; ([], 0) when the file cannot be read as a database at all."""
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=rw", uri=True, timeout=5)
    except sqlite3.Error:
        return [], 0
    kept: list[tuple[Any, ...]] = []
    damaged = 0
    try:
        _prepare(conn)
        try:
            top = conn.execute("SELECT max(rowid) FROM entries").fetchone()[0]
        except sqlite3.Error:
            top = None
        last, failures = 0, 0
        sql = (
            "SELECT rowid, CAST(key AS BLOB), kind, CAST(value AS BLOB), signature, model, task, "
            "path, created, accessed, size, CAST(checksum AS BLOB) FROM entries WHERE rowid > ? "
            "ORDER BY rowid"
        )
        while failures < _SALVAGE_PROBES and (top is None or last < top):
            try:
                for rowid, key, kind, value, *rest, check in conn.execute(sql, (last,)):
                    last, failures = rowid, 0
                    if not _sound(key, kind, value, check):
                        damaged += 1
                        continue
                    kept.append((key.decode(), kind, value.decode(), *rest, check.decode("ascii")))
                break
            except sqlite3.DatabaseError:
                # A page that cannot be read: step past it one rowid at a time.
                last, failures = last + 1, failures + 1
    finally:
        conn.close()
    return kept, damaged


def rebuild(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Rebuild a cache whose file is damaged: copy every intact entry SQLite can still read
    into a new database, move the damaged file aside (see :func:`repair`) and put the new one
    in its place. Run it while no other workbench run uses the cache.

    Returns ``kept`` (entries copied), ``dropped`` (entries read but damaged; pages SQLite
    could not read are not counted) and ``moved`` (where the damaged file went).
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise CacheError(f"there is no cache database at {path}; nothing to repair")
    fresh = path.with_name(f".{path.name}.rebuild-{os.getpid()}")
    copy = path.with_name(f".{path.name}.damaged-{os.getpid()}")
    copies = (copy, *SqliteStore._companions(copy))
    for file in (fresh, *SqliteStore._companions(fresh), *copies):
        file.unlink(missing_ok=True)
    try:
        _scratch_copy(path, copy)
        rows, dropped = _readable_rows(copy)
    except OSError as exc:
        raise CacheError(f"cannot read the cache database {path} ({exc.strerror})") from exc
    finally:
        for file in copies:
            file.unlink(missing_ok=True)
    if rows:
        marks = ", ".join("?" * 11)
        with SqliteStore(fresh) as new:
            new._write(
                lambda conn: conn.executemany(
                    f"INSERT OR IGNORE INTO entries ({_COLUMNS}) VALUES ({marks})", rows
                )
            )
    moved = repair(path)
    if rows:
        try:
            os.replace(fresh, path)
        except OSError as exc:
            raise CacheError(
                f"cannot put the rebuilt cache {fresh} in place of {path} ({exc.strerror}); "
                "move it there by hand"
            ) from exc
    return {"path": str(path), "kept": len(rows), "dropped": dropped, "moved": str(moved)}


_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str) -> float:
    """``"30d"``, ``"12h"``, ``"90m"``, ``"45s"`` (or ``"2w"``) → seconds."""
    match = _AGE.fullmatch(text.strip().lower())
    if not match:
        raise WorkbenchError(
            f"cannot read the age {text!r}; use a number and a unit, e.g. 30d, 12h, 90m or 45s"
        )
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


__all__ = [
    "CACHE_SCHEMA",
    "MIGRATIONS",
    "CorruptCacheError",
    "SqliteStore",
    "checksum",
    "parse_age",
    "rebuild",
    "repair",
]
