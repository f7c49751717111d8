"""Glossaries (``--glossary``): reading TSV, CSV and TBX, malformed files, the matching and
checking rules, the record of applied and missed terms, cache keys, the chat prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO
from workbench import Workbench
from workbench.cli.app import app
from workbench.errors import WorkbenchError
from workbench.glossary import GlossaryError, Rule, load
from workbench.glossary.apply import terms_text
from workbench.glossary.match import check, find, sensitive
from workbench.results import SegmentPair, TranslationResult
from workbench.settings import GenerationSettings, RunSettings

NEWS = REPO / "prompts" / "glossary" / "news-style.tsv"
FAST = GenerationSettings(beams=1, max_new_tokens_ratio=0.5, max_new_tokens_extra=4)

TSV = (
    "# a style book\n"
    "en\tuk\tko\tkeep\tcase\tnote\n"
    "Kyiv|!Kiev\tКиїв|Києва|Києві\t키이우\t\t\tnot Kiev\n"
    "Verkhovna Rada\tВерховна Рада\t베르호우나 라다\n"
    "Rada\tРада\t라다\n"
    "Fidesz\t\t\tkeep\t\tparty name\n"
    "parliament\tпарламент\t의회\n"
)
CSV = (
    "en,uk,ko,keep,case,note\n"
    'Kyiv|!Kiev,Київ|Києва|Києві,키이우,,,"not Kiev"\n'
    "Verkhovna Rada,Верховна Рада,베르호우나 라다,,,\n"
    "Rada,Рада,라다,,,\n"
    "Fidesz,,,keep,,party name\n"
    "parliament,парламент,의회,,,\n"
)
TBX = """<?xml version="1.0" encoding="UTF-8"?>
<tbx type="TBX-Basic" style="dca" xml:lang="en" xmlns="urn:iso:std:iso:30042:ed-2">
 <tbxHeader><fileDesc><sourceDesc><p>a style book</p></sourceDesc></fileDesc></tbxHeader>
 <text><body>
  <conceptEntry id="c1">
   <note>not Kiev</note>
   <langSec xml:lang="en">
    <termSec><term>Kyiv</term>
     <termNote type="administrativeStatus">preferredTerm-admn-sts</termNote></termSec>
    <termSec><term>Kiev</term>
     <termNote type="administrativeStatus">deprecatedTerm-admn-sts</termNote></termSec>
   </langSec>
   <langSec xml:lang="uk">
    <termSec><term>Києва</term>
     <termNote type="administrativeStatus">admittedTerm-admn-sts</termNote></termSec>
    <termSec><term>Київ</term>
     <termNote type="administrativeStatus">preferredTerm-admn-sts</termNote></termSec>
    <termSec><term>Києві</term>
     <termNote type="administrativeStatus">admittedTerm-admn-sts</termNote></termSec>
   </langSec>
   <langSec xml:lang="ko"><termSec><term>키이우</term></termSec></langSec>
  </conceptEntry>
  <conceptEntry id="c2">
   <langSec xml:lang="en"><termSec><term>Verkhovna Rada</term></termSec></langSec>
   <langSec xml:lang="uk"><termSec><term>Верховна Рада</term></termSec></langSec>
   <langSec xml:lang="ko"><termSec><term>베르호우나 라다</term></termSec></langSec>
  </conceptEntry>
  <conceptEntry id="c3">
   <langSec xml:lang="en"><termSec><term>Rada</term></termSec></langSec>
   <langSec xml:lang="uk"><termSec><term>Рада</term></termSec></langSec>
   <langSec xml:lang="ko"><termSec><term>라다</term></termSec></langSec>
  </conceptEntry>
  <conceptEntry id="c4">
   <descrip type="x-keep">yes</descrip><note>party name</note>
   <langSec xml:lang="en"><termSec><term>Fidesz</term></termSec></langSec>
  </conceptEntry>
  <conceptEntry id="c5">
   <langSec xml:lang="en"><termSec><term>parliament</term></termSec></langSec>
   <langSec xml:lang="uk"><termSec><term>парламент</term></termSec></langSec>
   <langSec xml:lang="ko"><termSec><term>의회</term></termSec></langSec>
  </conceptEntry>
 </body></text>
