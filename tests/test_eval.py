"""`workbench eval`: scores against references with real sacrebleu and rouge-score, on texts
written here, and on the outputs of a real `workbench translate` run with a tiny model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sacrebleu = pytest.importorskip("sacrebleu", reason="the eval extra is not installed")
pytest.importorskip("rouge_score", reason="the eval extra (rouge-score) is not installed")

from tests.conftest import REPO, SEEDS  # noqa: E402
from workbench.cli.app import app  # noqa: E402
from workbench.errors import WorkbenchError  # noqa: E402
from workbench.quality import eval as ev  # noqa: E402
from workbench.quality import metrics  # noqa: E402
from workbench.quality.metrics import RougeTokenizer, corpus_scores, document_scores  # noqa: E402

runner = CliRunner()

HYPS = [
    "Спека підняла попит на електроенергію до рекорду.",
    "Оператор закликав домогосподарства до стриманості.",
    "Сонячні панелі дали третину попиту опівдні.",
    "Синоптики чекають грози в п'ятницю.",
]
REFS = [
    "Спека підняла попит на електроенергію до рекордного рівня.",
    "Оператор мережі закликав домогосподарства до стриманості.",
    "Опівдні сонячні панелі забезпечували майже третину попиту.",
    "Синоптики очікують грози в п'ятницю.",
]


# --- metrics against sacrebleu itself ----------------------------------------------------------


def test_identical_hypothesis_scores_100() -> None:
    scores = corpus_scores(REFS, REFS, "uk", "translate")
    assert scores["chrF"].value == pytest.approx(100.0)
    assert scores["chrF++"].value == pytest.approx(100.0)
    assert scores["BLEU"].value == pytest.approx(100.0)


def test_corpus_scores_equal_sacrebleus_own() -> None:
    from sacrebleu.metrics import BLEU, CHRF

    scores = corpus_scores(HYPS, REFS, "uk", "translate")
    for name, metric in (("chrF", CHRF()), ("chrF++", CHRF(word_order=2)), ("BLEU", BLEU())):
        expected = metric.corpus_score(HYPS, [REFS])
        assert scores[name].value == pytest.approx(expected.score), name
        # The signature is sacrebleu's, plus the bootstrap's resamples and seed.
        assert scores[name].signature == f"{metric.get_signature()}|bs:1000|rs:12345"
    # Per document: sacrebleu's corpus score of that one document.
    rows = document_scores(HYPS, REFS, "uk", "translate")
    for row, hyp, ref in zip(rows, HYPS, REFS, strict=True):
        assert row["chrF"].value == pytest.approx(sacrebleu.sentence_chrf(hyp, [ref]).score)
        assert row["BLEU"].value == pytest.approx(BLEU().corpus_score([hyp], [[ref]]).score)
        assert row["chrF"].low is None  # one line: no interval for the document


def test_korean_bleu_tokenizer_is_named_in_the_signature() -> None:
    hyp, ref = ["서울은 한국의 수도입니다."], ["서울은 대한민국의 수도입니다."]
    score = corpus_scores(hyp, ref, "ko", "translate")["BLEU"]
    tokenize, note = metrics.bleu_tokenizer("ko")
    if note is None:  # MeCab installed (the eval extra): morphemes
        assert tokenize == "ko-mecab" and "tok:ko-mecab" in score.signature
        expected = sacrebleu.BLEU(tokenize="ko-mecab").corpus_score(hyp, [ref]).score
    else:  # without it: characters, and the note says why
        assert tokenize == "char" and "tok:char" in score.signature and "mecab" in note
        expected = sacrebleu.BLEU(tokenize="char").corpus_score(hyp, [ref]).score
    assert score.value == pytest.approx(expected)


def test_a_missing_eval_extra_is_one_line_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sacrebleu", None)  # import sacrebleu now fails
    with pytest.raises(WorkbenchError, match=r'pip install -e "\.\[eval\]"'):
        corpus_scores(HYPS, REFS, "uk", "translate")


# --- ROUGE for Korean and Ukrainian ------------------------------------------------------------


def test_korean_rouge_counts_syllables_hand_computed() -> None:
    # hyp 서울은 한국의 수도이다: 10 syllables; ref 서울이 한국의 수도다: 9; 9 in common.
    hyp, ref = "서울은 한국의 수도이다.", "서울이 한국의 수도다."
    assert RougeTokenizer("ko").tokenize(hyp) == list("서울은한국의수도이다")
    (row,) = document_scores([hyp], [ref], "ko", "summarise")
    assert row["ROUGE-1"].value == pytest.approx(100 * 2 * 9 / (10 + 9))
    # Bigrams: 9 and 8; 서울 한국 국의 의수 수도 in common.
    assert row["ROUGE-2"].value == pytest.approx(100 * 2 * 5 / (9 + 8))
    # Longest common subsequence 서울 한국의수도 다: 8 syllables.
    assert row["ROUGE-L"].value == pytest.approx(100 * 2 * 8 / (10 + 9))
    # Whole words (eojeol) would share only 한국의: the particles hide the rest.
    assert row["ROUGE-1"].value > 90


def test_ukrainian_rouge_counts_lowercased_words_hand_computed() -> None:
    from rouge_score import rouge_scorer

    hyp, ref = "Київ — столиця України.", "Столиця України — Київ."
    assert RougeTokenizer("uk").tokenize(hyp) == ["київ", "столиця", "україни"]
    (row,) = document_scores([hyp], [ref], "uk", "summarise")
    assert row["ROUGE-1"].value == pytest.approx(100.0)
    assert row["ROUGE-2"].value == pytest.approx(50.0)  # столиця україни of two bigrams each
    assert row["ROUGE-L"].value == pytest.approx(100 * 2 / 3)
    # rouge-score's own tokenizer keeps a-z0-9 only: Ukrainian would score nothing at all.
    plain = rouge_scorer.RougeScorer(["rouge1"]).score(ref, hyp)["rouge1"].fmeasure
    assert plain == 0.0
    # Summaries are scored with chrF too.
    assert "chrF" in corpus_scores([hyp], [ref], "uk", "summarise")


# --- bootstrap intervals -----------------------------------------------------------------------


def test_a_document_aligned_line_for_line_gets_an_interval_from_its_lines() -> None:
    hyp, ref = "\n\n".join(HYPS), "\n\n".join(REFS)  # paragraphs, blank lines between
    (row,) = document_scores([hyp], [ref], "uk", "translate")
    for name, metric in (("chrF", sacrebleu.CHRF()), ("BLEU", sacrebleu.BLEU())):
        assert row[name].value == pytest.approx(metric.corpus_score(HYPS, [REFS]).score)
        assert row[name].low <= row[name].value <= row[name].high
    # Lines that do not pair up: the whole document is one segment, without an interval.
    (whole,) = document_scores([hyp], [" ".join(REFS)], "uk", "translate")
    joined = sacrebleu.sentence_chrf(" ".join(HYPS), [" ".join(REFS)]).score
    assert whole["chrF"].value == pytest.approx(joined) and whole["chrF"].low is None


def test_bootstrap_interval_contains_the_estimate_and_is_seeded() -> None:
    # 16 documents of varied quality: every hypothesis against every reference.
    hyps = [h for h in HYPS for _ in REFS]
    refs = [r for _ in HYPS for r in REFS]
    first = corpus_scores(hyps, refs, "uk", "translate", n=500, seed=7)
    again = corpus_scores(hyps, refs, "uk", "translate", n=500, seed=7)
    other = corpus_scores(hyps, refs, "uk", "translate", n=500, seed=8)
    for name, score in first.items():
        assert score.low is not None and score.high is not None
        assert score.low <= score.value <= score.high, name
        assert score.low < score.high
        assert (score.low, score.high) == (again[name].low, again[name].high)
    assert any((s.low, s.high) != (other[n].low, other[n].high) for n, s in first.items())
    none = corpus_scores(HYPS, REFS, "uk", "translate", n=0)["chrF"]
    assert none.low is None and none.high is None and "bs:" not in none.signature


# --- the command on a real translate run -------------------------------------------------------


@pytest.fixture(scope="module")
def translated(tiny, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output folder from a real `workbench translate` run (tiny model: gibberish)."""
    root = tmp_path_factory.mktemp("translated")
    result = runner.invoke(
        app,
        [
            "translate",
            str(SEEDS / "en"),
            "--to",
            "uk",
            "--from",
            "en",
            "--backend",
            "torch",
            "--model",
            str(tiny("marian-multi")),
            "--beams",
            "1",
            "--out",
            str(root / "out"),
            "--cache",
            str(root / "cache.sqlite3"),
        ],
    )
    assert result.exit_code == 0, result.output
    return root / "out"


