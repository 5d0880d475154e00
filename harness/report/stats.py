"""Statistics across seeds: confidence intervals, paired tests, Holm's correction.

Seeds are the unit of replication: a variant's value for a class is one
number per seed, and its uncertainty is the spread over seeds (Student's t,
95%). Comparisons with the baseline pair runs by seed, because a seed fixes
the data order, the evaluation latents and the real sample for every variant.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def mean_ci(values) -> tuple[float, float, int]:
    """(mean, 95% half-width, n); the half-width is NaN for a single seed."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if len(v) == 0:
        return math.nan, math.nan, 0
    if len(v) == 1:
        return float(v[0]), math.nan, 1
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean()), float(half), len(v)


def paired_test(baseline: dict[int, float], other: dict[int, float]) -> dict:
    """Paired t-test over the seeds both have: difference (other - baseline), its CI, p-value."""
    seeds = sorted(set(baseline) & set(other))
    diff = np.array([other[s] - baseline[s] for s in seeds], dtype=float)
    out = {"seeds": seeds, "n": len(seeds), "difference": math.nan, "ci": math.nan, "p": math.nan,
           "test": "paired t-test"}
    if len(seeds) == 0:
        return out
    out["difference"], out["ci"], _ = mean_ci(diff)
    if len(seeds) >= 2:
        if np.allclose(diff, diff[0]):  # no spread: the t statistic is undefined
            out["p"] = 0.0 if diff[0] != 0 else 1.0
        else:
            out["p"] = float(stats.ttest_rel([other[s] for s in seeds], [baseline[s] for s in seeds]).pvalue)
    return out


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (NaN stays NaN and does not count as a test)."""
    indexed = [(p, i) for i, p in enumerate(p_values) if p is not None and np.isfinite(p)]
    m = len(indexed)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(indexed)):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted
