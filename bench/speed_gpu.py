"""GPU rows of the speed benchmark (``python bench/speed.py --device cuda``).

An NLLB-200-distilled-600M-shaped model with random weights, every sentence forced to the same
number of generated tokens. Rows, each in its own process:

- (b) transformers fp32 ``generate`` over unsorted batches of 32: the baseline;
- transformers bf16 and fp16 over unsorted batches, a batch sweep: a careful script;
- workbench end to end (files in, files out, cache off) on torch bf16 and fp16, a sweep of its
  batch limits;
- raw CTranslate2 and workbench on CTranslate2, where the installed CTranslate2 runs on this GPU.

Each row reports tokens/s, its ratio to (b), GPU memory (device memory in use at the peak,
CUDA context included, and torch's allocator peak) and host peak RSS. The section goes between
its own markers in ``--out``, so the CPU section stays as it is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.model import NLLB_600M, build_nllb_600m, folder_bytes
from bench.speed import SRC, TGT, GpuMemory, Runner, machine, stamped_model, write_corpus

BEGIN, END = "<!-- bench:gpu:begin -->", "<!-- bench:gpu:end -->"


def gpu_name() -> str:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return out.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        import torch

        return torch.cuda.get_device_name(0)


def last_error(log: Path) -> str:
    """The last line of a failed row's log that reads like an error."""
    lines = [x.strip() for x in log.read_text("utf-8", errors="replace").splitlines() if x.strip()]
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line[:300]
    return lines[-1][:300] if lines else "no output"


# --------------------------------------------------------------------------- rows (children)


def _window(device: str) -> tuple[Any, Any, bool]:
    """Start measuring one sweep point: NVML sampler and torch's allocator peak."""
    import torch

    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    return (GpuMemory.start() if cuda else None), time.perf_counter(), cuda


def _close(window: tuple[Any, Any, bool]) -> dict[str, float]:
    import torch

    sampler, start, cuda = window
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    out = sampler.stop() if sampler is not None else {}
    out["torch_peak_mb"] = torch.cuda.max_memory_allocated() / 1e6 if cuda else 0.0
    return {"seconds": seconds, **out}


