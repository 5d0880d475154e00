"""Does a conclusion at one budget hold at another? The change of each effect, over the seeds both budgets have.

Cheap benchmarks are useful only where their conclusions predict the expensive ones. Given two results folders
trained at two budgets (e.g. `bench` and `long`) this compares like with like: per variant and headline metric,
only the seeds on which the variant and the baseline were trained at both budgets (the others are named as
dropped). Over those matched seeds it gives

- the effect at each budget: the paired difference variant - baseline (mean, 95% CI, paired t p);
- the change of the effect: per seed, (effect at B) - (effect at A), its mean, 95% CI and one-sample t p: the
  test of "does the effect change with budget?" itself, Holm-adjusted over every row of the table;
- the sign agreement of the two effects (their means, and seed by seed);
- an equivalence verdict when the user sets a margin m for the metric: two one-sided tests (TOST) that the change
  lies within (-m, m), Holm-adjusted over the rows that have a margin;
- per metric, the rank agreement of the two budgets across variants: Kendall's tau of the variants' means, with a
  bootstrap over the seeds every variant has at both budgets.

Verdicts say what was shown: "changed" (the change test rejects), "held within ±m" (equivalence shown),
"undetermined: these seeds detect changes of X or more" (neither: X is the change the matched seeds detect with
80% power at Holm's strictest level), "no test" below two matched seeds.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from harness.errors import ConfigError, RunError
from harness.report import stats
from harness.report.collect import Results, collect, two_results_folders
from harness.report.tables import BASELINE, final_rows, settings_values
from harness.runs import screens

# (shown name, registered output): the headline metrics a transfer study compares.
HEADLINE = [("label fidelity", "label_fidelity"), ("domain FID", "domain_fid"),
            ("domain precision", "domain_precision"), ("Inception FID", "fid"), ("KID", "kid"),
            ("Inception precision", "precision")]
ALPHA = 0.05
BOOTSTRAPS = 2000


def parse_margins(items: list[str]) -> dict[str, float]:
    """['fid=10', 'label_fidelity=0.05'] -> {output: margin}; a one-line ConfigError for anything else."""
    known = {o for _, o in HEADLINE}
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        name = name.strip()
        try:
            margin = float(value)
        except ValueError:
            margin = math.nan
        if name not in known or not (margin > 0 and math.isfinite(margin)):
            raise ConfigError(f"--margin {item!r}: expected METRIC=POSITIVE_NUMBER with METRIC one of "
                              f"{', '.join(sorted(known))}")
        out[name] = margin
    return out


def per_seed(results: Results, output: str) -> tuple[dict[tuple[str, int], float], str]:
    """(variant, seed) -> class-mean value of `output` at the run's final evaluation, and the settings used (the
    output's main settings: e.g. k=5 for precision)."""
    values = settings_values(results, output)
    if not values:
        return {}, ""
    rows = final_rows(results, output, values[0])
    rows = rows[rows["class"] == "mean"]
    return {(v, int(s)): float(x) for v, s, x in rows[["variant", "seed", "value"]].itertuples(index=False)}, values[0]


def tost(values: np.ndarray, margin: float) -> float:
    """p of two one-sided t-tests that the mean of `values` lies inside (-margin, margin) (the larger one-sided p)."""
    n = len(values)
    if n < 2 or not margin > 0:
        return math.nan
    mean, se = float(values.mean()), float(values.std(ddof=1)) / math.sqrt(n)
    if se == 0:
        return 0.0 if abs(mean) < margin else 1.0
    lower = sps.t.sf((mean + margin) / se, n - 1)  # H0: mean <= -margin
    upper = sps.t.cdf((mean - margin) / se, n - 1)  # H0: mean >= +margin
    return float(max(lower, upper))


def one_sample(values: np.ndarray) -> tuple[float, float, float]:
    """(mean, 95% half-width, two-sided t p against 0); NaN where fewer than two values."""
    mean, half, n = stats.mean_ci(values)
    if n < 2:
        return mean, math.nan, math.nan
    if np.allclose(values, values[0]):
        return mean, half, (0.0 if values[0] != 0 else 1.0)
    return mean, half, float(sps.ttest_1samp(values, 0.0).pvalue)


