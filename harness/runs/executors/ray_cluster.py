"""The Ray executor: every sweep cell as one Ray task, for users who outgrow one machine.

Each cell is an ordinary run folder, trained by the same `run_cell` the local
executor uses, so idempotence, resume and the run lock work unchanged. Where
the results land:
- on shared storage (the usual cluster set-up), the task writes straight into
  `out`, which must be the same path on every node;
- on a node that does not share the driver's file system, the task packs its
  run folder and the driver unpacks it into `out` ("copied back").
A task asks Ray for `cpus_per_cell` CPUs (and `gpus_per_cell` GPUs) and limits
TensorFlow's threads to its CPUs, so Ray's bookkeeping matches what it uses.
Every worker must have `harness` installed (the same version as the driver).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from harness.errors import ConfigError
from harness.runs.executors import Outcome, in_grid_order

log = logging.getLogger("harness")
# Settings a worker needs to find the data and the caches the driver uses.
FORWARDED_ENV = ("HARNESS_EUROSAT", "HARNESS_CACHE", "HARNESS_INCEPTION_WEIGHTS", "HARNESS_PLUGINS")


def import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'harness[ray]' (or pip install ray)") from None
    return ray


def connect(address: str | None):
    """Join the cluster at `address` (or start a local Ray when None); reuse a connection the caller made."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    env = {k: os.environ[k] for k in FORWARDED_ENV if os.environ.get(k)}
    try:
        ray.init(address=address, runtime_env={"env_vars": env} if env else None, include_dashboard=False,
                 logging_level=logging.WARNING)
    except ConnectionError as exc:
        raise ConfigError(f"--address {address!r}: cannot reach a Ray cluster there ({exc})") from None
    return ray, True


def check(plan) -> None:
    if plan.cpus_per_cell <= 0 or plan.gpus_per_cell < 0:
        raise ConfigError(f"--cpus-per-cell {plan.cpus_per_cell} / --gpus-per-cell {plan.gpus_per_cell}: "
                          "a cell needs more than 0 CPUs and at least 0 GPUs")


def run(cells, run_cell, plan, on_result=None, *, copy_back: str = "auto"):
    """Submit every cell, collect outcomes as they finish; returns them in grid order. `copy_back`: "auto" packs
    a run folder back only from a node other than the driver's, "always" from every node (for tests)."""
    ray, started_here = connect(plan.address)
    try:
        driver_node = ray.get_runtime_context().get_node_id()
        task = ray.remote(num_cpus=plan.cpus_per_cell, num_gpus=plan.gpus_per_cell, max_retries=0)(_train_cell)
        threads = max(1, int(plan.cpus_per_cell))
        args = (plan.profile, plan.overrides, plan.out, plan.data, threads)
        pending = {task.remote(run_cell, cell, args, driver_node, copy_back): cell for cell in cells}
        results = []
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            cell = pending.pop(ready[0])
            try:
                outcome, packed = ray.get(ready[0])
            except Exception as exc:  # the task died (node lost, out of memory): record it, carry on
                outcome, packed = Outcome(cell, f"failed: ray task: {type(exc).__name__}: {exc}", "", 0.0), None
            if packed is not None:
                unpack_run(packed, Path(plan.out))
            results.append(outcome)
            if on_result:
                on_result(outcome)
        return in_grid_order(results, cells)
    finally:
        if started_here:
            ray.shutdown()


def _train_cell(run_cell, cell, args, driver_node, copy_back):
    """Runs on a Ray worker: train the cell, and pack its folder if the driver cannot see this node's disk."""
    import ray

    outcome = run_cell(cell, *args)
    remote = ray.get_runtime_context().get_node_id() != driver_node
    pack = copy_back == "always" or (copy_back == "auto" and remote)
    return outcome, pack_run(Path(outcome.run_dir)) if pack and Path(outcome.run_dir).is_dir() else None


def pack_run(run_dir: Path) -> bytes:
    """A run folder as tar.gz bytes (without its lock file)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(run_dir, arcname=run_dir.name, filter=lambda info: None if info.name.endswith("/.lock") else info)
    return buffer.getvalue()


def unpack_run(packed: bytes, out: Path) -> Path:
    """Replace out/<run-id> with the packed folder; the swap is two renames, so a reader sees old or new."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=out))
    try:
        with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
            tar.extractall(staging, filter="data")  # refuses absolute paths and '..'
        (name,) = [p.name for p in staging.iterdir()]
        target, old = out / name, out / f".replaced-{name}"
        if target.exists():
            target.rename(old)
        (staging / name).rename(target)
        shutil.rmtree(old, ignore_errors=True)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)
