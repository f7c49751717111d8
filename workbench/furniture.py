"""News furniture: the lines of an article that are not its story.

Bylines, datelines and timestamps under the title; photo captions and credits; "related article"
lines; original-URL and source lines; copyright footers; the wire-service opener ("KYIV
(Reuters) -", "(서울=연합뉴스) 김서연 기자 =") at the start of the first paragraph. The parser
(workbench/formats) asks these functions about one line at a time; summaries ask about the
opener.

Every answer errs towards the story: a line that could be a sentence of the body is never
furniture. Lines that only look like furniture where they stand (a "By ..." line, a date, a
"Name / Source" credit) are recognised only in that place: under the title or under an image.
"""

from __future__ import annotations

import functools
import re

# --- data: words ----------------------------------------------------------------------------------

_MONTHS_EN = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_MONTHS_UK = (
    r"(?:січня|лютого|березня|квітня|травня|червня|липня|серпня|вересня|жовтня|листопада|грудня)"
)
_WEEKDAYS = (
    r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?|понеділ\w*|вівтор\w*|серед\w*|четвер\w*"
    r"|п[ʼ'’]ятниц\w*|субот\w*|неділ\w*)"
)
_DATE = r"\d{4}[-./]\s?\d{1,2}[-./]\s?\d{1,2}\.?"
_UPPER = "A-ZÀ-ÖØ-ÞА-ЯІЇЄҐЁ"
_NAME = rf"[{_UPPER}][\w.'’-]*"  # a capitalised word of a person's name
_PARTICLE = r"(?:and|&|de|del|van|von|der|den|da|di|du|le|la|al|bin|y|і|та)"
_NAMES = rf"{_NAME}(?:\s+(?:{_NAME}|{_PARTICLE}))*"
_EMAIL = r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+"
# News agencies that sign bylines and datelines.
_AGENCIES = (
    r"(?:Reuters|AP|Associated Press|AFP|Agence France-Presse|Bloomberg|BBC News|BBC|CNN|NPR|dpa"
    r"|EFE|UPI|ANSA|Kyodo|Xinhua|Interfax-Ukraine|Interfax|Ukrinform|UNIAN|The Kyiv Independent"
    r"|Kyiv Independent|The Guardian|Al Jazeera|PA Media|Yonhap(?: News)?"
    r"|Укрінформ|УНІАН|Інтерфакс-Україна|Суспільне|Українська правда|РБК-Україна"
    r"|Радіо Свобода|Громадське|연합뉴스|뉴시스|뉴스1)"
)
_KO_NAMES = r"[가-힣]{2,4}(?:\s?[·,]\s?[가-힣]{2,4})*"
_KO_ROLE = (
    r"(?:기자|특파원|선임기자|객원기자|인턴기자|수습기자|전문기자|기자단|통신원|논설위원|편집위원"
    r"|칼럼니스트)"
)
# "글: 김서연 기자", "(서울=연합뉴스) 김서연·이민준 기자", "[서울경제] 김서연 특파원"
_KO_BYLINE = (
    r"(?:[\[(][^\[\]()]{1,20}[\])]\s*)?"
    r"(?:(?:글|글\s?·\s?사진|사진\s?·\s?글|글\s?·\s?그림|취재|정리|기획)\s*[:=]\s*)?"
    rf"{_KO_NAMES}\s?{_KO_ROLE}"
)

# --- data: lines under the title (bylines, datelines, timestamps) ---------------------------------

