"""Saving and restoring the exact training state as plain arrays.

A checkpoint holds every variable that influences the next step: both
networks' weights (batch-norm moving statistics included), both Adam
optimizers' moments and iteration counters, and the epoch/step counters.
The random streams need no state: data order and noise are derived
statelessly from (seed, epoch) and (seed, step). So a run resumed from the
checkpoint of epoch k continues bit for bit as if it had never stopped.

A run keeps its last two checkpoints (`rotate` before each save). A file
that cannot be read, or whose arrays do not fit the model, is refused as a
whole before any variable is touched, and the caller falls back to the one
before it (`load_first_good`): a damaged newest checkpoint costs one epoch,
never the run.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from harness import atomicio
from harness.errors import RunError

log = logging.getLogger("harness")


def _values(variables) -> list[np.ndarray]:
    return [np.asarray(v.numpy()) for v in variables]


def save(path: Path, groups: dict[str, list], **counters: int) -> None:
    arrays = {}
    for group, variables in groups.items():
        for i, value in enumerate(_values(variables)):
            arrays[f"{group}/{i:04d}"] = value
    for key, value in counters.items():
        arrays[f"counter/{key}"] = np.asarray(value, dtype=np.int64)
    atomicio.write_npz(path, **arrays)


def rotate(path: Path, previous: Path) -> None:
    """Keep the current checkpoint as the previous one before a new one is written (one atomic rename)."""
    if path.is_file():
        os.replace(path, previous)


def load(path: Path, groups: dict[str, list]) -> dict[str, int]:
    """Assign saved values to `groups`' variables; returns the counters. Every array is read and checked
    first, so a bad file leaves the variables untouched."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            data = {k: saved[k] for k in saved.files}  # reading checks each array's CRC
    except Exception as exc:  # BadZipFile, EOFError, OSError, ValueError: all mean "unreadable"
        # numpy's own words would advise loading the file "unsafely with allow_pickle": never the remedy here.
        raise RunError(f"{path}: not a readable harness checkpoint ({type(exc).__name__})") from None
    pairs = []
    for group, variables in groups.items():
        stored = sorted(k for k in data if k.startswith(group + "/"))
        if len(stored) != len(variables):
            raise RunError(f"{path}: {group} has {len(stored)} arrays, the model has {len(variables)} variables")
        for key, variable in zip(stored, variables):
            if tuple(data[key].shape) != tuple(variable.shape):
                raise RunError(f"{path}: {key} has shape {data[key].shape}, expected {tuple(variable.shape)}")
            pairs.append((variable, data[key]))
    counters = {k.split("/", 1)[1]: int(v) for k, v in data.items() if k.startswith("counter/")}
    for variable, value in pairs:
        variable.assign(value)
    return counters


def load_first_good(paths: list[Path], groups: dict[str, list],
                    remedy: str = "") -> tuple[Path, dict[str, int]] | None:
    """Load the first of `paths` that exists and is sound, saying in one line why any before it was skipped.
    None if none exists; RunError if some exist and none is usable, ending with `remedy` (what the caller's
    user can do: a resume can start over, a reader must not be told to throw a trained generator away)."""
    problems = []
    for path in paths:
        if not path.is_file():
            continue
        try:
            return path, load(path, groups)
        except RunError as exc:
            problems.append(str(exc))
            log.warning("%s; trying the checkpoint before it", exc)
    if problems:
        raise RunError(f"no usable checkpoint: {'; '.join(problems)}" + (f". {remedy}" if remedy else ""))
    return None