</tbx>
"""
#: The same book in TBX v2 (TBX-Basic 2008: martif, termEntry, langSet, tig), with its DTD line.
TBX2 = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE martif SYSTEM "TBXBasiccoreStructV02.dtd">
<martif type="TBX-Basic" xml:lang="en"><text><body>
 <termEntry id="c1"><langSet xml:lang="en"><tig><term>Seoul</term></tig></langSet>
  <langSet xml:lang="ko"><tig><term>서울</term></tig></langSet></termEntry>
</body></text></martif>
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, "utf-8")
    return path


# --- reading -----------------------------------------------------------------------------------


def test_tsv_csv_and_tbx_read_to_the_same_glossary(tmp_path: Path) -> None:
    tsv = load(write(tmp_path, "book.tsv", TSV))
    csv = load(write(tmp_path, "book.csv", CSV))
    tbx = load(write(tmp_path, "book.tbx", TBX))
    assert [e.data() for e in tsv.entries] == [e.data() for e in csv.entries]
    assert [e.data() for e in tsv.entries] == [e.data() for e in tbx.entries]
    # The hash is of the entries, not the file: the same book in any format keys the same.
    assert tsv.sha256 == csv.sha256 == tbx.sha256
    kyiv = tsv.entries[0]
    assert kyiv.terms == {"en": ("Kyiv",), "uk": ("Київ", "Києва", "Києві"), "ko": ("키이우",)}
    assert kyiv.deprecated == {"en": ("Kiev",)} and kyiv.note == "not Kiev" and not kyiv.keep
    fidesz = tsv.entries[3]
    assert fidesz.keep and fidesz.terms == {"en": ("Fidesz",)} and fidesz.note == "party name"


def test_tbx_v2_with_its_dtd_line_is_read(tmp_path: Path) -> None:
    g = load(write(tmp_path, "old.tbx", TBX2))
    assert [e.terms for e in g.entries] == [{"en": ("Seoul",), "ko": ("서울",)}]


def test_the_same_term_in_every_language_is_kept(tmp_path: Path) -> None:
    g = load(write(tmp_path, "b.tsv", "en\tuk\tko\nBBC\tBBC\tBBC\nNATO\tНАТО\t나토\n"))
    assert [e.keep for e in g.entries] == [True, False]
    (rule,) = [r for r in g.rules("en", "uk") if r.keep]
    assert rule.target == "BBC"


def test_the_shipped_news_style_book_loads() -> None:
    g = load(NEWS)
    assert {"en", "uk", "ko"} <= set(g.languages())
    targets = {r.target for r in g.rules("en", "uk")}
    assert {"Київ", "Одеса", "Харків", "Sinn Féin"} <= targets
    assert {r.target for r in g.rules("ko", "en")} >= {"Seoul", "National Assembly"}


MALFORMED = [
    # (id, file name, content, what the one line says)
    (
        "encoding",
        "b.tsv",
        "en\tuk\nKyiv\tКиїв\n".encode() + b"Lviv\t\xcb\xfc\xb3\xb2\n",
        "line 3: not UTF-8",
    ),
    ("no-header", "b.tsv", "# only a comment\n", "no header row"),
    ("unknown-column", "b.tsv", "en\tuk\tcolour\nKyiv\tКиїв\tred\n", "'colour' is neither"),
    ("no-language", "b.tsv", "note\tkeep\nx\tyes\n", "names no language column"),
    ("repeated-column", "b.tsv", "en\tuk\ten\nKyiv\tКиїв\tKyiv\n", "'en' appears twice"),
    ("one-language", "b.tsv", "en\tuk\nKyiv\t\n", "line 2: 'Kyiv' has a term in en only"),
    ("too-many-cells", "b.tsv", "en\tuk\nKyiv\tКиїв\textra\n", "line 2: 3 cells"),
    ("bad-keep", "b.tsv", "en\tuk\tkeep\nKyiv\tКиїв\tmaybe\n", "line 2: keep is 'maybe'"),
    ("bad-case", "b.tsv", "en\tuk\tcase\nKyiv\tКиїв\tloud\n", "line 2: case is 'loud'"),
    (
        "conflict",
        "b.tsv",
        "en\tuk\nKyiv\tКиїв\nOdesa\tОдеса\nKyiv\tКиєв\n",
        "line 4: 'Kyiv' (en) is also in the entry of line 2",
    ),
    ("csv-quote", "b.csv", 'en,uk\n"Kyiv,Київ\n', "line"),
    ("tbx-broken", "b.tbx", "<tbx><text><body>\n<conceptEntry>\n</tbx>", "line 3: not well-formed"),
    ("tbx-root", "b.tbx", "<xliff/>", "not TBX"),
    (
        "tbx-no-lang",
        "b.tbx",
        "<tbx><text><body><conceptEntry>\n<langSec><termSec><term>Kyiv</term></termSec>"
        "</langSec></conceptEntry></body></text></tbx>",
        "line 2: <langSec> without a known xml:lang",
    ),
    (
        "tbx-entities",
        "b.tbx",
        '<?xml version="1.0"?><!DOCTYPE tbx [<!ENTITY a "aaaa">]><tbx>&a;</tbx>',
        "refused unread",
    ),
    ("missing", "none.tsv", None, "no such file"),
]


@pytest.mark.parametrize(
    ("name", "content", "says"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_glossary_is_one_line_naming_file_and_line(
    tmp_path: Path, name: str, content: str | bytes | None, says: str
) -> None:
    path = tmp_path / name if content is None else write(tmp_path, name, content)
    with pytest.raises(GlossaryError) as caught:
        load(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and says in message


def test_a_name_and_a_word_spelt_alike_are_two_entries(tmp_path: Path) -> None:
    g = load(write(tmp_path, "b.tsv", "en\tuk\nMay\tМей\nmay\tможе\n"))
    text = "May said it may rain."
    found = find(text, g.rules("en", "uk"), "en")
    assert [(m.text_in(text), m.rule.target) for m in found] == [("May", "Мей"), ("may", "може")]


def test_exact_repeats_are_merged_not_refused(tmp_path: Path) -> None:
    g = load(write(tmp_path, "b.tsv", "en\tuk\nKyiv\tКиїв\nKyiv\tКиїв\n"))
    assert len(g.entries) == 1


def test_the_cli_refuses_a_malformed_glossary_before_any_work(tmp_path: Path, tiny) -> None:
    bad = write(tmp_path, "bad.tsv", "en\tuk\nKyiv\tКиїв\tx\n")
    article = write(tmp_path, "a.txt", "The council met in Kyiv on Monday.\n")
    res = CliRunner().invoke(
        app,
        ["translate", str(article), "--to", "uk", "--from", "en", "--glossary", str(bad),
         "--model", str(tiny("marian-multi")), "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert res.exit_code == 2
    assert f"glossary {bad}, line 2: 3 cells" in res.output
    assert not (tmp_path / "out").exists()


# --- matching ----------------------------------------------------------------------------------


def rule(*forms: str, target: str = "T", case: str = "auto", keep: bool = False) -> Rule:
    return Rule(0, forms, target, (target,), (), keep, case)


MATCHES = [
    # (id, language, forms, case, text, the matches as written)
    ("name-exact", "en", ("Kyiv",), "auto", "Kyiv and kyiv and KYIV", ["Kyiv"]),
    (
        "lower-any-case",
        "en",
        ("parliament",),
        "auto",
        "Parliament, PARLIAMENT",
        ["Parliament", "PARLIAMENT"],
    ),
    ("case-override", "en", ("Kyiv",), "insensitive", "KYIV", ["KYIV"]),
    ("case-forced", "en", ("nato",), "sensitive", "NATO and nato", ["nato"]),
    ("boundary", "en", ("Rada",), "auto", "Radar Rada Radas", ["Rada", "Radas"]),
    ("possessive", "en", ("Kyiv",), "auto", "Kyiv's mayor, Kyiv’s", ["Kyiv's", "Kyiv’s"]),
    ("plural", "en", ("party",), "auto", "two parties, one party", ["parties", "party"]),
    (
        "multiword-space",
        "en",
        ("Verkhovna Rada",),
        "auto",
        "the Verkhovna\n Rada",
        ["Verkhovna\n Rada"],
    ),
    (
        "uk-ending",
        "uk",
        ("Одеса",),
        "auto",
        "в Одесі, з Одесою, Одеси",
        ["Одесі", "Одесою", "Одеси"],
    ),
    ("uk-words", "uk", ("Верховна Рада",), "auto", "у Верховній Раді", ["Верховній Раді"]),
    ("uk-consonant", "uk", ("Ізраїль",), "auto", "до Ізраїлю", ["Ізраїлю"]),
    ("uk-not-another-word", "uk", ("Одеса",), "auto", "одесит Одесит", []),
    ("uk-listed-forms", "uk", ("Київ", "Києва"), "auto", "до Києва", ["Києва"]),
    ("uk-stem-change-unlisted", "uk", ("Київ",), "auto", "до Києва", []),
    (
        "ko-particle",
        "ko",
        ("서울",),
        "auto",
        "서울에서 서울은 서울",
        ["서울에서", "서울은", "서울"],
    ),
    ("ko-compound", "ko", ("국회",), "auto", "국회의원 국회의", ["국회의"]),
    ("ko-latin-particle", "ko", ("NATO",), "auto", "NATO는", ["NATO는"]),
    ("ja-no-spaces", "ja", ("東京",), "auto", "東京都", ["東京"]),
]


@pytest.mark.parametrize(
    ("lang", "forms", "case", "text", "expected"),
    [m[1:] for m in MATCHES],
    ids=[m[0] for m in MATCHES],
)
def test_matching_rules(
    lang: str, forms: tuple[str, ...], case: str, text: str, expected: list[str]
) -> None:
    found = find(text, (rule(*forms, case=case),), lang)
    assert [m.text_in(text) for m in found] == expected


def test_longest_match_wins_and_matches_never_overlap() -> None:
    rules = (Rule(0, ("Rada",), "Рада", ("Рада",), (), False, "auto"),
             Rule(1, ("Verkhovna Rada",), "Верховна Рада", ("Верховна Рада",), (), False, "auto"))  # fmt: skip
    text = "The Verkhovna Rada met; the Rada voted."
    found = find(text, rules, "en")
    assert [(m.text_in(text), m.rule.entry) for m in found] == [("Verkhovna Rada", 1), ("Rada", 0)]


def test_the_term_itself_ends_before_a_suffix_or_particle() -> None:
    text = "Kiev's 서울에서"
    (en,) = find(text, (rule("Kiev"),), "en")
    (ko,) = find(text, (rule("서울"),), "ko")
    assert text[en.start : en.term_end] == "Kiev" and text[ko.start : ko.term_end] == "서울"


def test_capitals_decide_the_default_case() -> None:
    assert sensitive("Kyiv", "auto") and sensitive("NATO", "auto")
    assert not sensitive("parliament", "auto") and not sensitive("Kyiv", "insensitive")


CHECKS = [
    # (id, target language, rule, source, translation, status)
    ("uk-inflected", "uk", Rule(0, ("Kyiv",), "Київ", ("Київ", "Києві"), (), False, "auto"), "in Kyiv", "у Києві", "applied"),
    ("uk-ending-rule", "uk", Rule(0, ("Odesa",), "Одеса", ("Одеса",), (), False, "auto"), "to Odesa", "до Одеси", "applied"),
    ("uk-missing", "uk", Rule(0, ("Kyiv",), "Київ", ("Київ",), (), False, "auto"), "in Kyiv", "у місті", "missed"),
    ("ko-particle", "ko", Rule(0, ("Seoul",), "서울", ("서울",), (), False, "auto"), "in Seoul", "서울에서", "applied"),
    ("ko-compound", "ko", Rule(0, ("Seoul",), "서울", ("서울",), (), False, "auto"), "Seoul", "서울시립", "missed"),
    ("en-deprecated", "en", Rule(0, ("Київ",), "Kyiv", ("Kyiv",), ("Kiev",), False, "auto"), "Київ", "in Kiev", "deprecated"),
    ("en-possessive", "en", Rule(0, ("Київ",), "Kyiv", ("Kyiv",), ("Kiev",), False, "auto"), "Київ", "Kyiv's mayor", "applied"),
    ("keep-exact", "uk", Rule(0, ("Fidesz",), "Fidesz", ("Fidesz",), (), True, "auto"), "Fidesz won", "Fidesz переміг", "applied"),
    ("keep-changed", "uk", Rule(0, ("Fidesz",), "Fidesz", ("Fidesz",), (), True, "auto"), "Fidesz won", "Фідес переміг", "missed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("tgt", "the_rule", "source", "output", "status"),
    [c[1:] for c in CHECKS],
    ids=[c[0] for c in CHECKS],
)
def test_checking_rules(tgt: str, the_rule: Rule, source: str, output: str, status: str) -> None:
    found = find(source, (the_rule,), "uk" if tgt == "en" else "en")
    assert [s for _, s in check(source, output, found, tgt)] == [status]


# --- accounting --------------------------------------------------------------------------------


def test_applied_and_missed_terms_are_recorded_per_segment_and_flagged(tmp_path: Path) -> None:
    from workbench.glossary.apply import account

    g = load(write(tmp_path, "b.tsv", TSV))
    result = TranslationResult(target_lang="uk", source_lang="en")
    result.segments = [
        SegmentPair("Kyiv's parliament met.", "Парламент Києва зібрався.", False),
        SegmentPair("Fidesz and the Verkhovna Rada.", "Фідес і Верховна Рада.", False),
        SegmentPair("Nothing here.", "Нічого.", False),
    ]
    flags = account(result, g, "check")
    record = result.glossary
    assert record is not None
    assert (record["applied"], record["missed"], record["deprecated"]) == (3, 1, 0)
    assert [(t["segment"], t["source"], t["status"]) for t in record["terms"]] == [
        (0, "Kyiv's", "applied"),
        (0, "parliament", "applied"),
        (1, "Fidesz", "missed"),
        (1, "Verkhovna Rada", "applied"),
    ]
    assert [(f.check, f.severity, f.segment) for f in flags] == [("glossary", "warning", 1)]


def test_a_run_records_terms_in_provenance_and_manifest(tmp_path: Path, tiny) -> None:
    (tmp_path / "in").mkdir()
    text = "Kyiv\n\nThe council met in Kyiv's old hall on Monday.\n\nNothing else.\n"
    article = write(tmp_path / "in", "a.txt", text)
    book = write(tmp_path, "b.tsv", TSV)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        ["translate", str(article.parent), "--to", "uk", "--from", "en", "--glossary", str(book),
         "--model", str(tiny("marian-multi")), "--backend", "torch", "--beams", "1",
         "--out", str(out), "--no-cache"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    prov = json.loads((out / "a.uk.txt.json").read_text("utf-8"))
    record = prov["glossary"]
    assert record["file"] == str(book) and record["sha256"] == load(book).sha256
    assert [(t["segment"], t["source"]) for t in record["terms"]] == [(0, "Kyiv"), (1, "Kyiv's")]
    assert record["applied"] + record["missed"] + record["deprecated"] == 2
    flagged = {f["segment"] for f in prov["checks"] if f["check"] == "glossary"}
    assert flagged == {t["segment"] for t in record["terms"] if t["status"] != "applied"}
    assert "|glossary:" in prov["signature"]
    (row,) = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    counts = {k: record[k] for k in ("applied", "missed", "deprecated")}
    assert row["glossary"] == counts


# --- keys --------------------------------------------------------------------------------------

SENTENCES = [
    "The mayor of Kyiv spoke on Monday.",
    "The parliament met at noon.",
    "Fidesz sent a delegation.",
    "It rained all day.",
    "Shops closed early.",
]


def chat_wb(cache: Path) -> Workbench:
    fast = GenerationSettings(beams=1, max_new_tokens_ratio=0.25, max_new_tokens_extra=2)
    return Workbench(cache=cache, run=RunSettings(backend="torch"), generation=fast)


def test_a_changed_term_translates_only_the_sentences_that_hold_it(tmp_path: Path, tiny) -> None:
    text = "\n\n".join(SENTENCES) + "\n"
    book = write(tmp_path, "b.tsv", TSV)
    cache = tmp_path / "cache.sqlite3"
    model = str(tiny("chat"))
    first = chat_wb(cache).translate(text, to="uk", src="en", model=model, glossary=book)
    assert (first.hits, first.misses) == (0, 5)
    plain = chat_wb(cache).translate(text, to="uk", src="en", model=model)
    # Sentences without a term are asked the same with or without a glossary.
    assert (plain.hits, plain.misses) == (2, 3)
    book.write_text(TSV.replace("\tпарламент\t", "\tпарламентом\t"), "utf-8")
    again = chat_wb(cache).translate(text, to="uk", src="en", model=model, glossary=book)
    assert again.key != first.key  # the glossary's hash is in the document's key
    assert (again.hits, again.misses) == (4, 1)  # only "The parliament met at noon."
    same = chat_wb(cache).translate(text, to="uk", src="en", model=model, glossary=book)
    assert same.cache == "document"


def test_sentences_without_terms_keep_their_keys(tmp_path: Path, tiny) -> None:
    text = "\n\n".join(SENTENCES) + "\n"
    book = write(tmp_path, "b.tsv", TSV)
    cache = tmp_path / "cache.sqlite3"
    w = Workbench(cache=cache, backend="torch", beams=1, generation=FAST)
    model = str(tiny("marian-multi"))
    plain = w.translate(text, to="uk", src="en", model=model)
    held = w.translate(text, to="uk", src="en", model=model, glossary=book)
    # Kyiv inflects in Ukrainian (three forms listed): checked, so its sentence is unchanged;
    # parliament (one form) and Fidesz (kept) go as placeholders.
    assert held.key != plain.key and (held.hits, held.misses) == (3, 2)
    assert [p.target for p in held.segments][3:] == [p.target for p in plain.segments][3:]
    assert held.segments[0].target == plain.segments[0].target
    assert held.glossary is not None and held.glossary["how"] == "placeholder"


# --- the chat prompt ---------------------------------------------------------------------------


def test_the_chat_prompt_holds_the_sentences_terms(tmp_path: Path, tiny) -> None:
    from dataclasses import replace

    from workbench.glossary import apply
    from workbench.models.pool import ModelPool

    g = load(write(tmp_path, "b.tsv", TSV))
    pool = ModelPool(RunSettings(backend="torch"))
    resolved = pool.resolve(str(tiny("chat")))
    plan = pool.plan_translation(resolved, "en", "uk", FAST)
    carrying = apply.with_terms(plan, g)
    assert len(carrying.terms) == len(g.rules("en", "uk"))
    backend = pool.backend(resolved)
    values = {
        "src": "en",
        "tgt": "uk",
        "source_language": "English",
        "target_language": "Ukrainian",
    }
    prompt = backend._translate_prompt()
    text = "Fidesz met the Kiev city parliament."
    terms = backend._terms(text, carrying)
    user = backend._conversation(prompt, values, text, carrying, terms)[-1]["content"]
    assert "- Kiev → Київ (not Kiev)" in user and "- parliament → парламент" in user
    assert "- Fidesz: keep exactly as written, untranslated (party name)" in user
    assert "Rada" not in user  # only the terms found in this sentence
    assert text in user
    # With the sentences before it: the context template with the terms.
    with_context = backend._with_context(values, text, ("It rained.",), 16, terms, carrying)
    assert with_context is not None
    user = with_context[-1]["content"]
    assert "- Kiev → Київ (not Kiev)" in user and "It rained." in user and text in user
    # A sentence without terms gets the plain template, byte for byte.
    assert backend._terms("It rained.", carrying) == ""
    plain = backend._conversation(prompt, values, "It rained.", carrying, "")
    assert plain == prompt.render({**values, "text": "It rained."})
    assert backend._terms(text, replace(carrying, terms=())) == ""


def test_terms_text_lists_each_term_once() -> None:
    text = "Kyiv and Kyiv"
    found = find(
        text, (Rule(0, ("Kyiv",), "Київ", ("Київ",), (), False, "auto", "not Kiev"),), "en"
    )
    assert terms_text(found, text) == "- Kyiv → Київ (not Kiev)"


# --- job files and summaries -------------------------------------------------------------------


def test_a_job_files_glossary_is_relative_to_it_and_checked(tmp_path: Path) -> None:
    from workbench.errors import JobError
    from workbench.runs.jobs import load_job

    write(tmp_path, "book.tsv", TSV)
    job = write(tmp_path, "job.toml", 'inputs = ["in"]\nout = "out"\n[[steps]]\ntask = "translate"\n'
                'to = ["uk"]\nglossary = "book.tsv"\n')  # fmt: skip
    (step,) = load_job(job).steps
    assert step.translation is not None and step.translation.glossary == str(tmp_path / "book.tsv")
    write(tmp_path, "book.tsv", "en\tuk\nKyiv\n")
    with pytest.raises(JobError) as caught:
        load_job(job)
    assert "steps[1].glossary" in str(caught.value) and "line 2" in str(caught.value)


def test_a_summary_using_a_deprecated_form_is_flagged(tmp_path: Path) -> None:
    book = write(tmp_path, "b.tsv", TSV)
    article = (
        "Kiev hosts talks\n\nThe talks in Kiev began on Monday with twelve delegations. "
        "The parliament of the city sent three observers to the hall. Officials said the "
        "meeting would last until Friday afternoon. A final statement is expected then.\n"
    )
    r = Workbench(cache=False).summarise(article, model="lead", src="en", glossary=book)
    assert r.glossary is not None and r.glossary["deprecated"] >= 1
    assert any(f["check"] == "glossary" and "Kiev" in f["reason"] for f in r.checks)
    assert r.verdict == "flag"


def test_an_option_that_is_not_text_is_refused() -> None:
    from workbench.settings import TranslateOptions

    with pytest.raises(WorkbenchError):
        TranslateOptions(("uk",), glossary=3).checked()  # type: ignore[arg-type]


# --- placeholders (seq2seq models) --------------------------------------------------------------


class EchoEngine:
    """Stands in for a model that carries placeholders through: each sentence comes back as
    sent (``drop``: with its placeholders removed, as a model that loses them). The engine is
    not under test here; the glossary's placeholders, restoring and accounting are."""

    name = "local"

    def __init__(self, drop: bool = False) -> None:
        self.drop = drop
        self.seen: list[str] = []

    def translate_chunks(self, pool, chunks):  # type: ignore[no-untyped-def]
        import re

        from workbench.models.base import Output

        for i, chunk in enumerate(chunks):
            self.seen += chunk.texts
            texts = [re.sub(r"<x\d+/>", "", t) if self.drop else t for t in chunk.texts]
            yield i, [Output(t) for t in texts]


