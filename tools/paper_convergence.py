"""Dev tool: the paper protocol's run checked against the study's Figures 9-11, claim by claim.

    python tools/paper_convergence.py docs/evidence/paper/runs/paper_dcgan-paper-s0 \
        --floor docs/evidence/paper/floor.csv \
        --out docs/evidence/paper/convergence.md --figure docs/evidence/paper/convergence.png

The study (section 3.3) reads three things off its curves and takes them as evidence of non-convergence. Each is
turned here into a declared test on the run's own numbers, so that "does the harness's paper_dcgan behave like the
paper's?" gets an answer that can be wrong, and says "not reached" while the run is too short to tell:

- Figure 9, "a low FID after epoch 50, then a floor": the class-mean Inception FID of the evaluations (every 10
  epochs), as a Theil-Sen slope per 10 epochs over the evaluations up to epoch 50 and over those from epoch 50 on.
  It holds when the slope up to 50 is below zero and the slope from 50 on has a 95% interval that contains zero.
  Needs three evaluations from epoch 50 on.
- Figure 10, "the losses wildly diverge from about epoch 80": the distance |G loss - D loss| between the two
  per-epoch mean losses, as a Theil-Sen slope per epoch over epochs 80 and later. It holds when that slope's 95%
  interval lies above zero. Needs epochs 80 to 89.
- Figure 11, "D's binary accuracy goes down with each successive epoch": D's accuracy over a batch of real and
  generated images alike (the mean of its accuracy on each, as Keras's binary accuracy on a balanced batch), as a
  Theil-Sen slope per epoch with its 95% interval and a Mann-Kendall trend test (Kendall's tau against the epoch),
  over all epochs and over the later half. It holds over a span when the slope's interval lies below zero.
  Needs five epochs.

Beside them, Figure 3's ordering at each FID evaluation: the best and worst class, whether the four classes the
paper names fall in its order, and, given tools/paper_floor.py's real-vs-real floors, Kendall's tau between the
classes' FID and their floors (how far the ordering is the classes' own) and the best and worst class above the
floor; and between consecutive FID evaluations, in how many classes Inception FID and the reference classifier's
domain FID move the same way.

Per-epoch means are autocorrelated, so the trend tests' p-values and intervals are optimistic; they describe one
run (one seed, as the paper's), not a population of runs. The study trained 300 epochs on a GPU; this run stops at
100 at most, so "a floor through epoch 300" is out of its reach and is not tested.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from harness import atomicio
from harness.data import eurosat
from harness.evaluate.metrics.inception_distances import PAPER_FID
from harness.report.plotting import pyplot, save_figure
from harness.report.tables import scheduled_rows
from harness.rows import D_WON_ACCURACY
from harness.runs.rundir import RunDir, numeric_values

FID_FLOOR_FROM = 50  # Figure 9: "a low FID score after epoch 50", then a floor
LOSSES_DIVERGE_FROM = 80  # Figure 10: "wildly diverging starting from around epoch 80"
MIN_EVALUATIONS = 3  # evaluations from epoch 50 on before Figure 9's floor is judged
MIN_EPOCHS_AFTER = 10  # epochs from epoch 80 on before Figure 10's divergence is judged
MIN_EPOCHS = 5  # epochs before Figure 11's trend is judged


@dataclass
class Trend:
    """A Theil-Sen slope with its 95% interval, and Kendall's tau against x with its two-sided p-value."""
    slope: float
    low: float
    high: float
    tau: float
    p: float
    n: int

    @classmethod
    def of(cls, x, y) -> "Trend":
        x, y = np.asarray(x, float), np.asarray(y, float)
        slope, _, low, high = stats.theilslopes(y, x, alpha=0.95)
        tau = stats.kendalltau(x, y)
        return cls(float(slope), float(low), float(high), float(tau.statistic), float(tau.pvalue), len(x))

    def text(self, unit: str) -> str:
        return (f"{self.slope:+.3g} {unit} (95% interval {self.low:+.3g} to {self.high:+.3g}; Kendall tau "
                f"{self.tau:+.2f}, p {self.p:.2g}; {self.n} points)")


