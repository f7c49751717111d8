"""What the pipelines need from a cache, and the store used when caching is off."""

from __future__ import annotations

import json
from typing import Any, Protocol

#: How a result too big to cache is marked in its notes (and provenance).
NOT_CACHED = "not-cached"


def dumps(value: Any) -> str:
    """A value as the cache stores it: compact JSON, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def over_limit(value: Any, limit: int) -> int | None:
    """The stored size in bytes of ``value`` when it is over ``limit`` (0: no limit), else None.

    Measured as the cache stores it (compact JSON, UTF-8), so a value is refused exactly when
    its row would be bigger than the limit: one huge row would make every read of it slow.
    """
    if not limit:
        return None
    size = len(dumps(value).encode("utf-8"))
    return size if size > limit else None


def not_cached_note(size: int, limit: int) -> str:
    """The note a result gets when it was too big to cache."""
    return f"{NOT_CACHED}: value of {size:,} bytes over the limit of {limit:,} bytes"


def not_cached_warnings(name: str, notes: list[str]) -> list[str]:
    """The warning line for a result that was written but not cached (none otherwise)."""
    return [
        f"{name}: written but {note} per cache value; raise WORKBENCH_MAX_CACHE_VALUE_BYTES "
        "to cache it"
        for note in notes
        if note.startswith(f"{NOT_CACHED}:")
    ]


class Store(Protocol):
    """Two levels of cached outputs: whole documents and single segments.

    A put keeps an intact entry already stored under the key (the first result stays, so
    reruns return what the first run returned) unless ``replace`` is true.
    """

    def get_document(self, key: str) -> dict[str, Any] | None: ...

    def put_document(
        self, key: str, value: dict[str, Any], meta: dict[str, Any], *, replace: bool = False
    ) -> None: ...

    def get_segments(self, keys: list[str]) -> dict[str, str]: ...

    def put_segments(
        self, items: list[tuple[str, str]], meta: dict[str, Any], *, replace: bool = False
    ) -> None: ...

    def warnings(self) -> list[str]:
        """Lines to show once at the end of a run (damaged entries read as misses)."""
        ...


class NullStore:
    """Caching off: every lookup misses and nothing is kept."""

    readable = False

    def get_document(self, key: str) -> dict[str, Any] | None:
        return None

    def put_document(
        self, key: str, value: dict[str, Any], meta: dict[str, Any], *, replace: bool = False
    ) -> None:
        return None

    def get_segments(self, keys: list[str]) -> dict[str, str]:
        return {}

    def put_segments(
        self, items: list[tuple[str, str]], meta: dict[str, Any], *, replace: bool = False
    ) -> None:
        return None

    def warnings(self) -> list[str]:
        return []


class WriteOnlyStore:
    """``--refresh``: ignore what is cached, recompute, and replace it."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    def get_document(self, key: str) -> dict[str, Any] | None:
        return None

    def put_document(
        self, key: str, value: dict[str, Any], meta: dict[str, Any], *, replace: bool = True
    ) -> None:
        self.inner.put_document(key, value, meta, replace=True)

    def get_segments(self, keys: list[str]) -> dict[str, str]:
        return {}

    def put_segments(
        self, items: list[tuple[str, str]], meta: dict[str, Any], *, replace: bool = True
    ) -> None:
        self.inner.put_segments(items, meta, replace=True)

    def warnings(self) -> list[str]:
        """The inner store's warnings (see ``SqliteStore.warnings``)."""
        return self.inner.warnings()
