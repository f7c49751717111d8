"""Finding input documents and writing outputs: sorted discovery that accounts for every input,
mirrored names, atomic writes that follow the umask, leftover temporary
files, and the manifest of an output folder."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench import formats
from workbench.errors import InputError
from workbench.runs.report import glossary_counts
from workbench.web import is_url, output_stem

#: Written into the output folder by every folder run.
MANIFEST_NAME = "manifest.jsonl"


@dataclass(frozen=True)
class Source:
    """One input document and where its outputs go, relative to the output folder."""

    path: Path
    rel: Path  # the input's path relative to the folder it was found in (or its name)
    url: str | None = None  # a web page (workbench.web); ``rel`` is then named from the URL
    fmt: str | None = None  # the format chosen by name (--format); None: by the suffix
    # What the provenance records of how it was read (runs/pages.py): the fetch, the format.
    record: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """How rows and messages name the input: its path, or its URL."""
        return self.url or str(self.path)


@dataclass
class Discovery:
    """What a list of input paths expands to."""

    sources: list[Source] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)  # files in folders that are not articles
    # Deliberately not read, with the reason: earlier outputs found inside an input folder.
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def discover(paths: list[str]) -> tuple[list[Source], list[InputError]]:
    """Expand files and folders into input documents (see ``discover_all``)."""
    found = discover_all(paths)
    return found.sources, found.errors


def discover_all(
    paths: list[str], exclude: list[Path] | None = None, fmt: str | None = None
) -> Discovery:
    """Expand files and folders (recursively, sorted) into input documents.

    Folders contribute only files of a format workbench reads (.txt, .md, .markdown: see
    ``workbench.formats``); their other files are ``ignored`` (hidden files and folders are not
    even listed). A file named explicitly must be one of those types
    too (or have no suffix at all, read as plain text): anything else is an error rather than
    text read blindly. Symbolic links to folders are followed unless they lead back into a
    folder being walked (a loop, reported); a folder or link that cannot be read is an error,
    never a silent gap. Anything under an ``exclude`` folder (the output folder, when it lies
    inside an input folder) is skipped, and so are earlier output folders (they hold a
    manifest) and earlier outputs (a provenance record beside them), each reported in
    ``skipped``, so a rerun never takes outputs for inputs. A file reached twice is taken once.
    A URL is a web page to fetch when read. ``fmt`` (``--format``) is the format every input
    is read in, and a file named explicitly is then taken whatever its suffix.
    """
    excluded = [p.resolve() for p in exclude or []]
    found = Discovery()
    seen: set[Path] = set()

    def add(path: Path, rel: Path) -> None:
        real = path.resolve()
        if real not in seen:
            seen.add(real)
            found.sources.append(Source(path, rel, fmt=fmt))

    for raw in paths:
        if is_url(raw):
            if raw not in {s.url for s in found.sources}:
                found.sources.append(Source(Path(raw), Path(output_stem(raw)), raw, fmt))
            continue
        path = Path(raw)
        if path.is_dir():
            files: list[Path] = []
            reported = len(found.errors) + len(found.skipped)
            _walk(path, [path.resolve()], excluded, files, found)
            files.sort()
            articles = [p for p in files if formats.for_path(p)]
            found.ignored.extend(p for p in files if not formats.for_path(p))
            if not articles and len(found.errors) + len(found.skipped) == reported:
                found.errors.append(InputError(raw, f"folder has no {formats.either()} files"))
            for p in articles:
                if is_earlier_output(p):
                    found.skipped.append((p, EARLIER_OUTPUT))
                else:
                    add(p, p.relative_to(path))
        elif path.exists():
            if path.suffix and not fmt and not formats.for_path(path):
                found.errors.append(InputError(raw, unsupported_type(path)))
            else:
                add(path, Path(path.name))
        elif path.is_symlink():
            found.errors.append(InputError(raw, _bad_link(path)))
        else:
            found.errors.append(InputError(raw, "no such file or folder"))
    return found


#: A folder run's lock file (``workbench.runs.lock``): never an article, never "ignored".
LOCK_NAME = "workbench.lock"
#: Why an article-like file in an input folder is not read.
EARLIER_OUTPUT = "an earlier output (a provenance record lies beside it); not read as input"
EARLIER_OUTPUT_FOLDER = f"an earlier output folder (it holds {MANIFEST_NAME}); not read as input"


def unsupported_type(path: Path) -> str:
    """The one-line refusal of a file type workbench has no reader for."""
    return (
        f"is a {path.suffix} file; workbench reads {', '.join(formats.suffixes())} files only: "
        "convert it to text or Markdown first"
    )


def is_earlier_output(path: Path) -> bool:
    """Whether ``path`` is an output of an earlier run: its provenance record lies beside it."""
    prov = read_json(provenance_path(path))
    if not isinstance(prov, dict) or "key" not in prov:
        return False
    return Path(str(prov.get("output") or "")).name == path.name


def _bad_link(path: Path) -> str:
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "is a symbolic link loop; nothing to read"
        return f"is a symbolic link to something missing ({os.readlink(path)}); fix or remove it"
    return "cannot be read"


def _walk(
    folder: Path, chain: list[Path], excluded: list[Path], files: list[Path], found: Discovery
) -> None:
    """Collect the visible files under ``folder``; ``chain`` holds the real paths of the
    folders being walked, so that a link back into one of them is a loop, not a recursion."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        why = exc.strerror or str(exc)
        found.errors.append(
            InputError(str(folder), f"folder cannot be read ({why}); its files were skipped")
        )
        return
    # Below the folder the user named, a manifest marks an earlier output folder.
    if len(chain) > 1 and any(e.name == MANIFEST_NAME and e.is_file() for e in entries):
        found.skipped.append((folder, EARLIER_OUTPUT_FOLDER))
        return
    for entry in entries:
        if entry.name.startswith(".") or entry.name == LOCK_NAME:
            continue
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir()  # follows links
            is_file = entry.is_file()
        except OSError:
            is_dir = is_file = False
        if not is_dir and not is_file:
            if entry.is_symlink():
                found.errors.append(InputError(str(path), _bad_link(path)))
            continue
        real = path.resolve()
        if any(real.is_relative_to(x) for x in excluded):
            continue
        if is_dir:
            if real in chain:
                found.errors.append(
                    InputError(
                        str(path),
                        f"is a symbolic link loop (it leads back to {real}); not followed",
                    )
                )
                continue
            _walk(path, [*chain, real], excluded, files, found)
        else:
            files.append(path)


