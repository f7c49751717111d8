"""Model work on a Ray cluster through Ray Data (``pip install 'workbench[ray]'``).

The driver (this process) plans, looks up and writes the cache, so only misses travel: each
chunk goes out as (model path and revision, the plan the cache keys were built from, texts). All chunks of a
run form one Dataset mapped by an actor pool; every actor keeps a ModelPool, so each model is
loaded once per actor for the whole run however many documents there are. Actors reserve a
GPU each when the run's device is CUDA. Decoding is deterministic and batching does not change
outputs, so results are identical to the local engine's.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.engines import ChunkOutputs, SegmentError, attempt
from workbench.engines.work import positions
from workbench.errors import ModelError, WorkbenchError
from workbench.models.base import Output
from workbench.models.plan import ModelPlan
from workbench.models.pool import ModelPool
from workbench.models.resolve import ResolvedModel
from workbench.settings import RunSettings

if TYPE_CHECKING:
    from workbench.engines.work import Chunk


class ChunkTranslator:
    """The Ray Data actor: translates whole chunks with models it loads once and keeps."""

    def __init__(self, run: dict[str, Any]) -> None:
        self.pool = ModelPool(RunSettings(**run))

    def __call__(self, batch: Any) -> Any:  # pyarrow.Table -> pyarrow.Table
        import pyarrow as pa

        indices, results = [], []
        for row in batch.to_pylist():
            indices.append(row["index"])
            try:
                outs = self._translate(row)
                result = {
                    "texts": [o.text if isinstance(o, Output) else "" for o in outs],
                    "notes": [list(o.notes) if isinstance(o, Output) else [] for o in outs],
                    "errors": {
                        str(i): [o.model, o.cause]
                        for i, o in enumerate(outs)
                        if isinstance(o, SegmentError)
                    },
                }
            except WorkbenchError as exc:  # this chunk's group fails; the run goes on
                result = {"error": str(exc)}
            results.append(json.dumps(result, ensure_ascii=False))
        return pa.table({"index": pa.array(indices, pa.int64()), "result": pa.array(results)})

    def _translate(self, row: dict[str, Any]) -> ChunkOutputs:
        resolved = self._locate(row)
        # The driver's plan, as its cache keys say: the same settings, backend and language
        # control, not recomputed here.
        plan = ModelPlan.from_wire(json.loads(row["plan"]), resolved, self.pool.info(resolved))
        backend = self.pool.backend(resolved)
        if backend.name != plan.backend:
            # The cache key names the backend the driver planned; anything else would store
            # outputs under a key that does not describe them.
            raise WorkbenchError(
                f"Ray worker {socket.gethostname()} would run {resolved.label} as {backend.name}, "
                f"but the driver planned {plan.backend}; give the workers the same device and "
                "backend (e.g. --device cpu or --backend torch)"
            )

        texts = list(row["texts"])
        # Each segment's preceding sentences, with a context window (chat models); else [].
        contexts = [tuple(c) for c in json.loads(row.get("contexts") or "[]")]
        run = positions(backend, plan, texts, contexts)
        # Only the segments that fail alone fail (see workbench.engines.isolate).
        return attempt(run, list(range(len(texts))), resolved.label)

    def _locate(self, row: dict[str, Any]) -> ResolvedModel:
        path = Path(row["path"])
        if (path / "config.json").is_file():
            return ResolvedModel(row["ref"], row["model_id"], path, row["revision"], row["source"])
        if row["source"] == "hub":
            # Another machine: the same snapshot from its own Hugging Face cache.
            from workbench.models.resolve import resolve

            found = resolve(
                row["model_id"], revision=row["revision"], offline=self.pool.run.offline
            )
            if found.revision != row["revision"]:
                raise ModelError(
                    f"Ray worker {socket.gethostname()} has {found.label}, not revision "
                    f"{row['revision'][:7]}; download that revision on the worker",
                    model=row["model_id"],
                )
            return found
        raise ModelError(
            f"model folder {path} is not on Ray worker {socket.gethostname()}; put it on storage "
            "every node mounts at the same path, or use a hub id",
            model=row["ref"],
        )


class RayEngine:
    """Runs chunks of cache misses through a Ray Data actor pool."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        actors: int | None = None,
        cpus_per_actor: float = 1.0,
        gpus_per_actor: float | None = None,
    ) -> None:
        self.address = address
        self.actors = actors
        self.cpus_per_actor = cpus_per_actor
        self.gpus_per_actor = gpus_per_actor
        self._started = False

    def translate_chunks(
        self, pool: ModelPool, chunks: list[Chunk]
    ) -> Iterator[tuple[int, ChunkOutputs | WorkbenchError]]:
        """Every chunk through one Dataset; yields ``(index, outputs)`` in input order."""
        self._connect()
        import ray
        import ray.data

        from workbench.models.device import pick_device

        device = pick_device(pool.run.device)
        gpus = self.gpus_per_actor
        if gpus is None:
            gpus = 1.0 if device.startswith("cuda") else 0.0
        # Workers run exactly the device the driver planned the cache keys for; a GPU actor
        # sees only its own GPU, as cuda.
        run = {**asdict(pool.run), "device": "cuda" if device.startswith("cuda") else device}
        rows = [
            {
                "index": i,
                "path": str(c.resolved.path),
                "ref": c.resolved.ref,
                "model_id": c.resolved.model_id,
                "revision": c.resolved.revision,
                "source": c.resolved.source,
                "plan": json.dumps(c.plan.wire(), ensure_ascii=False, sort_keys=True),
                "texts": list(c.texts),
                # JSON text, so every row has the same columns whether or not it has them.
                "contexts": json.dumps([list(x) for x in c.contexts], ensure_ascii=False),
            }
            for i, c in enumerate(chunks)
        ]
        ctx = ray.data.DataContext.get_current()
        saved = (
            ctx.execution_options.preserve_order,
            ctx.enable_progress_bars,
            ctx.print_on_execution_start,
        )
        # In order, so the cache is written in the same order as by the local engine; Ray's
        # own bars would fight workbench's.
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        try:
            ds = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
                ChunkTranslator,
                fn_constructor_kwargs={"run": run},
                batch_size=1,  # one chunk per call: the backend batches within it
                batch_format="pyarrow",
                compute=ray.data.ActorPoolStrategy(
                    min_size=1, max_size=self._max_actors(ray, gpus)
                ),
                num_cpus=self.cpus_per_actor,
                num_gpus=gpus,
            )
            for row in ds.iter_rows():
                result = json.loads(row["result"])
                if "error" in result:
                    yield int(row["index"]), WorkbenchError(result["error"])
                else:
                    errors = result.get("errors") or {}
                    outs: ChunkOutputs = [
                        SegmentError(*errors[str(i)]) if str(i) in errors else Output(t, tuple(n))
                        for i, (t, n) in enumerate(
                            zip(result["texts"], result["notes"], strict=True)
                        )
                    ]
                    yield int(row["index"]), outs
        except WorkbenchError:
            raise
        except Exception as exc:
            if not _is_ray_error(exc):
                raise
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            raise WorkbenchError(
                f"the Ray engine failed ({type(exc).__name__}: {first}); finished chunks are "
                "cached: fix the cluster and run the same command again"
            ) from None
        finally:
            (
                ctx.execution_options.preserve_order,
                ctx.enable_progress_bars,
                ctx.print_on_execution_start,
            ) = saved

    def _max_actors(self, ray: Any, gpus: float) -> int:
        if self.actors is not None:
            return max(1, self.actors)
        resources = ray.cluster_resources()
        if gpus > 0:
            return max(1, int(resources.get("GPU", 0) // gpus))
        return max(1, int(resources.get("CPU", 1) // self.cpus_per_actor))

    def _connect(self) -> None:
        try:
            import ray
        except ImportError:
            raise WorkbenchError(
                "--engine ray needs the ray extra: pip install 'workbench[ray]'"
            ) from None
        if not ray.is_initialized():
            address = self.address or os.environ.get("RAY_ADDRESS") or None
            # ray.init replaces the SIGTERM handler with sys.exit; keep the caller's, so that
            # SIGTERM still stops a run through the same clean path as Ctrl-C.
            main = threading.current_thread() is threading.main_thread()
            previous = signal.getsignal(signal.SIGTERM) if main else None
            try:
                ray.init(
                    address=address,
                    include_dashboard=False,
                    logging_level=logging.ERROR,
                    log_to_driver=False,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = address or "a new local instance"
                raise WorkbenchError(
                    f"cannot start Ray at {where} ({exc}); check --address, or start a cluster "
                    "with `ray start --head`"
                ) from None
            finally:
                if previous is not None:
                    signal.signal(signal.SIGTERM, previous)
            self._started = True
        import ray.data  # configures Ray Data's loggers, which are quietened below

        # Ray Data reports each execution at INFO and its disabled bars at WARNING on the
        # console; workbench shows its own progress. Its log file keeps everything.
        for handler in logging.getLogger("ray.data").handlers:
            if not isinstance(handler, logging.FileHandler):
                handler.setLevel(logging.ERROR)

    def close(self) -> None:
        """Stop the Ray instance this engine started (a cluster it joined keeps running)."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


def _is_ray_error(exc: Exception) -> bool:
    return type(exc).__module__.split(".")[0] == "ray"
