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

import time
from pathlib import Path

from harness.errors import ConfigError, HarnessError, RunDiverged, RunLocked
from harness.models import registry
from harness.runs import executors, runner
from harness.runs.executors import Cell, Outcome, Plan
from harness.runs.rundir import RunDir


def expand(variant_patterns: str, seeds: str) -> list[Cell]:
    """'paper_dcgan,*norm*' x '0,1' -> cells seed by seed, variants in pattern order. A variant matched twice or
    a seed listed twice is one cell (one run folder is one run), never two cells that race for it.

    Seed-major: a sweep stopped part-way (they may span sessions) has every variant at its first seeds, so
    the paired-by-seed comparisons are possible from the first finished seed on."""
    names: list[str] = []
    for pattern in [p.strip() for p in variant_patterns.split(",") if p.strip()]:
        matched = registry.list_variants(pattern)
        if not matched:
            registry.get_factory(pattern)  # raises with close matches
        names += [n for n in matched if n not in names]
    try:
        seed_list = list(dict.fromkeys(int(s) for s in seeds.split(",") if s.strip()))
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


def sweep(cells: list[Cell], *, profile: str, overrides: dict | None = None, out=None, data=None,
          jobs: int | None = None, executor: str = "local", address: str | None = None, cpus_per_cell: float = 1,
          gpus_per_cell: float = 0, on_result=None) -> list[Outcome]:
    """Train every cell with the executor named (harness.runs.executors), after checking every cell's configuration
    and the executor's options, so that a bad one fails before anything is trained."""
    from harness import paths

    plan = Plan(profile=profile, overrides=dict(overrides or {}),
                out=str(paths.check_output_folder(out or paths.results_dir()).resolve()), data=data, jobs=jobs,
                address=address, cpus_per_cell=cpus_per_cell, gpus_per_cell=gpus_per_cell)
    for cell in cells:
        runner.resolve(cell.variant, profile=profile, seed=cell.seed, overrides=plan.overrides)  # validates
    chosen = executors.get(executor)
    chosen.check(plan)
    return chosen.run(cells, run_cell, plan, on_result)
