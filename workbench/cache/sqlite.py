"""The cache store: translated documents and segments looked up and stored by key, over one
SQLite database shared safely by threads and processes.

The first complete result stored under a key is kept: later writers of the same key leave it
alone (results do not change behind a user's back), except an explicit refresh and except a
damaged row, which is replaced.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from workbench.cache import manage
from workbench.cache.database import IN_CHUNK, Database, chunks
from workbench.cache.integrity import DAMAGED, checksum, parsed
from workbench.store import dumps

# Access times of hits are kept in memory and written with the next write; past this many the
# oldest are dropped (they are only bookkeeping).
_MAX_PENDING_ACCESS = 20_000


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
        self._db = Database(self.path, busy_timeout=busy_timeout, retry_seconds=retry_seconds)

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

        row = self._db.read(read)
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
            for chunk in chunks(wanted, IN_CHUNK):
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
        for k, value, check in self._db.read(read) or []:
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
        with self._db.state.here():
            n = len(self._db.state.damaged)
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
        return manage.stats(self._db)

    def ls(
        self, limit: int = 50, model: str | None = None, kind: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest entries, optionally of one model or kind."""
        return manage.ls(self._db, limit, model, kind)

    def show(self, key_prefix: str) -> dict[str, Any]:
        """The entry whose key starts with ``key_prefix`` (at least 6 characters, unique)."""
        return manage.show(self._db, key_prefix)

    def clear(
        self,
        model: str | None = None,
        older_than_seconds: float | None = None,
        everything: bool = False,
        vacuum: bool = False,
    ) -> int:
        """Remove entries of ``model`` and/or created more than ``older_than_seconds`` ago
        (both given: entries matching both), or ``everything``; returns how many went."""
        return manage.clear(self._db, model, older_than_seconds, everything, vacuum)

    def verify(self, fix: bool = False) -> dict[str, Any]:
        """Run SQLite's integrity_check and check every row (checksum over key and value,
        UTF-8, JSON shape).

        Returns ``integrity`` (a list of SQLite's complaints, empty when sound), ``entries``,
        ``ok``, ``bad``, ``bad_keys`` (every damaged row's key, damaged bytes shown as U+FFFD)
        and, with ``fix``, ``removed`` (exactly the damaged rows, deleted). Damage to the
        file's pages raises :class:`CorruptCacheError`.
        """
        return manage.verify(self._db, fix)

    def open(self) -> SqliteStore:
        """Open an existing cache now (creating nothing), so that a damaged cache or one from a
        newer workbench is reported before any work starts rather than at the first lookup."""
        self._db.read(lambda conn: None)
        return self

    def close(self) -> None:
        """Store pending counters and close the connection; the store reopens on next use."""
        self._db.close()

    # -- internals ---------------------------------------------------------------------------

    def _decode(self, key: str, kind: str, row: tuple[bytes, bytes]) -> Any:
        """The value of a row that is intact under ``key``, else None (counted as damaged)."""
        value = parsed(key.encode("utf-8"), kind, *row)
        state = self._db.state
        with state.here():
            if value is DAMAGED:
                state.counts["bad_reads"] += 1
                state.damaged.add(key)
                return None
            accessed = state.accessed
            if len(accessed) >= _MAX_PENDING_ACCESS:
                accessed.pop(next(iter(accessed)))
            accessed[key] = time.time()
        return value

    def _count(self, kind: str, hits: int, misses: int) -> None:
        state = self._db.state
        with state.here():
            state.counts[f"{kind}_hits"] += hits
            state.counts[f"{kind}_misses"] += misses

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
        self._db.write(
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
