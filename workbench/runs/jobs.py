"""Job files: a recurring batch run written once in TOML and run with one command.

::

    # news.toml: translate the inbox into Korean and Ukrainian, then summarise every
    # version in its own language (English from the original).
    inputs = ["incoming/"]      # files, folders or URLs; relative to this file
    out = "published"           # relative to this file
    from = "en"                 # optional: the articles' language (default: detected)

    [[steps]]
    task = "translate"
    to = ["ko", "uk"]

    [[steps]]
    task = "summarise"
    to = ["ko", "uk", "en"]     # each summary is made from the text in that language
    model = "lead"
    sentences = 3

A job file that writes outside its own folder (``out`` absolute or climbing with ``..``) or
sends documents to a Ray cluster at an ``address`` says so in its dry run and runs only when
confirmed (``Job.confirmations``): a job file from elsewhere cannot send articles anywhere
without a word.

Top-level keys: besides ``inputs``, ``out`` and ``steps``, the job's own ``format`` (the format
every input is read in, as ``--format``: a URL's default is ``article``), ``skip_existing``,
``engine`` (local or ray) and ``address``, the source language ``from`` and every setting of
``RunSettings`` (``device``, ``backend``, ``precision``, ``batch_tokens``, ...),
``GenerationSettings`` (``beams``, ...) and ``QualitySettings`` (``fail_on``) under its own
name. A step takes ``task``, ``to``, ``model`` and ``beams``; a summarise step's ``to`` may
include ``"own"`` (the article's own language) and the step also takes every summarising
option of ``SummaryOptions`` (``sentences``, ``words``, ``strategy``, ...). The keys are read from those dataclasses, so a
new setting is a job-file key too.
"""

from __future__ import annotations

import tomllib
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench import formats, languages
from workbench.errors import JobError, ModelError, WorkbenchError
from workbench.runs.folder import check_out, read_sources, run_steps
from workbench.runs.job_keys import (
    STEP_GENERATION,
    TASK_ALIASES,
    key_name,
    step_keys,
    summarise_option_names,
    top_keys,
    type_problem,
)
from workbench.runs.outputs import discover_all, output_name, safe_join
from workbench.runs.provenance import up_to_date
from workbench.runs.report import Listener, RunReport
from workbench.runs.steps import OWN, Step
from workbench.settings import (
    LEAD,
    GenerationSettings,
    QualitySettings,
    RunSettings,
    SummaryOptions,
    TranslateOptions,
)
from workbench.web import is_url

if TYPE_CHECKING:
    from workbench.api import Workbench


@dataclass(frozen=True)
class Job:
    """A validated job file; paths are resolved against the file's folder."""

    path: Path
    inputs: tuple[str, ...]
    out: Path
    steps: tuple[Step, ...]
    src: str | None = None
    format: str | None = None  # read every input in this format (``--format``)
    skip_existing: bool = False
    engine: str = "local"
    address: str | None = None
    run: RunSettings = field(default_factory=RunSettings)
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    quality: QualitySettings = field(default_factory=QualitySettings)

    def confirmations(self, *, address_given: bool = False) -> list[str]:
        """What this job does beyond its own folder, one line each; running it needs the
        user's confirmation. ``address_given``: the address came from the command line (the
        user's own words), so it needs none."""
        found = []
        base = self.path.parent.resolve()
        out = self.out.resolve()
        if not out.is_relative_to(base):
            found.append(f"it writes outside its own folder, into {out}")
        if self.engine == "ray" and self.address and not address_given:
            found.append(f"it sends the documents to the Ray cluster at {self.address}")
        return found

    def with_overrides(self, **changes: Any) -> Job:
        """A copy with command-line choices taking precedence over the file's."""
        return replace(self, **changes)

    def workbench(
        self,
        *,
        cache: str | Path | bool | None = None,
        refresh: bool = False,
        offline: bool = False,
    ) -> Workbench:
        """A Workbench with the job's run and generation settings (``offline`` from the
        command line adds to the file's)."""
        from workbench.api import Workbench

        return Workbench(
            run=self.run,
            generation=self.generation,
            offline=offline or None,
            cache=cache,
            refresh=refresh,
            engine=self.engine,
            ray_address=self.address,
        )


