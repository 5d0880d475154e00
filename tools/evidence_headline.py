"""Dev tool: the README's evidence tables, from a committed report's CSVs (so the README's figures are the report's).

    python tools/evidence_headline.py docs/evidence/bench [--variants BASELINE,OTHER,...] [--modern VARIANT]

Prints three Markdown tables: the class means per variant (mean +- 95% CI over seeds), the paired tests against
the baseline (difference, CI, p, pairs: primary metrics with Holm over the declared family, the others
exploratory, Holm within the metric), and the per-class FID/KID/label fidelity of the baseline and one
other variant beside the real-vs-real floor and the paper's figures. Reads only `harness report` output.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from harness.data import eurosat

MEANS = [("fid", "fid-per-class.csv", 1), ("kid", "kid-per-class.csv", 3),
         ("label fidelity", "label-fidelity-per-class.csv", 3), ("domain FID", "domain-fid-per-class.csv", 1),
         ("domain precision", "domain-precision-k5-per-class.csv", 3),
         ("Inception precision", "precision-k5-per-class.csv", 3)]
TESTS = [("label fidelity", "label-fidelity-vs-baseline.csv", "label_fidelity difference", 3),
         ("domain FID", "domain-fid-vs-baseline.csv", "domain_fid difference", 1),
         ("domain precision", "domain-precision-k5-vs-baseline.csv", "domain_precision difference", 3),
         ("domain recall", "domain-recall-k5-vs-baseline.csv", "domain_recall difference", 3),
         ("Inception precision", "precision-k5-vs-baseline.csv", "precision difference", 3),
         ("FID", "fid-vs-baseline.csv", "fid difference", 1), ("KID", "kid-vs-baseline.csv", "kid difference", 3)]
PER_CLASS = [("FID", "fid-per-class.csv", 0), ("KID", "kid-per-class.csv", 3),
             ("label fidelity", "label-fidelity-per-class.csv", 2)]
SHORT = {"HerbaceousVegetation": "HerbVeg", "PermanentCrop": "PermCrop", "AnnualCrop": "AnnCrop"}
FAMILY_P = "p (Holm, primary family)"  # the report's column (harness.report.tables.FAMILY_P)
REFERENCE_ROWS = {"real vs real": "real vs real (floor)", "paper (2022)": "the paper (Keras Inception, N = 500)"}


def table(header: list[str], rows: list[list[str]], align: str = "---") -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + [align] * (len(header) - 1)) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def class_means(report: Path, order: list[str]) -> str:
    cells: dict[str, dict[str, str]] = {}
    for name, file, digits in MEANS:
        frame = pd.read_csv(report / file)
        for _, r in frame[frame["class"] == "mean"].iterrows():
            cells.setdefault(r["group"], {"seeds": str(int(r["seeds"]))})[name] = \
                f"{r['mean']:.{digits}f} ± {r['ci95']:.{digits}f}"
    return table(["variant", "seeds"] + [n for n, _, _ in MEANS],
                 [[v, cells[v]["seeds"]] + [cells[v].get(n, "") for n, _, _ in MEANS] for v in order if v in cells])


def paired_tests(report: Path, others: list[str]) -> str:
    rows = []
    for name, file, column, digits in TESTS:
        frame = pd.read_csv(report / file).set_index("variant")
        row = [name]
        for v in others:
            if v not in frame.index:
                row.append("")
                continue
            r = frame.loc[v]
            # A primary metric's verdict is on the declared family (Holm over every variant x primary metric);
            # an exploratory one's p adjusts over its variants only, and is never bold.
            primary = FAMILY_P in frame.columns and pd.notna(r.get(FAMILY_P))
            p = r[FAMILY_P] if primary else r["p (Holm)"]
            bold = "**" if primary and p < 0.05 else ""
            which = "family p" if primary else "exploratory p"
            row.append(f"{bold}{r[column]:+.{digits}f} ± {r['ci95']:.{digits}f}, {which} = {p:.2g}{bold} "
                       f"({int(r['pairs'])} pairs)")
        rows.append(row)
    return table(["metric"] + others, rows)


def per_class(report: Path, variants: list[str], labels: dict[str, str]) -> str:
    classes = list(eurosat.CLASSES) + ["mean"]
    rows = []
    for name, file, digits in PER_CLASS:
        frame = pd.read_csv(report / file)
        groups = variants + (list(REFERENCE_ROWS) if name == "FID" else [])
        for group in groups:
            sub = frame[frame["group"].astype(str).str.startswith(group)].set_index("class")
            if sub.empty:
                continue
            row = [f"{name}, {labels.get(group, REFERENCE_ROWS.get(group, group))}"]
            for cls in classes:
                if cls not in sub.index or pd.isna(sub.loc[cls, "mean"]):
                    row.append("")
                    continue
                mean, half = sub.loc[cls, "mean"], sub.loc[cls, "ci95"]
                row.append(f"{mean:.{digits}f}" + (f" ± {half:.{digits}f}" if pd.notna(half) else ""))
            rows.append(row)
    return table(["per class"] + [SHORT.get(c, c) for c in classes], rows, align="---:")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="a `harness report --format md` folder")
    parser.add_argument("--variants",
                        default="paper_dcgan,no_batchnorm,label_embedding,sn_hinge_projection_diffaug_ema",
                        help="the rows and columns, in order; the first is the report's baseline")
    parser.add_argument("--modern", default="sn_hinge_projection_diffaug_ema", help="per class beside the baseline")
    args = parser.parse_args(argv)
    order = args.variants.split(",")
    print(class_means(args.report, order), end="\n\n")
    print(paired_tests(args.report, order[1:]), end="\n\n")
    print(per_class(args.report, [order[0], args.modern], {args.modern: "modern"}))
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
