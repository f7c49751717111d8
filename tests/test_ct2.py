"""The CTranslate2 backend: parity with torch, conversion cache, and the pipeline end to end.

Parity: greedy float32 outputs of CTranslate2 match the torch backend token for token. The
only allowed difference is a float32 tie: where two candidate tokens' logits are within
rounding of each other, the two engines may legitimately pick different ones (random tiny
weights produce such near-ties now and then). Every mismatch is checked to be one.
int8 changes the numbers, so for int8 only the shape of the output is checked; its mismatch
rate is measured and documented in BENCHMARKS.md (bench/speed.py).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip(
    "ctranslate2",
    reason="ctranslate2 is not installed (it comes with the fast extra: pip install '.[fast]')",
)

from tests.helpers import assert_structure_kept, plan_for
from tests.tinymodels import corpus_lines
from workbench.models.ct2_backend import (
    CT2Seq2Seq,
    converted_path,
    ct2_precision,
    ensure_converted,
    model_slug,
)
from workbench.models.families import inspect
from workbench.models.resolve import ResolvedModel, resolve
from workbench.models.seq2seq_common import Decoding, Seq2SeqBase
from workbench.models.torch_backend import TorchSeq2Seq
from workbench.settings import GenerationSettings, RunSettings

REPO = Path(__file__).resolve().parent.parent
PAIRS = {
    "marian": ("en", "uk"),
    "marian-multi": ("en", "uk"),
    "nllb": ("en", "ko"),
    "m2m100": ("en", "ko"),
    "t5": ("en", "ko"),
}
GREEDY = GenerationSettings(beams=1)


def run_settings(precision: str = "auto", **kwargs: Any) -> RunSettings:
    return RunSettings(device="cpu", precision=precision, **kwargs)


def texts() -> list[str]:
    lines = list(corpus_lines("en"))
    # One sentence far over the limit below, so the split-and-join path runs too.
    return [*lines[:20], " ".join(lines[20:26])]


def backends(tiny: Any, family: str, **run: Any) -> tuple[TorchSeq2Seq, CT2Seq2Seq]:
    resolved = resolve(str(tiny(family)))
    info = inspect(resolved.path)
    torch_run = run_settings(**run)
    ct2_run = run_settings(precision="fp32", **run)
    return TorchSeq2Seq(resolved, info, torch_run), CT2Seq2Seq(resolved, info, ct2_run)


def _tie_at_divergence(
    torch_be: TorchSeq2Seq, ct2_be: CT2Seq2Seq, ids: list[int], bound: int, dec: Decoding
) -> bool | None:
    """None when both engines decode ``ids`` alike; else whether they part at a float32 tie."""
    import torch

    a = torch_be._decode([ids], bound, dec)[0][:bound]
    b = ct2_be._decode([ids], bound, dec)[0][:bound]
    eos = dec.eos_ids
    a = a[: next((k + 1 for k, t in enumerate(a) if t in eos), len(a))]
    b = b[: next((k + 1 for k, t in enumerate(b) if t in eos), len(b))]
    if a == b:
        return None
    k = next(
        k for k in range(min(len(a), len(b)) + 1) if k >= len(a) or k >= len(b) or a[k] != b[k]
    )
    if k >= len(a) or k >= len(b):
        return False  # one stopped where the other went on: not a tie between two tokens
    model = torch_be._model
    start = model.config.decoder_start_token_id
    with torch.inference_mode():
        logits = model(
            input_ids=torch.tensor([ids]), decoder_input_ids=torch.tensor([[start, *a[:k]]])
        ).logits[0, -1]
    x, y = float(logits[a[k]]), float(logits[b[k]])
    return abs(x - y) <= 1e-4 + 1e-5 * max(abs(x), abs(y))


def explain_mismatch(
    torch_be: TorchSeq2Seq, ct2_be: CT2Seq2Seq, text: str, src: str, tgt: str
) -> bool:
    """True when every difference in translating ``text`` starts at a float32 tie."""
    ctl, forced = torch_be._control(src, tgt)
    ct2_be._control(src, tgt)
    from workbench.models.generation import effective

    settings = effective(torch_be.resolved.path, GREEDY)
    dec = torch_be._decoding(ctl, forced, settings)
    *_, units = torch_be._units([text], ctl)
    found = False
    for ids in units:
        bound = Seq2SeqBase._bound(len(ids), settings)
        # Plain decoding, then the repeat guard's retry (repeats forbidden).
        for variant in (dec, replace(dec, no_repeat_ngram_size=3)):
            tie = _tie_at_divergence(torch_be, ct2_be, ids, bound, variant)
            if tie is False:
                return False
            found = found or tie is True
    return found


@pytest.mark.parametrize("family", list(PAIRS))
def test_float32_matches_torch_token_for_token(tiny: Any, family: str) -> None:
    src, tgt = PAIRS[family]
    torch_be, ct2_be = backends(tiny, family, max_input_tokens=48)
    batch = texts()
    expected = torch_be.translate(batch, plan_for(torch_be, src, tgt, GREEDY))
    got = ct2_be.translate(batch, plan_for(ct2_be, src, tgt, GREEDY))
    assert ct2_be.name == "ct2-fp32"
    assert len(got) == len(expected)
    assert any(n.startswith("split:") for n in expected[-1].notes)  # the long one was split
    mismatched = [i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if a != b]
    for i in mismatched:
        assert explain_mismatch(torch_be, ct2_be, batch[i], src, tgt), (
            f"{family}: segment {i} differs without a float32 tie:\n"
            f"torch: {expected[i]}\nct2:   {got[i]}"
        )
    assert len(mismatched) <= 2, f"{family}: {len(mismatched)} near-ties is implausibly many"
    assert ct2_be.stats.output_tokens > 0
    assert ct2_be.stats.segments == len(batch)


@pytest.mark.parametrize("family", list(PAIRS))
def test_int8_runs_with_the_same_shape(tiny: Any, family: str) -> None:
    src, tgt = PAIRS[family]
    resolved = resolve(str(tiny(family)))
    backend = CT2Seq2Seq(resolved, inspect(resolved.path), run_settings(max_input_tokens=48))
    assert backend.name == "ct2-int8"  # the CPU default
    batch = texts()
    outputs = backend.translate(batch, plan_for(backend, src, tgt, GREEDY))
    assert len(outputs) == len(batch)
    assert all(isinstance(o.text, str) for o in outputs)
    assert any(n.startswith("split:") for n in outputs[-1].notes)
    assert backend.folder is not None and backend.folder.name.endswith("-int8")


def test_batched_equals_alone(tiny: Any) -> None:
    """Per-row bounds make a row's output independent of what it was batched with."""
    resolved = resolve(str(tiny("marian")))
    info = inspect(resolved.path)
    batched = CT2Seq2Seq(resolved, info, run_settings("fp32"))
    alone = CT2Seq2Seq(resolved, info, run_settings("fp32", max_batch_size=1))
    batch = texts()[:12]
    together = batched.translate(batch, plan_for(batched, "en", "uk", GREEDY))
    assert batched.stats.batches < len(batch)
    assert together == [alone.translate([t], plan_for(alone, "en", "uk", GREEDY))[0] for t in batch]


