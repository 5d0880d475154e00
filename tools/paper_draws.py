"""Dev tool: several draws of one protocol (the same code and seed, each trained on another CPU), evaluation by
evaluation: how far apart they land.

    python tools/paper_draws.py docs/evidence/paper/runs/paper_dcgan-paper-s0 \
        docs/evidence/paper/rerun/runs/paper_dcgan-paper-s0 docs/evidence/paper/third/runs/paper_dcgan-paper-s0 \
        --names first,rerun,third --out docs/evidence/paper/draws.md --figure docs/evidence/paper/draws.png

The 2022 study published one value per class from one run. Runs of one seed on different CPUs part after the
first steps (tools/paper_rerun.py finds the step), so each is a draw of the protocol, and their spread at one epoch
says how far another draw of the study's own run could have landed. For every output evaluated on all ten classes
(Inception FID and KID, precision and recall, the land-cover classifier's label fidelity and domain FID) and every
epoch at least two draws evaluated: each draw's class mean, their mean and range, the standard deviation across
draws where there are three or more (never from two), and the mean over the classes of each class's range. Then,
per class, the Inception FID of every draw at the last epoch all of them evaluated, with its range. And since the
study's Figure 3 is one run's ordering of the classes: how far two draws order the ten classes alike at one epoch
(Kendall's tau of Inception FID, label fidelity and domain FID), set beside how far one draw's ordering moves
between its consecutive evaluations. Pairwise detail (steps, training means, where one draw stood on another's
curves) is tools/paper_rerun.py's.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))  # paper_rerun beside it, however this file was loaded

from paper_rerun import EVALUATED, Run  # noqa: E402

from harness import atomicio  # noqa: E402
from harness.data import eurosat  # noqa: E402
from harness.report.plotting import pyplot, save_figure  # noqa: E402

PANELS = (("fid", "Inception FID, class mean"), ("label_fidelity", "label fidelity, class mean"),
          ("domain_fid", "domain FID, class mean"))
ORDERED = {"fid": "lower", "label_fidelity": "higher", "domain_fid": "lower"}  # the outputs whose class order is read


def spread(draws: dict[str, Run]) -> pd.DataFrame:
    """One row per (output, epoch) that two or more draws evaluated on all ten classes: each draw's class mean
    (NaN where it did not), n, mean, range, SD across draws (NaN below three) and the mean per-class range."""
    means = {name: run.class_means() for name, run in draws.items()}
    rows = []
    for metric in EVALUATED:
        epochs = sorted({int(e) for m in means.values() if metric in m.index for e in m.loc[metric].dropna().index})
        for epoch in epochs:
            values = {name: (float(m.loc[metric, epoch]) if metric in m.index and epoch in m.columns
                             and pd.notna(m.loc[metric, epoch]) else np.nan) for name, m in means.items()}
            have = [v for v in values.values() if not np.isnan(v)]
            if len(have) < 2:
                continue
            per_class = pd.concat([run.at(metric, epoch).rename(name) for name, run in draws.items()
                                   if not np.isnan(values[name])], axis=1)
            rows.append({"metric": metric, "epoch": epoch, **values, "n": len(have), "mean": float(np.mean(have)),
                         "range": max(have) - min(have),
                         "sd": float(np.std(have, ddof=1)) if len(have) >= 3 else np.nan,
                         "per-class range": float((per_class.max(axis=1) - per_class.min(axis=1)).mean())})
    return pd.DataFrame(rows)


def _evaluated(run: Run, metric: str) -> list[int]:
    """The epochs at which `run` evaluated `metric` on all ten classes."""
    means = run.class_means()
    return sorted(int(e) for e in means.loc[metric].dropna().index) if metric in means.index else []


def per_class_fid(draws: dict[str, Run]) -> tuple[int | None, pd.DataFrame]:
    """(the last epoch every draw evaluated Inception FID on all ten classes, class x draw at that epoch)."""
    common = None
    for run in draws.values():
        have = set(_evaluated(run, "fid"))
        common = have if common is None else common & have
    if not common:
        return None, pd.DataFrame()
    epoch = int(max(common))
    table = pd.concat([run.at("fid", epoch).rename(name) for name, run in draws.items()], axis=1)
    return epoch, table.reindex(list(eurosat.CLASSES))


def _tau(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    """Kendall's tau-b (ties allowed: label fidelity is often 0 in several classes) over the classes both have."""
    both = pd.concat([a, b], axis=1, join="inner")
    result = stats.kendalltau(both.iloc[:, 0], both.iloc[:, 1])
    return float(result.statistic), float(result.pvalue)


