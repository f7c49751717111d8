"""Whole sentences around inline markup: placeholders, their checks, and the pipeline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workbench import Workbench, inline, segment, signature
from workbench.inline import Marked, PlaceholderError, Protect, encode, restore

SENTENCE = "The **new** ferry costs [€2](https://x.example/p?a=1&b=(2)) with `fare --max`."


def test_a_sentence_with_markup_is_one_text_with_placeholders() -> None:
    enc = encode(SENTENCE)
    assert enc is not None
    assert enc.text == "The <g1>new</g1> ferry costs <g2>€2</g2> with <x3/>."
    assert enc.pairs == {1: ("**", "**"), 2: ("[", "](https://x.example/p?a=1&b=(2))")}
    assert enc.atoms == {3: "`fare --max`"}
    # Kept: the markup comes back byte for byte, link target and code included.
    out = restore(enc, "Новий <g1>пором</g1> коштує <g2>€2</g2> з <x3/>.")
    assert out == "Новий **пором** коштує [€2](https://x.example/p?a=1&b=(2)) з `fare --max`."


def test_korean_word_order_and_particles_glued_after_a_closing_tag() -> None:
    enc = encode(SENTENCE)
    assert enc is not None
    out = restore(enc, "<x3/>로 <g2>€2</g2>인 <g1>새</g1> 페리.")
    assert out == "`fare --max`로 [€2](https://x.example/p?a=1&b=(2))인 **새** 페리."
    # '_' emphasis does not work inside a word in CommonMark: '*' is used where glued.
    underscored = encode("The _new_ ferry and _old_ one.")
    assert underscored is not None
    assert restore(underscored, "<g1>새</g1>로운 배와 <g2>옛</g2> 배.") == "*새*로운 배와 _옛_ 배."


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("The <g1>new</g1> ferry costs €2 with <x3/>.", "lost"),
        ("The <g1>new</g1> ferry costs <g2>€2</g2> with <x3/> <x3/>.", "duplicated"),
        ("The </g1>new<g1> ferry costs <g2>€2</g2> with <x3/>.", "out of order"),
        ("The <g1>new <g2>ferry</g1> costs €2</g2> with <x3/>.", "out of order"),
        ("The <g1></g1> ferry costs <g2>€2</g2> with <x3/>.", "empty"),
        ("The <g1>new</g1> ferry costs <g2>€2</g2> with <x3/><x7/>.", "unknown"),
    ],
)
def test_outputs_with_broken_placeholders_are_refused(output: str, reason: str) -> None:
    enc = encode(SENTENCE)
    assert enc is not None
    with pytest.raises(PlaceholderError, match=reason):
        restore(enc, output)


def test_nested_pairs_and_whitespace_inside_a_pair() -> None:
    enc = encode("See *the [new **ferry**](https://x.example) page* today.")
    assert enc is not None
    assert enc.text == "See <g1>the <g2>new <g3>ferry</g3></g2> page</g1> today."
    # Spaces a model puts just inside a pair go outside it: "** new **" is not emphasis.
    out = restore(enc, "Дивіться<g1> <g2>нову <g3> переправу </g3></g2>сторінку </g1>сьогодні.")
    assert out == "Дивіться *[нову **переправу**](https://x.example) сторінку* сьогодні."
    # Tolerant of what models do to the tags' spelling.
    assert (
        restore(enc, "< G1 >a <g2>b <g3>c</ g3></g2></g1>.") == "*a [b **c**](https://x.example)*."
    )


def test_crossing_markup_and_unpaired_delimiters_become_atoms() -> None:
    enc = encode("A *b [c* d](x) e.")
    assert enc is not None
    assert sorted(enc.atoms.values()) == ["*", "*"] and list(enc.pairs.values()) == [("[", "](x)")]
    assert len(set(enc.atoms)) == 2  # numbered apart


def test_atoms_urls_escapes_footnotes_and_html() -> None:
    text = r"Mail a@b.org, see <https://a.example> or https://b.example/x[^1] \* <br> <b>now</b>."
    enc = encode(text)
    assert enc is not None
    assert "<https://a.example>" in enc.atoms.values() and "<br>" in enc.atoms.values()
    assert ("<b>", "</b>") in enc.pairs.values()
    back = restore(enc, enc.text)
    assert back == text


def test_html_syntax_pairs_tags_and_escapes_text() -> None:
    text = (
        '<b>Tom &amp; Jerry</b> said &lt;hi&gt; at <a href="x?a=1&amp;b=2">the <i>pier</i></a><br>.'
    )
    enc = encode(text, "html")
    assert enc is not None
    # Entities are decoded for the model; Markdown means nothing in HTML.
    assert enc.text == "<g1>Tom & Jerry</g1> said <hi> at <g2>the <g3>pier</g3></g2><x4/>."
    assert encode("a **b** c", "html").text == "a **b** c"  # type: ignore[union-attr]
    out = restore(enc, "<g1>Том & Джеррі</g1> сказали <привіт> біля <g2><g3>пірсу</g3></g2><x4/>.")
    assert out == (
        "<b>Том &amp; Джеррі</b> сказали &lt;привіт&gt; біля "
        '<a href="x?a=1&amp;b=2"><i>пірсу</i></a><br>.'
    )
    # Fragment mode decodes and escapes too.
    frags = inline.pieces("Fish &amp; <b>chips</b> here.", "en", "html", whole=False)
    texts = [p.text for p in frags if p.translate]
    assert texts == ["Fish &", "chips", "here."]
    marked = [p for p in frags if isinstance(p, Marked)]
    assert restore(marked[0].encoded, "Риба &") == "Риба &amp;"  # type: ignore[arg-type]


def test_the_protect_hook_keeps_or_imposes_terms() -> None:
    text = "The Verkhovna Rada met in Kyiv on **Monday**."
    i, j = text.index("Verkhovna Rada"), text.index("Kyiv")
    enc = encode(text, "markdown", [Protect(i, i + 14, "Верховна Рада"), Protect(j, j + 4, "Kyiv")])
    assert enc is not None
    assert enc.text == "The <x1/> met in <x2/> on <g3>Monday</g3>."
    assert restore(enc, "<x1/> зібралася в <x2/> у <g3>понеділок</g3>.") == (
        "Верховна Рада зібралася в Kyiv у **понеділок**."
    )
    # Through pieces: a plain-text sentence with a protected term is sent whole too.
    found = inline.pieces(
        "Kyiv is calm. Rain later.",
        "en",
        None,
        protect=lambda s: [Protect(0, 4, "Kyiv")] * ("Kyiv" in s),
    )
    assert [p.text for p in found if p.translate] == ["<x1/> is calm.", "Rain later."]


def test_sentences_without_markup_are_cut_as_before() -> None:
    text = "Plain first sentence. Then **bold** one. Last `code` and [a link](https://x.example)."
    new = inline.pieces(text, "en", "markdown")
    old = segment.pieces(text, "en", markdown=True)
    assert new[0] == old[0] == segment.Piece("Plain first sentence.", True)
    marked = [p for p in new if isinstance(p, Marked)]
    assert [p.source for p in marked] == [
        "Then **bold** one.",
        "Last `code` and [a link](https://x.example).",
    ]
    # Fragments (the fallback) are exactly the old pieces of those sentences.
    old_texts = [p.text for p in old if p.translate]
    frag_texts = [p.text for m in marked for p in m.fragments if p.translate]
    assert [
        p.text for p in new if p.translate and not isinstance(p, Marked)
    ] + frag_texts == old_texts
    # Plain formats are untouched.
    assert inline.pieces(text, "en", None) == segment.pieces(text, "en", markdown=False)
    # A sentence of markup and no words is copied.
    assert inline.pieces("`x = 1`", "en", "markdown") == [segment.Piece("`x = 1`", False)]


# --- the pipeline, with tiny models -----------------------------------------------------------

ARTICLE = """# Ferry news