def test_precision_names() -> None:
    assert ct2_precision("cpu") == "int8"
    assert ct2_precision("cpu", "fp32") == "fp32"
    from workbench.errors import WorkbenchError

    with pytest.raises(WorkbenchError, match="needs a CUDA GPU"):
        ct2_precision("cpu", "fp16")
    with pytest.raises(WorkbenchError, match="unknown precision"):
        ct2_precision("cpu", "int4")


def test_backend_name_matches_the_loaded_backend(tiny: Any) -> None:
    from workbench.models.backend import backend_name, load_backend

    resolved = resolve(str(tiny("marian")))
    info = inspect(resolved.path)
    run = RunSettings(device="cpu", backend="ctranslate2")
    backend = load_backend(resolved, info, run)
    assert isinstance(backend, CT2Seq2Seq)
    assert backend_name(info, run) == backend.name == "ct2-int8"


def test_conversion_is_cached(tiny: Any, isolated_env: Path) -> None:
    resolved = resolve(str(tiny("marian")))
    info = inspect(resolved.path)
    first = CT2Seq2Seq(resolved, info, run_settings())
    first.translate(["The council met on Monday."], plan_for(first, "en", "uk", GREEDY))
    assert first.stats.extra["ct2_converted"] is True
    folder = converted_path(resolved, "int8")
    assert folder.parent == isolated_env / "ct2"
    assert folder.name == f"{model_slug(resolved.model_id)}@{resolved.revision}-int8"
    stamp = (folder / "model.bin").stat().st_mtime_ns

    second = CT2Seq2Seq(resolved, info, run_settings())
    second.translate(["The council met on Monday."], plan_for(second, "en", "uk", GREEDY))
    assert second.stats.extra["ct2_converted"] is False
    assert (folder / "model.bin").stat().st_mtime_ns == stamp
    # Another precision is another folder.
    ensure_converted(resolved, "fp32")
    assert sorted(p.name.rsplit("-", 1)[1] for p in folder.parent.iterdir()) == ["float32", "int8"]


