"""Exchange with CAT tools: XLIFF 2.1 and TMX 1.4b out of a run, post-edited XLIFF back in.

A tiny model translates two Markdown articles into Ukrainian once per module (into a cache of
the module's own); every test then makes its own run folder from that cache (whole-document
hits: no model work) and exports, edits and imports there.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.helpers import assert_structure_kept, expected_segments
from workbench import inline, signature
from workbench.cli.app import app
from workbench.documents import read_document
from workbench.exchange.records import Output, Unit, block_pieces, rebuild, unit_id
from workbench.exchange.tmx import tmx_text
from workbench.exchange.xliff import MDA_NS, XLIFF_NS, read_xliff, xliff_text
from workbench.exchange.xmltext import XML_NS
from workbench.inline import restore

runner = CliRunner()

ARTICLE_A = """\
# Council approves new ferry

*By Ana Silva*

The city council voted on Thursday to replace the old ferry. The new vessel will run on batteries.

## What changes

- Departures every 15 minutes at peak hours
- Tickets are sold through the [transit app](https://transit.example.org/app?x=1&y=2) for now

> The old ferry stays in service until May.

Read the decision at https://council.example.org/d/2026 today. Use `ferry --help` for details.
"""

ARTICLE_B = """\
# Library opens at night

Students can now study until midnight. The library added forty seats & "new" lamps.

1. Open from Monday
2. Free entry with a student card

| Day | Hours |
|---|---|
| Monday | Until midnight |
"""

X = f"{{{XLIFF_NS}}}"
M = f"{{{MDA_NS}}}"
LANG = f"{{{XML_NS}}}lang"


def cli(*args: str):
    return runner.invoke(app, list(args))


@dataclass
class World:
    articles: Path
    cache: Path
    model: Path


@pytest.fixture(scope="module")
def world(tiny, tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("exchange")
    articles = root / "articles"
    articles.mkdir()
    (articles / "a.md").write_text(ARTICLE_A, "utf-8")
    (articles / "b.md").write_text(ARTICLE_B, "utf-8")
    found = World(articles, root / "cache.sqlite3", tiny("marian-multi"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(root / "home"))
        res = translate(found, root / "first")
    assert res.exit_code == 0, res.output
    return found


def translate(world: World, out: Path, *extra: str):
    """The run every test makes (from the cache after the module's first)."""
    return cli(
        "translate",
        str(world.articles),
        "--to",
        "uk",
        "--from",
        "en",
        "--model",
        str(world.model),
        "--backend",
        "torch",
        "--beams",
        "1",
        "--cache",
        str(world.cache),
        "--out",
        str(out),
        *extra,
    )


@pytest.fixture
def out(world: World, tmp_path: Path) -> Path:
    """A fresh run folder of both articles, exported as XLIFF and TMX."""
    folder = tmp_path / "out"
    res = translate(world, folder)
    assert res.exit_code == 0, res.output
    assert "(document)" in res.stderr  # answered by the cache: no model work
    res = cli("export", str(folder), "--format", "xliff,tmx", "--cache", str(world.cache))
    assert res.exit_code == 0, res.output
    return folder


def prov(output: Path) -> dict:
    return json.loads(output.with_name(output.name + ".json").read_text("utf-8"))


def rows(out: Path) -> dict[str, dict]:
    lines = (out / "manifest.jsonl").read_text("utf-8").splitlines()
    return {Path(r["output"]).name: r for r in map(json.loads, lines) if r["output"]}


def original_data(unit: ET.Element) -> dict[str, str]:
    """An XLIFF unit's ``<originalData>``: data id → markup."""
    return {d.get("id"): d.text or "" for d in unit.iter(f"{X}data")}


def flat(elem: ET.Element, data: dict[str, str]) -> str:
    """A source or target with each inline code replaced by its original data."""
    out = [elem.text or ""]
    for child in elem:
        if child.tag == f"{X}pc":
            start, end = data[child.get("dataRefStart")], data[child.get("dataRefEnd")]
            out += [start, flat(child, data), end]
        elif child.tag == f"{X}ph":
            out.append(data[child.get("dataRef")])
        out.append(child.tail or "")
    return "".join(out)


def encodings(doc) -> dict[str, inline.Encoded]:
    """Each sentence with markup of ``doc`` (as written) → its placeholders."""
    return {
        p.source: p.encoded
        for block in block_pieces(doc, "en")
        for p in block
        if isinstance(p, inline.Marked) and p.encoded and (p.encoded.atoms or p.encoded.pairs)
    }


def cached_pairs(world: World, output: Path) -> list[list[str]]:
    record = prov(output)
    key = signature.digest(record["key"], record["input_sha256"])
    with sqlite3.connect(world.cache) as db:
        (value,) = db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
    return json.loads(value)["segments"]


# --- export ------------------------------------------------------------------------------------


def test_xliff_per_output_has_every_segment_and_the_signature(world: World, out: Path) -> None:
    for name in ("a", "b"):
        output = out / f"{name}.uk.md"
        record = prov(output)
        doc = read_document(world.articles / f"{name}.md")
        sources = expected_segments(doc, "en")
        pairs = cached_pairs(world, output)
        assert [s for s, _ in pairs] == sources

        xlf = out / f"{name}.uk.md.xlf"
        root = ET.parse(xlf).getroot()
        assert root.tag == f"{X}xliff"
        assert root.get("version") == "2.1"
        assert (root.get("srcLang"), root.get("trgLang")) == ("en", "uk")
        # The namespaces are declared as such (the core one as the default namespace).
        head = xlf.read_text("utf-8").splitlines()[1]
        assert f'xmlns="{XLIFF_NS}"' in head and f'xmlns:mda="{MDA_NS}"' in head
        (file,) = root.findall(f"{X}file")
        meta = {m.get("type"): m.text for m in file.iter(f"{M}meta")}
        for field in ("signature", "model", "revision", "key", "input_sha256"):
            assert meta[field] == record[field], field
        assert meta["output"] == output.name
        assert meta["signature"].startswith("translate|model:")

        units = file.findall(f"{X}unit")
        assert len(units) == len(sources)
        ids = [u.get("id") for u in units]
        assert ids == [unit_id(i, s) for i, s in enumerate(sources, start=1)]
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(r"u\d+-[0-9a-f]{8}", i) for i in ids)
        encoded = encodings(doc)
        for unit, (source, target) in zip(units, pairs, strict=True):
            (seg,) = unit.findall(f"{X}segment")
            assert seg.get("state") == "translated"
            data = original_data(unit)
            # A sentence with markup carries it as codes (see test_exchange_inline.py).
            assert bool(data) == (source in encoded)
            assert flat(seg.find(f"{X}source"), data) == source
            if not data:
                assert (seg.find(f"{X}target").text or "") == target
        # Read back by workbench's own (safe) reader: the same units, codes as placeholders.
        again = read_xliff(xlf.read_bytes(), str(xlf))
        assert [u.id for u in again.units] == ids
        for u, (s, t) in zip(again.units, pairs, strict=True):
            enc = encoded.get(s)
            assert u.source == (enc.text if enc else s)
            assert (restore(enc, u.target) if enc else u.target) == t

    # A strict, independent parser agrees that the files are well-formed and namespaced.
    etree = pytest.importorskip("lxml.etree")
    doc = etree.parse(str(out / "a.uk.md.xlf"), etree.XMLParser(resolve_entities=False))
    assert doc.getroot().nsmap == {None: XLIFF_NS, "mda": MDA_NS}


def test_tmx_holds_every_unit_with_languages_and_signature(world: World, out: Path) -> None:
    root = ET.parse(out / "translations.tmx").getroot()
    assert root.tag == "tmx" and root.get("version") == "1.4"
    header = root.find("header")
    for attr in ("creationtool", "creationtoolversion", "segtype", "o-tmf", "adminlang"):
        assert header.get(attr)
    assert header.get("srclang") == "en" and header.get("datatype") == "plaintext"
    tus = root.findall("body/tu")
    expected = []
    for name in ("a", "b"):
        output = out / f"{name}.uk.md"
        expected += [(prov(output)["signature"], s, t) for s, t in cached_pairs(world, output)]
    assert len(tus) == len(expected)
    for tu, (sig, source, target) in zip(tus, expected, strict=True):
        props = {p.get("type"): p.text for p in tu.findall("prop")}
        assert props["x-signature"] == sig
        assert props["x-state"] == "translated"
        tuvs = tu.findall("tuv")
        assert [t.get(LANG) for t in tuvs] == ["en", "uk"]
        # Markup is the content of inline codes (<bpt>, <ept>, <ph>): the text is the segment.
        assert "".join(tuvs[0].find("seg").itertext()) == source
        if tuvs[1].find("seg").find("bpt") is None and tuvs[1].find("seg").find("ph") is None:
            assert (tuvs[1].find("seg").text or "") == target


def test_export_is_stable_and_rebuild_gives_the_output_back(world: World, out: Path) -> None:
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".xlf", ".tmx")}
    res = cli("export", str(out), "--format", "xliff,tmx", "--cache", str(world.cache))
    assert res.exit_code == 0 and "0 files written, 3 unchanged" in res.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".xlf", ".tmx")} == before
    # The import's reassembly, fed the model's own targets, writes the output byte for byte.
    for name in ("a", "b"):
        doc = read_document(world.articles / f"{name}.md")
        targets = [t for _, t in cached_pairs(world, out / f"{name}.uk.md")]
        assert rebuild(doc, block_pieces(doc, "en"), targets) == (out / f"{name}.uk.md").read_text(
            "utf-8"
        )


