"""Translation speed benchmark: naive transformers, batched transformers, raw CTranslate2, workbench.

    python bench/speed.py [--sentences 500] [--threads 2] [--out BENCHMARKS.md]

Every engine generates exactly ``--tokens`` tokens per sentence (the model folder's
``generation_config.json`` sets ``min_new_tokens``, and every row bounds the output at the same
number), so tokens/s compare like with like even though the weights are random. Each row runs
in its own subprocess, so its peak RSS (VmHWM) is its own. See BENCHMARKS.md for the results
and bench/model.py for the model.

``--device cuda`` measures the GPU rows instead (bench/speed_gpu.py): an NLLB-600M-shaped
model, bf16/fp16, a batch sweep, against transformers (b) on the same GPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import corpus  # noqa: E402
from bench.model import BUILD_VERSION, build_opus_mt, folder_bytes  # noqa: E402

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
SRC, TGT = "en", "uk"


# --------------------------------------------------------------------------- helpers


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def busy_seconds() -> float:
    """CPU-seconds spent by the whole machine (all processes) since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def set_torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def run_settings(precision: str, **kwargs: Any) -> Any:
    from workbench.settings import RunSettings

    return RunSettings(precision=precision, **kwargs)


def bench_generation(tokens: int) -> Any:
    """Every segment is bounded at exactly ``tokens`` (min_new_tokens in the model folder
    stops it ending earlier); the repeat guard is off so that no segment is decoded twice."""
    from workbench.settings import GenerationSettings

    return GenerationSettings(
        beams=1, max_new_tokens_ratio=0.0, max_new_tokens_extra=tokens, repeat_guard=0
    )


class GpuMemory:
    """Peak GPU memory of a row: device memory in use (NVML, sampled every 10 ms, the CUDA
    context included, minus what was in use before the row) and torch's allocator peak."""

    def __init__(self, handle: Any, base: int) -> None:
        import threading

        self.handle, self.base, self.peak = handle, base, base
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    @classmethod
    def start(cls) -> GpuMemory | None:
        """Start sampling; the baseline is what was in use when the row's process started."""
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(0)
            used = pynvml.nvmlDeviceGetMemoryInfo(handle).used
        except Exception:  # no NVML: only torch's own figure is reported
            return None
        base = int(os.environ.setdefault("BENCH_GPU_BASE", str(used)))
        return cls(handle, base)

    def _sample(self) -> None:
        import pynvml

        while not self.done.wait(0.01):
            self.peak = max(self.peak, pynvml.nvmlDeviceGetMemoryInfo(self.handle).used)

    def stop(self) -> dict[str, float]:
        self.done.set()
        self.thread.join()
        out = {"gpu_peak_mb": max(0, self.peak - self.base) / 1e6}
        if "torch" in sys.modules:
            import torch

            if torch.cuda.is_initialized():
                out["torch_peak_mb"] = torch.cuda.max_memory_allocated() / 1e6
        return out


# --------------------------------------------------------------------------- rows (children)


def row_naive(cfg: dict[str, Any]) -> dict[str, Any]:
    """(a) transformers fp32, one sentence per ``generate`` call."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    set_torch_threads(cfg["threads"])
    texts = cfg["texts"][: cfg["naive_sentences"]]
    tok = AutoTokenizer.from_pretrained(cfg["model"])
    model = AutoModelForSeq2SeqLM.from_pretrained(cfg["model"]).eval().to(cfg["device"])
    n = cfg["tokens"]
    start = time.perf_counter()
    produced = 0
    with torch.inference_mode():
        for text in texts:
            batch = tok(text, return_tensors="pt").to(cfg["device"])
            out = model.generate(
                **batch, num_beams=1, do_sample=False, min_new_tokens=n, max_new_tokens=n
            )
            tok.decode(out[0], skip_special_tokens=True)
            produced += out.shape[1] - 1
    return {"seconds": time.perf_counter() - start, "sentences": len(texts), "tokens": produced}


def row_batched(cfg: dict[str, Any]) -> dict[str, Any]:
    """(b) transformers fp32 (or ``dtype``), ``generate`` over unsorted batches."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    set_torch_threads(cfg["threads"])
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[
        cfg.get("dtype", "fp32")
    ]
    texts, size, n = cfg["texts"], cfg["batch"], cfg["tokens"]
    tok = AutoTokenizer.from_pretrained(cfg["model"])
    model = AutoModelForSeq2SeqLM.from_pretrained(cfg["model"], dtype=dtype)
    model = model.eval().to(cfg["device"])
    runs = []
    for _ in range(cfg.get("repeat", 1)):
        start = time.perf_counter()
        produced = 0
        with torch.inference_mode():
            for k in range(0, len(texts), size):
                batch = tok(texts[k : k + size], return_tensors="pt", padding=True)
                out = model.generate(
                    **batch.to(cfg["device"]),
                    num_beams=1,
                    do_sample=False,
                    min_new_tokens=n,
                    max_new_tokens=n,
                )
                tok.batch_decode(out, skip_special_tokens=True)
                produced += (out.shape[1] - 1) * out.shape[0]
        if cfg["device"].startswith("cuda"):
            torch.cuda.synchronize()
        runs.append(time.perf_counter() - start)
    return {"seconds": min(runs), "runs": runs, "sentences": len(texts), "tokens": produced}


