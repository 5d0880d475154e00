"""The report's tables, as tidy frames (for CSV) and display frames (for Markdown/HTML/terminal).

Every number traces to runs: the per-class tables carry the run ids behind
each row, and the runs table gives each run's folder.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from harness.data import eurosat
from harness.evaluate import metrics
from harness.models.registry import BASELINE  # noqa: F401  (the variant every comparison is against)
from harness.report import stats
from harness.report.collect import Results, label
from harness.runs.sequential import PRIMARY  # noqa: F401  (the family the report declares, the sweep decides)

# The confirmatory family a report's significance is declared over: the PRIMARY outputs x the variants compared with
# the baseline, Holm over all of them at once. Every other comparison is exploratory (Holm over one metric's
# variants).
FAMILY_P = "p (Holm, primary family)"
PAPER_LABEL = "paper (2022), other Inception"
COLUMNS = list(eurosat.CLASSES) + ["mean"]


def group_labels(results: Results) -> dict[str, str]:
    several = results.runs["profile"].nunique() > 1
    return {r.run: label(r.variant, r.profile, several) for r in results.runs.itertuples()}


_DRAW = re.compile(r"(?:^|;)draw=(\d+)")


def draw_of(settings: str) -> int:
    """Which draw of evaluation latents a row is from (eval.draw; 0 = the run's fixed latents)."""
    found = _DRAW.search(settings or "")
    return int(found.group(1)) if found else 0


def scheduled_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Of runs' metric rows, those from each run's own evaluation schedule: on its fixed latents (draw 0) and, per
    run, metric and class, at the N most of its rows were evaluated at. A later `harness eval --n M` (or `--draw D`)
    adds rows at epochs the schedule already evaluated; a curve or a class mean that took them in would mix two
    N's (FID's bias depends on N) or two draws of latents. Rows without an N (training means) are kept."""
    rows = rows[rows["settings"].fillna("").map(draw_of) == 0]
    n = pd.to_numeric(rows["n_fake"], errors="coerce")
    most = n.groupby([rows["run"], rows["metric"], rows["class"].fillna("")]).transform(
        lambda s: s.mode().max() if s.notna().any() else np.nan)
    return rows[most.isna() | (n == most)]


def without_draw(settings: str) -> str:
    return ";".join(p for p in (settings or "").split(";") if p and not p.startswith("draw="))


def settings_values(results: Results, metric: str) -> list[str]:
    """The distinct settings `metric` was evaluated with ("" when it has none), most rows first; rows from
    extra evaluation draws (eval.draw > 0) only feed the sampling spread, never the main tables."""
    m = results.metrics
    settings = m.loc[m["metric"] == metric, "settings"].fillna("")
    counts = settings[settings.map(draw_of) == 0].value_counts()
    return list(counts.index)


def _class_means_by_draw(results: Results, metric: str, settings: str) -> pd.DataFrame:
    """Per run, draw: the class-mean value at the run's last evaluated epoch (of draw 0), at the N the final table
    shows there (the largest of draw 0, as `final_rows`). A second N of draw 0 would count the run twice among the
    seeds, and a draw at another N would read FID's N-dependent bias as sampling spread."""
    m = results.metrics
    rows = m[(m["metric"] == metric) & (m["class"] == "mean")]
    settings_col = rows["settings"].fillna("")
    rows = rows[settings_col.map(without_draw) == settings].assign(draw=settings_col.map(draw_of))
    if rows.empty:
        return rows
    last = rows[rows["draw"] == 0].groupby("run")["epoch"].max()
    rows = rows[rows["epoch"] == rows["run"].map(last)]
    n = pd.to_numeric(rows["n_fake"], errors="coerce").fillna(0)
    first = rows["draw"] == 0
    shown = n[first].groupby(rows.loc[first, "run"]).max()
    rows = rows[n == rows["run"].map(shown)]
    return rows.assign(group=rows["run"].map(group_labels(results)))


