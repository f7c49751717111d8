"""Lock files: the exact models a run uses, pinned, and the check that a run still uses them.

``workbench models lock PATH`` finds every model a run over PATH would use (translation models
per language pair, both legs of a pivot route, a fallback model, summarisers and the
translation model of a summary's translate strategy) exactly as the run would choose them,
resolves each on this machine without loading weights or touching the network, and writes
them with their revisions and licences to a lock file:

- a folder (or files): ``workbench.lock`` in the (first) folder, or beside the (first) file;
- a job file ``news.toml``: ``news.toml.lock`` beside it.

The file is JSON (sorted keys, two-space indent, no dates: the same models give the same
bytes), written atomically. ``--locked`` (translate, summarise, run) resolves the models of
the run the same way before any work and refuses, one line per problem, a model whose revision
is not the locked one, a model the lock does not name, and a missing or damaged lock file.
Models in the lock that a run does not need are fine: one lock can serve several commands.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import ModelError, WorkbenchError
from workbench.runs.outputs import LOCK_NAME, discover_all, write_json_atomic
from workbench.runs.steps import OWN, Step
from workbench.settings import SummaryOptions, TranslateOptions

if TYPE_CHECKING:
    from workbench.api import Workbench
    from workbench.documents import Document
    from workbench.models.pool import ModelPool

#: Bumped when the lock file's fields change meaning.
LOCK_VERSION = 1
#: Characters of a revision shown in messages (a full sha256 fingerprint is 64).
SHOWN = 12


class LockError(WorkbenchError):
    """A lock file that is missing, unreadable or damaged; one line naming it and the fix."""


@dataclass
class LockedModel:
    """One model of a lock file."""

    ref: str  # as the run names it: a hub id or a folder path
    model: str  # the resolved id (hub id, or the folder's name)
    revision: str  # commit sha (hub), content fingerprint (folder)
    source: str  # hub | folder
    licence: str
    licence_from: str  # model card | config | catalog | none
    uses: list[str] = field(default_factory=list)  # "translate en->uk", "summarise en", ...


@dataclass
class Lock:
    """A lock file's content: the command that makes it again, and the models."""

    command: str
    models: list[LockedModel]

    def as_dict(self) -> dict[str, Any]:
        return {
            "lock_version": LOCK_VERSION,
            "command": self.command,
            "models": [asdict(m) for m in sorted(self.models, key=lambda m: m.ref)],
        }

    def find(self, ref: str, model_id: str | None = None) -> LockedModel | None:
        """The entry for ``ref``, else (a folder named another way) for its resolved id."""
        for m in self.models:
            if m.ref == ref:
                return m
        if model_id is not None:
            for m in self.models:
                if m.model == model_id:
                    return m
        return None


def lock_path(paths: Sequence[str], job_file: Path | None = None) -> Path:
    """Where the lock of a run lives (see the module doc)."""
    if job_file is not None:
        return job_file.with_name(job_file.name + ".lock")
    first = Path(paths[0]) if paths else Path(".")
    folder = first if first.is_dir() else first.parent
    return folder / LOCK_NAME


def lock_command(
    paths: Sequence[str],
    *,
    job_file: Path | None = None,
    translate: TranslateOptions | None = None,
    summary: Step | None = None,
    src: str | None = None,
    lock_file: Path | None = None,
) -> str:
    """The ``workbench models lock ...`` command that locks this run's models."""
    words = ["workbench", "models", "lock"]
    words += [str(job_file)] if job_file is not None else list(paths)
    if translate is not None:
        words += ["--to", ",".join(translate.targets)]
        for option, value in (
            ("--from", translate.src),
            ("--model", translate.model),
            ("--fallback-model", translate.fallback_model),
            ("--pivot", translate.pivot),
        ):
            if value:
                words += [option, value]
    if summary is not None:
        words.append("--summarise")
        if summary.model:
            words += ["--summary-model", summary.model]
        langs = [lang for lang in summary.langs if lang != OWN]
        if langs:
            words += ["--summary-lang", ",".join(langs)]
        if translate is None and src:
            words += ["--from", src]
        if summary.options.get("translation_model"):
            words += ["--translation-model", str(summary.options["translation_model"])]
        if summary.options.get("strategy") not in (None, "auto"):
            words += ["--strategy", str(summary.options["strategy"])]
    if lock_file is not None:
        words += ["--lock-file", str(lock_file)]
    return shlex.join(words)


