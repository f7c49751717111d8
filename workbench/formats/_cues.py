"""What SRT and WebVTT share: cues kept line by line, sentence groups, and cue text re-wrapping.

A subtitle file is read as chunks separated by blank lines. A cue chunk becomes a ``Cue``: its
head (the blank lines before it, the number or identifier line and the timing line, verbatim)
and its text lines (leading tags such as ``<i>`` and whitespace kept verbatim as a prefix,
closing tags and whitespace as a suffix, and each line's ending). Everything else (a WebVTT
header, NOTE, STYLE and REGION blocks, trailing blank lines) is a verbatim block. So rendering
without translations gives the input back byte for byte, and a translation changes cue text
only: numbers, identifiers, timings and settings are never touched.

Consecutive cues whose text runs on (no sentence end) form one ``CueGroup``, one translatable
block, so a sentence split over cues reaches the model whole. Rendering splits the translation
back over the group's cues in proportion to the source cues' lengths, at word boundaries (or
between characters in Chinese and Japanese), then wraps each cue to ``MAX_LINE`` characters.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.documents import Block, Document, Lines, _is_wide, has_letter, rewrap
from workbench.errors import InputError

#: The longest cue line a translation is wrapped to, in characters (the usual subtitle limit).
MAX_LINE = 42
#: Lines per cue a translation is wrapped to where the text fits; longer text takes more lines.
MAX_LINES = 2
#: The longest pause, in seconds, across which a cue's unfinished sentence runs into the next.
MAX_GAP = 2.0
#: The most cues one sentence group spans: captions without punctuation stay in short groups.
MAX_GROUP = 8

# The end of a sentence: terminal punctuation, perhaps inside closing quotes or brackets.
_SENTENCE_END = re.compile(r"[.!?…。！？♪][\"'”’»)\]]*$")
# Tags that open a cue line (<i>, <v Anna>, {\an8}) and close it (</i>), kept verbatim.
_LEAD = re.compile(r"^[ \t]*(?:(?:<[^>/][^>]*>|\{\\[^}]*\})[ \t]*)*")
_TRAIL = re.compile(r"(?:[ \t]*</[^>]+>)*[ \t]*$")
# A cue that opens with a dialogue dash or a speaker tag starts a new group.
_NEW_SPEAKER = re.compile(r"^(?:[-–—]\s|<v[ .])")


@dataclass
class TextLine:
    """One line of cue text: ``prefix + text + suffix + ending`` is the line verbatim."""

    prefix: str
    text: str
    suffix: str
    ending: str


@dataclass
class Cue:
    """A cue: its verbatim head (blank lines before it, number or identifier, timing line)
    and its text lines; ``start`` and ``end`` in seconds, ``line`` where it starts (1-based)."""

    head: str
    lines: list[TextLine]
    start: float
    end: float
    line: int

    @property
    def text(self) -> str:
        return " ".join(t.text for t in self.lines if t.text)


@dataclass
class CueGroup(Block):
    """Consecutive cues whose text is one run of sentences: one block, rendered cue by cue."""

    cues: list[Cue] = field(default_factory=list)

    def render_cues(self, text: str | None, newline: str) -> str:
        """The group verbatim, or with ``text`` spread over its cues and wrapped."""
        if text is None:
            return "".join(cue.head + _verbatim(cue.lines) for cue in self.cues)
        # An arrow in cue text would read as the next cue's timing line (WebVTT forbids it).
        text = text.replace("-->", "->")
        parts = split_over(text, [len(cue.text) for cue in self.cues])
        return "".join(
            cue.head + _render_text(cue.lines, wrap(part) if part.strip() else [], newline)
            for cue, part in zip(self.cues, parts, strict=True)
        )


def _verbatim(lines: list[TextLine]) -> str:
    return "".join(t.prefix + t.text + t.suffix + t.ending for t in lines)


def _render_text(source: list[TextLine], lines: list[str], newline: str) -> str:
    """``lines`` in place of a cue's text lines, line by line when their number is the same;
    the last keeps the last line's ending (``''`` at the end of a file)."""
    if not source:
        return "".join(line + newline for line in lines)
    inner = next((t.ending for t in source if t.ending), newline)
    same = len(lines) == len(source)
    out = []
    for i, line in enumerate(lines):
        last = i == len(lines) - 1
        if same:
            pre, suf = source[i].prefix, source[i].suffix
        else:
            # Lines moved: the cue's tags go around all of its text, so each one still closes.
            pre = "".join(t.prefix.strip(" \t") for t in source) if i == 0 else ""
            suf = "".join(t.suffix.strip(" \t") for t in source) if last else ""
        end = source[-1].ending if last else (source[i].ending if same else inner)
        out.append(pre + line + suf + end)
    return "".join(out)