# What may follow a date on a dateline: a time, a time zone, "р." (year), "오전 9시".
_TIME_TAIL = (
    r"(?:[\s,|·/-]*(?:р\.|року|\d{1,2}[:.]\d{2}(?::\d{2})?|(?i:[ap]\.?m\.?)|[A-Z]{2,5}"
    r"|\(?(?:GMT|UTC)[+-]?\d{0,2}\)?|오전|오후|\d{1,2}시(?:\s?\d{1,2}분)?))*\s*$"
)
# Bylines: only under the title ("By ..." further down may be the story's own words).
_BYLINES: tuple[re.Pattern[str], ...] = (
    # "By Jane Doe", "By Jane Doe and John Roe, Reuters": a name, then the end or punctuation.
    re.compile(rf"^(?i:by|written by|reported by|story by|words by)\s+{_NAMES}\s*(?:$|[^\w\s])"),
    # "Jane Doe, Reporter", "Олена Коваленко, кореспондентка": a name, then a newsroom role.
    re.compile(
        rf"^{_NAME}(?:\s+[\w.'’-]+){{0,3}}\s*[,|–—-]\s*(?:\w+\s+){{0,2}}"
        r"(?i:reporter|correspondent|writer|editor|journalist|columnist|contributor"
        r"|кореспондент|журналіст|редактор|оглядач)(?:s|ка|ки|и)?\b"
    ),
    # "Jane Doe, Reuters", "Олена Коваленко / Укрінформ": a name, then an agency, nothing more.
    re.compile(rf"^{_NAMES}\s*[,|/–—-]\s*{_AGENCIES}$"),
    re.compile(r"^\S{2,10}\s?기자(?:\s|$|[=@(,·/*])"),
    re.compile(rf"^{_KO_BYLINE}(?:$|[\s=@(,·/*\]])"),
)
# Timestamps and datelines: a date or time and nothing else, or a word that says what it is.
_STAMPS: tuple[re.Pattern[str], ...] = (
    # "Published 14 February 2026", "Updated 14:05 KST", "Оновлено 14 лютого 2026, 10:15": the
    # word must be followed by a time, not by the rest of a sentence ("Updated rules say ...").
    re.compile(
        r"^(?i:published|updated|posted|last updated|last modified|modified|first published"
        r"|опубліковано|оновлено|змінено|дата публікації|дата)(?:\s+(?i:on|at))?\s*[:\-–—]?\s*"
        rf"(?:\d|(?i:{_WEEKDAYS}|{_MONTHS_EN}|{_MONTHS_UK}|today|yesterday|сьогодні|вчора)\b)"
    ),
    re.compile(
        r"^(?:입력|수정|등록|승인|게재|발행|업데이트|기사입력|최종수정|송고시간|송고)\s*:?\s*\d{4}"
    ),
    re.compile(
        rf"^(?i:(?:{_WEEKDAYS},?\s+)?"
        rf"(?:\d{{1,2}}\s+{_MONTHS_EN},?\s+\d{{4}}|{_MONTHS_EN}\s+\d{{1,2}},?\s+\d{{4}}))"
        + _TIME_TAIL
    ),
    re.compile(rf"^(?:{_DATE}|\d{{1,2}}\.\d{{1,2}}\.\d{{4}}){_TIME_TAIL}"),
    re.compile(rf"^\d{{1,2}}:\d{{2}}{_TIME_TAIL}"),
    re.compile(rf"^\d{{4}}년\s*\d{{1,2}}월\s*\d{{1,2}}일(?:\s*\([월화수목금토일]\))?{_TIME_TAIL}"),
    re.compile(rf"^(?i:{_WEEKDAYS},?\s+)?\d{{1,2}}\s+(?i:{_MONTHS_UK})\s+\d{{4}}{_TIME_TAIL}"),
    re.compile(r"^\d{1,3}[\s-]*(?i:min|mins|minute|minutes)[\s-]+(?i:read)$"),
)
HEADER_PATTERNS = _BYLINES + _STAMPS
HEADER_MAX_LENGTH = 120  # bylines and datelines are short; a long line is the lead paragraph

# --- data: lines that are furniture wherever they stand -------------------------------------------