# --- which models a run needs ------------------------------------------------------------------


def needed_models(
    wb: Workbench,
    paths: Sequence[str],
    steps: Sequence[Step],
    *,
    src: str | None = None,
    exclude: Sequence[Path] = (),
) -> dict[str, set[str]]:
    """Every model ``steps`` over ``paths`` would use, as ``{ref: uses}``, chosen exactly as
    the run chooses them (routing, pivots, fallbacks, default summariser) and found without
    loading weights, downloading or reading the cache. Documents that cannot be read or whose
    language cannot be told need no model (the run fails them)."""
    from workbench.runs.folder import read_sources

    found = discover_all(list(paths), exclude=list(exclude))
    docs = [doc for _, doc in read_sources(found.sources, wb.run)[0]]
    needs: dict[str, set[str]] = {}
    translated: set[str] = set()
    for step in steps:
        if step.task == "translate":
            options = step.translate_options(src)
            _translation_needs(wb, docs, options, needs)
            translated.update(options.targets)
        else:
            _summary_needs(wb, docs, step, src, translated, needs)
    return needs


def _translation_needs(
    wb: Workbench,
    docs: Sequence[Document],
    options: TranslateOptions,
    needs: dict[str, set[str]],
    why: str = "",
) -> None:
    from workbench.store import NullStore
    from workbench.tasks.translate import translate_documents

    rows = translate_documents(
        docs, options, pool=wb.offline_pool, gen=wb.generation, store=NullStore(), plan_only=True
    )
    for row in rows:
        for r in row:
            s, t = r.source_lang, r.target_lang
            if s is None or s == t:
                continue  # no language, or already in the target: no model
            pair = f"translate {s}->{t}{why}"
            if r.route is not None:
                for leg in r.route["legs"]:
                    via = f" (pivot leg of {s}->{t})" if r.route.get("pivot") else ""
                    needs.setdefault(leg["model"], set()).add(
                        f"translate {leg['src']}->{leg['tgt']}{via}{why}"
                    )
            elif options.model is not None:
                needs.setdefault(options.model, set()).add(pair)
            elif isinstance(r.exception, ModelError) and r.exception.model:
                needs.setdefault(r.exception.model, set()).add(pair)
            if options.fallback_model is not None:
                needs.setdefault(options.fallback_model, set()).add(f"{pair} (fallback)")


def _summary_needs(
    wb: Workbench,
    docs: Sequence[Document],
    step: Step,
    src: str | None,
    translated: set[str],
    needs: dict[str, set[str]],
) -> None:
    from workbench import detection
    from workbench.store import NullStore
    from workbench.tasks.summarise.plan import Context, make_plan

    pool: ModelPool = wb.offline_pool
    for lang in step.langs:
        want = None if lang == OWN else lang
        for doc in docs:
            # A summary in a language an earlier step translated into is made from that
            # translation (folder runs), so it is written in its own language.
            source = want if want in translated else src
            try:
                source = source or detection.document_language(doc, want, what="its language")
                opts = SummaryOptions(
                    lang=want, model=step.model, **{**step.options, "src": source}
                ).checked()
                plan = make_plan(
                    Context(opts, pool, wb.generation, NullStore()), source, want or source
                )
            except ModelError as exc:
                if exc.model:
                    needs.setdefault(exc.model, set()).add(f"summarise {source}")
                continue
            except WorkbenchError:
                continue  # the run fails this document whatever the models
            if plan.resolved is not None:
                needs.setdefault(plan.resolved.ref, set()).add(f"summarise {source}")
            if plan.strategy == "translate":
                options = TranslateOptions(
                    (plan.target,), src=source, model=opts.translation_model
                ).checked()
                _translation_needs(wb, [doc], options, needs, " (summary)")


# --- making and checking a lock ------------------------------------------------------------------


def make_lock(pool: ModelPool, needs: dict[str, set[str]], command: str) -> tuple[Lock, list[str]]:
    """The lock of ``needs``, and one line per model that cannot be resolved on this machine
    (a lock names only models that are here: what is locked is what runs)."""
    from workbench.models.licence import licence_of

    models, problems = [], []
    for ref in sorted(needs):
        try:
            resolved = pool.resolve(ref)
        except ModelError as exc:
            problems.append(f"cannot lock {ref}: {_not_here(ref, exc)}")
            continue
        entry = pool.catalog.get(resolved.model_id)
        licence, where = licence_of(resolved, entry.licence if entry else None)
        models.append(
            LockedModel(
                ref=ref,
                model=resolved.model_id,
                revision=resolved.revision,
                source=resolved.source,
                licence=licence,
                licence_from=where,
                uses=sorted(needs[ref]),
            )
        )
    return Lock(command, models), problems