def spreads(results: Results, metric: str, settings: str = "") -> pd.DataFrame:
    """Per group: the spread of the class-mean `metric` over training seeds (draw 0), and over evaluation draws
    of one generator (runs evaluated with eval.draw = 1, 2, ...; the root mean square of each run's sd).
    Retraining moves FID about 3x more than resampling in the literature ("The FID lottery", 2026)."""
    rows = _class_means_by_draw(results, metric, settings)
    if rows.empty:
        return pd.DataFrame()
    out = []
    for group, g in rows.groupby("group", sort=False):
        seeds = g.loc[g["draw"] == 0, "value"]
        per_run = [r["value"].std(ddof=1) for _, r in g.groupby("run") if r["draw"].nunique() >= 2]
        sampling = float(np.sqrt(np.mean(np.square(per_run)))) if per_run else math.nan
        draws = int(g.groupby("run")["draw"].nunique().max())
        seed_sd = float(seeds.std(ddof=1)) if len(seeds) >= 2 else math.nan
        out.append({"variant": group, "metric": metric, "settings": settings, "seeds": len(seeds),
                    "sd over seeds": seed_sd, "runs with draws": len(per_run), "draws per run": draws,
                    "sd over draws": sampling,
                    "seed sd / draw sd": seed_sd / sampling if sampling and np.isfinite(sampling) else math.nan})
    return pd.DataFrame(out)


def slug(settings: str) -> str:
    """"k=5" -> "k5": a settings value as part of a file name."""
    return "".join(ch for ch in settings.replace(";", "-") if ch.isalnum() or ch == "-")


def final_rows(results: Results, metric: str, settings: str | None = None) -> pd.DataFrame:
    """Each run's rows of `metric` at the last epoch it was evaluated (per class and settings, the largest N
    evaluated then); only rows with `settings` if given."""
    m = results.metrics
    rows = m[m["metric"] == metric]
    rows = rows[rows["settings"].fillna("").map(draw_of) == 0]  # extra draws only feed spreads()
    if settings is not None:
        rows = rows[rows["settings"].fillna("") == settings]
    if rows.empty:
        return rows.assign(group=[])
    last = rows.groupby("run")["epoch"].transform("max")
    rows = rows[rows["epoch"] == last]
    n = pd.to_numeric(rows["n_fake"], errors="coerce").fillna(0)
    rows = rows[n == n.groupby([rows["run"], rows["class"], rows["settings"].fillna("")]).transform("max")]
    return rows.assign(group=rows["run"].map(group_labels(results)))


def best_epochs(results: Results, metric: str, settings: str | None = None, *,
                higher_is_better: bool = False) -> dict[str, int]:
    """Per run: the evaluated epoch with the best class-mean value of `metric`, over its evaluation schedule's
    N (a later evaluation at a larger N has a smaller FID bias and would win for that alone)."""
    m = results.metrics
    means = scheduled_rows(m[(m["metric"] == metric) & (m["class"] == "mean")])
    if settings is not None:
        means = means[means["settings"].fillna("") == settings]
    pick = "idxmax" if higher_is_better else "idxmin"
    return {run: int(g.loc[getattr(g["value"], pick)(), "epoch"]) for run, g in means.groupby("run")
            if g["value"].notna().any()}


