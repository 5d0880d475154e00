"""`harness sweep`: the grid variant x seed, under identical conditions, idempotently.

Every cell is an ordinary run folder (`<variant>-<profile>-s<seed>`), so:
- a finished cell is skipped, an interrupted one resumes from its checkpoint;
- a failed or diverged cell is recorded and the sweep carries on;
- two sweeps over overlapping grids in one results folder never run a cell
  twice: the run lock turns the second into "busy", and a later pass skips it as done.
Identical conditions come from the runs themselves: for a seed, every variant
sees the same data order, the same evaluation latents and the same real sample.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time
from pathlib import Path

from harness import config, registry, runner
from harness.cells import Cell, Outcome, in_grid_order
from harness.errors import ConfigError, HarnessError, RunDiverged, RunLocked
from harness.rundir import RunDir


def expand(variant_patterns: str, seeds: str) -> list[Cell]:
    """'paper_dcgan,*norm*' x '0,1' -> cells seed by seed, variants in pattern order, each variant once.

    Seed-major: a sweep stopped part-way (they may span sessions) has every variant at its first seeds, so
    the paired-by-seed comparisons are possible from the first finished seed on."""
    names: list[str] = []
    for pattern in [p.strip() for p in variant_patterns.split(",") if p.strip()]:
        matched = registry.list_variants(pattern)
        if not matched:
            registry.get_factory(pattern)  # raises with close matches
        names += [n for n in matched if n not in names]
    try:
        seed_list = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {seeds!r}: expected comma-separated integers, e.g. 0,1,2") from None
    if not names or not seed_list:
        raise ConfigError("a sweep needs at least one variant and one seed")
    return [Cell(v, s) for s in seed_list for v in names]


def run_cell(cell: Cell, profile: str, overrides: dict, out: str, data, threads: int | None = None) -> Outcome:
    """Train one cell (resuming it if it was interrupted); never raises for a bad run."""
    if threads:
        _limit_threads(threads)
    cfg = runner.resolve(cell.variant, profile=profile, seed=cell.seed, overrides=overrides)
    rd = RunDir(Path(out) / runner.default_run_id(cfg))
    started = time.perf_counter()
    try:
        # The runner decides "already finished" (and refuses a changed configuration) under the run lock.
        trained = runner.run(cfg, data=data, out=out, resume=True).trained
        status = "done" if trained else "skipped"
    except RunDiverged as exc:
        status = f"diverged: {exc}"
    except RunLocked:
        status = "busy"  # another sweep is training this cell right now
    except HarnessError as exc:
        status = f"failed: {exc}"
    except Exception as exc:  # a bug in one cell must not stop the grid
        status = f"failed: {type(exc).__name__}: {exc}"
    return Outcome(cell, status, str(rd.path), time.perf_counter() - started)


def _limit_threads(threads: int) -> None:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def default_jobs(cells: int) -> int:
    """One single-threaded job per core, as measured faster on 2 cores (README, "Sweeps")."""
    return max(1, min(os.cpu_count() or 1, cells))


def sweep(cells: list[Cell], *, profile: str, overrides: dict | None = None, out=None, data=None,
          jobs: int | None = None, executor: str = "local", address: str | None = None, cpus_per_cell: float = 1,
          gpus_per_cell: float = 0, on_result=None) -> list[Outcome]:
    from harness import paths

    overrides = dict(overrides or {})
    out = str(paths.check_output_folder(out or paths.results_dir()).resolve())
    for cell in cells:  # fail fast on a bad configuration, before any training
        config.validate(runner.resolve(cell.variant, profile=profile, seed=cell.seed, overrides=overrides))
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor {executor!r}: choose {' or '.join(EXECUTORS)}")
    if executor == "local" and address:
        raise ConfigError("--address is for --executor ray")
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs {jobs}: must be >= 1")
    if executor == "ray":
        from harness import ray_executor

        return ray_executor.sweep(cells, run_cell, profile=profile, overrides=overrides, out=out, data=data,
                                  address=address, cpus_per_cell=cpus_per_cell, gpus_per_cell=gpus_per_cell,
                                  on_result=on_result)
    jobs = jobs or default_jobs(len(cells))
    results: list[Outcome] = []
    if jobs == 1:
        for cell in cells:
            results.append(run_cell(cell, profile, overrides, out, data))
            if on_result:
                on_result(results[-1])
        return results
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(run_cell, cell, profile, overrides, out, data, threads) for cell in cells]
        for future in cf.as_completed(futures):
            results.append(future.result())
            if on_result:
                on_result(results[-1])
    return in_grid_order(results, cells)


EXECUTORS = ("local", "ray")
