"""Precision, recall, density and coverage from k-nearest-neighbour balls in a feature space.

- precision (Kynkaanniemi et al. 2019): the share of generated samples inside
  the real manifold, i.e. within the k-NN radius of at least one real sample;
- recall (the same paper): the share of real samples inside the generated
  manifold (within the k-NN radius of some generated sample);
- density (Naeem et al. 2020): how many real k-NN balls contain each generated
  sample, divided by k and averaged (1 for a generator that matches the data;
  it rewards samples in dense real regions and is robust to real outliers);
- coverage (the same paper): the share of real samples whose k-NN ball holds
  at least one generated sample.

The first set is always the real one and the second the generated one:
precision is about FAKE inside REAL. torch-fidelity once shipped precision
and recall swapped (its issue 58); the tests here pin the direction with a
mode-collapsed generator (high precision, recall near 0, low coverage).

Exact: radii and ball memberships come from exact pairwise Euclidean
distances, computed in float64 from ||a||^2 + ||b||^2 - 2 a.b in blocks of
rows, so a 27,000 x 27,000 matrix never sits in memory at once (one block of
`block` rows x the other set). Comparisons are strict (`<`), as in Naeem et
al.'s `prdc` package. A sample's own zero distance is excluded from its
radius: the k-th nearest *other* sample.
"""

from __future__ import annotations

import numpy as np

METRICS = ("precision", "recall", "density", "coverage")
BLOCK = 2048


def _squared_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact Euclidean distances between the rows of a and b (float64), for small sets and tests."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    sq = _squared_norms(a)[:, None] + _squared_norms(b)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(sq, 0.0, None))


def _blocks(a: np.ndarray, b: np.ndarray, block: int):
    """(start, distances of rows a[start:start+block] to every row of b)."""
    b_sq = _squared_norms(b)
    for start in range(0, len(a), block):
        rows = a[start:start + block]
        sq = _squared_norms(rows)[:, None] + b_sq[None, :] - 2.0 * rows @ b.T
        yield start, np.sqrt(np.clip(sq, 0.0, None))


def knn_radii(x: np.ndarray, k: int, *, block: int = BLOCK) -> np.ndarray:
    """Distance from each row of x to its k-th nearest other row."""
    x = np.asarray(x, np.float64)
    if not 1 <= k < len(x):
        raise ValueError(f"k={k} needs at least k + 1 = {k + 1} samples per set, got {len(x)}")
    radii = np.empty(len(x))
    for start, d in _blocks(x, x, block):
        d[np.arange(len(d)), start + np.arange(len(d))] = -np.inf  # exclude each sample's own distance
        radii[start:start + len(d)] = np.partition(d, k, axis=1)[:, k]
    return radii


def prdc(real: np.ndarray, fake: np.ndarray, *, k: int = 5, block: int = BLOCK) -> dict[str, float]:
    """{"precision", "recall", "density", "coverage"} of the generated set `fake` against the real set `real`."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    real_radii, fake_radii = knn_radii(real, k, block=block), knn_radii(fake, k, block=block)
    inside_real_balls = np.zeros(len(fake))  # per fake: how many real balls contain it
    for start, d in _blocks(fake, real, block):  # d: fakes x reals
        inside_real_balls[start:start + len(d)] = (d < real_radii[None, :]).sum(axis=1)
    real_in_fake_manifold = np.zeros(len(real), bool)
    covered = np.zeros(len(real), bool)
    for start, d in _blocks(real, fake, block):  # d: reals x fakes
        rows = slice(start, start + len(d))
        real_in_fake_manifold[rows] = (d < fake_radii[None, :]).any(axis=1)
        covered[rows] = d.min(axis=1) < real_radii[rows]
    return {"precision": float((inside_real_balls > 0).mean()),
            "recall": float(real_in_fake_manifold.mean()),
            "density": float(inside_real_balls.mean() / k),
            "coverage": float(covered.mean())}
