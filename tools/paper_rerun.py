"""Dev tool: two runs of one protocol, same code and seed, trained on different machines, side by side.

    python tools/paper_rerun.py docs/evidence/paper/runs/paper_dcgan-paper-s0 \
        docs/evidence/paper/rerun/runs/paper_dcgan-paper-s0 \
        --out docs/evidence/paper/rerun.md --figure docs/evidence/paper/rerun.png

Before cells trained on two CPUs are paired, a reviewer asks whether the same code and seed train the same run
on another machine. This checks the precondition from the two records (commits, configuration, library
versions; each sitting's machine is named), finds the first optimiser step whose logged numbers differ, and
sets the per-epoch training means and the class-mean evaluations of every epoch both runs reached side by side.
To say whether a difference is large, each evaluated output's difference between the runs is set beside how
much the first run moved from its previous evaluation of that output: the machine's effect against five or
ten more epochs of training. And to say whether the two draws follow one course at different speeds, each of
the second run's evaluated epochs is placed on the first run's curves: the epochs at which the first run took
the second run's value of each output, and how far those lie from the second run's epoch.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from harness import atomicio
from harness.data import eurosat
from harness.report.plotting import pyplot, save_figure
from harness.report.tables import scheduled_rows
from harness.runs.rundir import RunDir, numeric_values

TRAINING = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake")
EVALUATED = ("fid", "kid", "precision", "recall", "label_fidelity", "domain_fid", "domain_precision",
             "domain_recall", "domain_coverage")


class Run:
    """One run's record, per-step table and per-class evaluations."""

    def __init__(self, folder: Path):
        rd = RunDir(Path(folder))
        self.record = rd.read_record()
        self.name = rd.run_id
        metrics, steps = rd.tables()
        self.steps = steps.astype({"epoch": int, "step": int}).set_index("step")
        metrics = numeric_values(metrics)
        evaluated = metrics["metric"].isin(EVALUATED) & metrics["class"].isin(eurosat.CLASSES)
        self.per_class = scheduled_rows(metrics[evaluated])  # one N per output, even after a later `harness eval --n`
        self._class_means = None

    def _sittings(self) -> list[dict]:
        """The record's sittings; a record written before runs kept them is one sitting from epoch 0."""
        r = self.record
        return r.get("sittings") or [{"from_epoch": 0, "machine": r.get("machine", {}), "code": r.get("code", {}),
                                      "versions": r.get("versions", {})}]

    def sittings(self) -> list[str]:
        """'from epoch E, K sittings: CPU (code C)' for each stretch of consecutive sittings on one machine and
        commit."""
        stretches: list[list] = []
        for s in self._sittings():
            where = (s.get("machine", {}).get("cpu", "machine not recorded"),
                     str(s.get("code", {}).get("commit") or "not recorded")[:7])
            if stretches and stretches[-1][0] == where:
                stretches[-1][2] += 1
            else:
                stretches.append([where, s.get("from_epoch", "?"), 1])
        return [f"from epoch {start}, {n} sitting{'s' * (n > 1)}: {cpu} (code {commit})"
                for (cpu, commit), start, n in stretches]

    def cpus(self) -> str:
        """The CPUs that trained the run, in order, each once."""
        return ", ".join(dict.fromkeys(s.get("machine", {}).get("cpu", "machine not recorded")
                                       for s in self._sittings()))

    def commits(self) -> set[str]:
        return {str(s.get("code", {}).get("commit")) for s in self._sittings()}

    def versions(self) -> set[tuple]:
        """Each sitting's library versions, the platform string left out (it names the host's kernel build)."""
        return {tuple(sorted((k, v) for k, v in s.get("versions", {}).items() if k != "platform"))
                for s in self._sittings()}

    def epoch_means(self) -> pd.DataFrame:
        return self.steps.groupby("epoch")[list(TRAINING)].mean()

    def class_means(self) -> pd.DataFrame:
        """metric x epoch: the mean over the ten classes (epochs where all ten were evaluated). Computed once: the
        tables are read when the run is, and every comparison asks for these."""
        if self._class_means is None:
            every = len(eurosat.CLASSES)
            full = self.per_class.groupby(["metric", "epoch"]).filter(lambda g: g["class"].nunique() == every)
            self._class_means = full.groupby(["metric", "epoch"])["value"].mean().unstack("epoch")
        return self._class_means

    def at(self, metric: str, epoch: int) -> pd.Series:
        """One output's per-class values at one epoch, indexed by class."""
        rows = self.per_class[(self.per_class["metric"] == metric) & (self.per_class["epoch"] == epoch)]
        return rows.set_index("class")["value"]


