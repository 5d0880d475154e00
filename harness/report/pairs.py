"""`harness compare`: the same (variant, seed) cells trained two ways, in two results folders, compared pair by pair.

`harness report` compares variants against a baseline. A change that is not a variant (float32 against
mixed_bfloat16, one machine or release against another, a different thread count) trains the same cells into two
folders instead; this pairs them by (variant, seed). For each variant and metric (class mean, the run's fixed
latents, at each run's last evaluated epoch and largest N) it gives A's and B's mean over the paired seeds, the
paired difference B - A with its 95% CI and t-test p (harness.report.stats), and the seed sd within A: a
difference well inside the seed spread is one a sweep could not see anyway. Reads only the folders' tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import ConfigError
from harness.evaluate import metrics as metric_registry
from harness.report.collect import Results, collect, two_results_folders
from harness.report.stats import holm, mean_ci, paired_test
from harness.report.tables import final_rows

DEFAULT_METRICS = "fid,kid,label_fidelity,domain_fid"


def check_metrics(names: list[str]) -> list[str]:
    """The row metrics asked for, each one some registered metric writes (else a one-line error naming it)."""
    known = metric_registry.outputs()
    unknown = [n for n in names if n not in known]
    if not names or unknown:
        raise ConfigError(f"--metrics {','.join(names)!r}: {', '.join(unknown) or 'empty'} is not an output of a "
                          f"registered metric (e.g. {', '.join(list(known)[:6])})")
    return names


def class_means(results: Results, metric: str) -> pd.DataFrame:
    """variant, seed, value: each run's class mean of `metric` (the run's fixed latents, no extra settings)."""
    rows = final_rows(results, metric, settings="")
    rows = rows[rows["class"] == "mean"]
    return rows[["variant", "seed", "value"]]


def compare_folders(a: Path, b: Path, metrics: list[str]) -> pd.DataFrame:
    """One row per (variant, metric) evaluated in both folders (each a results folder, or a report folder with
    its runs below it) on at least one common seed."""
    check_metrics(metrics)
    runs_a, runs_b = (collect(folder) for folder in two_results_folders(a, b))  # each folder's tables read once
    out = []
    for metric in metrics:
        left, right = class_means(runs_a, metric), class_means(runs_b, metric)
        for variant in sorted(set(left["variant"]) & set(right["variant"])):
            x = dict(left[left["variant"] == variant][["seed", "value"]].itertuples(index=False))
            y = dict(right[right["variant"] == variant][["seed", "value"]].itertuples(index=False))
            test = paired_test(x, y)
            seeds = test["seeds"]  # the seeds both folders have
            if not seeds:
                continue
            out.append({"variant": variant, "metric": metric, "pairs": test["n"],
                        "A": mean_ci([x[s] for s in seeds])[0], "B": mean_ci([y[s] for s in seeds])[0],
                        "B - A": test["difference"], "ci95": test["ci"], "p": test["p"],
                        "seed sd in A": float(np.std([x[s] for s in seeds], ddof=1)) if len(seeds) > 1 else np.nan,
                        "per seed B - A": ", ".join(f"s{s} {y[s] - x[s]:+.3g}" for s in seeds)})
    frame = pd.DataFrame(out)
    if not frame.empty:  # every row is one test: the table is the family Holm adjusts over
        frame.insert(frame.columns.get_loc("p") + 1, "Holm p", holm(frame["p"].tolist()))
    return frame


def markdown(frame: pd.DataFrame, a: Path, b: Path) -> str:
    return (f"A: {a}\nB: {b}\n\n" + frame.to_markdown(index=False, floatfmt=".4g") + "\n")
