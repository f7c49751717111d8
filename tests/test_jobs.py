"""Job files: validation with clear errors, the dry-run plan and its counts, and a two-step
run (translate, then summarise each version in its own language and in English)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.test_batch import corpus, manifest
from workbench import Workbench
from workbench.cli.app import app
from workbench.errors import JobError
from workbench.runs.folder import translate_paths
from workbench.runs.jobs import load_job, plan_job
from workbench.settings import TranslateOptions

JOB = """\
inputs = ["in"]
out = "out"
from = "en"
backend = "torch"
beams = 1

[[steps]]
task = "translate"
to = ["uk", "ru"]
model = "{model}"

[[steps]]
task = "summarise"
to = ["uk", "en"]
model = "lead"
sentences = 2
"""


@pytest.fixture
def job(tiny, tmp_path: Path) -> Path:
    corpus(tmp_path / "in", 3)
    path = tmp_path / "news.toml"
    path.write_text(JOB.format(model=tiny("marian-multi")), encoding="utf-8")
    return path


def test_two_step_job_dry_run_counts_then_run(job: Path, tiny, tmp_path: Path) -> None:
    # Yesterday's run translated everything into Ukrainian already.
    translate_paths(
        Workbench(backend="torch", beams=1),
        [str(tmp_path / "in")],
        TranslateOptions(("uk",), src="en", model=str(tiny("marian-multi"))),
        out=tmp_path / "elsewhere",
    )
    runner = CliRunner()
    res = runner.invoke(app, ["run", str(job), "--dry-run", "--json"])
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)
    assert len(plan["documents"]) == 3
    translate, summarise = plan["steps"]
    assert (translate["outputs"], translate["cached"], translate["to_compute"]) == (6, 3, 3)
    assert translate["segments"] == 12 and translate["segments_cached"] == 0
    assert summarise["task"] == "summarise" and summarise["outputs"] == 6
    assert summarise["cached"] is None  # not knowable without running the summariser
    assert plan["models"] == [
        {"model": "marian-multi", "available": True, "steps": [1], "detail": ""}
    ]
    assert not (tmp_path / "out").exists()  # a dry run writes nothing
    text = runner.invoke(app, ["run", str(job), "--dry-run"]).stdout
    assert "step 1: translate → uk, ru: 6 outputs: 3 cached, 3 to compute" in text
    assert "marian-multi: available locally (step 1)" in text

    res = runner.invoke(app, ["run", str(job), "--quiet"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    rows = manifest(out)
    assert [(r["task"], r["lang"]) for r in rows[:4]] == [
        ("translate", "uk"),
        ("translate", "ru"),
        ("summarise", "uk"),
        ("summarise", "en"),
    ]
    assert len(rows) == 12 and all(r["error"] is None for r in rows)
    for name in ("a00.uk.md", "a00.ru.md", "a00.summary.uk.md", "a00.summary.en.md"):
        assert (out / name).is_file(), name
    # The Ukrainian summary is made from the Ukrainian translation; the English one from
    # the original article.
    prov = json.loads((out / "a00.summary.uk.md.json").read_text("utf-8"))
    assert prov["summarised_from"].endswith("a00.uk.md") and prov["source_lang"] == "uk"
    english = (out / "a00.summary.en.md").read_text("utf-8")
    assert english.startswith("The council approved")

    plan = json.loads(runner.invoke(app, ["run", str(job), "--dry-run", "--json"]).stdout)
    assert (plan["steps"][0]["cached"], plan["steps"][0]["to_compute"]) == (6, 0)
    assert plan["models"] == []


def test_dry_run_loads_nothing_and_reports_missing_models(job: Path) -> None:
    text = job.read_text("utf-8").replace('to = ["uk", "ru"]\nmodel = ', 'to = ["uk"]\nmodel = ')
    job.write_text(text + '\n[[steps]]\ntask = "translate"\nto = "ko"\nmodel = "org/not-here"\n')
    loaded = load_job(job)
    wb = loaded.workbench()
    plan = plan_job(loaded, wb)
    assert wb.pool.loaded == []
    missing = [m for m in plan.models if m.model == "org/not-here"]
    assert missing and not missing[0].available and missing[0].steps == [3]
    assert "not in the local Hugging Face cache" in missing[0].detail
    assert plan.steps[2].failing == 3
    assert "org/not-here: NOT available" in "\n".join(plan.lines())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('inputs = ["in"]\nout = "o"\nouptut = 1\n', "ouptut: unknown key; expected one of"),
        ('out = "o"\n[[steps]]\ntask = "translate"\nto = ["uk"]\n', "inputs: give the files"),
        ('inputs = ["in"]\nout = "o"\n', "steps: add at least one [[steps]]"),
        (
            'inputs = ["in"]\nout = "o"\n[[steps]]\ntask = "transcribe"\nto = ["uk"]\n',
            'steps[1].task: use "translate" or "summarise"',
        ),
        (
            'inputs = ["in"]\nout = "o"\n[[steps]]\ntask = "translate"\nto = ["uk", "xx"]\n',
            "steps[1].to: unknown language code 'xx'",
        ),
        (
            'inputs = ["in"]\nout = "o"\n[[steps]]\ntask = "translate"\nto = ["uk"]\nsentences = 2\n',
            "steps[1].sentences: unknown key",
        ),
        (
            'inputs = ["in"]\nout = "o"\n[[steps]]\ntask = "summarise"\nto = ["uk"]\nwords = 0\n',
            "steps[1]:",
        ),
        (
            'inputs = ["in"]\nout = "o"\nbeams = "four"\n[[steps]]\ntask = "translate"\nto = "uk"\n',
            "beams: expected a whole number",
        ),
        ('inputs = ["in"\n', "not valid TOML"),
    ],
)
def test_job_file_errors_name_the_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "job.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(JobError) as err:
        load_job(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message
    res = CliRunner().invoke(app, ["run", str(path)])
    assert res.exit_code == 2
    assert res.stderr.strip() == f"workbench: error: {message}"


def test_paths_are_relative_to_the_job_file(job: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path.parent)
    loaded = load_job(job)
    assert loaded.inputs == (str(tmp_path / "in"),) and loaded.out == tmp_path / "out"
    assert [s.task for s in loaded.steps] == ["translate", "summarise"]
    assert loaded.steps[1].options == {"sentences": 2} and loaded.steps[1].langs == ("uk", "en")
    assert loaded.with_overrides(skip_existing=True, engine="ray").engine == "ray"
    assert not (tmp_path / "no-job.toml").exists()
    res = CliRunner().invoke(app, ["run", str(tmp_path / "no-job.toml")])
    assert res.exit_code == 2 and "no such job file" in res.stderr
