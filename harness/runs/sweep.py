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
from dataclasses import dataclass
from pathlib import Path

from harness import config
from harness.errors import ConfigError, HarnessError, RunDiverged, RunLocked
from harness.models import registry
from harness.runs import executors, runner
from harness.runs.executors import Cell, Outcome, Plan
from harness.runs.rundir import RunDir, machines


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
    seed_list = config.seed_list(seeds, "--seeds") if seeds.strip() else []
    if not names or not seed_list:
        raise ConfigError("a sweep needs at least one variant and one seed")
    return [Cell(v, s) for s in seed_list for v in names]


@dataclass(frozen=True)
class CellState:
    """Where one cell of a sweep stands, read from its run folder: what the sweep would do with it."""
    cell: Cell
    state: str  # to do | done | running | interrupted | failed | diverged | to extend | refused
    epochs: str  # "trained/planned"
    detail: str
    machines: str
    run_dir: str


STATES = ("to do", "interrupted", "failed", "to extend", "running", "done", "diverged", "refused")


def cell_states(cells: list[Cell], *, profile: str, overrides: dict | None = None, out=None) -> list[CellState]:
    """Each cell's state, from its run folder alone: nothing is trained, and a run's lock is only probed. For a
    sweep that spans days and machines, this says what is finished, what a process is training now (its pid),
    what the next pass will resume and from which epoch, and which cells it would refuse (a folder trained
    with another configuration)."""
    from harness import config, paths

    root = paths.check_output_folder(out or paths.results_dir())
    states = []
    for cell in cells:
        cfg = runner.resolve(cell.variant, profile=profile, seed=cell.seed, overrides=dict(overrides or {}))
        rd = RunDir(root / runner.default_run_id(cfg))
        states.append(_state(cell, rd, cfg.train.epochs, config.flatten(cfg)))
    return states


def _state(cell: Cell, rd: RunDir, planned: int, flat_config: dict) -> CellState:
    def state(name: str, trained: int | None, detail: str = "", record: dict | None = None) -> CellState:
        return CellState(cell, name, f"{trained or 0}/{planned}", detail,
                         machines(record) if record else "", str(rd.path))

    if not rd.exists():
        return state("to do", 0)
    try:
        record, status, trained = rd.read_record(), rd.status(), rd.finished_epoch()
    except HarnessError as exc:
        return state("refused", None, str(exc))
    holder = rd.holder()
    if holder is not None:
        return state("running", trained, f"pid {holder}; epochs counted to its last checkpoint", record)
    changes = runner.config_changes(record, flat_config)
    if changes:
        return state("refused", trained, "trained with another configuration: " + "; ".join(changes), record)
    if runner.covers(record, trained, planned):
        return state("done", trained, f"planned {record['config']['train.epochs']} epochs, more than asked; left "
                     "as it is", record)
    if status == "done":
        if trained is not None and trained < planned:
            return state("to extend", trained, f"resumes at epoch {trained + 1}", record)
        return state("done", trained, "", record)
    if status.startswith("diverged"):
        return state("diverged", trained, status, record)
    resumes = f"resumes at epoch {(trained or 0) + 1}"
    if status.startswith("failed"):
        return state("failed", trained, f"{status}; {resumes}", record)
    return state("interrupted", trained, f"{resumes} (no process holds it)", record)


def run_cell(cell: Cell, profile: str, overrides: dict, out: str, data, threads: int | None = None) -> Outcome:
    """Train one cell (resuming it if it was interrupted); never raises for a bad run."""
    if threads:
        _limit_threads(threads)
    started = time.perf_counter()
    rd = RunDir(Path(out) / runner.run_id_of(cell.variant, profile, cell.seed))
    try:
        cfg = runner.resolve(cell.variant, profile=profile, seed=cell.seed, overrides=overrides)
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
    """This job's share of the cores. Its inter-op threads are runner.run's to set (one, for determinism:
    harness.train.devices.one_inter_op_thread), as for any run."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)


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


def until_decided(variant_patterns: str, seeds: str, *, most: int, profile: str, family: tuple[str, ...],
                  baseline: str = "paper_dcgan", overrides: dict | None = None, out=None, alpha: float = 0.05,
                  on_round=None, **sweep_options) -> tuple[list, list[Outcome]]:
    """`harness sweep --until-decided`: rounds of seeds (harness.runs.sequential) until every comparison of the
    family with `baseline` is decided or has `most` seeds; each round is an ordinary, resumable sweep. Returns
    (decisions, every round's outcomes); the decisions are also written to <out>/sequential.csv."""
    import pandas as pd

    from harness import atomicio, paths
    from harness.evaluate import metrics
    from harness.runs import screens, sequential

    overrides = dict(overrides or {})
    names = list(dict.fromkeys(c.variant for c in expand(variant_patterns, "0")))
    if baseline not in names:
        names.insert(0, baseline)
    initial = config.seed_list(seeds, "--seeds")
    if most < max(len(initial), 2):
        raise ConfigError(f"--max-seeds {most}: must be at least 2 and at least the {len(initial)} seeds given")
    cfg = runner.resolve(baseline, profile=profile, overrides=overrides)
    evaluated = set(metrics.expand(cfg.eval.metrics))
    outputs = metrics.outputs()
    missing = [f for f in family if f not in outputs or outputs[f][0].name not in evaluated]
    if missing:
        raise ConfigError(f"--until-decided: profile {profile} does not evaluate {', '.join(missing)} (its "
                          f"eval.metrics: {cfg.eval.metrics or 'none'}); choose --family from what it evaluates")
    folder = Path(paths.check_output_folder(out or paths.results_dir()))
    screened = screens.screened_seeds(screens.read(folder))
    if screened & set(initial):
        raise ConfigError(f"--seeds {seeds}: seed {min(screened & set(initial))} screened ({folder / screens.FILE}), "
                          "and a seed that chose cannot also confirm; start from seeds no screen used")
    outcomes: list[Outcome] = []

    def run_dir(variant: str, seed: int) -> RunDir:
        return RunDir(folder / runner.run_id_of(variant, profile, seed))

    def train(cells):
        outcomes.extend(sweep([Cell(v, s) for v, s in cells], profile=profile, overrides=overrides, out=folder,
                              **sweep_options))

    found = sequential.until_decided(names, baseline, initial, most, family, train, run_dir, alpha=alpha,
                                     on_round=on_round, skip=screened)
    atomicio.write_text(folder / "sequential.csv", pd.DataFrame([d.__dict__ for d in found]).to_csv(index=False))
    return found, outcomes