def first_difference(a: Run, b: Run) -> tuple[int, pd.DataFrame]:
    """(steps logged alike before the first difference, the first differing step's rows), over common steps."""
    common = a.steps.index.intersection(b.steps.index)
    left, right = a.steps.loc[common, list(TRAINING)], b.steps.loc[common, list(TRAINING)]
    differs = (left != right).any(axis=1)
    if not differs.any():
        return len(common), pd.DataFrame()
    step = int(differs.idxmax())
    return int((~differs.loc[:step]).sum()), pd.concat({a.name + " (first)": left.loc[[step]],
                                                          b.name + " (second)": right.loc[[step]]})


def evaluations(a: Run, b: Run) -> pd.DataFrame:
    """Per metric and common epoch: both class means, their difference, the first run's move since its previous
    evaluation of that metric, and the mean absolute per-class difference between the runs."""
    ma, mb = a.class_means(), b.class_means()
    rows = []
    for metric in [m for m in EVALUATED if m in ma.index and m in mb.index]:
        epochs_a = ma.loc[metric].dropna()
        for epoch in sorted(set(epochs_a.index) & set(mb.loc[metric].dropna().index)):
            earlier = epochs_a[epochs_a.index < epoch]
            pa, pb = a.at(metric, epoch), b.at(metric, epoch)
            rows.append({"metric": metric, "epoch": int(epoch), "first": epochs_a[epoch],
                         "second": mb.loc[metric, epoch],
                         "difference": mb.loc[metric, epoch] - epochs_a[epoch],
                         "first run's move": epochs_a[epoch] - earlier.iloc[-1] if len(earlier) else np.nan,
                         "since epoch": int(earlier.index[-1]) if len(earlier) else np.nan,
                         "per-class |difference|": float((pa - pb).abs().mean())})
    return pd.DataFrame(rows)


def crossings(epochs, values, level: float) -> list[float]:
    """The epochs at which a curve, straight between its points, takes the value `level`, each in order (a point that
    hits the level exactly counts once, so a stretch lying on it gives each of its points)."""
    x, y = np.asarray(epochs, dtype=float), np.asarray(values, dtype=float) - level
    found: list[float] = []
    for i in range(len(x) - 1):
        if y[i] == 0:
            found.append(x[i])
        elif y[i] * y[i + 1] < 0:
            found.append(x[i] + (x[i + 1] - x[i]) * y[i] / (y[i] - y[i + 1]))
    if len(x) and y[-1] == 0:
        found.append(x[-1])
    return list(dict.fromkeys(found))


def curves(run: Run, window: int) -> dict[str, pd.Series]:
    """Each output as epoch -> value: the training outputs as means over the `window` epochs ending at each epoch
    (one epoch's mean moves by as much as several epochs of trend), the evaluated ones as class means."""
    means = run.epoch_means().rolling(window, min_periods=window).mean()
    out = {m: means[m].dropna() for m in TRAINING}
    classes = run.class_means()
    out.update({m: classes.loc[m].dropna() for m in EVALUATED if m in classes.index})
    return out


