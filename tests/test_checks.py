"""Quality checks on every output: planted errors caught, clean texts not flagged; results,
provenance and the manifest carry checks and verdict; ``--fail-on``.

The corpus (tests/data/quality/cases.json) holds en->uk, en->ko, uk->en and ko->en
translations and summaries written for these tests, each with planted errors. Tiny models
write gibberish in the wrong script, so the pipeline tests expect their outputs flagged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO, SEEDS
from tests.helpers import manifest
from workbench import Workbench
from workbench.cli.app import app
from workbench.errors import JobError, WorkbenchError
from workbench.quality.checks import (
    CHECKS,
    Flag,
    check_summary,
    check_translation,
    names,
    numbers,
    text,
    verdict,
)
from workbench.runs.jobs import parse_job
from workbench.runs.report import MANIFEST_FIELDS
from workbench.settings import QualitySettings

CORPUS = REPO / "tests" / "data" / "quality" / "cases.json"
CASES: list[dict[str, Any]] = json.loads(CORPUS.read_text("utf-8"))["cases"]


def run_case(case: dict[str, Any], planted: dict[str, Any] | None = None) -> list[Flag]:
    """The flags of a case's clean version, or of one planted variant of it."""
    if case["kind"] == "summary":
        summary = case["clean"] if planted is None else planted["summary"]
        return check_summary(case["article"], summary, case["tgt"], case["src"])
    pairs = [list(p) for p in case["clean"]]
    for index, output in (planted or {}).get("replace", {}).items():
        pairs[int(index)][1] = output
    return check_translation([(s, t) for s, t in pairs], case["src"], case["tgt"])


PLANTED = [(c, p) for c in CASES for p in c["planted"]]


@pytest.mark.parametrize(
    ("case", "planted"), PLANTED, ids=[f"{c['id']}:{p['what']}" for c, p in PLANTED]
)
def test_every_planted_error_is_caught_by_its_check(case: dict, planted: dict) -> None:
    flags = run_case(case, planted)
    caught = [f for f in flags if f.check == planted["check"]]
    assert caught, flags
    replaced = [int(i) for i in planted.get("replace", {})]
    if len(replaced) == 1 and planted["check"] != "language":
        # A segment's error is flagged on that segment.
        assert replaced[0] in {f.segment for f in caught}
    assert verdict(flags) == "flag"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_clean_versions_are_not_flagged(case: dict) -> None:
    assert run_case(case) == []


def test_the_corpus_plants_every_error_the_checks_name() -> None:
    planted = {p["check"] for _, p in PLANTED}
    # The glossary check needs a glossary: tests/test_glossary.py plants its errors.
    assert planted == set(CHECKS) - {"glossary"}
    kinds = {(c["src"], c["tgt"]) for c in CASES if c["kind"] == "translation"}
    assert {("en", "uk"), ("en", "ko")} <= kinds
    assert any(p["check"] == "numbers" for c, p in PLANTED if c["kind"] == "summary")


# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "output", "src", "tgt", "lost"),
    [
        ("It rose 4.2 million tonnes.", "Зросло на 4,2 млн тонн.", "en", "uk", []),
        ("It rose 4.2 million tonnes.", "420만 톤 증가했다.", "en", "ko", []),
        ("It rose 4.2 million tonnes.", "Зросло на 4,7 млн тонн.", "en", "uk", ["4.2"]),
        ("Up 3.5% on Jan. 9.", "9 січня зросло на 3,5%.", "en", "uk", []),
        ("Up 3.5% on Jan. 9.", "1월 9일 3.5% 상승.", "en", "ko", []),
        ("Up 3.5% on Jan. 9.", "1월 19일 3.5% 상승.", "en", "ko", ["9"]),
        ("They earned $12bn.", "Вони заробили 12 млрд доларів.", "en", "uk", []),
        ("They earned $12bn.", "그들은 120억 달러를 벌었다.", "en", "ko", []),
        ("About 1,200 ships.", "Близько 1 200 суден.", "en", "uk", []),
        ("About 1,200 ships.", "Близько 1200 суден.", "en", "uk", []),
        ("About 1,200 ships.", "약 1,200척.", "en", "ko", []),
        ("Exports hit $127.8 billion.", "수출은 1278억 달러.", "en", "ko", []),
        ("Profit was 6.5 trillion won.", "이익은 6조 5천억 원.", "en", "ko", []),
        ("Profit was 6.5 trillion won.", "이익은 5조 6천억 원.", "en", "ko", ["6.5"]),
        ("1억 2천만 달러", "$120 million", "ko", "en", []),
        ("1월 9일 발표", "announced on Jan. 9", "ko", "en", []),
        ("It starts at 3 p.m.", "Початок о 15:00.", "en", "uk", []),
        ("오후 3시에 시작", "It starts at 15:00", "ko", "en", []),
        ("Three people and 3 cars.", "Троє людей і три авто.", "en", "uk", []),
        ("Born in 2025.", "Народився у 2025 році.", "en", "uk", []),
        ("Version 3.5.1 on 9.01.2026", "Версія 3.5.1 від 9 січня 2026", "en", "uk", []),
        ("See https://a.kr/2025/1.", "Див. https://a.kr/2025/1.", "en", "uk", []),
        ("May 2025", "травень 2025", "en", "uk", []),
        ("It may reach 5 people", "Може сягнути людей", "en", "uk", ["5"]),
    ],
)
def test_numbers_what_is_matched(source: str, output: str, src: str, tgt: str, lost: list) -> None:
    assert numbers.missing(source, output, src, tgt) == lost