def _not_here(ref: str, exc: ModelError) -> str:
    """Why ``ref`` cannot be locked: for a hub model not in the cache, what to do (the
    resolver's own words speak of offline mode, which a lock uses whatever the user set)."""
    from workbench.models.resolve import cached_snapshot, hub_cache_dir, looks_like_path

    if looks_like_path(ref) or cached_snapshot(ref) is not None:
        return str(exc)
    return (
        f"it is not in the local Hugging Face cache ({hub_cache_dir()}); download it first "
        f"with `workbench models download {ref}`, then lock"
    )


def lock_run(
    wb: Workbench,
    paths: Sequence[str],
    steps: Sequence[Step],
    *,
    path: Path,
    command: str,
    src: str | None = None,
    exclude: Sequence[Path] = (),
) -> tuple[Lock, list[str]]:
    """Lock the models of ``steps`` over ``paths`` into ``path`` (what ``workbench models
    lock`` does): the lock, and one line per model that cannot be locked, in which case
    nothing is written. ``command`` is the command that makes this lock again."""
    needs = needed_models(wb, paths, steps, src=src, exclude=exclude)
    lock, problems = make_lock(wb.offline_pool, needs, command)
    if not problems:
        write_lock(path, lock)
    return lock, problems


def write_lock(path: Path, lock: Lock) -> None:
    """Write ``lock`` to ``path`` atomically (deterministic bytes)."""
    try:
        write_json_atomic(path, lock.as_dict())
    except OSError as exc:
        raise LockError(f"{path}: the lock file could not be written ({exc})") from None


def read_lock(path: Path, refresh: str) -> Lock:
    """The lock in ``path``; LockError (one line, with ``refresh``, the command that makes it
    again) when it is missing, unreadable or damaged."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise LockError(f"{path}: no lock file; make it with `{refresh}`") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise LockError(
            f"{path}: the lock file is damaged or unreadable ({why}); make it again with "
            f"`{refresh}`"
        ) from None
    try:
        if not isinstance(data, dict) or data.get("lock_version") != LOCK_VERSION:
            raise ValueError(f"not a version {LOCK_VERSION} workbench lock file")
        models = [LockedModel(**m) for m in data["models"]]
        if not all(isinstance(m.ref, str) and isinstance(m.revision, str) for m in models):
            raise ValueError("a model without a reference or revision")
        return Lock(str(data.get("command", "")), models)
    except (KeyError, TypeError, ValueError) as exc:
        raise LockError(
            f"{path}: the lock file is damaged ({exc}); make it again with `{refresh}`"
        ) from None


def check_lock(pool: ModelPool, needs: dict[str, set[str]], path: Path, refresh: str) -> list[str]:
    """One line per way the models of a run differ from the lock in ``path`` (empty: the run
    uses exactly the locked models). ``refresh`` is the command that locks this run's models."""
    try:
        lock = read_lock(path, refresh)
    except LockError as exc:
        return [str(exc)]
    problems = []
    for ref in sorted(needs):
        uses = "; ".join(sorted(needs[ref]))
        try:
            resolved = pool.resolve(ref)
        except ModelError:
            resolved = None
        entry = lock.find(ref, resolved.model_id if resolved is not None else None)
        if entry is None:
            problems.append(
                f"model {ref} ({uses}) is not in the lock file {path} (locked revision: none); "
                f"lock it with `{refresh}`"
            )
        elif resolved is None:
            get = (
                f"get it with `workbench models download {entry.model}`"
                if entry.source == "hub"
                else "the folder is gone or incomplete"
            )
            problems.append(
                f"model {ref}: locked revision {entry.revision[:SHOWN]}, found: none (it is not "
                f"on this machine: {get}; or lock what is here with `{lock.command or refresh}`)"
            )
        elif resolved.revision != entry.revision:
            problems.append(
                f"model {ref}: locked revision {entry.revision[:SHOWN]}, found "
                f"{resolved.revision[:SHOWN]} ({path}); if the new revision is wanted, lock it "
                f"with `{lock.command or refresh}`"
            )
    return problems