BOOK = "en\tuk\tkeep\nKyiv|!Kiev\tКиїв\t\ncity council\tміська рада\t\nFidesz\t\tkeep\n"
PLACED = "City council members met in Kiev's centre.\n\nFidesz sent a delegation.\n\nIt rained.\n"


def echo_run(tmp_path: Path, tiny, engine: EchoEngine, book: str = BOOK, cache: bool = False):  # type: ignore[no-untyped-def]
    path = tmp_path / "book.tsv"
    path.write_text(book, "utf-8")
    w = Workbench(cache=tmp_path / "c.sqlite3" if cache else False, backend="torch", engine=engine)
    return w.translate(PLACED, to="uk", src="en", model=str(tiny("marian-multi")), glossary=path)


def test_terms_go_as_placeholders_and_come_back_as_required(tmp_path: Path, tiny) -> None:
    engine = EchoEngine()
    r = echo_run(tmp_path, tiny, engine)
    sent = ["<x1/> members met in <x2/>'s centre.", "<x1/> sent a delegation.", "It rained."]
    assert sorted(engine.seen) == sorted(sent)
    # Restored as the required term (capitalised where it opens the sentence), or as written.
    assert (
        r.text
        == "Міська рада members met in Київ's centre.\n\nFidesz sent a delegation.\n\nIt rained.\n"
    )
    assert r.glossary is not None and r.glossary["how"] == "placeholder"
    assert (r.glossary["applied"], r.glossary["missed"], r.glossary["fallbacks"]) == (3, 0, 0)
    assert not [f for f in r.checks if f["check"] == "glossary"]