def test_a_summary_number_must_be_in_the_article() -> None:
    article = "Demand hit 94.5 gigawatts on Aug. 8; the margin was 7.1%, the lowest since 2011."
    assert numbers.check_summary(article, "8월 8일 수요는 94.5기가와트.", "ko", "en") == []
    flags = numbers.check_summary(article, "Demand hit 96 gigawatts.", "en", "en")
    assert [(f.check, f.severity, f.segment) for f in flags] == [("numbers", "error", None)]
    assert "96" in flags[0].reason


# --- names, urls, repetition, length ---------------------------------------------------------


@pytest.mark.parametrize(
    ("latin", "other"),
    [
        ("Zelensky", "Зеленського"),
        ("Zelensky", "젤렌스키는"),
        ("Washington", "Вашингтон"),
        ("Washington", "워싱턴"),
        ("Samsung", "삼성전자는"),
        ("Marchenko", "Марченка"),
        ("Hamas", "ХАМАС"),
        ("Serhiy", "Сергій"),
    ],
)
def test_names_transliterations_match(latin: str, other: str) -> None:
    assert names.missing(f"He met {latin} Smith there.", f"… {other} …") == []


def test_names_found_and_not() -> None:
    source = "Finance Minister Serhiy Marchenko spoke to “Kyiv Independent” on Monday."
    assert names.entities(source) == [["Kyiv", "Independent"], ["Serhiy", "Marchenko"]]
    # Title-case headlines and translated institutions are not names to carry.
    assert names.entities("Council Approves New Budget for 2026") == []
    assert names.missing("The European Union and United Nations met.", "ЄС і ООН зустрілися.") == []
    lost = names.missing(source, "Міністр фінансів виступив у «Київ Індепендент» у понеділок.")
    assert lost == ["Serhiy Marchenko"]


def test_urls_must_be_whole_and_intact() -> None:
    assert (
        text.missing_spans("At `x = 1` and https://a.kr/en.", "У `x = 1` і https://a.kr/en.") == []
    )
    assert text.missing_spans("See https://a.kr/en.", "Див. https://a.kr/eng.") == [
        "https://a.kr/en"
    ]
    assert text.missing_spans("Mail ir@samsung.com now", "ir@samsung.com에서") == []


def test_repetition_in_the_source_is_not_the_output_s_fault() -> None:
    loop = "ha ha ha ha ha, he said"
    assert text.repetition_text(0, loop, "ха ха ха ха ха, сказав він", "en", "uk") == []
    flags = text.repetition_text(0, "He said no.", "Він сказав ні ні ні ні ні.", "en", "uk")
    assert [f.check for f in flags] == ["repetition"]


def test_length_bounds_follow_the_language_pair() -> None:
    source = "The government approved a new budget on Tuesday, officials said."
    assert (
        text.length_pair(
            0, source, "정부는 화요일 새 예산을 승인했다고 관계자들이 밝혔다.", "en", "ko"
        )
        == []
    )
    assert text.length_pair(0, source, "Уряд схвалив.", "en", "uk")
    assert text.length_pair(0, "Short.", "Дуже довгий переклад короткого речення", "en", "uk") == []


def test_verdict_and_flag_dicts() -> None:
    info = Flag("names", "info", "compared by script only", 2)
    assert verdict([info]) == "pass" and verdict([]) == "pass"
    assert verdict([info, Flag("length", "warning", "long", 0)]) == "flag"
    assert verdict([info.to_dict()]) == "pass"
    assert info.to_dict() == {
        "check": "names",
        "severity": "info",
        "reason": "compared by script only",
        "segment": 2,
    }
    assert all(severity in ("error", "warning") for severity, _ in CHECKS.values())


