"""Managing a cache: statistics, listing and showing entries, clearing some or all of them,
and verifying every row (``workbench cache …``)."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from typing import Any

from workbench.cache.database import IN_CHUNK, Database, chunks
from workbench.cache.files import companions
from workbench.cache.integrity import DAMAGED, KINDS, parsed, sound
from workbench.errors import CacheError, WorkbenchError

#: Lifetime counters kept in ``meta``.
COUNTERS = ("document_hits", "document_misses", "segment_hits", "segment_misses", "bad_reads")
# Rows deleted per transaction by clear(), so other processes are never blocked for long.
_DELETE_CHUNK = 2000


def stats(db: Database) -> dict[str, Any]:
    """Size, entries by kind and model, oldest/newest entry and lifetime hit counters."""
    files = [db.path, *companions(db.path)]
    info: dict[str, Any] = {
        "path": str(db.path),
        "exists": db.path.exists(),
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

    db.read(read)
    with db.state.here():
        for name, n in db.state.counts.items():
            info["counters"][name] += n
    return info


def ls(
    db: Database, limit: int = 50, model: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    """The newest entries, optionally of one model or kind."""
    if kind is not None and kind not in KINDS:
        raise WorkbenchError(f"unknown entry kind {kind!r}; use document or segment")
    where, args = _where(model=model, kind=kind)

    def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        cur = conn.execute(
            "SELECT key, kind, signature, model, task, path, created, accessed, size "
            f"FROM entries {where} ORDER BY created DESC LIMIT ?",
            [*args, limit],
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    return db.read(read) or []


def show(db: Database, key_prefix: str) -> dict[str, Any]:
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

    rows = db.read(read) or []
    if not rows:
        raise CacheError(f"no cache entry in {db.path} has a key starting with {prefix}")
    if len(rows) > 1:
        keys = ", ".join(r["key"][: len(prefix) + 4] for r in rows)
        raise CacheError(f"key prefix {prefix} matches several entries ({keys}…); give more")
    entry = rows[0]
    raw, key, check = entry.pop("value"), entry.pop("raw_key"), entry.pop("raw_checksum")
    value = parsed(key, entry["kind"], raw, check)
    entry["checksum_ok"] = value is not DAMAGED
    if value is DAMAGED:
        value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        with contextlib.suppress(TypeError, ValueError):
            value = json.loads(value)
    entry["value"] = value
    return entry


def clear(
    db: Database,
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
    where, args = _where(model=model, before=cutoff)
    if not db.path.exists():
        return 0
    removed = 0
    while True:
        # Chunked deletes keep each write transaction short for other processes.
        n = db.write(
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
        db.run(lambda conn: conn.execute("VACUUM"), create=False)
    return removed


def verify(db: Database, fix: bool = False) -> dict[str, Any]:
    """Run SQLite's integrity_check and check every row (checksum over key and value,
    UTF-8, JSON shape).

    Returns ``integrity`` (a list of SQLite's complaints, empty when sound), ``entries``,
    ``ok``, ``bad``, ``bad_keys`` (every damaged row's key, damaged bytes shown as U+FFFD)
    and, with ``fix``, ``removed`` (exactly the damaged rows, deleted). Damage to the
    file's pages raises :class:`CorruptCacheError`.
    """
    report: dict[str, Any] = {
        "path": str(db.path),
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
            if sound(k, kind, value, check):
                report["ok"] += 1
            else:
                bad.append((rowid, check))
                shown = k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)
                report["bad_keys"].append(shown)

    db.read(read)
    report["bad"] = len(bad)
    if fix and bad:
        for chunk in chunks(bad, IN_CHUNK):
            # Only rows still as they were: a row replaced meanwhile is left alone.
            report["removed"] += db.write(
                lambda conn, chunk=chunk: sum(
                    conn.execute(
                        "DELETE FROM entries WHERE rowid = ? AND CAST(checksum AS BLOB) = ?",
                        pair,
                    ).rowcount
                    for pair in chunk
                )
            )
    return report


def _where(
    *, model: str | None = None, kind: str | None = None, before: float | None = None
) -> tuple[str, list[Any]]:
    """A WHERE clause and its arguments selecting entries by model, kind and age."""
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
