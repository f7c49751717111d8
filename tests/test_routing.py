"""Routing without --model: cached models first, pivots through English (or --pivot), and
`workbench models route` explaining the choice. Tiny random models write gibberish, so these
tests check the choice, the cache keys, the signatures and the provenance, not the words."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from workbench import Workbench, inline, signature
from workbench.cli.app import app
from workbench.errors import NoModelForPair
from workbench.models import routing
from workbench.models.catalog import Catalog, CatalogEntry
from workbench.models.resolve import hub_cache_dir

SHA = "0123456789abcdef0123456789abcdef01234567"
KOREAN = "시장은 월요일에 새 다리를 열었다. 주민들은 기뻐했다.\n\n다리는 길이가 300미터이다.\n"
ENGLISH = "The council met on Monday. The mayor spoke.\n\nThe bridge is 300 metres long.\n"

#: A user catalog: a ko->en/ru model, an en->uk one and a ru->uk one (all laid out in the
#: test's HF cache), plus an en->ko default that is not cached and a cached en->ko model.
CATALOG = """
[[model]]
id = "test/nllb-ko-en"
family = "nllb"
sources = ["ko"]
targets = ["en", "ru"]
licence = "MIT"

[[model]]
id = "test/opus-en-uk"
family = "marian"
sources = ["en"]
targets = ["uk"]
licence = "CC-BY-4.0"

[[model]]
id = "test/m2m-ru-uk"
family = "m2m100"
sources = ["ru"]
targets = ["uk"]
licence = "MIT"

[[model]]
id = "test/default-en-ko"
family = "m2m100"
sources = ["en"]
targets = ["ko"]
licence = "MIT"
default_for = ["en-ko"]