def test_a_term_that_inflects_in_the_target_is_checked_not_forced(tmp_path: Path, tiny) -> None:
    engine = EchoEngine()
    r = echo_run(tmp_path, tiny, engine, BOOK.replace("Київ\t", "Київ|Києва|Києві\t"))
    assert "<x1/> members met in Kiev's centre." in engine.seen
    assert r.glossary is not None
    assert [(t["source"], t["inflects"], t["forced"]) for t in r.glossary["terms"]] == [
        ("City council", False, True),
        ("Kiev's", True, False),
        ("Fidesz", False, True),
    ]


def test_a_lost_placeholder_falls_back_to_the_sentence_without_it(tmp_path: Path, tiny) -> None:
    engine = EchoEngine(drop=True)
    r = echo_run(tmp_path, tiny, engine)
    # The sentences were sent again without placeholders; their terms are then checked.
    assert "City council members met in Kiev's centre." in engine.seen
    assert r.text == PLACED
    assert r.glossary is not None and r.glossary["fallbacks"] == 2
    assert [(t["source"], t["status"], t["fallback"]) for t in r.glossary["terms"]] == [
        ("City council", "missed", True),
        ("Kiev's", "missed", True),
        ("Fidesz", "applied", True),
    ]
    assert any(
        n.startswith("glossary: 2 of 2 sentences with terms lost a placeholder") for n in r.notes
    )
    assert {f["segment"] for f in r.checks if f["check"] == "glossary"} == {0}


