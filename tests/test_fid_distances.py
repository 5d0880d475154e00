"""FID, KID and the sample-size curve, checked against closed forms and each other."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from harness.evaluate.fid import distances


def test_fid_of_gaussians_matches_the_closed_form():
    mu1, mu2 = np.zeros(3), np.ones(3)
    s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 1.0])
    # |mu1-mu2|^2 + tr(s1) + tr(s2) - 2 tr sqrt(s1 s2) = 3 + 14 + 6 - 2 (2 + 2 + 3)
    for method in ("eigh", "sqrtm"):
        value, used = distances.frechet_distance(mu1, s1, mu2, s2, method=method)
        assert value == pytest.approx(9.0, abs=1e-9) and used == method


def test_eigh_and_sqrtm_agree_on_rank_deficient_covariances():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((100, 256))  # N < d, like 500 images vs 2048 features
    b = rng.standard_normal((100, 256)) * 1.3 + 0.2
    eigh = distances.frechet_distance(*distances.mean_cov(a), *distances.mean_cov(b), method="eigh")[0]
    sqrtm = distances.frechet_distance(*distances.mean_cov(a), *distances.mean_cov(b), method="sqrtm")[0]
    assert eigh == pytest.approx(sqrtm, rel=1e-6)


def test_broken_sqrtm_falls_back_and_says_so(monkeypatch, caplog):
    """pytorch-fid issue 103: a scipy release made sqrtm return garbage."""
    import scipy.linalg

    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda m, *a, **k: np.full_like(m, np.nan))
    with caplog.at_level(logging.WARNING, logger="harness"):
        value, used = distances.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), 4 * np.eye(2),
                                                 method="sqrtm")
    assert used == "eigh" and value == pytest.approx(2.0)  # tr(I) + tr(4I) - 2 tr(2I)
    assert "used the eigh form instead" in caplog.text
    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda m, *a, **k: m + 1e-2j * np.ones_like(m))
    assert distances.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), 4 * np.eye(2), method="sqrtm")[1] == "eigh"


def test_identical_sets_have_zero_fid_and_kid_near_zero():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((400, 32))
    assert distances.fid(a, a) == pytest.approx(0.0, abs=1e-8)
    same, _ = distances.kid(a[:200], a[200:], subsets=20, subset_size=100)
    shifted, std = distances.kid(a[:200], a[200:] + 0.5, subsets=20, subset_size=100)
    assert abs(same) < 3 * std + 1e-3 < shifted


def test_kid_is_unbiased_where_fid_is_not():
    """Between samples of one distribution, FID grows as N shrinks; KID's mean stays near 0."""
    rng = np.random.default_rng(2)
    pool = rng.standard_normal((4000, 64))
    fid_small = distances.fid(pool[:50], pool[50:100])
    fid_large = distances.fid(pool[:2000], pool[2000:])
    assert fid_small > 5 * fid_large
    draws = [distances.kid(pool[i:i + 50], pool[i + 50:i + 100], subsets=1, subset_size=50)[0]
             for i in range(0, 4000, 100)]
    sem = np.std(draws) / np.sqrt(len(draws))
    assert abs(np.mean(draws)) < 3 * sem
    shifted = distances.kid(pool[:50], pool[50:100] + 0.3, subsets=1, subset_size=50)[0]
    assert shifted > np.mean(draws) + 10 * sem


def test_sample_size_curve_extrapolates_towards_the_large_n_value():
    rng = np.random.default_rng(3)
    real = rng.standard_normal((2400, 32))
    fake = rng.standard_normal((2400, 32)) * 1.1 + 0.05
    curve = distances.fid_sample_size_curve(real, fake, [100, 250, 500, 1000, 2400], bootstraps=3, seed=0)
    values = [v for _, v, _ in curve["points"]]
    assert [n for n, _, _ in curve["points"]] == [100, 250, 500, 1000, 2400]
    assert values == sorted(values, reverse=True)  # the bias shrinks with N
    assert curve["fid_inf"] < values[-1]
    assert abs(curve["fid_inf"] - distances.fid(real, fake)) < abs(values[0] - distances.fid(real, fake))
    floor = dict(curve["floor"])
    assert set(floor) == {100, 250, 500, 1000}  # 2 x 2400 > 2400 reals: no floor at full size
    assert floor[100] > floor[1000] > 0


@pytest.mark.parametrize("n_a,n_b", [(2, 2), (7, 40), (300, 300), (500, 2100)])
def test_fid_through_the_samples_equals_the_covariance_form(n_a, n_b):
    """Below 2048 samples fid() takes tr sqrt(S_a S_b) from the singular values of X_a X_b' (an n x n problem);
    it must be the number the 2048 x 2048 eigendecomposition gives, up to rounding, rank-deficient or not."""
    rng = np.random.default_rng(n_a)
    a = rng.standard_normal((n_a, distances.FEATURE_DIM)) * rng.uniform(0.2, 3, distances.FEATURE_DIM) + 0.5
    b = rng.standard_normal((n_b, distances.FEATURE_DIM)) ** 2
    covariance_form = distances.frechet_distance(*distances.mean_cov(a), *distances.mean_cov(b))[0]
    assert distances._fid_from_samples(a, b) == pytest.approx(covariance_form, rel=1e-6)
    assert distances.fid(a, b) == pytest.approx(covariance_form, rel=1e-6)
    assert distances.fid(a, a) == pytest.approx(0.0, abs=1e-6 * covariance_form)


@pytest.mark.parametrize("n", [40, 300])  # fewer samples than features (the per-class case) and more
def test_fid_terms_sum_to_fid_and_say_which_part_moved(n):
    """The mean and covariance terms sum to FID on either path; a shifted copy moves only the mean term (by the
    shift's squared length), a copy shrunk towards its mean (mode dropping in miniature) only the covariance
    term, and its spread is the shrink factor squared."""
    rng = np.random.default_rng(3)
    real = rng.standard_normal((n, 64)) * np.linspace(0.5, 2.0, 64)
    other = rng.standard_normal((n, 64)) * 1.2 + 0.3
    terms = distances.fid_terms(real, other)
    assert terms["mean"] + terms["covariance"] == pytest.approx(distances.fid(real, other), rel=1e-9)
    shifted = distances.fid_terms(real, real + 0.5)
    assert shifted["mean"] == pytest.approx(64 * 0.25) and shifted["covariance"] == pytest.approx(0, abs=1e-6)
    shrunk = distances.fid_terms(real, real.mean(axis=0) + 0.5 * (real - real.mean(axis=0)))
    assert shrunk["mean"] == pytest.approx(0, abs=1e-9) and shrunk["covariance"] > 1
    assert shrunk["trace_b"] / shrunk["trace_a"] == pytest.approx(0.25)


def test_fid_terms_refuse_sets_they_cannot_split():
    with pytest.raises(ValueError, match="one width"):
        distances.fid_terms(np.zeros((5, 4)), np.zeros((5, 3)))