def test_the_detected_language_is_reused() -> None:
    pairs = [("The council met on Monday and approved the plan.", "Рада зібралася.")]
    assert any(
        f.check == "language" for f in check_translation(pairs, "en", "uk", output_lang="ru")
    )
    assert not any(
        f.check == "language" for f in check_translation(pairs, "en", "uk", output_lang=None)
    )


# --- settings and job files ------------------------------------------------------------------


def test_fail_on_is_a_setting_and_a_job_key(tmp_path: Path) -> None:
    assert QualitySettings().fail_on == "never"
    with pytest.raises(WorkbenchError, match="unknown fail-on value 'always'; use never or flag"):
        QualitySettings(fail_on="always")
    data = {"inputs": ["in"], "out": "out", "steps": [{"task": "translate", "to": "uk"}]}
    job = parse_job({**data, "fail_on": "flag"}, tmp_path / "job.toml")
    assert job.quality.fail_on == "flag"
    assert parse_job(data, tmp_path / "job.toml").quality.fail_on == "never"
    with pytest.raises(JobError, match=r"job\.toml: fail_on: unknown fail-on value 'yes'"):
        parse_job({**data, "fail_on": "yes"}, tmp_path / "job.toml")


def test_a_bad_fail_on_is_one_line() -> None:
    seed = str(SEEDS / "en" / "heatwave-grid.txt")
    result = CliRunner().invoke(app, ["translate", seed, "--to", "uk", "--fail-on", "maybe"])
    assert result.exit_code == 2
    assert result.stderr == "workbench: error: unknown fail-on value 'maybe'; use never or flag\n"


# --- the pipeline ----------------------------------------------------------------------------


def write_articles(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "a.md").write_text(
        "# Grain exports\n\nUkraine exported 4.2 million tonnes of grain in December, "
        "up 3.5% from November.\n\nDeputy Minister Taras Vysotskyi said 1,200 ships had "
        "used the corridor since August 2023.\n",
        encoding="utf-8",
    )
    return root


def translate_args(src: Path, out: Path, model: Path, *extra: str) -> list[str]:
    return [
        "translate",
        str(src),
        "--to",
        "uk",
        "--from",
        "en",
        "--model",
        str(model),
        "--beams",
        "1",
        "--backend",
        "torch",
        "--out",
        str(out),
        *extra,
    ]


def test_translations_carry_checks_into_provenance_and_manifest_and_fail_on(
    tiny, tmp_path: Path
) -> None:
    model = tiny("marian-multi")
    src = write_articles(tmp_path / "in")
    out = tmp_path / "out"
    first = CliRunner().invoke(app, translate_args(src, out, model))
    assert first.exit_code == 0, first.output  # --fail-on never (the default)
    prov = json.loads((out / "a.uk.md.json").read_text("utf-8"))
    assert prov["verdict"] == "flag" and prov["checks"]  # gibberish in the wrong script
    segments = prov["segments"]
    for flag in prov["checks"]:
        assert set(flag) == {"check", "severity", "reason", "segment"}
        assert flag["check"] in CHECKS
        assert flag["segment"] is None or 0 <= flag["segment"] < segments
    (row,) = manifest(out)
    assert tuple(row) == MANIFEST_FIELDS
    assert row["verdict"] == "flag" and row["flags"] == len(prov["checks"])
    assert "1 flagged by the quality checks" in first.stderr

    # A whole-document cache hit: the same checks, computed again after the hit.
    again = CliRunner().invoke(app, translate_args(src, out, model, "--fail-on", "flag"))
    assert again.exit_code == 1
    hit = json.loads((out / "a.uk.md.json").read_text("utf-8"))
    assert hit["cache"] == "document" and hit["checks"] == prov["checks"]
    lines = again.stderr.strip().splitlines()
    assert any(line.startswith(f"workbench: flagged {out / 'a.uk.md'} (uk): ") for line in lines)
    assert "1 done (1 from cache), 0 failed, 1 flagged by the quality checks" in again.stderr
    assert lines[-1].startswith("workbench: error: the quality checks flagged 1 outputs")
    assert (out / "a.uk.md").is_file() and manifest(out)[0]["verdict"] == "flag"


def test_the_api_result_carries_checks(tiny) -> None:
    w = Workbench(cache=False, beams=1, backend="torch")
    result = w.translate(
        "The council approved 4.2 million for the new harbour on Monday.",
        to="uk",
        src="en",
        model=str(tiny("marian-multi")),
    )
    assert result.verdict == "flag" and result.checks == result.provenance()["checks"]
    assert result.provenance()["verdict"] == "flag"


