"""Seeds on demand: a sweep that adds seeds only where a comparison is still undecided, at a planned error rate.

A fixed design trains every variant on as many seeds as the hardest comparison needs. A group-sequential design
looks after each round of seeds and stops a comparison once it is decided; looking repeatedly at a plain t-test
would inflate the false-positive rate, so each look spends part of the error budget (Lan & DeMets 1983, with
O'Brien & Fleming's spending function: almost nothing at the early looks, nearly the whole alpha at the last).

The plan:
- the family: every (variant, metric) comparison with the baseline over the declared primary metrics; alpha is
  split evenly over it (Bonferroni), so the family-wise error stays at alpha whatever is stopped when;
- looks after n0, n0 + 1, ..., K paired seeds (information fraction n / K);
- at look k a comparison is decided if its paired t-test p falls to the look's nominal level, which spends the
  O'Brien-Fleming share of alpha for paired t-tests at these very seed counts (simulated, not the normal
  approximation, which is too lenient at 3-8 seeds); a comparison that reaches K undecided is "undetermined".
`simulate` measures the family-wise error and the seeds used, and a test holds the error to alpha.

Decisions are recomputed from the run folders at every round, seed by seed in the sweep's order, so a resumed
sweep makes the same decisions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

PATHS = 200_000  # simulated sweeps behind the levels (seeded: the same levels every time)


def spent(t: float, alpha: float) -> float:
    """O'Brien-Fleming-type alpha spending (Lan-DeMets): the two-sided error spent by information fraction t."""
    if t <= 0:
        return 0.0
    return float(2 * (1 - sps.norm.cdf(sps.norm.ppf(1 - alpha / 2) / math.sqrt(min(t, 1.0)))))


def nominal_levels(looks: list[int], alpha: float, paths: int = PATHS) -> list[float]:
    """Two-sided p thresholds of the paired t-test at looks after n_1 < n_2 < ... < n_K paired seeds, so that under
    no difference the chance of first crossing at look k is spent(n_k / n_K) - spent(n_(k-1) / n_K).

    Computed on seeded simulated sweeps of normal paired differences: under no difference the t statistics of the
    looks have a joint law free of the differences' sd, so these levels hold the error at alpha at every n (a
    boundary taken from the normal approximation let a 3-to-8-seed design reject 6% of the time at alpha 5%)."""
    if not looks or any(b <= a for a, b in zip(looks, looks[1:])) or looks[0] < 2:
        raise ValueError(f"looks must be increasing seed counts of at least 2, got {looks}")
    rng = np.random.default_rng(0)
    alive = np.ones(paths, dtype=bool)
    total = np.zeros(paths)
    squares = np.zeros(paths)
    out, before, seen = [], 0.0, 0
    for n in looks:
        draws = rng.standard_normal((paths, n - seen))
        total += draws.sum(axis=1)
        squares += (draws ** 2).sum(axis=1)
        seen = n
        mean = total / n
        sd = np.sqrt(np.maximum(squares - n * mean ** 2, 0) / (n - 1))
        p = 2 * sps.t.sf(np.abs(mean / (sd / math.sqrt(n))), n - 1)
        budget = spent(n / looks[-1], alpha) - before
        before += budget
        crossing = int(round(budget * paths))
        candidates = np.sort(p[alive])
        level = float(candidates[min(crossing, len(candidates)) - 1]) if crossing > 0 and len(candidates) else 0.0
        out.append(level)
        alive &= ~(p <= level)
    return out


def paired_p(differences: np.ndarray) -> float:
    """Two-sided one-sample t p of paired differences (NaN below two; 0 or 1 when they have no spread)."""
    d = np.asarray(differences, dtype=float)
    if len(d) < 2:
        return math.nan
    if np.allclose(d, d[0]):
        return 0.0 if d[0] != 0 else 1.0
    return float(sps.ttest_1samp(d, 0.0).pvalue)


@dataclass
class Decision:
    variant: str
    metric: str
    seeds: int  # paired seeds behind the decision
    difference: float
    p: float
    level: float  # the nominal p threshold at that look
    state: str  # "decided: <direction>" | "continue" | "undetermined at the last look" | "waiting"


def decide(differences: dict[int, float], seed_order: list[int], looks: list[int], levels: list[float]) -> tuple:
    """Walk the looks in order over the seeds (in the sweep's order) that have a paired difference: the first look
    whose p falls below its level decides. Returns (state, n, mean difference, p, level) at the deciding or latest
    look reached; "waiting" before the first look."""
    have = [differences[s] for s in seed_order if s in differences]
    state, last = "waiting", (0, math.nan, math.nan, math.nan)
    for n, level in zip(looks, levels):
        if len(have) < n:
            break
        d = np.array(have[:n])
        p = paired_p(d)
        last = (n, float(d.mean()), p, level)
        if p <= level:
            return ("decided: " + ("higher" if d.mean() > 0 else "lower"), *last)
        state = "continue" if n < looks[-1] else "undetermined at the last look"
    return (state, *last)