class PaperRun:
    """The run's per-epoch training means, its class-mean evaluations, and which machine trained which epochs."""

    def __init__(self, folder: Path):
        rd = RunDir(Path(folder))
        self.record = rd.read_record()
        self.name = rd.run_id
        metrics = rd.tables()[0]
        metrics = numeric_values(metrics)
        whole = metrics[metrics["class"].isna() | (metrics["class"] == "")]
        self.epochs = whole.pivot_table(index="epoch", columns="metric", values="value", aggfunc="last")
        self.epochs.index = self.epochs.index.astype(int)
        self.epochs["d_acc_binary"] = (self.epochs["d_acc_real"] + self.epochs["d_acc_fake"]) / 2
        self.epochs["loss_gap"] = (self.epochs["g_loss"] - self.epochs["d_loss"]).abs()
        per_class = scheduled_rows(metrics[metrics["class"].isin(eurosat.CLASSES)])
        self.per_class = per_class.pivot_table(index=["metric", "epoch"], columns="class", values="value",
                                               aggfunc="last")

    @property
    def reached(self) -> int:
        return int(self.epochs.index.max()) if len(self.epochs) else 0

    def classes(self, metric: str) -> pd.DataFrame:
        """`metric` per class (columns) at each epoch it was evaluated (index); empty if never evaluated."""
        if metric not in self.per_class.index.get_level_values(0):
            return pd.DataFrame(dtype=float)
        table = self.per_class.loc[metric]
        table.index = table.index.astype(int)
        return table

    def evaluated(self, metric: str) -> pd.Series:
        """The class mean of `metric` at each epoch it was evaluated."""
        return self.classes(metric).mean(axis=1)

    def sittings(self) -> list[Sitting]:
        """Each sitting's epochs, machine, code and measured cost; the last runs to the epoch reached."""
        out, sittings = [], self.record.get("sittings") or []
        for i, s in enumerate(sittings):
            first = int(s.get("from_epoch", 0)) + 1
            last = int(sittings[i + 1]["from_epoch"]) if i + 1 < len(sittings) else self.reached
            if last >= first:
                machine = s.get("machine") or {}
                span = self.epochs.loc[first:last]
                out.append(Sitting(first, last, machine.get("cpu", "not recorded"), machine.get("usable_cores"),
                                   ((s.get("code") or {}).get("commit") or "not recorded")[:7],
                                   _column(span, "wall_time_s"), _column(span, "images_per_s")))
        return out


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    return table[name].dropna() if name in table else pd.Series(dtype=float)


@dataclass
class Sitting:
    """One sitting of the run. Seconds and images/s are per epoch of training, without the evaluations; usable
    cores is None where the code that trained it did not record CPU affinity (read the job log instead)."""
    first: int
    last: int
    cpu: str
    usable_cores: int | None
    commit: str
    seconds: pd.Series
    images_per_s: pd.Series

    def row(self) -> str:
        epochs = f"{self.first}-{self.last}" if self.last > self.first else f"{self.first}"
        cores = "not recorded" if self.usable_cores is None else str(self.usable_cores)
        return f"| {epochs} | {self.cpu} | {cores} | {_spread(self.seconds, '.0f')} | " \
               f"{_spread(self.images_per_s, '.1f')} | {self.commit} |"


def _spread(values: pd.Series, fmt: str) -> str:
    """The median with the range beside it, or one value, or nothing recorded."""
    if values.empty:
        return "not recorded"
    if len(values) == 1:
        return format(values.iloc[0], fmt)
    return f"{values.median():{fmt}} ({values.min():{fmt}}-{values.max():{fmt}})"


@dataclass
class Claim:
    figure: str
    claim: str
    test: str
    shown: str
    verdict: str


def fid_floor(run: PaperRun) -> Claim:
    fid = run.evaluated("fid").dropna()
    before, after = fid[fid.index <= FID_FLOOR_FROM], fid[fid.index >= FID_FLOOR_FROM]
    claim = "FID reaches a low score after epoch 50, then a floor"
    test = (f"class-mean FID, Theil-Sen slope per 10 epochs up to epoch {FID_FLOOR_FROM} (< 0) and from it on "
            f"(95% interval contains 0; at least {MIN_EVALUATIONS} evaluations)")
    values = ", ".join(f"{e}: {v:.1f}" for e, v in fid.items()) or "none yet"
    if len(after) < MIN_EVALUATIONS:
        return Claim("9", claim, test, f"FID at epoch{'s' * (len(fid) != 1)} {values}",
                     f"not reached (run at epoch {run.reached})")
    up, on = Trend.of(before.index / 10, before), Trend.of(after.index / 10, after)
    shown = f"FID at epochs {values}; up to {FID_FLOOR_FROM}: {up.text('per 10 epochs')}; from it: " \
            f"{on.text('per 10 epochs')}"
    holds = up.slope < 0 and on.low <= 0 <= on.high
    return Claim("9", claim, test, shown, "holds" if holds else (
        "does not hold: FID still changes after epoch 50" if not on.low <= 0 <= on.high
        else "does not hold: FID did not fall before epoch 50"))


