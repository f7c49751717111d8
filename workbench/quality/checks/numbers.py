"""The numbers check: the numbers of a source are in its translation; a summary's numbers are
in its article.

What is matched. A *number* is a run of ASCII digits (after NFKC, so full-width digits count)
with ``.`` or ``,`` between digit groups, wherever it stands (``3.5%``, ``$12bn``, ``COVID-19``,
``2025년``). Each number of the source becomes a requirement with a set of acceptable values,
and is met when any of them is among the values found in the output:

- separators: ``1,200`` and ``1.200`` are 1200 or 1.2 (either separator may be the decimal
  one); ``4,2`` is 4.2; ``1,234.5`` and ``1.234,5`` are 1234.5; in languages that group
  thousands with spaces (Ukrainian, Russian, French, ...) ``1 200`` (also with a no-break or
  narrow space) is 1200. Anything else with separators (``9.01.2026``, ``3.5.1``) is read as
  its digit groups, each a number of its own;
- scale words: a number followed by ``million``, ``bn``, ``тис.``, ``млн``, ``мільярдів``,
  ``만``, ``억``, ``조``, ... also stands for its scaled value, and Korean groups are added up
  (``1억 2천만`` is 120,000,000), so ``4.2 million`` is met by ``4,2 млн`` and by ``420만``;
- dates: a month name in the output (``Jan.``, ``січня``) counts as its month number, so the
  ``1`` of ``1월 9일`` is met by ``Jan. 9``; the day number itself must survive;
- clock times: an hour followed by ``p.m.`` is also met by the hour plus 12, and ``오후 3시``
  counts as 15;
- small numbers: the words for 0 to 10 (and 12) in English, Ukrainian and Korean count as
  found (``three``, ``троє``, ``세``), since translators spell small counts out.

What is not matched. Numbers written as words are never *required* (only digits are); a number
inside a URL, e-mail address or code span is left to the urls check; signs and ranges are not
read (``-5`` is 5); a change of scale word alone (``4.2 million`` to ``4.2 billion``) is not
caught, since the bare mantissa is accepted; a number that occurs twice is required once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from workbench.quality.checks.base import Flag, without_protected

NAME = "numbers"
SEVERITY = "error"

#: Languages that group thousands with spaces (``1 200``).
SPACE_GROUPED = frozenset(
    {"uk", "ru", "be", "bg", "kk", "sr", "fr", "pl", "cs", "sk", "sv", "fi", "et", "lv", "lt"}
    | {"hu", "no", "da", "de", "pt", "es", "it", "nl", "ro", "hr", "sl", "el"}
)

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SPACE_GROUPS = re.compile(r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d])")
_SPACES = re.compile(r"[ \u00a0\u202f]")

# Scale words, longest first where one is a prefix of another; matched right after a number.
_SCALES: tuple[tuple[str, int], ...] = (
    ("trillion", 12),
    ("billion", 9),
    ("million", 6),
    ("thousand", 3),
    ("трильйон", 12),
    ("трлн", 12),
    ("мільярд", 9),
    ("млрд", 9),
    ("мільйон", 6),
    ("млн", 6),
    ("тисяч", 3),
    ("тис", 3),
    ("bn", 9),
    ("tn", 12),
    ("mn", 6),
    ("m", 6),
    ("k", 3),
)
_SCALE = re.compile(
    r"\s?(" + "|".join(re.escape(w) for w, _ in _SCALES) + r")(?![^\W\d_]{0,4}[^\W\d_])",
    re.IGNORECASE,
)
_SCALE_WORDS = {w: p for w, p in _SCALES}
# Scale words that take endings ("мільйона", "thousands", "тисячі").
_INFLECTED = re.compile(
    r"\s?(trillion|billion|million|thousand|трильйон|мільярд|мільйон|тисяч)[^\W\d_]*",
    re.IGNORECASE,
)
# Korean units: an optional 천/백 (10^3, 10^2) before an optional 조/억/만 (10^12, 10^8, 10^4).
_KO_UNIT = re.compile(r"\s?(천|백)?(조|억|만)?")
_KO_SMALL = {"천": 3, "백": 2}
_KO_BIG = {"조": 12, "억": 8, "만": 4}
_PM = re.compile(r"(?::\d{2})?\s?(?:p\.\s?m\.|pm\b)", re.IGNORECASE)
_KO_PM = re.compile(r"오후\s?$")

# Month names (whole words: English capitalised, Ukrainian in its usual cases) and numbers.
_MONTH_NAMES = (
    "January Jan січень січня січні січ",
    "February Feb лютий лютого лютому лют",
    "March Mar березень березня березні бер берез",
    "April Apr квітень квітня квітні квіт",
    "May травень травня травні трав",
    "June Jun червень червня червні черв",
    "July Jul липень липня липні лип",
    "August Aug серпень серпня серпні серп",
    "September Sep Sept вересень вересня вересні вер верес",
    "October Oct жовтень жовтня жовтні жовт",
    "November Nov листопад листопада листопаді листоп",
    "December Dec грудень грудня грудні груд",
)
_MONTHS = {name: n for n, names in enumerate(_MONTH_NAMES, start=1) for name in names.split()}
_MONTH_WORD = re.compile(r"[^\W\d_]+")

# Small numbers in words; whole words only (Korean native numerals before a counter).
_WORDS: dict[str, int] = {}
for _value, _forms in enumerate(
    (
        "zero нуль",
        "one одна один одне одного одній одним однієї одну 하나 한",
        "two два дві двох двом двома двоє 둘 두",
        "three три трьох трьом трьома троє 셋 세",
        "four чотири чотирьох чотирьом четверо 넷 네",
        "five п'ять п’ять п'ятьох п’ятьох п'ятеро п’ятеро 다섯",
        "six шість шести шістьох шестеро 여섯",
        "seven сім семи сімох семеро 일곱",
        "eight вісім восьми вісьмох восьмеро 여덟",
        "nine дев'ять дев’ять дев'яти дев’яти 아홉",
        "ten десять десяти десятьох 열",
    )
):
    for _form in _forms.split():
        _WORDS[_form] = _value
_WORDS.update({"twelve": 12, "dozen": 12, "дванадцять": 12})
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


@dataclass(frozen=True)
class Number:
    """A number as written and the values that count as it."""

    text: str
    values: frozenset[Decimal]


def _parse(token: str) -> list[frozenset[Decimal]]:
    """The readings of one digit token: one set of candidate values, or one per digit group
    when the separators fit no reading (dates, version numbers)."""
    seps = re.findall(r"[.,]", token)
    groups = re.split(r"[.,]", token)
    if not seps:
        return [frozenset({Decimal(token)})]
    found: set[Decimal] = set()

    def grouped(parts: list[str]) -> bool:
        return len(parts[0]) <= 3 and all(len(g) == 3 for g in parts[1:])

    if len(set(seps)) == 1:
        if grouped(groups):
            found.add(Decimal("".join(groups)))
        if len(seps) == 1:
            found.add(Decimal(f"{groups[0]}.{groups[1]}"))
    elif len(set(seps[:-1])) == 1 and seps[-1] != seps[0] and grouped(groups[:-1]):
        found.add(Decimal(f"{''.join(groups[:-1])}.{groups[-1]}"))
    if found:
        return [frozenset(found)]
    return [frozenset({Decimal(g)}) for g in groups]


def _scaled(values: frozenset[Decimal], power: int) -> frozenset[Decimal]:
    return frozenset(values | {v * (Decimal(10) ** power) for v in values})


def _numbers(text: str, lang: str) -> list[Number]:
    """Every number of ``text`` with the values that count as it (see the module doc)."""
    text = unicodedata.normalize("NFKC", without_protected(text))
    spans: list[tuple[int, int, str, str]] = []  # start, end, digits, as written
    if lang in SPACE_GROUPED:
        for m in _SPACE_GROUPS.finditer(text):
            spans.append((m.start(), m.end(), _SPACES.sub("", m.group()), m.group()))
        text_for_rest = _SPACE_GROUPS.sub(lambda m: " " * len(m.group()), text)
    else:
        text_for_rest = text
    spans += [(m.start(), m.end(), m.group(), m.group()) for m in _NUMBER.finditer(text_for_rest)]
    spans.sort()
    out: list[Number] = []
    korean: list[_KoreanPart] = []
    for start, end, token, written in spans:
        readings = _parse(token)
        if len(readings) > 1:
            out.extend(
                Number(g, vals) for g, vals in zip(re.split(r"[.,]", token), readings, strict=True)
            )
            continue
        values = readings[0]
        after = text[end : end + 24]
        unit = _KO_UNIT.match(after)
        assert unit is not None  # every part of the pattern is optional
        power = _KO_SMALL.get(unit.group(1) or "", 0) + _KO_BIG.get(unit.group(2) or "", 0)
        if power:
            scaled = max(values) * Decimal(10) ** power
            big = _KO_BIG.get(unit.group(2) or "", 0)
            korean.append(_KoreanPart(len(out), start, end + unit.end(), scaled, big))
            values = _scaled(values, power)
        elif m := _INFLECTED.match(after):
            values = _scaled(values, _SCALE_WORDS[_stem(m.group(1))])
        elif m := _SCALE.match(after):
            values = _scaled(values, _SCALE_WORDS[m.group(1).lower()])
        pm = _PM.match(after) or (
            _KO_PM.search(text[max(0, start - 4) : start]) and after.startswith("시")
        )
        if pm:
            values = frozenset(values | {v + 12 for v in values if v < 12})
        out.append(Number(written, values))
    _add_korean_sums(out, korean, text)
    return out


def _stem(word: str) -> str:
    return next(w for w, _ in _SCALES if word.lower().startswith(w))


@dataclass(frozen=True)
class _KoreanPart:
    """A number with a Korean unit: where it is in the list and the text, and its value."""

    index: int
    start: int
    end: int  # after its unit
    value: Decimal
    big: int  # the power of its 조/억/만, 0 when it has none


def _add_korean_sums(out: list[Number], parts: list[_KoreanPart], text: str) -> None:
    """Give each part of a Korean compound (``1억 2천만``, ``2만 5천``) the compound's total:
    parts next to each other, each with a smaller 조/억/만 than the one before."""
    i = 0
    while i < len(parts):
        j, total = i, parts[i].value
        while (
            j + 1 < len(parts)
            and parts[j + 1].index == parts[j].index + 1
            and parts[j + 1].big < parts[j].big
            and not text[parts[j].end : parts[j + 1].start].strip()
        ):
            j += 1
            total += parts[j].value
        for k in range(i, j + 1) if j > i else ():
            n = out[parts[k].index]
            out[parts[k].index] = Number(n.text, frozenset(n.values | {total}))
        i = j + 1


def _present(text: str, lang: str) -> set[Decimal]:
    """Every value ``text`` states: its numbers' values, month names and small number words."""
    values: set[Decimal] = set()
    for n in _numbers(text, lang):
        values |= n.values
    folded = unicodedata.normalize("NFKC", text)
    for m in _MONTH_WORD.finditer(folded):
        word = m.group()
        # English names are capitalised ("may" is no month); Ukrainian ones are not.
        month = _MONTHS.get(word if word.isascii() else word.lower())
        if month is not None:
            values.add(Decimal(month))
    for m in _WORD.finditer(folded):
        value = _WORDS.get(m.group().lower())
        if value is not None:
            values.add(Decimal(value))
    return values


def missing(source: str, output: str, src: str, tgt: str) -> list[str]:
    """The numbers of ``source`` (as written there) that ``output`` does not state."""
    have = _present(output, tgt)
    lost: list[str] = []
    for n in _numbers(source, src):
        if not (n.values & have) and n.text not in lost:
            lost.append(n.text)
    return lost


def check_pair(index: int, source: str, output: str, src: str, tgt: str) -> list[Flag]:
    """A flag when a number of the source segment is not in its translation."""
    lost = missing(source, output, src, tgt)
    if not lost:
        return []
    shown = ", ".join(lost[:3]) + (f" and {len(lost) - 3} more" if len(lost) > 3 else "")
    return [Flag(NAME, SEVERITY, f"missing from the translation: {shown}", index)]


def check_summary(article: str, summary: str, lang: str, article_lang: str) -> list[Flag]:
    """A flag when the summary states a number the article does not (an invented number)."""
    invented = missing(summary, article, lang, article_lang)
    if not invented:
        return []
    shown = ", ".join(invented[:3]) + (
        f" and {len(invented) - 3} more" if len(invented) > 3 else ""
    )
    return [Flag(NAME, SEVERITY, f"not in the article: {shown}", None)]
