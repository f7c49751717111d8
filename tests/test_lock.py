"""Pinned models and licences: `workbench models lock` writes the models a run would use (with
revisions and licences) beside its folder or job file; `--locked` refuses, before any work and
in one line per problem, a run whose models differ; every output names its model's licence,
and a non-commercial one is noticed once per run. Tiny random models: structure, not words."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import invoke
from tests.test_batch import corpus
from tests.test_routing import KOREAN, world  # noqa: F401  (a fixture: models in the HF cache)
from tests.tinymodels import build
from workbench import Workbench
from workbench.models.licence import card_licence, is_non_commercial
from workbench.models.resolve import hub_cache_dir, resolve

NC_CARD = (
    "---\nlanguage: [en, uk]\nlicense: cc-by-nc-4.0\ntags: [translation]\n---\n# A tiny model\n"
)
FAST = ["--backend", "torch", "--beams", "1"]
NOTICE = "workbench: notice: non-commercial licence"


@pytest.fixture
def model(tiny: Callable[[str], Path], tmp_path: Path) -> Path:
    """A tiny en->uk model folder of this test's own, whose model card says cc-by-nc-4.0."""
    folder = tmp_path / "models" / "tiny-en-zle"
    shutil.copytree(tiny("marian-multi"), folder)
    (folder / "README.md").write_text(NC_CARD, "utf-8")
    return folder


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    return corpus(tmp_path / "in", 3)


def _lock(*args: str) -> tuple[int, str]:
    return invoke(["models", "lock", *args])


def _translate(docs: Path, out: Path, *args: str) -> tuple[int, str]:
    return invoke(
        ["translate", str(docs), "--to", "uk", "--from", "en", "--out", str(out), *FAST, *args]
    )


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("workbench: error:")]


def test_lock_a_folder_run_then_a_locked_run_passes(
    model: Path, docs: Path, tmp_path: Path
) -> None:
    code, output = _lock(str(docs), "--to", "uk", "--from", "en", "--model", str(model))
    assert code == 0, output
    path = docs / "workbench.lock"
    first = path.read_bytes()
    data = json.loads(first)
    assert data["lock_version"] == 1
    assert data["command"].startswith(f"workbench models lock {docs} --to uk")
    (entry,) = data["models"]
    assert entry == {
        "ref": str(model),
        "model": "tiny-en-zle",
        "revision": resolve(str(model)).revision,  # the folder's content fingerprint
        "source": "folder",
        "licence": "cc-by-nc-4.0",
        "licence_from": "model card",
        "uses": ["translate en->uk"],
    }
    assert output.count(NOTICE) == 1
    # Deterministic: the same models give the same bytes.
    assert _lock(str(docs), "--to", "uk", "--from", "en", "--model", str(model))[0] == 0
    assert path.read_bytes() == first

    out = tmp_path / "out"
    code, output = _translate(docs, out, "--model", str(model), "--locked")
    assert code == 0, output
    assert "ignored" not in output  # the lock file in the input folder is not an article
    outputs = sorted(p for p in out.rglob("*.uk.*") if p.suffix != ".json")
    assert len(outputs) == 3
    prov = json.loads(Path(f"{outputs[0]}.json").read_text("utf-8"))
    assert prov["licence"] == "cc-by-nc-4.0"
    assert prov["licences"] == {"tiny-en-zle": "cc-by-nc-4.0"}
    # Three documents, one notice naming the model and its licence.
    (line,) = [ln for ln in output.splitlines() if ln.startswith(NOTICE)]
    assert "tiny-en-zle (cc-by-nc-4.0)" in line


def test_a_changed_model_is_refused_before_any_work(
    model: Path, docs: Path, tmp_path: Path
) -> None:
    assert _lock(str(docs), "--to", "uk", "--from", "en", "--model", str(model))[0] == 0
    locked = resolve(str(model)).revision
    build("marian-multi", model, seed=1)  # same files and shapes, other weights
    found = resolve(str(model)).revision
    assert found != locked
    out = tmp_path / "out"
    code, output = _translate(docs, out, "--model", str(model), "--locked")
    assert code == 2
    (line,) = output.strip().splitlines()  # one line, and nothing else
    assert line.startswith(f"workbench: error: model {model}: locked revision {locked[:12]}")
    assert f"found {found[:12]}" in line
    assert f"`workbench models lock {docs} --to uk --from en --model {model}`" in line
    assert not out.exists()  # nothing was translated or written
    # Without --locked the lock file is not read: the run goes ahead with the new weights.
    code, output = _translate(docs, out, "--model", str(model))
    assert code == 0, output
    # Locking again takes the new revision, and --locked passes.
    assert _lock(str(docs), "--to", "uk", "--from", "en", "--model", str(model))[0] == 0
    assert (
        json.loads((docs / "workbench.lock").read_text("utf-8"))["models"][0]["revision"] == found
    )
    assert _translate(docs, out, "--model", str(model), "--locked")[0] == 0


