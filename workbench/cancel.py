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

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

_stop = threading.Event()
# The kind of the first interrupt (KeyboardInterrupt, or the CLI's SIGTERM subclass), raised
# again by ``check`` so that a stop deferred to a decoding loop keeps its exit code.
_kind: type[BaseException] | None = None
# Depth of ``deferred`` sections on the main thread (a signal only requests the stop there).
_deferring = 0
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


def interrupt(exc: BaseException) -> None:
    """For a signal handler: request a stop and raise ``exc``, unless the main thread is in a
    ``deferred`` section, whose decoding loop stops at its next step and raises an ``exc`` of
    the same kind once it has handed over the rows that were complete. A second signal
    always raises at once."""
    global _kind
    first = not _stop.is_set()
    if first:
        _kind = type(exc)
    _stop.set()
    if first and _deferring:
        return
    raise exc


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A section (one batch's ``generate``) that checks ``requested()`` at every step: a
    signal arriving in it only requests the stop, so the batch returns what it has instead of
    being torn down mid-step (see ``interrupt``)."""
    global _deferring
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1


def clear() -> None:
    """Forget a stop request (a new run starts)."""
    global _kind
    _stop.clear()
    _abandoned.clear()
    _kind = None


def requested() -> bool:
    """Whether a stop was requested."""
    return _stop.is_set()


def stopped() -> BaseException:
    """The exception a requested stop raises: the interrupt's own kind when a signal asked
    for it (``interrupt``), else ``Cancelled``."""
    return (_kind or Cancelled)()


def check() -> None:
    """Raise ``stopped()`` when a stop was requested."""
    if _stop.is_set():
        raise stopped()


# What a stop hands over on its exception, so that finished work is kept (every name is
# optional; getattr(exc, NAME, None)). Set by the backends, read by the translation pipeline.
#: {row: generated ids} of the batch in flight whose rows had ended (emitted EOS) at the stop.
ENDED_ROWS = "workbench_ended_rows"
#: {batch: rows} of batches of the list in flight that had finished at the stop.
READY_ROWS = "workbench_ready_rows"
#: {text index: Output} of the list in flight that are complete.
KEPT_OUTPUTS = "workbench_kept_outputs"
#: The index of the chunk those outputs belong to.
KEPT_CHUNK = "workbench_kept_chunk"


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


@functools.cache  # one list for the process: it only reads the stop flag
def stopping_criteria() -> Any:
    """A transformers ``StoppingCriteriaList`` that ends ``generate`` at the next step once a
    stop is requested (every row reads as stopped; the caller keeps only rows that ended)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _StopRequested(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full((input_ids.shape[0],), _stop.is_set(), dtype=torch.bool)

    return StoppingCriteriaList([_StopRequested()])