def per_class(results: Results, metric: str, *, settings: str | None = None, floor: dict[str, float] | None = None,
              floor_n: int | None = None, digits: int = 2, published: dict[str, float] | None = None,
              higher_is_better: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(display, tidy): groups x classes, mean +- 95% CI over seeds; the real-vs-real floor and the paper's
    published values as extra rows when given."""
    final = final_rows(results, metric, settings)
    if final.empty:
        return pd.DataFrame(), pd.DataFrame()
    best = best_epochs(results, metric, settings, higher_is_better=higher_is_better)
    tidy, display = [], []
    for group, g in final.groupby("group", sort=False):
        cells = {}
        for cls in COLUMNS:
            values = g.loc[g["class"] == cls, "value"].tolist()
            mean, half, n = stats.mean_ci(values)
            tidy.append({"group": group, "class": cls, "mean": mean, "ci95": half, "seeds": n,
                         "runs": " ".join(sorted(g.loc[g["class"] == cls, "run"]))})
            cells[cls] = _cell(mean, half, digits)
        runs = sorted(g["run"].unique())
        n_fake = pd.to_numeric(g.loc[g["class"].isin(eurosat.CLASSES), "n_fake"], errors="coerce").dropna()
        display.append({"variant": group, **cells, "seeds": len(runs),
                         "N": int(n_fake.max()) if len(n_fake) else "",
                         "best epoch": ", ".join(str(best[r]) for r in runs if r in best),
                         "final epoch": ", ".join(str(int(g.loc[g["run"] == r, "epoch"].max())) for r in runs),
                         "runs": " ".join(runs)})
    if floor:
        display.append({"variant": f"real vs real (floor, N={floor_n})",
                        **{c: _cell(floor.get(c, math.nan), math.nan) for c in COLUMNS},
                        "seeds": "", "N": floor_n, "best epoch": "", "final epoch": "", "runs": ""})
        tidy += [{"group": "real vs real", "class": c, "mean": v, "ci95": math.nan, "seeds": 0, "runs": ""}
                 for c, v in floor.items()]
    if published:
        display.append({"variant": PAPER_LABEL, **{c: (f"{published[c]:.{digits}f}" if c in published else "")
                                                   for c in COLUMNS},
                        "seeds": 1, "N": 500, "best epoch": "", "final epoch": 300, "runs": ""})
        tidy += [{"group": PAPER_LABEL, "class": c, "mean": v, "ci95": math.nan, "seeds": 1, "runs": ""}
                 for c, v in published.items()]
    return pd.DataFrame(display), pd.DataFrame(tidy)


def class_ranks(results: Results, metric: str, *, higher_is_better: bool = False) -> pd.DataFrame:
    """Each class's rank (1 = best) within each run at its final evaluation, then mean +- 95% CI over the
    group's runs: the class ordering with its uncertainty (the paper found Forest best, Industrial worst)."""
    settings = settings_values(results, metric)
    final = final_rows(results, metric, settings[0] if settings else None)
    final = final[final["class"].isin(eurosat.CLASSES)]
    if final.empty:
        return pd.DataFrame()
    ascending = not higher_is_better
    final = final.assign(rank=final.groupby("run")["value"].rank(ascending=ascending, method="average"))
    rows = []
    for group, g in final.groupby("group", sort=False):
        for cls, c in g.groupby("class"):
            mean, half, n = stats.mean_ci(c["rank"].tolist())
            rows.append({"variant": group, "metric": metric, "class": cls, "mean rank": mean, "ci95": half,
                         "runs": n})
    out = pd.DataFrame(rows).sort_values(["variant", "mean rank"], kind="stable")
    return out.reset_index(drop=True)


def comparison(results: Results, metric: str, baseline: str = BASELINE, *,
               settings: str | None = None) -> pd.DataFrame:
    """Each variant's class-mean `metric` against the baseline's, paired by seed; Holm across variants."""
    final = final_rows(results, metric, settings)
    final = final[final["class"] == "mean"]
    if final.empty:
        return pd.DataFrame()
    labels = group_labels(results)
    base_groups = {labels[r] for r in results.runs.loc[results.runs["variant"] == baseline, "run"]}
    rows = []
    for base in sorted(base_groups):
        base_vals = dict(zip(final.loc[final["group"] == base, "seed"], final.loc[final["group"] == base, "value"]))
        profile = results.runs.loc[results.runs["run"].map(labels) == base, "profile"].iloc[0]
        for group, g in final.groupby("group", sort=False):
            group_profile = results.runs.loc[results.runs["run"].map(labels) == group, "profile"].iloc[0]
            if group == base or group_profile != profile:
                continue
            t = stats.paired_test(base_vals, dict(zip(g["seed"], g["value"])))
            rows.append({"variant": group, "baseline": base, "pairs": t["n"],
                         "seeds": ",".join(str(s) for s in t["seeds"]),
                         f"{metric} difference": t["difference"], "ci95": t["ci"], "p": t["p"], "sd": t["sd"],
                         "unlike pairs": unlike_pairs(results, final, base, group, t["seeds"])})
    if not rows:
        return pd.DataFrame()
    out = pd.DataFrame(rows)
    out["p (Holm)"] = stats.holm(out["p"].tolist())
    out["test"] = np.where(out["pairs"] >= 2, "paired t-test", "fewer than 2 paired seeds: no test")
    _add_power(out, f"{metric} difference")
    # A difference smaller than what re-drawing the samples alone moves it is inconclusive, whatever p says.
    spread = spreads(results, metric, settings or "")
    sd = dict(zip(spread["variant"], spread["sd over draws"])) if not spread.empty else {}
    noise = [math.hypot(sd.get(r["variant"], math.nan), sd.get(r["baseline"], math.nan)) for _, r in out.iterrows()]
    out["sampling sd of difference"] = noise
    out["beyond sampling spread"] = [("" if not np.isfinite(n) else ("yes" if abs(d) > n else "no: inconclusive"))
                                     for n, d in zip(noise, out[f"{metric} difference"])]
    return out


def unlike_pairs(results: Results, final: pd.DataFrame, base: str, group: str, seeds: list[int]) -> str:
    """The seeds whose two cells a reviewer could not call "trained alike": another CPU family (float rounding
    differs, so the pair shares no trajectory), other code (harness.provenance), or code not recorded (runs made
    before harness 0.5.0). "" when every pair is alike."""
    info = results.runs.set_index("run")[["machine", "code"]]
    runs = {(grp, int(seed)): run for grp, seed, run in final[["group", "seed", "run"]].itertuples(index=False)}
    out = []
    for seed in seeds:
        a, b = info.loc[runs[base, seed]], info.loc[runs[group, seed]]
        why = []
        if "not recorded" in a["machine"] or "not recorded" in b["machine"]:
            why.append("CPU not recorded")
        elif a["machine"] != b["machine"]:
            why.append("CPU")
        if "not recorded" in a["code"] or "not recorded" in b["code"]:
            why.append("code not recorded")
        elif a["code"] != b["code"]:
            why.append("code")
        if why:
            out.append(f"s{seed}: {' and '.join(why)}")
    return "; ".join(out)


def provenance_notes(results: Results, baseline: str = BASELINE) -> tuple[list[str], list[str]]:
    """(notes, unlike): per variant compared with the baseline, the CPUs and code its cells and the baseline's came
    from; and one "variant s<seed>: why" per pair of cells that differ in CPU or code (or whose code is unknown),
    which `harness report --strict` refuses."""
    labels = group_labels(results)
    runs = results.runs.assign(group=results.runs["run"].map(labels))
    base_groups = set(runs.loc[runs["variant"] == baseline, "group"])
    notes, unlike = [], []
    for base in sorted(base_groups):
        b = runs[runs["group"] == base]
        profile = b["profile"].iloc[0]
        for group, g in runs[(runs["profile"] == profile) & (runs["group"] != base)].groupby("group", sort=False):
            both = pd.concat([b, g])
            cpus = ", ".join(f"{m} ({n} cell{'s' * (n != 1)})" for m, n in both["machine"].value_counts().items())
            code = ", ".join(f"{c} ({n})" for c, n in both["code"].value_counts().items())
            notes.append(f"{group} against {base}: CPUs {cpus}; code {code}.")
            seeds = sorted(set(b["seed"]) & set(g["seed"]))
            final = pd.concat([b, g])[["group", "seed", "run"]]
            found = unlike_pairs(results, final, base, group, seeds)
            unlike += [f"{group} {part}" for part in found.split("; ") if part]
    return notes, unlike


def adjust_family(comparisons: dict[str, pd.DataFrame], family: tuple[str, ...]) -> int:
    """Holm over every test of the declared family at once: the comparison tables of the outputs in `family`
    (name -> table; only each output's main settings) get FAMILY_P and are marked "primary"; the others are
    marked "exploratory" (their "p (Holm)" adjusts over one metric's variants only). Returns the family's size."""
    tested = [(name, i, p) for name, frame in comparisons.items() if name in family and not frame.empty
              for i, p in zip(frame.index, frame["p"]) if np.isfinite(p)]
    adjusted = stats.holm([p for _, _, p in tested])
    for name, frame in comparisons.items():
        if frame.empty:
            continue
        frame["family"] = "primary" if name in family else "exploratory"
        if name in family:
            frame[FAMILY_P] = math.nan
    for (name, i, _), p in zip(tested, adjusted):
        comparisons[name].loc[i, FAMILY_P] = p
    return len(tested)


def _add_power(out: pd.DataFrame, difference: str, alpha: float = 0.05) -> None:
    """What the seeds in hand can decide, beside each paired comparison: the smallest difference they detect with
    80% power, and how many seeds the observed difference would need (the paired sd taken as it is). Level
    alpha / m, the strictest step of Holm's procedure over the m variants tested, so a difference that size is
    detected whatever the other variants' p-values."""
    tested = int((out["pairs"] >= 2).sum())
    level = alpha / max(tested, 1)
    out["sd of differences"] = out.pop("sd")
    out["detectable (80% power)"] = [stats.detectable_difference(n, sd, level)
                                     for n, sd in zip(out["pairs"], out["sd of differences"])]
    out["seeds for observed difference"] = [stats.pairs_needed(d, sd, level)
                                            for d, sd in zip(out[difference], out["sd of differences"])]
    out["power level"] = f"alpha {alpha:g}/{max(tested, 1)}"


def runs_table(results: Results) -> pd.DataFrame:
    r = results.runs
    return r[["run", "variant", "seed", "profile", "status", "epochs_done", "epochs", "machine", "code",
              "path"]].rename(
        columns={"epochs_done": "epochs done", "epochs": "epochs planned", "path": "folder"})


def domain_table(results: Results) -> pd.DataFrame:
    """One row per group: the registered summary outputs (label fidelity, domain FID, CAS, ...) that its runs
    have, the class mean of a per-class metric or the "all" row of another, as mean ± 95% CI (n runs)."""
    rows = []
    for name, (metric, output) in metrics.outputs().items():
        if not output.summary:
            continue
        final = final_rows(results, name)
        final = final[final["class"] == ("mean" if metric.per_class else "all")]
        for group, g in final.groupby("group", sort=False):
            mean, half, n = stats.mean_ci(g["value"].tolist())
            # n in each cell: a variant's metrics may come from different runs (e.g. CAS evaluated on one seed).
            rows.append({"variant": group, "metric": name,
                         "value": f"{_cell(mean, half, digits=output.digits)} (n={n})"})
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    wide = frame.pivot_table(index="variant", columns="metric", values="value", aggfunc="first").reset_index()
    return wide[["variant"] + list(dict.fromkeys(frame["metric"]))]  # the registry's order, not alphabetical


AUGMENTATION_COLUMNS = {"accuracy_real_only": "k real only", "accuracy_with_generated": "k real + generated",
                        "augmentation_gain": "gain", "augmentation_gain_sd": "gain sd over classifier seeds"}


def augmentation_rows(results: Results) -> pd.DataFrame:
    """Each run's final augmentation rows, with k as a number (the class column holds 'k=10')."""
    frames = [f for f in (final_rows(results, m) for m in AUGMENTATION_COLUMNS) if not f.empty]
    if not frames:
        return results.metrics.iloc[:0].assign(group=[], k=[])
    final = pd.concat(frames)
    k = final["settings"].fillna("").astype(str).str.extract(r"(?:^|;)k=(\d+)", expand=False)
    return final[k.notna()].assign(k=k.dropna().astype(int))


def augmentation_table(results: Results) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(display, tidy) per group and k: accuracy alone and with generated images, and the gain; mean ± 95% CI
    over the group's runs."""
    final = augmentation_rows(results)
    if final.empty:
        return pd.DataFrame(), pd.DataFrame()
    tidy, display = [], []
    for (group, k), g in final.groupby(["group", "k"], sort=False):
        row = {"variant": group, "k per class": k}
        for metric, column in AUGMENTATION_COLUMNS.items():
            mean, half, n = stats.mean_ci(g.loc[g["metric"] == metric, "value"].tolist())
            runs = " ".join(sorted(g.loc[g["metric"] == metric, "run"]))
            tidy.append({"group": group, "k": k, "metric": metric, "mean": mean, "ci95": half, "n_runs": n,
                         "runs": runs})
            # An sd is already a spread: its mean over runs is shown, not a CI of it.
            row[column] = _cell(mean, math.nan if metric == "augmentation_gain_sd" else half, digits=4)
        row["runs"] = " ".join(sorted(g["run"].unique()))
        display.append(row)
    order = ["variant", "k per class"]
    return (pd.DataFrame(display).sort_values(order, kind="stable").reset_index(drop=True),
            pd.DataFrame(tidy).sort_values(["group", "k"], kind="stable").reset_index(drop=True))


def _cell(mean: float, half: float, digits: int = 2) -> str:
    if mean is None or not np.isfinite(mean):
        return ""
    return f"{mean:.{digits}f}" if not np.isfinite(half) else f"{mean:.{digits}f} ± {half:.{digits}f}"
