"""The names check: the names of a source segment are carried into its translation.

Names looked for in the source:

- names in quotes: 1 to 5 words between “ ”, " ", « » or „ “ with a capital letter among them
  (longer quotes are speech, which is translated);
- capitalised multi-word entities: two or more capitalised words in a row (``Serhiy
  Marchenko``, ``Kyiv City Council``); not in a segment where most words are capitalised (a
  headline in title case);
- Latin-script words in a source written in another script (``Samsung`` in a Korean text).

Words that are translated rather than carried over do not have to be found: function words
(``The``, ``In``, ``У``), titles (``President``, ``Minister``), days and months, and the words of
institutions (``European``, ``Union``, ``Council``, ``Ministry``, ...), listed in ``COMMON``.
An entity is carried when any of its other words is in the output:

1. as written (case ignored; a Korean particle may follow it: ``Samsung은``), or
2. transliterated: both words are reduced to a consonant skeleton and the first three
   consonants (all of them, for a shorter skeleton) agree. Cyrillic is read through a simple
   Ukrainian/Russian Latin table (``TRANSLIT``: ``ж`` zh, ``х`` kh, ``г`` g, ``ї`` yi, ...),
   Hangul through Revised Romanization (syllables split into jamo); then digraphs are folded
   (``sh``, ``ch``, ``zh``, ``kh``, ``ph``, ``th``, ``ng``), vowels and ``y`` dropped and
   consonants grouped into classes that transliteration confuses (k g c q h, t d, p b f v w,
   s z j x, l r, m, n). ``Zelensky`` matches ``Зеленського`` and ``젤렌스키는``.

For a Korean target this is the whole rule: a Latin name written in Hangul is found through its
romanisation, so only a name with no trace in the output is flagged. A name translated into a
different word (``Germany``, ``Німеччина``, ``독일``) is not found: keep such words in
``COMMON`` or accept the warning.
"""

from __future__ import annotations

import re

from workbench.quality.checks.base import Flag, without_protected

NAME = "names"
SEVERITY = "warning"

_COMMON_WORDS = """
a an the in on at of for to from by with and or but as after before during since until if when
while this that these those it its he she they we his her their our there here then so not no
i you also says said
у в на за до від по про після під над при через і й та але а або як коли це цей ця ці той
mr mrs ms dr prof sir president vice prime minister ministry foreign affairs defence defense
finance economy economic health interior justice energy education culture trade
secretary general chief deputy chairman chair mayor governor senator ambassador spokesman
spokeswoman spokesperson director head king queen prince princess pope
european union united nations national international federal central state states republic
council court supreme parliament government agency department office committee commission
party bank company corporation group association university institute service services
forces army navy air force police military city region regional province county
district north south east west northern southern eastern western new old great
street square avenue road river sea ocean lake mountain mountains island islands gulf bay
world global day week year news times post daily
monday tuesday wednesday thursday friday saturday sunday
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec
президент прем'єр прем’єр міністр міністерство голова мер посол уряд рада верховна
"""
#: Words that are translated, not carried over: they never have to be found (lower case).
COMMON = frozenset(_COMMON_WORDS.split())

#: Cyrillic to Latin, Ukrainian and Russian letters (for comparing skeletons, not for display).
TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "ye", "ж": "zh",
    "з": "z", "и": "y", "і": "i", "ї": "yi", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "yu", "я": "ya", "ъ": "", "ы": "y",
    "э": "e", "ё": "yo", "ў": "w",
}  # fmt: skip

# Revised Romanization of the jamo of a Hangul syllable.
_INITIALS = [
    "g",
    "kk",
    "n",
    "d",
    "tt",
    "r",
    "m",
    "b",
    "pp",
    "s",
    "ss",
    "-",
    "j",
    "jj",
    "ch",
    "k",
    "t",
    "p",
    "h",
]
_VOWELS = [
    "a",
    "ae",
    "ya",
    "yae",
    "eo",
    "e",
    "yeo",
    "ye",
    "o",
    "wa",
    "wae",
    "oe",
    "yo",
    "u",
    "wo",
    "we",
    "wi",
    "yu",
    "eu",
    "ui",
    "i",
]
_FINALS = [
    "",
    *[
        "k",
        "k",
        "k",
        "n",
        "n",
        "n",
        "t",
        "l",
        "k",
        "m",
        "l",
        "l",
        "l",
        "p",
        "l",
        "m",
        "p",
        "p",
        "t",
        "t",
        "ng",
        "t",
        "t",
        "k",
        "t",
        "p",
        "t",
    ],
]

