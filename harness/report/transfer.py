"""Do conclusions at one budget hold at another? The paired comparisons of two reports, side by side.

Cheap benchmarks are useful only where their ranking predicts the expensive one. Given two `harness report`
folders made over the same variants at two budgets (e.g. `bench` and `long`), this pairs, for each variant and
each headline metric, the difference against the baseline at both (its 95% CI, Holm's p and pairs) and says
whether they agree: "held" (significant at both, same sign), "reversed" (significant at both, opposite signs),
"lost" (significant only at the first, though the second's seeds could detect a difference that large;
"lost (power unknown)" when the second report predates its detectable-difference column),
"too few seeds at <second>" (significant only at the first, and smaller than the second's seeds detect at 80%
power, so its absence there says nothing), "appeared" (only at the second), "undecided" (at neither: see the
report's detectable-difference column for whether that means "no difference" or "too few seeds"), and
"no test at <budget>" where a budget has fewer than 2 paired seeds (its sign is still shown).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.errors import RunError

# (shown name, the report's comparison file, its difference column)
HEADLINE = [
    ("label fidelity", "label-fidelity-vs-baseline.csv", "label_fidelity difference"),
    ("domain FID", "domain-fid-vs-baseline.csv", "domain_fid difference"),
    ("domain precision", "domain-precision-k5-vs-baseline.csv", "domain_precision difference"),
    ("Inception FID", "fid-vs-baseline.csv", "fid difference"),
    ("KID", "kid-vs-baseline.csv", "kid difference"),
    ("Inception precision", "precision-k5-vs-baseline.csv", "precision difference"),
]
ALPHA = 0.05
DETECTABLE = "detectable (80% power)"  # the report's column: the smallest difference its seeds detect


def verdict(first_difference: float, first_p: float, second_difference: float, second_p: float,
            alpha: float = ALPHA, second_detectable: float = float("nan"),
            labels: tuple[str, str] = ("bench", "long")) -> str:
    """How a conclusion at the first budget fares at the second (p: Holm-adjusted; `second_detectable`: the
    smallest difference the second budget's seeds detect at 80% power, from its report, when known)."""
    untested = [label for label, p in zip(labels, (first_p, second_p)) if pd.isna(p)]
    if untested:
        return "no test at " + " and ".join(untested)
    first, second = bool(first_p < alpha), bool(second_p < alpha)
    if first and second:
        return "held" if (first_difference > 0) == (second_difference > 0) else "reversed"
    if first:
        if pd.isna(second_detectable):  # a report made before it stated its power
            return "lost (power unknown)"
        return f"too few seeds at {labels[1]}" if second_detectable > abs(first_difference) else "lost"
    return "appeared" if second else "undecided"


def _comparisons(report: Path, name: str, file: str, column: str) -> pd.DataFrame | None:
    path = report / file
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    missing = {"variant", column, "ci95", "p (Holm)", "pairs"} - set(frame.columns)
    if missing:
        raise RunError(f"{path}: not a report's comparison table (lacks {', '.join(sorted(missing))})")
    if DETECTABLE not in frame.columns:  # a report made before it had the power column
        frame[DETECTABLE] = float("nan")
    return frame.rename(columns={column: "difference"})[["variant", "difference", "ci95", "p (Holm)", "pairs",
                                                         DETECTABLE]]


def transfer(first: Path, second: Path, labels: tuple[str, str] = ("bench", "long")) -> pd.DataFrame:
    """One row per (variant, metric) that both reports compare with the baseline."""
    first, second = Path(first), Path(second)
    for folder in (first, second):
        if not any((folder / file).is_file() for _, file, _ in HEADLINE):
            raise RunError(f"{folder}: no comparison tables of a `harness report` here")
    rows = []
    a, b = labels
    for name, file, column in HEADLINE:
        one, two = _comparisons(first, name, file, column), _comparisons(second, name, file, column)
        if one is None or two is None:
            continue
        for _, x in one.merge(two, on="variant", suffixes=(f" {a}", f" {b}")).iterrows():
            rows.append({"variant": x["variant"], "metric": name,
                         **{f"{col} {lab}": x[f"{col} {lab}"] for lab in labels
                            for col in ("difference", "ci95", "p (Holm)", "pairs", DETECTABLE)},
                         "same sign": bool((x[f"difference {a}"] > 0) == (x[f"difference {b}"] > 0)),
                         "verdict": verdict(x[f"difference {a}"], x[f"p (Holm) {a}"], x[f"difference {b}"],
                                            x[f"p (Holm) {b}"], second_detectable=x[f"{DETECTABLE} {b}"],
                                            labels=labels)})
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame, labels: tuple[str, str] = ("bench", "long")) -> str:
    """The table as Markdown: each budget's difference ± CI (Holm p, pairs), then sign and verdict."""
    def cell(r, lab):
        pairs = int(r[f"pairs {lab}"])
        if pd.isna(r[f"p (Holm) {lab}"]):
            return f"{r[f'difference {lab}']:+.3g} ({pairs} pair{'s' * (pairs != 1)}, no test)"
        return (f"{r[f'difference {lab}']:+.3g} ± {r[f'ci95 {lab}']:.2g} "
                f"(p = {r[f'p (Holm) {lab}']:.2g}, {pairs} pairs)")
    lines = [f"| variant | metric | {labels[0]} | {labels[1]} | same sign | verdict |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['metric']} | {cell(r, labels[0])} | {cell(r, labels[1])} | "
              f"{'yes' if r['same sign'] else 'no'} | {r['verdict']} |" for _, r in table.iterrows()]
    return "\n".join(lines) + "\n\n" + summary(table, labels) + "\n"


def summary(table: pd.DataFrame, labels: tuple[str, str] = ("bench", "long")) -> str:
    """One sentence: what became of the first budget's conclusions (its significant differences) at the second,
    and how many differences only the second found."""
    a, b = labels
    first = table[table[f"p (Holm) {a}"] < ALPHA]
    order = ("held", "reversed", "lost", "too few", "no test")  # most to least decided
    counts = first["verdict"].value_counts()
    fates = ", ".join(f"{counts[v]} {v}" for v in sorted(counts.index, key=lambda v: (
        next((i for i, o in enumerate(order) if v.startswith(o)), len(order)), v)))
    appeared = int((table["verdict"] == "appeared").sum())
    return (f"Of the {len(first)} differences significant at {a} (Holm p < {ALPHA:g}): {fates or 'none'}. "
            f"Significant only at {b}: {appeared}.")
