"""The report's figures (seaborn, written as PNG and SVG), each the counterpart of one of the paper's.

Every function takes the collected results and a folder, writes its figure(s)
and returns [(title, png path, caption)]. A figure with nothing to show is not
drawn; the caller says so in the report instead.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data import eurosat
from harness.report import stats
from harness.report.collect import Results
from harness.report.plotting import pyplot, save_figure
from harness.report.tables import (
    AUGMENTATION_COLUMNS,
    augmentation_rows,
    final_rows,
    group_labels,
    scheduled_rows,
    settings_values,
)

log = logging.getLogger("harness")
Figure = tuple[str, Path, str]


def _plt():
    import seaborn as sns

    plt = pyplot()

    sns.set_theme(style="whitegrid", context="notebook")
    return plt, sns


def _t_interval(values) -> tuple[float, float]:
    """Seaborn's error band as the tables' 95% CI (Student's t over seeds), not its random bootstrap."""
    mean, half, _ = stats.mean_ci(list(values))
    return (mean, mean) if not np.isfinite(half) else (mean - half, mean + half)


def _save(fig, out: Path, name: str, svg: bool = True) -> Path:
    png = save_figure(fig, out / f"{name}.png", close=not svg, bbox_inches="tight")
    if svg:
        # SVG element ids are random unless salted: with a fixed salt and no date a report remade from the same
        # runs writes the same bytes, so a committed report's diff shows only what its data changed. The salt is
        # set for this save only, not for the rest of the process.
        with pyplot().rc_context({"svg.hashsalt": "harness"}):
            save_figure(fig, out / f"{name}.svg", dpi="figure", bbox_inches="tight", metadata={"Date": None})
    return png


def _with_groups(results: Results, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(variant=frame["run"].map(group_labels(results)))


def _spread(rows: pd.DataFrame, what: str = "band", by: str = "variant") -> str:
    """What a figure's band (or whiskers) shows: a 95% CI over seeds, which a variant with one seed has not."""
    seeds = rows.groupby(by)["run"].nunique()
    if seeds.empty or seeds.max() < 2:
        return f"one seed per variant: no {what}"
    return f"{what}: 95% CI over seeds" + (" (none for a variant with one seed)" if seeds.min() < 2 else "")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def curve_rows(results: Results, metric: str) -> pd.DataFrame:
    """The rows a curve of `metric` against epoch draws: the classes and their mean, at one setting (e.g. k), and
    each run at one N, its evaluation schedule's; an evaluation at another N (`harness eval --n`) at an epoch
    the schedule covered would otherwise be averaged into that epoch's point."""
    m = results.metrics
    rows = m[(m["metric"] == metric) & (m["class"].isin(list(eurosat.CLASSES) + ["mean"]))]
    if rows.empty:
        return rows
    settings = settings_values(results, metric)
    return scheduled_rows(rows[rows["settings"].fillna("") == settings[0]])


def metric_curve(results: Results, out: Path, metric: str, title: str, caption: str) -> list[Figure]:
    """`metric` against epoch: the class mean with a band over seeds, and one panel per class; `caption` says
    what the metric is."""
    rows = curve_rows(results, metric)
    if rows.empty:
        return []
    rows = _with_groups(results, rows)
    plt, sns = _plt()
    figures = []
    mean = rows[rows["class"] == "mean"]
    if not mean.empty:
        fig, ax = plt.subplots(figsize=(7, 4))
        sns.lineplot(data=mean, x="epoch", y="value", hue="variant", errorbar=_t_interval, marker="o", ax=ax)
        ax.set(ylabel=f"{metric} (class mean)", title=title)
        figures.append((title, _save(fig, out, f"{metric}-vs-epoch"),
                        f"Class mean at each evaluated epoch; {_spread(mean)}. {caption}"))
    per_class = rows[rows["class"] != "mean"]
    if not per_class.empty:
        grid = sns.relplot(data=per_class, x="epoch", y="value", hue="variant", col="class", col_wrap=5,
                           kind="line", errorbar=_t_interval, marker="o", height=2.4, aspect=1.2,
                           facet_kws={"sharey": False})
        grid.set_titles("{col_name}")
        grid.set_ylabels(metric)
        figures.append((f"{title}, per class", _save(grid.figure, out, f"{metric}-vs-epoch-per-class"),
                        f"One panel per class; {_spread(per_class)}."))
    return figures


def metric_scatter(results: Results, out: Path, x: str, y: str) -> list[Figure]:
    """`y` against `x` at each run's final evaluation, one point per run, a panel per class and the class
    mean (e.g. precision against recall: fidelity against diversity, per variant)."""
    settings = settings_values(results, x)
    frames = [final_rows(results, name, settings[0] if settings else None) for name in (x, y)]
    if any(f.empty for f in frames):
        return []
    keep = ["run", "group", "class"]
    both = frames[0][keep + ["value"]].rename(columns={"value": x}).merge(
        frames[1][keep + ["value"]].rename(columns={"value": y}), on=keep)
    both = both[both["class"].isin(list(eurosat.CLASSES) + ["mean"])]
    if both.empty:
        return []
    plt, sns = _plt()
    grid = sns.relplot(data=both.rename(columns={"group": "variant"}), x=x, y=y, hue="variant", col="class",
                       col_order=list(eurosat.CLASSES) + ["mean"], col_wrap=6, height=2.3, aspect=1.0, s=40)
    grid.set_titles("{col_name}")
    for ax in grid.axes.flat:
        ax.set(xlim=(-0.03, 1.03), ylim=(-0.03, 1.03))
    name = f"{y}-against-{x}".replace("_", "-")
    title = f"{y.replace('_', ' ').capitalize()} against {x.replace('_', ' ')}, per class" + (
        f" ({settings[0]})" if settings and settings[0] else "")
    return [(title, _save(grid.figure, out, name), "One point per run (seed) at its final evaluation; the last "
             "panel is the class mean. Upper right is best: high precision is fidelity, high recall diversity.")]


def training_curves(results: Results, out: Path) -> list[Figure]:
    """Generator/discriminator loss (Figure 10) and discriminator accuracy on real and fake (Figure 11)."""
    m = results.metrics
    rows = m[(m["class"] == "") & m["metric"].isin(["d_loss", "g_loss", "d_acc_real", "d_acc_fake"])]
    if rows.empty:
        return []
    rows = _with_groups(results, rows)
    plt, sns = _plt()
    figures = []
    for name, metrics, ylabel, title in (
            ("losses", ["d_loss", "g_loss"], "loss (epoch mean)", "Generator and discriminator loss (paper Fig. 10)"),
            ("d-accuracy", ["d_acc_real", "d_acc_fake"], "share correct (epoch mean)",
             "Discriminator accuracy on real and generated images (paper Fig. 11)")):
        part = rows[rows["metric"].isin(metrics)]
        grid = sns.relplot(data=part, x="epoch", y="value", hue="variant", col="metric", kind="line",
                           errorbar=_t_interval, height=3.2, aspect=1.3, facet_kws={"sharey": False})
        grid.set_ylabels(ylabel)
        grid.figure.suptitle(title, y=1.03)
        figures.append((title, _save(grid.figure, out, name), f"{_sentence(_spread(part))}."))
    return figures


def per_class_bars(results: Results, out: Path, metric: str = "fid") -> list[Figure]:
    """Final per-class values by variant, error bars over seeds (paper Fig. 3)."""
    final = final_rows(results, metric)
    final = final[final["class"].isin(eurosat.CLASSES)]
    if final.empty:
        return []
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(11, 4.2))
    sns.barplot(data=final, x="class", y="value", hue="group", errorbar=_t_interval, ax=ax)
    ax.set(xlabel="", ylabel=f"{metric} (final epoch)", title=f"Per-class {metric.upper()} by variant (paper Fig. 3)")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    ax.legend(title="variant", loc="upper left", bbox_to_anchor=(1.01, 1))
    return [(f"Per-class {metric.upper()} by variant", _save(fig, out, f"{metric}-per-class-bars"),
             f"Bars: mean over seeds; {_spread(final, 'whiskers', by='group')}.")]


def sample_size_curve(results: Results, out: Path) -> list[Figure]:
    """FID against N with its bootstrap spread, FID-infinity and the real-vs-real floor."""
    m = results.metrics
    points = m[m["metric"] == "fid_at_n"]
    if points.empty:
        return []
    points = _with_groups(results, points).assign(N=lambda f: pd.to_numeric(f["n_fake"]))
    last = points.groupby("run")["epoch"].transform("max")
    points = points[points["epoch"] == last]
    floor = m[(m["metric"] == "fid_real_floor")]
    floor = _with_groups(results, floor).assign(N=lambda f: pd.to_numeric(f["n_real"]))
    inf = m[m["metric"] == "fid_inf"]
    plt, sns = _plt()
    grid = sns.relplot(data=points, x="N", y="value", hue="variant", col="class", col_wrap=5, kind="line",
                       marker="o", errorbar=_t_interval, height=2.4, aspect=1.2, facet_kws={"sharey": False})
    for cls, ax in grid.axes_dict.items():
        f = floor[floor["class"] == cls]
        if not f.empty:
            ax.plot(f.groupby("N")["value"].mean(), "k--", linewidth=1, label="real vs real")
        for value in inf.loc[inf["class"] == cls, "value"]:
            ax.axhline(value, color="grey", linestyle=":", linewidth=1)
        ax.set_xscale("log")
    grid.set_titles("{col_name}")
    grid.set_ylabels("FID at N")
    return [("FID against sample size N", _save(grid.figure, out, "fid-vs-n"),
             "Lines: FID at N (mean over bootstraps and seeds); dashed: real vs real at N (the floor); "
             "dotted: FID-infinity (the N -> infinity extrapolation).")]


def augmentation_curve(results: Results, out: Path) -> list[Figure]:
    """Test accuracy against real images per class, alone and with generated images, per variant."""
    rows = augmentation_rows(results)
    rows = rows[rows["metric"].isin(["accuracy_real_only", "accuracy_with_generated"])]
    if rows.empty:
        return []
    rows = rows.assign(setting=rows["metric"].map(AUGMENTATION_COLUMNS), variant=rows["group"])
    plt, sns = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    sns.lineplot(data=rows, x="k", y="value", hue="variant", style="setting", marker="o",
                 style_order=[AUGMENTATION_COLUMNS["accuracy_with_generated"],
                              AUGMENTATION_COLUMNS["accuracy_real_only"]], errorbar=_t_interval,
                 ax=ax)
    ax.set_xscale("log")
    ks = sorted(rows["k"].unique())
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel("real training images per class (k)")
    ax.set_ylabel("test accuracy (real test split)")
    return [("Augmentation: test accuracy against k", _save(fig, out, "augmentation"),
             "Each point: a classifier trained with the reference recipe on k real images per class, alone "
             "(dashed) or with generated images added, mean over classifier seeds; band: 95% CI over runs.")]


def sample_grids(results: Results, out: Path, real_images: dict[int, np.ndarray] | None) -> list[Figure]:
    """Per variant: real images beside the final generated grid (one row per class; paper Figs. 4-8)."""
    from PIL import Image

    from harness import images

    figures = []
    for group, runs in results.runs.groupby(results.runs["run"].map(group_labels(results)), sort=False):
        run = runs.sort_values("seed").iloc[0]
        samples = sorted((Path(run["path"]) / "samples").glob("epoch-*.png"))
        if not samples:
            continue
        with Image.open(samples[-1]) as im:
            generated = np.asarray(im.convert("RGB"))
        if real_images:
            cols = min(len(v) for v in real_images.values())
            real = images.grid(np.concatenate([real_images[c][:cols] for c in range(eurosat.NUM_CLASSES)]),
                               eurosat.NUM_CLASSES, row_labels=list(eurosat.CLASSES))
            height = max(real.shape[0], generated.shape[0])
            gap = np.full((height, 16, 3), 255, np.uint8)
            panel = np.concatenate([_pad_to(real, height), gap, _pad_to(generated, height)], axis=1)
            caption = (f"Left: real images; right: generated by {run['run']} at {samples[-1].stem} "
                       "(fixed latents, the same for every variant under one seed).")
        else:
            panel = generated
            caption = f"Generated by {run['run']} at {samples[-1].stem} (real images unavailable: no data archive)."
        path = out / f"samples-{_slug(group)}.png"
        images.save_png(path, panel)
        figures.append((f"Real and generated: {group}", path, caption))
    return figures


def _pad_to(picture: np.ndarray, height: int) -> np.ndarray:
    if picture.shape[0] == height:
        return picture
    pad = np.full((height - picture.shape[0], picture.shape[1], 3), 255, np.uint8)
    return np.concatenate([picture, pad])


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text).strip("-")