_DIGRAPHS = (
    ("shch", "s"), ("sch", "s"), ("tch", "j"), ("sh", "s"), ("ch", "j"), ("zh", "j"),
    ("kh", "k"), ("ph", "p"), ("th", "t"), ("ts", "s"), ("ck", "k"), ("ng", "n"), ("qu", "k"),
    ("x", "ks"),
)  # fmt: skip
_CLASSES = str.maketrans("kgcqhtdpbfvwszjxlr", "kkkkkttpppppssssll")
_VOWEL_LETTERS = re.compile(r"[aeiouy]")

_TOKEN = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_QUOTED = re.compile(r"“([^”\n]{1,60})”|\"([^\"\n]{1,60})\"|«([^»\n]{1,60})»|„([^“”\n]{1,60})[“”]")
_OUTPUT_TOKEN = re.compile(r"[^\W\d_]+")


def _romanise(text: str) -> str:
    """Lower-case Latin letters for any Latin, Cyrillic or Hangul text."""
    out = []
    for ch in text.lower():
        code = ord(ch)
        if 0xAC00 <= code <= 0xD7A3:
            syllable = code - 0xAC00
            lead, vowel, tail = syllable // 588, (syllable % 588) // 28, syllable % 28
            out.append(_INITIALS[lead].replace("-", "") + _VOWELS[vowel] + _FINALS[tail])
        else:
            out.append(TRANSLIT.get(ch, ch))
    return "".join(out)


def skeleton(word: str) -> str:
    """The consonant skeleton of a word in any of the three scripts (see the module doc)."""
    text = re.sub(r"[^a-z]", "", _romanise(word))
    for digraph, single in _DIGRAPHS:
        text = text.replace(digraph, single)
    text = _VOWEL_LETTERS.sub("", text).translate(_CLASSES)
    return re.sub(r"(.)\1+", r"\1", text)


def _capitalised(token: str) -> bool:
    return token[0].isupper()


def _significant(words: list[str]) -> list[str]:
    return [w for w in words if w.lower().strip("'’") not in COMMON and len(w) > 1]


def entities(text: str) -> list[list[str]]:
    """The names of ``text``, each as its significant words (see the module doc)."""
    text = without_protected(text)
    found: list[list[str]] = []
    for m in _QUOTED.finditer(text):
        inner = next(g for g in m.groups() if g is not None)
        words = _TOKEN.findall(inner)
        if 1 <= len(words) <= 5 and any(_capitalised(w) for w in words):
            found.append(_significant(words))
    tokens = list(_TOKEN.finditer(text))
    words = [t.group() for t in tokens]
    latin_source = sum(w.isascii() for w in words) * 2 >= len(words)
    headline = len(words) >= 3 and sum(_capitalised(w) for w in words) * 5 >= len(words) * 3
    run: list[str] = []
    for i, token in enumerate([*tokens, None]):
        joined = token is not None and (
            not run or text[tokens[i - 1].end() : token.start()] in (" ", "\u00a0")
        )
        if token is not None and joined and _capitalised(token.group()):
            run.append(token.group())
            continue
        if len(run) >= 2 and not headline:
            found.append(_significant(run))
        run = [token.group()] if token is not None and _capitalised(token.group()) else []
    if not latin_source:
        # Latin-script words in a text in another script are names or brands.
        latin = [w for w in words if w.isascii() and len(w) > 1]
        found.extend([w] for w in _significant(latin))
    unique: list[list[str]] = []
    for entity in found:
        if entity and entity not in unique:
            unique.append(entity)
    return unique


def _found(word: str, output_lower: str, skeletons: list[str]) -> bool:
    if word.lower() in output_lower:
        return True
    want = skeleton(word)
    if not want:
        return True  # nothing to compare (all vowels): not flagged
    need = min(len(want), 3)
    return any(len(s) >= need and s[:need] == want[:need] for s in skeletons)


def missing(source: str, output: str) -> list[str]:
    """The names of ``source`` of which no word is in ``output`` (as written or transliterated)."""
    names = entities(source)
    if not names:
        return []
    lower = output.lower()
    skeletons = [skeleton(t) for t in _OUTPUT_TOKEN.findall(output)]
    return [" ".join(e) for e in names if not any(_found(w, lower, skeletons) for w in e)]


def check_pair(index: int, source: str, output: str) -> list[Flag]:
    """A flag when a name of the source segment is not in its translation."""
    lost = missing(source, output)
    if not lost:
        return []
    shown = ", ".join(f"“{n}”" for n in lost[:3])
    return [Flag(NAME, SEVERITY, f"not found in the translation: {shown}", index)]
