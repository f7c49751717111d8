"""`workbench compare`: the report's data (alignment, word differences, flags, scores), its
escaping, both ways in (running models, reading output folders) and the page as a real
headless browser renders it."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from workbench.cli.app import app
from workbench.errors import WorkbenchError
from workbench.quality.compare import (
    Column,
    Output,
    align,
    build_report,
    diff_words,
    output_from_result,
    render_html,
    tokens,
)
from workbench.quality.compare_runs import (
    parse_entry,
    read_folders,
    reference_scores,
    run_models,
)
from workbench.settings import TranslateOptions

runner = CliRunner()
URL = "https://example.org/harbour?x=1&y=2"
ARTICLE = f"""# Ferry <script>alert("x")</script> returns

The <b>harbour</b> ferry runs again after three weeks of repairs.
The timetable is at {URL} for all routes.

Passengers waited at the pier on Monday morning.
"""
# Plain text keeps markup inside its sentences: the page must show it as text.
NOTES = 'The council met <script>alert("x")</script> on Monday.\n\nIt <b>approved</b> the budget.\n'


def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ferry.md").write_text(ARTICLE, "utf-8")
    (folder / "notes.txt").write_text(NOTES, "utf-8")
    return folder


# --- data: words, rows, entries -----------------------------------------------------------------


def test_diff_marks_changed_words_and_gives_the_text_back() -> None:
    pieces = diff_words("The ferry runs on Monday.", "The boat runs on Tuesday.")
    assert "".join(t for op, t in pieces if op != "del") == "The boat runs on Tuesday."
    assert ("ins", "boat") in pieces and ("del", "ferry") in pieces
    assert ("ins", "Tuesday") in pieces
    assert diff_words("same text", "same text") == [("same", "same text")]
    # Spacing alone is not a difference; CJK characters are compared one by one.
    assert all(op == "same" for op, _ in diff_words("a  b", "a b"))
    assert tokens("서울시 의회") == ["서울시", " ", "의회"]
    assert [t for op, t in diff_words("東京の会議", "東京の会見") if op == "ins"] == ["見"]


def test_rows_line_up_by_source_and_keep_extra_segments() -> None:
    a = Output("d", segments=[("one", "1"), ("two", "2"), ("three", "3")])
    b = Output("d", segments=[("one", "I"), ("two", "II"), ("three", "III")])
    c = Output("d", segments=[("one", "i"), ("extra", "x"), ("two", "ii"), ("three", "iii")])
    rows = align([a, None, b])
    assert [r.source for r in rows] == ["one", "two", "three"]
    assert [r.found for r in rows] == [{0: 0, 2: 0}, {0: 1, 2: 1}, {0: 2, 2: 2}]
    rows = align([a, c])
    assert [r.source for r in rows] == ["one", "extra", "two", "three"]
    assert rows[1].found == {1: 1}


def test_entries_name_a_model_and_its_own_settings() -> None:
    assert parse_entry("org/model") == parse_entry(" org/model ")
    e = parse_entry("org/model:beams=4,precision=int8")
    assert (e.model, e.beams, e.precision, e.backend) == ("org/model", 4, "int8", None)
    assert parse_entry("default:beams=2").model is None
    for bad, words in (
        ("m:speed=9", "unknown setting 'speed'"),
        ("m:beams=many", "beams=many is not a whole number"),
        (":beams=2", "no model named"),
    ):
        with pytest.raises(WorkbenchError, match=re.escape(words)):
            parse_entry(bad)


# --- data: the report ---------------------------------------------------------------------------


def _columns() -> list[Column]:
    segs = [("<b>One</b> <script>x()</script>", "Eins"), ("Two.", "Zwei.")]
    first = Output("a.md", lang="de", source_lang="en", segments=segs, signature="sig-a", hits=2)
    second = Output(
        "a.md",
        lang="de",
        source_lang="en",
        segments=[(segs[0][0], "Eins"), ("Two.", "Drei.")],
        signature="sig-b",
        misses=2,
        verdict="flag",
        checks=[
            {"check": "numbers", "severity": "error", "reason": "2 became 3", "segment": 1},
            {"check": "length", "severity": "warning", "reason": "<i>short</i>", "segment": None},
        ],
    )
    only = Output("b.md", lang="de", segments=[("Alone.", "Allein.")])
    return [
        Column("model-a", {"a": first, "b": only}, seconds=2.5),
        Column("model-b", {"a": second}, seconds=0.5),
    ]


class Page(HTMLParser):
    """What a page holds: its tags with their classes, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.sections: dict[str, dict[str, int]] = {}
        self._section: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        classes = a.get("class", "").split()
        if tag == "section" and "doc" in classes:
            self._section = a["id"]
            self.sections[self._section] = {"rows": 0, "models": 0, "ins": 0}
        elif self._section is not None:
            counts = self.sections[self._section]
            if tag == "tr" and "seg" in classes:
                counts["rows"] += 1
            elif tag == "th" and "model" in classes:
                counts["models"] += 1
            elif tag == "ins":
                counts["ins"] += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def classes(self, tag: str) -> list[str]:
        return [a.get("class", "") for t, a in self.tags if t == tag]