def test_concurrent_conversions_leave_one_complete_folder(tiny: Any, isolated_env: Path) -> None:
    resolved = resolve(str(tiny("marian")))
    barrier = threading.Barrier(3)

    def convert() -> tuple[Path, bool]:
        barrier.wait()
        return ensure_converted(resolved, "int8")

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: convert(), range(3)))
    folders = {folder for folder, _ in results}
    assert len(folders) == 1
    folder = folders.pop()
    assert (folder / "model.bin").is_file()
    assert sum(converted for _, converted in results) >= 1
    # No scratch folder is left behind, whoever won the race.
    assert [p.name for p in (isolated_env / "ct2").iterdir()] == [folder.name]


def test_incomplete_folder_is_replaced(tiny: Any) -> None:
    resolved = resolve(str(tiny("marian")))
    folder = converted_path(resolved, "int8")
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")  # e.g. model.bin deleted by hand
    path, converted = ensure_converted(resolved, "int8")
    assert path == folder and converted
    assert (folder / "model.bin").is_file()


def test_unconvertible_folder_is_a_model_error(tmp_path: Path) -> None:
    from workbench.errors import ModelError

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "marian"}')
    resolved = ResolvedModel("broken", "broken", broken, "0" * 40, "folder")
    with pytest.raises(ModelError, match="could not be converted for CTranslate2"):
        ensure_converted(resolved, "int8")
    assert not [p for p in converted_path(resolved, "int8").parent.iterdir()]


def test_workbench_end_to_end_keeps_structure(tiny: Any) -> None:
    from workbench.api import Workbench

    seed = REPO / "seeds" / "en" / "heatwave-grid.txt"
    wb = Workbench(backend="ctranslate2", cache=False, beams=1)
    result = wb.translate(seed, "uk", src="en", model=str(tiny("marian")))
    assert result.backend == "ct2-int8"
    assert result.text is not None and result.segments
    assert_structure_kept(seed.read_text("utf-8"), result.text)
    assert result.signature is not None and "ct2-int8" in result.signature


def test_cli_runs_the_ct2_backend(tiny: Any, tmp_path: Path) -> None:
    import subprocess
    import sys

    seed = REPO / "seeds" / "en" / "heatwave-grid.txt"
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "workbench", "translate", str(seed), "--to", "uk"]
    cmd += ["--from", "en", "--model", str(tiny("marian")), "--beams", "1"]
    cmd += ["--backend", "ctranslate2", "--no-cache", "--out", str(out), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), check=False)
    assert done.returncode == 0, done.stderr
    written = list(out.rglob("*.txt"))
    assert len(written) == 1
    assert_structure_kept(seed.read_text("utf-8"), written[0].read_text("utf-8"))


@pytest.mark.parametrize("family", ["marian", "marian-multi"])
def test_sentencepiece_tokenizer_is_identical_to_transformers(tiny: Any, family: str) -> None:
    """The CTranslate2 backend tokenizes Marian without transformers; it must not differ."""
    import random

    from transformers import AutoTokenizer

    from workbench.models.marian_spm import MarianSpm

    folder = tiny(family)
    reference = AutoTokenizer.from_pretrained(str(folder))
    fast = MarianSpm.load(folder)
    assert fast is not None
    samples = [*corpus_lines(), "", " ", "  two  spaces ", "tab\tand\nnewline", "emoji 😀"]
    samples += [">>ukr<< The council met.", ">>ukr<<", "x >>ukr<< y", "a </s> b", "<unk> x"]
    samples += [">>ukr<< " + line for line in corpus_lines("en")[:20]]
    for text in samples:
        for special in (True, False):
            assert fast(text, add_special_tokens=special).input_ids == (
                reference(text, add_special_tokens=special).input_ids
            ), text
    rng = random.Random(0)
    size = max(reference.get_vocab().values()) + 1
    sequences = [[rng.randrange(size) for _ in range(rng.randint(0, 40))] for _ in range(500)]
    sequences += [reference(text).input_ids for text in samples]
    for ids in sequences:
        assert fast.decode(ids) == reference.decode(ids, skip_special_tokens=True), ids