def test_export_from_segment_entries_and_refusals(world: World, out: Path, tmp_path: Path) -> None:
    # Without the whole-document entries (a document too big to cache whole), every segment's
    # entry answers: the same files.
    segments_only = tmp_path / "segments.sqlite3"
    with sqlite3.connect(world.cache) as src, sqlite3.connect(segments_only) as dst:
        src.backup(dst)
        dst.execute("DELETE FROM entries WHERE kind = 'document'")
    dest = tmp_path / "again"
    res = cli(
        "export", str(out), "--format", "xliff", "--cache", str(segments_only), "--dest", str(dest)
    )
    assert res.exit_code == 0, res.output
    for name in ("a.uk.md.xlf", "b.uk.md.xlf"):
        assert (dest / name).read_bytes() == (out / name).read_bytes()

    # Nothing cached: one line per output, nothing written, exit 1.
    empty = tmp_path / "empty"
    res = cli("export", str(out), "--cache", str(tmp_path / "none.sqlite3"), "--dest", str(empty))
    assert res.exit_code == 1
    errors = [line for line in res.stderr.splitlines() if line.startswith("workbench: error:")]
    assert len(errors) == 2 and all("not in the cache" in e for e in errors)
    assert not empty.exists() or not any(empty.rglob("*.xlf"))

    # A folder without translations, and an unknown format: exit 2, one line.
    for args in (
        ["export", str(tmp_path / "nothing")],
        ["export", str(world.articles)],
        ["export", str(out), "--format", "docx"],
    ):
        res = cli(*args, "--cache", str(world.cache))
        assert res.exit_code == 2, res.output
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.output


