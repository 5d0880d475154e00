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

from harness import atomicio
from harness.data import eurosat
from harness.errors import RunError
from harness.evaluate import metrics
from harness.report import collect, figures, render, tables
from harness.rows import D_WON_ACCURACY
from harness.runs import screens

log = logging.getLogger("harness")
FORMATS = ("md", "html")


@dataclass
class Report:
    out: Path
    files: dict[str, Path] = field(default_factory=dict)
    terminal: str = ""
    notes: list[str] = field(default_factory=list)


def build(results_dir: Path | str, *, variants: str | None = None, out: Path | str | None = None,
          formats: tuple[str, ...] = FORMATS, data=None, floor: bool = True, strict: bool = False,
          family: tuple[str, ...] = tables.PRIMARY, confirm_seeds: list[int] | None = None,
          use_screens: bool = True) -> Report:
    """The report of every run under `results_dir`. `strict`: refuse (RunError, before anything is written) when a
    paired comparison holds two cells trained on different CPU families or by different or unrecorded code.
    `family`: the primary outputs whose comparisons form the declared family (Holm over all of them at once).
    `confirm_seeds`: the paired tests use only these seeds (the others screened: chose a budget or a variant);
    the per-class tables still show every seed. Without it, the seeds that no screen recorded in the runs' folder
    used (harness.runs.screens) confirm, unless `use_screens` is False (every seed then testifies)."""
    _check_family(family)
    results_dir = Path(results_dir)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise RunError(f"--format {','.join(formats)!r}: choose md, html or md,html")
    runs_dir = collect.results_folder(results_dir)
    if runs_dir != results_dir:  # a report folder with its runs in runs/: the report is remade in place
        log.info("report: the runs are in %s", runs_dir)
    out = Path(out) if out else (results_dir if runs_dir != results_dir else results_dir / "report")
    res = collect.collect(runs_dir, variants, ignore=out)
    if res.runs.empty:
        raise RunError(f"{results_dir}: no runs to report (looked in it"
                       + (f" and in {runs_dir}" if runs_dir != results_dir else " and found no runs/ folder below it")
                       + (f"; skipped: {'; '.join(res.skipped)})" if res.skipped else ")"))
    log.info("report: %d runs of %d variants read from %s", len(res.runs), res.runs["variant"].nunique(), runs_dir)
    results_dir = runs_dir
    screen_list = screens.read(runs_dir)
    if confirm_seeds is None and use_screens and screen_list:
        confirm_seeds = _unscreened(res, screen_list, runs_dir)
    tested = res
    if confirm_seeds:
        tested = collect.with_seeds(res, confirm_seeds)
        if tested.runs.empty:
            raise RunError(f"--confirm-seeds {','.join(map(str, confirm_seeds))}: no run has these seeds (the "
                           f"runs have seeds {', '.join(map(str, sorted(res.runs['seed'].unique())))})")
    provenance, unlike = tables.provenance_notes(tested)
    if strict and unlike:
        raise RunError(f"--strict: {len(unlike)} paired cells differ in CPU family or code, or do not record their "
                       f"code: {'; '.join(unlike[:4])}{'; ...' if len(unlike) > 4 else ''}")
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
    report.notes += [f"Left out (not a readable run, or a damaged one): {s}" for s in res.skipped]
    report.notes += _pooled_configurations(res)
    report.notes += _discriminator_won(res)
    report.notes += [f"Cells behind the comparison of {n}" for n in provenance]
    report.notes.append(_family_note(res, family, confirm_seeds, screen_list))
    if unlike:
        report.notes.append(f"{len(unlike)} paired cells differ in CPU family or code, or do not record their code "
                            "(the comparison tables' 'unlike pairs' column names them; `--strict` refuses them): "
                            "a pair trained alike shares its trajectory, an unlike one is no stronger than an "
                            "unpaired comparison.")

    ds = _dataset(res, data)
    floors = {}
    if floor:
        log.info("report: the real-vs-real floors (Inception and classifier features of 2N real images per "
                 "class; minutes the first time, cached after; --no-floor skips them)")
        floors["inception"] = _floor(res, ds)
        has_fid = (res.metrics["metric"] == "fid").any()
        if has_fid and not floors["inception"][0]:
            report.notes.append("The real-vs-real floor could not be computed (no data archive or Inception "
                                "weights); it is left out.")
        floors["domain"], why_not = _domain_floor(res, ds)
        if why_not:
            report.notes.append(f"No real-vs-real floor beside domain FID: {why_not}.")
    log.info("report: tables and paired tests")
    sections, figs = [], []
    for name, display, tidy, title, caption in _registered_tables(res, floors, tested, family) + [
            ("domain", tables.domain_table(res), None, "EuroSAT domain metrics",
             "From `harness eval RUN --metrics domain`: label fidelity (share of generated images the reference "
             "classifier assigns to their class), domain FID on its features, memorisation ratio (< 0.5 flags "
             "copying), CAS (accuracy on real test images of a classifier trained only on generated ones) and "
             "the reference classifier's own accuracy. Mean ± 95% CI over runs; n: the runs behind the cell."),
            ("class-ranks", *([_ranks(res)] * 2), "Class ordering",
             "Each class's rank within a run (1 = best: lowest FID or KID, highest label fidelity), mean ± 95% CI "
             "over the runs. The paper (another Inception network) found Forest best and Industrial worst."),
            ("augmentation", *tables.augmentation_table(res), "Augmentation gain",
             "From `harness eval RUN --metrics augmentation`: test accuracy of the reference recipe trained on k real "
             "images per class alone, and with generated images added (eval.augment_synthetic per class); gain = "
             "with − alone, paired by classifier seed. Mean ± 95% CI over runs; 'gain sd' is the spread over "
             "classifier seeds (eval.augment_seeds) within a run."),
            ("runs", *([tables.runs_table(res)] * 2), "Runs behind every number",
             "Every table row lists its run ids; here is each run's folder.")]:
        if display is None or display.empty:
            continue
        tidy = display if tidy is None else tidy
        atomicio.write_text(out / f"{name}.csv", tidy.to_csv(index=False))
        report.files[f"{name}.csv"] = out / f"{name}.csv"
        sections.append(render.Table(title, display, caption))

    log.info("report: figures")
    for output in _compared_outputs():
        title = f"{_title(output.name)} against epoch" + (" (paper Fig. 9)" if output.published else "")
        figs += figures.metric_curve(res, fig_dir, output.name, title, f"{output.caption}.")
    for x, y in metrics.pairs():
        figs += figures.metric_scatter(res, fig_dir, x, y)
    figs += figures.augmentation_curve(res, fig_dir)
    figs += figures.training_curves(res, fig_dir)
    figs += [f for o in _compared_outputs() if o.published for f in figures.per_class_bars(res, fig_dir, o.name)]
    figs += figures.sample_size_curve(res, fig_dir)
    figs += figures.sample_grids(res, fig_dir, _real_examples(ds))
    if not any(f[1].name.startswith("fid-vs-n") for f in figs):
        report.notes.append("No FID-against-N curve: no run evaluated eval.sample_sizes (the fid_sample_size "
                            "variant does).")
    if 0 < res.metrics[res.metrics["metric"] == "fid"]["epoch"].nunique() <= 1:
        report.notes.append("FID was evaluated at one epoch only, so the FID-against-epoch figure has one point "
                            "per run; set eval.every (or eval.domain_every for the cheap domain FID) for curves.")
    for _, path, _ in figs:
        report.files[f"figures/{path.name}"] = path

    doc = render.Document(title="EuroSAT conditional GAN benchmark", source=str(results_dir),
                          notes=report.notes, tables=sections, figures=figs)
    if "md" in formats:
        report.files["report.md"] = out / "report.md"
        atomicio.write_text(out / "report.md", render.markdown(doc, out))
    if "html" in formats:
        report.files["report.html"] = out / "report.html"
        atomicio.write_text(out / "report.html", render.html(doc))
    report.terminal = render.terminal(sections[:2] if sections else [])
    return report


