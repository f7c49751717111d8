"""What every check shares: the flag it raises, severities, scripts and tokens."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

#: Severities, most serious first. ``error`` and ``warning`` make a flagged verdict.
SEVERITIES = ("error", "warning", "info")
#: Verdicts: nothing worth a look, or at least one error or warning.
PASS, FLAG = "pass", "flag"


@dataclass(frozen=True)
class Flag:
    """One finding of one check: what, how serious, why, and where (a segment index, or None
    for the whole document)."""

    check: str
    severity: str
    reason: str
    segment: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verdict(flags: list[Flag] | list[dict[str, Any]]) -> str:
    """``flag`` when any flag is an error or a warning, else ``pass``."""
    for f in flags:
        severity = f["severity"] if isinstance(f, dict) else f.severity
        if severity in ("error", "warning"):
            return FLAG
    return PASS


def script_of(lang: str) -> str | None:
    """The ISO 15924 script a language is written in (``Cyrl``, ``Hang``, ``Latn``), read from
    its NLLB code; None for a language workbench does not know."""
    from workbench.languages import LANGUAGES

    entry = LANGUAGES.get(lang)
    return entry.nllb.rsplit("_", 1)[-1] if entry else None


#: Unicode character-name prefixes of each script (``unicodedata.name``).
_SCRIPT_NAMES = {
    "Latn": ("LATIN",),
    "Cyrl": ("CYRILLIC",),
    "Hang": ("HANGUL",),
    "Grek": ("GREEK",),
    "Arab": ("ARABIC",),
    "Hebr": ("HEBREW",),
    "Deva": ("DEVANAGARI",),
    "Beng": ("BENGALI",),
    "Geor": ("GEORGIAN",),
    "Thai": ("THAI",),
    "Jpan": ("CJK", "HIRAGANA", "KATAKANA"),
    "Hans": ("CJK",),
}


def in_script(ch: str, script: str) -> bool:
    """Whether the letter ``ch`` belongs to ``script``."""
    return unicodedata.name(ch, "").startswith(_SCRIPT_NAMES.get(script, ("?",)))


def letter_count(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


#: URLs (with a scheme or www.), e-mail addresses and inline code spans. Hangul, CJK and
#: full-width forms end a URL (Korean glues particles to it); so do quotes and brackets.
URL = re.compile(
    r"(?:(?:https?|ftp)://|mailto:|www\.)"
    r"[^\s<>\"'`()\[\]{}\u1100-\u11ff\u3000-\u9fff\uac00-\ud7af\uff00-\uffef]+",
    re.IGNORECASE,
)
EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
CODE = re.compile(r"(?<!`)(`+)(?!`)[^\n`]+?\1(?!`)")
#: Sentence punctuation after a URL is not part of it.
URL_TRAILING = ".,;:!?*_~"


def protected_spans(text: str) -> list[str]:
    """The URLs, e-mail addresses and inline code spans of ``text``, as written."""
    found = [m.group() for m in CODE.finditer(text)]
    rest = CODE.sub(" ", text)
    for m in URL.finditer(rest):
        found.append(m.group().rstrip(URL_TRAILING))
    rest = URL.sub(" ", rest)
    found.extend(m.group() for m in EMAIL.finditer(rest))
    return found


def without_protected(text: str) -> str:
    """``text`` with its URLs, e-mail addresses and code spans blanked out."""
    return EMAIL.sub(" ", URL.sub(" ", CODE.sub(" ", text)))