def row_hf_sweep(cfg: dict[str, Any]) -> dict[str, Any]:
    """transformers ``generate`` over unsorted batches, one load, every batch size in turn."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[cfg["dtype"]]
    texts, n = cfg["texts"], cfg["tokens"]
    tok = AutoTokenizer.from_pretrained(cfg["model"])
    device = cfg["device"]
    model = AutoModelForSeq2SeqLM.from_pretrained(cfg["model"], dtype=dtype).eval().to(device)

    def generate(batch_texts: list[str]) -> int:
        batch = tok(batch_texts, return_tensors="pt", padding=True).to(device)
        out = model.generate(
            **batch, num_beams=1, do_sample=False, min_new_tokens=n, max_new_tokens=n
        )
        tok.batch_decode(out, skip_special_tokens=True)
        return (out.shape[1] - 1) * out.shape[0]

    sweep = []
    with torch.inference_mode():
        for size in cfg["sizes"]:
            generate(texts[:size])  # warm-up: kernels and allocator for this size
            window = _window(device)
            produced = sum(generate(texts[k : k + size]) for k in range(0, len(texts), size))
            sweep.append({"batch": size, "tokens": produced, **_close(window)})
    return {"sweep": sweep, "sentences": len(texts)}


def row_wb_sweep(cfg: dict[str, Any]) -> dict[str, Any]:
    """workbench end to end (files in, files out, cache off), one Workbench per batch limit."""
    import gc

    from bench.speed import bench_generation, run_settings
    from workbench.api import Workbench
    from workbench.runs.folder import translate_paths
    from workbench.settings import TranslateOptions

    sweep = []
    for size, tokens in cfg["limits"]:
        run = run_settings(
            cfg["precision"],
            device=cfg["device"],
            backend=cfg["backend"],
            max_batch_size=size,
            batch_tokens=tokens,
        )
        wb = Workbench(run=run, generation=bench_generation(cfg["tokens"]), cache=False)
        load_start = time.perf_counter()
        wb.translate("The council met on Monday.", TGT, src=SRC, model=cfg["model"])
        load = time.perf_counter() - load_start
        backend = wb.pool.loaded[0]
        before = backend.stats.output_tokens
        profiler = None
        if cfg.get("profile"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        window = _window(cfg["device"])
        report = translate_paths(
            wb,
            [cfg["articles"]],
            TranslateOptions((TGT,), src=SRC, model=cfg["model"]),
            out=Path(cfg["out_dir"]) / f"{size}",
        )
        point = _close(window)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(f"{cfg['profile']}-{size}.prof")
        failed = [row.error for row in report.rows if row.error]
        if failed:
            raise RuntimeError(f"workbench failed: {failed[:3]}")
        sweep.append(
            {
                "batch": size,
                "batch_tokens": tokens,
                "tokens": backend.stats.output_tokens - before,
                "load_seconds": load,
                "backend": backend.name,
                **point,
            }
        )
        del wb, backend, report
        gc.collect()
    return {"sweep": sweep}


def row_ct2_probe(cfg: dict[str, Any]) -> dict[str, Any]:
    """Can the installed CTranslate2 translate on this GPU? (A tiny NLLB model, one sentence.)"""
    import ctranslate2

    from tests.tinymodels import build
    from workbench.models.ct2_backend import ensure_converted
    from workbench.models.resolve import resolve

    folder = build("nllb", Path(cfg["work"]) / "tiny-nllb")
    converted, _ = ensure_converted(resolve(str(folder)), "fp16")
    translator = ctranslate2.Translator(str(converted), device="cuda", compute_type="float16")
    translator.translate_batch([["▁a", "▁b", "</s>"]], max_decoding_length=4)
    return {"seconds": 0.0, "tokens": 0}


GPU_ROWS = {"hf_sweep": row_hf_sweep, "wb_sweep": row_wb_sweep, "ct2_probe": row_ct2_probe}


# --------------------------------------------------------------------------- parent


class Rows:
    """Runs rows and keeps the table (one line per sweep point); a failed row is reported."""

    def __init__(self, runner: Runner, log: Path) -> None:
        self.runner, self.log = runner, log
        self.table: list[dict[str, Any]] = []
        self.failures: list[str] = []

    def run(self, kind: str, cfg: dict[str, Any], label: str) -> dict[str, Any] | None:
        try:
            r = self.runner.row(kind, cfg, label, retry=False)
        except SystemExit:
            self.failures.append(f"{label}: failed ({last_error(self.log)})")
            return None
        points = [
            {**p, "label": label, "peak_rss_mb": r["peak_rss_mb"]} for p in r.get("sweep", [])
        ]
        self.table += points
        # Kept row by row, so a run cut short still leaves what it measured.
        with (self.log.parent / "rows-gpu.jsonl").open("a", encoding="utf-8") as f:
            for p in points:
                f.write(json.dumps(p) + "\n")
        return r


def gpu_main(args: argparse.Namespace) -> None:
    """Measure the GPU rows and write their section."""
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("[bench] --device cuda: torch sees no CUDA GPU on this machine")
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench-gpu.log"
    log.write_text("", "utf-8")
    (work / "rows-gpu.jsonl").write_text("", "utf-8")
    runner = Runner(work, args.threads, log, attempts=1, threshold=1.0)
    runner.quiet_wait = False
    rows = Rows(runner, log)
    sweep = [int(x) for x in args.batch_sweep.split(",")]

    articles = work / "articles-gpu"
    texts = write_corpus(articles, args)
    model = stamped_model(work / "nllb-600m", build_nllb_600m, args, "NLLB-600M-sized")
    m = machine()
    info = {
        "command": "python bench/speed.py " + " ".join(sys.argv[1:]),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "gpu": gpu_name(),
        "host": f"{m['cpu']}, {m['cores']} cores, {m['memory']}",
        "versions": f"torch {m['torch']}, transformers {m['transformers']}, "
        f"ctranslate2 {m['ctranslate2']}, tokenizers {m['tokenizers']}",
        "model_mb": folder_bytes(model, "*.safetensors") / 1e6,
        "sentences": len(texts),
        "tokens": args.tokens,
        "threads": args.threads,
        "baseline_batch": args.batch,
    }
    (work / "gpu-info.json").write_text(json.dumps(info, indent=2), "utf-8")
    common = {"model": str(model), "tokens": args.tokens, "threads": args.threads}
    cuda = {**common, "device": "cuda", "texts": texts}

    ct2 = ct2_probe(rows, cuda, work)
    rows.run(
        "hf_sweep",
        {**cuda, "sizes": [args.batch], "dtype": "fp32"},
        f"(b) transformers fp32, unsorted batches of {args.batch}",
    )
    for dtype in ("bf16", "fp16"):
        rows.run(
            "hf_sweep",
            {**cuda, "sizes": sweep, "dtype": dtype},
            f"transformers {dtype}, unsorted batches",
        )
    backends = [("torch", "bf16"), ("torch", "fp16")]
    if ct2 is None:
        backends.insert(0, ("ctranslate2", "bf16"))
    for backend, precision in backends:
        rows.run(
            "wb_sweep",
            {
                **cuda,
                # Token budget in step with the row limit, so the row limit is what moves.
                "limits": [[size, max(4096, 64 * size)] for size in sweep],
                "articles": str(articles),
                "out_dir": str(work / f"out-gpu-{backend}-{precision}"),
                "backend": backend,
                "precision": precision,
                **({"profile": str(work / f"gpu-{backend}-{precision}")} if args.profile else {}),
            },
            f"workbench {backend} {precision}, files in → files out",
        )
    info["ct2"] = ct2 or "CTranslate2 ran on this GPU (rows above)."
    (work / "gpu-info.json").write_text(json.dumps(info, indent=2), "utf-8")
    write_section(args.out, work, info, rows.table, rows.failures)


def ct2_probe(rows: Rows, cuda: dict[str, Any], work: Path) -> str | None:
    """None when CTranslate2 translates on this GPU, else why its rows are left out."""
    try:
        version = metadata.version("ctranslate2")
    except metadata.PackageNotFoundError:
        return "CTranslate2 rows: not measured (ctranslate2 is not installed on this machine)."
    if rows.run("ct2_probe", {"work": str(work), "device": "cuda"}, "CTranslate2 probe") is None:
        why = rows.failures.pop()
        return f"CTranslate2 rows: not measured; CTranslate2 {version} cannot run here: {why}"
    return None


def write_section(
    out: Path | None,
    work: Path,
    info: dict[str, Any],
    table: list[dict[str, Any]],
    failures: list[str],
) -> str:
    """The GPU section from the measured points (also usable on a run's saved files)."""
    base = next((r for r in table if r["label"].startswith("(b)")), None)
    ref = base["tokens"] / base["seconds"] if base else float("nan")
    lines = [
        BEGIN,
        "## Measured on a GPU",
        "",
        f"Command: `{info['command']}`  ",
        f"Date: {info['date']}  ",
        f"GPU: {info['gpu']}; host: {info['host']}  ",
        f"Versions: {info['versions']}  ",
        f"Model: random-weight NLLB-200-distilled-600M shape (d_model {NLLB_600M['d_model']}, "
        f"{NLLB_600M['layers']}+{NLLB_600M['layers']} layers, {NLLB_600M['heads']} heads, FFN "
        f"{NLLB_600M['ffn']}, {NLLB_600M['vocab']}-row embeddings): "
        f"{info['model_mb']:.0f} MB safetensors fp32  ",
        f"Work: {info['sentences']} sentences, exactly {info['tokens']} generated tokens each, "
        f"greedy, {SRC}→{TGT}; {info['threads']} CPU threads. Each row is one process that loads "
        "the model once and runs every batch size after a warm-up at that size.",
        "",
        "| row | batch limit | seconds | tokens/s | vs (b) | GPU memory peak MB (device, incl. "
        "context) | torch allocator peak MB | host peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in table:
        tps = r["tokens"] / r["seconds"]
        gpu_peak = f"{r['gpu_peak_mb']:.0f}" if "gpu_peak_mb" in r else "-"
        batch = f"{r['batch']}" + (
            f" rows, {r['batch_tokens']} tokens" if "batch_tokens" in r else ""
        )
        lines.append(
            f"| {r['label']} | {batch} | {r['seconds']:.2f} | {tps:.0f} | {tps / ref:.2f}× | "
            f"{gpu_peak} | {r['torch_peak_mb']:.0f} | {r['peak_rss_mb']:.0f} |"
        )
    lines += ["", info.get("ct2", "")]
    if failures:
        lines += ["", "Rows that did not run:", ""] + [f"- {x}" for x in failures]
    best = best_of(table, "workbench")
    careful = best_of(table, "transformers")
    if best and base:
        tps = best["tokens"] / best["seconds"]
        lines += [
            "",
            f"Best workbench point: {best['label']} at {best['batch']} rows, {tps:.0f} tokens/s = "
            f"{tps / ref:.1f}× (b)"
            + (
                f", {tps / (careful['tokens'] / careful['seconds']):.2f}× the best transformers "
                f"half-precision point ({careful['label']} at {careful['batch']})"
                if careful and careful is not base
                else ""
            )
            + ".",
        ]
    lines.append(END)
    section = "\n".join(lines) + "\n"
    print(section)
    (work / "results-gpu.json").write_text(
        json.dumps({"info": info, "rows": table, "failures": failures}, indent=2), "utf-8"
    )
    if out:
        write_gpu_report(out, section)
    return section


def best_of(table: list[dict[str, Any]], prefix: str) -> dict[str, Any] | None:
    found = [r for r in table if r["label"].startswith(prefix) and "fp32" not in r["label"]]
    return max(found, key=lambda r: r["tokens"] / r["seconds"]) if found else None


def write_gpu_report(out: Path, section: str) -> None:
    """Replace (or append) the GPU section of ``out``, keeping everything else."""
    text = out.read_text("utf-8") if out.is_file() else "# Benchmarks\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text, "utf-8")