def test_report_gathers_rows_flags_differences_and_scores() -> None:
    score = SimpleNamespace(name="chrF", value=51.25, low=48.0, high=54.5, signature="s")
    scores = {"model-a": {"chrF": score, "BLEU": 20}, "model-b": {"chrF": {"value": 47.5}}}
    report = build_report(_columns(), scores=scores)
    a, b = report["columns"]
    assert (a["documents"], a["segments"], a["hits"], a["seconds"]) == (2, 3, 2, 2.5)
    assert (b["flags"], b["errors"], b["flagged"]) == (2, 1, 1)
    assert a["scores"]["chrF"] == {"value": 51.25, "low": 48.0, "high": 54.5}
    assert report["score_names"] == ["chrF", "BLEU"]
    doc = report["documents"][0]
    assert [r["changed"] for r in doc["rows"]] == [False, True]
    cell = doc["rows"][1]["cells"][1]
    assert ("ins", "Drei") in cell["pieces"] and cell["flags"][0]["check"] == "numbers"
    assert doc["heads"][1]["flags"][0]["check"] == "length"  # a whole-document flag
    assert report["documents"][1]["rows"][0]["cells"] == [
        {"pieces": [("same", "Allein.")], "flags": [], "lang": "de"},
        None,
    ]
    with pytest.raises(WorkbenchError, match="two or more"):
        build_report(_columns()[:1])


def test_page_escapes_article_text_and_reaches_nothing_outside() -> None:
    html = render_html(build_report(_columns(), scores={"model-a": {"chrF": 50}}))
    page = Page(html)
    assert not [t for t, _ in page.tags if t in ("script", "b", "i", "link", "img", "iframe")]
    text = "".join(page.text)
    assert "<b>One</b> <script>x()</script>" in text  # shown as text
    assert "&lt;script&gt;" in html and "&lt;i&gt;short&lt;/i&gt;" in html
    assert not re.search(r"https?://", html)
    assert all(a["href"].startswith("#") for t, a in page.tags if "href" in a)
    assert page.sections["doc-a"] == {"rows": 2, "models": 2, "ins": 1}
    assert "flag error" in " ".join(page.classes("span"))
    assert "50.00" in text and "sig-b" in text
    assert "<svg" in html and html.count("<rect") == 4  # seconds and flags, per model


def test_results_without_checks_are_read_with_defaults() -> None:
    from workbench.results import SegmentPair, TranslationResult

    result = TranslationResult("uk", text="Б", source_lang="en", model="m", signature="s")
    result.segments = [SegmentPair("B", "Б", cached=True)]
    out = output_from_result("doc", result)
    assert (out.checks, out.verdict, out.segments) == ([], None, [("B", "Б")])
    result.checks = [{"check": "numbers", "severity": "warning", "reason": "r", "segment": 0}]
    result.verdict = "flag"
    out = output_from_result("doc", result)
    assert out.verdict == "flag" and out.checks[0]["segment"] == 0


