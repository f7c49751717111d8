"""The cache's files on disk: created private to the user, and the companions SQLite keeps
beside the database."""

from __future__ import annotations

import os
from pathlib import Path


def companions(path: Path) -> list[Path]:
    """The -wal and -shm files SQLite keeps beside the database ``path``."""
    return [path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def private_folders(folder: Path) -> None:
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


def private_file(path: Path) -> None:
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