# Author labels, e-mail bylines and copyright notices (never when the line reads as a sentence).
_META_ANYWHERE: tuple[re.Pattern[str], ...] = (
    re.compile(r"^(?i:автор|авторка|автори|авторки|текст|редактор|редакторка|author|authors)\s*:"),
    re.compile(rf"^(?:(?i:by\s+)?{_NAME}\s+{_NAMES}\s*[,|/–—-]?\s*)?[(<]?{_EMAIL}[)>]?$"),
    re.compile(rf"^{_KO_BYLINE}\s*=?\s*(?:[(<]?{_EMAIL}[)>]?)?$"),
    re.compile(
        r"^[<(\[]?\s*(?:©|ⓒ|Ⓒ|\((?i:c)\)\s|(?i:copyright)\s*(?:©|\((?i:c)\)|\d{4}|(?i:by)\b|:)"
        r"|(?i:all rights reserved)\.?$|저작권자|무단\s?전재"
        r"|(?i:усі права захищено|всі права захищені)\.?$)"
    ),
)
# "Reporting by Jane Doe; Editing by John Roe": a credit even when it reads as a sentence.
_REPORTING = re.compile(
    r"^\(?(?i:reporting|additional reporting|writing|editing|edited|compiled|translated"
    rf"|graphics|research)\s+(?i:by)\s+{_NAME}"
)

# Captions and credits: a label, then the credit or the caption ("Photo: Reuters", "사진=연합뉴스").
_CAPTION_LABEL = re.compile(
    r"^[\[(]?\s*(?i:photo illustration|photo credit|image credit|photographs?|photos?|pictures?"
    r"|images?|illustration|graphics?|video|credits?|pictured|main image|top image"
    r"|фото й відео|фото та відео|фото|відео|світлина|ілюстрація|ілюстративне фото|інфографіка"
    r"|скриншот|колаж|사진\s?제공|자료사진|사진|그래픽|영상|일러스트|캡처)"
    r"(?:\s*(?P<sep>[:=：]|[-–—](?=\s))|\s+(?P<word>\S+)|\s*$)"
)
# After "Photo " without a colon: words that make it a credit, not a sentence ("Photo by ...").
_CREDIT_WORDS = re.compile(
    r"^(?:(?i:by|courtesy|via|from|credit|з|із|зі|від|надане|надано|ілюстративне|архівне)\b"
    rf"|[{_UPPER}])"
)
# A caption sentence that ends in its credit (looked for in its last characters only):
# "... in Kyiv. REUTERS/Jane Doe",
# "(AP Photo/Jane Doe)", "... 있다. /연합뉴스", "[서울시 제공]", "... Фото: Укрінформ".
_TRAILING_CREDIT = re.compile(
    r"(?:\((?:[^()]*\b(?i:AP Photo|photo|photograph|getty images)\b|(?i:фото|사진))[^()]{0,60}\)"
    r"|\b(?:REUTERS|AFP|EPA|EPA-EFE|AP|ANADOLU|GETTY|SIPA)\s?/\s?[\w .'’-]{2,40}"
    r"|[.!?다]\s+[/=]\s?[가-힣A-Za-z0-9]{2,12}(?:\s?(?:제공|자료사진))?"
    r"|[.다]\s*[/=]\s?[가-힣][가-힣0-9]{1,11}(?:\s?(?:제공|자료사진))?"
    r"|[\[(](?:[^\[\]()]{1,20}\s)?(?:제공|자료사진|캡처)[\])]"
    r"|[.!?]\s+(?i:photo|photograph|фото|світлина)\s*[:=]\s*[^.!?]{1,60}"
    r"|[.!?다]\s+사진\s*[:=]\s*[^.!?]{1,30})$"
)
_CAPTION_MAX = 300  # one line of furniture; a longer line is the story
_CREDIT_TAIL = 120
# "Volodymyr Zelensky / Telegram": a name or subject, a slash, a short source. Only a caption
# where one is expected (under an image, or under the title before the body).
_CREDIT = re.compile(r"^(?P<left>[^/]{2,60}?)\s?/\s?(?P<right>[^/]{2,40})$")

