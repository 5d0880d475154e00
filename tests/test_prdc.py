"""Precision, recall, density, coverage: direction, identity, exactness of the blocked computation."""

from __future__ import annotations

import numpy as np
import pytest

from harness.evaluate.fid import prdc


def _real(n=400, dim=16, seed=0):
    return np.random.default_rng(seed).standard_normal((n, dim))


def test_fakes_equal_to_the_reals_score_one():
    real = _real()
    # Strict "<" against a radius that excludes the point itself: every fake equal to a real lies inside
    # that real's ball (distance 0 < radius) and is found in its own k-NN ball.
    scores = prdc.prdc(real, real.copy(), k=5)
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0 and scores["coverage"] == 1.0
    assert scores["density"] == pytest.approx(1.0, abs=0.1)


def test_mode_collapse_has_high_precision_and_no_recall():
    """torch-fidelity #58 shipped precision and recall swapped; a collapsed generator pins the direction."""
    real = _real()
    rng = np.random.default_rng(1)
    collapsed = real[0] + 1e-3 * rng.standard_normal((400, real.shape[1]))  # every fake near one real point
    scores = prdc.prdc(real, collapsed, k=5)
    assert scores["precision"] > 0.95
    assert scores["recall"] < 0.05
    assert scores["coverage"] < 0.05


def test_fakes_off_the_data_have_no_precision():
    real = _real()
    far = _real(seed=2) + 100.0
    scores = prdc.prdc(real, far, k=5)
    assert scores == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


@pytest.mark.parametrize("block", [1, 7, 64, 10_000])
def test_blocked_computation_equals_the_full_matrix(block):
    real, fake = _real(300, seed=3), _real(250, seed=4) * 1.2
    k = 3
    d_rr, d_ff, d_rf = prdc.distances(real, real), prdc.distances(fake, fake), prdc.distances(real, fake)
    np.fill_diagonal(d_rr, np.inf)
    np.fill_diagonal(d_ff, np.inf)
    r_real = np.sort(d_rr, axis=1)[:, k - 1]
    r_fake = np.sort(d_ff, axis=1)[:, k - 1]
    expected = {"precision": (d_rf < r_real[:, None]).any(axis=0).mean(),
                "recall": (d_rf < r_fake[None, :]).any(axis=1).mean(),
                "density": (d_rf < r_real[:, None]).sum(axis=0).mean() / k,
                "coverage": (d_rf.min(axis=1) < r_real).mean()}
    np.testing.assert_allclose(prdc.knn_radii(real, k, block=block), r_real, rtol=1e-12)
    got = prdc.prdc(real, fake, k=k, block=block)
    assert got == pytest.approx(expected, abs=0)


def test_k_needs_more_samples_than_k():
    with pytest.raises(ValueError, match="k=5 needs at least k \\+ 1 = 6 samples per set, got 5"):
        prdc.knn_radii(_real(5), 5)