def _check_family(family: tuple[str, ...]) -> None:
    compared = [o.name for o in _compared_outputs()]
    unknown = [f for f in family if f not in compared]
    if unknown or not family:
        raise RunError(f"--family {','.join(family)!r}: {', '.join(unknown) or 'empty'} is not an output the report "
                       f"compares with the baseline (choose from {', '.join(compared)})")


def _unscreened(res, screen_list: list, runs_dir: Path) -> list[int]:
    """The seeds present that no recorded screen used: the report's confirmatory seeds by default."""
    present = sorted(int(s) for s in res.runs["seed"].unique())
    left = screens.confirmatory(present, screen_list)
    if not left:
        raise RunError(f"{runs_dir / screens.FILE}: every seed present ({', '.join(map(str, present))}) screened, so "
                       "none is left to confirm: train other seeds, name them with --confirm-seeds, or report every "
                       "seed with --confirm-seeds all")
    return left


def _family_note(res, family: tuple[str, ...], confirm_seeds: list[int] | None, screen_list=()) -> str:
    seeds = sorted(int(s) for s in res.runs["seed"].unique())
    recorded = [s.describe() for s in screen_list if set(s.seeds) & set(seeds)]
    if confirm_seeds:
        screened = [s for s in seeds if s not in confirm_seeds]
        which = (f"The paired tests use the confirmatory seeds {', '.join(map(str, confirm_seeds))} only"
                 + (f"; seed{'s' * (len(screened) > 1)} {', '.join(map(str, screened))} screened and "
                    f"{'are' if len(screened) > 1 else 'is'} shown only in the per-class tables"
                    if screened else ""))
        also = sorted(set(confirm_seeds) & screens.screened_seeds(screen_list))
        if also:
            which += (f"; seed{'s' * (len(also) > 1)} {', '.join(map(str, also))} recorded as screening yet named "
                      "confirmatory by --confirm-seeds")
    elif recorded:
        which = (f"The paired tests use every seed present ({', '.join(map(str, seeds))}), as asked (--confirm-seeds "
                 "all): the seeds that screened also testify")
    else:
        which = (f"The paired tests use every seed present ({', '.join(map(str, seeds))}); no seed was declared "
                 "confirmatory (--confirm-seeds) or recorded as screening, so a seed that screened (chose the budget "
                 "or a variant) also testifies")
    if recorded:
        which += f". Recorded screens ({screens.FILE}): {'; '.join(recorded)}"
    return (f"{which}. Declared family: {', '.join(family)} x the variants compared, Holm over all of them at once "
            "('p (Holm, primary family)'); every other comparison is exploratory (Holm over one metric's variants).")


