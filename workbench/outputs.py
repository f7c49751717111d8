"""Finding input documents and writing outputs: sorted discovery, mirrored names, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.documents import SUPPORTED_SUFFIXES
from workbench.errors import InputError

#: Written into the output folder by every folder run.
MANIFEST_NAME = "manifest.jsonl"


@dataclass(frozen=True)
class Source:
    """One input document and where its outputs go, relative to the output folder."""

    path: Path
    rel: Path  # the input's path relative to the folder it was found in (or its name)


@dataclass
class Discovery:
    """What a list of input paths expands to."""

    sources: list[Source] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)  # files in folders that are not articles


def discover(paths: list[str]) -> tuple[list[Source], list[InputError]]:
    """Expand files and folders into input documents (see ``discover_all``)."""
    found = discover_all(paths)
    return found.sources, found.errors


def discover_all(paths: list[str], exclude: list[Path] | None = None) -> Discovery:
    """Expand files and folders (recursively, sorted) into input documents.

    Folders contribute only .txt/.md/.markdown files; their other files are ``ignored`` (hidden
    files and folders are not even listed). A file named explicitly is taken whatever its
    suffix, so that the reader can say what is wrong with it. Anything under an ``exclude``
    folder (the output folder, when it lies inside an input folder) is skipped, so a rerun
    never takes its own outputs for inputs. A file reached twice is taken once.
    """
    excluded = [p.resolve() for p in exclude or []]
    found = Discovery()
    seen: set[Path] = set()

    def add(path: Path, rel: Path) -> None:
        real = path.resolve()
        if real not in seen:
            seen.add(real)
            found.sources.append(Source(path, rel))

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and not any(p.resolve().is_relative_to(x) for x in excluded)
            )
            articles = [p for p in files if p.suffix.lower() in SUPPORTED_SUFFIXES]
            found.ignored.extend(p for p in files if p.suffix.lower() not in SUPPORTED_SUFFIXES)
            if not articles:
                found.errors.append(InputError(raw, "folder has no .txt or .md files"))
            for p in articles:
                add(p, p.relative_to(path))
        elif path.exists():
            add(path, Path(path.name))
        else:
            found.errors.append(InputError(raw, "no such file or folder"))
    return found


def output_name(rel: Path, lang: str, task: str = "translate") -> Path:
    """``news/a.md`` → ``news/a.ko.md`` (translation) or ``news/a.summary.ko.md`` (summary)."""
    suffix = rel.suffix if rel.suffix.lower() in SUPPORTED_SUFFIXES else ".txt"
    middle = f".{lang}" if task == "translate" else f".summary.{lang}"
    return rel.with_name(rel.stem + middle + suffix)


def safe_join(root: Path, rel: Path) -> Path:
    """``root / rel``, refusing anything that would land outside ``root``."""
    target = (root / rel).resolve()
    if not target.is_relative_to(root.resolve()):
        raise InputError(str(rel), f"would be written outside the output folder {root}")
    return target


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # newline="" keeps the line endings the text already has (the input's).
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` atomically unless the file already holds exactly it; True if written.

    Rewriting an output from the cache is cheap, but leaving identical files alone keeps their
    modification times, so sync tools and watchers see only what really changed.
    """
    try:
        if path.read_bytes() == text.encode("utf-8"):
            return False
    except (OSError, UnicodeError):
        pass  # absent, unreadable or unencodable: writing it says what is wrong
    write_text_atomic(path, text)
    return True


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def write_jsonl_atomic(path: Path, rows: list[dict[str, Any]]) -> None:
    """One compact JSON object per line, written atomically."""
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is absent or not valid JSON."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def provenance_path(output: Path) -> Path:
    """Where the provenance record of an output lives: beside it."""
    return output.with_name(output.name + ".json")