@pytest.fixture
def run_folder(translated: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the translated folder and references: harbour-ferry's is its own output
    (chrF 100), heatwave-grid's a hand-written translation, chess-prodigy has none."""
    out = tmp_path / "out"
    shutil.copytree(translated, out)
    refs = tmp_path / "refs"
    refs.mkdir()
    shutil.copy(out / "harbour-ferry.uk.md", refs / "harbour-ferry.uk.md")
    shutil.copy(REPO / "references" / "en" / "heatwave-grid.uk.txt", refs / "heatwave-grid.uk.txt")
    return out, refs


def _json_rows(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_eval_scores_a_translate_run_and_names_missing_references(
    run_folder: tuple[Path, Path],
) -> None:
    out, refs = run_folder
    result = runner.invoke(app, ["eval", str(out), "--ref", str(refs), "--json"])
    assert result.exit_code == 0, result.output
    rows = _json_rows(result.stdout)
    docs = {(r["output"], r["metric"]): r for r in rows if r["scope"] == "document"}
    assert {o for o, _ in docs} == {"harbour-ferry.uk.md", "heatwave-grid.uk.txt"}
    assert {m for _, m in docs} == {"chrF", "chrF++", "BLEU"}  # task translate, from provenance
    assert docs["harbour-ferry.uk.md", "chrF"]["value"] == pytest.approx(100.0)
    hyp = (out / "heatwave-grid.uk.txt").read_text("utf-8")
    ref = (refs / "heatwave-grid.uk.txt").read_text("utf-8")
    # Output and reference have as many lines: scored line by line, as sacrebleu would, with
    # an interval from resampling the document's lines.
    hyp_lines = [" ".join(line.split()) for line in hyp.splitlines() if line.strip()]
    ref_lines = [" ".join(line.split()) for line in ref.splitlines() if line.strip()]
    assert len(hyp_lines) == len(ref_lines) > 1
    heat = docs["heatwave-grid.uk.txt", "chrF"]
    assert heat["value"] == pytest.approx(sacrebleu.corpus_chrf(hyp_lines, [ref_lines]).score)
    assert heat["low"] <= heat["value"] <= heat["high"]
    corpus = [r for r in rows if r["scope"] == "corpus"]
    assert {r["metric"] for r in corpus} == {"chrF", "chrF++", "BLEU"}
    for row in corpus:
        assert row["documents"] == 2 and row["lang"] == "uk" and row["task"] == "translate"
        assert row["low"] <= row["value"] <= row["high"]
    # The output without a reference: one line naming it; the others were scored.
    missing = [line for line in result.stderr.splitlines() if "chess-prodigy" in line]
    assert len(missing) == 1 and "no reference" in missing[0]
    # The rows are appended to the folder's eval.jsonl, with the reference folder.
    recorded = _json_rows((out / ev.EVAL_NAME).read_text("utf-8"))
    assert len(recorded) == len(rows) and recorded[0]["reference"] == str(refs)
    # The terminal table: a line per document and the corpus line with its interval.
    table = runner.invoke(app, ["eval", str(out), "--ref", str(refs)])
    assert table.exit_code == 0, table.output
    assert "heatwave-grid.uk.txt" in table.stdout and "95% interval" in table.stdout
    assert "tok:13a" in table.stdout  # the signatures are shown
    assert len(_json_rows((out / ev.EVAL_NAME).read_text("utf-8"))) == 2 * len(rows)


def test_a_rerun_is_answered_from_the_cache(
    run_folder: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, refs = run_folder
    first = runner.invoke(app, ["eval", str(out), "--ref", str(refs), "--json"])
    assert first.exit_code == 0, first.output
    assert "6 scored, 0 from cache" in first.stderr

    # A rerun computes nothing: any statistic or bootstrap asked for now would fail.
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("recomputed")

    monkeypatch.setattr(metrics.SacreMetric, "stats", boom)
    monkeypatch.setattr(metrics.Metric, "corpus", boom)
    again = runner.invoke(app, ["eval", str(out), "--ref", str(refs), "--json"])
    assert again.exit_code == 0, again.output
    assert "0 scored, 6 from cache" in again.stderr
    assert _json_rows(again.stdout) == _json_rows(first.stdout)


def test_the_library_counts_cache_hits(run_folder: tuple[Path, Path], tmp_path: Path) -> None:
    from workbench.api import open_store

    out, refs = run_folder
    pairs, missing = ev.folder_pairs(out, refs)
    assert len(pairs) == 2 and len(missing) == 1
    store = open_store(tmp_path / "cache.sqlite3")
    options = ev.EvalOptions(bootstrap=100)
    first = ev.evaluate(pairs, store, options)
    second = ev.evaluate(pairs, store, options)
    assert (first.computed, first.cached) == (6, 0)
    assert (second.computed, second.cached) == (0, 6)
    assert second.rows == first.rows
    # Caching off: always computed.
    nothing = ev.evaluate(pairs, open_store(False), options)
    assert nothing.computed == 6 and nothing.rows == first.rows


def test_no_reference_at_all_exits_2_in_one_line(run_folder: tuple[Path, Path], tmp_path) -> None:
    out, _ = run_folder
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["eval", str(out), "--ref", str(empty)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no output" in lines[0] and str(empty) in lines[0]
    absent = runner.invoke(app, ["eval", str(out), "--ref", str(tmp_path / "nope")])
    assert absent.exit_code == 2 and "nope" in absent.stderr
    assert not (out / ev.EVAL_NAME).exists()


def test_summaries_get_rouge_from_their_provenance(tmp_path: Path) -> None:
    out, refs = tmp_path / "out", tmp_path / "refs"
    (out / "ko").mkdir(parents=True)
    (refs / "ko").mkdir(parents=True)
    (out / "ko" / "a.summary.ko.md").write_text("서울은 한국의 수도이다.\n", "utf-8")
    prov = {"task": "summarise", "lang": "ko"}
    (out / "ko" / "a.summary.ko.md.json").write_text(json.dumps(prov), "utf-8")
    (refs / "ko" / "a.summary.ko.md").write_text("서울이 한국의 수도다.\n", "utf-8")
    result = runner.invoke(app, ["eval", str(out), "--ref", str(refs), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["metric"]: r for r in _json_rows(result.stdout) if r["scope"] == "document"}
    assert set(rows) == {"ROUGE-1", "ROUGE-2", "ROUGE-L", "chrF"}
    assert rows["ROUGE-1"]["value"] == pytest.approx(100 * 18 / 19)


def test_parallel_files_line_by_line(tmp_path: Path) -> None:
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyps, refs = [*HYPS, ""], [*REFS, "Рядок без перекладу."]  # an empty line counts too
    hyp.write_text("\n".join(hyps) + "\n", "utf-8")
    ref.write_text("\n".join(refs) + "\n", "utf-8")
    args = ["eval", "--hyp", str(hyp), "--ref", str(ref), "--lang", "uk", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = {r["metric"]: r for r in _json_rows(result.stdout)}
    assert set(rows) == {"chrF", "chrF++", "BLEU"}
    assert all(r["scope"] == "corpus" and r["documents"] == 5 for r in rows.values())
    assert rows["BLEU"]["value"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert rows["chrF"]["value"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert rows["chrF"]["low"] <= rows["chrF"]["value"] <= rows["chrF"]["high"]
    summaries = runner.invoke(app, [*args, "--task", "summarise"])
    assert summaries.exit_code == 0, summaries.output
    assert "ROUGE-L" in {r["metric"] for r in _json_rows(summaries.stdout)}
    ref.write_text("one line\n", "utf-8")
    short = runner.invoke(app, args)
    assert short.exit_code == 2 and "parallel" in short.stderr


def test_help_imports_no_metric_library() -> None:
    code = (
        "import sys; from workbench.cli.app import app; import workbench.cli.eval_cmd; "
        "assert not {'sacrebleu', 'rouge_score', 'torch'} & set(sys.modules), sys.modules.keys()"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
