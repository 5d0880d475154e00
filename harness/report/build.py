"""`harness report`: results folder -> tables (CSV, Markdown), figures (PNG, SVG), report.md, report.html.

Data flows one way: collect the runs, compute the tables, draw the figures,
render. The report never changes a run folder; it writes only into its own
output folder (default: <results>/report), file by file atomically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harness import atomicio, eurosat, streams
from harness.errors import RunError
from harness.report import collect, figures, render, tables

log = logging.getLogger("harness")
FORMATS = ("md", "html")


@dataclass
class Report:
    out: Path
    files: dict[str, Path] = field(default_factory=dict)
    terminal: str = ""
    notes: list[str] = field(default_factory=list)


def build(results_dir: Path | str, *, variants: str | None = None, out: Path | str | None = None,
          formats: tuple[str, ...] = FORMATS, data=None, floor: bool = True) -> Report:
    results_dir = Path(results_dir)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise RunError(f"--format {','.join(formats)!r}: choose md, html or md,html")
    out = Path(out) if out else results_dir / "report"
    res = collect.collect(results_dir, variants, ignore=out)
    if res.runs.empty:
        raise RunError(f"{results_dir}: no runs to report" + (f" (skipped: {'; '.join(res.skipped)})"
                                                               if res.skipped else ""))
    report = Report(out)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    seeds = res.runs.groupby(res.runs["run"].map(tables.group_labels(res)))["seed"].nunique()
    if (seeds < 2).any():
        report.notes.append("Variants with a single seed ({}) have no confidence interval and no paired test; "
                            "run more seeds (`harness sweep --seeds 0,1,2`).".format(
                                ", ".join(seeds[seeds < 2].index)))
    for r in res.runs.itertuples():
        if r.status != "done":
            report.notes.append(f"{r.run} is {r.status!r}: its rows are what it completed (epoch {r.epochs_done} "
                                f"of {r.epochs}).")
    report.notes += [f"Skipped (not a readable run): {s}" for s in res.skipped]

    ds = _dataset(res, data)
    floor_values, floor_n = _floor(res, ds) if floor else ({}, None)
    if floor and not floor_values:
        report.notes.append("The real-vs-real floor could not be computed (no data archive or Inception weights);"
                            " it is left out.")
    sections = []
    fid_display, fid_tidy = tables.per_class(res, "fid", floor=floor_values, floor_n=floor_n)
    kid_display, kid_tidy = tables.per_class(res, "kid", digits=4)
    comparison_fid = tables.comparison(res, "fid")
    comparison_kid = tables.comparison(res, "kid")
    comparison_fidelity = tables.comparison(res, "label_fidelity")
    comparison_domain_fid = tables.comparison(res, "domain_fid")
    domain, fidelity, runs = tables.domain_table(res), tables.fidelity_table(res), tables.runs_table(res)
    ranks = [r for r in (tables.class_ranks(res, m) for m in ("fid", "kid", "label_fidelity")) if not r.empty]
    ranks = pd.concat(ranks, ignore_index=True) if ranks else pd.DataFrame()
    augmentation, augmentation_tidy = tables.augmentation_table(res)
    for name, display, tidy, title, caption in (
            ("fid-per-class", fid_display, fid_tidy, "Per-class FID (final epoch)",
             "Mean ± 95% CI over seeds (Student's t). Lower is better. N: generated images per class (and real "
             "ones under the paper protocol). FID at N < 2048 is biased upward: compare only at equal N. The "
             "paper's row used another Inception network and N = 500."),
            ("kid-per-class", kid_display, kid_tidy, "Per-class KID (final epoch)",
             "Mean ± 95% CI over seeds. KID is unbiased at small N."),
            ("fid-vs-baseline", comparison_fid, comparison_fid, "FID against the baseline (paper_dcgan), by seed",
             "Difference = variant − baseline in class-mean FID (negative: better), paired by seed; p from a "
             "paired t-test, Holm-corrected across the variants compared."),
            ("kid-vs-baseline", comparison_kid, comparison_kid, "KID against the baseline (paper_dcgan), by seed",
             "As above, for class-mean KID."),
            ("label-fidelity-vs-baseline", comparison_fidelity, comparison_fidelity,
             "Label fidelity against the baseline (paper_dcgan), by seed",
             "As above, for class-mean label fidelity (higher is better: a positive difference is better)."),
            ("domain-fid-vs-baseline", comparison_domain_fid, comparison_domain_fid,
             "Domain FID against the baseline (paper_dcgan), by seed",
             "As above, for class-mean FID on the reference classifier's features (lower is better)."),
            ("domain", domain, domain, "EuroSAT domain metrics",
             "From `harness eval RUN --metrics domain`: label fidelity (share of generated images the reference "
             "classifier assigns to their class), domain FID on its features, memorisation ratio (< 0.5 flags "
             "copying), CAS (accuracy on real test images of a classifier trained only on generated ones) and "
             "the reference classifier's own accuracy. Mean ± 95% CI over runs; n: the runs behind the cell."),
            ("class-ranks", ranks, ranks, "Class ordering",
             "Each class's rank within a run (1 = best: lowest FID or KID, highest label fidelity), mean ± 95% CI "
             "over the runs. The paper (another Inception network) found Forest best and Industrial worst."),
            ("label-fidelity", fidelity, fidelity, "Label fidelity per class",
             "Share of each class's generated images that the reference classifier assigns to that class."),
            ("augmentation", augmentation, augmentation_tidy, "Augmentation gain",
             "From `harness eval RUN --metrics augmentation`: test accuracy of the reference recipe trained on k real "
             "images per class alone, and with generated images added (eval.augment_synthetic per class); gain = "
             "with − alone, paired by classifier seed. Mean ± 95% CI over runs; 'gain sd' is the spread over "
             "classifier seeds (eval.augment_seeds) within a run."),
            ("runs", runs, runs, "Runs behind every number",
             "Every table row lists its run ids; here is each run's folder.")):
        if display is None or display.empty:
            continue
        atomicio.write_text(out / f"{name}.csv", tidy.to_csv(index=False))
        report.files[f"{name}.csv"] = out / f"{name}.csv"
        sections.append(render.Table(title, display, caption))

    figs = []
    figs += figures.metric_curve(res, fig_dir, "fid", "FID against epoch (paper Fig. 9)",
                                 "Class-mean FID at each evaluated epoch; band: 95% CI over seeds.")
    figs += figures.metric_curve(res, fig_dir, "kid", "KID against epoch",
                                 "Class-mean KID (unbiased at any N) at each evaluated epoch; band: 95% CI over seeds.")
    figs += figures.metric_curve(res, fig_dir, "domain_fid", "Domain FID against epoch",
                                 "Fréchet distance on the reference EuroSAT classifier's features (eval.domain_every).")
    figs += figures.metric_curve(res, fig_dir, "label_fidelity", "Label fidelity against epoch",
                                 "Share of generated images the reference classifier assigns to their class.")
    figs += figures.augmentation_curve(res, fig_dir)
    figs += figures.training_curves(res, fig_dir)
    figs += figures.per_class_bars(res, fig_dir, "fid")
    figs += figures.sample_size_curve(res, fig_dir)
    figs += figures.sample_grids(res, fig_dir, _real_examples(ds))
    if not any(f[1].name.startswith("fid-vs-n") for f in figs):
        report.notes.append("No FID-against-N curve: no run evaluated eval.sample_sizes (the fid_sample_size "
                            "variant does).")
    if res.metrics[res.metrics["metric"] == "fid"]["epoch"].nunique() <= 1:
        report.notes.append("FID was evaluated at one epoch only, so the FID-against-epoch figure has one point "
                            "per run; set eval.every (or eval.domain_every for the cheap domain FID) for curves.")
    for _, path, _ in figs:
        report.files[f"figures/{path.name}"] = path

    doc = render.Document(title="EuroSAT conditional GAN benchmark", source=str(results_dir.resolve()),
                          notes=report.notes, tables=sections, figures=figs)
    if "md" in formats:
        report.files["report.md"] = out / "report.md"
        atomicio.write_text(out / "report.md", render.markdown(doc, out))
    if "html" in formats:
        report.files["report.html"] = out / "report.html"
        atomicio.write_text(out / "report.html", render.html(doc))
    report.terminal = render.terminal(sections[:2] if sections else [])
    return report


def _dataset(res: collect.Results, data):
    """The archive the runs trained on (for real example images and the floor), or None."""
    from harness import dataset

    sources = [data] if data else []
    sources += [s for s in res.runs["source"] if s]  # recorded in each run's config.json, read by collect
    for source in dict.fromkeys(sources + [None]):  # each distinct archive tried once
        try:
            return dataset.load(source)
        except Exception as exc:  # no archive here: the report still renders
            log.info("report: data %s unavailable (%s)", source, exc)
    return None


def _real_examples(ds, per_class: int = 8) -> dict[int, np.ndarray] | None:
    if ds is None:
        return None
    rng = np.random.default_rng(0)
    return {c: ds.images[rng.choice(np.flatnonzero(ds.labels == c), per_class, replace=False)]
            for c in range(eurosat.NUM_CLASSES)}


def _floor(res: collect.Results, ds) -> tuple[dict[str, float], int | None]:
    """Real-vs-real FID at the runs' N: two disjoint real samples of N per class (cached features)."""
    fid_rows = res.metrics[(res.metrics["metric"] == "fid") & res.metrics["class"].isin(eurosat.CLASSES)]
    if ds is None or fid_rows.empty:
        return {}, None
    n = int(pd.to_numeric(fid_rows["n_fake"], errors="coerce").mode().iloc[0])
    cfg = res.runs["config"].iloc[0]
    split = cfg.get("eval.reference") or cfg.get("data.split", "train")
    try:
        return real_floor(ds, split, int(cfg.get("data.split_seed", 0)), n), n
    except Exception as exc:  # weights not obtainable offline, say
        log.warning("report: no real-vs-real floor (%s)", exc)
        return {}, None


def real_floor(ds, split: str, split_seed: int, n: int, *, extractor=None) -> dict[str, float]:
    from harness import dataset
    from harness.fid import distances, reference, weights
    from harness.fid import extractor as ex

    members = dataset.split_indices(ds.labels, split, seed=split_seed)
    out = {}
    for cls, name in enumerate(eurosat.CLASSES):
        pool = members[ds.labels[members] == cls]
        if len(pool) < 2 * n:
            continue
        rng = np.random.default_rng([cls, n, streams.FLOOR_HALVES])
        idx = rng.choice(pool, 2 * n, replace=False)  # two random halves
        key = {"purpose": "real-vs-real floor", "digest": ds.digest, "decoder": dataset._decoder_id(),
               "split": split, "split_seed": split_seed, "class": name, "n": 2 * n, "weights": weights.PT_SHA256,
               "resize": ex.RESIZE_MODE, "metric_version": reference.METRIC_VERSION}
        if extractor is None:
            extractor = ex.InceptionFeatures()
        feats = reference.cached(key, lambda: extractor(ds.images[idx]))
        out[name] = distances.fid(feats[:n], feats[n:])
    if out:
        out["mean"] = float(np.mean([out[c] for c in eurosat.CLASSES if c in out]))
    return out if out else {}

