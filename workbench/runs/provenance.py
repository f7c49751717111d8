"""One output and its provenance record beside it: writing both, and telling whether an
output on disk is up to date."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from workbench.runs.outputs import (
    provenance_path,
    read_json,
    write_json_atomic,
    write_text_if_changed,
)


def versions() -> dict[str, str]:
    """Library versions for provenance (read from metadata: no imports)."""
    out = {}
    for name in ("workbench", "torch", "transformers", "tokenizers", "ctranslate2", "ray"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


#: The provenance field of an output a person post-edited (``workbench import-xliff``): which
#: file, which units, when, and the edited targets. Reruns leave such an output alone.
HUMAN_EDITED = "human_edited"


def kept_edit(output: Path, input_sha256: str) -> str | None:
    """Why ``output`` is to be left as it is (it holds a person's post-edits), or None."""
    prov = read_json(provenance_path(output)) if output.is_file() else None
    edit = prov.get(HUMAN_EDITED) if isinstance(prov, dict) else None
    if not isinstance(edit, dict):
        return None
    why = f"{output} holds post-edits (from {edit.get('file')}, {edit.get('at')}); kept"
    if prov.get("input_sha256") != input_sha256:
        why += ", although its input has changed since"
    return why + "; --overwrite-edits translates it again"


def up_to_date(output: Path, key: str | None, input_sha256: str) -> bool:
    """Whether ``output`` exists and its provenance says it was made with ``key`` from this input."""
    if key is None or not output.is_file():
        return False
    prov = read_json(provenance_path(output))
    return (
        isinstance(prov, dict)
        and prov.get("key") == key
        and prov.get("input_sha256") == input_sha256
    )


def write_output(
    target: Path,
    text: str | bytes,
    result: Any,
    *,
    task: str,
    input_path: str,
    input_sha256: str,
    lang: str,
    versions: dict[str, str],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write ``text`` to ``target`` (untouched when its bytes would not change), then the
    provenance record beside it: the result's own (key, model, settings, ...), what it was
    made from, and ``extra`` fields. Raises OSError when either cannot be written."""
    write_text_if_changed(target, text)
    prov = {
        **result.provenance(),
        "task": task,
        "input": input_path,
        "input_sha256": input_sha256,
        "output": str(target),
        "lang": lang,  # the manifest row's language (a rebuilt manifest reads it)
        "versions": versions,
        **(extra or {}),
    }
    write_json_atomic(provenance_path(target), prov)
