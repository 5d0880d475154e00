"""What each `harness` subcommand does, once parsed: a small function per command that calls the stage it drives
(runs, evaluate, report, data) and prints its result. Errors are raised as HarnessError for main() to print.
"""

from __future__ import annotations

import logging
import sys
import textwrap
from pathlib import Path

from harness.errors import HarnessError
from harness.evaluate import metrics

log = logging.getLogger("harness")



def _resolve(args):
    from harness import config
    from harness.runs import runner

    overrides = config.parse_assignments(args.set)
    if args.split is not None:
        overrides["data.split"] = args.split
    if args.precision is not None:
        overrides["train.precision"] = args.precision
    return runner.resolve(args.variant, profile=args.profile, seed=args.seed, epochs=args.epochs,
                          overrides=overrides)


# Commands ---------------------------------------------------------------


def cmd_data(args) -> int:
    from harness.data import dataset, eurosat

    if args.data_command == "fetch":
        from harness.fetch import fetch

        path = fetch(args.source, dest_dir=Path(args.dest) if args.dest else None, progress=sys.stderr.isatty())
        print(f"fetched and verified: {path}")
        return 0
    source = dataset.resolve_source(args.data)
    if args.data_command == "verify":
        with eurosat.open_archive(source) as archive:
            problems = eurosat.verify(archive)
            count = len(archive.members)
        if problems:
            for problem in problems:
                print(f"{source}: {problem}", file=sys.stderr)
            print(f"{source}: {len(problems)} problem(s) in {count} images", file=sys.stderr)
            return 1
        print(f"{source}: OK, {count} images in {eurosat.NUM_CLASSES} classes, all 64x64 RGB")
        return 0
    ds = dataset.load(source)
    print(f"source   {ds.source}\ndigest   {ds.digest}\nimages   {len(ds)}")
    for split in ("train", "val", "test"):
        print(f"{split:<8} {len(dataset.split_indices(ds.labels, split, seed=0))} (split seed 0)")
    return 0


def cmd_variants(args) -> int:
    from tabulate import tabulate

    from harness.models import registry

    names = registry.list_variants(args.pattern)
    if not names:
        raise HarnessError(f"no variant matches {args.pattern!r}; `harness variants` lists them all")
    width = max(len(n) for n in names) + 2
    text_width = max(40, 100 - width - 2)  # the whole table fits a 100-column terminal
    rows = []
    for name in names:
        cfg = registry.build_config(name)
        changed = registry.changes(cfg)
        settings = ("changes: " + ", ".join(changed)) if changed else f"the baseline: {registry.summary(cfg)}"
        rows.append((name, "\n".join(textwrap.fill(part, text_width) for part in (registry.description(name),
                                                                                    settings))))
    print(tabulate(rows, headers=["variant", "description; every setting it changes over paper_dcgan"],
                   tablefmt="simple"))
    return 0


def cmd_profiles(args) -> int:
    from textwrap import fill

    from tabulate import tabulate

    from harness.runs import profiles

    width = max(len(p) for p in profiles.PROFILES) + 2
    text = 100 - width - 4  # the table fits a 100-column terminal, as `harness variants` does
    rows = [(p.name, "\n".join(fill(part, text) for part in (
        p.description, "cost: " + (p.cost or "not measured"),
        "overrides: " + ", ".join(f"{k}={v}" for k, v in p.overrides.items()))))
            for p in profiles.PROFILES.values()]
    print(tabulate(rows, headers=["profile", "what it scales; what it costs, measured; what it sets"],
                   tablefmt="simple"))
    return 0


def cmd_config(args) -> int:
    from harness import config

    for key, value in config.flatten(_resolve(args)).items():
        print(f"{key} = {value}")
    return 0


def cmd_run(args) -> int:
    from harness.phases import PhaseClock
    from harness.runs import runner

    clock = PhaseClock.since_process_start()  # the log's wall-time line counts the CLI's own start-up too
    with clock("start-up"):  # resolving the variant imports Keras
        cfg = _resolve(args)
    progress = not args.no_progress and sys.stderr.isatty()
    rd = runner.run(cfg, data=args.data, out=args.out, run_id=args.run_id, resume=args.resume, progress=progress,
                    devices=args.devices, clock=clock)
    print(f"{rd.path}: {rd.status()}")
    return 0