# --- both ways in, with tiny models ------------------------------------------------------------


def test_cli_runs_models_through_the_cache_and_reads_earlier_runs(tiny, tmp_path: Path) -> None:
    folder, model = docs(tmp_path), str(tiny("marian-multi"))
    page = tmp_path / "report.html"
    args = ["compare", str(folder), "--model", model, "--model", f"{model}:beams=2"]
    args += ["--to", "uk", "--from", "en", "--backend", "torch", "--out", str(page)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    again = runner.invoke(app, args)  # a rerun is answered from the cache
    assert again.exit_code == 0, again.output
    assert re.search(r"marian-multi: 2 documents, (\d+) segments \((\1) of \1 from", again.output)
    assert "&lt;script&gt;" in page.read_text("utf-8")

    outs = []
    for name, beams in (("out_a", "1"), ("out_b", "2")):
        outs.append(str(tmp_path / name))
        run = ["translate", str(folder), "--to", "uk", "--from", "en", "--model", model]
        run += ["--beams", beams, "--backend", "torch", "--out", outs[-1], "-q"]
        made = runner.invoke(app, run)
        assert made.exit_code == 0, made.output
    read = runner.invoke(app, ["compare", "--read", *outs, "--out", str(tmp_path / "r.html")])
    assert read.exit_code == 0, read.output
    columns = read_folders(outs, _store())
    assert [c.label for c in columns] == ["out_a", "out_b"]
    assert sorted(columns[0].outputs) == ["ferry.uk.md", "notes.uk.txt"]
    ferry = columns[1].outputs["ferry.uk.md"]
    assert ferry.aligned == "segment" and ferry.signature and "beams:2" in ferry.signature
    assert ferry.segments[0][0].startswith("Ferry")
    # Without the cache the outputs are aligned by paragraph, sources read from the inputs.
    bare = read_folders(outs, None)[0].outputs["notes.uk.txt"]
    assert bare.aligned == "paragraph"
    assert [s for s, _ in bare.segments] == [p.strip() for p in NOTES.split("\n\n")]
    for bad, words in (
        (["compare", "--read", outs[0], "--out", "x.html"], "two or more output folders"),
        (["compare", str(folder), "--model", model, "--to", "uk"], "two or more --model"),
        (["compare", str(folder), "--model", model, "--model", model], "--to is needed"),
        (["compare", "--read", outs[0], str(folder)], "holds no outputs"),
    ):
        result = runner.invoke(app, bad)
        assert result.exit_code == 2 and words in result.output, result.output
        assert "Traceback" not in result.output


def test_reference_scores_reach_the_summary_table(tiny, tmp_path: Path) -> None:
    """With --ref, each model's chrF/BLEU against the references (real sacrebleu) is on the page;
    an output without a reference is named on stderr."""
    pytest.importorskip("sacrebleu", reason="scores need the eval extra")
    from workbench.quality.metrics import corpus_scores

    folder, model = docs(tmp_path), str(tiny("marian-multi"))
    ref = tmp_path / "ref"
    ref.mkdir()
    (ref / "ferry.uk.md").write_text("Пором вирушив о дев'ятій.\n", encoding="utf-8")
    page = tmp_path / "scored.html"
    args = ["compare", str(folder), "--model", model, "--model", f"{model}:beams=2"]
    args += ["--to", "uk", "--from", "en", "--backend", "torch", "--out", str(page)]
    result = runner.invoke(app, [*args, "--ref", str(ref)])
    assert result.exit_code == 0, result.output
    assert "notes.uk.txt: no reference" in result.output
    html = page.read_text("utf-8")
    assert "chrF" in html and "BLEU" in html
    columns, _ = run_models(
        [str(folder)],
        [parse_entry(model)],
        TranslateOptions(("uk",), src="en"),
        backend="torch",
        cache=False,
    )
    output = next(o for o in columns[0].outputs.values() if o.ref_name == "ferry.uk.md")
    expected = corpus_scores(
        [output.text], [(ref / "ferry.uk.md").read_text("utf-8")], "uk", "translate"
    )["chrF"]
    scores, missing = reference_scores(columns, ref)
    assert scores["marian-multi"]["chrF"].value == pytest.approx(expected.value)
    assert missing == [f"marian-multi: notes.uk.txt: no reference {ref / 'notes.uk.txt'}"]


def test_earlier_summaries_compare_as_whole_texts(tmp_path: Path) -> None:
    from tests.conftest import SEEDS

    outs = [str(tmp_path / "s1"), str(tmp_path / "s2")]
    for out, sentences in zip(outs, ("1", "2"), strict=True):
        run = ["summarise", str(SEEDS / "en"), "--model", "lead", "-s", sentences, "-o", out]
        made = runner.invoke(app, [*run, "-q"])
        assert made.exit_code == 0, made.output
    page = tmp_path / "s.html"
    result = runner.invoke(app, ["compare", "--read", *outs, "--out", str(page)])
    assert result.exit_code == 0, result.output
    one, two = (c.outputs["harbour-ferry.summary.en.md"] for c in read_folders(outs))
    assert one.aligned == two.aligned == "document" and len(one.segments) == 1
    assert one.segments[0][0] == (SEEDS / "en" / "harbour-ferry.md").read_text("utf-8")
    assert two.segments[0][1].startswith(one.segments[0][1].strip())
    assert "Whole outputs" in page.read_text("utf-8")


def _store():
    from workbench.api import open_store

    return open_store(None)


# --- the page in a real browser ------------------------------------------------------------------


def _browser() -> str | None:
    return next(
        (
            found
            for name in ("chromium", "chromium-browser", "google-chrome", "chrome")
            if (found := shutil.which(name))
        ),
        None,
    )


def _chromium(binary: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [binary, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars"]
    argv += [f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=180)


def test_page_as_a_headless_browser_renders_it(tiny, tmp_path: Path) -> None:
    binary = _browser()
    if binary is None:
        pytest.skip("no chromium binary (apt-get install -y chromium) to render the page in")
    model = str(tiny("marian-multi"))
    entries = [parse_entry(model), parse_entry(f"{model}:beams=2")]
    columns, problems = run_models(
        [str(docs(tmp_path))], entries, TranslateOptions(("uk",), src="en"), backend="torch"
    )
    assert not problems
    page = tmp_path / "report.html"
    page.write_text(render_html(build_report(columns)), "utf-8")

    dom = _chromium(binary, tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    rendered = Page(dom.stdout)
    assert len(rendered.sections) == 2
    for key, output in columns[0].outputs.items():
        anchor = "doc-" + re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-")
        counts = rendered.sections[anchor]
        assert counts["models"] == 2  # both model columns
        assert counts["rows"] == len(output.segments) > 0  # one row per aligned segment
    assert sum(c["ins"] for c in rendered.sections.values()) > 0  # differences highlighted
    text = "".join(rendered.text)
    assert '<script>alert("x")</script>' in text and "<b>approved</b>" in text
    assert not [t for t, _ in rendered.tags if t in ("script", "b", "img", "link", "iframe")]
    urls = set(re.findall(r"https?://[^\s\"'<>]+", dom.stdout + page.read_text("utf-8")))
    assert urls <= {URL, URL.replace("&", "&amp;")}, urls  # only the article's own

    shot = tmp_path / "shot.png"
    made = _chromium(
        binary, tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", page.as_uri()
    )
    assert made.returncode == 0, made.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1280, 1600)
    assert 20_000 < len(data) < 10_000_000