# --- splitting a translation over cues and wrapping it ---------------------------------------


def _spaceless(text: str) -> bool:
    """Mostly Chinese or Japanese: lines may break between any two characters."""
    return sum(1 for ch in text if _is_wide(ch)) * 2 >= len(text) > 0


def split_over(text: str, widths: list[int]) -> list[str]:
    """``text`` in ``len(widths)`` parts in proportion to ``widths``, cut between words.

    No part is empty when the text has at least as many words (or, without spaces, characters)
    as there are parts.
    """
    parts = rewrap(text, [max(w, 1) for w in widths])
    if "" in parts and " " not in text.strip():
        # One long word (Korean or Thai written without spaces): cut between characters.
        flat = text.strip()
        if len(flat) >= len(widths):
            parts = _cut_chars(flat, widths)
    return parts


def _cut_chars(flat: str, widths: list[int]) -> list[str]:
    total, out, start, running = sum(widths), [], 0, 0
    for k, width in enumerate(widths[:-1]):
        running += width
        cut = round(len(flat) * running / total)
        cut = max(start + 1, min(cut, len(flat) - (len(widths) - k - 1)))
        out.append(flat[start:cut])
        start = cut
    return [*out, flat[start:]]


def wrap(text: str, width: int = MAX_LINE, most: int = MAX_LINES) -> list[str]:
    """A cue's text as lines of at most ``width`` characters: one line when it fits, else two
    of about equal length, else as many as needed (``most`` is a target, never a cut)."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return [flat]
    spaceless = _spaceless(flat)
    if most >= 2 and len(flat) <= 2 * width:
        # Balanced: the break that makes the longer of the two lines shortest.
        cuts = range(1, len(flat)) if spaceless else [i for i, c in enumerate(flat) if c == " "]
        best = min(
            (
                c
                for c in cuts
                if len(flat[:c].rstrip()) <= width and len(flat[c:].lstrip()) <= width
            ),
            key=lambda c: max(c, len(flat) - c),
            default=None,
        )
        if best is not None:
            return [flat[:best].rstrip(), flat[best:].lstrip()]
    if spaceless:
        return [flat[i : i + width] for i in range(0, len(flat), width)]
    lines: list[str] = []
    current = ""
    for word in flat.split(" "):
        while len(word) > width:  # a word longer than a line: cut it, nothing else fits
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


# --- reading ---------------------------------------------------------------------------------


def split_text_line(content: str, ending: str) -> TextLine:
    """A cue line with its opening and closing tags and whitespace set apart."""
    lead = _LEAD.match(content)
    start = lead.end() if lead else 0
    trail = _TRAIL.search(content, start)
    stop = trail.start() if trail else len(content)
    return TextLine(content[:start], content[start:stop], content[stop:], ending)


@dataclass
class Chunk:
    """The lines of one blank-line-separated chunk and the blank lines before it."""

    blank: Lines
    lines: Lines
    first: int  # 0-based index of its first non-blank line


def chunks(lines: Lines) -> tuple[list[Chunk], Lines]:
    """The chunks of a file, and the blank lines after the last one."""
    out: list[Chunk] = []
    blank: Lines = []
    current: Lines = []
    first = 0
    for k, (content, ending) in enumerate(lines):
        if content.strip():
            if not current:
                first = k
            current.append((content, ending))
            continue
        if current:
            out.append(Chunk(blank, current, first))
            blank, current = [], []
        blank.append((content, ending))
    if current:
        out.append(Chunk(blank, current, first))
        blank = []
    return out, blank


def verbatim_block(kind: str, lines: Lines) -> Block:
    """Lines kept as they are and never translated (a header, a NOTE, blank lines)."""
    return Block(
        kind,
        "",
        [c for c, _ in lines],
        translatable=False,
        prefixes=[""] * len(lines),
        suffixes=[""] * len(lines),
        endings=[e for _, e in lines],
    )


def joined(lines: Lines) -> str:
    return "".join(c + e for c, e in lines)


def _ends_sentence(text: str) -> bool:
    return not text or bool(_SENTENCE_END.search(text.rstrip()))


def group(cues: list[Cue]) -> list[CueGroup]:
    """Cues in sentence groups: a cue whose text does not end a sentence runs into the next
    one, when that one follows within ``MAX_GAP`` seconds and opens no new speaker's line."""
    groups: list[list[Cue]] = []
    for cue in cues:
        last = groups[-1][-1] if groups else None
        joins = (
            last is not None
            and has_letter(last.text)
            and has_letter(cue.text)
            and not _ends_sentence(last.text)
            and 0 <= cue.start - last.end <= MAX_GAP
            and len(groups[-1]) < MAX_GROUP
            and not _NEW_SPEAKER.match(cue.lines[0].prefix.lstrip() + cue.lines[0].text)
        )
        if joins:
            groups[-1].append(cue)
        else:
            groups.append([cue])
    out = []
    for members in groups:
        lines = [t.text for cue in members for t in cue.lines]
        out.append(
            CueGroup(
                "paragraph",  # cue text is the body: summaries and language detection read it
                "",
                lines,
                translatable=has_letter("".join(lines)),
                cues=members,
            )
        )
    return out


