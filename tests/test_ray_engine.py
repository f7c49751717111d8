"""The Ray engine on a local Ray instance: the same outputs as the local engine, only cache
misses sent, and a model problem failing only its own group."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

ray = pytest.importorskip(
    "ray", reason="the Ray engine needs the ray extra: pip install 'workbench[ray]' (CI has it)"
)
pytest.importorskip("ray.data", reason="the Ray engine needs Ray Data: pip install 'ray[data]'")

from tests.test_batch import corpus, outputs  # noqa: E402
from workbench import Workbench  # noqa: E402
from workbench.engines.ray_engine import RayEngine  # noqa: E402
from workbench.engines.work import Chunk  # noqa: E402
from workbench.errors import WorkbenchError  # noqa: E402
from workbench.models.resolve import ResolvedModel  # noqa: E402
from workbench.runs.folder import translate_paths  # noqa: E402
from workbench.settings import GenerationSettings, TranslateOptions  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


class SpyRayEngine(RayEngine):
    """Records what the driver sends to the cluster."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, int]] = []

    def translate_chunks(self, pool, chunks):
        self.sent.extend((c.tgt, len(c.texts)) for c in chunks)
        yield from super().translate_chunks(pool, chunks)


def test_ray_engine_gives_the_local_engine_outputs(local_ray, tiny, tmp_path: Path) -> None:
    model = str(tiny("marian-multi"))
    src = corpus(tmp_path / "in", 3)
    local = translate_paths(
        Workbench(backend="torch", beams=1, cache=False),
        [str(src)],
        TranslateOptions(("uk", "ru"), src="en", model=model),
        out=tmp_path / "local",
    )
    assert local.failed == 0
    cache = tmp_path / "c.sqlite3"
    # Ukrainian is cached already: only the Russian misses may travel to the cluster.
    translate_paths(
        Workbench(backend="torch", beams=1, cache=cache),
        [str(src)],
        TranslateOptions(("uk",), src="en", model=model),
        out=tmp_path / "warm",
    )
    engine = SpyRayEngine()
    wb = Workbench(backend="torch", beams=1, cache=cache, engine=engine)
    with wb:
        report = translate_paths(
            wb,
            [str(src)],
            TranslateOptions(("uk", "ru"), src="en", model=model),
            out=tmp_path / "ray",
        )
    assert report.failed == 0, [r.error for r in report.rows]
    assert {t for t, _ in engine.sent} == {"ru"} and sum(n for _, n in engine.sent) == 12
    assert wb.pool.loaded == []  # the driver never loaded the model
    assert outputs(tmp_path / "ray") == outputs(tmp_path / "local")
    assert len(outputs(tmp_path / "ray")) == 6
    for name in ("a00.ru.md", "a01.uk.txt"):
        ours = json.loads((tmp_path / "ray" / f"{name}.json").read_text("utf-8"))
        theirs = json.loads((tmp_path / "local" / f"{name}.json").read_text("utf-8"))
        assert ours["signature"] == theirs["signature"] and ours["key"] == theirs["key"]
    assert ray.is_initialized()  # the engine joined the running instance and left it running


def test_a_missing_model_fails_only_its_own_chunks(local_ray, tiny, tmp_path: Path) -> None:
    folder = tiny("marian-multi")
    bench = Workbench(backend="torch", beams=1, cache=False)
    good = bench.pool.resolve(str(folder))
    gone = ResolvedModel("gone", "gone", tmp_path / "gone", "0" * 64, "folder")
    plan = bench.pool.plan_translation(good, "en", "uk", GenerationSettings(beams=1))
    chunks = [
        Chunk(0, plan, ("k1",), ("The council met on Monday.",)),
        Chunk(1, replace(plan, resolved=gone), ("k2",), ("Police declined to comment.",)),
    ]
    results = dict(RayEngine().translate_chunks(bench.pool, chunks))
    assert sorted(results) == [0, 1]
    assert not isinstance(results[0], WorkbenchError) and results[0][0].text.strip()
    assert isinstance(results[1], WorkbenchError) and "is not on Ray worker" in str(results[1])
    expected = bench.translate("The council met on Monday.", "uk", src="en", model=str(folder))
    assert results[0][0].text == expected.text
