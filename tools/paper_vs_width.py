"""Dev tool: the paper protocol's full-width run beside a narrower run of the same variant, at equal steps and
at equal images seen.

    python tools/paper_vs_width.py docs/evidence/paper/runs/paper_dcgan-paper-s0 \
        docs/evidence/curves-20k/runs/paper_dcgan-long-s0 --out docs/evidence/paper/vs-width.md

The two runs differ in width, batch size and images per epoch, so their epochs are not comparable. For each
epoch of the full-width run this sets its numbers beside the narrow run's over the same optimiser steps and over
the same number of images seen. Training numbers (losses, D accuracy) are means over exactly that window of
steps in each run's steps.csv; evaluated outputs are the narrow run's latest evaluation at or before that step or
image count (never one it made after more training than the full-width run had), with the step it was taken at.
Only outputs evaluated alike compare: FID is biased by N (compare KID, which is not, when the two N differ), and
domain metrics need the same reference classifier (both records name its digest, or say that they do not).
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
EVALUATED = ("label_fidelity", "domain_fid", "kid", "fid")


class Run:
    """One run's per-step table, per-epoch class-mean evaluations and what they were measured with."""

    def __init__(self, folder: Path):
        rd = RunDir(Path(folder))
        record = rd.read_record()
        self.name, cfg = rd.run_id, record["config"]
        self.width, self.batch = float(cfg["model.width"]), int(cfg["train.batch_size"])
        self.eval_n = int(cfg["eval.n"])
        self.classifier = (record.get("reference_classifier") or {}).get("weights_digest") or "not recorded"
        metrics, steps = rd.tables()
        self.steps = steps.astype({"epoch": int, "step": int})
        self.last_step = self.steps.groupby("epoch")["step"].max()
        metrics = numeric_values(metrics)
        evaluated = metrics["metric"].isin(EVALUATED) & metrics["class"].isin(eurosat.CLASSES)
        per_class = scheduled_rows(metrics[evaluated])  # one N per output, even after a later `harness eval --n`
        self.evaluated = per_class.groupby(["metric", "epoch"])["value"].mean().rename("value").reset_index()
        self.evaluated["step"] = self.evaluated["epoch"].map(self.last_step)

    def window(self, first: int, last: int, metric: str) -> float:
        """The mean of `metric` over steps first..last, or NaN where the run did not train them all."""
        rows = self.steps[(self.steps["step"] >= first) & (self.steps["step"] <= last)]
        if len(rows) < last - first + 1:
            return float("nan")
        return float(rows[metric].mean())

    def latest(self, metric: str, step: float) -> tuple[float, float, str]:
        """(value, step it was taken at, "") of the last evaluation of `metric` at or before `step`, or (NaN, NaN,
        why not): the run stopped before `step`, or had not evaluated `metric` by then."""
        if step > self.last_step.max():
            return np.nan, np.nan, "not trained"
        rows = self.evaluated[(self.evaluated["metric"] == metric) & (self.evaluated["step"] <= step)]
        if rows.empty:
            return np.nan, np.nan, "not evaluated by then"
        last = rows.loc[rows["step"].idxmax()]
        return float(last["value"]), float(last["step"]), ""