def test_summaries_carry_checks_and_fail_on(tiny, tmp_path: Path) -> None:
    src = write_articles(tmp_path / "in")
    out = tmp_path / "out"
    lead = ["summarise", str(src), "--model", "lead", "--out", str(out), "--no-cache"]
    clean = CliRunner().invoke(app, [*lead, "--fail-on", "flag"])
    assert clean.exit_code == 0, clean.output  # lead-N copies the article: nothing invented
    prov = json.loads((out / "a.summary.en.md.json").read_text("utf-8"))
    assert prov["verdict"] == "pass" and prov["checks"] == []
    (row,) = manifest(out)
    assert row["verdict"] == "pass" and row["flags"] == 0

    translated = [
        *lead,
        "--lang",
        "uk",
        "--translation-model",
        str(tiny("marian-multi")),
        "--beams",
        "1",
        "--backend",
        "torch",
    ]
    never = CliRunner().invoke(app, translated)
    assert never.exit_code == 0, never.output
    prov = json.loads((out / "a.summary.uk.md.json").read_text("utf-8"))
    assert prov["verdict"] == "flag" and {f["segment"] for f in prov["checks"]} == {None}
    flagged = CliRunner().invoke(app, [*translated, "--fail-on", "flag"])
    assert flagged.exit_code == 1
    assert "flagged by the quality checks" in flagged.stderr
    rows = {r["lang"]: r for r in manifest(out)}
    assert rows["uk"]["verdict"] == "flag" and rows["en"]["verdict"] == "pass"


def test_stdin_translation_and_job_files_honour_fail_on(tiny, tmp_path: Path) -> None:
    model = tiny("marian-multi")
    article = (write_articles(tmp_path / "in") / "a.md").read_text("utf-8")
    args = ["translate", "-", "--to", "uk", "--from", "en", "--model", str(model), "--beams", "1"]
    args += ["--backend", "torch", "--no-cache"]
    flagged = CliRunner().invoke(app, [*args, "--fail-on", "flag"], input=article)
    assert flagged.exit_code == 1 and flagged.stdout  # the translation is still written out
    assert "workbench: error: the quality checks flagged the translation (" in flagged.stderr
    assert CliRunner().invoke(app, args, input=article).exit_code == 0

    job = tmp_path / "job.toml"
    job.write_text(
        'inputs = ["in"]\nout = "out"\nfrom = "en"\nbackend = "torch"\nbeams = 1\n'
        'fail_on = "flag"\n\n[[steps]]\ntask = "translate"\nto = ["uk"]\n'
        f"model = {json.dumps(str(model))}\n",
        encoding="utf-8",
    )
    ran = CliRunner().invoke(app, ["run", str(job), "--no-cache"])
    assert ran.exit_code == 1 and (tmp_path / "out" / "a.uk.md").is_file()
    assert "1 flagged by the quality checks" in ran.stderr
    assert CliRunner().invoke(app, ["run", str(job), "--fail-on", "never"]).exit_code == 0


@pytest.mark.parametrize("lang", ["ko", "uk"])
def test_human_translations_are_rarely_flagged(lang: str) -> None:
    # 167 news sentences translated by people; the flags left are amounts the translator
    # converted (a real change of number) and one rewritten number (bench/quality.py lists them).
    corpus = REPO / "tests" / "data" / "corpus"
    english = [x for x in (corpus / "en.txt").read_text("utf-8").splitlines() if x.strip()]
    other = [x for x in (corpus / f"{lang}.txt").read_text("utf-8").splitlines() if x.strip()]
    flags = check_translation(list(zip(english, other[: len(english)], strict=True)), "en", lang)
    assert len(flags) <= 3 and {f.check for f in flags} <= {"numbers"}, flags


def test_rows_rebuilt_from_provenance_keep_the_verdict(tmp_path: Path) -> None:
    from workbench.runs.outputs import recovered_rows

    (tmp_path / "a.uk.md").write_text("текст\n", "utf-8")
    checks = [{"check": "numbers", "severity": "error", "reason": "missing: 4.2", "segment": 0}]
    prov = {"input": "in/a.md", "task": "translate", "lang": "uk", "cache": "miss"}
    (tmp_path / "a.uk.md.json").write_text(
        json.dumps({**prov, "checks": checks, "verdict": "flag"}), "utf-8"
    )
    (row,) = recovered_rows(tmp_path, 0.0, set())
    assert row["verdict"] == "flag" and row["flags"] == 1