def test_a_model_missing_from_the_lock_is_refused(model: Path, docs: Path, tmp_path: Path) -> None:
    assert _lock(str(docs), "--to", "uk", "--from", "en", "--model", str(model))[0] == 0
    stronger = tmp_path / "models" / "stronger"
    shutil.copytree(model, stronger)
    out = tmp_path / "out"
    code, output = _translate(
        docs, out, "--model", str(model), "--fallback-model", str(stronger), "--locked"
    )
    assert code == 2
    (line,) = _errors(output)
    assert len(output.strip().splitlines()) == 1
    assert line.startswith(f"workbench: error: model {stronger} (translate en->uk (fallback))")
    assert f"is not in the lock file {docs / 'workbench.lock'} (locked revision: none)" in line
    assert "--fallback-model" in line  # the command that locks this run's models
    assert not out.exists()


@pytest.mark.parametrize(
    "content, says",
    [
        (None, "no lock file; make it with `workbench models lock"),
        (b'{"lock_version": 1, "models": [', "the lock file is damaged or unreadable"),
        (b"\xff\xfe\x00binary", "the lock file is damaged or unreadable"),
        (b'{"lock_version": 1, "models": [{"ref": "x"}]}', "the lock file is damaged"),
        (b'{"lock_version": 99, "models": []}', "not a version 1 workbench lock file"),
    ],
)
def test_a_missing_or_damaged_lock_file_is_refused_in_one_line(
    model: Path, docs: Path, tmp_path: Path, content: bytes | None, says: str
) -> None:
    if content is not None:
        (docs / "workbench.lock").write_bytes(content)
    out = tmp_path / "out"
    code, output = _translate(docs, out, "--model", str(model), "--locked")
    assert code == 2
    (line,) = output.strip().splitlines()
    assert line.startswith(f"workbench: error: {docs / 'workbench.lock'}: ")
    assert says in line
    assert not out.exists()


JOB = """\
inputs = ["in"]
out = "published"
from = "en"
backend = "torch"
beams = 1

[[steps]]
task = "translate"
to = ["uk"]
model = "{model}"

[[steps]]
task = "summarise"
to = ["uk", "en"]
model = "lead"
"""


def test_lock_a_job_file_then_run_it_locked(model: Path, docs: Path, tmp_path: Path) -> None:
    job = tmp_path / "news.toml"
    job.write_text(JOB.format(model=model), "utf-8")
    code, output = _lock(str(job))
    assert code == 0, output
    data = json.loads((tmp_path / "news.toml.lock").read_text("utf-8"))
    assert data["command"] == f"workbench models lock {job}"
    assert [(m["ref"], m["uses"]) for m in data["models"]] == [(str(model), ["translate en->uk"])]
    code, output = invoke(["run", str(job), "--locked"])
    assert code == 0, output
    assert (tmp_path / "published" / "a00.uk.md").is_file()
    assert (tmp_path / "published" / "a00.summary.uk.md").is_file()
    build("marian-multi", model, seed=2)
    shutil.rmtree(tmp_path / "published")
    code, output = invoke(["run", str(job), "--locked"])
    assert code == 2
    (line,) = output.strip().splitlines()
    assert f"`workbench models lock {job}`" in line and "locked revision" in line
    assert not (tmp_path / "published").exists()


