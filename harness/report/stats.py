"""Statistics across seeds: confidence intervals, paired tests, Holm's correction, power.

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
           "sd": math.nan, "test": "paired t-test"}
    if len(seeds) == 0:
        return out
    out["difference"], out["ci"], _ = mean_ci(diff)
    out["sd"] = float(diff.std(ddof=1)) if len(seeds) >= 2 else math.nan
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


# Power of the paired t-test -------------------------------------------------------------------------------------
# "Not significant" means "no difference" only if the seeds in hand could have detected one. For n pairs whose
# differences have standard deviation sd, the two-sided paired t-test at level alpha rejects with probability
#   power = P(|T| > t_{1-alpha/2, n-1}),  T ~ noncentral t(df = n - 1, nc = delta * sqrt(n) / sd)
# when the true mean difference is delta.
POWER = 0.8


def paired_power(n: int, delta: float, sd: float, alpha: float) -> float:
    """Probability that a two-sided paired t-test over n pairs at level alpha detects a true difference delta."""
    if n < 2 or not (sd > 0) or not np.isfinite(delta):
        return math.nan
    df, nc = n - 1, abs(delta) * math.sqrt(n) / sd
    crit = stats.t.ppf(1 - alpha / 2, df)
    # The far tail as sf(crit) at -nc, not cdf(-crit) at nc: the same number by symmetry, but scipy's nct.cdf
    # returns NaN in parts of that tail (df 2, nc 10).
    return float(stats.nct.sf(crit, df, nc) + stats.nct.sf(crit, df, -nc))


def detectable_difference(n: int, sd: float, alpha: float, power: float = POWER) -> float:
    """The smallest true difference that n pairs detect with probability `power` (NaN below 2 pairs)."""
    from scipy.optimize import brentq

    if n < 2 or not (sd > 0):
        return math.nan
    high = sd
    while paired_power(n, high, sd, alpha) < power:
        high *= 2
    return float(brentq(lambda d: paired_power(n, d, sd, alpha) - power, 0.0, high, xtol=sd * 1e-9))


def pairs_needed(delta: float, sd: float, alpha: float, power: float = POWER, most: int = 10_000) -> float:
    """The fewest pairs (seeds) that detect a true difference delta with probability `power`, if the differences
    keep standard deviation sd; NaN where delta is 0 or unknown, inf beyond `most`."""
    if not (sd > 0) or not np.isfinite(delta) or delta == 0:
        return math.nan
    n = 2
    while paired_power(n, delta, sd, alpha) < power:
        n = n + 1 if n < 64 else int(n * 1.25)
        if n > most:
            return math.inf
    if n > 64:  # the coarse steps overshot: walk back to the smallest that suffices
        while paired_power(n - 1, delta, sd, alpha) >= power:
            n -= 1
    return float(n)
