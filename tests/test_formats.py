"""Input formats: the registry, byte-identical round trips, and a format added in one place
running through the whole pipeline (API, folder runs, provenance, manifest, refusals)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO, SEEDS
from tests.helpers import expected_segments, manifest
from workbench import Workbench, WorkbenchError, formats
from workbench.cli.app import app
from workbench.documents import Block, Document, build, has_letter, parse, read_document
from workbench.errors import InputError
from workbench.formats import Format
from workbench.runs.folder import translate_paths
from workbench.settings import RunSettings, TranslateOptions

runner = CliRunner()
# Formats that refuse text that is not theirs (timings are required), read in test_subtitles.py.
SUBTITLES = ("srt", "vtt")

# --- a format of the tests' own: one paragraph per line ---------------------------------------

# "# Title", "[00:12] cue text" (the time stays verbatim) or a plain line; blank lines kept.
_CUE = re.compile(r"^(\[\d\d:\d\d\] )|^(# )")


class Lines(Format[Document]):
    """One paragraph per line; ``# `` opens the title, ``[mm:ss] `` a timed cue."""

    name = "lines"
    suffixes = (".lines",)
    inline_markup = False

    def parse(self, text: str, source: str | None = None) -> Document:
        def read(lines: list[tuple[str, str]]) -> list[Block]:
            blocks = []
            for content, ending in lines:
                m = _CUE.match(content)
                prefix = m.group(0) if m else ""
                body = content[len(prefix) :]
                kind = "title" if prefix == "# " else "paragraph" if body.strip() else "blank"
                blocks.append(
                    Block(
                        kind,
                        prefix,
                        [body],
                        translatable=kind != "blank" and has_letter(body),
                        prefixes=[prefix],
                        suffixes=[""],
                        endings=[ending],
                    )
                )
            return blocks

        return build(text, self.name, read, source)

    def render(self, doc: Document, texts: list[str] | None = None) -> str:
        return doc.render_blocks(texts)


LINES_TEXT = (
    "# The council approves the harbour budget\n"
    "\n"
    "[00:01] The council met on Monday to discuss the new ferry.\n"
    "[00:07] Residents welcomed the decision after a long meeting.\n"
    "Farmers delayed the bridge plan until the spring.\n"
    "[00:15] 2026\n"
)


@pytest.fixture
def lines_format() -> Iterator[Format[Document]]:
    fmt = formats.register(Lines())
    try:
        yield fmt
    finally:
        formats.unregister(fmt.name)


def cli(*args: str):
    return runner.invoke(app, list(args))


def model_args(model: Path) -> list[str]:
    return ["--model", str(model), "--beams", "1", "--backend", "torch", "--no-cache"]


def assert_lines_kept(source: str, translated: str) -> None:
    """Same lines; titles, cue times, blank and letterless lines byte-identical; text changed."""
    src, out = source.splitlines(keepends=True), translated.splitlines(keepends=True)
    assert len(out) == len(src)
    for a, b in zip(src, out, strict=True):
        m = _CUE.match(a)
        prefix = m.group(0) if m else ""
        assert b.startswith(prefix) and b.endswith("\n")
        if not has_letter(a):
            assert a == b  # blank lines and "[00:15] 2026"
        else:
            assert b[len(prefix) :].strip()


# --- the registry ---------------------------------------------------------------------------


def test_built_in_formats_keep_their_names_suffixes_and_flags() -> None:
    # article (web pages, extracted) has no suffixes: it is chosen by name only, and listed last.
    names = ["txt", "html", "md", "srt", "vtt", "docx", "article"]
    assert [f.name for f in formats.all_formats()] == names
    assert formats.suffixes() == (
        ".txt", ".html", ".htm", ".md", ".markdown", ".srt", ".vtt", ".docx"
    )  # fmt: skip
    assert not formats.get("article").suffixes and not formats.get("article").lossless
    assert formats.either() == ".txt, .html, .md, .srt, .vtt or .docx"
    assert formats.for_path("clip.SRT") is formats.get("srt")
    assert formats.get("srt").summary_suffix == ".txt" and formats.get("md").summary_suffix is None
    assert formats.get("md").inline_markup and not formats.get("txt").inline_markup
    assert formats.for_path("news/A.MARKDOWN") is formats.get("md")
    assert formats.for_path("notes") is None and formats.for_path("page.odt") is None
    assert formats.for_path("report.DOCX") is formats.get("docx") and formats.get("docx").binary
    assert formats.for_path("page.HTM") is formats.get("html") and formats.get("html").inline_markup
    assert formats.get("html").summary_suffix == ".txt"
    assert parse("# T\n").format is formats.get(formats.DEFAULT)
    with pytest.raises(WorkbenchError, match="unknown format 'odt'; the formats are txt, html, md"):
        formats.get("odt")