[[model]]
id = "test/cached-en-ko"
family = "nllb"
sources = ["en"]
targets = ["ko"]
licence = "MIT"
"""
LAID_OUT = {
    "test/nllb-ko-en": "nllb",
    "test/opus-en-uk": "marian",
    "test/m2m-ru-uk": "m2m100",
    "test/cached-en-ko": "nllb",
}


def _lay_out(folder: Path, repo_id: str, hub: Path) -> None:
    """Place a model folder as a hub snapshot, as `huggingface_hub` would have downloaded it."""
    root = hub / ("models--" + repo_id.replace("/", "--"))
    shutil.copytree(folder, root / "snapshots" / SHA)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(SHA)


@pytest.fixture
def world(tiny: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user catalog above, with its cached models in this test's HF cache."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG, "utf-8")
    monkeypatch.setenv("WORKBENCH_CATALOG", str(catalog))
    for repo_id, family in LAID_OUT.items():
        _lay_out(tiny(family), repo_id, hub_cache_dir())
    return catalog


def _wb() -> Workbench:
    return Workbench(device="cpu", backend="torch", beams=1)


def test_a_cached_model_wins_over_an_uncached_default(world: Path) -> None:
    route = routing.choose(Catalog.load(), "en", "ko")
    assert route.pivot is None
    assert [leg.model for leg in route.legs] == ["test/cached-en-ko"]
    assert "test/default-en-ko" in route.why and "not cached" in route.why
    with _wb() as wb:
        result = wb.translate(ENGLISH, to="ko", src="en")
    assert result.model == "test/cached-en-ko"
    assert result.route is not None and result.route["pivot"] is None
    assert any(n.startswith("route: en->ko with test/cached-en-ko (cached)") for n in result.notes)


def test_the_default_is_kept_when_it_is_cached(world: Path, tiny: Callable[[str], Path]) -> None:
    _lay_out(tiny("m2m100"), "test/default-en-ko", hub_cache_dir())
    route = routing.choose(Catalog.load(), "en", "ko")
    assert [leg.model for leg in route.legs] == ["test/default-en-ko"]
    assert route.plain  # nothing to say: no note on the result


def test_a_pivot_through_english_when_no_cached_model_serves_the_pair(world: Path) -> None:
    route = routing.choose(Catalog.load(), "ko", "uk")
    assert route.pivot == "en"
    assert [(leg.src, leg.tgt, leg.model) for leg in route.legs] == [
        ("ko", "en", "test/nllb-ko-en"),
        ("en", "uk", "test/opus-en-uk"),
    ]
    assert route.note == (
        "route: ko->en with test/nllb-ko-en (cached), en->uk with test/opus-en-uk (cached); "
        "no cached model translates ko->uk directly"
    )


def test_pivot_legs_are_cached_under_their_own_models(world: Path) -> None:
    with _wb() as wb:
        pivoted = wb.translate(KOREAN, to="uk", src="ko")
        assert pivoted.cache == "miss" and pivoted.misses > 0
        # The signature and the provenance name both legs, with their revisions.
        assert "|model:test/nllb-ko-en@0123456|" in pivoted.signature
        assert "|pivot:en|then:test/opus-en-uk@0123456|" in pivoted.signature
        assert "|tgt:uk|" in pivoted.signature
        record = pivoted.provenance()["route"]
        assert record["pivot"] == "en"
        assert [(leg["model"], leg["revision"]) for leg in record["legs"]] == [
            ("test/nllb-ko-en", SHA),
            ("test/opus-en-uk", SHA),
        ]
        assert any(n.startswith("route: ko->en with test/nllb-ko-en") for n in pivoted.notes)
        # A plain run of each leg is all cache hits: the legs were stored under their keys.
        first = wb.translate(KOREAN, to="en", src="ko", model="test/nllb-ko-en")
        assert first.cache == "segments" and first.misses == 0 and first.hits > 0
        # The second leg's sentences are under the en->uk model's own key: a plain run of it
        # over the same English sentences finds every one. (Its run over the assembled English
        # document would split the tiny model's gibberish into other sentences.)
        english = [pair.target for pair in first.segments]
        doc = wb.document(ENGLISH)
        (plain,) = wb.translate_documents(
            [doc], ["uk"], src="en", model="test/opus-en-uk", plan_only=True
        )[0]
        keys = [signature.digest(plain.segment_key or plain.key, t) for t in english]
        assert set(wb.store.get_segments(keys)) == set(keys)
        assert [pair.target for pair in pivoted.segments] == [
            wb.store.get_segments([k])[k] for k in keys
        ]
        # The document's own key covers the route: a rerun is a whole-document hit.
        again = wb.translate(KOREAN, to="uk", src="ko")
        assert again.cache == "document" and again.text == pivoted.text
        assert again.route == record


def test_the_pivot_option_chooses_another_language(world: Path) -> None:
    route = routing.choose(Catalog.load(), "ko", "uk", "ru")
    assert route.pivot == "ru"
    assert [leg.model for leg in route.legs] == ["test/nllb-ko-en", "test/m2m-ru-uk"]
    with _wb() as wb:
        result = wb.translate(KOREAN, to="uk", src="ko", pivot="ru")
        default = wb.translate(KOREAN, to="uk", src="ko")
    assert "|pivot:ru|then:test/m2m-ru-uk@0123456|" in result.signature
    assert result.language_token == "__uk__"  # the second leg's: it makes the Ukrainian
    assert result.key != default.key


def test_an_explicit_model_is_not_routed(world: Path) -> None:
    with _wb() as wb:
        result = wb.translate(ENGLISH, to="ko", src="en", model="test/cached-en-ko")
    assert result.route is None
    assert not any(n.startswith("route:") for n in result.notes)
    assert "pivot:" not in (result.signature or "")


def test_no_route_is_one_line_naming_the_pair() -> None:
    catalog = Catalog([CatalogEntry("x/en-uk", "translate", "marian", ("en",), ("uk",))])
    with pytest.raises(NoModelForPair, match=r"no known model translates ko→uk.*--pivot"):
        routing.choose(catalog, "ko", "uk")
    # Not cached anywhere, but served: the default is downloaded (today's behaviour).
    route = routing.choose(catalog, "en", "uk", local=lambda _: False)
    assert [leg.model for leg in route.legs] == ["x/en-uk"] and not route.legs[0].local


def test_models_route_explains_a_direct_route(world: Path) -> None:
    out = CliRunner().invoke(app, ["models", "route", "en", "ko"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == "direct models for en->ko:"
    assert "  test/default-en-ko (not cached): not used: it would need a download" in lines
    assert "  test/cached-en-ko (cached): chosen" in lines
    assert lines[-1].startswith("route: en->ko with test/cached-en-ko (cached); the catalog's")
    same = CliRunner().invoke(app, ["models", "route", "en", "en"])
    assert same.exit_code == 0 and "nothing to translate" in same.output


def test_models_route_explains_a_pivot_route(world: Path) -> None:
    out = CliRunner().invoke(app, ["models", "route", "ko", "uk"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    # The shipped wildcard models serve ko->uk too, but none is cached here.
    assert any("facebook/m2m100_418M (not cached)" in line for line in lines)
    assert lines[-1] == (
        "route: ko->en with test/nllb-ko-en (cached), en->uk with test/opus-en-uk (cached); "
        "no cached model translates ko->uk directly"
    )
    ru = CliRunner().invoke(app, ["models", "route", "ko", "uk", "--pivot", "ru"])
    assert ru.exit_code == 0, ru.output
    assert "ru->uk with test/m2m-ru-uk (cached)" in ru.output.splitlines()[-1]


def test_models_route_without_a_route_exits_1_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every shipped catalog has wildcard models, so "no route" needs a catalog without them.
    only = Catalog([CatalogEntry("x/en-uk", "translate", "marian", ("en",), ("uk",))])
    monkeypatch.setattr(Catalog, "load", classmethod(lambda cls, user_path=None: only))
    out = CliRunner().invoke(app, ["models", "route", "ko", "uk"])
    assert out.exit_code == 1
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("workbench: error: no known model translates")


def test_a_job_step_takes_a_pivot(world: Path, tmp_path: Path) -> None:
    from workbench.runs.jobs import load_job, plan_job

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "night.txt").write_text(KOREAN, "utf-8")
    path = tmp_path / "news.toml"
    path.write_text(
        'inputs = ["in"]\nout = "out"\nfrom = "ko"\nbackend = "torch"\n\n'
        '[[steps]]\ntask = "translate"\nto = ["uk"]\npivot = "RU"\n',
        "utf-8",
    )
    loaded = load_job(path)
    (step,) = loaded.steps
    assert step.translate_options("ko").pivot == "ru"
    # A dry run names both legs' models as needed, and loads neither.
    wb = loaded.workbench()
    plan = plan_job(loaded, wb)
    assert [m.model for m in plan.models] == ["test/m2m-ru-uk", "test/nllb-ko-en"]
    assert wb.pool.loaded == []


# --- sentences with inline markup on a pivot route ---------------------------------------------

MARKED = "시장은 **새** 다리를 [월요일](https://x.example/a?b=1&c=2)에 열었다."
KOREAN_MD = f"# 다리\n\n{MARKED} 주민들은 기뻐했다.\n\n`ferry --times`를 실행하세요.\n"


def _leg_prefixes(wb: Workbench) -> tuple[str, str]:
    """The segment keys of the route's two legs: a plain run's of each leg's model."""
    doc = wb.document("Hello there.\n", fmt="txt")
    prefixes = []
    for src, tgt, model in (("ko", "en", "test/nllb-ko-en"), ("en", "uk", "test/opus-en-uk")):
        (plain,) = wb.translate_documents([doc], [tgt], src=src, model=model, plan_only=True)[0]
        assert plain.key is not None
        prefixes.append(plain.segment_key or plain.key)
    return prefixes[0], prefixes[1]