def test_a_changed_term_is_restored_without_translating_again(tmp_path: Path, tiny) -> None:
    first = echo_run(tmp_path, tiny, EchoEngine(), cache=True)
    assert (first.hits, first.misses) == (0, 3)
    engine = EchoEngine()
    # Another required term: the model's output with placeholders is the same.
    changed = echo_run(tmp_path, tiny, engine, BOOK.replace("Київ\t", "Києва\t"), cache=True)
    assert (changed.hits, changed.misses, engine.seen) == (3, 0, [])
    assert changed.key != first.key and "Києва's" in (changed.text or "")
    # Another source form: only the sentence holding it is sent again.
    engine = EchoEngine()
    more = echo_run(
        tmp_path, tiny, engine, BOOK.replace("Fidesz\t", "Fidesz|delegation\t"), cache=True
    )
    assert (more.hits, more.misses) == (2, 1)
    assert engine.seen == ["<x1/> sent a <x2/>."]


def test_a_plan_carries_its_terms_to_other_processes(tmp_path: Path, tiny) -> None:
    from workbench.glossary import apply
    from workbench.models.plan import ModelPlan
    from workbench.models.pool import ModelPool

    g = load(write(tmp_path, "b.tsv", TSV))
    pool = ModelPool(RunSettings(backend="torch"))
    resolved = pool.resolve(str(tiny("chat")))
    plan = apply.with_terms(pool.plan_translation(resolved, "en", "uk", FAST), g)
    again = ModelPlan.from_wire(json.loads(json.dumps(plan.wire())), resolved, plan.info)
    assert apply.plan_rules(again) == apply.plan_rules(plan) and again.terms
    # A leg without the glossary (a sentence's fragments) is asked without terms.
    assert apply.with_terms(plan, None).terms == ()


def test_a_cascade_sends_a_sentence_that_missed_a_term_to_the_fallback(tmp_path: Path) -> None:
    from workbench.tasks.cascade import failing

    g = load(write(tmp_path, "b.tsv", TSV))
    texts = ["The parliament met on Monday.", "It rained all day long in the city."]
    outputs = ["Рада зібралася в понеділок.", "Цілий день у місті йшов дощ."]
    assert failing(texts, outputs, "en", "uk") == {}
    assert failing(texts, outputs, "en", "uk", g) == {
        0: ["glossary: 'parliament' not as 'парламент'"]
    }
