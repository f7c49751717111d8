"""Every setting defined once: TranslateOptions normalises its languages once and refuses a bad
value in one line; CLI help and job-file keys are read from the settings dataclasses; a job
file sets any run setting (precision too); keywords given with ``run=`` are merged into it."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from tests.conftest import SEEDS
from workbench import languages
from workbench.api import Workbench
from workbench.cli.app import app
from workbench.errors import JobError, WorkbenchError
from workbench.runs.folder import translate_paths
from workbench.runs.job_keys import JOB_KEYS, STEP_GENERATION, key_name, step_keys, top_keys
from workbench.runs.jobs import load_job
from workbench.settings import (
    GenerationSettings,
    QualitySettings,
    RunSettings,
    SummaryOptions,
    TranslateOptions,
    help_for,
)

TEXT = "The council met on Monday. The ferry will run again in May."


def names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


@pytest.fixture
def count_normalising(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every list of target languages normalised (TranslateOptions.checked's work)."""
    calls: list[str] = []
    original = languages.parse_list

    def spy(value: str) -> list[str]:
        calls.append(value)
        return original(value)

    monkeypatch.setattr(languages, "parse_list", spy)
    return calls


# --- TranslateOptions --------------------------------------------------------------------


def test_codes_are_normalised() -> None:
    opts = TranslateOptions(("KO", "kor", "ko ", "ukr"), src=" EN", model=" org/m ").checked()
    assert opts == TranslateOptions(("ko", "uk"), src="en", model="org/m")
    assert opts.checked() is opts  # checked options are passed down as they are
    assert TranslateOptions(("ko,UK",)).checked().targets == ("ko", "uk")  # as --to gives them
    assert TranslateOptions(("ko",), src="", model="  ").checked() == TranslateOptions(("ko",))


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (TranslateOptions(("ko", "xx")), "'xx'"),
        (TranslateOptions(("ko",), src="nope"), "'nope'"),
        (TranslateOptions(()), "no target language"),
        (TranslateOptions((" , ",)), "no target language"),
        (TranslateOptions((5,)), "5"),  # type: ignore[arg-type]
        (TranslateOptions(("ko",), model=7), "7"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_value_is_one_line_naming_it(options: TranslateOptions, named: str) -> None:
    with pytest.raises(WorkbenchError) as err:
        options.checked()
    assert named in str(err.value) and "\n" not in str(err.value)


def test_the_cli_normalises_the_languages_once(
    tiny: Any, tmp_path: Path, count_normalising: list[str]
) -> None:
    out = tmp_path / "out"
    args = ["--to", "UKR,uk", "--from", "EN", "--model", str(tiny("marian-multi")), "-q"]
    args += ["--beams", "1", "--backend", "torch", "--no-cache", "--out", str(out)]
    seed = str(SEEDS / "en" / "heatwave-grid.txt")
    result = CliRunner().invoke(app, ["translate", seed, *args])
    assert result.exit_code == 0, result.output
    assert [p.name for p in out.glob("*.txt")] == ["heatwave-grid.uk.txt"]
    # Once in the command; the folder run, the API and the task take the checked object.
    assert count_normalising == ["UKR,uk"]


def test_the_api_takes_keywords_or_options(tiny: Any, count_normalising: list[str]) -> None:
    model = str(tiny("marian-multi"))
    wb = Workbench(cache=False, backend="torch", beams=1)
    by_keywords = wb.translate(TEXT, to="UKR", src="EN", model=model)
    assert count_normalising == ["UKR"]
    options = TranslateOptions(("uk",), src="en", model=model)
    (whole,) = wb.translate(TEXT, options=options)  # targets as a tuple: a list of results
    # A keyword given with options takes the place of its field.
    merged = wb.translate(TEXT, "uk", options=TranslateOptions(src="en", model=model))
    assert by_keywords.text == whole.text == merged.text
    assert by_keywords.signature == whole.signature == merged.signature
    assert by_keywords.target_lang == "uk" and by_keywords.source_lang == "en"


def test_translate_paths_takes_the_options_whole(
    tiny: Any, tmp_path: Path, count_normalising: list[str]
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(TEXT + "\n", encoding="utf-8")
    options = TranslateOptions(("UK",), src="en", model=str(tiny("marian-multi")))
    report = translate_paths(
        Workbench(cache=False, backend="torch", beams=1),
        [str(tmp_path / "in")],
        options,
        out=tmp_path / "out",
    )
    assert report.failed == 0 and [r.lang for r in report.rows] == ["uk"]
    assert count_normalising == ["UK"]


# --- CLI help and defaults -------------------------------------------------------------------


def test_cli_help_is_the_dataclass_metadata() -> None:
    commands = get_command(app).commands  # type: ignore[attr-defined]
    translate = {p.name: p for p in commands["translate"].params}
    assert translate["to"].help == help_for(TranslateOptions, "targets")
    assert translate["src"].help == help_for(TranslateOptions, "src")
    assert translate["model"].help == help_for(TranslateOptions, "model")
    for name in ("device", "backend", "precision", "offline"):
        assert translate[name].help == help_for(RunSettings, name)
        if name != "offline":
            assert translate[name].default == getattr(RunSettings(), name)
    assert translate["beams"].help == help_for(GenerationSettings, "beams")
    summarise = {p.name: p for p in commands["summarise"].params}
    for name in ("lang", "src", "model", "sentences", "strategy", "max_rounds", "chunk_tokens"):
        assert summarise[name].help == help_for(SummaryOptions, name)
    assert summarise["strategy"].default == SummaryOptions().strategy
    assert summarise["max_rounds"].default == SummaryOptions().max_rounds


def test_cli_values_are_checked_by_the_settings(tmp_path: Path) -> None:
    seed = str(SEEDS / "en" / "heatwave-grid.txt")
    result = CliRunner().invoke(
        app, ["translate", seed, "--to", "uk", "--beams", "0", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert result.stderr == "workbench: error: beams must be at least 1, not 0\n"


# --- job files -----------------------------------------------------------------------------


def test_every_job_key_is_a_settings_field_and_the_other_way_round() -> None:
    settings = names(RunSettings) | names(GenerationSettings) | names(QualitySettings)
    assert set(top_keys()) == set(JOB_KEYS) | {key_name("src")} | settings
    assert set(STEP_GENERATION) <= names(GenerationSettings)
    for task, cls in (("translate", TranslateOptions), ("summarise", SummaryOptions)):
        options = set(step_keys(task)) - {"task", *STEP_GENERATION}
        # The source language is the job's ``from``; every other field is a step key.
        assert options == {key_name(n) for n in names(cls) if n != "src"}


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


def write_job(tmp_path: Path, top: str, step: str = "") -> Path:
    path = tmp_path / "job.toml"
    path.write_text(
        f'inputs = ["in"]\nout = "out"\n{top}\n[[steps]]\ntask = "translate"\nto = "uk"\n{step}',
        encoding="utf-8",
    )
    return path


def test_a_job_file_sets_every_run_and_generation_setting(tmp_path: Path) -> None:
    run = {
        "device": "cpu",
        "backend": "torch",
        "precision": "fp32",
        "batch_tokens": 1000,
        "max_batch_size": 8,
        "max_input_tokens": 128,
        "offline": True,
        "max_document_bytes": 1000,
        "max_segments": 10,
        "max_cache_value_bytes": 0,
        "max_page_bytes": 5000,
        "fetch_timeout": 2.5,
        "max_redirects": 1,
    }
    gen = {
        "beams": 2,
        "max_new_tokens_ratio": 1.5,
        "max_new_tokens_extra": 4,
        "repeat_guard": 0,
        "context_sentences": 5,
    }
    assert set(run) == names(RunSettings) and set(gen) == names(GenerationSettings)
    top = "\n".join(f"{k} = {toml_value(v)}" for k, v in {**run, **gen}.items())
    job = load_job(write_job(tmp_path, top))
    assert job.run == RunSettings(**run) and job.generation == GenerationSettings(**gen)
    wb = job.workbench(cache=False)
    assert wb.run == RunSettings(**run) and wb.generation == GenerationSettings(**gen)


def test_precision_in_a_job_file_reaches_the_run(tiny: Any, tmp_path: Path) -> None:
    job = load_job(write_job(tmp_path, 'backend = "torch"\nprecision = "fp32"'))
    wb = job.workbench(cache=False)
    assert wb.run.precision == "fp32"
    pool = wb.pool
    plan = pool.plan_translation(pool.resolve(str(tiny("marian-multi"))), "en", "uk", wb.generation)
    assert plan.backend == "torch-fp32"
    # --offline on the command line adds to the file's settings, and keeps the rest.
    assert job.workbench(cache=False, offline=True).run == RunSettings(
        backend="torch", precision="fp32", offline=True
    )


@pytest.mark.parametrize(
    ("top", "step", "expected"),
    [
        ('precision = "int4"', "", "precision: unknown precision 'int4'"),
        ('device = "tpu"', "", "device: unknown device 'tpu'"),
        ("max_batch_size = 0", "", "max_batch_size: max_batch_size must be at least 1, not 0"),
        ("fetch_timeout = 0", "", "fetch_timeout: fetch_timeout must be above 0, not 0"),
        ("max_redirects = -1", "", "max_redirects: max_redirects must be at least 0, not -1"),
        ("device = 5", "", "device: expected text, got 5"),
        ('offline = "yes"', "", "offline: expected true or false, got 'yes'"),
        ("max_new_tokens_ratio = true", "", "max_new_tokens_ratio: expected a number, got True"),
        ("", "beams = 0", "steps[1].beams: beams must be at least 1, not 0"),
        ("", "repeat_guard = 2", "steps[1].repeat_guard: unknown key"),
        ("", "model = 3", "steps[1].model: expected text, got 3"),
    ],
)
def test_job_settings_are_checked_by_the_settings_classes(
    tmp_path: Path, top: str, step: str, expected: str
) -> None:
    path = write_job(tmp_path, top, step)
    with pytest.raises(JobError) as err:
        load_job(path)
    assert str(err.value).startswith(f"{path}: {expected}") and "\n" not in str(err.value)


def test_a_translate_step_carries_its_options_normalised(tmp_path: Path) -> None:
    job = load_job(write_job(tmp_path, 'from = "EN"', 'model = "org/m"\nbeams = 2\n'))
    (step,) = job.steps
    assert step.translation == TranslateOptions(("uk",), src="en", model="org/m")
    assert step.beams == 2 and step.langs == ("uk",)


# --- Workbench(run=..., device=...) ----------------------------------------------------------


def test_keywords_given_with_run_are_merged_into_it() -> None:
    wb = Workbench(
        run=RunSettings(max_batch_size=8, precision="fp32"),
        device="cpu",
        generation=GenerationSettings(repeat_guard=0),
        beams=2,
        cache=False,
    )
    assert wb.run == RunSettings(device="cpu", max_batch_size=8, precision="fp32")
    assert wb.generation == GenerationSettings(beams=2, repeat_guard=0)
    # A keyword left out keeps the object's value.
    assert Workbench(run=RunSettings(device="cpu", offline=True)).run.device == "cpu"
    assert Workbench(run=RunSettings(device="cpu", offline=True)).run.offline is True
    with pytest.raises(WorkbenchError, match="unknown precision 'int4'"):
        Workbench(run=RunSettings(device="cpu"), precision="int4")