def output_name(rel: Path, lang: str, task: str = "translate") -> Path:
    """``news/a.md`` → ``news/a.ko.md`` (translation) or ``news/a.summary.ko.md`` (summary);
    ``a.srt`` → ``a.summary.ko.txt``."""
    # A suffix no format reads (or none) was read as plain text: the output says so.
    fmt = formats.for_path(rel)
    suffix = rel.suffix if fmt else formats.get(formats.PLAIN).suffixes[0]
    if fmt is not None and task != "translate" and fmt.summary_suffix:
        suffix = fmt.summary_suffix  # a summary of subtitles is prose, not cues
    middle = f".{lang}" if task == "translate" else f".summary.{lang}"
    return rel.with_name(rel.stem + middle + suffix)


def safe_join(root: Path, rel: Path) -> Path:
    """``root / rel``, refusing anything that would land outside ``root``."""
    target = (root / rel).resolve()
    if not target.is_relative_to(root.resolve()):
        raise InputError(str(rel), f"would be written outside the output folder {root}")
    return target


#: Temporary files of ``write_text_atomic``: ``.NAME.PID.RANDOM.tmp`` beside their target
#: (earlier versions wrote ``.NAME.RANDOM.tmp``, without the process id).
_TEMP = re.compile(r"^\..+?\.(?:(\d+)\.)?[a-z0-9_]{8}\.tmp$")
#: A temporary file older than this is a leftover even if its process id is alive again.
STALE_TEMP_SECONDS = 3600
_umask: int | None = None


def _new_file_mode() -> int:
    """The mode an ordinary new file gets: 0666 less the process's umask."""
    global _umask
    if _umask is None:
        # The umask can only be read by setting it; set it straight back (once per process).
        _umask = os.umask(0o022)
        os.umask(_umask)
    return 0o666 & ~_umask