def _marked_piece() -> inline.Marked:
    (piece,) = [
        p for p in inline.pieces(KOREAN_MD.split("\n\n")[1], "ko", "markdown") if p.translate
    ][:1]
    assert isinstance(piece, inline.Marked) and piece.source == MARKED
    return piece


def test_a_pivot_sends_a_sentence_with_markup_whole_through_both_legs(
    world: Path, tmp_path: Path
) -> None:
    """The kept path over two legs: the first leg's raw answer (placeholders and all) is the
    second leg's input as it is, and the second's answer is put back with the sentence's own
    placeholders; link target and code come out byte-identical."""
    doc = tmp_path / "bridge.md"
    doc.write_text(KOREAN_MD, "utf-8")
    piece = _marked_piece()
    assert piece.text == "시장은 <g1>새</g1> 다리를 <g2>월요일</g2>에 열었다."
    with _wb() as wb:
        first, second = _leg_prefixes(wb)
        english = "The mayor opened the <g1>new</g1> bridge on <g2>Monday</g2>."
        ukrainian = "Мер відкрив <g1>новий</g1> міст у <g2>понеділок</g2>."
        meta = {"signature": "test", "model": "test"}
        wb.store.put_segments([(signature.digest(first, piece.text), english)], meta)
        wb.store.put_segments([(signature.digest(second, english), ukrainian)], meta)
        result = wb.translate(doc, to="uk", src="ko")
        assert result.error is None and result.text is not None
        # The document's key says sentences went whole: no fragment-era entry is served.
        assert "|pivot:en|" in result.signature and "|inline:1|" in result.signature + "|"
        done = "Мер відкрив **новий** міст у [понеділок](https://x.example/a?b=1&c=2)."
        assert done in result.text
        pair = next(p for p in result.segments if p.source == MARKED)
        assert pair.target == done
        assert not any(n.startswith("markup:") for n in pair.notes)
        # The code sentence came out with its code byte-identical, whichever way it went.
        assert "`ferry --times`" in result.text
        # A plain-text document on the same route has no placeholder scheme in its key.
        txt = wb.document(KOREAN, fmt="txt")
        (plain,) = wb.translate_documents([txt], ["uk"], src="ko", plan_only=True)[0]
        assert "|pivot:en|" in (plain.signature or "") and "inline:" not in (plain.signature or "")