def simulate(looks: list[int], alpha: float, effect: float = 0.0, sd: float = 1.0, sweeps: int = 2000,
             comparisons: int = 1, seed: int = 1) -> dict:
    """Simulated sequential sweeps of `comparisons` independent comparisons (paired differences ~ N(effect, sd)):
    the share with any decision (the family-wise error when effect = 0; the power otherwise) and the mean number
    of seeds each comparison used, beside a fixed design's."""
    levels = nominal_levels(looks, alpha / comparisons)
    rng = np.random.default_rng(seed)
    draws = rng.normal(effect, sd, size=(sweeps, comparisons, looks[-1]))
    any_decided = np.zeros(sweeps, dtype=bool)
    used = np.full((sweeps, comparisons), looks[-1])
    decided_at = np.zeros((sweeps, comparisons), dtype=bool)
    for n, level in zip(looks, levels):
        d = draws[:, :, :n]
        sd_hat = d.std(axis=2, ddof=1)
        t = d.mean(axis=2) / (sd_hat / math.sqrt(n))
        p = 2 * sps.t.sf(np.abs(t), n - 1)
        new = (p <= level) & ~decided_at
        used[new] = n
        decided_at |= new
    any_decided = decided_at.any(axis=1)
    rate = float(any_decided.mean())
    return {"decided share": rate, "mc se": math.sqrt(max(rate * (1 - rate), 1e-12) / sweeps),
            "mean seeds": float(used.mean()), "looks": looks, "levels": levels}


def fixed_design_seeds(effect: float, sd: float, alpha: float, power: float) -> int:
    """The paired seeds a single fixed-size t-test needs for `power` at level alpha (two-sided)."""
    n = 2
    while True:
        nc = effect * math.sqrt(n) / sd
        crit = sps.t.ppf(1 - alpha / 2, n - 1)
        if sps.nct.sf(crit, n - 1, nc) + sps.nct.sf(crit, n - 1, -nc) >= power:
            return n
        n += 1


# The sweep's loop -------------------------------------------------------------------------------------------------
# The declared family's default outputs (the report declares the same): label fidelity and domain FID on the
# reference classifier's features, FID and KID on Inception's.
PRIMARY = ("label_fidelity", "domain_fid", "fid", "kid")


def seed_order(initial: list[int], most: int, skip: set[int] = frozenset()) -> list[int]:
    """The sweep's seeds in the order they are added: the ones given, then the next unused integers not in `skip`
    (the seeds that screened), `most` in all."""
    order = list(dict.fromkeys(initial))
    nxt = 0
    while len(order) < most:
        if nxt not in order and nxt not in skip:
            order.append(nxt)
        nxt += 1
    return order[:max(most, len(order))]


def final_means(rd, family: tuple[str, ...]) -> dict[str, float]:
    """A run's class-mean value of each output of `family` at its last evaluated epoch (largest N, no extra
    settings), read from its metrics table once; outputs it has no finite value for are absent."""
    import pandas as pd

    if not rd.exists():
        return {}
    m = rd.metrics()
    out = {}
    for output in family:
        rows = m[(m["metric"] == output) & (m["class"] == "mean") & (m["settings"].fillna("") == "")]
        if rows.empty:
            continue
        rows = rows[rows["epoch"] == rows["epoch"].max()]
        n = pd.to_numeric(rows["n_fake"], errors="coerce").fillna(0)
        value = float(rows.loc[n.idxmax(), "value"])
        if math.isfinite(value):
            out[output] = value
    return out


def decisions(run_dir, variants: list[str], baseline: str, order: list[int], looks: list[int],
              levels: list[float], family: tuple[str, ...]) -> list[Decision]:
    """Every comparison of the family, decided from the run folders as they stand (`run_dir(variant, seed)`)."""
    means = {(v, s): final_means(run_dir(v, s), family) for v in [baseline, *variants] for s in order}
    out = []
    for output in family:
        for variant in variants:
            diffs = {s: means[variant, s][output] - means[baseline, s][output] for s in order
                     if output in means[variant, s] and output in means[baseline, s]}
            state, n, difference, p, level = decide(diffs, order, looks, levels)
            out.append(Decision(variant, output, n, difference, p, level, state))
    return out


def until_decided(variants: list[str], baseline: str, initial: list[int], most: int, family: tuple[str, ...],
                  train, run_dir, alpha: float = 0.05, on_round=None, skip: set[int] = frozenset()) -> list[Decision]:
    """Train rounds of seeds until every comparison of the family is decided or has `most` seeds.

    `train(cells)` trains (or skips, if done) [(variant, seed), ...]; `run_dir(variant, seed)` is that cell's
    RunDir. Round one trains `initial` for every variant; each later round adds the next seed (never one in
    `skip`) for the baseline and the variants with an undecided comparison. Alpha is split over the family
    (Bonferroni)."""
    others = [v for v in variants if v != baseline]
    if not others:
        raise ValueError("--until-decided compares variants with the baseline: name at least one other variant")
    order = seed_order(initial, most, skip)
    looks = list(range(max(len(initial), 2), most + 1))
    levels = nominal_levels(looks, alpha / (len(others) * len(family)))
    active, n = list(others), len(initial)
    while True:
        train([(v, s) for s in order[:n] for v in [baseline] + active])
        found = decisions(run_dir, others, baseline, order[:n], looks, levels, family)
        if on_round is not None:
            on_round(n, found)
        active = [v for v in others if any(d.variant == v and d.state in ("continue", "waiting") for d in found)]
        if not active or n >= most:
            return found
        n += 1
