"""What the commands share about pinned models and licences: ``--locked`` refusing a run whose
models are not the locked ones, and the one notice per run about non-commercial licences."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from workbench.cli.common import EXIT_USAGE, eprint

if TYPE_CHECKING:
    from workbench.api import Workbench
    from workbench.runs.steps import Step


def require_lock(
    wb: Workbench,
    paths: Sequence[str],
    steps: Sequence[Step],
    *,
    lock: Path,
    refresh: str,
    src: str | None = None,
    exclude: Sequence[Path] = (),
) -> None:
    """Before any work: resolve every model the run needs and exit 2, one line per problem,
    unless each is in ``lock`` at the revision found here (``refresh``: the command that locks
    this run's models)."""
    from workbench.runs.lock import check_lock, needed_models

    needs = needed_models(wb, paths, steps, src=src, exclude=exclude)
    problems = check_lock(wb.offline_pool, needs, lock, refresh)
    for line in problems:
        eprint(f"workbench: error: {line}")
    if problems:  # one line each, and nothing else: nothing was run
        raise typer.Exit(EXIT_USAGE)


def licence_notice(results: Iterable[Any] = (), licences: dict[str, str] | None = None) -> None:
    """Print the one line naming the non-commercial models (and their licences) that made any
    of ``results``, once per run. Not silenced by --quiet: it limits what the outputs may be
    used for, which a quiet script needs to know as much as a person. ``licences``: more
    ``{model: licence}`` than the results name."""
    from workbench.models.licence import non_commercial_notice

    licences = dict(licences or {})
    for result in results:
        licences.update(getattr(result, "licences", None) or {})
    line = non_commercial_notice(licences)
    if line is not None:
        eprint(line)