def cmd_generate(args) -> int:
    from harness.data import eurosat
    from harness.runs.generate import generate

    classes = list(eurosat.CLASSES) if args.cls == "all" else list(dict.fromkeys(c.strip() for c in
                                                                                  args.cls.split(",")))
    last = [0.0]

    def progress(done, total):
        import time

        if time.monotonic() - last[0] > 5 or done == total:  # a line every few seconds, not per batch
            last[0] = time.monotonic()
            log.info("generated %d of %d images", done, total)

    _check_out(args.out)
    written = generate(args.run_dir, classes=classes, n=args.n, out=args.out, fmt=args.format,
                       epoch=args.epoch, seed=args.seed, on_batch=progress)
    where = written[0] if args.format == "npz" else Path(args.out)
    print(f"wrote {_count(args.n, 'image')} x {_count(len(classes), 'class')} to {where}")
    return 0


def _check_out(out: str | None) -> None:
    """A given --out that cannot be written is refused before any work (one line, exit 2)."""
    if out:
        from harness import paths

        paths.check_output_folder(out)


def _count(n: int, noun: str) -> str:
    """"1 class", "2 classes", "1 image", "20 images"."""
    plural = noun + ("es" if noun.endswith("s") else "s")
    return f"{n} {noun if n == 1 else plural}"


def cmd_classifier(args) -> int:
    from tabulate import tabulate

    from harness.data import dataset, eurosat
    from harness.evaluate import classifier

    ds = dataset.load(args.data)
    recipe = classifier.Recipe() if args.epochs is None else classifier.Recipe(epochs=args.epochs)
    if args.epochs is not None and args.epochs < 1:
        raise HarnessError(f"--epochs {args.epochs}: must be >= 1")
    ref = classifier.reference(ds, recipe, seed=args.seed, retrain=args.retrain, progress=sys.stderr.isatty())
    test = ref.info["test"]
    print(f"test accuracy {test['accuracy']:.4f} on {test['n']} images; trained in "
          f"{ref.info['train_seconds'] / 60:.1f} min")
    print(tabulate(sorted(test["per_class"].items()), headers=["class", "accuracy"], floatfmt=".4f"))
    short = [c[:6] for c in eurosat.CLASSES]
    print("confusion matrix (rows: true class, columns: predicted)")
    print(tabulate([[c] + row for c, row in zip(eurosat.CLASSES, test["confusion"])], headers=["true"] + short))
    return 0


def cmd_report(args) -> int:
    from harness import config, paths
    from harness.report import build

    results = Path(args.results) if args.results else paths.results_dir()
    _check_out(args.out)
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    family = {"family": tuple(f.strip() for f in args.family.split(","))} if args.family is not None else {}
    every = (args.confirm_seeds or "").strip().lower() == "all"
    confirm = config.seed_list(args.confirm_seeds, "--confirm-seeds") if args.confirm_seeds and not every else None
    report = build(results, variants=args.variants, out=args.out, formats=formats, data=args.data,
                   floor=not args.no_floor, strict=args.strict, confirm_seeds=confirm, use_screens=not every,
                   **family)
    if report.terminal:
        print(report.terminal)
    for note in report.notes:
        log.info("note: %s", note)
    print(f"\nreport written to {report.out}:")
    for name in sorted(report.files):
        if not name.startswith("figures/") or name.endswith(".png"):
            print(f"  {report.files[name]}")
    return 0


def cmd_transfer(args) -> int:
    from harness.report import transfer

    labels = tuple(x.strip() for x in args.labels.split(","))
    if len(labels) != 2 or not all(labels):
        raise HarnessError(f"--labels {args.labels!r}: expected two names, e.g. bench,long")
    _check_out(args.out)  # before the table is computed and printed
    margins = transfer.parse_margins(args.margin)
    table, ranks = transfer.transfer(Path(args.first), Path(args.second), labels=labels, margins=margins,
                                     use_screens=not args.all_seeds)
    code = _print_and_keep(table, transfer.markdown(table, ranks, labels), args.out, "transfer")
    if args.out:
        from harness import atomicio
        from harness.report.figures import transfer_plot

        atomicio.write_text(Path(args.out) / "transfer-ranks.csv", ranks.to_csv(index=False))
        transfer_plot(table, Path(args.out), labels)
    return code


