"""What the pipelines need from a cache, and the store used when caching is off."""

from __future__ import annotations

from typing import Any, Protocol


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
        inner = getattr(self.inner, "warnings", None)
        return inner() if inner is not None else []
