"""Rescuing a damaged cache: move the file aside, or rebuild it from every intact entry SQLite
can still read (``workbench cache repair``)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from workbench.cache.database import Database
from workbench.cache.files import companions, private_file
from workbench.cache.integrity import HEADER, prepare, sound
from workbench.errors import CacheError


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
    private_file(scratch)  # created 0600 first: copyfile keeps the mode of what it overwrites
    shutil.copyfile(path, scratch)
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        private_file(scratch.with_name(scratch.name + "-wal"))
        shutil.copyfile(wal, scratch.with_name(scratch.name + "-wal"))
        return
    with scratch.open("r+b") as f:
        header = f.read(100)
        if len(header) < 100 or not header.startswith(HEADER):
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
        prepare(conn)
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
                    if not sound(key, kind, value, check):
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
    copies = (copy, *companions(copy))
    for file in (fresh, *companions(fresh), *copies):
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
        new = Database(fresh)
        try:
            new.write(
                lambda conn: conn.executemany(
                    f"INSERT OR IGNORE INTO entries ({_COLUMNS}) VALUES ({marks})", rows
                )
            )
        finally:
            new.close()
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