The **new** ferry costs [€2](https://x.example/p?a=1) from Monday.
Residents welcomed the change after a long meeting.
Run `ferry --times` to see the timetable.
"""


def _seg_prefix(wb: Workbench, model: str, tmp_path: Path) -> str:
    # A plain-text file's key is its model's segment key (no placeholder scheme in it).
    txt = tmp_path / "plain.txt"
    txt.write_text("Hello there.\n", encoding="utf-8")
    result = wb.translate(txt, "uk", src="en", model=model)
    assert result.key is not None and "inline" not in (result.signature or "")
    return result.key


def test_pipeline_sends_whole_sentences_and_falls_back_per_sentence(tiny, tmp_path: Path) -> None:
    model = str(tiny("marian-multi"))
    doc = tmp_path / "a.md"
    doc.write_text(ARTICLE, encoding="utf-8")
    wb = Workbench(cache=tmp_path / "cache", backend="torch", beams=1)
    first = wb.translate(doc, "uk", src="en", model=model)
    assert first.error is None and first.text is not None
    assert "|inline:1|" in (first.signature or "") + "|"
    sources = [p.source for p in first.segments]
    assert "The **new** ferry costs [€2](https://x.example/p?a=1) from Monday." in sources
    assert "Residents welcomed the change after a long meeting." in sources
    # The model was given the sentence whole, with placeholders: that is its cache entry.
    prefix = _seg_prefix(wb, model, tmp_path)
    placeholder_text = "The <g1>new</g1> ferry costs <g2>€2</g2> from Monday."
    cached = wb.store.get_segments([signature.digest(prefix, placeholder_text)])
    assert list(cached.values()) and isinstance(next(iter(cached.values())), str)
    # Markup-free sentences keep their keys of before.
    plain_key = signature.digest(prefix, "Residents welcomed the change after a long meeting.")
    assert wb.store.get_segments([plain_key])
    # Link targets and code are byte-identical in the output.
    assert "](https://x.example/p?a=1)" in first.text and "`ferry --times`" in first.text
    # Random weights lose placeholders: such a sentence alone goes in fragments, with a note.
    for pair in first.segments:
        lost = [n for n in pair.notes if n.startswith("markup:")]
        if "**" in pair.source or "`" in pair.source:
            enc = encode(pair.source)
            assert enc is not None
            raw = next(iter(wb.store.get_segments([signature.digest(prefix, enc.text)]).values()))
            try:
                restore(enc, raw)
            except PlaceholderError:
                assert lost and "in fragments" in lost[0]
                continue
            assert not lost
        else:
            assert not lost
    # A rerun gives identical bytes: from the document entry, and from the sentences' entries
    # (the raw outputs checked again, the same ones put in fragments).
    again = Workbench(cache=tmp_path / "cache", backend="torch", beams=1)
    assert again.translate(doc, "uk", src="en", model=model).text == first.text
    doc.write_text(ARTICLE + "\nA new closing line here.\n", encoding="utf-8")
    longer = again.translate(doc, "uk", src="en", model=model)
    assert longer.cache == "partial" and longer.text is not None
    assert longer.text.startswith(first.text.rstrip("\n"))
    assert [p.target for p in longer.segments][: len(first.segments)] == [
        p.target for p in first.segments
    ]


def test_a_kept_answer_is_put_back_from_the_cache(tiny, tmp_path: Path) -> None:
    """The kept path: a cached raw answer (as a model that keeps its tags writes it) is checked
    and restored on every run; the sentence's notes say nothing of fragments."""
    model = str(tiny("marian-multi"))
    doc = tmp_path / "a.md"
    doc.write_text(ARTICLE, encoding="utf-8")
    wb = Workbench(cache=tmp_path / "cache", backend="torch", beams=1)
    prefix = _seg_prefix(wb, model, tmp_path)
    answer = "З понеділка <g1>новий</g1> пором коштує <g2>2 €</g2>."
    key = signature.digest(prefix, "The <g1>new</g1> ferry costs <g2>€2</g2> from Monday.")
    wb.store.put_segments([(key, answer)], {"signature": "test", "model": model})
    result = wb.translate(doc, "uk", src="en", model=model)
    assert result.text is not None
    assert "З понеділка **новий** пором коштує [2 €](https://x.example/p?a=1)." in result.text
    pair = next(p for p in result.segments if p.source.startswith("The **new**"))
    assert pair.target == "З понеділка **новий** пором коштує [2 €](https://x.example/p?a=1)."
    assert pair.cached and not any(n.startswith("markup:") for n in pair.notes)


def test_an_html_format_keeps_tags_and_escapes_text(tiny, tmp_path: Path) -> None:
    """A format whose block text is HTML (as HTML and DOCX readers give it): tags and attribute
    values come back byte for byte, and text is escaped whatever the model wrote."""
    from tests.test_formats import Lines
    from workbench import formats

    class HtmlLines(Lines):
        name = "htmllines"
        suffixes = (".hlines",)
        inline_markup = "html"

    fmt = formats.register(HtmlLines())
    try:
        doc = tmp_path / "a.hlines"
        doc.write_text(
            '<b>Tom &amp; Jerry</b> visit <a href="https://x.example/?a=1&amp;b=2">the pier</a>.\n'
            "Fish &lt;and&gt; chips cost more.<br>\n",
            encoding="utf-8",
        )
        wb = Workbench(cache=tmp_path / "cache", backend="torch", beams=1)
        result = wb.translate(doc, "uk", src="en", model=str(tiny("marian-multi")))
        assert result.error is None and result.text is not None
        out = result.text
        for tag in ("<b>", "</b>", '<a href="https://x.example/?a=1&amp;b=2">', "</a>", "<br>"):
            assert out.count(tag) == 1, (tag, out)
        text = re.sub(r"<[^<>]*>", "", out)  # what is left between the tags is escaped text
        assert "<" not in text and ">" not in text
        assert re.fullmatch(r"(?:[^&]|&(?:amp|lt|gt);)*", text, re.DOTALL), text
    finally:
        formats.unregister(fmt.name)