def compare(full: Run, narrow: Run) -> pd.DataFrame:
    ratio = full.batch / narrow.batch  # narrow steps per full step at equal images seen
    rows = []
    for epoch, last in full.last_step.items():
        first = int(full.last_step.get(epoch - 1, 0)) + 1
        row = {"epoch": int(epoch), "steps": int(last), "images": int(last) * full.batch}
        for metric in TRAINING:
            row[f"{metric} full"] = full.window(first, int(last), metric)
            row[f"{metric} equal steps"] = narrow.window(first, int(last), metric)
            row[f"{metric} equal images"] = narrow.window(int(round((first - 1) * ratio)) + 1,
                                                          int(round(last * ratio)), metric)
        for metric in EVALUATED:
            mine = full.evaluated[(full.evaluated["metric"] == metric) & (full.evaluated["epoch"] == epoch)]
            if mine.empty:
                continue
            row[f"{metric} full"] = float(mine["value"].iloc[0])
            for label, step in (("equal steps", last), ("equal images", last * ratio)):
                (row[f"{metric} {label}"], row[f"{metric} {label} step"],
                 row[f"{metric} {label} why"]) = narrow.latest(metric, step)
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, full: Run, narrow: Run) -> str:
    lines = [f"Full width: `{full.name}` (width {full.width:g}, batch {full.batch}, evaluated at N = {full.eval_n}, "
             f"reference classifier {full.classifier}). Narrow: `{narrow.name}` (width {narrow.width:g}, batch "
             f"{narrow.batch}, N = {narrow.eval_n}, reference classifier {narrow.classifier}).", "",
             "| epoch (steps, images) | output | full width | narrow, equal steps | narrow, equal images |",
             "|---|---|---|---|---|"]
    for r in table.to_dict("records"):
        where = f"{r['epoch']} ({r['steps']:,}, {r['images']:,})"
        for metric in TRAINING + EVALUATED:
            if pd.isna(r.get(f"{metric} full", np.nan)):
                continue
            cells = [f"{r[f'{metric} full']:.3g}"]
            for label in ("equal steps", "equal images"):
                value = r.get(f"{metric} {label}", np.nan)
                at = r.get(f"{metric} {label} step")
                if pd.isna(value):
                    cells.append(r.get(f"{metric} {label} why") or "not trained")
                    continue
                cells.append(f"{value:.3g}" + (
                    f" (step {int(at):,})" if at is not None and not pd.isna(at) else ""))
            lines.append(f"| {where} | {metric} | " + " | ".join(cells) + " |")
            where = ""
    notes = []
    if full.eval_n != narrow.eval_n and "fid full" in table:
        notes.append(f"FID at N = {full.eval_n} against N = {narrow.eval_n}: biased by N, so its levels do not "
                     "compare; KID is unbiased.")
    domain = any(f"{m} full" in table for m in ("label_fidelity", "domain_fid"))
    if domain and (full.classifier != narrow.classifier or "not recorded" in (full.classifier, narrow.classifier)):
        notes.append("The domain metrics (label fidelity, domain FID) were computed by reference classifiers that "
                     "are not shown to be the same weights: their levels compare only roughly.")
    return "\n".join(lines) + "\n" + "".join(f"\n{n}\n" for n in notes)


def figure(full: Run, narrow: Run, path: Path) -> None:
    """D's accuracy on real images and G's loss of both runs against steps and against images seen, each a
    moving mean over one full-width epoch's worth of images (so both curves are smoothed alike)."""
    plt = pyplot()

    last = int(full.steps["step"].max())
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharey="row")
    window_images = int(full.last_step.iloc[0]) * full.batch
    for run, label in ((full, f"width {full.width:g}, batch {full.batch}"),
                       (narrow, f"width {narrow.width:g}, batch {narrow.batch}")):
        window = max(1, window_images // run.batch)
        steps = run.steps[run.steps["step"] <= last * full.batch // run.batch]
        smooth = steps[["d_acc_real", "g_loss"]].rolling(window, min_periods=window).mean()
        for row, metric in enumerate(("d_acc_real", "g_loss")):
            axes[row, 0].plot(steps["step"], smooth[metric], label=label)
            axes[row, 1].plot(steps["step"] * run.batch, smooth[metric], label=label)
    for row, name in enumerate(("D accuracy on real images", "G loss")):
        axes[row, 0].set_ylabel(name)
    for col, name in enumerate(("optimiser steps", "images seen")):
        axes[1, col].set_xlabel(name)
        axes[0, col].set_xlim(0, last if col == 0 else last * full.batch)
        axes[1, col].set_xlim(0, last if col == 0 else last * full.batch)
    axes[0, 0].legend()
    fig.suptitle(f"{full.name} beside {narrow.name} (moving mean over {window_images:,} images)")
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("full", type=Path, help="the full-width run folder")
    parser.add_argument("narrow", type=Path, help="the narrower run folder")
    parser.add_argument("--out", type=Path, help="also write the Markdown here (and the table as CSV beside it)")
    parser.add_argument("--figure", type=Path, help="also draw both runs' curves against steps and images (PNG)")
    args = parser.parse_args(argv)
    full, narrow = Run(args.full), Run(args.narrow)
    table = compare(full, narrow)
    text = markdown(table, full, narrow)
    print(text, end="")
    if args.out:
        atomicio.write_text(args.out, text)
        atomicio.write_text(args.out.with_suffix(".csv"), table.to_csv(index=False))
    if args.figure:
        figure(full, narrow, args.figure)
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