def losses_diverge(run: PaperRun) -> Claim:
    gap = run.epochs["loss_gap"].dropna()
    claim = "D and G losses diverge from about epoch 80"
    test = (f"distance between the G and D losses per epoch, Theil-Sen slope from epoch {LOSSES_DIVERGE_FROM} "
            "(95% interval > 0)")
    so_far = Trend.of(gap.index, gap) if len(gap) >= MIN_EPOCHS else None
    shown = f"distance at epoch {gap.index.max()}: {gap.iloc[-1]:.2f}" if len(gap) else "no epochs"
    if so_far:
        shown += f"; over epochs 1-{gap.index.max()}: {so_far.text('per epoch')}"
    after = gap[gap.index >= LOSSES_DIVERGE_FROM]
    if len(after) < MIN_EPOCHS_AFTER:
        return Claim("10", claim, test, shown, f"not reached (run at epoch {run.reached})")
    on = Trend.of(after.index, after)
    shown += f"; from epoch {LOSSES_DIVERGE_FROM}: {on.text('per epoch')}"
    return Claim("10", claim, test, shown, "holds" if on.low > 0 else "does not hold")


def accuracy_falls(run: PaperRun) -> Claim:
    acc = run.epochs["d_acc_binary"].dropna()
    claim = "D's binary accuracy goes down with each successive epoch"
    test = "(accuracy on real + on generated) / 2 per epoch, Theil-Sen slope (95% interval < 0), Mann-Kendall"
    if len(acc) < MIN_EPOCHS:
        return Claim("11", claim, test, f"{len(acc)} epochs", f"not reached (run at epoch {run.reached})")
    whole = Trend.of(acc.index, acc)
    later = acc[acc.index > acc.index.max() // 2]
    half = Trend.of(later.index, later) if len(later) >= MIN_EPOCHS else None
    shown = (f"{acc.iloc[0]:.3f} at epoch {acc.index.min()}, highest {acc.max():.3f} (epoch {acc.idxmax()}), "
             f"{acc.iloc[-1]:.3f} at epoch {acc.index.max()}; epochs {acc.index.min()}-{acc.index.max()}: "
             f"{whole.text('per epoch')}")
    if half:
        shown += f"; epochs {later.index.min()}-{later.index.max()}: {half.text('per epoch')}"
    verdict = "holds" if whole.high < 0 else "does not hold"
    if half and whole.high < 0 and not half.high < 0:
        verdict = (f"holds over epochs 1-{acc.index.max()}; over the later half ({later.index.min()}-"
                   f"{later.index.max()}) a fall is not shown")
    return Claim("11", claim, test, shown, verdict)


def discriminator_won(run: PaperRun) -> str:
    worst = run.epochs[["d_acc_real", "d_acc_fake"]].min(axis=1)
    won = worst.index[worst >= D_WON_ACCURACY]
    return (f"D won (at least {100 * D_WON_ACCURACY:.0f}% right on real and generated images) in "
            f"{len(won)} of {len(worst)} epochs" + (f": {', '.join(map(str, won))}" if len(won) else "") +
            f"; its least accuracy in an epoch ranged {worst.min():.3f}-{worst.max():.3f}.")


CHURN = 0.3  # a class whose label fidelity moves by more than this between evaluations changed its verdict


def class_churn(run: PaperRun) -> list[str]:
    """Markdown: label fidelity per class at each evaluation, and how much the classes move between consecutive
    evaluations (mean |change| over the classes, and how many move by more than CHURN). A flat class mean can hide
    a generator that keeps changing which classes it draws recognisably: the paper's curves cannot show that."""
    table = run.classes("label_fidelity")
    if len(table) < 2:
        return []
    moves = table.diff().abs().iloc[1:]
    lines = ["| label fidelity | " + " | ".join(str(e) for e in table.index) + " |", "|---" * (len(table) + 1) + "|"]
    lines += [f"| {cls} | " + " | ".join(f"{v:.2f}" for v in table[cls]) + " |" for cls in table.columns]
    lines.append("| class mean | " + " | ".join(f"{v:.3f}" for v in run.evaluated("label_fidelity")) + " |")
    lines += ["", "Between consecutive evaluations: " + "; ".join(
        f"{a}-{b}: mean |change| {m.mean():.3f}, {int((m > CHURN).sum())} of {len(m)} classes by more than {CHURN}"
        for a, b, (_, m) in zip(table.index[:-1], table.index[1:], moves.iterrows())) + "."]
    return lines


def feature_agreement(run: PaperRun) -> list[str]:
    """Markdown: between consecutive evaluations with both, does Inception FID move the way the reference
    classifier's domain FID does? Per class, how many classes both improve, both worsen or split, and the class
    means' changes. The two networks see different things (ImageNet objects at 299 px, EuroSAT classes at 64 px),
    so one FID curve alone can read as progress or as non-convergence for the same generator."""
    inception, domain = run.classes("fid"), run.classes("domain_fid")
    epochs = inception.index.intersection(domain.index)
    if len(epochs) < 2:
        return []
    lines = ["| epochs | Inception FID, class mean | domain FID, class mean | classes both better | both worse | "
             "split |", "|---|---|---|---|---|---|"]
    for a, b in zip(epochs[:-1], epochs[1:]):
        di, dd = inception.loc[b] - inception.loc[a], domain.loc[b] - domain.loc[a]
        both = di.index.intersection(dd.index)
        di, dd = di[both], dd[both]
        split = [c for c in both if (di[c] < 0) != (dd[c] < 0)]
        lines.append(f"| {a}-{b} | {inception.loc[a].mean():.1f} -> {inception.loc[b].mean():.1f} | "
                     f"{domain.loc[a].mean():.1f} -> {domain.loc[b].mean():.1f} | {int(((di < 0) & (dd < 0)).sum())} | "
                     f"{int(((di >= 0) & (dd >= 0)).sum())} | {len(split)}" + (f": {', '.join(split)}" if split else "")
                     + " |")
    return lines


def class_order(run: PaperRun, floor: pd.Series | None = None) -> list[str]:
    """Figure 3's ordering at each FID evaluation: the best and worst class, whether the four classes the paper
    names fall in its order, and (given the real-vs-real floor per class) how far the ordering is the classes'
    own: Kendall's tau between the classes' FID and their floors, and the best and worst class above the floor."""
    table = run.classes("fid")
    if table.empty:
        return []
    named = sorted((c for c in PAPER_FID if c in eurosat.CLASSES), key=PAPER_FID.get)
    header = "| epoch | best | worst | " + " < ".join(named) + " |"
    if floor is not None:
        header += " Kendall tau with the floors | best above the floor | worst above the floor |"
    lines = [header, "|---" * (header.count("|") - 1) + "|"]
    for epoch, fid in table.iterrows():
        fid = fid.dropna()
        in_order = all(fid.get(a, np.nan) < fid.get(b, np.nan) for a, b in zip(named, named[1:]))
        cells = [str(epoch), f"{fid.idxmin()} {fid.min():.1f}", f"{fid.idxmax()} {fid.max():.1f}",
                 "yes" if in_order else "no: " + " < ".join(fid.reindex(named).dropna().sort_values().index)]
        if floor is not None:
            both = fid.index.intersection(floor.index)
            tau = stats.kendalltau(fid[both], floor[both])
            gap = fid[both] - floor[both]
            cells += [f"{tau.statistic:+.2f} (p {tau.pvalue:.2g}, {len(both)} classes)",
                      f"{gap.idxmin()} {gap.min():.1f}", f"{gap.idxmax()} {gap.max():.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def read_floor(path: Path) -> pd.Series:
    """The mean real-vs-real FID per class from tools/paper_floor.py's CSV."""
    table = pd.read_csv(path)
    table = table[table["class"].isin(eurosat.CLASSES)]
    return table.set_index("class")["floor mean"].astype(float)


def claims(run: PaperRun) -> list[Claim]:
    return [fid_floor(run), losses_diverge(run), accuracy_falls(run)]


def markdown(run: PaperRun, floor: pd.Series | None = None) -> str:
    lines = [f"`{run.name}`, {run.reached} epochs trained. Seconds and images/s: each epoch's training (the "
             "evaluations not counted), median and range over the sitting's epochs; what else ran on the machine "
             "is not recorded.", "",
             "| epochs | CPU | usable cores | s an epoch | img/s | code |", "|---|---|---|---|---|---|"]
    lines += [s.row() for s in run.sittings()]
    lines += ["", "| figure | the paper's claim | test | this run | verdict |", "|---|---|---|---|---|"]
    lines += [f"| {c.figure} | {c.claim} | {c.test} | {c.shown} | {c.verdict} |" for c in claims(run)]
    order = class_order(run, floor)
    if order:
        lines += ["", "Figure 3's ordering at each evaluation (per-class Inception FID at N = 500"
                  + ("; floor: two real samples of the class at the same N" if floor is not None else "") + "):",
                  "", *order]
    agreement = feature_agreement(run)
    if agreement:
        lines += ["", "Inception FID against the reference classifier's domain FID, per class (lower is better for "
                  "both):", "", *agreement]
    churn = class_churn(run)
    lines += ["", discriminator_won(run)] + (["", *churn] if churn else [])
    lines += ["", "| epoch | D loss | G loss | D acc real | D acc generated | "
              "binary acc | class-mean FID | KID | label fidelity | domain FID |", "|---" * 10 + "|"]
    evaluated = {m: run.evaluated(m) for m in ("fid", "kid", "label_fidelity", "domain_fid")}
    for epoch, r in run.epochs.iterrows():
        cells = [f"{r[m]:.3f}" for m in ("d_loss", "g_loss", "d_acc_real", "d_acc_fake", "d_acc_binary")]
        cells += [f"{evaluated[m][epoch]:.3g}" if epoch in evaluated[m].index else "" for m in evaluated]
        lines.append(f"| {epoch} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def figure(run: PaperRun, path: Path, floor: pd.Series | None = None) -> None:
    """Three panels laid out as the paper's Figures 9, 10 and 11, with the epochs its text names marked and, given
    the floors, the class mean a generator as good as the real data would reach."""
    plt = pyplot()

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    last = max(100, run.reached)
    table = run.classes("fid")
    if not table.empty:
        axes[0].fill_between(table.index, table.min(axis=1), table.max(axis=1), alpha=0.2, label="classes, min-max")
        axes[0].plot(table.index, table.mean(axis=1), "o-", label="class mean")
    if floor is not None:
        axes[0].axhline(floor.mean(), color="black", linestyle="--", label="real vs real, class mean")
    if not table.empty or floor is not None:
        axes[0].legend()
    axes[0].set(title="FID throughout training (Fig. 9)", ylabel="Inception FID, N = 500 per class")
    axes[1].plot(run.epochs.index, run.epochs["d_loss"], label="D loss")
    axes[1].plot(run.epochs.index, run.epochs["g_loss"], label="G loss")
    axes[1].set(title="Loss throughout training (Fig. 10)", ylabel="mean loss per epoch")
    axes[1].legend()
    for col, label in (("d_acc_real", "on real"), ("d_acc_fake", "on generated"), ("d_acc_binary", "binary")):
        axes[2].plot(run.epochs.index, run.epochs[col], label=label)
    axes[2].set(title="D's accuracy (Fig. 11)", ylabel="mean accuracy per epoch", ylim=(0, 1))
    axes[2].legend()
    for ax, mark in ((axes[0], FID_FLOOR_FROM), (axes[1], LOSSES_DIVERGE_FROM)):
        ax.axvline(mark, color="grey", linestyle=":")
    for ax in axes:
        ax.set(xlabel="epoch", xlim=(0, last))
    fig.suptitle(f"{run.name}: the paper's convergence figures, {run.reached} epochs")
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the paper protocol's run folder")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    parser.add_argument("--figure", type=Path, help="also draw the three panels (PNG)")
    parser.add_argument("--floor", type=Path,
                        help="tools/paper_floor.py's CSV: set each class's FID beside its real-vs-real floor")
    args = parser.parse_args(argv)
    run = PaperRun(args.run)
    floor = read_floor(args.floor) if args.floor else None
    text = markdown(run, floor)
    print(text, end="")
    if args.out:
        atomicio.write_text(args.out, text)
    if args.figure:
        figure(run, args.figure, floor)
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
