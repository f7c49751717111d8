"""Device and precision choice.

``auto`` picks cuda, then mps, then cpu. On a machine with no accelerator at all this is decided
without importing torch, so fully cached runs stay fast.
"""

from __future__ import annotations

import glob
import platform
from functools import lru_cache

from workbench.errors import WorkbenchError


def _maybe_accelerated() -> bool:
    if glob.glob("/dev/nvidia[0-9]*") or glob.glob("/dev/dxg"):
        return True
    return platform.system() == "Darwin" and platform.machine() == "arm64"


@lru_cache(maxsize=8)
def pick_device(requested: str = "auto") -> str:
    """Resolve ``auto`` to cuda, mps or cpu; check that an explicit device exists (its name
    was checked by RunSettings)."""
    if requested == "cpu" or (requested == "auto" and not _maybe_accelerated()):
        return "cpu"
    import torch

    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if requested == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if requested.startswith("cuda") and not cuda:
        raise WorkbenchError(
            "--device cuda was asked for but torch sees no CUDA GPU; use --device cpu"
        )
    if requested == "mps" and not mps:
        raise WorkbenchError(
            "--device mps was asked for but this machine has no MPS; use --device cpu"
        )
    return requested


@lru_cache(maxsize=8)
def pick_precision(device: str) -> str:
    """float32 on CPU (fast and exact there); bfloat16 on GPUs that have it, else float16."""
    if device == "cpu":
        return "fp32"
    if device == "mps":
        return "fp16"
    import torch

    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def torch_dtype(precision: str):  # -> torch.dtype
    import torch

    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


def decoding_context(device: str):  # -> contextlib.AbstractContextManager
    """Inference mode, and on CUDA attention kernels that need no per-shape set-up.

    Decoding changes the attention shapes at every step (the cache grows by one position) and
    with every batch. cuDNN's attention builds a graph for each new shape, which on an H100
    made a first pass over new shapes several times slower than a repeated one; the flash,
    memory-efficient and math kernels run any shape at once.
    """
    import contextlib

    import torch

    stack = contextlib.ExitStack()
    stack.enter_context(torch.inference_mode())
    if device.startswith("cuda"):
        from torch.nn.attention import SDPBackend, sdpa_kernel

        stack.enter_context(
            sdpa_kernel(
                [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
            )
        )
    return stack