def transfer_plot(table: pd.DataFrame, out: Path, labels: tuple[str, str] = ("bench", "long")) -> Path | None:
    """`harness transfer`'s table as one panel per headline metric: each variant's difference against the baseline
    at the first budget (x) and at the second (y), with their 95% CIs. A conclusion that transfers lies in the
    quadrant of its first-budget sign, near the diagonal if its size transfers too; a bar that crosses zero is a
    difference that budget's seeds do not resolve. None if the table is empty."""
    if table.empty:
        return None
    plt, sns = _plt()
    a, b = labels
    metrics = list(dict.fromkeys(table["metric"]))
    variants = list(dict.fromkeys(table["variant"]))
    colours = dict(zip(variants, sns.color_palette(n_colors=len(variants))))
    columns = min(3, len(metrics))
    rows = -(-len(metrics) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.8 * rows), squeeze=False)
    for ax, metric in zip(axes.ravel(), metrics):
        part = table[table["metric"] == metric]
        for _, r in part.iterrows():
            xerr, yerr = (r[f"ci95 {lab}"] if np.isfinite(r[f"ci95 {lab}"]) else None for lab in labels)
            ax.errorbar(r[f"effect {a}"], r[f"effect {b}"], xerr=xerr, yerr=yerr, fmt="o",
                        color=colours[r["variant"]], capsize=3)
        lo, hi = ax.get_xlim()
        ylo, yhi = ax.get_ylim()
        span = (min(lo, ylo), max(hi, yhi))
        ax.plot(span, span, linestyle="--", color="grey", linewidth=0.8)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set(title=metric, xlabel=f"difference at {a}", ylabel=f"difference at {b}")
    for ax in axes.ravel()[len(metrics):]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=colours[v], label=v) for v in variants]
    fig.suptitle(f"Difference against the baseline over matched seeds: {a} (x) against {b} (y), 95% CI")
    fig.tight_layout(rect=(0, 0.1 / rows, 1, 1))
    fig.legend(handles=handles, loc="lower center", ncol=min(3, len(variants)), bbox_to_anchor=(0.5, 0))
    return _save(fig, out, "transfer", svg=False)