def cmd_compare(args) -> int:
    from harness.report import pairs

    names = [m.strip() for m in args.metrics.split(",") if m.strip()]
    first, second = Path(args.first), Path(args.second)
    _check_out(args.out)
    table = pairs.compare_folders(first, second, names)
    if table.empty:
        raise HarnessError(f"{first} and {second}: no (variant, seed) cell evaluated on {args.metrics} in both")
    return _print_and_keep(table, pairs.markdown(table, first, second), args.out, "compare")


def _print_and_keep(table, text: str, out: str | None, stem: str) -> int:
    """Print a comparison's Markdown; with --out, also keep it and its table as STEM.md and STEM.csv there."""
    from harness import atomicio

    print(text, end="")
    if out:
        atomicio.write_text(Path(out) / f"{stem}.csv", table.to_csv(index=False))
        atomicio.write_text(Path(out) / f"{stem}.md", text)
    return 0


def cmd_sweep(args) -> int:
    from collections import Counter

    from tabulate import tabulate

    from harness import config
    from harness.runs import sweep
    from harness.runs.executors import local

    if args.jobs is not None and args.jobs < 1:
        raise HarnessError(f"--jobs {args.jobs}: must be at least 1")
    if args.screen is not None and args.until_decided:
        raise HarnessError("--screen with --until-decided: a screen's seeds choose, the seeds on demand confirm; "
                           "run them as two sweeps")
    if args.until_decided and not args.dry_run:
        return _sweep_until_decided(args)
    cells = sweep.expand(args.variants, args.seeds)
    if args.dry_run:
        return _print_sweep_states(sweep.cell_states(cells, profile=args.profile,
                                                     overrides=config.parse_assignments(args.set), out=args.out))
    if args.screen is not None:  # recorded before training: the record predates what the screen chooses
        _record_screen(args.out, sorted({c.seed for c in cells}), args.screen,
                       variants=tuple(dict.fromkeys(c.variant for c in cells)), profile=args.profile)
    how = f"{args.jobs or local.default_jobs(len(cells))} job(s)" if args.executor == "local" else args.executor
    log.info("sweep: %d cells (%s x seeds %s), profile %s, %s", len(cells),
             ", ".join(dict.fromkeys(c.variant for c in cells)), args.seeds, args.profile, how)
    outcomes = sweep.sweep(cells, profile=args.profile, overrides=config.parse_assignments(args.set),
                           out=args.out, data=args.data, jobs=args.jobs, executor=args.executor,
                           address=args.address, cpus_per_cell=args.cpus_per_cell, gpus_per_cell=args.gpus_per_cell,
                           on_result=lambda o: log.info("%s seed %d: %s", o.cell.variant, o.cell.seed, o.status))
    print(tabulate([(o.cell.variant, o.cell.seed, o.status.split(":")[0], f"{o.seconds:.0f}", o.run_dir)
                    for o in outcomes], headers=["variant", "seed", "status", "seconds", "run folder"]))
    counts = Counter(o.status.split(":")[0] for o in outcomes)
    print(", ".join(f"{counts.get(k, 0)} {k}" for k in ("done", "skipped", "busy", "failed", "diverged")))
    return 0 if not (counts.get("failed") or counts.get("diverged")) else 1


def _record_screen(out: str | None, seeds: list[int], why: str, **about) -> None:
    from harness import paths
    from harness.runs import screens

    folder = paths.check_output_folder(out or paths.results_dir())
    screen = screens.record(folder, seeds, why, **about)
    log.info("recorded in %s: %s; reports test on the other seeds", folder / screens.FILE, screen.describe())


def cmd_screened(args) -> int:
    """`harness screened RESULTS [--seeds S --why WHY]`: record a screen after the fact, or list the recorded ones."""
    from tabulate import tabulate

    from harness import config, paths
    from harness.report.collect import results_folder
    from harness.runs import screens

    if (args.seeds is None) != (args.why is None):
        raise HarnessError("harness screened: give --seeds and --why together (or neither, to list the screens)")
    folder = results_folder(Path(args.results) if args.results else paths.results_dir())
    if args.seeds is not None:
        _record_screen(str(folder), config.seed_list(args.seeds, "--seeds"), args.why,
                       variants=tuple(v.strip() for v in (args.variants or "").split(",") if v.strip()),
                       profile=args.profile or "")
    recorded = screens.read(folder)
    if not recorded:
        print(f"{folder}: no screen recorded; reports test on every seed")
        return 0
    print(tabulate([(", ".join(map(str, s.seeds)), s.why, ", ".join(s.variants), s.profile, s.recorded, s.code[:10])
                    for s in recorded], headers=["seeds", "chose", "variants", "profile", "recorded", "code"]))
    return 0


