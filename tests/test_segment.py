"""Sentence splitting, protected spans, over-long splitting and reassembly."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.long_sentences import split_long
from workbench.segment import Piece, pieces, reassemble, split_sentences

SENTENCES = [
    # English traps: abbreviations, decimals, money, quotes, initials.
    ("en", "The U.S. economy grew 3.5% in Jan. 9 data. Dr. Smith agreed.",
     ["The U.S. economy grew 3.5% in Jan. 9 data. ", "Dr. Smith agreed."]),
    ("en", "Mr. Lee paid $3.50 for it. Then he left.",
     ["Mr. Lee paid $3.50 for it. ", "Then he left."]),
    ("en", '"Why?" she asked. He said nothing.', ['"Why?" she asked. ', "He said nothing."]),
    ("en", "Born in the U.S. He moved.", ["Born in the U.S. ", "He moved."]),
    ("en", "Approx. 5 people came. Vol. 3 is out.", ["Approx. 5 people came. ", "Vol. 3 is out."]),
    ("en", "He met J. Smith today. Ok then.", ["He met J. Smith today. ", "Ok then."]),
    ("en", "It was 5 p.m. on Monday. He left.", ["It was 5 p.m. on Monday. ", "He left."]),
    ("en", "**Bold.** Next one.", ["**Bold.** ", "Next one."]),
    ("en", "See https://x.org/a. Next one.", ["See https://x.org/a. ", "Next one."]),
    ("en", "Use `a. B` here. Fine.", ["Use `a. B` here. ", "Fine."]),
    ("en", "  Leading space. Trailing.  ", ["  Leading space. ", "Trailing.  "]),
    ("en", "No full stop\nat the line break. Then.", ["No full stop\n", "at the line break. ", "Then."]),
    ("en", "One.\n\n  Two.", ["One.\n\n  ", "Two."]),
    ("en", "", []),
    ("en", "   ", ["   "]),
    # Korean: endings, quotations glued to particles, dates, decimals.
    ("ko", "오늘은 날씨가 좋다. 내일은 비가 온다.", ["오늘은 날씨가 좋다. ", "내일은 비가 온다."]),
    ("ko", "정말요? 네, 맞습니다! 감사합니다.", ["정말요? ", "네, 맞습니다! ", "감사합니다."]),
    ("ko", 'A씨는 "괜찮다."고 말했다. 끝났다.', ['A씨는 "괜찮다."고 말했다. ', "끝났다."]),
    ("ko", "그는 “좋아요.”라고 말했다. 끝.", ["그는 “좋아요.”라고 말했다. ", "끝."]),
    ("ko", "정부는 2026. 1. 9. 발표했다. 끝.", ["정부는 2026. 1. 9. 발표했다. ", "끝."]),
    ("ko", "금리는 3.5%다. 미국 U.S. 경제가 좋다.", ["금리는 3.5%다. ", "미국 U.S. 경제가 좋다."]),
    ("ko", "그는 Mr. Kim을 만났다. 끝.", ["그는 Mr. Kim을 만났다. ", "끝."]),
    # Ukrainian abbreviations, initials and quoted speech.
    ("uk", "Це сталося 9 січ. 2026 р. у Києві. Далі було інше.",
     ["Це сталося 9 січ. 2026 р. у Києві. ", "Далі було інше."]),
    ("uk", "8 берез. 2022 р. сталося. Ок.", ["8 берез. 2022 р. сталося. ", "Ок."]),
    ("uk", "Він пішов за 5 хв. до того. Ок.", ["Він пішов за 5 хв. до того. ", "Ок."]),
    ("uk", "Т. зв. «експерти» сказали. Ок.", ["Т. зв. «експерти» сказали. ", "Ок."]),
    ("uk", "Ст. 5 закону. Вартість 5 млн. грн. на рік.", ["Ст. 5 закону. ", "Вартість 5 млн. грн. на рік."]),
    ("uk", "Див. напр. проф. Іваненка з вул. Хрещатик у м. Київ. Ок.",
     ["Див. напр. проф. Іваненка з вул. Хрещатик у м. Київ. ", "Ок."]),
    ("uk", "Університет ім. Шевченка. Гаразд.", ["Університет ім. Шевченка. ", "Гаразд."]),
    ("uk", "Він мав 10 тис. грн. боргу. Ок.", ["Він мав 10 тис. грн. боргу. ", "Ок."]),
    ("uk", "Дж. Байден заявив. Ок.", ["Дж. Байден заявив. ", "Ок."]),
    ("uk", "О. Петренко й І. Франко. Ок.", ["О. Петренко й І. Франко. ", "Ок."]),
    ("uk", "«Чому?» — спитала вона. Ок.", ["«Чому?» — спитала вона. ", "Ок."]),
    ("uk", "Були яблука, груші і т. д. Далі.", ["Були яблука, груші і т. д. ", "Далі."]),
    # Scripts without spaces still split without whitespace.
    ("zh", "你好。我很好。", ["你好。", "我很好。"]),
    ("ja", "「そうだ。」と言った。次。", ["「そうだ。」と言った。", "次。"]),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text", "expected"), SENTENCES)
def test_split_sentences(lang: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, lang) == expected


def test_unknown_language_code_falls_back() -> None:
    assert split_sentences("Hello there. World.", "xx") == ["Hello there. ", "World."]


MARKUP = st.sampled_from(
    [
        *"aZ .?!\n\r\t\"'«»()[]*_`<>/:#@1。다요ї—|\\~🙂",
        *("https://", "www.", "](", "**", "Dr. ", "січ. ", "a@b.co", "<b>", "[^1]"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(MARKUP, max_size=30).map("".join), st.sampled_from(["en", "ko", "uk", "zh"]))
def test_exact_join(text: str, lang: str) -> None:
    assert "".join(split_sentences(text, lang)) == text
    for markdown in (True, False):
        result = pieces(text, lang, markdown=markdown)
        assert "".join(p.text for p in result) == text
        for piece in result:
            assert piece.text
            if piece.translate:
                assert piece.text == piece.text.strip()
                assert any(ch.isalpha() for ch in piece.text)
        # Verbatim neighbours are merged, so the pieces alternate at least every other one.
        for first, second in pairwise(result):
            assert first.translate or second.translate


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.sampled_from(["en", "ko", "uk"]))
def test_exact_join_any_text(text: str, lang: str) -> None:
    assert "".join(split_sentences(text, lang)) == text
    assert "".join(p.text for p in pieces(text, lang)) == text


def texts(result: list[Piece], translate: bool) -> list[str]:
    return [p.text for p in result if p.translate is translate]


PROTECTED = [
    ('See [link text](http://url.org/a "Title") now.', ["See", "link text", "now."],
     [" [", '](http://url.org/a "Title") ']),
    ("An ![alt text](img/photo.png) here.", ["An", "alt text", "here."], [" ![", "](img/photo.png) "]),
    ("Go to <https://a.org/x> please.", ["Go to", "please."], [" <https://a.org/x> "]),
    ("Read [the report][ref] today.", ["Read", "the report", "today."], [" [", "][ref] "]),
    ("Call `run(x)` or ``a ` b`` now.", ["Call", "or", "now."], [" `run(x)` ", " ``a ` b`` "]),
    ("It is <b>very</b> big.", ["It is", "very", "big."], [" <b>", "</b> "]),
    ("It is **very** big.", ["It is", "very", "big."], [" **", "** "]),
    ("It is _quite_ big.", ["It is", "quite", "big."], [" _", "_ "]),
    ("Keep snake_case_name here.", ["Keep snake_case_name here."], []),
    ("A claim.[^1] Next one.", ["A claim.", "Next one."], ["[^1] "]),
    ("Mail kim@example.co.kr today.", ["Mail", "today."], [" kim@example.co.kr "]),
    ("see https://x.org/a.", ["see"], [" https://x.org/a."]),
    ("Read https://en.wikipedia.org/wiki/Foo_(bar), then stop.",
     ["Read", ", then stop."], [" https://en.wikipedia.org/wiki/Foo_(bar)"]),
    ("**중요**하다. 끝.", ["중요", "하다.", "끝."], ["**", "**", " "]),
    ("[![logo](a.png)](https://b.org)", ["logo"], ["[![", "](a.png)](https://b.org)"]),
    ("Price: 3.50 🙂 ok.", ["Price: 3.50 🙂 ok."], []),
]  # fmt: skip


@pytest.mark.parametrize(("text", "translated", "verbatim"), PROTECTED)
def test_protected_spans(text: str, translated: list[str], verbatim: list[str]) -> None:
    result = pieces(text, "en")
    assert "".join(p.text for p in result) == text
    assert texts(result, True) == translated
    assert texts(result, False) == verbatim


def test_letterless_and_whitespace_are_verbatim() -> None:
    result = pieces("  12:05 — 3.5%  ", "en")
    assert result == [Piece("  12:05 — 3.5%  ", False)]


def test_markdown_off_protects_only_urls() -> None:
    result = pieces("A **b** at www.x.org/p.", "en", markdown=False)
    assert texts(result, True) == ["A **b** at"]
    assert texts(result, False) == [" www.x.org/p."]


def test_sentences_become_separate_pieces() -> None:
    result = pieces("  First one. Second one.\n", "en")
    assert result == [
        Piece("  ", False),
        Piece("First one.", True),
        Piece(" ", False),
        Piece("Second one.", True),
        Piece("\n", False),
    ]


def test_reassemble_keeps_markup() -> None:
    text = "Read [the story](https://x.org/a_b) and **act**."
    result = pieces(text, "en")
    translated = reassemble(result, [t.upper() for t in texts(result, True)])
    assert translated == "READ [THE STORY](https://x.org/a_b) AND **ACT**."
    assert reassemble(result, texts(result, True)) == text


def test_reassemble_checks_count() -> None:
    with pytest.raises(ValueError, match="expected 2 translations"):
        reassemble([Piece("a", True), Piece(" ", False), Piece("b", True)], ["x"])


def words(text: str) -> int:
    return len(text.split())


def test_split_long_within_limit() -> None:
    assert split_long("short sentence here", 5, words) == ["short sentence here"]
    assert split_long("", 5, words) == [""]


def test_split_long_prefers_punctuation() -> None:
    text = "one two three; four five six, seven eight nine"
    assert split_long(text, 6, words) == ["one two three; ", "four five six, seven eight nine"]
    assert split_long(text, 3, words) == ["one two three; ", "four five six, ", "seven eight nine"]


def test_split_long_prefers_conjunctions() -> None:
    text = "the minister said the plan would work and the opposition disagreed strongly"
    assert split_long(text, 8, words) == [
        "the minister said the plan would work ",
        "and the opposition disagreed strongly",
    ]


def test_split_long_400_words() -> None:
    vocabulary = ["the", "market", "rose,", "and", "traders;", "said:", "prices", "fell"]
    text = " ".join(vocabulary[i % len(vocabulary)] for i in range(400)) + "."
    chunks = split_long(text, 50, words)
    assert "".join(chunks) == text
    assert len(chunks) >= 8
    assert all(words(chunk) <= 50 for chunk in chunks)


def test_split_long_korean_without_spaces() -> None:
    text = ("대한민국정부는오늘경제성장률을발표했다" * 20)[:300]
    chunks = split_long(text, 100, len)
    assert chunks == [text[:100], text[100:200], text[200:]]


def test_split_long_hard_splits_long_word() -> None:
    text = "a " + "x" * 25 + " b"
    chunks = split_long(text, 10, len)
    assert "".join(chunks) == text
    assert all(len(chunk) <= 10 for chunk in chunks)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab 가나,;:。")), min_size=1, max_size=120),
    st.integers(min_value=1, max_value=12),
)
def test_split_long_property(text: str, limit: int) -> None:
    for count in (len, words):
        chunks = split_long(text, limit, count)
        assert "".join(chunks) == text
        if count(text) > limit:
            assert all(count(chunk) <= limit for chunk in chunks)


def test_split_long_rejects_bad_limit() -> None:
    with pytest.raises(ValueError):
        split_long("text", 0, len)