def test_ct2_marian_runs_without_torch(tiny: Any, tmp_path: Path) -> None:
    """Translating a Marian model on CTranslate2 (converted already) never imports torch."""
    import json
    import subprocess
    import sys

    resolved = resolve(str(tiny("marian")))
    ensure_converted(resolved, "int8")  # conversion itself needs torch; it is done once
    code = (
        "import sys\n"
        "from workbench.models.ct2_backend import CT2Seq2Seq\n"
        "from workbench.models.families import inspect\n"
        "from workbench.models.resolve import resolve\n"
        "from workbench.settings import GenerationSettings, RunSettings\n"
        f"r = resolve({str(resolved.path)!r})\n"
        "b = CT2Seq2Seq(r, inspect(r.path), RunSettings(device='cpu'))\n"
        "from workbench.models.pool import translation_plan\n"
        "plan = translation_plan(r, b.info, b.run, 'en', 'uk', GenerationSettings(beams=1))\n"
        "out = b.translate(['The council met on Monday.'], plan)\n"
        "mods = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers'})\n"
        "print(json.dumps([b.stats.extra['tokenizer'], mods, bool(out[0].text)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == ["sentencepiece", [], True]


def test_translate_many_queues_the_next_list_before_finishing_one(tiny: Any) -> None:
    """Lists stream through the engine: list k+1 is queued before list k is handed over, and
    the outputs are those of translating each list alone."""
    src, tgt = PAIRS["marian"]
    _, ct2_be = backends(tiny, "marian")
    lines = list(corpus_lines("en"))[:24]
    parts = [lines[0:8], lines[8:16], lines[16:24]]
    alone = [ct2_be.translate(p, plan_for(ct2_be, src, tgt, GREEDY)) for p in parts]

    events: list[str] = []
    start, complete = ct2_be._start, ct2_be._complete

    def spy_start(*args: Any) -> Any:
        events.append("start")
        return start(*args)

    def spy_complete(*args: Any) -> Any:
        events.append("complete")
        return complete(*args)

    ct2_be._start = spy_start  # type: ignore[method-assign]
    ct2_be._complete = spy_complete  # type: ignore[method-assign]
    streamed = list(ct2_be.translate_many(iter([*parts, []]), plan_for(ct2_be, src, tgt, GREEDY)))
    assert streamed == [*alone, []]
    assert ct2_be.lookahead == 2
    assert events == ["start", "start", "start", "complete", "complete", "complete", "complete"]


def test_cpu_batches_shrink_for_long_inputs(tiny: Any) -> None:
    """On the CPU a batch holds fewer rows the longer its inputs (bounded working memory),
    and short inputs still fill CPU_BATCH rows."""
    from workbench.models.batching import plan_batches
    from workbench.models.ct2_backend import CPU_BATCH, CPU_WORKSPACE_MB, cpu_batch_budget

    # opus-mt base: 6 decoder layers of width 512, 60k vocabulary; the product's defaults.
    config = {"d_model": 512, "decoder_layers": 6, "vocab_size": 60000}
    settings = {"max_new_tokens_ratio": 2.0, "max_new_tokens_extra": 16}
    budget, row_cost = cpu_batch_budget(config, settings, beams=1)

    def rows(length: int) -> int:
        # 960 items split evenly into any row count that divides it, so the largest batch
        # is the most rows the budget allows.
        return max(len(b) for b in plan_batches([length] * 960, budget, CPU_BATCH, row_cost))

    assert rows(10) == CPU_BATCH
    assert rows(60) < CPU_BATCH
    assert rows(200) < rows(100) < rows(60)
    # The estimate the plan keeps under the workspace: keys and values of every source and
    # (about as many) generated token in each decoder layer, plus the logits.
    for length in (60, 100, 200):
        n = rows(length)
        per_row = 2 * 6 * 512 * 4 * (2 * length + 16) + 12 * 60000
        assert n * per_row <= CPU_WORKSPACE_MB * 2**20
    # Beams multiply what each row holds.
    beam_budget, beam_cost = cpu_batch_budget(config, settings, beams=4)
    assert len(plan_batches([60] * 960, beam_budget, CPU_BATCH, beam_cost)[0]) < rows(60)

    _, ct2_be = backends(tiny, "marian")
    ct2_be._ensure_loaded()
    from workbench.models.generation import effective

    budget, row_cost = ct2_be._batch_budget(effective(ct2_be.resolved.path, GREEDY))
    assert row_cost > 0 and budget <= ct2_be.run.batch_limits("cpu")[1]


def test_plan_batches_row_cost() -> None:
    from workbench.models.batching import plan_batches

    assert [len(b) for b in plan_batches([10] * 8, 100, 64)] == [8]
    assert [len(b) for b in plan_batches([10] * 8, 100, 64, row_cost=15)] == [4, 4]
    # An item past the budget still gets a batch of its own.
    assert plan_batches([500, 1], 100, 64, row_cost=15) == [[0], [1]]


def test_plan_batches_spreads_the_last_batch() -> None:
    from workbench.models.batching import plan_batches

    # 64 items at most 27 a batch: three batches of near-equal size, not 27 + 27 + 10.
    plan = plan_batches([10] * 64, 10_000, 27)
    assert [len(b) for b in plan] == [22, 21, 21]
    assert [i for b in plan for i in b] == list(range(64))
    # Where an even split would break the budget (long items first), the greedy plan stands.
    assert [len(b) for b in plan_batches([90, 90, 10, 10, 10, 10], 200, 64)] == [2, 4]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(1, 120), min_size=1, max_size=150),
    st.integers(1, 4000),
    st.integers(1, 64),
    st.integers(0, 50),
)
def test_plan_batches_keeps_every_item_within_the_limits(
    lengths: list[int], budget: int, max_size: int, row_cost: int
) -> None:
    from workbench.models.batching import plan_batches

    plan = plan_batches(lengths, budget, max_size, row_cost)
    assert sorted(i for b in plan for i in b) == list(range(len(lengths)))
    for batch in plan:
        assert len(batch) <= max_size
        width = max(lengths[i] for i in batch)
        assert len(batch) == 1 or (width + row_cost) * len(batch) <= budget


