"""One cache file as one process uses it: a connection opened, prepared and migrated on first
use, short write transactions, and retries with backoff while another process holds the file.

SQLite in WAL mode lets readers run while one writer commits; every write is a short
``BEGIN IMMEDIATE`` transaction, and a writer that finds the database busy waits
(``busy_timeout``) and then retries with backoff for a bounded time.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from workbench.cache.files import private_file, private_folders
from workbench.cache.integrity import HEADER, CorruptCacheError, is_corrupt, prepare
from workbench.cache.schema import migrate
from workbench.errors import CacheError

T = TypeVar("T")

# Most parameters in one ``IN (...)`` list: far under SQLite's limit, and a 1,000-key lookup
# is still only two queries.
IN_CHUNK = 500
# quick_check reads every page (about 1.5 ms per MiB), so at open it runs only on files up to
# this size, keeping an open a few milliseconds; larger files get it only when their header
# looks truncated, and otherwise rely on SQLite reporting damage when it reads a bad page
# (and on `workbench cache verify`).
_QUICK_CHECK_MAX_BYTES = 2 * 1024 * 1024

_BUSY_HINTS = ("locked", "busy")

# Connections inherited over fork() must never be used or closed by the child (closing them
# would disturb the parent's locks); they are parked here instead of being garbage-collected.
_ABANDONED: list[sqlite3.Connection] = []


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    """``items`` in consecutive lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether a SQLite error says another connection holds the database."""
    return any(h in str(exc).lower() for h in _BUSY_HINTS)


@dataclass
class State:
    """What one database holds in one process; shared with its exit finalizer (not the
    database)."""

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
        """Drop pending counters and access times (stored, or another process's)."""
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


class Database:
    """The connection to one cache file in this process, shared by its threads."""

    def __init__(
        self, path: Path, *, busy_timeout: float = 30.0, retry_seconds: float = 60.0
    ) -> None:
        self.path = path
        self.retry_seconds = retry_seconds
        self.state = State(busy_timeout)
        # The finalizer holds the state, not the database, so it can run when this goes.
        self._finalizer = weakref.finalize(self, State.shutdown, self.state)

    def close(self) -> None:
        """Store pending counters and close the connection; the next use reopens it."""
        self.state.shutdown()

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T | None:
        """``fn(conn)`` on the existing database; None when there is no database yet."""
        return self.run(fn, create=False)

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(conn)`` in one short write transaction, with pending bookkeeping stored too."""
        state = self.state

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

        result = self.run(attempt, create=True)
        return result  # type: ignore[return-value]  # create=True always has a connection

    def run(self, fn: Callable[[sqlite3.Connection], T], *, create: bool) -> T | None:
        """Run ``fn`` under the lock, retrying while another process holds the database."""
        state = self.state
        deadline: float | None = None
        delay = 0.02
        with state.here():
            while True:
                try:
                    conn = self._connect(create)
                    return None if conn is None else fn(conn)
                except sqlite3.OperationalError as exc:
                    if not is_busy(exc):
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
        if is_corrupt(exc):
            self._drop_connection()
            return CorruptCacheError(self.path, detail)
        return CacheError(
            f"cache database {self.path} cannot be used ({detail}); check the disk and the "
            "file's permissions, or pass --no-cache"
        )

    def _drop_connection(self) -> None:
        conn, self.state.conn = self.state.conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        """The open connection of this process, opening (and migrating) it on first use."""
        state = self.state
        if state.conn is not None:
            return state.conn
        if not create and not self.path.exists():
            return None
        if create:
            try:
                private_folders(self.path.parent)
                private_file(self.path)
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
            prepare(conn)
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
            migrate(conn, self.path)
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
        if len(header) < 100 or not header.startswith(HEADER):
            return False  # not SQLite's format: connecting reports "file is not a database"
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        # The page count in the header is valid only when its change counter matches.
        return bool(pages) and header[24:28] == header[92:96] and size < pages * page_size