def _sweep_until_decided(args) -> int:
    from tabulate import tabulate

    from harness import config
    from harness.runs import sequential, sweep

    family = tuple(f.strip() for f in args.family.split(",")) if args.family else sequential.PRIMARY

    def show(n, found):
        log.info("after %d seed(s): %s", n, "; ".join(f"{d.variant} {d.metric} {d.state}" for d in found))

    found, outcomes = sweep.until_decided(
        args.variants, args.seeds, most=args.max_seeds, profile=args.profile, family=family,
        overrides=config.parse_assignments(args.set), out=args.out, data=args.data, jobs=args.jobs,
        executor=args.executor, address=args.address, cpus_per_cell=args.cpus_per_cell,
        gpus_per_cell=args.gpus_per_cell, on_round=show)
    print(tabulate([(d.variant, d.metric, d.seeds, d.difference, d.p, d.level, d.state) for d in found],
                   headers=["variant", "metric", "seeds", "difference", "p", "level at that look", "decision"],
                   floatfmt=".4g"))
    failed = [o for o in outcomes if o.status.startswith(("failed", "diverged"))]
    return 1 if failed else 0


def _print_sweep_states(states) -> int:
    from collections import Counter

    from tabulate import tabulate

    from harness.runs.sweep import STATES

    print(tabulate([(c.cell.variant, c.cell.seed, c.state, c.epochs, c.machines, c.detail) for c in states],
                   headers=["variant", "seed", "state", "epochs", "machine", "detail"]))
    counts = Counter(c.state for c in states)
    print(", ".join(f"{counts[k]} {k}" for k in STATES if counts[k]))
    return 0


def cmd_eval(args) -> int:
    from tabulate import tabulate

    from harness import config
    from harness.runs.evaluation import evaluate_run

    overrides = config.parse_assignments(args.set)
    for key, value in (("eval.metrics", args.metrics), ("eval.n", args.n), ("eval.protocol", args.protocol)):
        if value is not None:
            overrides[key] = value
    rows = evaluate_run(args.run_dir, data=args.data, epoch=args.epoch, overrides=overrides)
    table, confusion = {}, {}
    for r in rows:
        if r["metric"] == "predicted_as":
            confusion.setdefault(r["class"], {})[r["settings"].split("=", 1)[1]] = r["value"]
        else:
            name = r["metric"] + (f" ({r['settings']})" if r["settings"] else "")
            table.setdefault(r["class"], {})[name] = r["value"]
    metrics = sorted({m for v in table.values() for m in v})
    print(tabulate([[c] + [v.get(m) for m in metrics] for c, v in table.items()], headers=["class"] + metrics,
                   floatfmt=".4g"))
    if confusion:
        columns = list(next(iter(confusion.values())))
        print("generated class (rows) as the reference classifier labels it (columns), share")
        print(tabulate([[c] + [v[k] for k in columns] for c, v in confusion.items()],
                       headers=["generated"] + [k[:6] for k in columns], floatfmt=".2f"))
    return 0


