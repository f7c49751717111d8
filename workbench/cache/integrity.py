"""What makes a stored row sound: a checksum binding the value to its key, UTF-8 JSON of the
shape of its kind; and the signs that the file itself is damaged.

A damaged row reads as a miss and never as a wrong translation; a damaged file raises
:class:`CorruptCacheError`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from workbench.errors import CacheError

KINDS = ("document", "segment")

#: The first bytes of every SQLite database file.
HEADER = b"SQLite format 3\x00"
_CORRUPT_HINTS = ("malformed", "not a database", "corrupt", "disk image")


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
DAMAGED = object()


def parsed(key: bytes, kind: str, value: Any, check: Any) -> Any:
    """The value of a row whose checksum binds ``key`` and whose JSON has the shape of its
    kind; ``DAMAGED`` otherwise. ``value`` and ``check`` are the raw bytes of the row."""
    if not isinstance(value, bytes) or not isinstance(check, bytes):
        return DAMAGED
    if _checksum_bytes(key, value) != check.decode("ascii", "replace"):
        return DAMAGED
    try:
        obj = json.loads(value.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
        return DAMAGED
    return obj if _shape_ok(kind, obj) else DAMAGED


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


def sound(key: Any, kind: Any, value: Any, check: Any) -> int:
    """SQL function ``wb_sound``: 1 when a stored row is intact (used to replace damaged rows
    on write, whichever process read them)."""
    if not isinstance(key, bytes) or kind not in KINDS:
        return 0
    return int(parsed(key, kind, value, check) is not DAMAGED)


def prepare(conn: sqlite3.Connection) -> None:
    """What every connection to a cache needs: lenient text, and the checksum functions."""
    conn.text_factory = _lenient_text
    conn.create_function("wb_checksum", 2, _checksum_or_null, deterministic=True)
    conn.create_function("wb_checksum_v1", 1, _checksum_v1, deterministic=True)
    conn.create_function("wb_sound", 4, sound, deterministic=True)


def _checksum_or_null(key: bytes | None, value: bytes | None) -> str | None:
    if key is None or value is None:
        return None
    return _checksum_bytes(key, value)


def is_corrupt(exc: sqlite3.Error) -> bool:
    """Whether a SQLite error says the file is damaged (rather than busy or unwritable)."""
    return any(h in str(exc).lower() for h in _CORRUPT_HINTS)