def _compared_outputs():
    """The registered outputs the report tables, tests against the baseline and draws (harness.evaluate.metrics)."""
    return [o for _, o in metrics.outputs().values() if o.compare]


def _title(name: str) -> str:
    title = metrics.outputs()[name][1].title
    return title[0].upper() + title[1:]


def _registered_tables(res, floors: dict[str, tuple[dict, int | None]], tested=None,
                       family: tuple[str, ...] = tables.PRIMARY) -> list[tuple]:
    """Per registered output with rows in the results: a per-class table and a paired comparison with the
    baseline, one of each per settings value (e.g. k=3 and k=5 are never pooled). An output declared with a
    floor shows the real-vs-real value of its feature space (`floors`: space -> (values, N)). The comparisons use
    `tested` (the confirmatory seeds' results; default all), and the outputs in `family` (at their main settings)
    form the declared family Holm adjusts over at once."""
    tested = res if tested is None else tested
    per_class, compared, by_name = [], [], {}
    for metric, output in metrics.outputs().values():
        if not output.compare:
            continue
        floor_values, floor_n = floors.get(metric.space, ({}, None)) if output.floor else ({}, None)
        for settings in tables.settings_values(res, output.name):
            slug = output.name.replace("_", "-") + (f"-{tables.slug(settings)}" if settings else "")
            shown = _title(output.name) + (f" ({settings})" if settings else "")
            better = "higher is better" if output.higher_is_better else "lower is better"
            # Inception's floor is computed under the runs' resize protocol: only a table of that protocol shows it.
            same_resize = metric.space != "inception" or (("resize=clean" in settings) == (_resize(res) == "clean"))
            display, tidy = tables.per_class(res, output.name, settings=settings, digits=output.digits,
                                             floor=floor_values if same_resize else None,
                                             floor_n=floor_n,
                                             published=output.published, higher_is_better=output.higher_is_better)
            per_class.append((f"{slug}-per-class", display, tidy, f"Per-class {shown} (final epoch)",
                              f"{output.caption}. Mean ± 95% CI over seeds (Student's t); N: generated images per "
                              "class." + (" FID at N < 2048 is biased upward: compare only at equal N. The paper's "
                                          "row used another Inception network and N = 500." if output.published
                                          else " The floor row: two disjoint real samples of N per class on the "
                                          "same classifier's features." if floor_values else "")))
            cmp = tables.comparison(tested, output.name, settings=settings)
            main = settings == tables.settings_values(res, output.name)[0]
            by_name[output.name if main else f"{output.name} ({settings})"] = cmp
            compared.append((f"{slug}-vs-baseline", cmp, cmp, f"{shown} against the baseline ({tables.BASELINE}), "
                             "by seed", f"Difference = variant − baseline in the class mean ({better}), paired by "
                             "seed; p from a paired t-test. 'p (Holm)': Holm over the variants compared on this "
                             "metric; 'p (Holm, primary family)', on the primary metrics only: Holm over every "
                             "variant x primary metric at once (the family a verdict of the report is declared "
                             "over; 'family' says which a row belongs to). "
                             "'detectable (80% power)': the smallest true difference these pairs detect 80% of "
                             "the time at alpha 0.05/m "
                             "(Holm's strictest step, m variants tested), given the paired sd; 'seeds for observed "
                             "difference': how many seeds the observed difference would need for that, if the "
                             "paired sd holds. A non-significant difference below the detectable one means 'too "
                             "few seeds', not 'no difference'."))
    tables.adjust_family(by_name, family)
    spread = [tables.spreads(res, o.name, s) for o in _compared_outputs() for s in tables.settings_values(res, o.name)]
    spread = pd.concat([f for f in spread if not f.empty], ignore_index=True) if any(
        not f.empty for f in spread) else pd.DataFrame()
    if not spread.empty and spread["runs with draws"].sum() == 0:
        spread = spread.drop(columns=["runs with draws", "draws per run", "sd over draws", "seed sd / draw sd"])
    spreads = [("spread-seeds-vs-draws", spread, spread, "Spread over training seeds against spread over "
                "evaluation draws", "Standard deviation of the class mean over training seeds (the fixed latents), "
                "and over re-drawn evaluation samples of one generator (`harness eval RUN --set eval.draw=1`, 2, "
                "...; root mean square over the runs that have them). A comparison whose difference is smaller than "
                "the draws' spread is marked inconclusive in its table.")]
    return per_class + compared + spreads


