"""Finding input documents and writing outputs: sorted discovery, mirrored names, atomic writes."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.documents import SUPPORTED_SUFFIXES
from workbench.errors import InputError


@dataclass(frozen=True)
class Source:
    """One input document and where its outputs go, relative to the output folder."""

    path: Path
    rel: Path  # the input's path relative to the folder it was found in (or its name)


def discover(paths: list[str]) -> tuple[list[Source], list[InputError]]:
    """Expand files and folders (recursively, sorted) into input documents.

    Folders contribute only .txt/.md files (hidden files and folders are skipped); a file named
    explicitly is taken whatever its suffix, so that the reader can say what is wrong with it.
    """
    found: list[Source] = []
    errors: list[InputError] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                errors.append(InputError(raw, "folder has no .txt or .md files"))
            found.extend(Source(p, p.relative_to(path)) for p in files)
        elif path.exists():
            found.append(Source(path, Path(path.name)))
        else:
            errors.append(InputError(raw, "no such file or folder"))
    return found, errors


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


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n")


def provenance_path(output: Path) -> Path:
    """Where the provenance record of an output lives: beside it."""
    return output.with_name(output.name + ".json")