def class_orders(draws: dict[str, Run]) -> pd.DataFrame:
    """Kendall's tau between two class orderings of an output in ORDERED: `between` two draws at an epoch both
    evaluated (`of` names the pair), and `within` one draw between two consecutive evaluations of its own (`of`
    names the draw, `epoch` the later one): the second says how much an ordering moves with training alone, the
    scale against which a difference between draws is large or not."""
    rows = []
    for metric in ORDERED:
        evaluated = {name: _evaluated(run, metric) for name, run in draws.items()}
        for (a, run_a), (b, run_b) in itertools.combinations(draws.items(), 2):
            for epoch in sorted(set(evaluated[a]) & set(evaluated[b])):
                tau, p = _tau(run_a.at(metric, epoch), run_b.at(metric, epoch))
                rows.append({"metric": metric, "kind": "between", "of": f"{a}-{b}", "epoch": epoch, "tau": tau, "p": p})
        for name, run in draws.items():
            for earlier, epoch in zip(evaluated[name], evaluated[name][1:]):
                tau, p = _tau(run.at(metric, earlier), run.at(metric, epoch))
                rows.append({"metric": metric, "kind": "within", "of": name, "epoch": epoch, "since": earlier,
                             "tau": tau, "p": p})
    return pd.DataFrame(rows, columns=["metric", "kind", "of", "epoch", "since", "tau", "p"])


def best_classes(draws: dict[str, Run], metric: str, epoch: int) -> dict[str, str]:
    """Each draw's best class of `metric` at `epoch`, for the draws that evaluated it then."""
    pick = "idxmax" if ORDERED[metric] == "higher" else "idxmin"
    return {name: getattr(run.at(metric, epoch), pick)() for name, run in draws.items()
            if epoch in _evaluated(run, metric)}


def _orders_markdown(draws: dict[str, Run]) -> list[str]:
    orders = class_orders(draws)
    between = orders[orders["kind"] == "between"]
    if between.empty:
        return []
    pairs = list(dict.fromkeys(between["of"]))
    lines = ["", "Class orderings: Kendall's tau between two draws' values of the ten classes at one epoch (1: the "
             "same order; its p beside it, not adjusted for the many taus), and each draw's best class then:", "",
             "| output | epoch | " + " | ".join(pairs) + " | best class |", "|---|---" + "|---" * len(pairs) + "|---|"]
    for (metric, epoch), group in between.groupby(["metric", "epoch"], sort=False):
        taus = group.set_index("of")
        cells = [f"{taus.loc[p, 'tau']:+.2f} (p {taus.loc[p, 'p']:.2g})" if p in taus.index else "" for p in pairs]
        best = " / ".join(f"{n} {c}" for n, c in best_classes(draws, metric, int(epoch)).items())
        lines.append(f"| {metric} | {int(epoch)} | " + " | ".join(cells) + f" | {best} |")
    lines += ["", "Between draws against within one: the median tau (range, count) of two draws at one epoch, and of "
              "one draw's consecutive evaluations (in the paper protocol 10 epochs of training apart for Inception "
              "FID, 5 for the domain outputs):", "",
              "| output | between draws, one epoch | within a draw, consecutive evaluations | "
              "epochs at which every draw there has the same best class |", "|---|---|---|---|"]
    for metric in ORDERED:
        epochs = sorted(between.loc[between["metric"] == metric, "epoch"].unique())
        if not epochs:  # no two draws evaluated it
            continue
        cells = []
        for kind in ("between", "within"):
            taus = orders[(orders["metric"] == metric) & (orders["kind"] == kind)]["tau"]
            cells.append(f"{taus.median():+.2f} ({taus.min():+.2f} to {taus.max():+.2f}, {len(taus)})" if len(taus)
                         else "")
        same = [e for e in epochs if len(set(best_classes(draws, metric, int(e)).values())) == 1]
        cells.append(f"{len(same)} of {len(epochs)}")
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return lines


