"""Dev tool: FID split into its mean and covariance terms, epoch by epoch, and which term moved FID.

    python tools/fid_terms.py --run COPY [--logged RUN] --out docs/evidence/paper/fid-terms.csv
    python tools/fid_terms.py --table docs/evidence/paper/fid-terms.csv
    python tools/fid_terms.py --table docs/evidence/paper/rerun/fid-terms.csv --versus docs/evidence/paper/fid-terms.csv

A run keeps its generator every few epochs, so its per-class FID can be computed again with the metric
`fid_terms` beside it: copy the run folder (checkpoints included) and evaluate the copy at each kept epoch,
`harness eval COPY --epoch E --metrics fid,fid_terms --n 500` (the copy, so that the run's own metrics.csv keeps
only what its training wrote). `--run COPY` gathers the copy's rows into one table, one row per (epoch, class;
"all" and "mean" too) with FID, its two terms and the spread, and `--logged RUN` checks that the recomputed FID
is the one the run logged (same latents, real images and weights: it must agree to rounding). `--table CSV`
reads such a table back. Either way it prints the class means per epoch and, between consecutive epochs, how
much of FID's move the mean term carried and in how many classes the mean term moved more than the covariance
term: the numbers docs/evidence.md quotes ("Why Inception FID rose at epoch 30"). `--versus CSV` sets another run's
table beside it, epoch by epoch: which term sets two runs (two draws of one seed, say) apart.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from harness import atomicio
from harness.data import eurosat
from harness.runs.rundir import RunDir, numeric_values

TERMS = ("fid", "fid_cov_term", "fid_mean_term", "fid_spread")
COLUMNS = ["epoch", "class", *TERMS, "n_real", "n_fake"]


def from_run(folder: Path) -> pd.DataFrame:
    """One row per (epoch, class) at which the run folder has FID and all three fid_terms outputs."""
    metrics = numeric_values(RunDir(folder).metrics())
    rows = metrics[metrics["metric"].isin(TERMS) & metrics["class"].notna() & (metrics["class"] != "")]
    wide = rows.pivot_table(index=["epoch", "class"], columns="metric", values="value", aggfunc="last")
    missing = [t for t in TERMS if t not in wide.columns]
    if missing:
        raise SystemExit(f"{folder}: no {', '.join(missing)} rows; evaluate it with --metrics fid,fid_terms")
    wide = wide.dropna(subset=list(TERMS))
    sizes = rows[rows["metric"] == "fid"].groupby(["epoch", "class"])[["n_real", "n_fake"]].last()
    table = wide.join(sizes).reset_index()
    # The class mean's N, which the log leaves empty, is its classes' N where they all agree.
    per_class = table[table["class"].isin(eurosat.CLASSES)].groupby("epoch")[["n_real", "n_fake"]]
    agreed = per_class.first().where(per_class.nunique() == 1)
    at_mean = table["class"] == "mean"
    for column in ("n_real", "n_fake"):
        table.loc[at_mean, column] = table.loc[at_mean, column].fillna(table.loc[at_mean, "epoch"].map(agreed[column]))
    table["epoch"] = table["epoch"].astype(int)
    return table[COLUMNS].sort_values(["epoch", "class"]).reset_index(drop=True)


def logged_difference(table: pd.DataFrame, folder: Path) -> float:
    """Largest |recomputed FID - logged FID| over the (epoch, class) pairs both have."""
    metrics = numeric_values(RunDir(folder).metrics())
    logged = metrics[metrics["metric"] == "fid"].groupby(["epoch", "class"])["value"].last().rename("logged")
    joined = table.join(logged, on=["epoch", "class"]).dropna(subset=["logged"])
    if joined.empty:
        raise SystemExit(f"{folder}: no logged FID at the epochs and classes of the table")
    return float((joined["fid"] - joined["logged"]).abs().max())


def class_means(table: pd.DataFrame) -> pd.DataFrame:
    """The 'mean' rows, by epoch."""
    return table[table["class"] == "mean"].set_index("epoch")[["fid", "fid_mean_term", "fid_cov_term", "fid_spread"]]


def _move(before: pd.DataFrame, after: pd.DataFrame) -> dict:
    """From `before` to `after` (each: rows by class, 'mean' among them): FID's class-mean change, each term's
    share of it, the spread's change, and in how many classes the mean term moved more than the covariance term
    (with the class whose FID moved most)."""
    change = after.loc[list(eurosat.CLASSES)] - before.loc[list(eurosat.CLASSES)]
    mean_led = int((change["fid_mean_term"].abs() > change["fid_cov_term"].abs()).sum())
    most = change["fid"].abs().idxmax()
    return {"fid": after.at["mean", "fid"] - before.at["mean", "fid"],
            "mean term": after.at["mean", "fid_mean_term"] - before.at["mean", "fid_mean_term"],
            "covariance term": after.at["mean", "fid_cov_term"] - before.at["mean", "fid_cov_term"],
            "spread": after.at["mean", "fid_spread"] - before.at["mean", "fid_spread"],
            "classes led by the mean term": f"{mean_led} of {len(change)}",
            "largest class move": f"{most} {change.at[most, 'fid']:+.1f} (mean term "
                                  f"{change.at[most, 'fid_mean_term']:+.1f})"}


def _by_class(table: pd.DataFrame, epoch: int) -> pd.DataFrame:
    return table[table["epoch"] == epoch].set_index("class")


def moves(table: pd.DataFrame) -> pd.DataFrame:
    """Between consecutive epochs of one run: which term moved FID (`_move`)."""
    epochs = list(class_means(table).index)
    return pd.DataFrame([{"from": before, "to": after, **_move(_by_class(table, before), _by_class(table, after))}
                         for before, after in zip(epochs, epochs[1:])])


def versus(table: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """At each epoch both tables have, `table` less `other`: which term sets two runs apart (two draws of one
    training, say), read as `_move` reads an epoch's change."""
    epochs = sorted(set(class_means(table).index) & set(class_means(other).index))
    return pd.DataFrame([{"epoch": e, **_move(_by_class(other, e), _by_class(table, e))} for e in epochs])


