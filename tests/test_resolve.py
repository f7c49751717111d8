"""Model resolution: hub ids through the Hugging Face cache layout, folders, offline mode."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from workbench import Workbench
from workbench.errors import ModelError
from workbench.models.resolve import fingerprint, looks_like_path, resolve

SHA = "0123456789abcdef0123456789abcdef01234567"


def put_in_hub_cache(folder: Path, repo_id: str, sha: str = SHA) -> Path:
    """Lay a model out exactly as huggingface_hub does: blobs behind refs and snapshots."""
    root = Path(os.environ["HF_HUB_CACHE"]) / ("models--" + repo_id.replace("/", "--"))
    snap = root / "snapshots" / sha
    shutil.copytree(folder, snap)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(sha)
    return snap


def test_hub_id_resolves_offline_from_the_cache(tiny) -> None:
    snap = put_in_hub_cache(tiny("marian-multi"), "Helsinki-NLP/opus-mt-tc-big-en-zle")
    start = time.perf_counter()
    found = resolve("Helsinki-NLP/opus-mt-tc-big-en-zle", offline=True)
    assert time.perf_counter() - start < 0.1
    assert found.path == snap and found.revision == SHA and found.source == "hub"
    assert found.label == "Helsinki-NLP/opus-mt-tc-big-en-zle@0123456"


def test_default_model_from_the_catalog_is_used_when_cached(tiny) -> None:
    put_in_hub_cache(tiny("marian-multi"), "Helsinki-NLP/opus-mt-tc-big-en-zle")
    result = Workbench(cache=False, backend="torch", beams=1).translate(
        SEEDS / "en" / "heatwave-grid.txt", to="uk", src="en"
    )
    assert result.model == "Helsinki-NLP/opus-mt-tc-big-en-zle" and result.revision == SHA
    assert "model:Helsinki-NLP/opus-mt-tc-big-en-zle@0123456" in (result.signature or "")


def test_snapshot_folder_passed_directly_keeps_its_sha(tiny) -> None:
    snap = put_in_hub_cache(tiny("nllb"), "facebook/nllb-200-distilled-600M")
    found = resolve(str(snap))
    assert found.model_id == "facebook/nllb-200-distilled-600M" and found.revision == SHA


def test_incomplete_snapshot_is_not_used(tiny) -> None:
    snap = put_in_hub_cache(tiny("marian"), "Helsinki-NLP/opus-mt-en-uk")
    (snap / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="not in the local Hugging Face cache"):
        resolve("Helsinki-NLP/opus-mt-en-uk", offline=True)


def test_hf_hub_offline_env_is_honoured() -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    start = time.perf_counter()
    with pytest.raises(ModelError, match="offline mode is on"):
        resolve("org/never-downloaded")
    assert time.perf_counter() - start < 1


def test_folder_fingerprint_follows_contents(tiny, tmp_path: Path) -> None:
    from tests.tinymodels import build

    folder = tmp_path / "m"
    shutil.copytree(tiny("m2m100"), folder)
    first = fingerprint(folder)
    assert fingerprint(folder) == first  # memoised, unchanged
    build("m2m100", folder, seed=7)
    assert fingerprint(folder) != first


@pytest.mark.parametrize(
    ("ref", "is_path"),
    [
        ("Helsinki-NLP/opus-mt-en-uk", False),
        ("./models/x", True),
        ("/abs/x", True),
        ("~/m", True),
        ("a/b/c", True),
        ("facebook/m2m100_418M", False),
        ("x" * 5000, False),
    ],
)
def test_path_or_hub_id(ref: str, is_path: bool) -> None:
    assert looks_like_path(ref) is is_path


def test_bad_hub_id_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="neither a folder nor a hub id"):
        resolve("not a model id!")
