"""Stopping a run promptly: a stop request that decoding loops check, and waits that let
Ctrl-C and SIGTERM through.

Python runs a signal handler only between bytecodes of the main thread, so a long call into
C++ (a CTranslate2 batch, minutes with a real model on a CPU) holds Ctrl-C until it returns.
Engines therefore wait for background results in short sleeps (``wait_until``), which a
signal interrupts at once, and torch's ``generate`` checks ``requested()`` at every step
(``stopping_criteria``) for when it does not run on the main thread. The CLI's signal handlers
call ``request()``; nothing here installs handlers (the library leaves signals to its caller).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

_stop = threading.Event()
# Set when a stop left engine work running in the background (CTranslate2 cannot cancel a
# queued batch, and its destructor waits for every one), so the process should not wait for it.
_abandoned = threading.Event()
_exit_allowed = False

#: Seconds between checks while waiting for a background result.
POLL_SECONDS = 0.05


class Cancelled(KeyboardInterrupt):
    """Raised where a stop was requested and no signal handler raised already."""


def request() -> None:
    """Ask every decoding loop of this process to stop at its next step."""
    _stop.set()


def clear() -> None:
    """Forget a stop request (a new run starts)."""
    _stop.clear()
    _abandoned.clear()


def requested() -> bool:
    """Whether a stop was requested."""
    return _stop.is_set()


def check() -> None:
    """Raise ``Cancelled`` when a stop was requested."""
    if _stop.is_set():
        raise Cancelled()


def wait_until(done: Callable[[], bool]) -> None:
    """Wait for background work (``done()``) in short sleeps, so that a signal handler runs
    within ``POLL_SECONDS`` (a blocking wait inside C++ would hold it until the work is
    finished). Interrupted, the work is recorded as abandoned (see ``abandoned``)."""
    pause = 0.001  # short at first: most waits end within milliseconds with tiny batches
    try:
        while not done():
            check()
            time.sleep(pause)
            pause = min(pause * 2, POLL_SECONDS)
    except BaseException:
        _abandoned.set()
        raise


def abandoned() -> bool:
    """Whether a stop left background engine work running (exiting normally would wait for it)."""
    return _abandoned.is_set()


def allow_prompt_exit() -> None:
    """Let the command line end the process at once after a stop that abandoned background
    work (only the console entry point calls this: a test runner's process must live on)."""
    global _exit_allowed
    _exit_allowed = True


def prompt_exit_allowed() -> bool:
    return _exit_allowed


def stopping_criteria() -> Any:
    """A transformers ``StoppingCriteriaList`` that ends ``generate`` at the next step once a
    stop is requested (every row reads as stopped; the caller then discards the batch)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _StopRequested(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full((input_ids.shape[0],), _stop.is_set(), dtype=torch.bool)

    return StoppingCriteriaList([_StopRequested()])