def markdown(table: pd.DataFrame, other: pd.DataFrame | None = None, other_name: str = "") -> str:
    means = class_means(table).rename(columns={"fid": "class-mean FID", "fid_mean_term": "mean term",
                                               "fid_cov_term": "covariance term",
                                               "fid_spread": "spread, generated / real"})
    parts = ["Class means by epoch (the two terms sum to FID):\n",
             means.round({"class-mean FID": 1, "mean term": 1, "covariance term": 1,
                          "spread, generated / real": 2}).to_markdown(), ""]
    if len(means) > 1:
        parts += ["Between consecutive epochs:\n", moves(table).round(2).to_markdown(index=False), ""]
    if other is not None:
        apart = versus(table, other)
        parts += [f"Less {other_name} at the same epoch:\n" if not apart.empty
                  else f"No epoch in common with {other_name}.\n"]
        if not apart.empty:
            parts += [apart.round(2).to_markdown(index=False), ""]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", type=Path, help="a run folder evaluated with --metrics fid,fid_terms")
    source.add_argument("--table", type=Path, help="a table this tool wrote")
    parser.add_argument("--logged", type=Path, help="the run whose logged FID the recomputed one must equal")
    parser.add_argument("--versus", type=Path, help="another run's table (CSV): which term sets the two apart")
    parser.add_argument("--out", type=Path, help="write the table here (CSV)")
    args = parser.parse_args(argv)
    table = from_run(args.run) if args.run else pd.read_csv(args.table)
    if table.empty:
        raise SystemExit(f"{args.run or args.table}: no epoch with FID and its terms")
    sums = float(np.abs(table["fid_mean_term"] + table["fid_cov_term"] - table["fid"]).max())
    print(f"{len(table)} rows, epochs {', '.join(str(e) for e in sorted(table['epoch'].unique()))}; "
          f"the two terms sum to FID within {sums:.2g}")
    if args.logged:
        print(f"recomputed FID against {args.logged}'s logged FID: largest difference "
              f"{logged_difference(table, args.logged):.2g}")
    other = pd.read_csv(args.versus) if args.versus else None
    print(markdown(table, other, str(args.versus)), end="")
    if args.out:
        atomicio.write_text(args.out, table.to_csv(index=False, float_format="%.4f"))
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