def row_ct2_raw(cfg: dict[str, Any]) -> dict[str, Any]:
    """(c) CTranslate2 ``translate_batch`` on pre-tokenised, length-sorted input: a sweep of
    thread layouts and batch sizes; the best one is the engine's ceiling."""
    import ctranslate2
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(cfg["model"])
    source = [tok.convert_ids_to_tokens(ids) for ids in tok(cfg["texts"]).input_ids]
    source.sort(key=len, reverse=True)
    n = cfg["tokens"]

    def measure(inter: int, intra: int, size: int, times: int) -> dict[str, Any]:
        translator = ctranslate2.Translator(
            cfg["ct2_folder"],
            device="cuda" if cfg["device"].startswith("cuda") else "cpu",
            compute_type=cfg["compute_type"],
            inter_threads=inter,
            intra_threads=intra,
        )
        translator.translate_batch(source[:4], max_decoding_length=4)  # warm-up
        runs = []
        for _ in range(times):
            start = time.perf_counter()
            # One call: CTranslate2 cuts it into batches of ``size``, ``inter`` at a time.
            results = translator.translate_batch(
                source,
                beam_size=1,
                max_batch_size=size,
                min_decoding_length=n,
                max_decoding_length=n,
                return_scores=False,
            )
            runs.append(time.perf_counter() - start)
        produced = sum(len(r.hypotheses[0]) for r in results)
        return {
            "layout": f"{inter}x{intra}",
            "inter": inter,
            "intra": intra,
            "batch": size,
            "seconds": min(runs),
            "runs": runs,
            "tokens": produced,
        }

    # Each configuration once (the harness runs the best one again, alternating with (d)).
    sweep = [measure(inter, intra, size, 1) for inter, intra, size in cfg["layouts"]]
    best = min(sweep, key=lambda r: r["seconds"] / r["tokens"])
    return {
        "seconds": best["seconds"],
        "runs": best["runs"],
        "sentences": len(source),
        "tokens": best["tokens"],
        "config": f"threads {best['layout']}, batch {best['batch']}",
        "inter": best["inter"],
        "intra": best["intra"],
        "batch": best["batch"],
        "sweep": sweep,
    }


