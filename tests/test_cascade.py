"""The quality-gated cascade (``--fallback-model``): sentences whose translation fails a check
go to a second model; the rest keep the first model's translation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench import Workbench
from workbench.cli.app import app
from workbench.tasks.cascade import failing

ARTICLE = """# Ferry fares rise

The council approved the new ferry timetable on Monday.
Fares rise by 3.5% to €4.20 from Jan. 9, the operator said.
Residents welcomed the change.
About 1,200 passengers use the route every day, according to Harbour Lines.
"""


def wb(cache: Path | bool = False) -> Workbench:
    return Workbench(cache=cache, backend="torch", beams=1)


@pytest.fixture(scope="module")
def models(tiny) -> tuple[str, str]:
    """A fast model and a fallback for en→uk (tiny random weights: their output is gibberish,
    so the checks flag what a real model would get wrong and more)."""
    return str(tiny("marian-multi")), str(tiny("nllb"))


def test_failing_sentences_go_to_the_fallback_and_the_rest_stay(models, tmp_path: Path) -> None:
    fast, strong = models
    plain = wb().translate(ARTICLE, "uk", src="en", model=fast)
    other = wb().translate(ARTICLE, "uk", src="en", model=strong)
    texts = [p.source for p in plain.segments]
    why = failing(texts, [p.target for p in plain.segments], "en", "uk")
    assert why, "the checks should flag some of a random model's sentences"

    result = wb().translate(ARTICLE, "uk", src="en", model=fast, fallback_model=strong)
    assert result.cascade is not None
    assert result.cascade["to_fallback"] == len(why) and result.cascade["checked"] == len(texts)
    made = {s["index"]: s for s in result.cascade["segments"]}
    assert set(made) == set(why)
    for i, pair in enumerate(result.segments):
        if i in why:
            assert pair.target == other.segments[i].target  # the fallback's own translation
            assert made[i]["why"] == why[i] and made[i]["model"].startswith("nllb@")
            assert any(n.startswith("fallback:nllb@") for n in pair.notes)
        else:
            assert pair.target == plain.segments[i].target
    assert "fallback:nllb@" in (result.signature or "")
    assert result.key != plain.key
    prov = result.provenance()
    assert prov["cascade"]["to_fallback"] == len(why)


def test_the_cache_covers_the_cascade_and_shares_each_models_sentences(
    models, tmp_path: Path
) -> None:
    fast, strong = models
    cache = tmp_path / "cache.sqlite3"
    first = wb(cache).translate(ARTICLE, "uk", src="en", model=fast, fallback_model=strong)
    again = wb(cache).translate(ARTICLE, "uk", src="en", model=fast, fallback_model=strong)
    assert again.cache == "document" and again.text == first.text
    assert again.cascade == first.cascade
    # The fast model's sentences were cached under its own key: a plain run of it is all hits.
    plain = wb(cache).translate(ARTICLE, "uk", src="en", model=fast)
    assert plain.cache == "segments" and plain.misses == 0
    # ... and so were the fallback's: a plain run of it finds those it made.
    strong_run = wb(cache).translate(ARTICLE, "uk", src="en", model=strong)
    assert strong_run.hits >= first.cascade["to_fallback"]


def test_a_fallback_that_breaks_keeps_the_first_models_sentences(models, tmp_path: Path) -> None:
    fast, strong = models
    broken = tmp_path / "broken"
    shutil.copytree(strong, broken)
    (broken / "model.safetensors").write_bytes(b"not weights")
    result = wb().translate(ARTICLE, "uk", src="en", model=fast, fallback_model=str(broken))
    plain = wb().translate(ARTICLE, "uk", src="en", model=fast)
    assert result.text == plain.text  # written all the same, from the first model
    assert result.cascade is not None and "error" in result.cascade
    assert any("fallback model" in n and "kept" in n for n in result.notes)


def test_cli_and_provenance_name_the_fallback(models, tmp_path: Path) -> None:
    fast, strong = models
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.md").write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "out"
    args = ["translate", str(src), "--to", "uk", "--from", "en", "--model", fast]
    args += ["--fallback-model", strong, "--backend", "torch", "--beams", "1", "--no-cache"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    prov = json.loads((out / "a.uk.md.json").read_text("utf-8"))
    assert prov["cascade"]["fallback"].startswith("nllb@")
    assert "fallback:nllb@" in prov["signature"]
    base = ["translate", str(src), "--to", "uk", "--from", "en", "--model", fast, "--no-cache"]
    bad = CliRunner().invoke(app, [*base, "--fallback-model", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and "nope" in bad.output


def test_a_job_file_step_takes_the_fallback_model(models, tmp_path: Path) -> None:
    from workbench.runs.jobs import load_job

    fast, strong = models
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.md").write_text(ARTICLE, encoding="utf-8")
    job = tmp_path / "job.toml"
    job.write_text(
        f'inputs = ["{src}"]\nout = "{tmp_path / "out"}"\nfrom = "en"\nbackend = "torch"\n'
        f'beams = 1\n\n[[steps]]\ntask = "translate"\nto = ["uk"]\nmodel = "{fast}"\n'
        f'fallback_model = "{strong}"\n',
        encoding="utf-8",
    )
    (step,) = load_job(job).steps
    assert step.translate_options().fallback_model == strong
    result = CliRunner().invoke(app, ["run", str(job), "--no-cache", "-q"])
    assert result.exit_code == 0, result.output
    prov = json.loads((tmp_path / "out" / "a.uk.md.json").read_text("utf-8"))
    assert "fallback:nllb@" in prov["signature"] and prov["cascade"]["fallback"].startswith("nllb@")