def where_first_stood(a: Run, b: Run, window: int = 5) -> pd.DataFrame:
    """For each epoch the second run evaluated and each output: its value, and the epochs (lead = epoch minus the
    second run's epoch) at which the first run's curve took that value, or none within the first run's range."""
    ca, cb = curves(a, window), curves(b, window)
    evaluated = sorted({int(e) for m in EVALUATED if m in cb for e in cb[m].index})
    rows = []
    for epoch in evaluated:
        for metric in [m for m in TRAINING + EVALUATED if m in ca and m in cb and epoch in cb[m].index]:
            first, value = ca[metric], float(cb[metric].loc[epoch])
            at = crossings(first.index, first.values, value)
            rows.append({"epoch": epoch, "metric": metric, "second": value, "first run at": at,
                         "leads": [e - epoch for e in at], "first run's range": (first.min(), first.max()),
                         "first run's epochs": (int(first.index.min()), int(first.index.max()))})
    return pd.DataFrame(rows)


def _stood(row: dict) -> str:
    if not row["first run at"]:
        (low, high), (start, end) = row["first run's range"], row["first run's epochs"]
        return f"never (its range {low:.3g} to {high:.3g}, epochs {start}-{end})"
    return ", ".join(f"{e:.1f} ({lead:+.1f})" for e, lead in zip(row["first run at"], row["leads"]))


def preconditions(a: Run, b: Run) -> list[str]:
    lines = []
    for label, run in (("First", a), ("Second", b)):
        lines.append(f"{label}: `{run.name}`, " + "; ".join(run.sittings()) + ".")
    same_code = a.commits() == b.commits() and len(a.commits()) == 1
    lines.append("Code: " + ("the same commit in every sitting of both." if same_code else
                             f"differs: {sorted(a.commits())} against {sorted(b.commits())}."))
    ca, cb = a.record.get("config", {}), b.record.get("config", {})
    keys = sorted(k for k in set(ca) | set(cb) if ca.get(k) != cb.get(k) and k != "train.epochs")
    lines.append("Configuration: " + ("the same (the epochs asked for aside)." if not keys else
                                      "differs in " + ", ".join(f"{k} ({ca.get(k)!r} against {cb.get(k)!r})"
                                                                for k in keys) + "."))
    lines.append("Library versions: " + ("the same in every sitting." if len(a.versions() | b.versions()) == 1
                                         else "differ between sittings."))
    ka, kb = (run.record.get("reference_classifier") or {} for run in (a, b))
    same = ka.get("weights_digest") is not None and ka.get("weights_digest") == kb.get("weights_digest")
    lines.append("Reference classifier: " + ("the same weights in both, so the domain metrics compare exactly."
                                             if same else "not shown to be the same weights (first: "
                                             f"{_classifier(ka)}; second: {_classifier(kb)}), so the domain "
                                             "metrics (label fidelity, domain FID, precision, recall, coverage) "
                                             "compare only roughly."))
    return lines


def _classifier(record: dict) -> str:
    if not record or record.get("unrecorded"):
        return "not recorded"
    return (f"weights {str(record.get('weights_digest') or 'not recorded')[:12]}, test accuracy "
            f"{record.get('test_accuracy')}")


