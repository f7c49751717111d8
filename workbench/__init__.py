"""workbench: translate and summarise articles with local Hugging Face models.

The public API is imported lazily so that ``import workbench`` (and ``workbench --help``)
stays fast and never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.version import __version__

__all__ = [
    "GenerationSettings",
    "RunSettings",
    "SummaryOptions",
    "SummaryResult",
    "TranslateOptions",
    "TranslationResult",
    "Workbench",
    "WorkbenchError",
    "__version__",
]

if TYPE_CHECKING:
    from workbench.api import Workbench
    from workbench.errors import WorkbenchError
    from workbench.results import SummaryResult, TranslationResult
    from workbench.settings import (
        GenerationSettings,
        RunSettings,
        SummaryOptions,
        TranslateOptions,
    )

_LAZY = {
    "Workbench": "workbench.api",
    "WorkbenchError": "workbench.errors",
    "SummaryResult": "workbench.results",
    "TranslationResult": "workbench.results",
    "GenerationSettings": "workbench.settings",
    "RunSettings": "workbench.settings",
    "SummaryOptions": "workbench.settings",
    "TranslateOptions": "workbench.settings",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