def test_formats_are_found_on_first_use_not_at_import() -> None:
    code = (
        "import sys, workbench.documents, workbench.formats as f\n"
        "assert not [m for m in sys.modules if m.startswith('workbench.formats.')], sys.modules\n"
        "f.suffixes()\n"
        "assert 'workbench.formats.markdown' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_a_new_module_in_the_package_is_a_new_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding a format is adding one file: the scan finds it with nothing else changed."""
    (tmp_path / "shout.py").write_text(
        textwrap.dedent(
            """
            from workbench.formats.txt import Text

            class Shout(Text):
                name = "shout"
                suffixes = (".shout",)

            FORMAT = Shout()
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.setattr(formats, "__path__", [*formats.__path__, str(tmp_path)])
    monkeypatch.setattr(formats, "_formats", None)  # scanned again on next use
    try:
        assert formats.suffixes() == (
            ".txt", ".html", ".htm", ".md", ".markdown", ".shout", ".srt", ".vtt", ".docx"
        )  # fmt: skip
        path = tmp_path / "a.shout"
        path.write_text("Title\n\nBody text.\n", encoding="utf-8")
        doc = read_document(path)
        assert doc.fmt == "shout" and doc.render() == "Title\n\nBody text.\n"
    finally:
        sys.modules.pop("workbench.formats.shout", None)


def test_register_refuses_clashes_and_unregister_removes(lines_format: Format) -> None:
    assert formats.get("lines") is lines_format
    assert formats.for_path("a.lines") is lines_format
    assert formats.suffixes()[-1] == ".lines"
    assert formats.either() == ".txt, .html, .md, .srt, .vtt, .docx or .lines"
    with pytest.raises(ValueError, match="already registered"):
        formats.register(Lines())

    class Other(Lines):
        name = "other"
        suffixes = (".other", ".md")

    with pytest.raises(ValueError, match=r"'md' already reads \.md"):
        formats.register(Other())
    formats.unregister("lines")
    assert formats.for_path("a.lines") is None
    formats.register(lines_format)  # the fixture removes it again


# --- round trips ----------------------------------------------------------------------------

# Every article: the seeds and the test corpus (tests/data/quality holds check cases, not articles).
ARTICLES = sorted(
    p for p in [*SEEDS.rglob("*"), *(REPO / "tests" / "data" / "corpus").rglob("*")] if p.is_file()
)


@pytest.mark.parametrize("path", ARTICLES, ids=[str(p.relative_to(REPO)) for p in ARTICLES])
def test_every_article_renders_back_byte_for_byte(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    fmt = formats.for_path(path)
    assert fmt is not None, path
    assert fmt.render(fmt.parse(text)) == text
    assert read_document(path).render() == text
    for other in formats.all_formats():  # any article reads in any format but subtitles
        if not other.lossless:
            continue  # a format that extracts an article from a page (article.py)
        if other.binary:  # a Word file is bytes: text is refused in one line
            with pytest.raises(InputError, match="read from its file"):
                other.parse(text)
            continue
        if other.name in SUBTITLES:
            with pytest.raises(InputError, match=r"line 1: expected a cue number|'WEBVTT'"):
                other.parse(text)
            continue
        doc = other.parse(text)
        assert doc.fmt == other.name and other.render(doc) == text
        assert other.render(doc, doc.translatable_texts()).count("\n") == text.count("\n")


def test_the_test_format_renders_back_byte_for_byte(lines_format: Format) -> None:
    for text in (LINES_TEXT, LINES_TEXT.replace("\n", "\r\n"), "\ufeff# T\nno ending"):
        doc = lines_format.parse(text)
        assert doc.render() == text
    assert [b.kind for b in lines_format.parse(LINES_TEXT).blocks] == [
        "title",
        "blank",
        "paragraph",
        "paragraph",
        "paragraph",
        "paragraph",
    ]


# --- the test format through the pipeline --------------------------------------------------


def test_api_translates_a_file_of_a_registered_format(
    tiny, tmp_path: Path, lines_format: Format
) -> None:
    path = tmp_path / "cues.lines"
    path.write_text(LINES_TEXT, encoding="utf-8")
    wb = Workbench(cache=False, beams=1, run=RunSettings(backend="torch"))
    model = str(tiny("marian-multi"))
    result = wb.translate(path, to="uk", src="en", model=model)
    assert result.error is None and result.text is not None and result.text != LINES_TEXT
    assert_lines_kept(LINES_TEXT, result.text)
    # One segment per sentence of the translatable lines.
    doc = read_document(path)
    assert doc.format is lines_format
    assert [s.source for s in result.segments] == expected_segments(doc, "en")
    assert len(result.segments) == 4
    # The same text handed over with the format's name gives the same translation.
    assert wb.translate(LINES_TEXT, to="uk", src="en", model=model, fmt="lines").text == (
        result.text
    )


def test_folder_run_mirrors_a_registered_format(tiny, tmp_path: Path, lines_format: Format) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "cues.lines").write_text(LINES_TEXT, encoding="utf-8")
    (src / "notes.sub").write_text("{1}{25}Hi\n", encoding="utf-8")
    out = tmp_path / "out"
    wb = Workbench(cache=False, beams=1, run=RunSettings(backend="torch"))
    options = TranslateOptions(("uk",), src="en", model=str(tiny("marian-multi")))
    report = translate_paths(wb, [str(src)], options, out=out)
    assert [Path(p).name for p in report.ignored] == ["notes.sub"]
    target = out / "sub" / "cues.uk.lines"
    assert_lines_kept(LINES_TEXT, target.read_text("utf-8"))
    prov = json.loads(target.with_name(target.name + ".json").read_text("utf-8"))
    assert prov["source_lang"] == "en" and prov["target_lang"] == "uk"
    assert prov["signature"].startswith("translate|model:marian-multi@")
    (row,) = manifest(out)
    assert Path(row["input"]).name == "cues.lines" and Path(row["output"]) == target
    assert not row["error"]


def test_cli_reads_a_registered_format_and_refuses_an_unregistered_one(
    tiny, tmp_path: Path, lines_format: Format
) -> None:
    good = tmp_path / "cues.lines"
    good.write_text(LINES_TEXT, encoding="utf-8")
    bad = tmp_path / "cues.subs"
    bad.write_text(LINES_TEXT, encoding="utf-8")
    out = tmp_path / "out"
    res = cli(
        "translate", str(good), str(bad), "--to", "uk", "--from", "en", "--out", str(out),
        *model_args(tiny("marian-multi")),
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    assert_lines_kept(LINES_TEXT, (out / "cues.uk.lines").read_text("utf-8"))
    (line,) = [x for x in res.stderr.splitlines() if "cues.subs" in x]
    assert (
        "is a .subs file; workbench reads .txt, .html, .htm, .md, .markdown, .srt, .vtt, .docx, .lines files"
        in line
    )
    assert not (out / "cues.uk.subs").exists() and not (out / "cues.uk.txt").exists()
    rows = {Path(r["input"]).name: r for r in manifest(out)}
    assert rows["cues.subs"]["error"] and not rows["cues.lines"]["error"]


def test_an_unregistered_suffix_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "cues.lines"
    path.write_text(LINES_TEXT, encoding="utf-8")
    out = tmp_path / "out"
    res = cli("summarise", str(path), "--model", "lead", "--from", "en", "--out", str(out))
    assert res.exit_code == 1, res.output
    (line,) = [x for x in res.stderr.splitlines() if "cues.lines" in x]
    assert (
        "is a .lines file; workbench reads .txt, .html, .htm, .md, .markdown, .srt, .vtt, .docx files only"
        in line
    )


def test_lead_summary_of_a_registered_format(tmp_path: Path, lines_format: Format) -> None:
    path = tmp_path / "cues.lines"
    path.write_text(LINES_TEXT, encoding="utf-8")
    out = tmp_path / "out"
    res = cli("summarise", str(path), "--model", "lead", "--from", "en", "--out", str(out))
    assert res.exit_code == 0, res.output
    summary = (out / "cues.summary.en.lines").read_text("utf-8")
    assert "The council met on Monday" in summary