def test_xml_round_trip_of_awkward_text() -> None:
    """What ElementTree escapes, what XML cannot carry (<cp/>), carriage returns, spacing."""
    texts = [
        "Tom & Jerry <b>\"quoted\"</b> 'single'",
        "form\x0cfeed and \x01 control",
        "carriage\rreturn",
        "  leading and trailing  ",
        "한국어 텍스트 😀 and ]]> end",
    ]
    units = [Unit(unit_id(i, t), t, t[::-1], edited=i == 2) for i, t in enumerate(texts, 1)]
    output = Output(
        Path("x.uk.md"),
        "sub/x.uk.md",
        {
            "source_lang": "en",
            "target_lang": "uk",
            "key": "k",
            "input_sha256": "h",
            "signature": "s",
        },
    )
    text = xliff_text(output, units)
    assert "\x0c" not in text and '<cp hex="000C" />' in text and "&#13;" in text
    back = read_xliff(text.encode("utf-8"), "x.xlf")
    assert [(u.id, u.source, u.target) for u in back.units] == [
        (u.id, u.source, u.target) for u in units
    ]
    assert back.meta["output"] == "sub/x.uk.md" and back.meta["key"] == "k"
    assert 'state="reviewed"' in text
    memory = ET.fromstring(tmx_text([(output, units)], "0.1.0").encode("utf-8"))
    segs = memory.findall("body/tu/tuv/seg")
    assert len(segs) == 2 * len(units)
    assert segs[0].text == texts[0] and segs[2].find("ph").text == "000C"