def cmd_fid(args) -> int:
    import json

    from harness import config
    from harness.evaluate.fid import distances, imagesets
    from harness.evaluate.fid.extractor import InceptionFeatures
    from harness.evaluate.metrics.features import Memo

    available = {m.name: m for m in metrics.for_image_sets()}
    names = list(dict.fromkeys([m.strip() for m in args.metrics.split(",") if m.strip()]
                               + (["kid"] if args.kid else [])))
    unknown = [m for m in names if m not in available]
    if unknown or not names:
        raise HarnessError(f"--metrics {args.metrics!r}: choose from {', '.join(available)}")
    if args.k < 1:
        raise HarnessError(f"--k {args.k}: must be >= 1")
    if args.batch < 1:
        raise HarnessError(f"--batch {args.batch}: must be at least 1")
    uses_k = [m for m in names if "eval.k" in available[m].settings]
    if Path(args.set_a).resolve() == Path(args.set_b).resolve():  # a sanity check, or a typo: say which
        log.warning("%s is both sets: every distance compares it with itself (FID 0, precision and recall 1)",
                    args.set_a)
    statistics = [imagesets.load_statistics(p) for p in (args.set_a, args.set_b)]
    if any(statistics):
        if args.cls is not None:
            raise HarnessError(f"--class {args.cls}: precomputed statistics hold no classes; give that class's "
                               "statistics as the set instead")
        return _fid_from_statistics(args, names, statistics)
    sets = [imagesets.load(p, cls=args.cls) for p in (args.set_a, args.set_b)]
    for path, images in zip((args.set_a, args.set_b), sets):
        for note in imagesets.describe(path, images, cls=args.cls):
            log.warning("%s", note)
    if sets[0].shape[1:3] != sets[1].shape[1:3]:
        log.warning("the two sets' images differ in size (%dx%d against %dx%d): a distance between them measures the "
                    "resizing too", *sets[0].shape[1:3], *sets[1].shape[1:3])
    if uses_k and min(len(x) for x in sets) <= args.k:
        raise HarnessError(f"--k {args.k}: needs more than {args.k} images in each set")
    cfg = config.RunConfig()
    cfg.eval.sqrt, cfg.eval.k, cfg.eval.resize = args.sqrt, args.k, args.resize
    extractor = InceptionFeatures(batch_size=args.batch, resize=args.resize)
    real, fake = (extractor(images) for images in sets)
    if "fid" in names and min(len(real), len(fake)) < distances.FEATURE_DIM:
        log.warning("fewer than %d images in a set: FID is biased upward; compare only at equal N",
                    distances.FEATURE_DIM)
    values, details, shared = {}, {}, Memo()
    for name in names:
        metric = available[name]
        values.update(metric.compute(real, fake, cfg=cfg, cls=None, bank=shared))
        settings = metric.settings_text(cfg)
        details.update({o.name: f"  (N = {len(real)} vs {len(fake)}{'; ' + settings if settings else ''})"
                        for o in metric.outputs})
    undefined = {k: _why_undefined(k, len(real), len(fake)) for k, v in values.items() if v != v}
    if args.json:  # JSON has no NaN: an undefined value is null, with the reason beside it
        out = {k: (None if k in undefined else v) for k, v in values.items()}
        print(json.dumps({**out, **({"undefined": undefined} if undefined else {})}))
        return 0
    for name, value in values.items():
        text = f"undefined ({undefined[name]})" if name in undefined else f"{value:.6f}{details.get(name, '')}"
        print(f"{name}: {text}")
    return 0


def _fid_from_statistics(args, names: list[str], statistics: list) -> int:
    """FID where one side (or both) is precomputed Inception statistics (mu, sigma), as pytorch-fid and clean-fid
    accept: the other side's images give theirs. Only FID can be computed from statistics."""
    import json

    from harness.evaluate.fid import distances, imagesets
    from harness.evaluate.fid.extractor import InceptionFeatures

    if names != ["fid"]:
        raise HarnessError(f"--metrics {','.join(names)}: a set given as statistics (mu, sigma) allows FID only; "
                           "KID and precision/recall need the images' features")
    sides = []
    for path, stats in zip((args.set_a, args.set_b), statistics):
        if stats is None:
            images = imagesets.load(path)
            for note in imagesets.describe(path, images):
                log.warning("%s", note)
            stats = distances.mean_cov(InceptionFeatures(batch_size=args.batch, resize=args.resize)(images))
        sides.append(stats)
    if sides[0][0].shape != sides[1][0].shape:
        raise HarnessError(f"the two sets' statistics have {len(sides[0][0])} and {len(sides[1][0])} features")
    value, _ = distances.frechet_distance(*sides[0], *sides[1], method=args.sqrt)
    print(json.dumps({"fid": value}) if args.json else f"fid: {value:.6f}  (from statistics)")
    return 0


def _why_undefined(name: str, n_a: int, n_b: int) -> str:
    if name == "kid_std":
        return (f"KID's spread needs subsets smaller than the sets; with {n_a} and {n_b} images every subset is the "
                "whole of both sets, so KID is computed once")
    return "not defined for these sets"


COMMANDS = {"data": cmd_data, "variants": cmd_variants, "profiles": cmd_profiles, "config": cmd_config,
            "run": cmd_run, "generate": cmd_generate,
            "eval": cmd_eval, "fid": cmd_fid, "sweep": cmd_sweep, "screened": cmd_screened,
            "classifier": cmd_classifier,
            "report": cmd_report, "transfer": cmd_transfer, "compare": cmd_compare}