def transfer(first: Path, second: Path, *, labels: tuple[str, str] = ("bench", "long"),
             margins: dict[str, float] | None = None, baseline: str = BASELINE,
             use_screens: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, ranks): one row per (variant, metric) the two folders both compare with the baseline; one rank row
    per metric. A seed recorded as screening in either folder (harness.runs.screens) is left out unless
    `use_screens` is False: it chose a variant or budget at one budget, so its effect there is biased towards
    the choice and so is its change."""
    margins = margins or {}
    a, b = labels
    folder_a, folder_b = two_results_folders(first, second)
    runs_a, runs_b = collect(folder_a), collect(folder_b)
    screened = (screens.screened_seeds(screens.read(folder_a) + screens.read(folder_b)) if use_screens
                else set())
    for folder, res in ((first, runs_a), (second, runs_b)):
        if res.runs.empty:
            raise RunError(f"{folder}: no runs (looked in it and in its runs/ folder)")
        if baseline not in set(res.runs["variant"]):
            raise RunError(f"{folder}: no {baseline} runs to compare the variants with")
    rows, ranks = [], []
    for name, output in HEADLINE:
        (va, sa), (vb, sb) = per_seed(runs_a, output), per_seed(runs_b, output)
        if not va or not vb:
            continue
        if sa != sb:
            raise RunError(f"{output}: evaluated with {sa or 'no settings'} at {a} but {sb or 'no settings'} at {b}")
        variants = sorted({v for v, _ in va} & {v for v, _ in vb})
        kept_a, kept_b = ({k: x for k, x in v.items() if k[1] not in screened} for v in (va, vb))
        for variant in (v for v in variants if v != baseline):
            left_out = (_paired(va, variant, baseline) | _paired(vb, variant, baseline)) & set(screened)
            rows.append(_row(variant, name, output, kept_a, kept_b, baseline, labels, margins.get(output), left_out))
        ranks.append(_ranks(name, variants, kept_a, kept_b))
    table = pd.DataFrame(rows)
    if table.empty:
        raise RunError(f"{first} and {second}: no variant is compared with {baseline} on a headline metric in both")
    _adjust_and_judge(table)
    return table, pd.DataFrame(ranks)


def _paired(values: dict, variant: str, baseline: str) -> set[int]:
    """The seeds at which both `variant` and `baseline` have a value."""
    return {s for v, s in values if v == variant and (baseline, s) in values}


def _row(variant, name, output, va, vb, baseline, labels, margin, left_out=frozenset()) -> dict:
    """One variant's effect at both budgets and its change, over the seeds both budgets pair; `va`, `vb` hold
    the seeds that testify, `left_out` the screened ones taken out of them (named in the dropped column)."""
    a, b = labels
    seeds_a, seeds_b = _paired(va, variant, baseline), _paired(vb, variant, baseline)
    matched = sorted(seeds_a & seeds_b)
    da = np.array([va[variant, s] - va[baseline, s] for s in matched])
    db = np.array([vb[variant, s] - vb[baseline, s] for s in matched])
    change = db - da
    row = {"variant": variant, "metric": name, "output": output, "matched seeds": ",".join(map(str, matched)),
           "n": len(matched), "dropped": ", ".join(
               [f"s{s} (only {a})" for s in sorted(seeds_a - seeds_b)] + [f"s{s} (only {b})"
                                                                          for s in sorted(seeds_b - seeds_a)]
               + [f"s{s} (screened)" for s in sorted(left_out)])}
    for label, d in ((a, da), (b, db)):
        mean, half, p = one_sample(d)
        row.update({f"effect {label}": mean, f"ci95 {label}": half, f"p {label}": p})
    mean, half, p = one_sample(change)
    row.update({"change": mean, "change ci95": half, "change p": p,
                "change sd": float(change.std(ddof=1)) if len(change) >= 2 else math.nan,
                "same sign": bool(np.sign(row[f"effect {a}"]) == np.sign(row[f"effect {b}"])) if len(matched) else None,
                "seeds same sign": f"{int((np.sign(da) == np.sign(db)).sum())}/{len(matched)}",
                "margin": margin if margin is not None else math.nan,
                "TOST p": tost(change, margin) if margin is not None else math.nan})
    return row


def _adjust_and_judge(table: pd.DataFrame) -> None:
    """Holm over the table's change tests (and, separately, over its equivalence tests), then a verdict per row."""
    table["change p (Holm)"] = stats.holm(table["change p"].tolist())
    table["TOST p (Holm)"] = stats.holm(table["TOST p"].tolist())
    tested = max(int(table["change p"].notna().sum()), 1)
    table["detectable change (80% power)"] = [stats.detectable_difference(n, sd, ALPHA / tested)
                                              for n, sd in zip(table["n"], table["change sd"])]
    table["verdict"] = [_verdict(r) for _, r in table.iterrows()]