def _num(value: float, digits: str = ".3g") -> str:
    return "" if pd.isna(value) else format(value, digits)


def markdown(draws: dict[str, Run]) -> tuple[str, pd.DataFrame]:
    names = list(draws)
    lines = ["The draws (each the same code and seed; every sitting's CPU and commit):", ""]
    for name, run in draws.items():
        reached = int(run.steps["epoch"].max()) if len(run.steps) else 0
        lines.append(f"- {name}: to epoch {reached}; " + "; ".join(run.sittings()))
    table = spread(draws)
    if table.empty:
        lines += ["", "No epoch was evaluated by two draws."]
        return "\n".join(lines) + "\n", table
    lines += ["", "Class means at every epoch two or more draws evaluated; their mean and range, the standard "
              "deviation across draws where three or more evaluated it (none from two), and the mean over the ten "
              "classes of each class's range across the draws:", "",
              "| output | epoch | " + " | ".join(names) + " | n | mean | range | SD | per-class range |",
              "|---|---" + "|---" * len(names) + "|---|---|---|---|---|"]
    for r in table.to_dict("records"):
        lines.append(f"| {r['metric']} | {r['epoch']} | " + " | ".join(_num(r[n]) for n in names)
                     + f" | {r['n']} | {_num(r['mean'])} | {_num(r['range'])} | {_num(r['sd'])} | "
                     f"{_num(r['per-class range'])} |")
    epoch, classes = per_class_fid(draws)
    if epoch is not None:
        lines += ["", f"Inception FID per class at epoch {epoch}, the last every draw evaluated:", "",
                  "| class | " + " | ".join(names) + " | range |", "|---" + "|---" * len(names) + "|---|"]
        for cls, row in classes.iterrows():
            lines.append(f"| {cls} | " + " | ".join(_num(row[n], ".1f") for n in names)
                         + f" | {_num(row.max() - row.min(), '.1f')} |")
    lines += _orders_markdown(draws)
    return "\n".join(lines) + "\n", table


def figure(draws: dict[str, Run], path: Path) -> None:
    """Each draw's class means of Inception FID, label fidelity and domain FID against the epoch."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(PANELS), figsize=(13, 3.8))
    for name, run in draws.items():
        means = run.class_means()
        for ax, (metric, title) in zip(axes, PANELS):
            if metric in means.index:
                series = means.loc[metric].dropna()
                ax.plot(series.index, series.values, marker="o", ms=3, lw=1, label=f"{name}: {run.cpus()}")
            ax.set_title(title)
            ax.set_xlabel("epoch")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(draws), fontsize=8)
    fig.suptitle("draws of one protocol: the same code and seed on different CPUs")
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    save_figure(fig, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run folders of one protocol, code and seed")
    parser.add_argument("--names", help="comma-separated, one per run (default: draw 1, draw 2, ...)")
    parser.add_argument("--out", type=Path, help="also write the Markdown here (and the table as CSV beside it)")
    parser.add_argument("--figure", type=Path, help="also draw each draw's evaluated class means (PNG)")
    args = parser.parse_args(argv)
    if len(args.runs) < 2:
        parser.error("give two or more run folders")
    names = args.names.split(",") if args.names else [f"draw {i}" for i in range(1, len(args.runs) + 1)]
    if len(names) != len(args.runs) or len(set(names)) != len(names):
        parser.error(f"--names {args.names}: give {len(args.runs)} different names, one per run")
    draws = {name: Run(path) for name, path in zip(names, args.runs)}
    text, table = markdown(draws)
    print(text, end="")
    if args.out:
        atomicio.write_text(args.out, text)
        atomicio.write_text(args.out.with_suffix(".csv"), table.to_csv(index=False))
    if args.figure:
        figure(draws, args.figure)
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
