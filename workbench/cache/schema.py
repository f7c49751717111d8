"""The layout of the cache database: its schema version and the migrations that bring an
older file up to it, applied when a connection is opened."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

from workbench.cache.files import companions
from workbench.cache.integrity import CorruptCacheError
from workbench.errors import CacheError

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


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the database at ``path`` up to :data:`CACHE_SCHEMA` (creating its tables in a new
    file); refuse a file written by a newer workbench."""
    version = _version(conn, path)
    if version == CACHE_SCHEMA:
        return
    if version > CACHE_SCHEMA:
        raise CacheError(
            f"cache database {path} was written by a newer workbench (cache schema "
            f"{version}, this one reads {CACHE_SCHEMA}); upgrade workbench or use another "
            "--cache"
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _version(conn, path)  # another process may have migrated meanwhile
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
            for file in (path, *companions(path)):
                with contextlib.suppress(OSError):
                    os.chmod(file, 0o600)
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def _version(conn: sqlite3.Connection, path: Path) -> int:
    """The cache schema of the database at ``path``: 0 when it has no tables yet."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "meta" not in tables:
        if tables - {"entries"}:
            raise CacheError(
                f"{path} is a SQLite database but not a workbench cache; pass "
                "--cache with another file"
            )
        return 0
    row = conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
    try:
        return int(row[0]) if row else 0
    except ValueError as exc:
        raise CorruptCacheError(path, f"bad schema version {row[0]!r}") from exc