def test_decoding_context_keeps_cudnn_attention_out_on_cuda() -> None:
    import torch

    from workbench.models.device import decoding_context

    before = torch.backends.cuda.cudnn_sdp_enabled()
    with decoding_context("cuda"):
        assert torch.is_inference_mode_enabled()
        assert not torch.backends.cuda.cudnn_sdp_enabled()
        assert torch.backends.cuda.flash_sdp_enabled()
        assert torch.backends.cuda.mem_efficient_sdp_enabled()
    assert torch.backends.cuda.cudnn_sdp_enabled() == before
    with decoding_context("cpu"):
        assert torch.is_inference_mode_enabled()
        assert torch.backends.cuda.cudnn_sdp_enabled() == before


def test_torch_backend_decodes_inside_the_decoding_context(tiny: Any, monkeypatch) -> None:
    import torch

    import workbench.models.torch_backend as tb

    torch_be, _ = backends(tiny, "marian")
    torch_be._ensure_loaded()
    seen: list[tuple[str, bool]] = []
    generate = torch_be._model.generate

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(("generate", torch.is_inference_mode_enabled()))
        return generate(*args, **kwargs)

    real = tb.decoding_context

    def context(device: str) -> Any:
        seen.append((device, True))
        return real(device)

    monkeypatch.setattr(torch_be._model, "generate", spy)
    monkeypatch.setattr(tb, "decoding_context", context)
    torch_be.translate(["The council met on Monday."], plan_for(torch_be, "en", "uk", GREEDY))
    assert seen == [("cpu", True), ("generate", True)]


def test_a_gpu_ctranslate2_cannot_use_fails_at_load_in_one_line(tiny: Any) -> None:
    from workbench.errors import ModelError

    _, ct2_be = backends(tiny, "marian")
    ct2_be._ensure_loaded()
    ct2_be._check_gpu()  # the CPU build decodes the token: no error

    class NoCublas:
        def translate_batch(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("Library libcublas.so.12 is not found or cannot be loaded")

    ct2_be._translator = NoCublas()
    with pytest.raises(ModelError) as info:
        ct2_be._check_gpu()
    message = str(info.value)
    assert "\n" not in message
    assert "libcublas.so.12" in message and "--backend torch" in message
