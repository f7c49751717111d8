"""SubRip subtitles (``.srt``): numbered cues with timing lines; only cue text is translated.

The ``srt`` library validates the file (``srt.parse``), but its ``compose`` writes cues in its
own normal form (numbering, time format, line endings), so the original lines are kept here
(``_cues``): cue numbers and timing lines come out byte-identical, and a file is refused when
this reading and the library's disagree on its cues and timings.
"""

from __future__ import annotations

import re

from workbench.documents import Block, Document, Lines, build
from workbench.errors import InputError
from workbench.formats import Format, _cues

# HH:MM:SS,mmm --> HH:MM:SS,mmm, perhaps followed by SubRip's position coordinates.
_TIME = r"(\d{1,3}):([0-5]\d):([0-5]\d)[,.](\d{1,3})"
TIMING = re.compile(rf"^[ \t]*{_TIME}[ \t]*-->[ \t]*{_TIME}(?:[ \t]+.*)?[ \t]*$")
_NUMBER = re.compile(r"^[ \t]*\d+[ \t]*$")
_EXAMPLE = "00:00:01,000 --> 00:00:04,000"


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def read_cues(lines: Lines, name: str) -> tuple[list[Block], list[_cues.Cue]]:
    """The blocks of an SRT file and its cues; InputError names the first line that is wrong."""
    found, tail = _cues.chunks(lines)
    if not found:
        raise InputError(name, "has no subtitle cues (a number, a timing line, then text)")
    cues: list[_cues.Cue] = []
    for chunk in found:
        k = chunk.first
        number = chunk.lines[0][0]
        if not _NUMBER.match(number):
            if TIMING.match(number):
                raise InputError(name, f"line {k + 1}: the cue has no number before its timing")
            shown = number.strip()[:40]
            raise InputError(name, f"line {k + 1}: expected a cue number, found {shown!r}")
        if len(chunk.lines) < 2:
            raise InputError(name, f"line {k + 1}: cue {number.strip()} has no timing line")
        timing = TIMING.match(chunk.lines[1][0])
        if not timing:
            raise _cues.timing_error(name, k + 1, chunk.lines[1][0], _EXAMPLE)
        start, end = _seconds(*timing.groups()[:4]), _seconds(*timing.groups()[4:])
        _cues.check_times(name, k + 1, start, end, chunk.lines[1][0])
        text = chunk.lines[2:]
        for j, (content, _) in enumerate(text):
            at = k + 3 + j  # 1-based line number
            starts_cue = (
                _NUMBER.match(content) and j + 1 < len(text) and TIMING.match(text[j + 1][0])
            )
            if TIMING.match(content) or starts_cue:
                raise InputError(name, f"line {at}: a cue starts without a blank line before it")
        cues.append(
            _cues.Cue(
                head=_cues.joined(chunk.blank) + _cues.joined(chunk.lines[:2]),
                lines=[_cues.split_text_line(c, e) for c, e in text],
                start=start,
                end=end,
                line=k + 1,
            )
        )
    blocks: list[Block] = list(_cues.group(cues))
    if tail:
        blocks.append(_cues.verbatim_block("blank", tail))
    return blocks, cues


class Srt(Format[Document]):
    """SubRip subtitles: cue numbers and timings verbatim, sentences translated across cues."""

    name = "srt"
    suffixes = (".srt",)
    inline_markup = False
    summary_suffix = ".txt"

    def parse(self, text: str, source: str | None = None) -> Document:
        name = source or "input"
        library = _cues.library("SRT", "srt", name)

        def read(lines: Lines) -> list[Block]:
            blocks, cues = read_cues(lines, name)
            body = text.removeprefix("\ufeff")
            _cues.cross_check(
                name,
                "SRT",
                cues,
                lambda: [
                    (s.start.total_seconds(), s.end.total_seconds()) for s in library.parse(body)
                ],
            )
            return blocks

        return build(text, self.name, read, source)

    def render(self, doc: Document, texts: list[str] | None = None) -> str:
        return _cues.render(doc, texts)


FORMAT = Srt()