def render(doc: Document, texts: list[str] | None) -> str:
    """A subtitle document as text, with ``texts`` (one per translatable group) when given."""
    wanted = sum(1 for block in doc.blocks if block.translatable)
    if texts is not None and len(texts) != wanted:
        raise ValueError(f"expected {wanted} texts, got {len(texts)}")
    replacements = iter(texts or ())
    out = ["\ufeff"] if doc.bom else []
    for block in doc.blocks:
        if isinstance(block, CueGroup):
            text = next(replacements) if texts is not None and block.translatable else None
            out.append(block.render_cues(text, doc.newline))
        else:
            out.append(block.render_lines(block.lines, doc.newline))
    return "".join(out)


def cross_check(
    name: str, what: str, cues: list[Cue], library: Callable[[], list[tuple[float, float]]]
) -> None:
    """Refuse a file the format's library reads differently (other cues or timings)."""
    try:
        theirs = library()
    except Exception as exc:  # the library's own parse error, in one line
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(name, f"is not a valid {what} file ({detail[:200]})") from None
    ours = [(round(c.start, 3), round(c.end, 3)) for c in cues]
    theirs = [(round(a, 3), round(b, 3)) for a, b in theirs]
    if ours != theirs:
        at = next(
            (i for i, pair in enumerate(zip(ours, theirs, strict=False)) if pair[0] != pair[1]),
            None,
        )
        where = f"cue {at + 1} (line {cues[at].line})" if at is not None else "its cue count"
        raise InputError(name, f"is not a valid {what} file: the cues disagree at {where}")


def library(name: str, module: str, source: str) -> Any:
    """The parsing library ``module``, imported on first use; a one-line error without it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(
            source,
            f"reading {name} files needs the {module!r} package; install it with "
            "pip install 'workbench[formats]'",
        ) from None


def timing_error(name: str, k: int, found: str, example: str) -> InputError:
    """A line that should be a timing line and is not (a garbled arrow, a missing one)."""
    shown = found if len(found) <= 60 else found[:57] + "..."
    return InputError(
        name, f"line {k + 1}: expected a timing line like {example!r}, found {shown!r}"
    )


def check_times(name: str, k: int, start: float, end: float, shown: str) -> None:
    if end < start:
        raise InputError(name, f"line {k + 1}: the cue ends before it starts ({shown.strip()})")
