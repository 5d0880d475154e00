"""Dev tool: the same cells trained two ways, in two results folders, compared pair by pair.

    python tools/paired_folders.py A_DIR B_DIR [--metrics fid,kid,label_fidelity,domain_fid] [--csv out.csv]

`harness report` compares variants against a baseline; a change that is not a variant (float32 against
mixed_bfloat16, one machine against another) trains the same (variant, seed) cells into two folders instead.
For each variant and metric (class mean, settings-free rows, at each run's last evaluated epoch and largest N),
this prints A's and B's mean over seeds, the paired difference B - A with its 95% CI and t-test p (harness.report
.stats), and the seed sd within A: a difference well inside the seed spread is one a sweep could not see anyway.
Reads only the folders' tables.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from harness.report.collect import collect
from harness.report.stats import mean_ci, paired_test
from harness.report.tables import final_rows


def class_means(results, metric: str) -> pd.DataFrame:
    """variant, seed, value: each run's class mean of `metric` (the run's fixed latents, no extra settings)."""
    rows = final_rows(results, metric, settings="")
    rows = rows[rows["class"] == "mean"]
    return rows[["variant", "seed", "value"]]


def compare(a: Path, b: Path, metrics: list[str]) -> pd.DataFrame:
    out = []
    runs_a, runs_b = collect(a), collect(b)  # each folder's tables read once
    for metric in metrics:
        left, right = class_means(runs_a, metric), class_means(runs_b, metric)
        for variant in sorted(set(left["variant"]) & set(right["variant"])):
            x = dict(left[left["variant"] == variant][["seed", "value"]].itertuples(index=False))
            y = dict(right[right["variant"] == variant][["seed", "value"]].itertuples(index=False))
            test = paired_test(x, y)
            seeds = test["seeds"]
            out.append({"variant": variant, "metric": metric, "pairs": test["n"],
                        "A": mean_ci([x[s] for s in seeds])[0], "B": mean_ci([y[s] for s in seeds])[0],
                        "B - A": test["difference"], "ci95": test["ci"], "p": test["p"],
                        "seed sd in A": float(np.std([x[s] for s in seeds], ddof=1)) if len(seeds) > 1 else np.nan,
                        "per seed B - A": ", ".join(f"s{s} {y[s] - x[s]:+.3g}" for s in seeds)})
    return pd.DataFrame(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--metrics", default="fid,kid,label_fidelity,domain_fid")
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args(argv)
    frame = compare(args.a, args.b, [m.strip() for m in args.metrics.split(",") if m.strip()])
    if frame.empty:
        raise SystemExit(f"{args.a} and {args.b}: no (variant, metric) evaluated in both")
    if args.csv:
        frame.to_csv(args.csv, index=False)
    print(frame.to_markdown(index=False, floatfmt=".4g"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
