"""Which backend runs a model: chosen, named (for cache keys) and created, loading nothing
until first use. The interface the backends implement is ``workbench.models.base``."""

from __future__ import annotations

import importlib.util
from typing import Any

from workbench.errors import WorkbenchError
from workbench.models import families
from workbench.models.base import Backend
from workbench.models.families import ModelInfo
from workbench.models.resolve import ResolvedModel
from workbench.settings import RunSettings


def ct2_available() -> bool:
    return importlib.util.find_spec("ctranslate2") is not None


def choose_engine(info: ModelInfo, run: RunSettings) -> str:
    """``torch`` or ``ctranslate2`` for this model, decided without loading anything."""
    if run.backend == "torch":
        return "torch"
    supported = families.get(info.family).ct2
    if run.backend == "ctranslate2":
        if not ct2_available():
            raise WorkbenchError(
                "--backend ctranslate2 needs the fast extra: pip install 'workbench[fast]'"
            )
        if not supported:
            raise WorkbenchError(
                f"--backend ctranslate2 does not run {info.family} models; use --backend torch"
            )
        return "ctranslate2"
    # auto: RunSettings refused any other name.
    return "ctranslate2" if supported and ct2_available() else "torch"


def check_summariser_engine(info: ModelInfo, run: RunSettings) -> None:
    """Seq2seq summarisers run on torch: an explicit ``--backend ctranslate2`` is refused."""
    if run.backend == "ctranslate2":
        raise WorkbenchError(
            f"--backend ctranslate2 does not run {info.family} summarisers; use --backend torch"
        )


def backend_name(info: ModelInfo, run: RunSettings) -> str:
    """The name a backend will report, decided without loading anything (for cache keys)."""
    from workbench.models.device import pick_device

    device = pick_device(run.device)
    if choose_engine(info, run) == "ctranslate2":
        from workbench.models.ct2_backend import ct2_precision

        return f"ct2-{ct2_precision(device, run.precision)}"
    from workbench.models.torch_backend import torch_precision

    return f"torch-{torch_precision(device, run.precision)}"


def load_backend(resolved: ResolvedModel, info: ModelInfo, run: RunSettings) -> Backend:
    """Create the backend for a model (weights are loaded on first use)."""
    if families.get(info.family).chat:
        from workbench.models.chat_backend import ChatTranslator

        return ChatTranslator(resolved, info, run)
    if choose_engine(info, run) == "ctranslate2":
        from workbench.models.ct2_backend import CT2Seq2Seq

        return CT2Seq2Seq(resolved, info, run)
    from workbench.models.torch_backend import TorchSeq2Seq

    return TorchSeq2Seq(resolved, info, run)


def recipe_extra(
    resolved: ResolvedModel, info: ModelInfo, run: RunSettings, context: int = 0
) -> dict[str, Any]:
    """Backend-specific parts of the cache key (e.g. the prompt template hash of a chat model;
    ``context``: the preceding sentences each sentence is translated with)."""
    if families.get(info.family).chat:
        from workbench.models.chat_backend import translation_recipe_extra

        return translation_recipe_extra(resolved, info, run, context=context)
    return {}
