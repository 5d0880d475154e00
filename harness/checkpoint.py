"""Saving and restoring the exact training state as plain arrays.

A checkpoint holds every variable that influences the next step: both
networks' weights (batch-norm moving statistics included), both Adam
optimizers' moments and iteration counters, and the epoch/step counters.
The random streams need no state: data order and noise are derived
statelessly from (seed, epoch) and (seed, step). So a run resumed from the
checkpoint of epoch k continues bit for bit as if it had never stopped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness import atomicio
from harness.errors import RunError


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


def load(path: Path, groups: dict[str, list]) -> dict[str, int]:
    """Assign saved values to `groups`' variables; returns the counters."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            data = {k: saved[k] for k in saved.files}
    except (OSError, ValueError) as exc:
        raise RunError(f"{path}: unreadable checkpoint ({exc})") from None
    for group, variables in groups.items():
        stored = sorted(k for k in data if k.startswith(group + "/"))
        if len(stored) != len(variables):
            raise RunError(f"{path}: {group} has {len(stored)} arrays, the model has {len(variables)} variables")
        for key, variable in zip(stored, variables):
            if tuple(data[key].shape) != tuple(variable.shape):
                raise RunError(f"{path}: {key} has shape {data[key].shape}, expected {tuple(variable.shape)}")
            variable.assign(data[key])
    return {k.split("/", 1)[1]: int(v) for k, v in data.items() if k.startswith("counter/")}
