"""News furniture: bylines, datelines, captions, credits, related and source lines.

Each layout below is a small article as English, Korean and Ukrainian news sites set them,
written as a table of (kind, line): the line as it stands in the file, the kind of block it must
become. Furniture is kept byte for byte and translated where it has text, and it never reaches a
summary: lead-N starts with the first sentence of the story.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS
from tests.helpers import URL, assert_structure_kept, expected_segments
from workbench import Workbench, languages, segment
from workbench.documents import FURNITURE_KINDS, parse, read_document
from workbench.furniture import opener_length
from workbench.tasks.summarise import body_sentences

BODY = ("paragraph", "list_item", "quote")

# (name, format, rows, the first sentence of the story). A row ("", "") is a blank line.
LAYOUTS = [
    ("en-wire-md", "md", [
        ("title", "# Zelensky says talks with allies will resume next week"),
        ("", ""),
        ("image", "![Volodymyr Zelensky at a press conference](https://img.example.org/z.jpg)"),
        ("", ""),
        ("caption", "Volodymyr Zelensky / Telegram"),
        ("", ""),
        ("meta", "By Jane Doe, Reuters"),
        ("meta", "Published 14 February 2026"),
        ("meta", "Updated: 14 February 2026, 10:15 GMT"),
        ("", ""),
        ("paragraph", "KYIV (Reuters) - Ukraine's president said on Saturday that talks with "
                      "allied defence ministers would resume next week. He spoke in Kyiv."),
        ("", ""),
        ("image", "![A damaged building in Kharkiv](https://img.example.org/kharkiv.jpg)"),
        ("caption", "*A damaged building in Kharkiv on Friday.*"),
        ("caption", "Photo: Jane Roe / AFP"),
        ("", ""),
        ("paragraph", "Officials said repairs to the grid would take a month. A photo of the "
                      "damaged school was shared widely."),
        ("", ""),
        ("related", "Related: [Allies pledge air defence](https://news.example.org/2026/02/ad)"),
        ("related", "Read more: https://news.example.org/ukraine"),
        ("", ""),
        ("meta", "Reporting by Jane Doe; Editing by John Roe"),
        ("", ""),
        ("source", "Original: https://www.reuters.example.com/world/zelensky-talks-2026-02-14/"),
        ("meta", "© 2026 Reuters. All rights reserved."),
    ], "Ukraine's president said on Saturday that talks with allied defence ministers would "
       "resume next week."),
    ("en-plain-txt", "txt", [
        ("title", "Zelensky says talks with allies will resume next week"),
        ("", ""),
        ("caption", "Volodymyr Zelensky / Telegram"),
        ("", ""),
        ("meta", "By Jane Doe"),
        ("meta", "Feb. 14, 2026 9:30 a.m. ET"),
        ("meta", "4 min read"),
        ("", ""),
        ("paragraph", "LONDON — The president said on Saturday that talks would resume next week. "
                      "He spoke after a meeting with the prime minister."),
        ("", ""),
        ("paragraph", "Officials said repairs to the power grid would take at least a month."),
        ("", ""),
        ("source", "Source: Office of the President"),
        ("meta", "jane.doe@example.com"),
    ], "The president said on Saturday that talks would resume next week."),
    ("ko-md", "md", [
        ("title", "# 시립도서관, 다음 달부터 밤 11시까지 문 연다"),
        ("", ""),
        ("meta", "*글: 김서연 기자* 입력 2026.02.14 09:30 | 수정 2026.02.14 10:05"),
        ("", ""),
        ("image", "![시립도서관 열람실](https://img.example.kr/library.jpg)"),
        ("caption", "14일 서울 시립도서관 열람실에서 시민들이 책을 읽고 있다. /연합뉴스"),
        ("", ""),
        ("paragraph", "(서울=연합뉴스) 김서연 기자 = 서울시는 14일 시립도서관 다섯 곳의 운영 시간을 "
                      "다음 달부터 밤 11시까지 연장한다고 밝혔다. 시민들의 요청이 꾸준히 늘었다."),
        ("", ""),
        ("caption", "사진=서울시 제공"),
        ("", ""),
        ("paragraph", "시는 연장 운영에 필요한 인력 40명을 새로 채용할 계획이다."),
        ("", ""),
        ("related", "▶ 관련기사: 공공 도서관 이용자 3년 연속 증가"),
        ("source", "[원문 보기](https://news.example.kr/2026/02/14/library)"),
        ("", ""),
        ("meta", "김서연 기자 kim@example.com"),
        ("meta", "ⓒ 연합뉴스 무단전재 및 재배포 금지"),
    ], "서울시는 14일 시립도서관 다섯 곳의 운영 시간을 다음 달부터 밤 11시까지 연장한다고 밝혔다."),
    ("ko-txt", "txt", [
        ("title", "시립도서관, 다음 달부터 밤 11시까지 문 연다"),
        ("meta", "김서연·이민준 기자"),
        ("meta", "기사입력 2026-02-14 09:30"),
        ("", ""),
        ("caption", "[사진=연합뉴스]"),
        ("", ""),
        ("paragraph", "서울시는 14일 시립도서관의 운영 시간을 연장한다고 밝혔다. 야간에 일하거나 "
                      "공부하는 시민들의 요청이 꾸준히 늘었기 때문이다. 시는 인력 40명을 새로 "
                      "채용할 계획이다."),
        ("", ""),
        ("source", "출처: 서울시 보도자료"),
        ("related", "관련 뉴스"),
    ], "서울시는 14일 시립도서관의 운영 시간을 연장한다고 밝혔다."),
    ("uk-txt", "txt", [
        ("title", "Волонтери прибрали понад дві тонни сміття з берегів Дніпра"),
        ("", ""),
        ("caption", "Фото: Олена Коваленко / Укрінформ"),
        ("", ""),
        ("meta", "Автор: Олена Коваленко"),
    ("meta", "Published: 9 January 2026"),
    ("meta", "입력 2026.02.14 09:30 | 수정 2026.02.14 10:05"),
    ("meta", "2026년 2월 14일(토) 오전 9시 30분"),
    ("meta", "14 лютого 2026, 10:15"),
        ("meta", "Оновлено 14 лютого 2026, 10:15"),
        ("", ""),
        ("paragraph", "Київ, 14 лютого (Укрінформ) — Понад 300 волонтерів прибирали береги Дніпра. "
                      "Вони зібрали понад дві тонни сміття."),
        ("", ""),
        ("paragraph", "Акцію організувала екологічна ініціатива. Фото показують чисті береги."),
        ("", ""),
        ("related", "Читайте також: Місто встановить нові контейнери"),
        ("source", "Джерело: https://www.ukrinform.example.ua/rubric-society/river"),
    ], "Понад 300 волонтерів прибирали береги Дніпра."),
    ("uk-md", "md", [
        ("title", "# Волонтери прибрали береги Дніпра"),
        ("", ""),
        ("meta", "Олена Коваленко, Укрінформ"),
        ("meta", "14 лютого 2026"),
        ("", ""),
        ("image", "![Волонтери на березі Дніпра](https://img.example.ua/river.jpg)"),
        ("", ""),
        ("caption", "Фото ілюстративне"),
        ("", ""),
        ("paragraph", "Понад 300 волонтерів у суботу прибирали береги Дніпра. За два дні вони "
                      "зібрали понад дві тонни сміття, переважно пластикові пляшки та пакети."),
        ("", ""),
        ("related", "Дивіться також: Як сортувати сміття"),
        ("source", "Оригінал статті: https://www.example.ua/river"),
        ("meta", "Авторка: Ірина Шевченко"),
    ], "Понад 300 волонтерів у суботу прибирали береги Дніпра."),
]  # fmt: skip

LANG = {"en": "en", "ko": "ko", "uk": "uk"}


def layout_text(rows: list[tuple[str, str]]) -> str:
    return "".join(line + "\n" for _, line in rows)


def kinds(text: str, fmt: str) -> list[tuple[str, str]]:
    """(kind, text) of every non-blank block."""
    return [(b.kind, b.text) for b in parse(text, fmt).blocks if b.kind != "blank"]


def write(tmp_path: Path, name: str, fmt: str, text: str) -> Path:
    path = tmp_path / f"{name}.{fmt}"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize(("name", "fmt", "rows", "first"), LAYOUTS, ids=[x[0] for x in LAYOUTS])
def test_layout_block_kinds(name: str, fmt: str, rows: list, first: str) -> None:
    found = kinds(layout_text(rows), fmt)
    expected = [(kind, line) for kind, line in rows if kind]
    assert [k for k, _ in found] == [k for k, _ in expected]
    for (_, text), (_, line) in zip(found, expected, strict=True):
        assert text and text in line  # the block's text is its line, markup aside


@pytest.mark.parametrize(("name", "fmt", "rows", "first"), LAYOUTS, ids=[x[0] for x in LAYOUTS])
def test_layout_renders_byte_for_byte(name: str, fmt: str, rows: list, first: str) -> None:
    text = layout_text(rows)
    for variant in (text, text.replace("\n", "\r\n"), "\ufeff" + text.rstrip("\n")):
        assert parse(variant, fmt).render() == variant


@pytest.mark.parametrize(("name", "fmt", "rows", "first"), LAYOUTS, ids=[x[0] for x in LAYOUTS])
def test_furniture_is_translated_in_place(name: str, fmt: str, rows: list, first: str) -> None:
    """Furniture with text goes to the translator, as the pipeline does it (segments in,
    protected spans kept); the translated article keeps every line, marker and URL."""
    text = layout_text(rows)
    doc = parse(text, fmt)
    lang = LANG[name[:2]]
    furniture = [b for b in doc.blocks if b.kind in FURNITURE_KINDS]
    assert furniture and all(b.translatable for b in furniture)
    texts, count = [], 0
    for block in doc.translatable_blocks():
        pieces = segment.pieces(block.text, lang, markdown=fmt == "md")
        wanted = sum(p.translate for p in pieces)
        assert wanted or block.kind == "meta"  # a date alone has nothing to translate
        texts.append(segment.reassemble(pieces, [f"T{count + i}" for i in range(wanted)]))
        count += wanted
    out = doc.render(texts)
    assert_structure_kept(text, out)
    for (kind, line), new in zip(rows, out.splitlines(), strict=True):
        has_text = any(p.translate for p in segment.pieces(line, lang, markdown=fmt == "md"))
        assert (new != line) == has_text, (kind, line, new)  # every line with text translated
        for span in URL.findall(line):
            assert span in new


def test_a_model_translates_the_furniture(tiny, tmp_path: Path) -> None:
    name, fmt, rows, _ = LAYOUTS[0]
    text = layout_text(rows)
    path = write(tmp_path, name, fmt, text)
    wb = Workbench(cache=False, backend="torch", beams=1)
    result = wb.translate(path, to="uk", src="en", model=str(tiny("marian")))
    assert result.text is not None
    assert_structure_kept(text, result.text)
    sources = [s.source for s in result.segments]
    assert sources == expected_segments(read_document(path), "en")
    for furniture in (
        "Volodymyr Zelensky at a press conference",  # an image's alt text
        "Volodymyr Zelensky / Telegram",
        "By Jane Doe, Reuters",
        "Photo: Jane Roe / AFP",
        "Original:",
    ):
        # Furniture with markup (an image's alt text) is one sentence with its placeholders.
        assert any(furniture in source for source in sources), furniture


@pytest.mark.parametrize(("name", "fmt", "rows", "first"), LAYOUTS, ids=[x[0] for x in LAYOUTS])
def test_lead_starts_with_the_story(tmp_path: Path, name: str, fmt: str, rows: list, first: str):
    path = write(tmp_path, name, fmt, layout_text(rows))
    result = Workbench(cache=False).summarise(path, model="lead", sentences=2)
    assert result.text.startswith(first)
    for block in read_document(path).blocks:
        if block.kind in FURNITURE_KINDS or block.kind == "title":
            assert block.text not in result.text, block.kind


def test_lead_through_the_cli(tmp_path: Path) -> None:
    name, fmt, rows, first = LAYOUTS[0]
    path = write(tmp_path, name, fmt, layout_text(rows))
    args = ["summarise", str(path), "--model", "lead", "--sentences", "1", "--no-cache"]
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", *args, "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    written = tmp_path / "out" / f"{name}.summary.en.md"
    assert written.read_text("utf-8").strip() == first


SEED_ARTICLES = sorted(p for p in SEEDS.rglob("*") if p.suffix in (".md", ".txt"))


@pytest.mark.parametrize("article", SEED_ARTICLES, ids=lambda p: p.name)
def test_seed_leads_hold_no_furniture(article: Path) -> None:
    doc = read_document(article)
    result = Workbench(cache=False).summarise(article, model="lead")
    first_body = next(b for b in doc.blocks if b.kind in BODY and b.translatable)
    assert result.text.startswith(body_sentences(doc, languages.detect(doc.prose()))[0])
    assert first_body.text.startswith(result.text.split(" ")[0])
    for block in doc.blocks:
        if block.kind in FURNITURE_KINDS:
            assert block.text not in result.text


def test_korean_seed_byline_and_dateline_are_metadata() -> None:
    doc = read_document(SEEDS / "ko" / "library-night.md")
    meta = [b.text for b in doc.blocks if b.kind == "meta"]
    assert meta == ["*글: 김서연 기자*", "입력 2026.02.14"]
    lead = Workbench(cache=False).summarise(doc, model="lead").text
    assert lead.startswith("서울시는 14일") and "김서연" not in lead and "입력" not in lead


# Furniture that is furniture wherever it stands: after the story's first paragraph, or right
# under its last line (no blank line between).
ANYWHERE = [
    ("caption", "Photo by Jane Doe"),
    ("caption", "Photograph: Jane Roe/Reuters"),
    ("caption", "(AP Photo/Efrem Lukatsky)"),
    ("caption", "Firefighters work at the site in Kyiv, February 14, 2026. REUTERS/Jane Doe"),
    ("caption", "Rescuers at the site of a strike in Kharkiv. Photo: Jane Roe"),
    ("caption", "Workers clear the debris in Kharkiv. Getty Images"),
    ("caption", "Фото: Укрінформ"),
    ("caption", "Фото Укрінформу"),
    ("caption", "Зеленський у Києві. Фото: Офіс президента"),
    ("caption", "사진=연합뉴스"),
    ("caption", "[서울시 제공]"),
    ("caption", "14일 시민들이 책을 읽고 있다. [서울시 제공]"),
    ("meta", "Copyright © 2026 The Guardian"),
    ("meta", "Reporting by Jane Doe in Kyiv; Additional reporting by John Roe; Editing by Ng."),
    ("meta", "Jane Doe jane.doe@example.com"),
    ("meta", "김서연 기자 kim@example.com"),
    ("meta", "<저작권자 ⓒ 연합뉴스, 무단 전재-재배포 금지>"),
    ("meta", "Автор: Олена Коваленко"),
    ("meta", "Published: 9 January 2026"),
    ("meta", "입력 2026.02.14 09:30 | 수정 2026.02.14 10:05"),
    ("meta", "2026년 2월 14일(토) 오전 9시 30분"),
    ("meta", "14 лютого 2026, 10:15"),
    ("source", "Original article: https://example.org/a"),
    ("source", "원문보기: https://example.kr/a"),
    ("source", "Першоджерело: Суспільне"),
    ("source", "This article was originally published on The Conversation."),
    ("related", "Also read: Ferry fares to rise"),
    ("related", "Більше по темі: Нові контейнери"),
    ("related", "함께 보면 좋은 기사"),
]


@pytest.mark.parametrize(("kind", "line"), ANYWHERE)
@pytest.mark.parametrize("gap", ["\n\n", "\n"])
def test_furniture_anywhere(kind: str, line: str, gap: str) -> None:
    text = f"# Title\n\nThe story begins here.\nIt goes on.{gap}{line}\n"
    found = kinds(text, "md")
    assert found[1:] == [("paragraph", "The story begins here. It goes on."), (kind, line)]
    assert parse(text).render() == text


# --- the story stays the story --------------------------------------------------------------------

# Sentences of a story that look a little like furniture. Each must stay a paragraph, whether it
# opens the article (under the title, where bylines are looked for) or stands later on.
BODY_LINES = [
    "By noon, thousands had gathered in the square.",
    "By Monday, thousands of people had gathered in the square outside the city hall.",
    "Updated rules take effect in March.",
    "Published figures show that inflation fell to 3% in March.",
    "Jane Doe, a reporter at the paper, said the fire started at noon and spread quickly.",
    "It rained.",
    '"We will rebuild," she said.',
    "Photos from the scene showed the bridge had collapsed overnight.",
    "The photographer, Jane Roe of Reuters, was injured.",
    "Video shows the moment the bridge collapsed.",
    "Reporters were not allowed inside the building.",
    "Editing by hand took the team three weeks.",
    "Source code for the app was published on Monday.",
    "Original plans were dropped in 2019.",
    "Related-party deals rose 5%.",
    "Trade across the U.S./Canada border fell.",
    "Kyiv and Moscow / Washington talks resumed on Monday.",
    "시민 기자 20명이 현장을 찾았다.",
    "기자는 현장에서 화재를 직접 목격했다고 말했다.",
    "김서연 기자 = 서울시는 14일 운영 시간을 연장한다고 밝혔다.",
    "사진 속 인물은 시장으로 확인됐다.",
    "관련 부처는 대책을 발표했다.",
    "출처를 밝히지 않은 문건이 공개됐다.",
    "Copyright infringement cases rose 20% last year.",
    "March 3, 2026 was the coldest day on record.",
    "2026-01-09 14:05 The council met.",
    "14 лютого 2026 року відбудеться концерт.",
    "2026년 2월 14일 서울시는 새 정책을 발표했다.",
    "Source: the ministry said the plan would cost five billion dollars this year.",
    "Оновлено правила для водіїв.",
    "Фото показують зруйновані будинки.",
    "Джерело в уряді повідомило про відставку.",
    "Автомобіль зупинився біля будівлі.",
]


@pytest.mark.parametrize("line", BODY_LINES)
@pytest.mark.parametrize("where", ["first", "later"])
def test_body_sentences_are_never_furniture(line: str, where: str) -> None:
    if where == "first":
        text = f"# Title\n\n{line}\n\nMore of the story.\n"
    else:
        text = f"# Title\n\nThe story begins.\n\n{line}\n"
    found = kinds(text, "md")
    assert ("paragraph", line) in found


@pytest.mark.parametrize(
    "text",
    [
        "Images from the telescope show a\ndistant galaxy.",
        "Source: the ministry said that the plan would\ncost five billion.",
        "Фото з місця події показують, що\nміст зруйновано.",
    ],
)
@pytest.mark.parametrize("fmt", ["md", "txt"])
def test_a_wrapped_sentence_that_starts_like_furniture_is_one_paragraph(text: str, fmt: str):
    found = kinds(f"Title\n\nThe story begins.\n\n{text}\n", fmt)
    assert found[-1] == ("paragraph", text.replace("\n", " "))


@pytest.mark.parametrize(
    "line",
    [
        "The council voted on Thursday to replace the ferry.",
        "서울시는 14일 운영 시간을 연장한다고 밝혔다.",
        "Понад 300 волонтерів прибирали береги.",
    ],
)
@pytest.mark.parametrize("gap", ["\n", "\n\n"])
def test_a_sentence_under_an_image_is_body(line: str, gap: str) -> None:
    found = kinds(f"# Title\n\n![x](a.jpg){gap}{line}\n", "md")
    assert found[1][0] == "image" and found[2] == ("paragraph", line)


def test_a_caption_with_a_full_stop_needs_a_credit_under_it() -> None:
    text = "# T\n\n![x](a.jpg)\nFirefighters at the scene on Monday.\n\nPhoto: Reuters\n"
    assert [k for k, _ in kinds(text, "md")] == ["title", "image", "caption", "caption"]
    text = "# T\n\n![x](a.jpg)\nFirefighters were at the scene on Monday.\n\nThey left.\n"
    assert [k for k, _ in kinds(text, "md")] == ["title", "image", "paragraph", "paragraph"]


def test_a_credit_under_an_html_image() -> None:
    text = '# T\n\nThe story begins.\n\n<img src="a.jpg" alt="">\n\nJane Roe / Reuters\n'
    assert kinds(text, "md")[2:] == [
        ("html", '<img src="a.jpg" alt="">'),
        ("caption", "Jane Roe / Reuters"),
    ]


def test_name_slash_source_is_a_credit_only_where_one_is_expected() -> None:
    later = "# T\n\nThe story begins here.\n\nVolodymyr Zelensky / Telegram\n"
    assert kinds(later, "md")[-1] == ("paragraph", "Volodymyr Zelensky / Telegram")


# --- the wire opener ------------------------------------------------------------------------------

OPENERS = [
    ("KYIV (Reuters) - Ukraine's army said", "KYIV (Reuters) - "),
    ("WASHINGTON, Feb 14 (Reuters) - The", "WASHINGTON, Feb 14 (Reuters) - "),
    ("KYIV, Ukraine (AP) — Russian", "KYIV, Ukraine (AP) — "),
    ("LONDON — The", "LONDON — "),
    ("Київ, 14 лютого (Укрінформ) — Понад", "Київ, 14 лютого (Укрінформ) — "),
    ("(서울=연합뉴스) 김서연 기자 = 서울시는", "(서울=연합뉴스) 김서연 기자 = "),
    ("[서울=뉴시스]김서연 기자 = 서울시는", "[서울=뉴시스]김서연 기자 = "),
    ("김서연 기자 = 서울시는", "김서연 기자 = "),
    ("(세종=연합뉴스) 정부는", "(세종=연합뉴스) "),
    # Not openers: the story's own first words.
    ("NATO — the alliance said", ""),
    ("NATO said on Monday", ""),
    ("EU — The bloc agreed", ""),
    ("Officials — including the mayor — said", ""),
    ("The minister (AP) said", ""),
    ("김서연 기자들은 말했다", ""),
]


@pytest.mark.parametrize(("text", "opener"), OPENERS)
def test_wire_opener(text: str, opener: str) -> None:
    assert text[: opener_length(text)] == opener


def test_the_opener_is_kept_in_the_text_and_left_out_of_the_lead() -> None:
    text = "# T\n\n(서울=연합뉴스) 김서연 기자 = 서울시는 14일 밝혔다. 시민들이 반겼다.\n"
    doc = parse(text)
    assert doc.render() == text
    assert doc.translatable_texts()[1].startswith("(서울=연합뉴스) 김서연 기자 = ")
    assert body_sentences(doc, "ko") == ["서울시는 14일 밝혔다.", "시민들이 반겼다."]