def row_workbench(cfg: dict[str, Any]) -> dict[str, Any]:
    """(d)/(e) workbench end to end: article files in, translated files out, cache off."""
    from workbench.api import Workbench
    from workbench.runs.folder import translate_paths
    from workbench.settings import TranslateOptions

    if cfg["backend"] == "torch":
        set_torch_threads(cfg["threads"])
    if "lookahead" in cfg:
        # Experiment only: how many chunks the CTranslate2 backend queues ahead is not a setting.
        from workbench.models.ct2_backend import CT2Seq2Seq

        CT2Seq2Seq.lookahead = cfg["lookahead"]
    limits = {k: cfg[k] for k in ("batch_tokens", "max_batch_size") if k in cfg}
    run = run_settings(cfg["precision"], device=cfg["device"], backend=cfg["backend"], **limits)
    gen = bench_generation(cfg["tokens"])
    wb = Workbench(run=run, generation=gen, cache=False)
    # Warm-up: loads the model (the CTranslate2 conversion was cached beforehand).
    load_start = time.perf_counter()
    wb.translate("The council met on Monday.", TGT, src=SRC, model=cfg["model"])
    load = time.perf_counter() - load_start
    backend = wb.pool.loaded[0]
    profiler = None
    if cfg.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    before = (backend.stats.output_tokens, backend.stats.seconds)
    start = time.perf_counter()
    report = translate_paths(
        wb,
        [cfg["articles"]],
        TranslateOptions((TGT,), src=SRC, model=cfg["model"]),
        out=Path(cfg["out_dir"]),
    )
    seconds = time.perf_counter() - start
    failed = [row.error for row in report.rows if row.error]
    if failed:
        raise RuntimeError(f"workbench failed: {failed[:3]}")
    engine = backend.stats.seconds - before[1]
    tokens = backend.stats.output_tokens - before[0]
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(cfg["profile"])
    segments = sum(len(row.result.segments) for row in report.rows)
    return {
        "seconds": seconds,
        "runs": [seconds],
        "sentences": segments,
        "tokens": tokens,
        "engine_seconds": engine,
        "load_seconds": load,
        "backend": backend.name,
        "config": ", ".join(
            f"{k} {v}" for k, v in backend.stats.extra.items() if k in ("ct2_threads", "tokenizer")
        ),
        "segment_texts": sorted(p.source for row in report.rows for p in row.result.segments),
    }


def row_convert(cfg: dict[str, Any]) -> dict[str, Any]:
    """Convert (or find) the CTranslate2 model exactly where workbench keeps it."""
    from workbench.models.ct2_backend import ensure_converted
    from workbench.models.resolve import resolve

    start = time.perf_counter()
    folder, converted = ensure_converted(resolve(cfg["model"]), cfg["precision"])
    return {"seconds": time.perf_counter() - start, "folder": str(folder), "converted": converted}


def row_parity(cfg: dict[str, Any]) -> dict[str, Any]:
    """Greedy agreement of CTranslate2 (float32, int8) and torch int8 with torch fp32 on the
    tiny test models: identical segments, and identical tokens before the first difference."""
    from tests.tinymodels import corpus_lines, default_tiny_folder
    from workbench.models.ct2_backend import CT2Seq2Seq
    from workbench.models.families import inspect
    from workbench.models.pool import translation_plan
    from workbench.models.resolve import resolve
    from workbench.models.torch_backend import TorchSeq2Seq
    from workbench.settings import GenerationSettings

    set_torch_threads(cfg["threads"])
    start = time.perf_counter()
    pairs = {"marian": "uk", "marian-multi": "uk", "nllb": "ko", "m2m100": "ko", "t5": "ko"}
    texts = list(corpus_lines("en"))[:24]
    gen = GenerationSettings(beams=1)
    out: dict[str, Any] = {}
    for family, tgt in pairs.items():
        resolved = resolve(str(default_tiny_folder(family, Path(cfg["tiny_root"]))))
        info = inspect(resolved.path)
        reference = TorchSeq2Seq(resolved, info, run_settings("fp32", device="cpu"))
        plan = translation_plan(resolved, info, reference.run, SRC, tgt, gen)
        expected = [o.text for o in reference.translate(texts, plan)]
        row: dict[str, Any] = {}
        for name, backend in (
            ("ct2-fp32", CT2Seq2Seq(resolved, info, run_settings("fp32", device="cpu"))),
            ("ct2-int8", CT2Seq2Seq(resolved, info, run_settings("int8", device="cpu"))),
            ("torch-int8", TorchSeq2Seq(resolved, info, run_settings("int8", device="cpu"))),
        ):
            mine = translation_plan(resolved, info, backend.run, SRC, tgt, gen)
            got = [o.text for o in backend.translate(texts, mine)]
            row[name] = sum(a == b for a, b in zip(expected, got, strict=True))
        out[family] = row
    return {"segments": len(texts), "families": out, "seconds": time.perf_counter() - start}


ROWS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "naive": row_naive,
    "batched": row_batched,
    "ct2_raw": row_ct2_raw,
    "workbench": row_workbench,
    "convert": row_convert,
    "parity": row_parity,
}


