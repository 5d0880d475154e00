"""The local executor: cells in this process, or in N spawned processes that divide the cores among them.

Measured on 2 cores (README, "Sweeps"), two single-threaded processes train ~40% more images per second than one
process with two threads, so the default is one job per core.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os

from harness.errors import ConfigError
from harness.runs.executors import Outcome, in_grid_order
from harness.train.devices import usable_cores


def default_jobs(cells: int) -> int:
    """One single-threaded job per usable core."""
    return max(1, min(usable_cores(), cells))


def check(plan) -> None:
    if plan.address:
        raise ConfigError("--address is for --executor ray")
    if plan.jobs is not None and plan.jobs < 1:
        raise ConfigError(f"--jobs {plan.jobs}: must be >= 1")


def run(cells, run_cell, plan, on_result=None) -> list[Outcome]:
    jobs = plan.jobs or default_jobs(len(cells))
    results: list[Outcome] = []
    args = (plan.profile, plan.overrides, plan.out, plan.data)
    if jobs == 1:
        for cell in cells:
            results.append(run_cell(cell, *args))
            if on_result:
                on_result(results[-1])
        return results
    threads = max(1, usable_cores() // jobs)
    context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork
    with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_quiet_worker) as pool:
        futures = [pool.submit(run_cell, cell, *args, threads) for cell in cells]
        for future in cf.as_completed(futures):
            results.append(future.result())
            if on_result:
                on_result(results[-1])
    return in_grid_order(results, cells)


def _quiet_worker() -> None:
    """A spawned worker imports TensorFlow as the command did: its start-up banner held back (HARNESS_DEBUG=1
    shows it), so a sweep of N jobs does not print it N times."""
    if not os.environ.get("HARNESS_DEBUG"):
        from harness.train.devices import import_tensorflow_quietly

        import_tensorflow_quietly()