# --- import ------------------------------------------------------------------------------------


def _post_edit(xlf: Path, edits: dict[str, str], dest: Path) -> list[str]:
    """Change the targets of the units whose source is a key of ``edits``, as a CAT tool
    would write the file back (its own serialiser, state set to final); returns their ids."""
    ET.register_namespace("", XLIFF_NS)
    ET.register_namespace("mda", MDA_NS)
    tree = ET.parse(xlf)
    ids = []
    for unit in tree.getroot().iter(f"{X}unit"):
        seg = unit.find(f"{X}segment")
        source = flat(seg.find(f"{X}source"), original_data(unit))
        if source in edits:
            set_target(seg, edits[source])
            seg.set("state", "final")
            ids.append(unit.get("id"))
    tree.write(dest, encoding="UTF-8", xml_declaration=True)
    return ids


def set_target(seg: ET.Element, text: str) -> None:
    """Set a segment's target to ``text``, where ``<g1>…</g1>`` and ``<x2/>`` stand for the
    source's ``<pc id="1">`` and ``<ph id="2"/>`` (copied, attributes and all), as a CAT tool
    writes a target whose codes the translator placed."""
    codes = {(c.tag, c.get("id")): dict(c.attrib) for c in seg.find(f"{X}source").iter()}
    target = seg.find(f"{X}target")
    for child in list(target):
        target.remove(child)
    target.text = None
    stack = [target]
    for part in re.split(r"(<x\d+/>|</?g\d+>)", text):
        number = re.sub(r"\D", "", part)
        if re.fullmatch(r"<x\d+/>", part):
            ET.SubElement(stack[-1], f"{X}ph", codes[(f"{X}ph", number)])
        elif re.fullmatch(r"<g\d+>", part):
            stack.append(ET.SubElement(stack[-1], f"{X}pc", codes[(f"{X}pc", number)]))
        elif re.fullmatch(r"</g\d+>", part):
            stack.pop()
        elif list(stack[-1]):
            stack[-1][-1].tail = (stack[-1][-1].tail or "") + part
        else:
            stack[-1].text = (stack[-1].text or "") + part


HEADING_EDIT = "Рада схвалила новий пором & <причал>"
LINK_EDIT = "застосунок «Транзит»"
# A sentence with a link is one unit: its source and target carry the Markdown.
LINK_SOURCE = (
    "Tickets are sold through the [transit app](https://transit.example.org/app?x=1&y=2) for now"
)
LINK_SENTENCE = f"Квитки продають через <g1>{LINK_EDIT}</g1> поки що"  # the link as a <pc>


def test_import_rerun_and_overwrite_edits(world: World, out: Path, tmp_path: Path) -> None:
    output = out / "a.uk.md"
    before = output.read_text("utf-8")
    other = (out / "b.uk.md").read_bytes()
    edited = tmp_path / "a.uk.md.xlf"
    ids = _post_edit(
        out / "a.uk.md.xlf",
        {"Council approves new ferry": HEADING_EDIT, LINK_SOURCE: LINK_SENTENCE},
        edited,
    )
    assert len(ids) == 2

    res = cli("import-xliff", str(out), str(edited), "--cache", str(world.cache))
    assert res.exit_code == 0, res.output
    assert "2 units edited" in res.stderr
    after = output.read_text("utf-8")
    # Exactly the two lines holding those segments changed; the structure is the input's.
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 2
    assert changed[0][1] == f"# {HEADING_EDIT}"
    assert changed[1][1].startswith("- ")
    assert f"[{LINK_EDIT}](https://transit.example.org/app?x=1&y=2)" in changed[1][1]
    assert_structure_kept(ARTICLE_A, after)
    assert (out / "b.uk.md").read_bytes() == other
    record = prov(output)["human_edited"]
    assert record["file"] == str(edited) and record["segments"] == ids
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", record["at"])
    assert rows(out)["a.uk.md"]["cache"] == "human-edited"

    # Importing the same file again changes nothing.
    res = cli("import-xliff", str(out), str(edited), "--cache", str(world.cache))
    assert res.exit_code == 0 and "nothing written" in res.stderr
    # A rerun keeps the edited output and says so, in its line and in the manifest.
    res = translate(world, out)
    assert res.exit_code == 0, res.output
    assert output.read_text("utf-8") == after
    assert "1 kept (human-edited)" in res.stderr and "--overwrite-edits" in res.stderr
    row = rows(out)["a.uk.md"]
    assert row["cache"] == "human-edited" and "post-edits" in row["note"]
    assert prov(output)["human_edited"]["segments"] == ids
    # Exported again, the edits are there, marked reviewed.
    res = cli("export", str(out), "--format", "xliff,tmx", "--cache", str(world.cache))
    assert res.exit_code == 0, res.output
    back = ET.parse(out / "a.uk.md.xlf").getroot()
    states = {u.get("id"): u.find(f"{X}segment").get("state") for u in back.iter(f"{X}unit")}
    assert sorted(i for i, s in states.items() if s == "reviewed") == sorted(ids)
    memory = ET.parse(out / "translations.tmx").getroot()
    assert HEADING_EDIT in [seg.text for seg in memory.iter("seg")]

    # --overwrite-edits translates it again: the model's output, no edit record.
    res = translate(world, out, "--overwrite-edits")
    assert res.exit_code == 0, res.output
    assert output.read_text("utf-8") == before
    assert "human_edited" not in prov(output)
    assert rows(out)["a.uk.md"]["cache"] == "document"