def child(row: str, cfg_path: str, result_path: str) -> None:
    cfg = json.loads(Path(cfg_path).read_text("utf-8"))
    gpu = GpuMemory.start() if str(cfg.get("device", "cpu")).startswith("cuda") else None
    if row not in ROWS:
        from bench.speed_gpu import GPU_ROWS

        ROWS.update(GPU_ROWS)
    result = ROWS[row](cfg)
    if gpu is not None:
        result.update(gpu.stop())
    result["peak_rss_mb"] = peak_rss_mb()
    result["cpu_seconds"] = cpu_seconds()
    Path(result_path).write_text(json.dumps(result), "utf-8")


# --------------------------------------------------------------------------- parent


def others_load(window: float = 2.0) -> float:
    """Share of the machine's CPU time used over ``window`` seconds (call while idle)."""
    start = busy_seconds()
    time.sleep(window)
    return (busy_seconds() - start) / (window * (os.cpu_count() or 1))


class Runner:
    """Runs each row in a fresh interpreter with the same thread limits.

    The machine may be shared: before each row it waits (a bounded time) for other processes
    to go quiet, and a row during which others took more than ``threshold`` of the CPU is run
    again (up to ``attempts`` times); the fastest attempt is kept and its load reported.
    """

    def __init__(
        self, work: Path, threads: int, log: Path, attempts: int = 3, threshold: float = 0.15
    ) -> None:
        self.work, self.threads, self.log = work, threads, log
        self.attempts, self.threshold = attempts, threshold
        self.count = 0
        #: Wait for a quiet machine before each row (off where the rows run on a GPU).
        self.quiet_wait = True

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        n = str(self.threads)
        env.update(
            OMP_NUM_THREADS=n,
            MKL_NUM_THREADS=n,
            TOKENIZERS_PARALLELISM="false",
            HF_HUB_OFFLINE="1",
            WORKBENCH_HOME=str(self.work / "home"),
            WORKBENCH_CACHE=str(self.work / "home" / "cache.sqlite3"),
            PYTHONPATH=os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH")))),
        )
        return env

    def wait_quiet(self, limit: float = 180.0) -> float:
        start = time.perf_counter()
        load = others_load()
        while load > self.threshold / 2 and time.perf_counter() - start < limit:
            print(f"[bench] waiting: other processes use {load:.0%} of the CPU", file=sys.stderr)
            time.sleep(5)
            load = others_load()
        return load

    def row(self, row: str, cfg: dict[str, Any], label: str, retry: bool = True) -> dict[str, Any]:
        """Run a row (again while others loaded the machine); the fastest run is kept."""
        runs: list[dict[str, Any]] = []
        for _ in range(self.attempts if retry else 1):
            if self.quiet_wait:
                self.wait_quiet()
            runs.append(self.once(row, cfg, label))
            if runs[-1]["contention"] <= self.threshold:
                break
        best = min(runs, key=lambda r: r.get("seconds", 0.0) / max(1, r.get("tokens", 1)))
        return {**best, "attempts": len(runs)}

    def once(self, row: str, cfg: dict[str, Any], label: str) -> dict[str, Any]:
        self.count += 1
        cfg_path = self.work / f"row-{self.count}.json"
        result_path = self.work / f"row-{self.count}.result.json"
        cfg_path.write_text(json.dumps(cfg), "utf-8")
        result_path.unlink(missing_ok=True)
        print(f"[bench] {label} ...", file=sys.stderr, flush=True)
        busy0, wall0 = busy_seconds(), time.perf_counter()
        with self.log.open("a", encoding="utf-8") as log:
            log.write(f"\n=== {label}\n")
            log.flush()
            done = subprocess.run(
                [sys.executable, __file__, "--row", row, str(cfg_path), str(result_path)],
                env=self.env(),
                stdout=log,
                stderr=log,
                check=False,
            )
        wall = time.perf_counter() - wall0
        if done.returncode != 0 or not result_path.is_file():
            raise SystemExit(f"[bench] {label} failed (exit {done.returncode}); see {self.log}")
        result = json.loads(result_path.read_text("utf-8"))
        # CPU time other processes took while this row ran: how contended the machine was.
        others = max(0.0, busy_seconds() - busy0 - result["cpu_seconds"])
        result["process_seconds"] = wall
        result["contention"] = others / (wall * (os.cpu_count() or 1))
        result["label"] = label
        print(
            f"[bench] {label}: {result.get('seconds', 0):.1f} s, "
            f"peak {result['peak_rss_mb']:.0f} MB, others {result['contention']:.0%}",
            file=sys.stderr,
            flush=True,
        )
        return result


