"""WebVTT subtitles (``.vtt``): the header, NOTE, STYLE and REGION blocks, cue identifiers,
timings and cue settings are kept verbatim; only cue text is translated.

The ``webvtt-py`` library validates the file (``webvtt.from_string``), but writing through it
would not keep the original bytes (comments, spacing, line endings), so the original lines are
kept here (``_cues``), and a file is refused when this reading and the library's disagree on
its cues and timings.
"""

from __future__ import annotations

import re

from workbench.documents import Block, Document, Lines, build
from workbench.errors import InputError
from workbench.formats import Format, _cues

_TIME = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
TIMING = re.compile(rf"^[ \t]*{_TIME}[ \t]+-->[ \t]+{_TIME}(?:[ \t]+.*)?$")
_TIMED = re.compile(r"^[ \t]*(?:\d+:)?\d+:\d+[.,]\d+")
_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")
# Blocks that are not cues: comments, style sheets and regions (the last only in the header
# part of a file, but kept wherever they stand).
_OTHER = {"NOTE": "note", "STYLE": "style", "REGION": "region"}
_OTHER_START = re.compile(r"^(NOTE|STYLE|REGION)(?:[ \t]|$)")
_EXAMPLE = "00:00:01.000 --> 00:00:04.000"


def _seconds(h: str | None, m: str, s: str, ms: str) -> float:
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def _stamp(text: str) -> float:
    """Seconds of a library timestamp (``00:00:01.000``)."""
    *rest, sec = text.split(":")
    h, m = (["0", *rest] if len(rest) == 1 else rest)[-2:]
    return int(h) * 3600 + int(m) * 60 + float(sec)


def read_cues(lines: Lines, name: str) -> tuple[list[Block], list[_cues.Cue]]:
    """The blocks of a WebVTT file and its cues; InputError names the first line that is wrong."""
    found, tail = _cues.chunks(lines)
    if not found or found[0].blank or not _HEADER.match(found[0].lines[0][0]):
        raise InputError(name, "does not start with a 'WEBVTT' line; it is not a WebVTT file")
    header = found[0]
    for j, (content, _) in enumerate(header.lines[1:]):
        if "-->" in content:
            raise InputError(name, f"line {j + 2}: a cue starts without a blank line before it")
    blocks: list[Block] = [_cues.verbatim_block("header", header.lines)]
    run: list[_cues.Cue] = []  # cues since the last block that is not one
    cues: list[_cues.Cue] = []
    for chunk in found[1:]:
        k = chunk.first
        first = chunk.lines[0][0]
        other = _OTHER_START.match(first)
        if other and "-->" not in first:
            blocks.extend(_cues.group(run))
            run = []
            blocks.append(_cues.verbatim_block(_OTHER[other.group(1)], chunk.blank + chunk.lines))
            continue
        # An identifier line may come before the timing; a line that starts with a time is a
        # timing line, however garbled its arrow.
        t = 0 if "-->" in first or _TIMED.match(first) else 1
        if t >= len(chunk.lines):
            shown = first.strip()[:40]
            raise InputError(name, f"line {k + 1}: {shown!r} is followed by no timing line")
        timing = TIMING.match(chunk.lines[t][0])
        if not timing:
            raise _cues.timing_error(name, k + t, chunk.lines[t][0], _EXAMPLE)
        start, end = _seconds(*timing.groups()[:4]), _seconds(*timing.groups()[4:])
        _cues.check_times(name, k + t, start, end, chunk.lines[t][0])
        text = chunk.lines[t + 1 :]
        for j, (content, _) in enumerate(text):
            if "-->" in content:  # cue text cannot hold an arrow: the next cue's timing
                raise InputError(
                    name, f"line {k + t + j + 2}: a cue starts without a blank line before it"
                )
        cue = _cues.Cue(
            head=_cues.joined(chunk.blank) + _cues.joined(chunk.lines[: t + 1]),
            lines=[_cues.split_text_line(c, e) for c, e in text],
            start=start,
            end=end,
            line=k + 1,
        )
        run.append(cue)
        cues.append(cue)
    blocks.extend(_cues.group(run))
    if tail:
        blocks.append(_cues.verbatim_block("blank", tail))
    return blocks, cues


class WebVtt(Format[Document]):
    """WebVTT subtitles: everything but cue text verbatim, sentences translated across cues."""

    name = "vtt"
    suffixes = (".vtt",)
    inline_markup = False
    summary_suffix = ".txt"

    def parse(self, text: str, source: str | None = None) -> Document:
        name = source or "input"
        library = _cues.library("WebVTT", "webvtt", name)

        def read(lines: Lines) -> list[Block]:
            blocks, cues = read_cues(lines, name)
            _cues.cross_check(
                name,
                "WebVTT",
                cues,
                lambda: [
                    (_stamp(c.start), _stamp(c.end))
                    for c in library.from_string(text.removeprefix("\ufeff")).captions
                ],
            )
            return blocks

        return build(text, self.name, read, source)

    def render(self, doc: Document, texts: list[str] | None = None) -> str:
        return _cues.render(doc, texts)


FORMAT = WebVtt()