def _fragments_through_both_legs(
    wb: Workbench, first: str, second: str, piece: inline.Marked, target: str
) -> None:
    """``target`` is the sentence put together from its fragments translated by both legs,
    each fragment cached under each leg's own key."""
    texts = [p.text for p in piece.fragments if p.translate]
    assert len(texts) >= 2
    keys1 = [signature.digest(first, t) for t in texts]
    found1 = wb.store.get_segments(keys1)
    assert set(found1) == set(keys1)
    keys2 = [signature.digest(second, found1[k]) for k in keys1]
    found2 = wb.store.get_segments(keys2)
    assert set(found2) == set(keys2)
    assert target == inline.fragments_text(piece, [found2[k] for k in keys2])
    assert "**" in target and "](https://x.example/a?b=1&c=2)" in target


def test_a_pivot_sentence_the_first_leg_broke_goes_in_fragments_through_both_legs(
    world: Path, tmp_path: Path
) -> None:
    doc = tmp_path / "bridge.md"
    doc.write_text(KOREAN_MD, "utf-8")
    piece = _marked_piece()
    with _wb() as wb:
        first, second = _leg_prefixes(wb)
        lost = "The mayor opened the new bridge on <g2>Monday</g2>."  # <g1> lost
        meta = {"signature": "test", "model": "test"}
        wb.store.put_segments([(signature.digest(first, piece.text), lost)], meta)
        result = wb.translate(doc, to="uk", src="ko")
        assert result.error is None and result.text is not None
        pair = next(p for p in result.segments if p.source == MARKED)
        assert (
            "markup: a placeholder was lost in the ko->en leg; sentence translated in fragments"
            in pair.notes
        )
        assert any(n.startswith("markup: ") and "in fragments" in n for n in result.notes)
        _fragments_through_both_legs(wb, first, second, piece, pair.target)
        assert pair.target in result.text
        # The broken answer was not sent on to the second leg.
        assert not wb.store.get_segments([signature.digest(second, lost)])
        # A rerun is the same document, from its entry.
        again = wb.translate(doc, to="uk", src="ko")
        assert again.cache == "document" and again.text == result.text


def test_a_pivot_sentence_the_second_leg_broke_goes_in_fragments_through_both_legs(
    world: Path, tmp_path: Path
) -> None:
    doc = tmp_path / "bridge.md"
    doc.write_text(KOREAN_MD, "utf-8")
    piece = _marked_piece()
    with _wb() as wb:
        first, second = _leg_prefixes(wb)
        english = "The mayor opened the <g1>new</g1> bridge on <g2>Monday</g2>."
        twice = "Мер відкрив <g1>новий</g1> міст у <g2>понеділок</g2> <g2>ще</g2>."
        meta = {"signature": "test", "model": "test"}
        wb.store.put_segments([(signature.digest(first, piece.text), english)], meta)
        wb.store.put_segments([(signature.digest(second, english), twice)], meta)
        result = wb.translate(doc, to="uk", src="ko")
        assert result.error is None and result.text is not None
        pair = next(p for p in result.segments if p.source == MARKED)
        assert (
            "markup: a placeholder was duplicated in the en->uk leg; sentence translated in "
            "fragments" in pair.notes
        )
        _fragments_through_both_legs(wb, first, second, piece, pair.target)


def test_a_pivot_run_counts_both_legs_in_its_progress(world: Path, tmp_path: Path) -> None:
    planned: list[int] = []
    done: list[int] = []
    with _wb() as wb:
        doc = wb.document(KOREAN, fmt="txt")
        (result,) = wb.translate_documents(
            [doc], ["uk"], src="ko", on_planned=planned.append, on_segments=done.append
        )[0]
    assert result.error is None
    # Three sentences on each leg (the tiny model's English may repeat itself: at most three).
    assert len(planned) == 2 and planned[0] == 3 and 1 <= planned[1] <= 3
    assert sum(done) == sum(planned)


def test_a_pivot_with_a_glossary_only_checks_its_terms(world: Path, tmp_path: Path) -> None:
    """No term placeholders on a pivot route (the first leg's pair would restore them): the
    sentence goes with its markup's placeholders only, and the terms are checked."""
    glossary = tmp_path / "style.tsv"
    glossary.write_text("en\tuk\tko\tkeep\nBBC\t\t\tkeep\n", "utf-8")
    sentence = "**BBC** 기자가 [서울](https://x.example/s)에 왔다."
    doc = tmp_path / "bbc.md"
    doc.write_text(sentence + "\n", "utf-8")
    (piece,) = [p for p in inline.pieces(sentence, "ko", "markdown") if p.translate]
    assert piece.text == "<g1>BBC</g1> 기자가 <g2>서울</g2>에 왔다."
    with _wb() as wb:
        first, _ = _leg_prefixes(wb)
        result = wb.translate(doc, to="uk", src="ko", glossary=glossary)
        assert result.error is None and result.glossary is not None
        assert result.glossary["how"] == "check"
        assert wb.store.get_segments([signature.digest(first, piece.text)])
