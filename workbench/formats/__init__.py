"""Input formats: how an article's text becomes blocks (``workbench.documents``) and goes back.

A built-in format is one module of this package that defines ``FORMAT``, an instance of a
``Format`` subclass. The package is scanned for them on first use (never at import time), so
adding a format means adding one file; a format defined elsewhere (or in a test) is added with
``register``. Everything outside this package asks the format object, never its name, what to
do: which suffixes it reads, whether its text carries inline markup, how to parse and render it.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from abc import ABC, abstractmethod
from pathlib import PurePath
from typing import Any, Generic, TypeVar

from workbench.errors import WorkbenchError

#: The format of a file without a suffix, and of text workbench writes itself (a summary).
PLAIN = "txt"
#: The format of text handed over without a format or a file name (the Python API).
DEFAULT = "md"

# The document type. ``workbench.documents`` imports this registry (to dispatch by name or
# suffix, and for ``Document.format``), so the interface names its document type through a
# type variable instead of importing it back; every format reads and writes documents.Document.
D = TypeVar("D")


class Format(ABC, Generic[D]):
    """One input format: its name, the file suffixes it reads, and its parser and renderer."""

    #: Stored in ``Document.fmt`` and in provenance records: never rename a format.
    name: str
    #: Lower-case file suffixes with their dot, the usual one first (it names outputs). Empty:
    #: a format read only when chosen by name (``--format``), never by a file's suffix.
    suffixes: tuple[str, ...]
    #: The inline markup syntax of block text: None or False (plain text), ``"markdown"``
    #: (``**``, `` ` ``, ``[text](target)``; True means the same) or ``"html"`` (inline tags
    #: paired by name, void tags and comments kept whole, entities decoded for the model and
    #: text escaped when put back). Sentences with markup go to the model whole, with
    #: placeholders (``workbench.inline``).
    inline_markup: bool | str | None = False
    #: The suffix of a summary of such a file, when a summary (plain prose) is not a document
    #: of this format (a subtitle file has timings): None, the input's own suffix.
    summary_suffix: str | None = None
    #: Whether a document's cache key (and so its cached output) names this format: the same
    #: text read as this format is another document (an HTML page is not Markdown). The
    #: formats that predate this flag leave it off, so that their cache keys stay as they were.
    keyed: bool = False
    #: A binary format (a Word file) parses bytes and renders bytes; what a person reads as
    #: text (``TranslationResult.text``, a summary's input) is its ``view``, a document of
    #: the format named ``view_format``. Text formats parse and render ``str``.
    binary: bool = False
    view_format: str = PLAIN
    #: Whether ``render(parse(text))`` gives ``text`` back. False for a format that extracts
    #: an article from its input (a web page): its documents are of another format.
    lossless: bool = True

    @abstractmethod
    def parse(self, text: Any, source: str | None = None) -> D:
        """The document in ``text`` (``bytes`` for a binary format) as blocks; ``render``
        gives ``text`` back byte for byte.

        ``source`` (a path, for messages) is stored on the document.
        """

    @abstractmethod
    def render(self, doc: D, texts: list[str] | None = None) -> Any:
        """``doc`` as text (``bytes`` for a binary format), with ``texts`` (one per
        translatable block) in place when given."""

    def view(self, doc: D, texts: list[str] | None = None) -> str:
        """``doc`` as readable text in the format ``readable()``, with ``texts`` in place:
        the rendering itself for a text format; a binary format says how."""
        return str(self.render(doc, texts))

    def readable(self) -> Format[Any]:
        """The format ``view`` writes in: this one, or a binary format's ``view_format``."""
        return get(self.view_format) if self.binary else self

    def render_translation(self, doc: D, texts: list[str], lang: str) -> str:
        """``doc`` translated into ``lang``: ``render(doc, texts)``, unless the format also
        records the document's language (HTML's ``<html lang>``)."""
        return self.render(doc, texts)

    def plain(self, text: str) -> str:
        """A block's text as plain prose (for summaries and language detection): the text
        itself, unless the format's markup is not prose (HTML's tags and entities)."""
        return text

    def encoding_hint(self, data: bytes) -> str | None:
        """What to do about a file of this format that is not UTF-8, when the file itself
        says which encoding it is in (HTML's ``<meta charset>``); None: nothing to add."""
        return None

    def __repr__(self) -> str:
        return f"<format {self.name} {' '.join(self.suffixes)}>"


_lock = threading.Lock()
_formats: dict[str, Format[Any]] | None = None  # by name, in listing order; None: not scanned


def _scan() -> dict[str, Format[Any]]:
    """The built-in formats: ``FORMAT`` of every public module of this package.

    Plain text comes first (it is what a file without a suffix is read as), then the other text
    formats by module name, then binary ones (a Word file), formats without suffixes of their
    own last, so that listings of readable types
    do not depend on the file system.
    """
    found: list[Format[Any]] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        fmt = getattr(module, "FORMAT", None)
        if isinstance(fmt, Format):
            found.append(fmt)
    # Stable: the rest keep module order, text formats before binary ones, formats chosen only
    # by name last.
    found.sort(key=lambda f: (f.name != PLAIN, not f.suffixes, f.binary))
    table: dict[str, Format[Any]] = {}
    for fmt in found:
        _check_new(table, fmt)
        table[fmt.name] = fmt
    return table


def _table() -> dict[str, Format[Any]]:
    global _formats
    if _formats is None:
        with _lock:
            if _formats is None:
                _formats = _scan()
    return _formats


def _check_new(table: dict[str, Format[Any]], fmt: Format[Any]) -> None:
    if fmt.name in table:
        raise ValueError(f"a format named {fmt.name!r} is already registered")
    for other in table.values():
        shared = set(fmt.suffixes) & set(other.suffixes)
        if shared:
            raise ValueError(f"format {other.name!r} already reads {', '.join(sorted(shared))}")
    if any(s != s.lower() or not s.startswith(".") for s in fmt.suffixes):
        raise ValueError(f"format {fmt.name!r}: suffixes must be lower case and start with '.'")


def register(fmt: Format[Any]) -> Format[Any]:
    """Add a format defined outside this package; its name and suffixes must be new."""
    table = _table()
    with _lock:
        _check_new(table, fmt)
        table[fmt.name] = fmt
    return fmt


def unregister(name: str) -> None:
    """Remove a format added with ``register`` (tests clean up with this)."""
    table = _table()
    with _lock:
        table.pop(name, None)


def all_formats() -> list[Format[Any]]:
    """Every format workbench reads, plain text first."""
    return list(_table().values())


def get(name: str) -> Format[Any]:
    """The format called ``name`` (``Document.fmt``); WorkbenchError names the known ones."""
    try:
        return _table()[name]
    except KeyError:
        known = ", ".join(_table())
        raise WorkbenchError(f"unknown format {name!r}; the formats are {known}") from None


def for_path(path: str | PurePath) -> Format[Any] | None:
    """The format that reads ``path``, by its suffix (any case); None when none does."""
    suffix = PurePath(path).suffix.lower()
    if not suffix:
        return None
    for fmt in _table().values():
        if suffix in fmt.suffixes:
            return fmt
    return None


def suffixes() -> tuple[str, ...]:
    """Every suffix workbench reads (``.txt``, ``.md``, ``.markdown``, ...), for listings."""
    return tuple(s for fmt in _table().values() for s in fmt.suffixes)


def either() -> str:
    """The usual suffix of each format, for messages: ``.txt or .md``."""
    main = [fmt.suffixes[0] for fmt in _table().values() if fmt.suffixes]
    return main[0] if len(main) == 1 else f"{', '.join(main[:-1])} or {main[-1]}"
