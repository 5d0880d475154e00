"""A sweep's cells and their outcomes: what the sweep and every executor (local processes, Ray) share.

Kept apart from harness.sweep so that an executor never imports the sweep that imports it.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def in_grid_order(results: list[Outcome], cells: list[Cell]) -> list[Outcome]:
    order = {c: i for i, c in enumerate(cells)}
    return sorted(results, key=lambda o: order[o.cell])
