"""Parsing articles into blocks, rendering them back, hashing and reading files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench import formats
from workbench.documents import (
    Block,
    content_hash,
    parse,
    read_document,
    rewrap,
)
from workbench.errors import InputError

SUPPORTED_SUFFIXES = formats.suffixes()


def shape(text: str, fmt: str = "md") -> list[tuple[str, str, list[str], bool]]:
    """(kind, prefix, lines, translatable) of every non-blank block."""
    return [
        (b.kind, b.prefix, b.lines, b.translatable)
        for b in parse(text, fmt).blocks
        if b.kind != "blank"
    ]


KINDS = [
    # News structure, plain text.
    ("txt", "Seoul stocks rise\nBy Jane Doe\nPublished: 9 January 2026\n\nBody text here.\n", [
        ("title", "", ["Seoul stocks rise"], True),
        ("meta", "", ["By Jane Doe"], True),
        ("meta", "", ["Published: 9 January 2026"], True),
        ("paragraph", "", ["Body text here."], True),
    ]),
    ("txt", "Title\n\nJane Doe, Reporter\n2026-01-09\nUpdated 14:05 KST\n\nBody.\n", [
        ("title", "", ["Title"], True),
        ("meta", "", ["Jane Doe, Reporter"], True),
        ("meta", "", ["2026-01-09"], False),  # no letters: nothing to translate
        ("meta", "", ["Updated 14:05 KST"], True),
        ("paragraph", "", ["Body."], True),
    ]),
    ("txt", "삼성전자 실적 발표\n김철수 기자\n입력 2026.01.09 14:05\n\n삼성전자가 9일 발표했다.\n", [
        ("title", "", ["삼성전자 실적 발표"], True),
        ("meta", "", ["김철수 기자"], True),
        ("meta", "", ["입력 2026.01.09 14:05"], True),
        ("paragraph", "", ["삼성전자가 9일 발표했다."], True),
    ]),
    ("txt", "Уряд ухвалив рішення\nАвтор: Олена Петренко\nОпубліковано 9 січня 2026\n\nТекст.", [
        ("title", "", ["Уряд ухвалив рішення"], True),
        ("meta", "", ["Автор: Олена Петренко"], True),
        ("meta", "", ["Опубліковано 9 січня 2026"], True),
        ("paragraph", "", ["Текст."], True),
    ]),
    # A byline far from the top is ordinary text.
    ("txt", "Title\n\nFirst.\n\nBy the way, this is prose.\n", [
        ("title", "", ["Title"], True),
        ("paragraph", "", ["First."], True),
        ("paragraph", "", ["By the way, this is prose."], True),
    ]),
    ("txt", "T\n\nRelated: Won weakens\n관련 기사 ▶ 수출 증가\nЧитайте також: Новини\n", [
        ("title", "", ["T"], True),
        ("related", "", ["Related: Won weakens"], True),
        ("related", "", ["관련 기사 ▶ 수출 증가"], True),
        ("related", "", ["Читайте також: Новини"], True),
    ]),
    ("md", "T\n\nhttps://x.org/a\n<https://x.org/b>\n[https://x.org/c](https://x.org/c)\n", [
        ("title", "", ["T"], True),
        ("url", "", ["https://x.org/a"], False),
        ("url", "", ["<https://x.org/b>"], False),
        ("url", "", ["[https://x.org/c](https://x.org/c)"], False),
    ]),
    # Hard-wrapped paragraphs: the first line is not a title when the sentence goes on.
    ("txt", "The government said on Friday that it\nwould raise wages.\n\nMore.\n", [
        ("paragraph", "", ["The government said on Friday that it", "would raise wages."], True),
        ("paragraph", "", ["More."], True),
    ]),
    ("txt", "Title\nBody starts here\nand goes on.\n", [
        ("title", "", ["Title"], True),
        ("paragraph", "", ["Body starts here", "and goes on."], True),
    ]),
    # Markdown headings.
    ("md", "# Big title\n\n## Section ##\n", [
        ("title", "# ", ["Big title"], True),
        ("heading", "## ", ["Section"], True),
    ]),
    ("md", "Title\n=====\n\nSub\n---\n", [
        ("title", "", ["Title"], True),
        ("heading", "", ["====="], False),
        ("heading", "", ["Sub"], True),
        ("heading", "", ["---"], False),
    ]),
    ("txt", "# not a heading in text\n", [("title", "", ["# not a heading in text"], True)]),
    # Lists and quotes.
    ("md", "T\n\n- one\n  more\n* two\n1. three\n  2) four\n- [x] done\n", [
        ("title", "", ["T"], True),
        ("list_item", "- ", ["one", "more"], True),
        ("list_item", "* ", ["two"], True),
        ("list_item", "1. ", ["three"], True),
        ("list_item", "  2) ", ["four"], True),
        ("list_item", "- [x] ", ["done"], True),
    ]),
    ("md", "T\n\n> quoted\n> text\n> > deeper\n>\n> - item\n", [
        ("title", "", ["T"], True),
        ("quote", "> ", ["quoted", "text"], True),
        ("quote", "> > ", ["deeper"], True),
        ("quote", ">", [""], False),
        ("quote", "> - ", ["item"], True),
    ]),
    # Code, rules, HTML, front matter, definitions.
    ("md", "T\n\n```py\nx = 1\n```\n~~~\ny\n~~~\n", [
        ("title", "", ["T"], True),
        ("code", "", ["```py", "x = 1", "```"], False),
        ("code", "", ["~~~", "y", "~~~"], False),
    ]),
    ("md", "T\n\n    code line\n    more\n\nText.\n", [
        ("title", "", ["T"], True),
        ("code", "", ["    code line", "    more"], False),
        ("paragraph", "", ["Text."], True),
    ]),
    ("md", "T\n\n- item\n\n    continued item text\n", [
        ("title", "", ["T"], True),
        ("list_item", "- ", ["item"], True),
        ("paragraph", "    ", ["continued item text"], True),
    ]),
    ("md", "T\n\n***\n- - -\n", [
        ("title", "", ["T"], True),
        ("hr", "", ["***"], False),
        ("hr", "", ["- - -"], False),
    ]),
    ("md", "T\n\n<div class='x'>\nraw text\n</div>\n\n<!-- a\nb -->\n", [
        ("title", "", ["T"], True),
        ("html", "", ["<div class='x'>", "raw text", "</div>"], False),
        ("html", "", ["<!-- a", "b -->"], False),
    ]),
    ("md", "---\ntitle: x\n---\n# Real title\n", [
        ("front_matter", "", ["---", "title: x", "---"], False),
        ("title", "# ", ["Real title"], True),
    ]),
    ("md", "T\n\n[id]: http://example.com\n[^1]: A footnote.\n", [
        ("title", "", ["T"], True),
        ("url", "", ["[id]: http://example.com"], False),
        ("paragraph", "[^1]: ", ["A footnote."], True),
    ]),
    # Tables: one block per cell; pipes and padding are prefix or suffix.
    ("md", "T\n\n| Name | Age |\n|:-----|----:|\n| Kim  | 30  |\n", [
        ("title", "", ["T"], True),
        ("table", "| ", ["Name"], True),
        ("table", " | ", ["Age"], True),
        ("table", "", ["|:-----|----:|"], False),
        ("table", "| ", ["Kim"], True),
        ("table", "  | ", ["30"], False),
    ]),
    ("md", "T\n\nA | B\n--|--\nx \\| y | z\n", [
        ("title", "", ["T"], True),
        ("table", "", ["A"], True),
        ("table", " | ", ["B"], True),
        ("table", "", ["--|--"], False),
        ("table", "", ["x \\| y"], True),
        ("table", " | ", ["z"], True),
    ]),
    # Inline markdown stays in the text for the segment module to protect.
    ("md", "T\n\nSee [a](http://x.org) and **b**  \nnext.\n", [
        ("title", "", ["T"], True),
        ("paragraph", "", ["See [a](http://x.org) and **b**", "next."], True),
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("fmt", "text", "expected"), KINDS)
def test_block_kinds(fmt: str, text: str, expected: list) -> None:
    assert shape(text, fmt) == expected
    assert parse(text, fmt).render() == text


def test_blank_lines_are_kept_exactly() -> None:
    text = "Title\n\n \t\n\nBody.\n\n\n"
    doc = parse(text, "txt")
    blanks = [b for b in doc.blocks if b.kind == "blank"]
    assert [b.lines for b in blanks] == [["", " \t", ""], ["", ""]]
    assert not any(b.translatable for b in blanks)
    assert doc.render() == text


MARKDOWN_BITS = st.sampled_from(
    [
        *"#-*+>|`~=_ \t\n\r1.a:[]()<>!/hB\\x\ufeff기",
        *("```", "---", "http://", "<div>", "| --- |", "    ", "\r\n", "\u2028"),
        *("By ", "> ", "1. ", "- "),
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MARKDOWN_BITS, max_size=40).map("".join), st.sampled_from(["md", "txt"]))
def test_round_trip_markdownish(text: str, fmt: str) -> None:
    doc = parse(text, fmt)
    assert doc.render() == text
    texts = doc.translatable_texts()
    assert doc.render(texts).count("\n") == text.count("\n")


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(["md", "txt"]))
def test_round_trip_any_text(text: str, fmt: str) -> None:
    assert parse(text, fmt).render() == text


def test_crlf_and_bom_are_preserved() -> None:
    text = "\ufeffTitle\r\n\r\nBody line one\r\nand two.\r\n"
    doc = parse(text, "txt")
    assert doc.bom and doc.newline == "\r\n" and doc.trailing_newline
    assert doc.render() == text
    assert doc.render(["Titel", "Zeile eins und zwei."]) == (
        "\ufeffTitel\r\n\r\nZeile eins\r\nund zwei.\r\n"
    )


def test_mixed_line_endings_and_no_trailing_newline() -> None:
    text = "a\r\nb\nc\rd"
    doc = parse(text, "txt")
    assert doc.newline == "\r\n" or doc.newline == "\n"
    assert not doc.trailing_newline
    assert doc.render() == text


def test_render_replacements_keep_structure() -> None:
    text = (
        "# Title\n\n- item one that is\n  wrapped over lines\n\n> a quote\n> in two\n\n"
        "| A | B |\n|---|---|\n| c | d |\n\n```\ncode\n```\n\nhttps://x.org\n"
    )
    doc = parse(text)
    texts = doc.translatable_texts()
    assert texts == ["Title", "item one that is wrapped over lines", "a quote in two", *"ABcd"]
    new = [f"<{t.upper()}>" for t in texts]
    rendered = doc.render(new)
    assert rendered == (
        "# <TITLE>\n\n- <ITEM ONE THAT IS\n  WRAPPED OVER LINES>\n\n> <A QUOTE\n> IN TWO>\n\n"
        "| <A> | <B> |\n|---|---|\n| <C> | <D> |\n\n```\ncode\n```\n\nhttps://x.org\n"
    )
    again = parse(rendered)
    assert [(b.kind, len(b.lines)) for b in again.blocks] == [
        (b.kind, len(b.lines)) for b in doc.blocks
    ]


def test_table_cell_translation_cannot_add_cells() -> None:
    doc = parse("| a | b |\n|---|---|\n")
    assert doc.render(["x | y", "z"]) == "| x \\| y | z |\n|---|---|\n"


def test_setext_title_then_byline() -> None:
    assert shape("Title\n=====\nBy Jane Doe\n\nBody.\n", "txt")[2] == (
        "meta",
        "",
        ["By Jane Doe"],
        True,
    )


def test_render_checks_count() -> None:
    with pytest.raises(ValueError, match="expected 2 texts"):
        parse("Title\n\nBody.\n", "txt").render(["only one"])


REWRAP = [
    ("one two three four five six", [10, 30], ["one two", "three four five six"]),
    ("one two three four", [10, 10], ["one two", "three four"]),
    ("Hi there", [10, 10, 10], ["Hi", "there", ""]),
    ("这是一个很长的中文句子没有空格的", [10, 10, 5], ["这是一个很长", "的中文句子没有", "空格的"]),
    ("a  b\nc", [5], ["a b c"]),
    ("10\u00a0km away", [5, 5], ["10\u00a0km", "away"]),
]


@pytest.mark.parametrize(("text", "widths", "expected"), REWRAP)
def test_rewrap(text: str, widths: list[int], expected: list[str]) -> None:
    assert rewrap(text, widths) == expected


def test_text_joins_lines() -> None:
    assert Block("paragraph", "", ["one", "two"], True).text == "one two"
    assert Block("paragraph", "", ["中文", "句子"], True).text == "中文句子"
    assert Block("paragraph", "", ["한국어", "문장"], True).text == "한국어 문장"


def test_prose_skips_meta_and_urls() -> None:
    doc = parse("Title\nBy Jane Doe\n\nhttps://x.org\n\nFirst para.\n\nSecond.\n", "txt")
    assert doc.prose() == "Title\n\nFirst para.\n\nSecond."


def test_content_hash_normalises() -> None:
    base = content_hash("Caf\u00e9\nline\n")
    assert content_hash("\ufeffCafe\u0301\r\nline  \r\n\r\n") == base
    assert content_hash("Caf\u00e9\rline") == base
    assert content_hash("Cafe\nline") != base
    assert len(base) == 64


def test_read_document(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes("\ufeff# Title\r\n\r\nBody.\r\n".encode())
    doc = read_document(path)
    assert doc.fmt == "md" and doc.bom and doc.source == str(path)
    assert doc.render() == "\ufeff# Title\r\n\r\nBody.\r\n"
    text_path = tmp_path / "b.txt"
    text_path.write_text("Title\n", encoding="utf-8")
    assert read_document(str(text_path)).fmt == "txt"
    assert ".markdown" in SUPPORTED_SUFFIXES


ERRORS = [
    ("missing.txt", None, "no such file"),
    ("folder", "dir", "is a directory"),
    ("empty.txt", b"", "is empty"),
    ("blank.txt", b" \n\t\r\n", "only whitespace"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
    ("latin.txt", b"Title: caf\xe9 au lait", "not UTF-8 text (invalid byte 0xE9 at offset 10)"),
    ("wide.txt", "Title".encode("utf-16"), "UTF-16"),
]


@pytest.mark.parametrize(("name", "content", "problem"), ERRORS)
def test_read_document_errors(
    tmp_path: Path, name: str, content: bytes | str | None, problem: str
) -> None:
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_document(path)
    message = str(info.value)
    assert str(path) in message
    assert problem in message
    assert ";" in message  # and then what to do about it
