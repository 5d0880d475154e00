"""Executors: where a sweep's cells train. One protocol, one module each.

An executor module has two functions:
- `check(plan)`: refuse options it cannot honour (one line, ConfigError), before anything is trained;
- `run(cells, run_cell, plan, on_result=None) -> list[Outcome]`: train every cell by calling
  `run_cell(cell, plan.profile, plan.overrides, plan.out, plan.data, threads)` somewhere (local processes, Ray
  tasks), call `on_result` with each outcome as it finishes, and return the outcomes in grid order.

`run_cell` is the sweep's own, handed in, so an executor never imports the sweep that imports it; the cells and
outcomes live here for the same reason. Executors are registered by name in EXECUTORS and imported on use (Ray
is an optional dependency).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from harness.errors import ConfigError

EXECUTORS = {"local": "harness.runs.executors.local", "ray": "harness.runs.executors.ray_cluster"}


@dataclass(frozen=True)
class Cell:
    variant: str
    seed: int


@dataclass
class Outcome:
    cell: Cell
    status: str  # done | skipped | busy | failed: why | diverged: why
    run_dir: str
    seconds: float


@dataclass(frozen=True)
class Plan:
    """What every cell of one sweep shares, and each executor's own options."""

    profile: str
    out: str
    overrides: dict = field(default_factory=dict)
    data: Any = None
    jobs: int | None = None  # local: cells trained at once (default: one per core)
    address: str | None = None  # ray: the cluster to join (None: start a local Ray)
    cpus_per_cell: float = 1  # ray
    gpus_per_cell: float = 0  # ray


def get(name: str):
    """The executor module registered as `name`."""
    if name not in EXECUTORS:
        raise ConfigError(f"--executor {name!r}: choose {' or '.join(EXECUTORS)}")
    return importlib.import_module(EXECUTORS[name])


def in_grid_order(results: list[Outcome], cells: list[Cell]) -> list[Outcome]:
    order = {c: i for i, c in enumerate(cells)}
    return sorted(results, key=lambda o: order[o.cell])