_SOURCE = re.compile(
    r"^[^\w\s]{0,3}[ \t]*(?:"
    r"(?i:original(?: article| story| text| post| source)?|sources?|via"
    r"|originally published(?: (?:at|on|in|by))?|read the original(?: article| story)?"
    r"|view (?:the )?original(?: article| story)?"
    r"|оригінал(?: статті| матеріалу| новини)?|першоджерело|джерело|джерела|читати оригінал)"
    r"|원문\s?보기|기사\s?원문(?:\s?보기)?|원문\s?링크|원문|출처)"
    r"[ \t]*(?:[:：=»›▶\]]|[-–—](?=\s)|$)"
    r"|^(?i:this (?:article|story) (?:was )?(?:originally|first) (?:published|appeared))\b"
)

RELATED = re.compile(
    r"^[^\w\s]{0,3}[ \t]*(?:"
    r"(?:related(?: articles?| stories| story| news| coverage| content)?|read more|read also"
    r"|also read|see also|more on this(?: story)?|recommended(?: reading| articles?)?"
    r"|читайте також|дивіться також|також читайте|читати також|читайте більше|більше по темі"
    r"|новини по темі|по темі|рекомендуємо)[ \t]*(?:[:：»\]]|[-–—](?=\s)|$)"
    r"|관련\s?기사|관련\s?뉴스|함께\s?보면\s?좋은\s?기사|함께\s?읽기)",
    re.IGNORECASE,
)
URL_LINE = re.compile(
    r"^[ \t]*(?:(?:https?|ftp)://\S+|www\.\S+|<(?:https?|ftp)://[^<>\s]+>"
    r"|\[[ \t]*(?:(?:https?|ftp)://|www\.)[^\]]*\]\([^()\s]+\))[ \t]*$",
    re.IGNORECASE,
)

# --- data: images and the wire opener -------------------------------------------------------------

_IMAGE = r"!\[[^\]]*\](?:\((?:[^()\s]|\([^()\s]*\))+(?:\s+(?:\"[^\"]*\"|'[^']*'))?\)|\[[^\]]*\])"
IMAGE_LINE = re.compile(rf"^ {{0,3}}(?:(?:{_IMAGE}|\[{_IMAGE}\]\([^()\s]+\))[ \t]*)+$")
_EMPHASIS_LINE = re.compile(r"^(\*{1,2}|_{1,2})(?=\S)(?:.*\S)?\1$")

_OPENER_KO = re.compile(
    rf"^(?:[\[(][가-힣A-Za-z ]{{1,12}}=[^\[\]()]{{1,15}}[\])]\s*(?:{_KO_NAMES}\s?{_KO_ROLE}\s*=\s*)?"
    rf"|{_KO_NAMES}\s?{_KO_ROLE}\s*=\s*)"
)
_OPENER = re.compile(
    rf"^(?P<place>[{_UPPER}][\w.'’-]+(?:\s+[{_UPPER}][\w.'’-]+){{0,2}})"
    r"(?:,\s+[^,()—–\n]{1,25}?)?\s*"
    rf"(?:\((?P<agency>{_AGENCIES})\)\s*)?"
    r"(?P<dash>[—–]|--?)\s+"
)
_SENTENCE_END = re.compile(r"[.!?…。]$")
_KO_PREDICATE = re.compile(r"[다요죠까][.!?]$")


# --- questions ------------------------------------------------------------------------------------


def _core(content: str) -> str:
    """The line without surrounding space and emphasis (bylines are often set in italics)."""
    return content.strip().strip("*_").strip()


def _sentence_like(line: str) -> bool:
    """Whether the line reads as a sentence of the story (a furniture pattern must not win)."""
    end = line.rstrip(" *_\"'”»)")
    if not _SENTENCE_END.search(end):
        return False
    return bool(_KO_PREDICATE.search(end)) or len(end.split()) > 8


def is_header_meta(content: str) -> bool:
    """A byline, dateline or timestamp, as found under the title."""
    line = _core(content)
    if not 0 < len(line) <= HEADER_MAX_LENGTH or _sentence_like(line):
        return False
    return any(p.match(line) for p in HEADER_PATTERNS)