def load_job(path: str | Path) -> Job:
    """Read and validate a job file; JobError names the file, the key and what to do."""
    path = Path(path)
    name = str(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise JobError(f"{name}: no such job file; check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(f"{name}: cannot be read ({exc}); check the file") from None
    except tomllib.TOMLDecodeError as exc:
        raise JobError(f"{name}: not valid TOML ({exc}); fix the file") from None
    return parse_job(data, path)


def parse_job(data: dict[str, Any], path: Path) -> Job:
    """Validate the parsed TOML of a job file (``path`` names it and anchors relative paths)."""
    name = str(path)
    base = path.parent

    def fail(key: str, problem: str) -> JobError:
        return JobError(f"{name}: {key}: {problem}")

    _unknown(data, top_keys(), name, "")
    inputs = data.get("inputs")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not inputs or not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise fail("inputs", 'give the files or folders to read, e.g. inputs = ["incoming/"]')
    out = data.get("out")
    if not isinstance(out, str) or not out.strip():
        raise fail("out", 'give the output folder, e.g. out = "published"')
    src = _optional(data, "from", str, name)
    if src is not None:
        src = _lang(src, "from", name)
    steps_data = data.get("steps")
    if not isinstance(steps_data, list) or not steps_data:
        raise fail(
            "steps", 'add at least one [[steps]] table with task = "translate" or "summarise"'
        )
    steps = tuple(_step(s, i, name, src) for i, s in enumerate(steps_data, start=1))
    fmt = _optional(data, "format", str, name)
    try:
        fmt = fmt and formats.get(fmt).name
    except WorkbenchError as exc:
        raise fail("format", str(exc)) from None
    engine = _optional(data, "engine", str, name) or "local"
    if engine not in ("local", "ray"):
        raise fail("engine", f"unknown engine {engine!r}; use local or ray")
    return Job(
        path=path,
        inputs=tuple(i if is_url(i) else str(base / i) for i in inputs),
        out=base / out,
        steps=steps,
        src=src,
        format=fmt,
        skip_existing=bool(_optional(data, "skip_existing", bool, name) or False),
        engine=engine,
        address=_optional(data, "address", str, name),
        run=RunSettings(**_settings(data, RunSettings, name)),
        generation=GenerationSettings(**_settings(data, GenerationSettings, name)),
        quality=QualitySettings(**_settings(data, QualitySettings, name)),
    )


def _unknown(table: dict[str, Any], allowed: tuple[str, ...], name: str, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise JobError(
                f"{name}: {where}{key}: unknown key; expected one of {', '.join(allowed)}"
            )


def _optional(table: dict[str, Any], key: str, kind: type, name: str, where: str = "") -> Any:
    value = table.get(key)
    problem = None if value is None else type_problem(value, kind)
    if problem:
        raise JobError(f"{name}: {where}{key}: {problem}")
    return value


def _settings(
    table: dict[str, Any], cls: type, name: str, where: str = "", keys: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The fields of settings class ``cls`` that ``table`` sets (only ``keys`` when given),
    each checked against its field's type, then by ``cls`` itself, so that an error names
    its key; the values are returned by field name."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):
        key = key_name(f.name)
        if key not in table or (keys and key not in keys):
            continue
        value = table[key]
        problem = type_problem(value, hints[f.name])
        if problem:
            raise JobError(f"{name}: {where}{key}: {problem}")
        try:
            cls(**{f.name: value})
        except WorkbenchError as exc:
            raise JobError(f"{name}: {where}{key}: {exc}") from None
        values[f.name] = value
    return values


def _lang(code: str, key: str, name: str) -> str:
    try:
        return languages.normalize(code)
    except WorkbenchError as exc:
        raise JobError(f"{name}: {key}: {exc}") from None


def _step(data: Any, index: int, name: str, src: str | None) -> Step:
    """One ``[[steps]]`` table; ``src`` is the job's source language."""
    where = f"steps[{index}]."
    if not isinstance(data, dict):
        raise JobError(f"{name}: steps[{index}]: expected a table ([[steps]]), got {data!r}")
    task = TASK_ALIASES.get(str(data.get("task", "")))
    if task is None:
        raise JobError(
            f'{name}: {where}task: use "translate" or "summarise", got {data.get("task")!r}'
        )
    _unknown(data, step_keys(task), name, where)
    to = data.get("to")
    if isinstance(to, str):
        to = [part for part in to.split(",") if part.strip()]
    if not to or not isinstance(to, list) or not all(isinstance(t, str) for t in to):
        raise JobError(f'{name}: {where}to: give the languages, e.g. to = ["ko", "uk"]')
    model = _optional(data, "model", str, name, where)
    beams = _settings(data, GenerationSettings, name, where, STEP_GENERATION).get("beams")
    if task == "translate":
        try:
            # Every other translation option (pivot, fallback_model, ...) under its own name.
            more = {
                f.name: _optional(data, key_name(f.name), str, name, where)
                for f in fields(TranslateOptions)
                if f.name not in ("targets", "src", "model")
            }
            if more.get("glossary"):  # relative to the job file, like its inputs
                more["glossary"] = str(Path(name).parent / Path(more["glossary"]).expanduser())
            options = TranslateOptions(tuple(to), src=src, model=model, **more).checked()
        except WorkbenchError as exc:
            raise JobError(f"{name}: {where}to: {exc}") from None
        if options.glossary:
            from workbench.glossary import load

            try:
                load(options.glossary)  # a malformed glossary is found before any work
            except WorkbenchError as exc:
                raise JobError(f"{name}: {where}glossary: {exc}") from None
        return Step.translating(options, beams=beams)
    langs = tuple(dict.fromkeys(t if t == OWN else _lang(t, f"{where}to", name) for t in to))
    options = {k: data[k] for k in summarise_option_names() if k in data}
    if isinstance(options.get("glossary"), str):  # relative to the job file, like its inputs
        options["glossary"] = str(Path(name).parent / Path(options["glossary"]).expanduser())
    if options:
        _check_summary_options(options, name, where)
    return Step(task, langs, model=model, beams=beams, options=options)


def _check_summary_options(options: dict[str, Any], name: str, where: str) -> None:
    _settings(options, SummaryOptions, name, where)  # the TOML types
    variables = options.get("variables", {})
    if not all(isinstance(v, str) for v in variables.values()):
        raise JobError(f'{name}: {where}variables: give text values, e.g. {{ desk = "world" }}')
    try:
        SummaryOptions(**options).checked()
    except (TypeError, ValueError) as exc:
        raise JobError(f"{name}: {where.rstrip('.')}: invalid summarise options ({exc})") from None
    except WorkbenchError as exc:
        raise JobError(f"{name}: {where.rstrip('.')}: {exc}") from None


def run_job(
    job: Job,
    wb: Workbench,
    *,
    listener: Listener | None = None,
    manifest: Path | None = None,
    overwrite_edits: bool = False,
) -> RunReport:
    """Run every step of ``job`` (see ``workbench.runs.folder.run_steps``)."""
    return run_steps(
        wb,
        list(job.inputs),
        list(job.steps),
        out=job.out,
        src=job.src,
        skip_existing=job.skip_existing,
        manifest=manifest,
        listener=listener,
        overwrite_edits=overwrite_edits,
        fmt=job.format,
    )


# --- dry runs ------------------------------------------------------------------------------


@dataclass
class StepPlan:
    """What one step would do."""

    step: int
    task: str
    langs: list[str]
    outputs: int = 0
    cached: int | None = 0  # None: cannot be told without running (summaries)
    skipped: int = 0
    to_compute: int | None = 0
    failing: int = 0
    segments: int = 0  # translatable segments of the outputs still to compute
    segments_cached: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class ModelNeed:
    """A model the run would load, and whether it is on this machine."""

    model: str
    available: bool
    steps: list[int]
    detail: str = ""


@dataclass
class JobPlan:
    """The dry run of a job: documents, steps, cached counts and models."""

    job: str
    out: str
    documents: list[str]
    ignored: list[str]
    input_errors: list[str]
    steps: list[StepPlan]
    models: list[ModelNeed]
    confirm: list[str] = field(default_factory=list)  # what running it needs confirmed

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    def lines(self, max_documents: int = 20) -> list[str]:
        """The plan as text for people."""
        ignored = f" ({len(self.ignored)} other files ignored)" if self.ignored else ""
        out = [f"job {self.job}: {len(self.documents)} documents → {self.out}{ignored}"]
        shown = self.documents if len(self.documents) <= max_documents else self.documents[:10]
        out += [f"  {d}" for d in shown]
        if len(shown) < len(self.documents):
            out.append(f"  ... and {len(self.documents) - len(shown)} more")
        out += [f"  error: {e}" for e in self.input_errors]
        for s in self.steps:
            head = f"step {s.step}: {s.task} → {', '.join(s.langs)}: {s.outputs} outputs"
            if s.cached is None:
                out.append(f"{head}; cached count unknown until run (summaries have no dry run)")
            else:
                detail = f"{s.cached} cached, {s.to_compute} to compute"
                if s.skipped:
                    detail += f", {s.skipped} skipped (up to date)"
                if s.failing:
                    detail += f", {s.failing} would fail"
                if s.segments:
                    detail += f" ({s.segments_cached} of {s.segments} segments cached)"
                out.append(f"{head}: {detail}")
            out += [f"  error: {e}" for e in s.errors]
        if self.models:
            out.append("models:")
            for m in self.models:
                state = "available locally" if m.available else f"NOT available: {m.detail}"
                steps = ", ".join(str(i) for i in m.steps)
                out.append(f"  {m.model}: {state} (step {steps})")
        else:
            out.append("models: none needed (everything is cached or needs no model)")
        out += [f"needs confirmation (--yes): {c}" for c in self.confirm]
        return out


def plan_job(
    job: Job, wb: Workbench, max_errors: int = 5, *, address_given: bool = False
) -> JobPlan:
    """What running ``job`` would do, without loading or downloading any model.

    Translation steps are planned through the translation pipeline's ``plan_only`` mode
    (signatures and cache look-ups); models are resolved offline, so "available" means on this
    machine now.
    """
    check_out(list(job.inputs), job.out)
    found = discover_all(list(job.inputs), exclude=[job.out], fmt=job.format)
    docs, unreadable = read_sources(found.sources, wb.run)
    plan = JobPlan(
        job=str(job.path),
        out=str(job.out),
        documents=[s.name for s, _ in docs],
        ignored=[str(p) for p in found.ignored],
        input_errors=[str(e) for e in found.errors] + [r.error or "" for r in unreadable],
        steps=[],
        models=[],
        confirm=job.confirmations(address_given=address_given),
    )
    pool = wb.offline_pool  # never download during a dry run
    needs: dict[str, ModelNeed] = {}

    def need(model: str, step: int, available: bool, detail: str = "") -> None:
        entry = needs.setdefault(model, ModelNeed(model, available, [], detail))
        if step not in entry.steps:
            entry.steps.append(step)

    for number, step in enumerate(job.steps, start=1):
        sp = StepPlan(number, step.task, list(step.langs), outputs=len(docs) * len(step.langs))
        plan.steps.append(sp)
        if step.task == "summarise":
            sp.cached = sp.to_compute = None
            _summariser_need(step, pool, number, need)
            continue

        def skip(d: int, result: Any) -> bool:
            if not job.skip_existing:
                return False
            source, doc = docs[d]
            target = safe_join(job.out, output_name(source.rel, result.target_lang))
            return up_to_date(target, result.key, doc.input_hash())

        results = wb.plan_translations(
            [doc for _, doc in docs], step.translate_options(job.src), beams=step.beams, skip=skip
        )
        for row in results:
            for r in row:
                if r.error is not None:
                    sp.failing += 1
                    if isinstance(r.exception, ModelError):
                        need(r.model or r.exception.model or "?", number, False, r.error)
                    elif len(sp.errors) < max_errors:
                        sp.errors.append(r.error)
                elif r.cache == "skipped":
                    sp.skipped += 1
                elif r.cache in ("document", "segments", "off"):
                    sp.cached = (sp.cached or 0) + 1
                else:
                    sp.to_compute = (sp.to_compute or 0) + 1
                    sp.segments += r.hits + r.misses
                    sp.segments_cached += r.hits
                    # A pivot route loads both legs' models.
                    legs = r.route["legs"] if r.route and r.route.get("pivot") else []
                    for model in [leg["model"] for leg in legs] or [r.model or "?"]:
                        need(model, number, True)
    plan.models = sorted(needs.values(), key=lambda m: m.model)
    return plan


def _summariser_need(step: Step, pool: Any, number: int, need: Any) -> None:
    """Record the summariser a step would load (the lead baseline needs none)."""

    ref = step.model
    if ref == LEAD:
        return
    if ref is None:
        entries = pool.catalog.for_task("summarise")
        defaults = [e for e in entries if "summarise" in e.default_for] or entries
        if not defaults:
            need("(no summariser in the catalog)", number, False, 'pass model = "lead"')
            return
        ref = defaults[0].id
    try:
        pool.resolve(ref)
    except ModelError as exc:
        need(ref, number, False, str(exc))
    else:
        need(ref, number, True)
