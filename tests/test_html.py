"""HTML pages and fragments: byte-identical round trips, what is and is not translated, the
page's tree unchanged by translation (checked with lxml, an independent parser), translations
made safe for HTML, bad files refused in one line each, and the whole pipeline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.helpers import expected_segments, manifest, run_translate_then_summarise
from workbench import Workbench, formats, inline, segment
from workbench.cli.app import app
from workbench.documents import Document, read_document
from workbench.errors import InputError
from workbench.settings import RunSettings

runner = CliRunner()

NEWS = """\
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="description" content="The council approved the harbour budget &amp; a new ferry.">
  <meta name="viewport" content="width=device-width">
  <title>Council approves harbour budget &mdash; City News</title>
  <link rel="stylesheet" href="/site.css" title="Default style">
  <style>p > a { color: #c00; } /* Do not translate this */</style>
  <script>var note = "<p>The script says hello</p>"; if (a < b && c) {}</script>
</head>
<body>
<nav aria-label="Main menu"><ul>
  <li><a href="/">Home</a></li>
  <li><a href="/world">World news</a></li>
</ul></nav>
<article>
  <h1>The council approves the <em>harbour</em> budget</h1>
  <p class="byline">By <a href="/staff/ana">Ana Silva</a>, 12 May 2026</p>
  <p>The city council voted on Monday to replace the old ferry.
     The new vessel will run on batteries &amp; solar panels, said
     <a href="https://example.org/mayor?id=1&amp;x=2" title="The mayor's page">the mayor</a>.<br>
     Tickets cost &euro;2&nbsp;each.</p>
  <figure>
    <img src="ferry.jpg" alt="The new ferry at the harbour" width="600">
    <figcaption>The new ferry, seen from the pier.</figcaption>
  </figure>
  <p>Run <code>ferry --help</code> for the timetable, or ask the staff.</p>
  <pre>departures  07:00
            07:15</pre>
  <table>
    <caption>Departures per day</caption>
    <tr><th>Day</th><th>Ferries</th></tr>
    <tr><td>Monday</td><td>48</td></tr>
  </table>
  <!-- Editors: check the ferry numbers before publishing. -->
  <p translate="no">City News Ltd</p>
  <p>The ferry is operated by <span class="notranslate">Harbour Lines</span> since May.</p>
  <ol><li>Buy a ticket</li><li>Board the ferry</li></ol>
  <form><input type="search" placeholder="Search the archive"><textarea>Leave this text</textarea></form>
</article>
<footer><p>Copyright 2026 City News. All rights reserved.</p></footer>
</body>
</html>
"""

FRAGMENT = """\
<h2>Residents welcome the decision</h2>
<p>Residents said the <b>new</b> ferry would help them reach work on time.</p>
<ul>
  <li>Faster trips to the islands</li>
  <li>Quieter engines</li>
</ul>
"""

NESTED = (
    '<p>The <b>council\'s <i>final <a href="/d">vote</a></i> on the budget</b> came late, '
    '<span lang="en">said <abbr title="Member of Parliament">MP</abbr> Kim</span>.</p>\n'
)

VOID = (
    "<p>First line<br>second line<br/>third line<wbr>end.</p>\n<hr>\n"
    '<p><img src="a.png" alt="A map of the harbour"> The map shows the new route.</p>\n'
    "<p>Name: <input type=text placeholder=Name> and <img src=b.png alt=Signature> here.</p>\n"
)

MALFORMED = """\
<div>Loose text in a div <p>An unclosed paragraph
<p>Another one</div>
</div></span>
<ul><li>One item<li>Two items</ul>
<table><tr><td>Cell one<td>Cell two</table>
<p>Stray end tags above did not stop this sentence.
"""

DOCUMENTS = {"news": NEWS, "fragment": FRAGMENT, "nested": NESTED, "void": VOID, "bad": MALFORMED}

# What a model could write: markup, a bare ampersand, quotes.
NASTY = ' <script>alert("x")</script> AT&T < 3 "q" \'s'


def parse(text: str) -> Document:
    return formats.get("html").parse(text)


def _answer(piece: segment.Piece, output: str) -> str:
    """``output`` as the pipeline puts it into the page: placeholders restored."""
    encoded = getattr(piece, "encoded", None)
    return inline.restore(encoded, output) if encoded is not None else output


def fake_translation(doc: Document, say: str = NASTY, lang: str = "uk", whole: bool = True) -> str:
    """The page as the pipeline would put it back, with every sentence marked as translated
    and followed by ``say`` (text a model might write); ``whole``: sentences with markup sent
    whole with placeholders, else in fragments."""
    texts = []
    syntax = inline.syntax_of(doc.format.inline_markup)
    for text in doc.translatable_texts():
        pieces = inline.pieces(text, "en", syntax, whole=whole)
        targets = [_answer(p, "УК " + p.text + say) for p in pieces if p.translate]
        texts.append(segment.reassemble(pieces, targets))
    return doc.render_translation(texts, lang)


def tree(text: str, skip: frozenset[str] = frozenset()) -> object:
    """The element tree lxml reads: tags, nesting and attributes (but those in ``skip``)."""
    lxml_html = pytest.importorskip("lxml.html")
    etree = pytest.importorskip("lxml.etree")
    full = re.search(r"<html", text, re.IGNORECASE) is not None
    root = (
        lxml_html.document_fromstring(text)
        if full
        else lxml_html.fragment_fromstring(text, create_parent="div")
    )

    def shape(el: object) -> object:
        if el.tag is etree.Comment:
            return ("#comment", el.text)
        attrs = tuple(sorted((k, v) for k, v in el.attrib.items() if k not in skip))
        return (el.tag, attrs, [shape(c) for c in el])

    return shape(root)


def blocks(text: str) -> list[tuple[str, str]]:
    return [(b.kind, b.text) for b in parse(text).translatable_blocks()]


# --- reading and writing back ------------------------------------------------------------


@pytest.mark.parametrize("name", DOCUMENTS)
def test_round_trip_is_byte_identical(name: str) -> None:
    text = DOCUMENTS[name]
    for variant in (text, text.replace("\n", "\r\n"), "\ufeff" + text, text.rstrip("\n")):
        doc = parse(variant)
        assert doc.render() == variant
        # The source texts put back are the source again, line breaks and all.
        assert doc.render(doc.translatable_texts()) == variant


# Pieces of HTML, well-formed and not, that random documents are made of.
PIECES = [
    "<p>", "</p>", "<b>", "</b>", "<a href='x y'>", "</a>", "<br>", "<img alt=Hi src=a>", "<code>",
    "</code>", "<!-- c -->", "<!--", "-->", "<script>", "</script>", "<div translate=no>", "</div>",
    "<li>", "<", ">", "&", "&amp;", "&copy", "&#x41;", "\n", "\r\n", " ", "\t", "Word",
    "text here.", "<html lang=en>", "<meta charset=latin1>", "<title>", "</title>", "<textarea>",
    "</textarea>", "<o:p>", "<a\n title='a > b'>", "<![CDATA[x]]>", "<?php x ?>", "<!DOCTYPE html>",
    "</", "<p class=notranslate>", "'", '"', "=", "Київ", "서울", '<span title="T\nx">', "</span>",
    "<span translate=no>", "<kbd class='k'>", "</kbd>", "<b class=notranslate>", "<code/>",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30))
def test_any_text_reads_and_writes_back(pieces: list[str]) -> None:
    text = "".join(pieces)
    doc = parse(text)
    assert doc.render() == text
    assert doc.render(doc.translatable_texts()) == text
    out = fake_translation(doc)
    assert "<script>alert" not in out


def test_what_a_news_page_translates() -> None:
    found = blocks(NEWS)
    texts = [t for _, t in found]
    assert ("meta", "The council approved the harbour budget &amp; a new ferry.") in found
    assert ("title", "Council approves harbour budget &mdash; City News") in found
    assert ("heading", "The council approves the <em>harbour</em> budget") in found
    assert ("meta", "Main menu") in found  # aria-label
    assert ("related", '<a href="/world">World news</a>') in found  # nav: not the body
    assert ("caption", "The new ferry at the harbour") in found  # alt
    assert ("caption", "The new ferry, seen from the pier.") in found
    assert ("caption", "Departures per day") in found
    assert ("table", "Ferries") in found and ("meta", "Search the archive") in found
    assert ("list_item", "Buy a ticket") in found
    assert ("related", "Copyright 2026 City News. All rights reserved.") in found
    body = [t for k, t in found if k == "paragraph"]
    # One paragraph over three lines is one block, inline tags and entities kept verbatim.
    assert ("meta", 'By <a href="/staff/ana">Ana Silva</a>, 12 May 2026') in found  # a byline
    assert body[0] == (
        "The city council voted on Monday to replace the old ferry. The new vessel will run on "
        'batteries &amp; solar panels, said <a href="https://example.org/mayor?id=1&amp;x=2" '
        'title="The mayor\'s page">the mayor</a>.<br> Tickets cost &euro;2&nbsp;each.'
    )
    assert "The mayor's page" in texts  # the link's title attribute
    # Code, scripts, styles, preformatted text, comments, translate="no" and notranslate
    # never reach a model; inline code and a notranslate span stay inside their paragraphs,
    # which go to the model whole with the element as one placeholder.
    run = "Run <code>ferry --help</code> for the timetable, or ask the staff."
    operated = 'The ferry is operated by <span class="notranslate">Harbour Lines</span> since May.'
    assert ("paragraph", run) in found and ("paragraph", operated) in found
    inputs = [p.text for t in texts for p in inline.pieces(t, "en", "html") if p.translate]
    assert "Run <x1/> for the timetable, or ask the staff." in inputs
    assert "The ferry is operated by <x1/> since May." in inputs
    for never in (
        "ferry --help", "departures", "script says", "Do not translate", "Editors",
        "City News Ltd", "Harbour Lines", "Leave this text", "Default style", "device-width",
    ):  # fmt: skip
        assert not any(never in t for t in inputs), never
        assert not any(never in t for t in texts if t not in (run, operated)), never
    assert len(texts) == len(set(texts))


def test_malformed_html_still_splits_at_blocks() -> None:
    assert [t for _, t in blocks(MALFORMED)] == [
        "Loose text in a div",
        "An unclosed paragraph",
        "Another one",
        "One item",
        "Two items",
        "Cell one",
        "Cell two",
        "Stray end tags above did not stop this sentence.",
    ]


def test_translate_yes_inside_no_and_rigid_elements() -> None:
    text = (
        '<div translate="no"><p>Brand Name</p><p translate="yes">A sentence to translate.</p></div>\n'
        '<pre translate="yes">Never translated inside pre.</pre>\n'
        "<p>Say <kbd>Ctrl C</kbd> to copy, <var>x</var> is a variable.</p>\n"
    )
    assert [t for _, t in blocks(text)] == [
        "A sentence to translate.", "Say <kbd>Ctrl C</kbd> to copy, <var>x</var> is a variable.",
    ]  # fmt: skip


# Inline elements never translated, inside their sentences: over lines, with odd spacing,
# nested tags and entities, so that "byte-identical" means something.
KEPT = (
    "<p>Run <code>ferry\n   --help  &amp;&amp; exit</code> for the timetable.</p>\n"
    '<p>The ferry is run by <span class="brand notranslate">Harbour <b>Lines</b></span> '
    "since <b>May</b>.</p>\n"
    "<p><kbd>Ctrl</kbd>+<kbd>C</kbd> copies the <samp>OK</samp> answer, and\n"
    '<var>n</var> counts <a href="/t" translate="no">Tallink</a> trips.</p>\n'
    '<p>Ask <span translate="no">Ana <em translate="yes">the captain</em></span> first.</p>\n'
)
KEPT_ELEMENTS = (
    "<code>ferry\n   --help  &amp;&amp; exit</code>",
    '<span class="brand notranslate">Harbour <b>Lines</b></span>',
    "<kbd>Ctrl</kbd>",
    "<kbd>C</kbd>",
    "<samp>OK</samp>",
    "<var>n</var>",
    '<a href="/t" translate="no">Tallink</a>',
    '<span translate="no">Ana <em translate="yes">the captain</em></span>',
)


def test_untranslated_inline_elements_stay_in_their_sentence_as_one_atom() -> None:
    doc = parse(KEPT)
    texts = doc.translatable_texts()
    assert len(texts) == 4  # one block per paragraph: no element cuts one
    inputs = [p for t in texts for p in inline.pieces(t, "en", "html") if p.translate]
    assert [p.text for p in inputs] == [
        "Run <x1/> for the timetable.",
        "The ferry is run by <x1/> since <g2>May</g2>.",
        "<x1/>+<x2/> copies the <x3/> answer, and <x4/> counts <x5/> trips.",
        # translate="yes" inside a kept inline element is not honoured: it stays whole.
        "Ask <x1/> first.",
    ]
    assert inputs[0].encoded.atoms == {1: "<code>ferry --help &amp;&amp; exit</code>"}
    for p in inputs:  # nothing inside the elements reaches a model
        for never in ("--help", "Harbour", "Lines", "Ctrl", "OK", "Tallink", "Ana", "captain"):
            assert never not in p.text
    assert doc.recipe_extra() == {"html_kept_inline": 1}
    # Pages without such an element keep their cache keys.
    assert parse(FRAGMENT).recipe_extra() == {} and parse(NESTED).recipe_extra() == {}


@pytest.mark.parametrize("whole", [True, False])
def test_untranslated_inline_elements_come_back_byte_identical(whole: bool) -> None:
    doc = parse(KEPT)
    out = fake_translation(doc, whole=whole)
    for element in KEPT_ELEMENTS:
        assert out.count(element) == 1, element
    assert tree(out) == tree(KEPT)
    assert parse(out).render() == out
    # A model that moves the placeholder: the element moves with it, byte for byte.
    (piece,) = [p for p in inline.pieces(doc.translatable_texts()[0], "en", "html") if p.translate]
    moved = inline.restore(piece.encoded, "<x1/> запускає розклад.")
    out = doc.render([moved, *doc.translatable_texts()[1:]])
    assert out.startswith("<p><code>ferry\n   --help  &amp;&amp; exit</code> запускає розклад.</p>")


def test_an_untranslated_element_at_either_end_of_a_paragraph_stays_in_it() -> None:
    text = "<p><code>ferry</code> prints the timetable.</p>\n<p>Then type <kbd>q</kbd></p>\n"
    assert [t for _, t in blocks(text)] == [
        "<code>ferry</code> prints the timetable.",
        "Then type <kbd>q</kbd>",
    ]
    # Nothing but code and punctuation: nothing to translate.
    assert blocks("<p><code>ferry --help</code>.</p>") == []


def test_an_inline_element_that_does_not_end_inside_its_paragraph_splits_it() -> None:
    # Never closed, or holding a block: read as before (the text run stops at the element).
    text = (
        "<p>Run <code>ferry --help for the timetable.</p>\n"
        "<p>Then <span translate=no>x<div>block</div></span> here.</p>\n"
        "<p>Now <span translate=no>x <span translate=yes>y <code>z<hr>w</span></span> v.</p>\n"
        "<p>Use <code>a\n"
    )
    doc = parse(text)
    assert doc.render() == text and doc.render(doc.translatable_texts()) == text
    assert [t for _, t in blocks(text)] == [
        "Run", "Then", "here.", "Now", "y", "w</span></span> v.", "Use",
    ]  # fmt: skip
    assert doc.recipe_extra() == {}


def test_tags_that_segmentation_would_not_keep_end_a_block() -> None:
    # <o:p> (Word's HTML) is not a tag Markdown's rules keep whole: it is left out of the text.
    # Nor is a tag whose attribute holds a ">" before more words.
    text = "<p>Before the tag<o:p></o:p> after it.</p>\n<p>A <a title='a > b'>link</a> here.</p>\n"
    texts = [t for _, t in blocks(text)]
    assert texts == ["Before the tag", "after it.", "A", "a > b", "link</a> here."]


# --- the page after translation ----------------------------------------------------------

# Attributes a translation changes: those translated, and the page's language and charset.
CHANGED = frozenset({"alt", "title", "placeholder", "aria-label", "content", "lang", "dir"})


@pytest.mark.parametrize("name", DOCUMENTS)
def test_translation_keeps_the_tree(name: str) -> None:
    text = DOCUMENTS[name]
    out = fake_translation(parse(text))
    assert tree(out, CHANGED) == tree(text, CHANGED)
    # No markup from the model: its tags and ampersands are text.
    assert "<script>alert" not in out
    assert out.count("&lt;script") == len(expected_segments(parse(text), "en"))
    assert "AT&amp;T &lt; 3" in out


def test_untranslated_parts_come_out_byte_identical() -> None:
    out = fake_translation(parse(NEWS))
    for kept in (
        "<!DOCTYPE html>",
        '<meta name="viewport" content="width=device-width">',
        '<link rel="stylesheet" href="/site.css" title="Default style">',
        "<style>p > a { color: #c00; } /* Do not translate this */</style>",
        '<script>var note = "<p>The script says hello</p>"; if (a < b && c) {}</script>',
        '<a href="https://example.org/mayor?id=1&amp;x=2" title="',
        "<code>ferry --help</code>",
        "<pre>departures  07:00\n            07:15</pre>",
        "<!-- Editors: check the ferry numbers before publishing. -->",
        '<p translate="no">City News Ltd</p>',
        '<span class="notranslate">Harbour Lines</span>',
        "<textarea>Leave this text</textarea>",
        # Entities in translated text reach the model as characters and come back as
        # characters (UTF-8 output), except the three that HTML needs escaped.
        "\u2014 City News",
        "\u20ac2\u00a0each.",
        "batteries &amp; solar",
    ):
        assert kept in out, kept
    assert out.count("\n") == NEWS.count("\n")
    assert (
        '<img src="ferry.jpg" alt="УК The new ferry at the harbour' in out and 'width="600">' in out
    )


def test_language_direction_and_charset_of_the_page() -> None:
    doc = parse(NEWS.replace('<meta charset="utf-8">', '<meta charset="ISO-8859-1">'))
    out = fake_translation(doc, "", "uk")
    assert out.startswith('<!DOCTYPE html>\n<html lang="uk">') and '<meta charset="utf-8">' in out
    arabic = fake_translation(
        parse(
            '<html><head><meta http-equiv="Content-Type" '
            'content="text/html; charset=windows-1252"></head>'
            "<body><p>The council met.</p></body></html>"
        ),
        "",
        "ar",
    )
    assert arabic.startswith('<html lang="ar" dir="rtl">')
    assert 'content="text/html; charset=utf-8"' in arabic
    back = fake_translation(parse('<html dir="rtl" xml:lang="ar" lang=ar><p>Text.</p></html>'), "")
    assert back.startswith('<html dir="ltr" xml:lang="uk" lang="uk">')
    # A fragment has no <html> to say it; a page with nothing to translate is copied as is.
    assert "lang=" not in fake_translation(parse(FRAGMENT), "")
    empty = '<html lang="en"><body><p>2026</p><img src="x.png"></body></html>\n'
    assert parse(empty).translatable_texts() == []
    assert fake_translation(parse(empty)) == empty


def test_attribute_values_are_quoted_and_escaped() -> None:
    doc = parse("<img alt=Harbour src=a.png><img alt='The view' src=b.png>")
    out = doc.render(['Quote " & <b>', "It's here"])
    assert out == (
        "<img alt=\"Quote &quot; &amp; &lt;b>\" src=a.png><img alt='It&#39;s here' src=b.png>"
    )


def test_entities_are_kept_and_lost_tags_put_back() -> None:
    doc = parse("<p>Tom &amp; Jerry &copy 2026 &#8212; <b>bold</b> end.</p>")
    (text,) = doc.translatable_texts()
    assert doc.render([text]) == "<p>Tom &amp; Jerry &copy 2026 &#8212; <b>bold</b> end.</p>"
    # A model that dropped the tags and invented an entity-looking word: tags come back at
    # the end, the bare ampersand is escaped.
    assert doc.render(["Том &amp; Джеррі &bogus; кінець"]) == (
        "<p>Том &amp; Джеррі &amp;bogus; кінець <b></b></p>"
    )


def test_a_paragraph_over_several_lines_keeps_its_lines_and_tags_whole() -> None:
    text = (
        '<p>One two three four\n   <a href="x y"\n      title="t">five six</a> seven\n   eight.</p>'
    )
    doc = parse(text)
    para, _ = doc.translatable_texts()
    assert para == 'One two three four <a href="x y" title="t">five six</a> seven eight.'
    out = doc.render([para.replace("five six", "п'ять шість").replace("One", "Один"), "T"])
    assert out.count("\n") == text.count("\n")
    assert '<a href="x y"\n      title="T">п\'ять шість</a>' in out  # the tag's line break kept


def test_plain_text_for_summaries_and_detection() -> None:
    doc = parse(NEWS)
    prose = doc.prose()
    assert "<" not in prose and "&amp;" not in prose and "batteries & solar" in prose
    assert formats.get("html").plain("<b>Kyiv</b>&#39;s <br>port") == "Kyiv's port"
    # The text of code and of translate="no" elements is kept: it is part of the sentence a
    # reader (and a summary) sees.
    assert "Run ferry --help for the timetable, or ask the staff." in prose
    assert "operated by Harbour Lines since May." in prose


def test_lead_summary_has_no_fragments_of_sentences_around_code(tmp_path: Path) -> None:
    page = (
        "<html><body><article>\n<p>Run <code>ferry --help</code> for the timetable, or ask "
        "the staff at the pier.</p>\n"
        '<p>The ferry is operated by <span class="notranslate">Harbour Lines</span> since May. '
        "It carries two hundred passengers.</p>\n</article></body></html>\n"
    )
    from workbench.tasks.summarise.lead import body_sentences

    assert body_sentences(parse(page), "en") == [
        "Run ferry --help for the timetable, or ask the staff at the pier.",
        "The ferry is operated by Harbour Lines since May.",
        "It carries two hundred passengers.",
    ]
    path = tmp_path / "ferry.html"
    path.write_text(page, encoding="utf-8")
    out = tmp_path / "out"
    res = cli("summarise", str(path), "--model", "lead", "--from", "en", "--out", str(out))
    assert res.exit_code == 0, res.output
    summary = (out / "ferry.summary.en.txt").read_text("utf-8")
    assert summary.startswith("Run ferry --help for the timetable, or ask the staff at the pier.")
    assert "The ferry is operated by Harbour Lines since May." in summary
    assert not any(line.strip() in ("Run", "for the timetable") for line in summary.splitlines())


# --- bad files -------------------------------------------------------------------------


def bad_files(folder: Path) -> dict[str, str]:
    """Each bad file and the words its one error line must carry."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "junk.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xd8 junk")
    (folder / "cyrillic.html").write_bytes(
        '<html><head><meta charset="windows-1251"></head><body><p>Привіт світ.</p></body></html>'.encode(
            "cp1251"
        )
    )
    (folder / "latin.htm").write_bytes(b"<p>Caf\xe9 au lait is served.</p>")
    (folder / "empty.html").write_bytes(b"")
    return {
        "junk.html": "binary",
        "cyrillic.html": "declares windows-1251; re-save it as UTF-8",
        "latin.htm": "is not UTF-8 text",
        "empty.html": "is empty",
    }


def test_bad_files_are_refused_in_one_line_each(tmp_path: Path) -> None:
    for name, words in bad_files(tmp_path).items():
        with pytest.raises(InputError, match=re.escape(words)) as err:
            read_document(tmp_path / name)
        assert name in str(err.value) and "\n" not in str(err.value)


# --- through the pipeline ---------------------------------------------------------------


def cli(*args: str):
    return runner.invoke(app, list(args))


def model_args(tiny) -> list[str]:
    return ["--model", str(tiny("marian-multi")), "--backend", "torch", "--beams", "1"]


def test_api_translates_html_text_and_files(tiny, tmp_path: Path) -> None:
    wb = Workbench(cache=False, beams=1, run=RunSettings(backend="torch"))
    model = str(tiny("marian-multi"))
    result = wb.translate(NEWS, to="uk", src="en", model=model, fmt="html")
    assert result.error is None and result.text is not None
    assert tree(result.text, CHANGED) == tree(NEWS, CHANGED)
    assert '<html lang="uk">' in result.text and "<code>ferry --help</code>" in result.text
    assert [s.source for s in result.segments] == expected_segments(parse(NEWS), "en")
    assert result.verdict in ("pass", "flag")
    path = tmp_path / "page.htm"
    path.write_text(NEWS, encoding="utf-8")
    assert wb.translate(path, to="uk", src="en", model=model).text == result.text
    # A page with inline code is keyed apart from the same recipe's pages without any (whose
    # keys stay as they were before inline code was kept in its sentence).
    plain_key = wb.translate(FRAGMENT, to="uk", src="en", model=model, fmt="html").key
    assert plain_key != result.key
    assert wb.translate(NESTED, to="uk", src="en", model=model, fmt="html").key == plain_key
    # The same text read as Markdown is another document, under another cache key.
    md = wb.translate(NEWS, to="uk", src="en", model=model)
    assert md.key != result.key and md.signature == result.signature


def test_folder_run_cache_provenance_bad_files_and_export(tiny, tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "pages").mkdir(parents=True)
    (src / "pages" / "news.html").write_text(NEWS, encoding="utf-8")
    (src / "fragment.htm").write_text(FRAGMENT.replace("\n", "\r\n"), encoding="utf-8")
    (src / "nothing.html").write_text("<html><body><p>2026</p></body></html>\n", "utf-8")
    errors = bad_files(src / "bad")
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite3"
    args = ["translate", str(src), "--to", "uk", "--from", "en", *model_args(tiny),
            "--cache", str(cache), "--out", str(out)]  # fmt: skip
    res = cli(*args)
    assert res.exit_code == 1, res.output
    lines = [x for x in res.stderr.splitlines() if "error" in x]
    assert len(lines) == len(errors)
    for name, words in errors.items():
        (line,) = [x for x in lines if name in x]
        assert words in line
    news, fragment = out / "pages" / "news.uk.html", out / "fragment.uk.htm"
    assert tree(news.read_text("utf-8"), CHANGED) == tree(NEWS, CHANGED)
    assert fragment.read_bytes().count(b"\r\n") == FRAGMENT.count("\n")
    nothing = out / "nothing.uk.html"
    assert nothing.read_text("utf-8") == "<html><body><p>2026</p></body></html>\n"
    prov = json.loads((out / "nothing.uk.html.json").read_text("utf-8"))
    assert "nothing to translate: copied unchanged" in prov["notes"]
    prov = json.loads(news.with_name(news.name + ".json").read_text("utf-8"))
    assert prov["source_lang"] == "en" and prov["target_lang"] == "uk" and prov["key"]
    rows = {Path(r["input"]).name: r for r in manifest(out)}
    assert not rows["news.html"]["error"] and rows["junk.html"]["error"]
    first = {p: p.read_bytes() for p in (news, fragment)}
    for p in first:
        p.unlink()
    res = cli(*args)  # answered from the cache: no model work
    assert {p: p.read_bytes() for p in first} == first
    rows = {Path(r["input"]).name: r for r in manifest(out)}
    assert rows["news.html"]["cache"] == rows["fragment.htm"]["cache"] == "document"
    # XLIFF out of the run, and back in unchanged.
    res = cli("export", str(out), "--format", "xliff", "--cache", str(cache))
    assert res.exit_code == 0, res.output
    xlf = news.with_name(news.name + ".xlf")
    body = xlf.read_text("utf-8")
    assert "<unit " in body
    # The code is one inline code of its sentence (<ph>), its markup whole in <originalData>.
    assert body.count("ferry --help") == body.count("&lt;code&gt;ferry --help&lt;/code&gt;") == 1
    assert '<source>Run <ph id="1" dataRef="d1"' in body
    res = cli("import-xliff", str(out), str(xlf), "--cache", str(cache))
    assert res.exit_code == 0, res.output
    assert news.read_bytes() == first[news]


def test_lead_summary_of_a_page_is_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "news.html"
    path.write_text(NEWS, encoding="utf-8")
    out = tmp_path / "out"
    res = cli("summarise", str(path), "--model", "lead", "--from", "en", "--out", str(out))
    assert res.exit_code == 0, res.output
    summary = (out / "news.summary.en.txt").read_text("utf-8")
    assert summary.startswith("By Ana Silva, 12 May 2026") or summary.startswith("The city council")
    assert "<" not in summary and "&amp;" not in summary and "Home" not in summary


def test_a_job_file_translates_pages_then_summarises(tiny, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "news.html").write_text(NEWS, encoding="utf-8")
    out = run_translate_then_summarise(tmp_path, tiny("marian-multi"))
    assert tree((out / "news.uk.html").read_text("utf-8"), CHANGED) == tree(NEWS, CHANGED)
    for lang in ("en", "uk"):
        assert "<" not in (out / f"news.summary.{lang}.txt").read_text("utf-8")
