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

Modules: ``sqlite`` (the store), ``database`` (connections, transactions, retries), ``schema``
(layout and migrations), ``integrity`` (checksums and sound rows), ``manage`` (stats, listing,
clearing, verifying), ``rescue`` (repairing a damaged file), ``files`` (private files).
"""

from workbench.cache.integrity import CorruptCacheError, checksum
from workbench.cache.manage import parse_age
from workbench.cache.rescue import rebuild, repair
from workbench.cache.schema import CACHE_SCHEMA, MIGRATIONS
from workbench.cache.sqlite import SqliteStore

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