def markdown(a: Run, b: Run, window: int = 5) -> tuple[str, pd.DataFrame]:
    lines = preconditions(a, b) + [""]
    alike, first = first_difference(a, b)
    if first.empty:
        lines.append(f"**Every one of the {alike:,} steps both runs logged is the same to the bit.**")
    else:
        step = int(first.index.get_level_values(-1)[0])
        epoch = int(a.steps.loc[step, "epoch"])
        if alike:
            lines.append(f"**The logged numbers are the same to the bit for {alike:,} step{'s' * (alike != 1)} and "
                         f"differ from step {step:,} on** (epoch {epoch}):")
        else:
            lines.append(f"**The logged numbers differ from the first step on** (step {step:,}, epoch {epoch}):")
        lines += ["", "| run | " + " | ".join(TRAINING) + " |", "|---" * (len(TRAINING) + 1) + "|"]
        for (run, _), row in first.iterrows():
            lines.append(f"| {run} | " + " | ".join(repr(float(v)) for v in row) + " |")
    ea, eb = a.epoch_means(), b.epoch_means()
    common = ea.index.intersection(eb.index)
    lines += ["", "Per-epoch means of the logged steps (first / second run):", "",
              "| epoch | " + " | ".join(TRAINING) + " |", "|---" * (len(TRAINING) + 1) + "|"]
    for epoch in common:
        lines.append(f"| {epoch} | " + " | ".join(f"{ea.loc[epoch, m]:.3f} / {eb.loc[epoch, m]:.3f}"
                                                   for m in TRAINING) + " |")
    table = evaluations(a, b)
    if not table.empty:
        lines += ["", "Class means at the epochs both runs evaluated; the first run's move since its previous "
                  "evaluation of the same output; and the mean over the ten classes of the two runs' per-class "
                  "difference:", "",
                  "| output | epoch | first | second | second - first | first run's move (since epoch) | "
                  "per-class mean abs. difference |", "|---|---|---|---|---|---|---|"]
        for r in table.to_dict("records"):
            moved = r["first run's move"]
            move = "" if pd.isna(moved) else f"{moved:+.3g} ({r['since epoch']:.0f})"
            lines.append(f"| {r['metric']} | {r['epoch']} | {r['first']:.3g} | {r['second']:.3g} | "
                         f"{r['difference']:+.3g} | {move} | {r['per-class |difference|']:.3g} |")
    stood = where_first_stood(a, b, window)
    if not stood.empty:
        lines += ["", f"Where the first run stood: at each epoch the second run evaluated, the epochs at which the "
                  f"first run's curve (straight between its points) took the second run's value, and in brackets "
                  f"that epoch minus the second run's (the training outputs as means over the {window} epochs "
                  f"ending at each epoch, the evaluated ones as class means):", "",
                  "| epoch | output | second | the first run at that value: epoch (lead) |", "|---|---|---|---|"]
        for r in stood.to_dict("records"):
            lines.append(f"| {r['epoch']} | {r['metric']} | {r['second']:.3g} | {_stood(r)} |")
    return "\n".join(lines) + "\n", table


def figure(a: Run, b: Run, path: Path) -> None:
    """Both runs' D accuracy on real images and losses, a moving mean over one epoch's steps, against epochs."""
    plt = pyplot()

    last = min(int(a.steps["epoch"].max()), int(b.steps["epoch"].max()))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for run, label in ((a, "first: " + a.cpus()), (b, "second: " + b.cpus())):
        steps = run.steps[run.steps["epoch"] <= last]
        window = int(steps.groupby("epoch").size().iloc[0])
        x = steps.index / window
        for ax, metric in zip(axes, ("d_acc_real", "d_loss", "g_loss")):
            ax.plot(x, steps[metric].rolling(window, min_periods=window).mean(), label=label, lw=1)
            ax.set_title(metric)
            ax.set_xlabel("epoch")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8)
    fig.suptitle("the same code and seed on two machines (moving mean over one epoch's steps)")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    save_figure(fig, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path, help="a run folder")
    parser.add_argument("second", type=Path, help="a run folder of the same protocol, code and seed")
    parser.add_argument("--out", type=Path, help="also write the Markdown here (and the evaluations as CSV beside it)")
    parser.add_argument("--figure", type=Path, help="also draw both runs' training curves (PNG)")
    parser.add_argument("--window", type=int, default=5,
                        help="epochs the training outputs are averaged over before placing one run on the other's "
                             "curves (default 5)")
    args = parser.parse_args(argv)
    if args.window < 1:
        parser.error(f"--window {args.window}: must be at least 1")
    a, b = Run(args.first), Run(args.second)
    text, table = markdown(a, b, args.window)
    print(text, end="")
    if args.out:
        atomicio.write_text(args.out, text)
        atomicio.write_text(args.out.with_suffix(".csv"), table.to_csv(index=False))
    if args.figure:
        figure(a, b, args.figure)
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