def write_text_atomic(path: Path, text: str | bytes) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file.

    ``text`` is written as UTF-8, its line endings as they are; ``bytes`` (a binary format's
    output, a Word file) as they are.

    The file keeps the mode of the one it replaces (a chmod by the user survives a rewrite);
    a new file follows the umask like any ordinary file (mkstemp alone would force 0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except OSError:
        mode = _new_file_mode()
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        os.fchmod(fd, mode)
        # Encoded here, not by a text-mode file: the line endings stay those the text has.
        data = text.encode("utf-8") if isinstance(text, str) else text
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: alive
        return True
    return True


def clean_temp_files(root: Path) -> list[Path]:
    """Remove the temporary files a killed run left under ``root``; returns those removed.

    Only names of ``write_text_atomic``'s own pattern are touched, and only when the process
    that made them is gone (or they are over an hour old), so a run sharing the folder keeps
    the file it is writing.
    """
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    now = time.time()
    for folder, _dirs, names in os.walk(root):
        for name in names:
            match = _TEMP.match(name)
            if match is None:
                continue
            path = Path(folder) / name
            try:
                info = path.lstat()
                if stat.S_ISLNK(info.st_mode):
                    continue
                age = now - info.st_mtime
                pid = match.group(1)
                if age < STALE_TEMP_SECONDS and (pid is None or _alive(int(pid))):
                    continue
                path.unlink()
                removed.append(path)
            except OSError:
                continue  # gone already, or not ours to remove
    return removed


def write_text_if_changed(path: Path, text: str | bytes) -> bool:
    """Write ``text`` (or bytes) atomically unless the file already holds exactly it; True if
    written.

    Rewriting an output from the cache is cheap, but leaving identical files alone keeps their
    modification times, so sync tools and watchers see only what really changed.
    """
    try:
        if path.read_bytes() == (text.encode("utf-8") if isinstance(text, str) else text):
            return False
    except (OSError, UnicodeError):
        pass  # absent, unreadable or unencodable: writing it says what is wrong
    write_text_atomic(path, text)
    return True


def read_output_text(path: Path, fmt: formats.Format[Any]) -> str:
    """The text of an output of format ``fmt`` on disk: a binary format's readable view."""
    if fmt.binary:
        return str(fmt.view(fmt.parse(path.read_bytes(), str(path))))
    return path.read_text("utf-8")


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


# --- the manifest of an output folder ----------------------------------------------------------


def read_manifest(path: Path, fields: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of an existing manifest (lines that are not JSON objects are dropped)."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeError):
        return []
    rows = []
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and all(isinstance(row.get(k), str) for k in _KEY):
            rows.append({k: row.get(k) for k in fields})
    return rows


def recovered_rows(out: Path, since: float, known: set[str]) -> list[dict[str, Any]]:
    """Manifest rows rebuilt from the provenance records under ``out`` changed after ``since``
    (a run killed before writing its manifest leaves those); ``known`` outputs are skipped."""
    rows: list[dict[str, Any]] = []
    if not out.is_dir():
        return rows
    for folder, dirs, names in os.walk(out):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.endswith(".json") or name.startswith("."):
                continue
            prov_path = Path(folder) / name
            output = prov_path.with_name(name[: -len(".json")])
            try:
                if str(output) in known or prov_path.stat().st_mtime <= since:
                    continue
            except OSError:
                continue
            prov = read_json(prov_path)
            if not isinstance(prov, dict) or not output.is_file():
                continue
            row = {
                "input": prov.get("input"),
                "task": prov.get("task"),
                "lang": prov.get("lang") or prov.get("target_lang"),
                "output": str(output),
                "signature": prov.get("signature"),
                "cache": prov.get("cache"),
                "seconds": prov.get("seconds"),
                "error": None,
                "verdict": prov.get("verdict"),
                "flags": len(prov["checks"]) if isinstance(prov.get("checks"), list) else None,
                "glossary": glossary_counts(prov.get("glossary")),
                "note": None,
            }
            if all(isinstance(row[k], str) for k in _KEY):
                rows.append(row)
    return rows


#: What identifies a manifest row across runs.
_KEY = ("input", "task", "lang")


def merge_manifest(
    path: Path, out: Path, new: list[dict[str, Any]], fields: Sequence[str]
) -> list[dict[str, Any]]:
    """This run's rows, plus the rows of earlier runs into the same manifest that this run did
    not redo (same input, task and language), plus rows rebuilt from provenance records that
    no manifest lists (a killed run). An earlier row whose output has since disappeared is
    dropped; a row without a language (the input could not be read) and rows of the same input
    and task with a language replace each other."""
    keys = {tuple(r[k] for k in _KEY) for r in new}
    tasks = {(r["input"], r["task"]) for r in new}
    unread = {(r["input"], r["task"]) for r in new if r["lang"] == "-"}
    try:
        since = path.stat().st_mtime
    except OSError:
        since = 0.0
    old = read_manifest(path, fields)
    known = {str(r["output"]) for r in new + old if r.get("output")}
    merged = [dict(r, _new=True) for r in new]
    for row in old + recovered_rows(out, since, known):
        key = tuple(row[k] for k in _KEY)
        pair = (row["input"], row["task"])
        if key in keys or pair in unread or (row["lang"] == "-" and pair in tasks):
            continue
        if row.get("output") and row.get("error") is None and not Path(row["output"]).is_file():
            continue
        keys.add(key)
        merged.append(dict(row, _new=False))
    # Stable: by input; this run's rows first, in their order (step, then language as given).
    merged.sort(key=lambda r: (r["input"], not r["_new"]))
    return [{k: r.get(k) for k in fields} for r in merged]
