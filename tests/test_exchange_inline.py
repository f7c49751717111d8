"""Exchange files carry inline markup as inline codes: XLIFF ``<pc>``/``<ph>`` with the markup in
``<originalData>``, TMX ``<bpt>``/``<ept>``/``<ph>``; ``import-xliff`` puts the markup back.

A tiny model (random weights) translates a Markdown article with bold, a link and code. Its
sentences with markup usually come back without their placeholders and go in fragments; two
are made to go whole by caching a correct placeholder answer under their keys first, as a model
that keeps its tags would have answered.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_exchange import World, X, cli, flat, original_data, set_target, translate
from workbench import signature
from workbench.api import open_store
from workbench.exchange.codes import parse_back
from workbench.exchange.xliff import MDA_NS, XLIFF_NS
from workbench.inline import encode, restore

LINK = "](https://x.example/p?a=1&b=2)"
CODE = "`ferry --times`"
ARTICLE = f"""# Ferry news

The **new** ferry costs [€2{LINK} from Monday.
Run {CODE} to see the **full** timetable.
Residents welcomed the change.

Boats *leave* every [hour](https://x.example/h) from `pier 3`.
"""
WHOLE = f"The **new** ferry costs [€2{LINK} from Monday."
WHOLE_ANSWER = "З понеділка <g1>новий</g1> пором коштує <g2>2 €</g2>."
CODED = f"Run {CODE} to see the **full** timetable."
CODED_ANSWER = "Запустіть <x1/>, щоб побачити <g2>повний</g2> розклад."
PLAIN = "Residents welcomed the change."


@dataclass
class Run:
    world: World
    out: Path


@pytest.fixture(scope="module")
def run(tiny, tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("xinline")
    articles = root / "articles"
    articles.mkdir()
    (articles / "a.md").write_text(ARTICLE, "utf-8")
    model = tiny("marian-multi")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(root / "home"))
        # A first run tells the sentences' key (the model's own); a fresh cache then gets the
        # answers of a model that keeps its tags, before the run that is exported.
        scratch = World(articles, root / "scratch.sqlite3", model)
        assert translate(scratch, root / "scratch").exit_code == 0
        record = json.loads((root / "scratch" / "a.uk.md.json").read_text("utf-8"))
        prefix = record.get("segment_key") or record["key"]
        world = World(articles, root / "cache.sqlite3", model)
        store = open_store(world.cache)
        store.put_segments(
            [
                (
                    signature.digest(
                        prefix, "The <g1>new</g1> ferry costs <g2>€2</g2> from Monday."
                    ),
                    WHOLE_ANSWER,
                ),
                (
                    signature.digest(prefix, "Run <x1/> to see the <g2>full</g2> timetable."),
                    CODED_ANSWER,
                ),
            ],
            {"signature": "test", "model": str(model)},
        )
        store.close()
        res = translate(world, root / "out")
        assert res.exit_code == 0, res.output
    return Run(world, root / "out")


@pytest.fixture
def out(run: Run, tmp_path: Path) -> Path:
    """A copy of the run's folder, exported as XLIFF and TMX."""
    folder = tmp_path / "out"
    shutil.copytree(run.out, folder)
    res = cli("export", str(folder), "--format", "xliff,tmx", "--cache", str(run.world.cache))
    assert res.exit_code == 0, res.output
    return folder


def units(xlf: Path) -> dict[str, ET.Element]:
    """The file's units by their source as written (codes replaced by their data)."""
    found = {}
    for unit in ET.parse(xlf).getroot().iter(f"{X}unit"):
        found[flat(unit.find(f"{X}segment/{X}source"), original_data(unit))] = unit
    return found


def test_xliff_carries_markup_as_codes_with_original_data(out: Path) -> None:
    text = (out / "a.uk.md").read_text("utf-8")
    assert f"З понеділка **новий** пором коштує [2 €{LINK}." in text
    found = units(out / "a.uk.md.xlf")
    assert {WHOLE, CODED, PLAIN} <= set(found)
    for source, unit in found.items():
        data = original_data(unit)
        seg = unit.find(f"{X}segment")
        if not data:  # a sentence without markup: plain text, as before
            assert seg.find(f"{X}source").text == source and not list(seg.find(f"{X}source"))
            continue
        # Markup sits before the segment, each piece once, with unique ids.
        children = [c.tag for c in unit]
        assert children.index(f"{X}originalData") < children.index(f"{X}segment")
        ids = [d.get("id") for d in unit.iter(f"{X}data")]
        assert len(ids) == len(set(ids))
        codes = {}
        for side in ("source", "target"):
            elem = seg.find(f"{X}{side}")
            seen = []
            for code in elem.iter():
                if code.tag == f"{X}pc":
                    assert {code.get("dataRefStart"), code.get("dataRefEnd")} <= set(data)
                    assert code.get("canDelete") == "no" and code.get("canCopy") == "no"
                elif code.tag == f"{X}ph":
                    assert code.get("dataRef") in data and code.get("canDelete") == "no"
                elif code is not elem:
                    raise AssertionError(f"unexpected {code.tag}")
                if code is not elem:
                    seen.append(code.get("id"))
                    codes.setdefault(code.get("id"), dict(code.attrib))
                    assert codes[code.get("id")] == dict(code.attrib)  # same code both sides
            assert len(seen) == len(set(seen))  # each code once
            # Link targets and code are never text a translator could edit.
            editable = "".join(elem.itertext())
            assert "x.example" not in editable and "`" not in editable and "**" not in editable
        assert sorted(c.get("id") for c in seg.find(f"{X}target").iter() if c.get("id")) == sorted(
            c.get("id") for c in seg.find(f"{X}source").iter() if c.get("id")
        )

    # The whole sentence: the model's output with its codes; the link target byte for byte.
    unit = found[WHOLE]
    assert list(original_data(unit).values()) == ["**", "**", "[", LINK]
    raw = (out / "a.uk.md.xlf").read_text("utf-8")
    assert LINK.replace("&", "&amp;") in raw
    target = unit.find(f"{X}segment/{X}target")
    assert target.text == "З понеділка " and [c.text for c in target] == ["новий", "2 €"]
    assert flat(target, original_data(unit)) == f"З понеділка **новий** пором коштує [2 €{LINK}."
    assert list(original_data(found[CODED]).values()) == [CODE, "**", "**"]

    # An independent, strict parser reads it as namespaced XML.
    etree = pytest.importorskip("lxml.etree")
    doc = etree.parse(str(out / "a.uk.md.xlf"), etree.XMLParser(resolve_entities=False))
    assert doc.getroot().nsmap == {None: XLIFF_NS, "mda": MDA_NS}


def _edit(out: Path, edits: dict[str, str], dest: Path, spoil=None) -> None:
    """Write ``dest``: the exported XLIFF with these targets (``<g1>``/``<x1/>`` for codes)."""
    ET.register_namespace("", XLIFF_NS)
    ET.register_namespace("mda", MDA_NS)
    tree = ET.parse(out / "a.uk.md.xlf")
    for unit in tree.getroot().iter(f"{X}unit"):
        seg = unit.find(f"{X}segment")
        source = flat(seg.find(f"{X}source"), original_data(unit))
        if source in edits:
            set_target(seg, edits[source])
    tree.write(dest, encoding="UTF-8", xml_declaration=True)
    if spoil is not None:
        dest.write_text(spoil(dest.read_text("utf-8")), "utf-8")


def test_round_trip_moves_codes_and_keeps_markup(run: Run, out: Path, tmp_path: Path) -> None:
    output = out / "a.uk.md"
    # Unchanged, the file goes back in as it came out: nothing differs.
    res = cli("import-xliff", str(out), str(out / "a.uk.md.xlf"), "--cache", str(run.world.cache))
    assert res.exit_code == 0 and "nothing written" in res.stderr, res.output

    edited = tmp_path / "edited.xlf"
    # The translator moves the link (<pc id="2">) to the front, and the code's <ph> to the end.
    _edit(
        out,
        {
            WHOLE: "<g2>2 €</g2> коштує <g1>новий</g1> пором з понеділка.",
            CODED: "Щоб побачити <g2>повний</g2> розклад, запустіть <x1/>",
        },
        edited,
    )
    # A tool may write a <pc> as <sc/> and <ec/>: the same codes.
    text = edited.read_text("utf-8")
    text = re.sub(
        r'<pc id="2"([^>]*)>(.*?)</pc>', r'<sc id="2" />\2<ec startRef="2" />', text, count=1
    )
    edited.write_text(text, "utf-8")
    res = cli("import-xliff", str(out), str(edited), "--cache", str(run.world.cache))
    assert res.exit_code == 0, res.output
    assert "2 units edited" in res.stderr
    after = output.read_text("utf-8")
    assert f"[2 €{LINK} коштує **новий** пором з понеділка." in after
    assert f"Щоб побачити **повний** розклад, запустіть {CODE}" in after
    assert after.count(LINK) == 1 and after.count(CODE) == 1
    assert "](https://x.example/h)" in after and "`pier 3`" in after
    # Exported again, the edits come back as codes (parsed back from the edited text).
    res = cli("export", str(out), "--format", "xliff", "--cache", str(run.world.cache))
    assert res.exit_code == 0, res.output
    unit = units(out / "a.uk.md.xlf")[WHOLE]
    seg = unit.find(f"{X}segment")
    assert seg.get("state") == "reviewed"
    assert [c.get("id") for c in seg.find(f"{X}target")] == ["2", "1"]
    assert flat(seg.find(f"{X}target"), original_data(unit)) == (
        f"[2 €{LINK} коштує **новий** пором з понеділка."
    )


def test_markup_comes_from_the_input_not_the_file(run: Run, out: Path, tmp_path: Path) -> None:
    """A changed <originalData> cannot put other markup (another link target) in the output."""
    edited = tmp_path / "edited.xlf"
    _edit(
        out,
        {WHOLE: "<g2>2 €</g2> коштує <g1>новий</g1> пором."},
        edited,
        spoil=lambda t: t.replace("https://x.example/p?a=1&amp;b=2", "https://evil.example/"),
    )
    res = cli("import-xliff", str(out), str(edited), "--cache", str(run.world.cache))
    assert res.exit_code == 0, res.output
    after = (out / "a.uk.md").read_text("utf-8")
    assert "evil" not in after and f"[2 €{LINK} коштує **новий** пором." in after


BROKEN = {
    "lost-ph": (CODED_ANSWER.replace("<x1/>", "код"), 'lost the inline code <ph id="1"/>'),
    "lost-pc": ("З понеділка новий пором коштує <g2>2 €</g2>.", 'lost the inline code <pc id="1">'),
    "twice": (
        "<g1>Новий</g1> пором коштує <g2>2 €</g2>, <g1>новий</g1>.",
        'the inline code <pc id="1"> more than once',
    ),
    "unknown": ("<g1>Новий</g1> пором коштує <g2>2 €</g2> <x9/>.", "ids 9"),
}


@pytest.mark.parametrize("case", [*sorted(BROKEN), "typed", "crossed", "empty"])
def test_a_target_that_breaks_its_codes_is_refused(
    case: str, run: Run, out: Path, tmp_path: Path
) -> None:
    bad = tmp_path / f"{case}.xlf"
    if case in BROKEN:
        target, words = BROKEN[case]
        source = CODED if case == "lost-ph" else WHOLE
        if case == "unknown":  # a <ph> the source does not have: written by hand
            _edit(out, {WHOLE: target.replace(" <x9/>", "")}, bad)
            text = bad.read_text("utf-8").replace("2 €</pc>", '2 €</pc> <ph id="9" />', 1)
            bad.write_text(text, "utf-8")
        else:
            _edit(out, {source: target}, bad)
    elif case == "typed":  # the translator typed a placeholder as text
        _edit(out, {WHOLE: "<g1>Новий</g1> пором коштує <g2>2 €</g2>."}, bad)
        bad.write_text(bad.read_text("utf-8").replace("пором", "&lt;x1/&gt;", 1), "utf-8")
        words = "reads as a placeholder"
    elif case == "crossed":  # <sc>/<ec> that overlap
        _edit(out, {WHOLE: "<g1>Новий</g1> пором коштує <g2>2 €</g2>."}, bad)
        text = re.sub(
            r'<target><pc id="1"[^>]*>Новий</pc>( пором коштує )<pc id="2"[^>]*>2 €</pc>',
            r'<target><sc id="1" />Новий<sc id="2" />\1<ec startRef="1" />2 €<ec startRef="2" />',
            bad.read_text("utf-8"),
            count=1,
        )
        bad.write_text(text, "utf-8")
        words = "not properly nested"
    else:
        _edit(out, {WHOLE: "<g1></g1>Пором коштує <g2>2 €</g2>."}, bad)
        words = "empty"
    watched = [out / n for n in ("a.uk.md", "a.uk.md.json", "manifest.jsonl")]
    before = {p: p.read_bytes() for p in watched}
    res = cli("import-xliff", str(out), str(bad), "--cache", str(run.world.cache))
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("workbench: error:")]
    assert len(errors) == 1, res.stderr
    assert re.match(rf"workbench: error: {re.escape(str(bad))}: unit u\d+-[0-9a-f]{{8}}", errors[0])
    assert words in errors[0], errors[0]
    assert {p: p.read_bytes() for p in watched} == before


def test_tmx_has_bpt_ept_and_ph(out: Path) -> None:
    root = ET.parse(out / "translations.tmx").getroot()
    by_source = {}
    for tu in root.iter("tu"):
        src, tgt = (tuv.find("seg") for tuv in tu.findall("tuv"))
        by_source["".join(src.itertext())] = (src, tgt)
    assert {WHOLE, CODED, PLAIN} <= set(by_source)
    src, tgt = by_source[WHOLE]
    assert [(c.tag, c.get("i"), c.text) for c in src] == [
        ("bpt", "1", "**"),
        ("ept", "1", "**"),
        ("bpt", "2", "["),
        ("ept", "2", LINK),
    ]
    assert [(c.tag, c.get("i"), c.text) for c in tgt] == [
        ("bpt", "1", "**"),
        ("ept", "1", "**"),
        ("bpt", "2", "["),
        ("ept", "2", LINK),
    ]
    assert "".join(tgt.itertext()) == f"З понеділка **новий** пором коштує [2 €{LINK}."
    src, tgt = by_source[CODED]
    assert next((c.tag, c.get("x"), c.text) for c in src) == ("ph", "1", CODE)
    assert "".join(tgt.itertext()) == f"Запустіть {CODE}, щоб побачити **повний** розклад."
    src, tgt = by_source[PLAIN]
    assert src.text == PLAIN and not list(src)
    raw = (out / "translations.tmx").read_text("utf-8")
    assert '<ept i="2">](https://x.example/p?a=1&amp;b=2)</ept>' in raw


def test_parse_back_matches_markup_for_markup() -> None:
    enc = encode(WHOLE)
    assert enc is not None
    moved = f"[2 €{LINK} коштує **новий** пором."
    assert parse_back(enc, moved) == "<g2>2 €</g2> коштує <g1>новий</g1> пором."
    assert restore(enc, parse_back(enc, moved)) == moved
    # Markup lost, changed or added: not the source's codes, so the unit stays plain text.
    assert parse_back(enc, "Новий пором коштує 2 €.") is None
    assert parse_back(enc, "**Новий** пором коштує [2 €](https://other.example).") is None
    assert parse_back(enc, f"**Новий** `x` пором коштує [2 €{LINK}.") is None
    twice = encode("A **b** and **c** d.")
    assert twice is not None
    assert parse_back(twice, "**в** і **б** г.") == "<g1>в</g1> і <g2>б</g2> г."


def test_a_unit_written_as_plain_text_still_imports(run: Run, out: Path, tmp_path: Path) -> None:
    """Where a target's markup is not the source's, the unit is written as before (markup as
    text); such a unit, and one a tool turned back into text, is read as text."""
    ET.register_namespace("", XLIFF_NS)
    ET.register_namespace("mda", MDA_NS)
    tree = ET.parse(out / "a.uk.md.xlf")
    for unit in tree.getroot().iter(f"{X}unit"):
        if flat(unit.find(f"{X}segment/{X}source"), original_data(unit)) == WHOLE:
            unit.remove(unit.find(f"{X}originalData"))
            seg = unit.find(f"{X}segment")
            for side, text in (("source", WHOLE), ("target", f"Пором [коштує{LINK} **мало**.")):
                elem = seg.find(f"{X}{side}")
                for child in list(elem):
                    elem.remove(child)
                elem.text = text
    edited = tmp_path / "plain.xlf"
    tree.write(edited, encoding="UTF-8", xml_declaration=True)
    res = cli("import-xliff", str(out), str(edited), "--cache", str(run.world.cache))
    assert res.exit_code == 0, res.output
    assert f"Пором [коштує{LINK} **мало**." in (out / "a.uk.md").read_text("utf-8")
    # Exported again, that target's markup is the source's: codes once more.
    assert cli("export", str(out), "--cache", str(run.world.cache)).exit_code == 0
    assert original_data(units(out / "a.uk.md.xlf")[WHOLE])


def test_an_output_whose_input_changed_exports_as_plain_text(run: Run, out: Path) -> None:
    """Codes are the input's markup: with the input changed since, units are plain text (the
    file still makes a translation memory; importing it is refused, as before)."""
    source = run.world.articles / "a.md"
    try:
        source.write_text(ARTICLE.replace("Monday", "Sunday"), "utf-8")
        res = cli("export", str(out), "--format", "xliff,tmx", "--cache", str(run.world.cache))
        assert res.exit_code == 0, res.output
    finally:
        source.write_text(ARTICLE, "utf-8")
    found = units(out / "a.uk.md.xlf")
    assert WHOLE in found and not any(original_data(u) for u in found.values())
    segs = ET.parse(out / "translations.tmx").getroot().iter("seg")
    assert not any(list(s) for s in segs)


def test_html_text_is_decoded_in_the_file_and_escaped_in_the_output(tiny, tmp_path: Path) -> None:
    """An HTML document's codes are its tags (attribute values byte for byte); the text between
    is text in the file (``&`` read as such) and escaped again in the output."""
    articles = tmp_path / "in"
    articles.mkdir()
    tag = '<a href="https://x.example/?a=1&amp;b=2">'
    (articles / "p.html").write_text(
        f"<html><body><p><b>Tom &amp; Jerry</b> visit {tag}the pier</a> today.</p></body></html>\n",
        "utf-8",
    )
    world = World(articles, tmp_path / "c.sqlite3", tiny("marian-multi"))
    out = tmp_path / "out"
    assert translate(world, out).exit_code == 0
    res = cli("export", str(out), "--format", "xliff", "--cache", str(world.cache))
    assert res.exit_code == 0, res.output
    xlf = out / "p.uk.html.xlf"
    (unit,) = [u for u in ET.parse(xlf).getroot().iter(f"{X}unit") if original_data(u)]
    assert list(original_data(unit).values()) == ["<b>", "</b>", tag, "</a>"]
    source = unit.find(f"{X}segment/{X}source")
    assert [c.text for c in source] == ["Tom & Jerry", "the pier"]
    # Unchanged, nothing is written; a target with '&' and '<' typed goes in escaped.
    res = cli("import-xliff", str(out), str(xlf), "--cache", str(world.cache))
    assert res.exit_code == 0 and "nothing written" in res.stderr, res.output
    ET.register_namespace("", XLIFF_NS)
    ET.register_namespace("mda", MDA_NS)
    tree = ET.parse(xlf)
    for seg in tree.getroot().iter(f"{X}segment"):
        if list(seg.find(f"{X}source")):
            set_target(seg, "<g2>Причал</g2> & <g1>Том < Джеррі</g1> сьогодні.")
    tree.write(xlf, encoding="UTF-8", xml_declaration=True)
    res = cli("import-xliff", str(out), str(xlf), "--cache", str(world.cache))
    assert res.exit_code == 0, res.output
    html = (out / "p.uk.html").read_text("utf-8")
    assert f"{tag}Причал</a> &amp; <b>Том &lt; Джеррі</b> сьогодні." in html