def _resize(res) -> str:
    return str(res.runs["config"].iloc[0].get("eval.resize", "tf1-bilinear"))


def _ranks(res) -> pd.DataFrame:
    """The class ordering under every compared output that has per-class rows (the paper ranked by FID)."""
    ranks = [r for r in (tables.class_ranks(res, o.name, higher_is_better=o.higher_is_better)
                         for o in _compared_outputs()) if not r.empty]
    return pd.concat(ranks, ignore_index=True) if ranks else pd.DataFrame()


def _dataset(res: collect.Results, data):
    """The archive the runs trained on (for real example images and the floor), or None."""
    from harness.data import dataset

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
        from harness.evaluate.fid.floor import real_floor

        return real_floor(ds, split, int(cfg.get("data.split_seed", 0)), n, resize=_resize(res)), n
    except Exception as exc:  # weights not obtainable offline, say
        log.warning("report: no real-vs-real floor (%s)", exc)
        return {}, None


def _domain_floor(res: collect.Results, ds) -> tuple[tuple[dict[str, float], int | None], str]:
    """Real-vs-real domain FID at the runs' N, on the reference classifier their domain rows came from; or why
    not. Computed only when every run recorded one and the same classifier and the cache holds it: a floor on
    another classifier's features would be a wrong number beside theirs, and training one takes minutes."""
    rows = tables.final_rows(res, "domain_fid", "")  # what the per-class table shows
    rows = rows[rows["class"].isin(eurosat.CLASSES)]
    if rows.empty:
        return ({}, None), ""
    if ds is None:
        return ({}, None), "no data archive"
    with_rows = res.runs[res.runs["run"].isin(set(rows["run"]))]
    unknown = [r.run for r in with_rows.itertuples() if collect.UNKNOWN in r.classifiers]
    if unknown:
        return ({}, None), (f"{', '.join(unknown)} did not record the reference classifier of their domain rows "
                            "(made before harness 0.4, resumed across a classifier change, or a damaged "
                            "evaluations.jsonl)")
    keys = set().union(*with_rows["classifiers"])
    if len(keys) != 1:
        return ({}, None), f"the runs' domain rows came from {len(keys)} different reference classifiers"
    import json

    from harness.evaluate import classifier
    from harness.evaluate.fid.floor import domain_floor

    key = json.loads(next(iter(keys)))
    try:
        ref = classifier.cached_reference(ds, classifier.Recipe(**key["recipe"]), seed=int(key["seed"]),
                                          split_seed=int(key["split_seed"]))
    except (TypeError, KeyError, ValueError) as exc:  # a key this harness version does not read
        return ({}, None), f"the runs' reference classifier key is not readable here ({type(exc).__name__}: {exc})"
    if ref is None or ref.info["key"] != key:
        return ({}, None), ("the cache does not hold the reference classifier the runs used (another archive, "
                            "recipe or Keras version)")
    n = int(pd.to_numeric(rows["n_fake"], errors="coerce").mode().iloc[0])
    cfg = res.runs["config"].iloc[0]
    split = cfg.get("eval.reference") or cfg.get("data.split", "train")
    values = domain_floor(ds, split, int(key["split_seed"]), n, ref)
    return (values, n), "" if values else f"fewer than {2 * n} real images per class"