@functools.lru_cache(maxsize=4096)  # parsing asks about the same line several times
def line_kind(content: str) -> str | None:
    """'meta', 'caption' or 'source' for a line that is furniture wherever it stands."""
    line = content.strip()
    core = _core(content)
    if not core:
        return None
    if len(line) > _CAPTION_MAX:
        return None
    sentence = _sentence_like(core)
    if _REPORTING.match(core) or (not sentence and any(p.match(core) for p in _META_ANYWHERE)):
        return "meta"
    if not sentence and len(core) <= HEADER_MAX_LENGTH and any(p.match(core) for p in _STAMPS):
        return "meta"
    if _is_caption_label(core):
        return "caption"
    if _SOURCE.match(core) and ("://" in core or not sentence):
        return "source"
    tail = core[-_CREDIT_TAIL:]
    if any(ch in tail for ch in "/=:)]") and _TRAILING_CREDIT.search(tail):
        return "caption"
    if tail.endswith(("Getty Images", "Getty Images)")):
        return "caption"
    return None


def _is_caption_label(line: str) -> bool:
    m = _CAPTION_LABEL.match(line)
    if m is None:
        return False
    if m.group("sep") or not m.group("word"):
        return True  # "Photo: ...", "사진=...", "Video" alone
    # "Photo by Jane Doe", "Фото Укрінформу": short, no sentence, a credit word next.
    return (
        bool(_CREDIT_WORDS.match(m.group("word")))
        and len(line.split()) <= 10
        and not _SENTENCE_END.search(line.rstrip(")]"))
    )


@functools.lru_cache(maxsize=4096)
def is_credit(content: str) -> bool:
    """A "Name / Source" credit line (only a caption under an image or the title)."""
    line = _core(content)
    m = _CREDIT.match(line)
    if m is None or "://" in line or "www." in line.lower() or _SENTENCE_END.search(line):
        return False
    left, right = m.group("left").strip(), m.group("right").strip()
    return (
        len(left.split()) <= 6
        and len(right.split()) <= 4
        and left[0].isalpha()
        and not left[0].islower()
        and right[0].isalpha()
        and not right[0].islower()  # capitalised, or a script without case (Hangul)
    )


def is_image_line(content: str) -> bool:
    """A markdown line holding only images (each perhaps inside a link)."""
    return bool(IMAGE_LINE.match(content))


def is_caption_under_image(content: str, followed_by_credit: bool) -> bool:
    """Whether the line right under an image is its caption.

    It is when it is set in italics, is a credit, or is short and not a sentence, or when a
    credit line follows it; a sentence on its own stays body text. (Lines that are captions
    anywhere, such as "Photo: ...", are recognised before this is asked.)
    """
    line = content.strip()
    core = _core(content)
    if not core or len(line) > _CAPTION_MAX:
        return False
    if _EMPHASIS_LINE.match(line) or is_credit(content) or followed_by_credit:
        return True
    return not _SENTENCE_END.search(core.rstrip(")]\"'”»")) and len(core.split()) <= 20


def opener_length(text: str) -> int:
    """Length of the wire-service opener at the start of a first paragraph, or 0.

    "KYIV (Reuters) - ", "LONDON — ", "Київ, 14 лютого (Укрінформ) — ", "(서울=연합뉴스) 김서연
    기자 = ". A place without an agency counts only in capitals before a dash, with a capital
    after it, so "NATO — the alliance ..." keeps its first word.
    """
    m = _OPENER_KO.match(text)
    if m is None:
        m = _OPENER.match(text)
        if m is None:
            return 0
        if m.group("agency") is None:
            place = m.group("place")
            rest = text[m.end() :].lstrip("\"“«'‘")
            caps = place.upper() == place and sum(ch.isalpha() for ch in place) >= 3
            if not (caps and m.group("dash") in "—–" and rest[:1].isupper()):
                return 0
    rest = text[m.end() :]
    return m.end() if rest[:1].isalnum() or rest[:1] in "\"“«'‘" else 0