def help_seconds(env: dict[str, str], runs: int = 7) -> tuple[float, float]:
    """Median wall time of ``workbench --help`` (console script, and ``python -m workbench``)."""

    def median(cmd: list[str]) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(cmd, env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    script = Path(sys.executable).with_name("workbench")
    console = median([str(script), "--help"]) if script.exists() else float("nan")
    return console, median([sys.executable, "-m", "workbench", "--help"])


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    flags = Path("/proc/cpuinfo").read_text()
    isa = [f for f in ("avx2", "avx512f", "avx512_vnni", "amx_int8", "amx_bf16") if f in flags]
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    versions = {}
    for name in ("torch", "transformers", "ctranslate2", "tokenizers", "sentencepiece"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    return {
        "cpu": cpu,
        "isa": " ".join(isa),
        "cores": str(len(os.sched_getaffinity(0))),
        "memory": f"{int(mem) / 1024 / 1024:.0f} GiB",
        "python": platform.python_version(),
        "kernel": platform.release(),
        **versions,
    }


def write_corpus(articles: Path, args: argparse.Namespace) -> list[str]:
    """The benchmark sentences, written afresh as article files into ``articles``."""
    texts = corpus.sentences(args.sentences, seed=args.seed)
    if articles.exists():
        for old in articles.glob("*.txt"):
            old.unlink()
    corpus.write_articles(texts, articles, seed=args.seed)
    return texts


def stamped_model(
    folder: Path, build: Callable[..., Path], args: argparse.Namespace, label: str
) -> Path:
    """``build`` into ``folder`` unless a build with the same settings (and the same version
    of bench/model.py's builders) is already there."""
    stamp = {
        "tokens": args.tokens,
        "seed": args.seed,
        "builder": build.__name__,
        "v": BUILD_VERSION,
    }
    marker = folder / "bench-stamp.json"
    if not marker.is_file() or json.loads(marker.read_text()) != stamp:
        print(f"[bench] building the {label} model ...", file=sys.stderr, flush=True)
        build(folder, forced_tokens=args.tokens, seed=args.seed)
        marker.write_text(json.dumps(stamp))
    return folder


def prepare(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Corpus files and the model (rebuilt only when the settings change)."""
    articles = work / "articles"
    texts = write_corpus(articles, args)
    # Converted models are removed so that the conversion is timed on every run.
    shutil.rmtree(work / "home" / "ct2", ignore_errors=True)
    model = stamped_model(work / "opus-mt-base", build_opus_mt, args, "opus-mt-sized")
    return {"texts": texts, "articles": str(articles), "model": str(model)}


#: Workbench rows of the table: key, label, which model file the memory budget is based on.
WORKBENCH_LABELS = (
    ("wb_ct2", "(d) workbench, ctranslate2 int8 (defaults), files in → files out", "ct2"),
    ("wb_ct2_sync", "(d) experiment: chunk by chunk, nothing queued ahead", "ct2"),
    ("wb_torch", "(e) workbench, torch fp32, files in → files out", "hf"),
    ("wb_torch_int8", "(e) workbench, torch int8 (dynamic), files in → files out", "hf"),
)


def _tps(r: dict[str, Any]) -> float:
    return r["tokens"] / r["seconds"]


def _row_line(name: str, r: dict[str, Any], refs: dict[str, float], size_mb: float) -> str:
    tps = _tps(r)
    ratios = " | ".join(f"{tps / ref:.2f}×" for ref in refs.values())
    budget = 1.5 * size_mb + 300
    rss = r["peak_rss_mb"]
    runs = len(r.get("runs", [r["seconds"]]))
    return (
        f"| {name} | {r['sentences']} | {r['seconds']:.1f} | {runs} | {tps:.0f} | "
        f"{r['sentences'] / r['seconds']:.2f} | {ratios} | {rss:.0f} "
        f"({'≤' if rss <= budget else '>'} {budget:.0f}) | {size_mb:.0f} | "
        f"{r['contention']:.0%} ({r.get('attempts', 1)}) |"
    )


def report(results: dict[str, Any], args: argparse.Namespace, info: dict[str, Any]) -> str:
    m = info["machine"]
    a, b, c = results["naive"], results["batched"], results["ct2_raw"]
    refs = {"a": _tps(a), "b": _tps(b), "c": _tps(c)}
    hf_mb, ct2_mb = info["hf_mb"], info["ct2_mb"]
    lines = [
        BEGIN,
        "## Measured",
        "",
        f"Command: `{info['command']}`  ",
        f"Date: {info['date']}  ",
        f"Machine: {m['cpu']} ({m['isa']}), {m['cores']} cores, {m['memory']}, "
        f"Linux {m['kernel']}, Python {m['python']}  ",
        f"Versions: torch {m['torch']}, transformers {m['transformers']}, "
        f"ctranslate2 {m['ctranslate2']}, tokenizers {m['tokenizers']}, "
        f"sentencepiece {m['sentencepiece']}  ",
        f"Model: random-weight Marian, opus-mt base shape (d_model 512, 6+6 layers, 8 heads, "
        f"FFN 2048, 60000-row shared embeddings): {hf_mb:.0f} MB safetensors fp32, "
        f"{ct2_mb:.0f} MB CTranslate2 int8 (conversion {info['convert_s']:.1f} s, once)  ",
        f"Work: {len(info['texts'])} sentences ({info['words_mean']:.1f} words, "
        f"{info['src_tokens_mean']:.1f} source tokens on average, {info['words_min']}–"
        f"{info['words_max']} words) in {info['articles']} article files, "
        f"exactly {args.tokens} generated tokens per sentence, greedy, {args.threads} threads",
        "",
        "| row | sentences | seconds (best) | runs | tokens/s | sentences/s | vs (a) | vs (b) | "
        "vs (c) | peak RSS MB (budget) | model MB | others' CPU (attempts) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        _row_line(
            f"(a) transformers fp32, one sentence per call (first {a['sentences']})", a, refs, hf_mb
        ),
        _row_line(f"(b) transformers fp32, unsorted batches of {args.batch}", b, refs, hf_mb),
        _row_line(
            f"(c) CTranslate2 int8 raw, pre-tokenised, sorted ({c['config']})", c, refs, ct2_mb
        ),
    ]
    for key, label, size in WORKBENCH_LABELS:
        if key in results:
            lines.append(_row_line(label, results[key], refs, ct2_mb if size == "ct2" else hf_mb))
    lines += [
        "",
        "Workbench rows in detail (warm: model loaded by a one-sentence warm-up first):",
        "",
    ]
    lines += [
        "| row | backend | run s | engine s | pipeline overhead | model load s | process s |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, _, _ in WORKBENCH_LABELS:
        if key in results:
            r = results[key]
            over = r["seconds"] - r["engine_seconds"]
            lines.append(
                f"| {r['label']} | {r['backend']} {r['config']} | {r['seconds']:.2f} | "
                f"{r['engine_seconds']:.2f} | {over:.2f} s ({over / r['seconds']:.1%}) | "
                f"{r['load_seconds']:.2f} | {r['process_seconds']:.1f} |"
            )
    lines += ["", "CTranslate2 raw sweep (c):", "", "| threads (inter×intra) | batch | tokens/s |"]
    lines += ["|---|---|---|"]
    for s in c["sweep"]:
        lines.append(f"| {s['layout']} | {s['batch']} | {s['tokens'] / s['seconds']:.0f} |")
    console, module = info["help"]
    lines += [
        "",
        f"`workbench --help`: median {console:.3f} s (console script), "
        f"`python -m workbench --help`: {module:.3f} s (7 runs each)",
    ]
    if "parity" in results:
        p = results["parity"]
        lines += [
            "",
            f"Greedy agreement with torch fp32 on the tiny test models ({p['segments']} "
            "English corpus sentences each; identical output segments):",
            "",
            "| family | ct2 fp32 | ct2 int8 | torch int8 |",
            "|---|---|---|---|",
        ]
        for family, row in p["families"].items():
            lines.append(
                f"| {family} | {row['ct2-fp32']}/{p['segments']} | {row['ct2-int8']}/{p['segments']} "
                f"| {row['torch-int8']}/{p['segments']} |"
            )
    if "same_outputs" in info:
        lines += ["", info["same_outputs"]]
    if info.get("gpu"):
        lines += ["", info["gpu"]]
    lines += targets(results, info, refs)
    lines.append(END)
    return "\n".join(lines) + "\n"


def targets(results: dict[str, Any], info: dict[str, Any], refs: dict[str, float]) -> list[str]:
    """The issue's targets against this run's figures, met or not."""
    d, c = results["wb_ct2"], results["ct2_raw"]
    tps = _tps(d)
    # Alternating runs of (c) and (d): the ratio within each pair, robust to a drifting load.
    pairs = [
        (d["tokens"] / ds) / (c["tokens"] / cs)
        for cs, ds in zip(c["runs"], d["runs"], strict=False)
    ]
    paired = statistics.median(pairs) if pairs else float("nan")
    budget = 1.5 * info["ct2_mb"] + 300
    console, _ = info["help"]

    def met(ok: bool) -> str:
        return "yes" if ok else "**no**"

    lines = [
        "",
        "### Targets",
        "",
        "| target | this run | met |",
        "|---|---|---|",
        f"| workbench end to end ≥ 20× (a) | {tps / refs['a']:.1f}× | {met(tps / refs['a'] >= 20)} |",
        f"| ≥ 4× (b) | {tps / refs['b']:.2f}× | {met(tps / refs['b'] >= 4)} |",
        f"| ≥ 0.9× (c) | best against best {tps / refs['c']:.2f}×; median of the "
        f"{len(pairs)} alternating pairs {paired:.2f}× ({', '.join(f'{x:.2f}' for x in pairs)}) "
        f"| {met(tps / refs['c'] >= 0.9 and paired >= 0.9)} |",
        f"| `workbench --help` < 0.3 s | {console:.3f} s | {met(console < 0.3)} |",
        f"| peak RSS ≤ 1.5 × model + 300 MB | {d['peak_rss_mb']:.0f} MB (largest of its runs) vs "
        f"{budget:.0f} MB for the {info['ct2_mb']:.0f} MB int8 model it runs "
        f"({1.5 * info['hf_mb'] + 300:.0f} MB for the {info['hf_mb']:.0f} MB checkpoint) "
        f"| {met(d['peak_rss_mb'] <= budget)} |",
    ]
    return lines


def write_report(out: Path, section: str) -> None:
    """Replace the measured section of ``out``, keeping any text around it."""
    text = out.read_text("utf-8") if out.is_file() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text, "utf-8")


def merge_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from several runs of it: the fastest run, every run's seconds, the largest peak."""
    fastest = min(runs, key=lambda r: r["seconds"] / max(1, r["tokens"]))
    return {
        **fastest,
        "runs": [t for r in runs for t in r.get("runs", [r["seconds"]])],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "attempts": sum(r.get("attempts", 1) for r in runs),
        "contention": max(r["contention"] for r in runs),
    }


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--row":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=500)
    parser.add_argument("--naive-sentences", type=int, default=100, help="subset for row (a)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=48, help="generated tokens per sentence")
    parser.add_argument("--batch", type=int, default=32, help="batch size of row (b)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/workbench-bench"))
    parser.add_argument("--out", type=Path, default=None, help="write the results into this file")
    parser.add_argument("--profile", action="store_true", help="cProfile the workbench rows")
    parser.add_argument("--skip-torch-int8", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of rows b, c, d (c and d alternate)"
    )
    parser.add_argument("--attempts", type=int, default=3, help="runs of a row on a busy machine")
    parser.add_argument(
        "--threshold", type=float, default=0.15, help="others' CPU share that makes a row rerun"
    )
    parser.add_argument(
        "--batch-sweep",
        default="32,64,128,256",
        help="batch sizes of the GPU rows (--device cuda)",
    )
    args = parser.parse_args()
    if args.device == "cuda":
        from bench.speed_gpu import gpu_main

        gpu_main(args)
        return

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    log.write_text("", "utf-8")
    runner = Runner(work, args.threads, log, args.attempts, args.threshold)
    data = prepare(work, args)
    texts = data["texts"]
    common = {
        "model": data["model"],
        "tokens": args.tokens,
        "threads": args.threads,
        "device": "cpu",
    }

    conv = runner.row(
        "convert", {**common, "precision": "int8"}, "CTranslate2 conversion", retry=False
    )
    results: dict[str, Any] = {}
    results["naive"] = runner.row(
        "naive", {**common, "texts": texts, "naive_sentences": args.naive_sentences}, "(a) naive"
    )
    results["batched"] = runner.row(
        "batched",
        {**common, "texts": texts, "batch": args.batch, "repeat": args.repeat},
        "(b) batched",
    )
    raw_cfg = {
        **common,
        "texts": texts,
        "ct2_folder": conv["folder"],
        "compute_type": "int8",
        "layouts": [
            *(
                [[2, args.threads // 2, size] for size in (8, 16, 32, 64)]
                if args.threads > 1
                else []
            ),
            *[[1, args.threads, size] for size in (16, 32)],
        ],
    }
    sweep = runner.row("ct2_raw", raw_cfg, "(c) CTranslate2 raw, sweep", retry=False)

    def workbench_cfg(key: str, backend: str, precision: str, **options: Any) -> dict[str, Any]:
        cfg = {
            **common,
            **options,
            "articles": data["articles"],
            "out_dir": str(work / f"out-{key}"),
            "backend": backend,
            "precision": precision,
        }
        if args.profile:
            cfg["profile"] = str(work / f"{key}.prof")
        return cfg

    # The engine's ceiling (c) at its best setting and workbench (d) run alternately, each
    # in its own process, so that both meet the same moments of a shared machine.
    best = [sweep["inter"], sweep["intra"], sweep["batch"]]
    paired: dict[str, list[dict[str, Any]]] = {"ct2_raw": [], "wb_ct2": []}
    for k in range(args.repeat):
        paired["ct2_raw"].append(
            runner.row("ct2_raw", {**raw_cfg, "layouts": [best]}, f"(c) CTranslate2 raw {k + 1}")
        )
        paired["wb_ct2"].append(
            runner.row(
                "workbench",
                workbench_cfg("wb_ct2", "ctranslate2", "int8"),
                f"workbench wb_ct2 ctranslate2 int8 {k + 1}",
            )
        )
    for key, runs in paired.items():
        results[key] = merge_runs(runs)
    results["ct2_raw"]["sweep"] = sweep["sweep"]
    workbench_rows: list[tuple[str, str, str, dict[str, Any]]] = [
        ("wb_ct2_sync", "ctranslate2", "int8", {"lookahead": 0}),
        ("wb_torch", "torch", "fp32", {}),
    ]
    if not args.skip_torch_int8:
        workbench_rows.append(("wb_torch_int8", "torch", "int8", {}))
    for key, backend, precision, options in workbench_rows:
        cfg = workbench_cfg(key, backend, precision, **options)
        results[key] = runner.row("workbench", cfg, f"workbench {key} {backend} {precision}")
    results["parity"] = runner.row(
        "parity",
        {"threads": args.threads, "tiny_root": str(work / "tiny")},
        "parity (tiny models)",
        retry=False,
    )

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(data["model"])
    words = [len(t.split()) for t in texts]
    info: dict[str, Any] = {
        "command": "python bench/speed.py " + " ".join(sys.argv[1:]),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "texts": texts,
        "articles": len(list(Path(data["articles"]).glob("*.txt"))),
        "words_mean": statistics.mean(words),
        "words_min": min(words),
        "words_max": max(words),
        "src_tokens_mean": statistics.mean(len(x) for x in tok(texts).input_ids),
        "hf_mb": folder_bytes(Path(data["model"]), "*.safetensors") / 1e6,
        "ct2_mb": folder_bytes(Path(conv["folder"]), "model.bin") / 1e6,
        "convert_s": conv["seconds"],
        "help": help_seconds(runner.env()),
    }
    expected = sorted(texts)
    for key, _, _ in WORKBENCH_LABELS:
        if key in results and results[key].pop("segment_texts") != expected:
            print(f"[bench] warning: {key} segmented the corpus differently", file=sys.stderr)
            info.setdefault("same_outputs", "")
            info["same_outputs"] += f"Note: {key} did not see exactly the corpus sentences. "
    info["gpu"] = "GPU rows: in their own section below (`--device cuda` on a machine with a GPU)."
    section = report(results, args, info)
    (work / "results.json").write_text(
        json.dumps({"results": results, "info": {**info, "texts": len(texts)}}, indent=2), "utf-8"
    )
    print(section)
    if args.out:
        write_report(args.out, section)


if __name__ == "__main__":
    main()
