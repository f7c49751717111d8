"""Shared fixtures: an isolated environment and tiny models of every family, built once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach the hub: a model that is not local must fail fast, as it does for users
# who set HF_HUB_OFFLINE. Set before anything imports huggingface_hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tiny models gain nothing from threads, and parallel test workers would oversubscribe the cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own workbench home, cache and (empty) Hugging Face cache."""
    home = tmp_path / "wb-home"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.setenv("WORKBENCH_CACHE", str(home / "cache.sqlite3"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-hub"))
    monkeypatch.delenv("WORKBENCH_CATALOG", raising=False)
    monkeypatch.delenv("WORKBENCH_DEBUG", raising=False)
    return home


@pytest.fixture(scope="session")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def tiny(models_root: Path):
    """``tiny("marian")`` → folder of a tiny model of that family, built once per test run."""
    from tests.tinymodels import default_tiny_folder

    def get(family: str) -> Path:
        return default_tiny_folder(family, models_root)

    return get
