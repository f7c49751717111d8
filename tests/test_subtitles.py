"""Subtitles (SRT and WebVTT): byte-identical round trips, only cue text translated, sentences
translated whole across cues, line limits, malformed files refused in one line each."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import manifest, run_translate_then_summarise
from workbench import Workbench, formats
from workbench.cli.app import app
from workbench.errors import InputError
from workbench.formats import _cues
from workbench.settings import RunSettings

pytest.importorskip("srt")
pytest.importorskip("webvtt")

runner = CliRunner()

SRT = (
    "1\n"
    "00:00:01,000 --> 00:00:03,000\n"
    "<i>The council met on Monday</i>\n"
    "to discuss\n"
    "\n"
    "2\n"
    "00:00:03,500 --> 00:00:05,000\n"
    "the new ferry across\n"
    "\n"
    "3\n"
    "00:00:05,200 --> 00:00:07,000\n"
    "the harbour.\n"
    "\n"
    "4\n"
    "00:00:08,000 --> 00:00:09,000\n"
    "♪♪\n"
    "\n"
    "5\n"
    "00:00:10,000 --> 00:00:12,500\n"
    "Residents welcomed the decision.\n"
    "Farmers asked for more time.\n"
)

VTT = (
    "WEBVTT - harbour news\n"
    "Kind: captions\n"
    "Language: en\n"
    "\n"
    "STYLE\n"
    "::cue { color: yellow }\n"
    "\n"
    "REGION\n"
    "id:fred\n"
    "width:40%\n"
    "\n"
    "NOTE the first two cues are one sentence\n"
    "\n"
    "intro\n"
    "00:01.000 --> 00:03.000 align:start line:90%\n"
    "<v Anna>The council met on Monday\n"
    "\n"
    "00:03.500 --> 00:05.000 position:10%\n"
    "to discuss the new ferry.\n"
    "\n"
    "NOTE\n"
    "a comment over\n"
    "two lines\n"
    "\n"
    "3\n"
    "01:00:05.200 --> 01:00:07.000\n"
    "Residents welcomed the decision\n"
    "after a long meeting.\n"
)

TIMING = re.compile(r"^.*-->.*$", re.MULTILINE)


def variants(text: str) -> list[str]:
    """LF and CRLF, with and without a BOM, with and without a final line ending."""
    out = []
    for base in (text, text.replace("\n", "\r\n")):
        out += [base, "\ufeff" + base, base.rstrip("\r\n"), base + "\n\n"]
    return out


def cli(*args: str):
    return runner.invoke(app, list(args))


def heads(text: str, fmt: str) -> list[str]:
    """Everything but cue text, verbatim: numbers, identifiers, timings, settings, NOTEs."""
    doc = formats.get(fmt).parse(text)
    out = []
    for block in doc.blocks:
        if isinstance(block, _cues.CueGroup):
            out += [cue.head for cue in block.cues]
        else:
            out.append(block.render_lines(block.lines, doc.newline))
    return out


def cue_lines(text: str, fmt: str) -> list[list[str]]:
    doc = formats.get(fmt).parse(text)
    return [
        [t.prefix + t.text + t.suffix for t in cue.lines]
        for block in doc.blocks
        if isinstance(block, _cues.CueGroup)
        for cue in block.cues
    ]


# --- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "text"), [("srt", SRT), ("vtt", VTT)])
def test_round_trip_is_byte_identical(fmt: str, text: str) -> None:
    checked = 0
    for variant in variants(text):
        f = formats.get(fmt)
        doc = f.parse(variant)
        assert f.render(doc) == variant
        # Rendering the source texts back keeps every number, timing and NOTE.
        assert heads(f.render(doc, doc.translatable_texts()), fmt) == heads(variant, fmt)
        checked += 1
    assert checked == 8


def test_cues_group_into_sentences() -> None:
    srt = formats.get("srt").parse(SRT)
    assert [(b.kind, b.translatable, len(b.cues)) for b in srt.blocks] == [
        ("paragraph", True, 3),  # one sentence over three cues
        ("paragraph", False, 1),  # ♪♪
        ("paragraph", True, 1),
    ]
    assert srt.translatable_texts()[0] == (
        "The council met on Monday to discuss the new ferry across the harbour."
    )
    vtt = formats.get("vtt").parse(VTT)
    assert [b.kind for b in vtt.blocks] == [
        "header",
        "style",
        "region",
        "note",
        "paragraph",
        "note",
        "paragraph",
    ]
    assert vtt.translatable_texts()[0] == "The council met on Monday to discuss the new ferry."


def test_a_long_pause_or_a_new_speaker_ends_a_group() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nThe council met\n\n"
        "2\n00:00:06,000 --> 00:00:07,000\non Monday\n\n"
        "3\n00:00:07,100 --> 00:00:08,000\n- and then\n"
    )
    assert len(formats.get("srt").parse(text).translatable_texts()) == 3


def test_translation_is_spread_over_the_cues_and_wrapped() -> None:
    f = formats.get("srt")
    doc = f.parse(SRT)
    long = "Рада зібралася в понеділок, щоб обговорити новий пором через гавань " * 2
    out = f.render(doc, [long.strip(), "Мешканці привітали рішення. Фермери просили часу."])
    assert TIMING.findall(out) == TIMING.findall(SRT)
    lines = cue_lines(out, "srt")
    assert len(lines) == 5 and all(lines)  # no cue left empty
    assert all(len(line) <= _cues.MAX_LINE + len("<i></i>") for cue in lines for line in cue)
    assert all(len(cue) <= _cues.MAX_LINES for cue in lines)
    # Two lines for two: each keeps its own tags (the first was in italics)
    assert lines[0][0].startswith("<i>") and lines[0][0].endswith("</i>")
    assert "<i>" not in lines[0][1]
    assert lines[3] == ["♪♪"]
    # An arrow in a translation cannot turn cue text into a timing line.
    arrow = f.render(doc, ["a --> b", "c"])
    assert TIMING.findall(arrow) == TIMING.findall(SRT) and f.parse(arrow)
    # In proportion: the first cue held most of the source sentence, the third the least.
    sizes = [sum(map(len, cue)) for cue in lines[:3]]
    assert sizes[0] > sizes[2]


def test_chinese_is_cut_between_characters() -> None:
    parts = _cues.split_over("理事会周一开会讨论新的渡轮", [10, 10, 10])
    assert "".join(parts) == "理事会周一开会讨论新的渡轮" and all(4 <= len(p) <= 5 for p in parts)
    # Korean written without spaces, fewer "words" than cues: cut between characters too.
    assert all(_cues.split_over("시의회는월요일에만났다", [5, 5, 5]))
    assert all(len(line) <= 42 for line in _cues.wrap("理事会" * 20))
    assert _cues.split_over("one two", [5, 5, 5]) == ["one", "two", ""]  # fewer words than cues


def test_wrap_balances_two_lines_and_respects_the_limit() -> None:
    text = "Residents welcomed the decision after a long meeting in the town hall"
    lines = _cues.wrap(text)
    assert len(lines) == 2 and all(len(line) <= 42 for line in lines)
    assert abs(len(lines[0]) - len(lines[1])) < 12
    assert _cues.wrap("Short line.") == ["Short line."]
    many = _cues.wrap("word " * 40)
    assert len(many) > 2 and all(len(line) <= 42 for line in many)
    assert _cues.wrap("x" * 100) == ["x" * 42, "x" * 42, "x" * 16]


# --- malformed files ------------------------------------------------------------------------

CUE2 = "2\n00:00:03,000 --> 00:00:04,000\nThere.\n"
MALFORMED_SRT = {
    "reversed": ("1\n00:00:05,000 --> 00:00:02,000\nHi.\n", "line 2: the cue ends before"),
    "arrow": ("1\n00:00:01,000 -> 00:00:02,000\nHi.\n", "line 2: expected a timing line"),
    "arrow2": ("1\n00:00:01,000 --- 00:00:02,000\nHi.\n", "line 2: expected a timing line"),
    "no_blank": ("1\n00:00:01,000 --> 00:00:02,000\nHi.\n" + CUE2, "line 4: a cue starts"),
    "number": ("one\n00:00:01,000 --> 00:00:02,000\nHi.\n", "line 1: expected a cue number"),
    "no_number": ("00:00:01,000 --> 00:00:02,000\nHi.\n", "line 1: the cue has no number"),
    "no_timing": ("1\nHi.\n\n" + CUE2, "line 2: expected a timing line"),
    "lone_number": ("1\n", "line 1: cue 1 has no timing line"),
    "minutes": ("1\n00:61:00,000 --> 00:62:00,000\nHi.\n", "line 2: expected a timing line"),
    "blank_in_cue": ("1\n00:00:01,000 --> 00:00:02,000\nHi.\n\nthere\n", "line 5: expected a"),
    "empty": ("\n\n", "has no subtitle cues"),
    "prose": ("Just an article.\n", "line 1: expected a cue number"),
}
MALFORMED_VTT = {
    "no_header": ("00:01.000 --> 00:02.000\nHi.\n", "does not start with a 'WEBVTT' line"),
    "reversed": ("WEBVTT\n\n00:05.000 --> 00:02.000\nHi.\n", "line 3: the cue ends before"),
    "arrow": ("WEBVTT\n\n00:01.000 -> 00:02.000\nHi.\n", "line 3: expected a timing line"),
    "no_blank": (
        "WEBVTT\n\n00:01.000 --> 00:02.000\nHi.\n00:03.000 --> 00:04.000\nYo.\n",
        "line 5: a cue starts",
    ),
    "header_no_blank": ("WEBVTT\n00:01.000 --> 00:02.000\nHi.\n", "line 2: a cue starts"),
    "lone_id": ("WEBVTT\n\nintro\n", "line 3: 'intro' is followed by no timing line"),
    "comma": ("WEBVTT\n\n00:01,000 --> 00:02,000\nHi.\n", "line 3: expected a timing line"),
    "empty": ("", "does not start with a 'WEBVTT' line"),
}


def malformed_cases() -> list[tuple[str, str, str, str]]:
    return [(f"{k}.srt", "srt", t, m) for k, (t, m) in MALFORMED_SRT.items()] + [
        (f"{k}.vtt", "vtt", t, m) for k, (t, m) in MALFORMED_VTT.items()
    ]


def test_malformed_files_are_refused_in_one_line_each() -> None:
    tried = 0
    for name, fmt, text, message in malformed_cases():
        with pytest.raises(InputError) as info:
            formats.get(fmt).parse(text, name)
        line = str(info.value)
        assert line.startswith(f"{name}: ") and message in line, line
        assert "\n" not in line and "Traceback" not in line
        tried += 1
    assert tried == 20


def test_a_folder_run_reports_each_malformed_file_and_finishes_the_others(
    tiny, tmp_path: Path
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.srt").write_text(SRT, encoding="utf-8")
    cases = malformed_cases()
    for name, _, text, _ in cases:
        (src / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    model = str(tiny("marian-multi"))
    res = cli(
        "translate", str(src), "--to", "uk", "--from", "en", "--model", model,
        "--backend", "torch", "--beams", "1", "--no-cache", "--out", str(out),
    )  # fmt: skip
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    for name, _, _, message in cases:
        (line,) = [x for x in res.stderr.splitlines() if f"/{name}:" in x]
        # read_document refuses empty and blank files before any format sees them
        assert message in line or (name.startswith("empty") and "no text" in line), line
    assert (out / "good.uk.srt").exists()
    rows = {Path(r["input"]).name: r for r in manifest(out)}
    assert not rows["good.srt"]["error"]
    assert all(rows[name]["error"] for name, *_ in cases)


# --- through the pipeline -------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "text"), [("srt", SRT), ("vtt", VTT.replace("\n", "\r\n"))])
def test_translation_keeps_timings_and_limits(tiny, fmt: str, text: str) -> None:
    wb = Workbench(cache=False, beams=1, run=RunSettings(backend="torch"))
    result = wb.translate(text, to="uk", src="en", model=str(tiny("marian-multi")), fmt=fmt)
    assert result.error is None and result.text is not None
    out = result.text
    assert heads(out, fmt) == heads(text, fmt)  # numbers, ids, timings, settings, NOTEs
    assert TIMING.findall(out) == TIMING.findall(text)
    assert len(cue_lines(out, fmt)) == len(cue_lines(text, fmt))
    for cue in cue_lines(out, fmt):
        texts = [_cues.split_text_line(x, "").text for x in cue]
        assert all(len(x) <= _cues.MAX_LINE for x in texts)
        # Two lines at most where the text fits in two (a tiny model's text is often longer).
        assert len(cue) <= _cues.MAX_LINES or len(" ".join(texts)) > _cues.MAX_LINE * 2
    # The sentence over several cues went to the model as one segment.
    first = formats.get(fmt).parse(text).translatable_texts()[0]
    assert first in [s.source for s in result.segments]


def test_a_three_cue_sentence_is_one_segment(tiny) -> None:
    wb = Workbench(cache=False, beams=1, run=RunSettings(backend="torch"))
    result = wb.translate(SRT, to="uk", src="en", model=str(tiny("marian-multi")), fmt="srt")
    sources = [s.source for s in result.segments]
    assert sources[0] == "The council met on Monday to discuss the new ferry across the harbour."
    assert sources[1:] == ["Residents welcomed the decision.", "Farmers asked for more time."]


def test_folder_run_mirrors_subtitles_and_a_cached_rerun_is_identical(tiny, tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "clips").mkdir(parents=True)
    (src / "a.srt").write_text(SRT.replace("\n", "\r\n"), encoding="utf-8")
    (src / "clips" / "b.vtt").write_text("\ufeff" + VTT, encoding="utf-8")
    out = tmp_path / "out"
    args = [
        "translate", str(src), "--to", "uk", "--from", "en", "--model", str(tiny("marian-multi")),
        "--backend", "torch", "--beams", "1", "--out", str(out),
    ]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    a, b = out / "a.uk.srt", out / "clips" / "b.uk.vtt"
    first = {p: p.read_bytes() for p in (a, b)}
    assert heads(a.read_bytes().decode("utf-8"), "srt") == heads(SRT.replace("\n", "\r\n"), "srt")
    assert b.read_bytes().startswith("\ufeffWEBVTT".encode())
    for target in (a, b):
        prov = json.loads(target.with_name(target.name + ".json").read_text("utf-8"))
        assert prov["source_lang"] == "en" and prov["target_lang"] == "uk"
    rows = {Path(r["input"]).name: r for r in manifest(out)}
    assert Path(rows["a.srt"]["output"]) == a and Path(rows["b.vtt"]["output"]) == b
    assert not rows["a.srt"]["error"] and not rows["b.vtt"]["error"]
    for p in (a, b):
        p.unlink()
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert {p: p.read_bytes() for p in (a, b)} == first
    rows = {Path(r["input"]).name: r for r in manifest(out)}
    assert rows["a.srt"]["cache"] == rows["b.vtt"]["cache"] == "document"


def test_lead_summary_of_subtitles_is_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "clip.srt"
    path.write_text(SRT, encoding="utf-8")
    out = tmp_path / "out"
    res = cli("summarise", str(path), "--model", "lead", "--from", "en", "--out", str(out))
    assert res.exit_code == 0, res.output
    summary = (out / "clip.summary.en.txt").read_text("utf-8")
    assert "The council met on Monday to discuss the new ferry across the harbour." in summary
    assert "-->" not in summary and not (out / "clip.summary.en.srt").exists()


def test_a_subtitle_and_a_text_file_of_one_name_do_not_overwrite_summaries(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "clip.srt").write_text(SRT, encoding="utf-8")
    (src / "clip.txt").write_text("Harbour news\n\nThe council met on Monday.\n", "utf-8")
    out = tmp_path / "out"
    res = cli("summarise", str(src), "--model", "lead", "--from", "en", "--out", str(out))
    assert res.exit_code == 1, res.output
    (line,) = [x for x in res.stderr.splitlines() if "would overwrite" in x]
    assert "clip.summary.*.txt" in line
    assert (out / "clip.summary.en.txt").exists()


def test_a_job_file_translates_subtitles_then_summarises_the_translation(
    tiny, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    long_srt = SRT.replace("Farmers asked for more time.", "Farmers asked for more time to plan.")
    (tmp_path / "in" / "clip.srt").write_text(long_srt, encoding="utf-8")
    out = run_translate_then_summarise(tmp_path, tiny("marian-multi"))
    translated = (out / "clip.uk.srt").read_text("utf-8")
    assert TIMING.findall(translated) == TIMING.findall(long_srt)
    assert (out / "clip.summary.en.txt").read_text("utf-8").startswith("The council met")
    assert "-->" not in (out / "clip.summary.uk.txt").read_text("utf-8")


def test_no_cue_is_left_empty_when_there_are_words_enough() -> None:
    for cues in range(1, 7):
        for words in range(cues, 20):
            widths = [(7 * k) % 23 + 1 for k in range(cues)]
            parts = _cues.split_over(" ".join(f"w{i}" for i in range(words)), widths)
            assert len(parts) == cues and all(parts), (cues, words, parts)