def test_pivot_legs_are_locked_with_their_licences(world: Path, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "ko"
    folder.mkdir()
    (folder / "story.txt").write_text(KOREAN, "utf-8")
    code, output = _lock(str(folder), "--to", "uk", "--from", "ko")
    assert code == 0, output
    models = json.loads((folder / "workbench.lock").read_text("utf-8"))["models"]
    assert [(m["ref"], m["revision"], m["source"], m["uses"]) for m in models] == [
        (
            "test/nllb-ko-en",
            "0123456789abcdef0123456789abcdef01234567",
            "hub",
            ["translate ko->en (pivot leg of ko->uk)"],
        ),
        (
            "test/opus-en-uk",
            "0123456789abcdef0123456789abcdef01234567",
            "hub",
            ["translate en->uk (pivot leg of ko->uk)"],
        ),
    ]
    assert {m["licence_from"] for m in models} == {"catalog"}  # no model card: the catalog's
    # A model that is not on this machine cannot be locked: nothing is written.
    (folder / "workbench.lock").unlink()
    code, output = _lock(str(folder), "--to", "uk", "--from", "ko", "--model", "test/not-here")
    assert code == 2
    assert "cannot lock test/not-here: it is not in the local Hugging Face cache" in output
    assert "`workbench models download test/not-here`" in output
    assert not (folder / "workbench.lock").exists()


def test_summarise_locked(tiny: Callable[[str], Path], docs: Path, tmp_path: Path) -> None:
    summariser = tmp_path / "models" / "sum"
    shutil.copytree(tiny("bart-sum"), summariser)
    args = [
        "summarise",
        str(docs),
        "--from",
        "en",
        "--model",
        str(summariser),
        "--out",
        str(tmp_path / "out"),
    ]
    args += ["--beams", "1", "--tokens", "8", "--locked"]
    code, output = invoke(args)
    assert code == 2 and "no lock file" in output
    code, output = _lock(str(docs), "--summary-model", str(summariser), "--from", "en")
    assert code == 0, output
    (entry,) = json.loads((docs / "workbench.lock").read_text("utf-8"))["models"]
    assert entry["uses"] == ["summarise en"] and entry["licence"] == "unknown"
    code, output = invoke(args)
    assert code == 0, output
    prov = json.loads((tmp_path / "out" / "a00.summary.en.md.json").read_text("utf-8"))
    assert prov["licence"] == "unknown"
    assert NOTICE not in output


def _snapshot(folder: Path, repo_id: str, sha: str) -> Path:
    root = hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    snap = root / "snapshots" / sha
    shutil.copytree(folder, snap)
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(sha)
    return snap


def test_licences_never_change_keys_or_signatures(tiny: Callable[[str], Path]) -> None:
    sha = "89abcdef0123456789abcdef0123456789abcdef"
    snap = _snapshot(tiny("marian-multi"), "org/tiny-en-zle", sha)
    text = "The council met on Monday. The mayor spoke."

    def translated() -> object:
        with Workbench(cache=False, backend="torch", beams=1) as wb:
            return wb.translate(text, to="uk", src="en", model="org/tiny-en-zle")

    plain = translated()
    assert plain.licence == "unknown"  # no card, no config field, not in the catalog
    (snap / "README.md").write_text(NC_CARD, "utf-8")  # read from the HF cache snapshot
    carded = translated()
    assert carded.licence == "cc-by-nc-4.0"
    assert (carded.key, carded.signature) == (plain.key, plain.signature)
    assert carded.text == plain.text


def test_licence_from_the_catalog_and_config(
    tiny: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[[model]]\nid = "org/tiny-en-zle"\nfamily = "marian"\nsources = ["en"]\n'
        'targets = ["uk"]\nmulti_target = true\nlicense = "Apache-2.0"\n',
        "utf-8",
    )
    monkeypatch.setenv("WORKBENCH_CATALOG", str(catalog))
    _snapshot(tiny("marian-multi"), "org/tiny-en-zle", "f" * 40)
    with Workbench(cache=False, backend="torch", beams=1) as wb:
        result = wb.translate("The council met.", to="uk", src="en", model="org/tiny-en-zle")
    assert result.licence == "Apache-2.0"  # `license` (the model cards' spelling) is read too
    folder = tmp_path / "configured"
    shutil.copytree(tiny("marian-multi"), folder)
    config = json.loads((folder / "config.json").read_text("utf-8"))
    (folder / "config.json").write_text(json.dumps({**config, "license": "mit"}), "utf-8")
    from workbench.models.licence import licence_of

    assert licence_of(resolve(str(folder)), "Apache-2.0") == ("mit", "config")


def test_the_notice_is_printed_once_even_when_quiet(
    model: Path, docs: Path, tmp_path: Path
) -> None:
    code, output = _translate(docs, tmp_path / "out", "--model", str(model), "-q")
    assert code == 0, output
    assert output.count(NOTICE) == 1
    assert "tiny-en-zle (cc-by-nc-4.0)" in output


@pytest.mark.parametrize(
    "licence, restricted",
    [
        ("cc-by-nc-4.0", True),
        ("CC-BY-NC-SA-4.0 (non-commercial)", True),
        ("cc-by-nc-nd-3.0", True),
        ("Creative Commons Attribution-NonCommercial 4.0", True),
        ("CC-BY-4.0", False),
        ("cc-by-sa-4.0", False),
        ("apache-2.0", False),
        ("MIT", False),
        ("unknown", False),
        (None, False),
    ],
)
def test_which_licences_are_non_commercial(licence: str | None, restricted: bool) -> None:
    assert is_non_commercial(licence) is restricted


@pytest.mark.parametrize(
    "card, found",
    [
        (NC_CARD, "cc-by-nc-4.0"),
        ("---\nlicense: other\nlicense_name: tiny-research\n---\n", "tiny-research"),
        ("---\nlicense: [mit, apache-2.0]\n---\n", "mit, apache-2.0"),
        ("# No front matter\nlicense: mit\n", None),
        ("---\nlicense: [unclosed\n---\n", None),
    ],
)
def test_model_card_licence(tmp_path: Path, card: str, found: str | None) -> None:
    (tmp_path / "README.md").write_text(card, "utf-8")
    assert card_licence(tmp_path) == found


def test_lock_says_what_it_needs(docs: Path, tmp_path: Path) -> None:
    code, output = _lock(str(docs))
    assert code == 2 and "nothing to lock: give --to LANGS" in output
    code, output = _lock(str(tmp_path / "nowhere"), "--to", "uk")
    assert code == 2 and "nowhere: no such file or folder" in output
    code, output = _lock(str(tmp_path / "missing.toml"))
    assert code == 2 and "no such job file" in output