def test_input_changed_since_translation_is_refused(world: World, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    shutil.copytree(world.articles, articles)
    out = tmp_path / "out"
    res = translate(World(articles, world.cache, world.model), out)
    assert res.exit_code == 0, res.output
    assert cli("export", str(out), "--cache", str(world.cache)).exit_code == 0
    edited = tmp_path / "edited.xlf"
    _post_edit(out / "a.uk.md.xlf", {"Council approves new ferry": "Змінено"}, edited)
    (articles / "a.md").write_text(ARTICLE_A.replace("old ferry", "old boat"), "utf-8")
    before = (out / "a.uk.md").read_bytes()
    res = cli("import-xliff", str(out), str(edited), "--cache", str(world.cache))
    assert res.exit_code == 1
    (line,) = res.stderr.strip().splitlines()[:-1]
    assert "has changed since it was translated" in line
    assert (out / "a.uk.md").read_bytes() == before


# --- malformed and mismatched imports ----------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xliff [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


def _sub(pattern: str, repl: str, count: int = 1):
    return lambda text: re.sub(pattern, repl, text, count=count, flags=re.S)


def _bomb(text: str) -> str:
    body = text.split("\n", 1)[1]
    return BILLION_LAUGHS + re.sub(r"(<target>)", r"\1&lol9;", body, count=1)


def _external(text: str) -> str:
    body = text.split("\n", 1)[1]
    doctype = '<!DOCTYPE xliff [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    return '<?xml version="1.0"?>\n' + doctype + re.sub(r"<target>", "<target>&xxe;", body, count=1)


def _two_files(text: str) -> str:
    file = re.search(r"  <file .*?</file>\n", text, flags=re.S).group(0)
    return text.replace(file, file + file.replace('id="f1"', 'id="f2"'))


# Each turns the exported XLIFF of a.uk.md into a bad one, with a word the error must contain.
MALFORMED = {
    "truncated": (lambda t: t[: len(t) // 2], "not well-formed"),
    "not-xml": (lambda t: "\x00\x01 binary \xff", "not well-formed"),
    "billion-laughs": (_bomb, "DTD"),
    "external-entity": (_external, "DTD"),
    "xliff-1.2": (_sub(r"document:2\.0", "document:1.2"), "XLIFF 1.2"),
    "not-xliff": (lambda t: "<html><body>hello</body></html>", "not XLIFF 2"),
    "version-1": (_sub(r'version="2\.1"', 'version="1.0"'), "version"),
    "two-files": (_two_files, "<file>"),
    "other-input-hash": (
        _sub(r'(type="input_sha256">)[0-9a-f]+', r"\g<1>" + "0" * 64),
        "another version",
    ),
    "other-key": (_sub(r'(type="key">)[0-9a-f]+', r"\g<1>" + "1" * 64), "another translation"),
    "other-target-language": (_sub(r'trgLang="uk"', 'trgLang="ko"'), "en→ko"),
    "no-metadata": (_sub(r"<mda:metadata>.*?</mda:metadata>", ""), "metadata"),
    "output-outside": (
        _sub(r'(type="output">)[^<]+', r"\g<1>../../etc/passwd"),
        "not a path under",
    ),
    "other-output": (_sub(r'(type="output">)[^<]+', r"\g<1>b.uk.md"), "another version"),
    "unknown-unit": (
        _sub(r'id="u2-[0-9a-f]+"', 'id="u99-deadbeef"'),
        "unknown unit ids u99-deadbeef",
    ),
    "missing-unit": (_sub(r'<unit id="u3-.*?</unit>\s*', ""), "missing"),
    "duplicate-unit": (
        lambda t: re.sub(r'(<unit id="u2-.*?</unit>\s*)', r"\1\1", t, count=1, flags=re.S),
        "twice",
    ),
    "missing-target": (_sub(r"<target>[^<]*</target>", ""), "no <target>"),
    "empty-target": (_sub(r"<target>[^<]*</target>", "<target></target>"), "empty target"),
    "changed-source": (
        _sub(r"<source>[^<]*</source>", "<source>Something else</source>"),
        "source was changed",
    ),
    "inline-code": (_sub(r"<target>", '<target><ph id="1" />'), "<ph>"),
    "empty-file": (lambda t: "", "no element found"),
    "unknown-encoding": (lambda t: t.replace('encoding="UTF-8"', 'encoding="bogus"'), "decoded"),
    "deep-nesting": (_sub(r"<target>", "<target>" + "<mrk>" * 5000), "not well-formed"),
    "deeply-nested-marks": (
        _sub(
            r"<target>([^<]*)</target>",
            "<target>" + '<mrk id="m">' * 20000 + r"\1" + "</mrk>" * 20000 + "</target>",
        ),
        "too deeply",
    ),
    "bad-code-point": (_sub(r"<target>", '<target><cp hex="ZZ" />'), "not a code point"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_import_is_one_line_and_writes_nothing(
    case: str, world: World, out: Path, tmp_path: Path
) -> None:
    spoil, words = MALFORMED[case]
    bad = tmp_path / f"{case}.xlf"
    bad.write_text(
        spoil((out / "a.uk.md.xlf").read_text("utf-8")), "utf-8", errors="surrogateescape"
    )
    watched = [
        out / n for n in ("a.uk.md", "a.uk.md.json", "b.uk.md", "b.uk.md.json", "manifest.jsonl")
    ]
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in watched}
    res = cli("import-xliff", str(out), str(bad), "--cache", str(world.cache))
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("workbench: error:")]
    assert len(errors) == 1, res.stderr
    assert errors[0].startswith(f"workbench: error: {bad}: "), errors[0]
    assert words in errors[0], errors[0]
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in watched} == before


def test_a_bad_file_does_not_stop_the_good_one(world: World, out: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.xlf"
    _post_edit(out / "b.uk.md.xlf", {"Open from Monday": "Відчинено з понеділка"}, good)
    missing = tmp_path / "missing.xlf"
    res = cli("import-xliff", str(out), str(missing), str(good), "--cache", str(world.cache))
    assert res.exit_code == 1
    assert f"workbench: error: {missing}: cannot be read" in res.stderr
    assert "1. Відчинено з понеділка" in (out / "b.uk.md").read_text("utf-8")
    assert "1 imported, 1 failed" in res.stderr
    # The same output exported once more, then a folder that is not a run: exit 2.
    res = cli("import-xliff", str(tmp_path / "nowhere"), str(good), "--cache", str(world.cache))
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1


def test_job_runs_keep_post_edits(world: World, out: Path, tmp_path: Path) -> None:
    edited = tmp_path / "b.xlf"
    first = "Студенти тепер можуть навчатися до півночі."
    edits = {
        "Open from Monday": "Відчинено з понеділка",
        "Students can now study until midnight.": first,
    }
    _post_edit(out / "b.uk.md.xlf", edits, edited)
    assert cli("import-xliff", str(out), str(edited), "--cache", str(world.cache)).exit_code == 0
    after = (out / "b.uk.md").read_bytes()
    job = tmp_path / "news.toml"
    job.write_text(
        f'inputs = ["{world.articles}"]\nout = "{out}"\nfrom = "en"\nbackend = "torch"\n'
        f'beams = 1\n\n[[steps]]\ntask = "translate"\nto = ["uk"]\nmodel = "{world.model}"\n'
        '\n[[steps]]\ntask = "summarise"\nto = ["uk"]\nmodel = "lead"\nsentences = 1\n',
        "utf-8",
    )
    base = ("run", str(job), "--yes", "--cache", str(world.cache))
    res = cli(*base, "--dry-run", "--json")
    assert res.exit_code == 0, res.output
    step = json.loads(res.stdout)["steps"][0]
    assert step["cached"] == 2 and not step["to_compute"]  # nothing for a model to do
    res = cli(*base)
    assert res.exit_code == 0, res.output
    assert (out / "b.uk.md").read_bytes() == after
    assert rows(out)["b.uk.md"]["cache"] == "human-edited"
    # The summary of the Ukrainian text is made from the post-edited output.
    assert (out / "b.summary.uk.md").read_text("utf-8").strip() == first
    res = cli(*base, "--overwrite-edits")
    assert res.exit_code == 0, res.output
    assert "Відчинено" not in (out / "b.uk.md").read_text("utf-8")


def test_reimporting_the_models_targets_drops_the_record(
    world: World, out: Path, tmp_path: Path
) -> None:
    output = out / "b.uk.md"
    before = output.read_bytes()
    machine = tmp_path / "machine.xlf"
    shutil.copy(out / "b.uk.md.xlf", machine)
    edited = tmp_path / "edited.xlf"
    _post_edit(machine, {"Open from Monday": "Відчинено з понеділка"}, edited)
    assert cli("import-xliff", str(out), str(edited), "--cache", str(world.cache)).exit_code == 0
    assert output.read_bytes() != before and "human_edited" in prov(output)
    res = cli("import-xliff", str(out), str(machine), "--cache", str(world.cache))
    assert res.exit_code == 0 and "0 units edited" in res.stderr
    assert output.read_bytes() == before
    assert "human_edited" not in prov(output)
    assert rows(out)["b.uk.md"]["cache"] == "document"


def test_a_rerun_refills_the_cache_an_edited_output_is_exported_from(
    world: World, out: Path, tmp_path: Path
) -> None:
    edited = tmp_path / "a.xlf"
    ids = _post_edit(out / "a.uk.md.xlf", {"Council approves new ferry": HEADING_EDIT}, edited)
    assert cli("import-xliff", str(out), str(edited), "--cache", str(world.cache)).exit_code == 0
    after = (out / "a.uk.md").read_bytes()
    fresh = tmp_path / "fresh.sqlite3"  # the cache was cleared since
    res = cli("export", str(out), "--cache", str(fresh))
    assert res.exit_code == 1 and "not in the cache" in res.stderr
    res = translate(World(world.articles, fresh, world.model), out)
    assert res.exit_code == 0, res.output
    assert "1 kept (human-edited)" in res.stderr
    assert (out / "a.uk.md").read_bytes() == after
    res = cli("export", str(out), "--cache", str(fresh))
    assert res.exit_code == 0, res.output
    units = ET.parse(out / "a.uk.md.xlf").getroot().iter(f"{X}unit")
    reviewed = {
        u.get("id"): u.find(f"{X}segment/{X}target").text
        for u in units
        if u.find(f"{X}segment").get("state") == "reviewed"
    }
    assert reviewed == {ids[0]: HEADING_EDIT}


def test_units_a_tool_resegmented_or_annotated_are_read_whole() -> None:
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<xliff xmlns="{XLIFF_NS}" version="2.0" srcLang="en" trgLang="uk">
  <file id="f1"><unit id="u1-00000000">
    <segment state="final"><source>One.</source><target>Один.</target></segment>
    <ignorable><source> </source></ignorable>
    <segment><source>Two <mrk id="m1" type="term">words</mrk>.</source>
      <target>Два <mrk id="m1" type="comment" value="ok">слова</mrk><sm id="s"/>.</target></segment>
  </unit></file>
</xliff>"""
    (unit,) = read_xliff(text.encode("utf-8"), "tool.xlf").units
    assert (unit.source, unit.target) == ("One. Two words.", "Один. Два слова.")