def _discriminator_won(res, accuracy: float = D_WON_ACCURACY, epochs: int = 3) -> list[str]:
    """A note per run whose discriminator told every real image from every generated one over its last `epochs`
    epochs: its generator gets no useful gradient (a failed run, e.g. a saturated output layer). Its numbers
    stay in every table and paired test, as the protocol says; the note keeps them from passing for a bad seed
    of a working recipe."""
    m = res.metrics
    acc = m[m["metric"].isin(["d_acc_real", "d_acc_fake"])]
    notes = []
    for run, rows in acc.groupby("run"):
        worst = rows.groupby("epoch")["value"].min()  # the lower of the two accuracies per epoch
        lost = worst.index[worst < accuracy]  # epochs D had not won
        streak = worst.index[worst.index > (lost.max() if len(lost) else -1)]  # the won epochs that end the run
        if len(streak) < epochs:
            continue
        notes.append(f"{run}: its discriminator was right on >= {accuracy:.0%} of real and of generated images "
                     f"from epoch {int(streak.min())} to its last ({int(streak.max())}): the generator stopped "
                     "learning, a failed run. Its numbers enter every table and paired test as they are.")
    return notes


def _pooled_configurations(res) -> list[str]:
    """A note per variant whose runs differ in a setting other than the seed (e.g. train.precision, eval.n): the
    report pools a variant's runs as replicates, so such a difference would pass for seed spread. Keys a run's
    harness version did not record yet are compared only among the runs that have them."""
    notes = []
    labels = tables.group_labels(res)
    for group, runs in res.runs.groupby(res.runs["run"].map(labels)):
        configs = [c for c in runs["config"] if isinstance(c, dict)]
        keys = sorted(set().union(*configs) - {"seed"}) if configs else []
        differing = []
        for key in keys:
            values = sorted({str(c[key]) for c in configs if key in c})
            if len(values) > 1:
                differing.append(f"{key} ({', '.join(values)})")
        if differing:
            notes.append(f"The runs of {group} differ in {'; '.join(differing)}: the report pools them as seeds of "
                         "one variant, so compare like with like (one results folder per setting).")
    return notes
