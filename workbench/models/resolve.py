"""Resolve a model reference (hub id or local folder) to files on disk and an exact revision.

Nothing here loads weights or imports torch/transformers: a fully cached run needs only the
revision to build its cache key. A hub id resolves through the Hugging Face cache (offline
first); a plain folder has no revision, so its contents are fingerprinted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import ModelError

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
# Files worth downloading for inference; other formats (TF, Flax, ONNX) are skipped.
DOWNLOAD_PATTERNS = (
    "*.json",
    "*.model",
    "*.spm",
    "*.txt",
    "*.tiktoken",
    "*.safetensors",
    "*.py",
    "README.md",  # the model card: its front matter states the licence (models/licence.py)
)
_WEIGHTS = ("*.safetensors", "pytorch_model*.bin")
# A tokenizer is one of these: a fast tokenizer's tokenizer.json, a sentencepiece model (Marian's
# source.spm, M2M100/NLLB/mBART's sentencepiece.bpe.model, T5's spiece.model), a BPE or
# WordPiece vocabulary, or a tiktoken file.
_TOKENIZER_FILES = ("tokenizer.json", "*.spm", "*.model", "vocab.json", "vocab.txt", "*.tiktoken")


@dataclass(frozen=True)
class ResolvedModel:
    """A model located on disk with the exact revision that will run."""

    ref: str  # what the user gave
    model_id: str  # hub id, or the folder's name
    path: Path
    revision: str  # commit sha (hub) or content fingerprint (folder)
    source: str  # "hub" or "folder"

    @property
    def short_revision(self) -> str:
        return self.revision[:7]

    @property
    def label(self) -> str:
        """``org/name@3f2a9c1``: what ran, in one token."""
        return f"{self.model_id}@{self.short_revision}"

    def load_error(self, exc: Exception) -> ModelError:
        """The one-line error for files that are here but do not load."""
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return ModelError(
            f"model {self.label} in {self.path} could not be loaded ({detail}); the folder is "
            "incomplete or corrupt: download or save it again",
            model=self.ref,
        )


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache folder, honouring HF_HUB_CACHE and HF_HOME."""
    env = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if env:
        return Path(env).expanduser()
    home = os.environ.get("HF_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".cache" / "huggingface"
    return base / "hub"


def looks_like_path(ref: str) -> bool:
    """True when ``ref`` names a folder rather than a hub id."""
    if ref.startswith((".", "/", "~")) or os.sep in ref.strip("/").replace("/", "", 1):
        return True
    try:
        return Path(ref).expanduser().exists()
    except OSError:
        return False


def resolve(ref: str, *, revision: str | None = None, offline: bool = False) -> ResolvedModel:
    """Locate ``ref`` (a hub id or a folder) and its exact revision.

    Hub models come from the local cache when present; otherwise they are downloaded unless
    ``offline`` (or HF_HUB_OFFLINE) is set, in which case a clear ModelError says how to get them.
    """
    if looks_like_path(ref):
        return _resolve_folder(ref)
    if not _HUB_ID.match(ref):
        raise ModelError(
            f"{ref!r} is neither a folder nor a hub id like 'Helsinki-NLP/opus-mt-en-uk'", model=ref
        )
    found = cached_snapshot(ref, revision)
    if found is not None:
        return found
    if offline or _env_offline():
        why = _offline_setting() or "--offline"
        raise ModelError(
            f"model {ref} is not in the local Hugging Face cache ({hub_cache_dir()}) and offline "
            f"mode is on ({why}); fetch it with `workbench models download {ref}` where the hub "
            "can be reached (then copy the cache over), or pass a local folder with --model DIR",
            model=ref,
        )
    return download(ref, revision)


def check(ref: str, *, offline: bool = False) -> None:
    """Raise the ModelError that ``resolve`` would, without downloading or fingerprinting.

    For a command to refuse a model it can never use before any work starts: a folder that
    does not exist or lacks files, a malformed hub id, or (offline) a hub model not cached.
    """
    if looks_like_path(ref):
        _check_folder(ref)
        return
    if not _HUB_ID.match(ref):
        resolve(ref, offline=True)  # raises the malformed-id error
    if (offline or _env_offline()) and cached_snapshot(ref) is None:
        resolve(ref, offline=True)


def model_id(ref: str) -> str:
    """The id a model's cache entries are stored under: a hub id as given, a folder's name, or
    the hub id of a snapshot folder inside a Hugging Face cache (as ``resolve`` names them)."""
    if not looks_like_path(ref):
        return ref
    path = Path(ref).expanduser().resolve()
    return _snapshot_repo_id(path) or path.name


def _snapshot_repo_id(path: Path) -> str | None:
    parts = path.parts
    in_cache = len(parts) >= 3 and parts[-2] == "snapshots" and parts[-3].startswith("models--")
    if in_cache and _SHA.match(parts[-1]):
        return parts[-3][len("models--") :].replace("--", "/")
    return None


def cached_snapshot(repo_id: str, revision: str | None = None) -> ResolvedModel | None:
    """The complete cached snapshot of a hub model, read straight from the cache layout."""
    repo_dir = hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    if not repo_dir.is_dir():
        return None
    rev = revision or "main"
    if _SHA.match(rev):
        sha = rev
    else:
        ref_file = repo_dir / "refs" / rev
        if not ref_file.is_file():
            return None
        sha = ref_file.read_text().strip()
    snap = repo_dir / "snapshots" / sha
    complete = (snap / "config.json").is_file() and _has_weights(snap) and _has_tokenizer(snap)
    if not complete:
        return None
    return ResolvedModel(ref=repo_id, model_id=repo_id, path=snap, revision=sha, source="hub")


def _has_weights(folder: Path) -> bool:
    return any(next(folder.glob(pattern), None) is not None for pattern in _WEIGHTS)


def _has_tokenizer(folder: Path) -> bool:
    return any(next(folder.glob(pattern), None) is not None for pattern in _TOKENIZER_FILES)


def _env_offline() -> bool:
    from workbench.settings import env_offline

    return env_offline()


def _offline_setting() -> str | None:
    """The environment setting that turned offline mode on, as ``NAME=value``."""
    if not _env_offline():
        return None
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        value = os.environ.get(name, "").strip()
        if value.lower() in {"1", "true", "yes", "on"}:
            return f"{name}={value}"
    return None


def download(repo_id: str, revision: str | None) -> ResolvedModel:
    # Imported here: the download machinery is only needed on a cache miss.
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if _env_offline():
        # snapshot_download would only say that the files are not cached.
        setting = _offline_setting() or "HF_HUB_OFFLINE"
        name = setting.split("=", 1)[0]
        raise ModelError(
            f"cannot download {repo_id}: offline mode is on ({setting}); turn it off for this "
            f"command, e.g. `{name}=0 workbench models download {repo_id}`, or unset {name}",
            model=repo_id,
        )
    try:
        path = Path(
            snapshot_download(
                repo_id,
                revision=revision,
                allow_patterns=list(DOWNLOAD_PATTERNS),
                cache_dir=hub_cache_dir(),
            )
        )
    except (RepositoryNotFoundError, GatedRepoError):
        raise ModelError(
            f"model {repo_id} was not found on the hub (or needs access: log in with `hf auth login`)",
            model=repo_id,
        ) from None
    except RevisionNotFoundError:
        raise ModelError(f"model {repo_id} has no revision {revision!r}", model=repo_id) from None
    except LocalEntryNotFoundError:
        # huggingface_hub's word for "not cached, and the hub did not answer".
        raise ModelError(
            f"model {repo_id} is not in the local Hugging Face cache ({hub_cache_dir()}) and the "
            "hub cannot be reached (check the network); fetch it with `workbench models "
            f"download {repo_id}` where the hub can be reached (then copy the cache over), or "
            "pass a local folder with --model DIR",
            model=repo_id,
        ) from None
    except OSError as exc:
        reason = exc.strerror or (str(exc).splitlines() or ["no reason given"])[0][:200]
        raise ModelError(
            f"model {repo_id} could not be downloaded into {hub_cache_dir()} ({reason}); check "
            "the network and the free space there, or pass a local folder with --model DIR",
            model=repo_id,
        ) from None
    if not _has_weights(path):
        raise ModelError(
            f"model {repo_id} has no safetensors weights; convert it or pass a folder",
            model=repo_id,
        )
    return ResolvedModel(ref=repo_id, model_id=repo_id, path=path, revision=path.name, source="hub")


def _resolve_folder(ref: str) -> ResolvedModel:
    path = _check_folder(ref)
    # A snapshot inside a Hugging Face cache already carries its commit sha.
    repo_id = _snapshot_repo_id(path)
    if repo_id is not None:
        return ResolvedModel(ref=ref, model_id=repo_id, path=path, revision=path.name, source="hub")
    return ResolvedModel(
        ref=ref, model_id=path.name, path=path, revision=fingerprint(path), source="folder"
    )


def _check_folder(ref: str) -> Path:
    """The folder of a saved model, or the ModelError that names what it lacks."""
    path = Path(ref).expanduser().resolve()
    if not path.exists():
        raise ModelError(f"model folder {ref} does not exist", model=ref)
    if not path.is_dir():
        raise ModelError(f"{ref} is a file; --model takes a hub id or a model folder", model=ref)
    if not (path / "config.json").is_file():
        raise ModelError(
            f"model folder {ref} has no config.json; it is not a saved Hugging Face model "
            "(save one with save_pretrained, or pass the snapshot folder)",
            model=ref,
        )
    if not _has_weights(path):
        raise ModelError(
            f"model folder {ref} has no weights (*.safetensors or pytorch_model.bin)", model=ref
        )
    if not _has_tokenizer(path):
        raise ModelError(
            f"model folder {ref} has no tokenizer files (tokenizer.json, a sentencepiece *.spm "
            "or *.model, or vocab.json); save the tokenizer into it too "
            "(tokenizer.save_pretrained), or download the model again",
            model=ref,
        )
    return path


def _memo_path() -> Path:
    from workbench.settings import default_home

    return default_home() / "fingerprints.json"


def fingerprint(folder: Path) -> str:
    """A sha256 over every file's name and contents in a model folder.

    Hashing weights in full is the only way a re-saved model with new values but the same shapes
    gets a new revision; per-file digests are memoised by (size, mtime, inode), so only the first
    run after a change pays for reading the files.
    """
    memo_file = _memo_path()
    try:
        memo: dict[str, dict[str, object]] = json.loads(memo_file.read_text("utf-8"))
    except (OSError, ValueError):
        memo = {}
    changed = False
    outer = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and not _hidden(p, folder)):
        st = file.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        key = str(file)
        entry = memo.get(key)
        if entry and entry.get("stamp") == stamp:
            digest = str(entry["sha256"])
        else:
            digest = _file_sha256(file)
            memo[key] = {"stamp": stamp, "sha256": digest}
            changed = True
        outer.update(file.relative_to(folder).as_posix().encode() + b"\0" + digest.encode())
    if changed:
        _write_json_atomic(memo_file, memo)
    return outer.hexdigest()


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_json_atomic(path: Path, data: object) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError:
        # The memo only saves time; failing to write it must not fail a run.
        pass