def _verdict(r) -> str:
    if r["n"] < 2 or pd.isna(r["change p"]):
        return f"no test: {r['n']} matched seed{'s' * (r['n'] != 1)}"
    if r["change p (Holm)"] < ALPHA:
        return "changed"
    if r["TOST p (Holm)"] < ALPHA:
        return f"held within ±{r['margin']:g}"
    detect = r["detectable change (80% power)"]
    return f"undetermined: these seeds detect changes of {detect:.3g} or more" if np.isfinite(detect) else \
        "undetermined"


def _ranks(name: str, variants: list[str], va: dict, vb: dict, bootstraps: int = BOOTSTRAPS) -> dict:
    """Kendall's tau between the two budgets' orderings of the variants (means over the seeds every variant has at
    both budgets), with a 95% percentile interval from resampling those seeds."""
    seeds = sorted(set.intersection(*({s for v2, s in va if v2 == v} & {s for v2, s in vb if v2 == v}
                                      for v in variants))) if variants else []
    out = {"metric": name, "variants": len(variants), "seeds": ",".join(map(str, seeds)), "kendall tau": math.nan,
           "tau ci95 low": math.nan, "tau ci95 high": math.nan, "bootstraps": 0}
    if len(variants) < 3 or len(seeds) < 2:
        return out
    xa = np.array([[va[v, s] for s in seeds] for v in variants])
    xb = np.array([[vb[v, s] for s in seeds] for v in variants])
    out["kendall tau"] = float(sps.kendalltau(xa.mean(1), xb.mean(1)).statistic)
    rng = np.random.default_rng(0)
    taus = []
    for _ in range(bootstraps):
        pick = rng.integers(0, len(seeds), len(seeds))
        tau = sps.kendalltau(xa[:, pick].mean(1), xb[:, pick].mean(1)).statistic
        if np.isfinite(tau):
            taus.append(tau)
    if taus:
        out.update({"tau ci95 low": float(np.percentile(taus, 2.5)), "tau ci95 high": float(np.percentile(taus, 97.5)),
                    "bootstraps": len(taus)})
    return out


def markdown(table: pd.DataFrame, ranks: pd.DataFrame, labels: tuple[str, str] = ("bench", "long")) -> str:
    """The tables as Markdown: each budget's effect ± CI (p), the change ± CI (Holm p), sign, verdict; then ranks."""
    a, b = labels

    def effect(r, lab):
        if pd.isna(r[f"ci95 {lab}"]):
            return f"{r[f'effect {lab}']:+.3g}"
        return f"{r[f'effect {lab}']:+.3g} ± {r[f'ci95 {lab}']:.2g} (p = {r[f'p {lab}']:.2g})"

    def change(r):
        if pd.isna(r["change ci95"]):
            return f"{r['change']:+.3g}"
        return f"{r['change']:+.3g} ± {r['change ci95']:.2g} (Holm p = {r['change p (Holm)']:.2g})"

    lines = [f"| variant | metric | seeds | {a} | {b} | change ({b} − {a}) | same sign | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['metric']} | {r['matched seeds']} | {effect(r, a)} | {effect(r, b)} | "
              f"{change(r)} | {'yes' if r['same sign'] else 'no'} ({r['seeds same sign']}) | {r['verdict']} |"
              for _, r in table.iterrows()]
    dropped = table.loc[table["dropped"] != "", ["variant", "metric", "dropped"]]
    text = "\n".join(lines) + "\n\n" + summary(table, labels) + "\n"
    if len(dropped):
        text += ("\nSeeds dropped (the other budget lacks them, or they screened: screens.json): "
                 + "; ".join(sorted({f"{r.variant}: {r.dropped}" for r in dropped.itertuples()})) + ".\n")
    if not ranks.empty:
        text += ("\n| metric | variants | seeds | Kendall's tau | 95% interval (bootstrap over seeds) |\n"
                 "|---|---|---|---|---|\n")
        text += "\n".join(f"| {r['metric']} | {r['variants']} | {r['seeds']} | {r['kendall tau']:.2f} | "
                          + (f"{r['tau ci95 low']:.2f} to {r['tau ci95 high']:.2f}" if r["bootstraps"] else "")
                          + " |" for _, r in ranks.iterrows()) + "\n"
    return text


def summary(table: pd.DataFrame, labels: tuple[str, str] = ("bench", "long")) -> str:
    """One sentence: how many effects changed, held within their margins, or stayed undetermined."""
    counts = table["verdict"].map(lambda v: v.split(":")[0].split(" within")[0]).value_counts()
    parts = ", ".join(f"{n} {v}" for v, n in counts.items())
    return (f"{len(table)} effects compared over matched seeds ({labels[0]} against {labels[1]}): {parts}. "
            f"Change tests Holm-adjusted over all {int(table['change p'].notna().sum())} rows.")
