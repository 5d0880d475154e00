"""The `harness` command line.

Every command's defaults come from the same functions the Python API uses
(harness.runs.runner.resolve, harness.runs.profiles, harness.paths); nothing here
decides anything a user of the API would not get too.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
from pathlib import Path

from harness import __version__
from harness.errors import HarnessError
from harness.evaluate import metrics
from harness.runs.profiles import PROFILES

log = logging.getLogger("harness")


EXIT_CODES = (
    (0, "success"),
    (1, "the work ran but failed: a sweep cell failed or diverged, `data verify` found problems"),
    (2, "bad input: a path, value, configuration or run folder (one line says which and why)"),
    (3, "a run diverged (a non-finite loss); its folder keeps what was written"),
    (70, "internal error: a bug in the harness (HARNESS_DEBUG=1 shows the traceback)"),
    (130, "interrupted (Ctrl-C)"),
)
INTERNAL_ERROR = 70  # sysexits.h EX_SOFTWARE: not 1, which means "a cell failed"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples as written; every option with a value by default ends "(default: X)", one style
    (options whose default is resolved later say so in their own words, in the same form)."""

    def _get_help_string(self, action):
        text = action.help or ""
        unset = action.default is None or action.default is False or action.default == [] \
            or action.default == argparse.SUPPRESS
        if "(default" in text or unset or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors in the harness's one-line form (exit 2) instead of usage plus a line."""

    def error(self, message):
        self.exit(2, f"harness: error: {self.prog.removeprefix('harness').strip() or 'harness'}: {message} "
                     f"(see `{self.prog} --help`)\n")


def _command(sub, name: str, summary: str, example: str, **kwargs) -> argparse.ArgumentParser:
    """A subcommand with its one-line description and an example in its --help."""
    return sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".",
                          epilog=f"example:\n  {example}", formatter_class=_Formatter, **kwargs)


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="PATH",
                   help="EuroSAT zip or folder (default: $HARNESS_EUROSAT, then the archive fetched into the cache)")


def build_parser() -> argparse.ArgumentParser:
    from harness.runs import profiles

    codes = "\n".join(f"  {code:<4} {what}" for code, what in EXIT_CODES)
    parser = _Parser(
        prog="harness", formatter_class=_Formatter,
        description="Benchmark conditional GANs on EuroSAT RGB: train registered variants under identical seeds, "
                    "evaluate them, report across seeds.",
        epilog="profiles (`harness profiles` says what each costs):\n"
               + "\n".join(textwrap.fill(p.description, 98, initial_indent=f"  {p.name:<7}", subsequent_indent=" " * 9)
                           for p in profiles.PROFILES.values())
               + f"\n\nexit codes:\n{codes}\n\nexample:\n  harness run --variant paper_dcgan --profile cpu")
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    parser.add_argument("--plugins", action="append", default=[], metavar="DIR",
                        help="a folder of your own variant modules (repeatable; also $HARNESS_PLUGINS, ':'-separated)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _data_parsers(sub)
    variants = _command(sub, "variants", "list registered variants and every setting each changes over paper_dcgan",
                        "harness variants '*norm*'")
    variants.add_argument("pattern", nargs="?", default="*", help="wildcard(s), e.g. '*bn*' or 'paper_*,*norm*'")
    _command(sub, "profiles", "list the training profiles, what each scales and what it costs",
             "harness profiles")
    _config_args(_command(sub, "config", "print the resolved configuration of a variant under a profile",
                          "harness config --variant paper_dcgan --profile cpu --set train.lr_d=4e-4"))
    _run_parser(sub)
    _classifier_parsers(sub)
    _report_parser(sub)
    _transfer_parser(sub)
    _sweep_parser(sub)
    _eval_parser(sub)
    _fid_parser(sub)
    _generate_parser(sub)
    return parser


def _data_parsers(sub) -> None:
    data = _command(sub, "data", "fetch, verify and inspect the EuroSAT archive", "harness data verify --data PATH")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    fetch = _command(data_sub, "fetch", "download an official archive and verify its checksum",
                     "harness data fetch --source zenodo")
    fetch.add_argument("--source", default="official", choices=("official", "zenodo"),
                       help="official: EuroSAT.zip; zenodo: EuroSAT_RGB.zip")
    fetch.add_argument("--dest", metavar="DIR", help="folder to store it in (default: the harness cache)")
    _data_arg(_command(data_sub, "verify", "check class folders, counts and that every image is 64x64 RGB",
                       "harness data verify --data ~/EuroSAT.zip"))
    _data_arg(_command(data_sub, "info", "print the archive's content digest and split sizes", "harness data info"))


def _run_parser(sub) -> None:
    run = _command(sub, "run", "train one variant (resumable) into results/<run-id>/",
                   "harness run --variant paper_dcgan --profile cpu --seed 1")
    _config_args(run)
    _data_arg(run)
    run.add_argument("--out", metavar="DIR", help="results folder (default: $HARNESS_RESULTS or ./results)")
    run.add_argument("--run-id", help="run folder name (default: <variant>-<profile>-s<seed>)")
    run.add_argument("--resume", action="store_true", help="continue the run from its last checkpoint")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--devices", default="1", help="data-parallel replicas: 1, all GPUs, or N GPUs; the global "
                     "batch stays train.batch_size")


def _classifier_parsers(sub) -> None:
    clf = _command(sub, "classifier", "the reference EuroSAT classifier behind the domain metrics",
                   "harness classifier train")
    clf_sub = clf.add_subparsers(dest="classifier_command", required=True, metavar="ACTION")
    clf_train = _command(clf_sub, "train", "train it on the train split (or load the cached one) and report test "
                         "accuracy, per-class accuracy and the confusion matrix", "harness classifier train --seed 0")
    _data_arg(clf_train)
    clf_train.add_argument("--seed", type=int, default=0, help="training seed")
    clf_train.add_argument("--epochs", type=int, help="override the recipe's epochs (a different cache entry)")
    clf_train.add_argument("--retrain", action="store_true", help="train again even if a cached one exists")


def _report_parser(sub) -> None:
    rep = _command(sub, "report", "tables, figures and significance across seeds, as Markdown and one "
                   "self-contained HTML file", "harness report results/ --variants 'paper_dcgan,*norm*'")
    rep.add_argument("results", nargs="?", metavar="RESULTS_DIR",
                     help="the results folder (default: $HARNESS_RESULTS or ./results)")
    rep.add_argument("--variants", help="comma-separated names or wildcards (default: every variant present)")
    rep.add_argument("--out", metavar="DIR", help="where to write the report (default: RESULTS_DIR/report)")
    rep.add_argument("--format", default="md,html", choices=("md", "html", "md,html", "html,md"),
                     help="what to write")
    rep.add_argument("--no-floor", action="store_true",
                     help="skip the real-vs-real FID floor (it runs Inception on 2N real images per class, once)")
    _data_arg(rep)


def _transfer_parser(sub) -> None:
    tr = _command(sub, "transfer", "do one budget's conclusions hold at another? two reports' paired comparisons "
                  "side by side, with a verdict per variant and metric",
                  "harness transfer docs/evidence/bench docs/evidence/long --out docs/evidence/long")
    tr.add_argument("first", metavar="REPORT_A", help="a `harness report` folder (the cheap budget)")
    tr.add_argument("second", metavar="REPORT_B", help="a `harness report` folder (the expensive budget)")
    tr.add_argument("--labels", default="bench,long", help="the two budgets' names in the table")
    tr.add_argument("--out", metavar="DIR", help="also write transfer.csv and transfer.md here")


def _sweep_parser(sub) -> None:
    from harness.runs.executors import EXECUTORS

    sw = _command(sub, "sweep", "run the grid variant x seed (idempotent: finished cells are skipped; a variant "
                  "or seed listed twice is one cell)",
                  "harness sweep --variants 'paper_dcgan,*norm*' --seeds 0,1,2 --profile bench --jobs 2")
    sw.add_argument("--variants", required=True, help="comma-separated names or wildcards, e.g. 'paper_dcgan,*norm*'")
    sw.add_argument("--seeds", default="0", help="comma-separated seeds")
    sw.add_argument("--profile", default="cpu", choices=tuple(PROFILES), help="training scale (`harness profiles`)")
    sw.add_argument("--jobs", type=int, help="local executor: cells trained at once, the cores divided among them "
                    "(default: one single-threaded cell per core, measured faster)")
    sw.add_argument("--executor", default="local", choices=tuple(EXECUTORS), help="where the cells run")
    sw.add_argument("--address", help="ray: the cluster to join, e.g. ray://head:10001 or auto (default: a local Ray)")
    sw.add_argument("--cpus-per-cell", type=float, default=1, help="ray: CPUs each cell asks for")
    sw.add_argument("--gpus-per-cell", type=float, default=0, help="ray: GPUs each cell asks for")
    sw.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a configuration key in every cell (repeatable)")
    sw.add_argument("--out", metavar="DIR", help="results folder (default: $HARNESS_RESULTS or ./results)")
    _data_arg(sw)


def _eval_parser(sub) -> None:
    from harness.config import EVAL_PROTOCOLS

    ev = _command(sub, "eval", "evaluate a run's generator (per class) into its metrics table; safe beside its "
                  "training or another evaluation", "harness eval results/paper_dcgan-cpu-s0 --metrics fid,kid --n 500")
    ev.add_argument("run_dir", metavar="RUN_DIR")
    ev.add_argument("--metrics", help=f"comma-separated registered metrics: {metrics.describe()}; or the groups "
                    f"{', '.join(metrics.groups())} (default: the run's eval.metrics)")
    ev.add_argument("--n", type=int, help="generated images per class (default: the run's eval.n)")
    ev.add_argument("--protocol", choices=EVAL_PROTOCOLS,
                    help="paper: n real vs n generated; full: every real image of the class (default: the run's)")
    ev.add_argument("--epoch", type=int, help="a kept generator epoch (default: the latest checkpoint)")
    ev.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="other eval.* keys")
    _data_arg(ev)


def _fid_parser(sub) -> None:
    from harness.config import RESIZES, SQRT_METHODS

    fid = _command(sub, "fid", "FID, KID, precision, recall, density, coverage between two image sets (folders, "
                   "zips or .npz of uint8 arrays)", "harness fid real/ generated.npz --metrics fid,kid")
    fid.add_argument("set_a", metavar="REAL", help="the real (reference) set")
    fid.add_argument("set_b", metavar="FAKE", help="the generated set (precision: the share of FAKE inside REAL's "
                     "manifold)")
    fid.add_argument("--metrics", default="fid", help="comma-separated: "
                     f"{', '.join(m.name for m in metrics.for_image_sets())}")
    fid.add_argument("--k", type=int, default=5, help="nearest neighbours for precision/recall/density/coverage "
                     "(Naeem et al. use 5; NVIDIA and torch-fidelity 3)")
    fid.add_argument("--json", action="store_true", help="print one JSON object {metric: value} and nothing else")
    fid.add_argument("--kid", action="store_true", help="also KID (the same as adding kid to --metrics)")
    fid.add_argument("--sqrt", default="eigh", choices=SQRT_METHODS, help="matrix square root")
    fid.add_argument("--resize", default="tf1-bilinear", choices=RESIZES, help="64 -> 299 for Inception: "
                     "tf1-bilinear (the standard FID's) or clean (clean-fid's PIL bicubic on float32)")
    fid.add_argument("--batch", type=int, default=50, help="images per Inception batch")


def _generate_parser(sub) -> None:
    gen = _command(sub, "generate", "write labelled generated images from a run",
                   "harness generate results/paper_dcgan-cpu-s0 --class Forest --n 500 --out synthetic/")
    gen.add_argument("run_dir", metavar="RUN_DIR")
    gen.add_argument("--class", dest="cls", default="all", help="a class name, comma-separated names, or all")
    gen.add_argument("--n", type=int, default=100, help="images per class")
    gen.add_argument("--out", required=True, metavar="DIR")
    gen.add_argument("--format", default="png", choices=("png", "npz"),
                     help="png: one folder per class; npz: images and labels")
    gen.add_argument("--epoch", type=int, help="a kept generator epoch (default: the latest checkpoint)")
    gen.add_argument("--seed", type=int, default=0, help="latent seed")


def _config_args(p: argparse.ArgumentParser) -> None:
    from harness.config import PRECISIONS, SPLITS

    p.add_argument("--variant", required=True, help="a registered variant (`harness variants`)")
    p.add_argument("--profile", default="cpu", choices=tuple(PROFILES), help="training scale (`harness profiles`)")
    p.add_argument("--seed", type=int, default=0, help="run seed: data order, noise, initial weights")
    p.add_argument("--epochs", type=int, help="override the profile's epochs")
    p.add_argument("--split", choices=SPLITS,
                   help="train: the stratified 80%% train split; all: every image, as the paper (default: the "
                        "profile's)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="float32 (the default), mixed_float16 (GPUs; on a CPU it stays float32) or mixed_bfloat16 "
                        "(where bf16 is native: AVX512-BF16/AMX CPUs, Ampere+ GPUs; else float32)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a configuration key, e.g. --set train.lr_g=1e-4 (repeatable)")


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

    rows = [(p.name, fill(p.description, 60), fill(p.cost or "not measured", 40),
             fill(", ".join(f"{k}={v}" for k, v in p.overrides.items()), 50))
            for p in profiles.PROFILES.values()]
    print(tabulate(rows, headers=["profile", "what it scales", "what it costs (measured)", "overrides"]))
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

    classes = list(eurosat.CLASSES) if args.cls == "all" else [c.strip() for c in args.cls.split(",")]
    written = generate(args.run_dir, classes=classes, n=args.n, out=args.out, fmt=args.format,
                       epoch=args.epoch, seed=args.seed)
    where = written[0] if args.format == "npz" else Path(args.out)
    print(f"wrote {args.n} images x {len(classes)} classes to {where}")
    return 0


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
    from harness import paths
    from harness.report import build

    results = Path(args.results) if args.results else paths.results_dir()
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    report = build(results, variants=args.variants, out=args.out, formats=formats, data=args.data,
                   floor=not args.no_floor)
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
    from harness import atomicio
    from harness.report import transfer

    labels = tuple(x.strip() for x in args.labels.split(","))
    if len(labels) != 2 or not all(labels):
        raise HarnessError(f"--labels {args.labels!r}: expected two names, e.g. bench,long")
    table = transfer.transfer(Path(args.first), Path(args.second), labels)
    if table.empty:
        raise HarnessError(f"{args.first} and {args.second} compare no variant on the same metric")
    text = transfer.markdown(table, labels)
    print(text, end="")
    if args.out:
        out = Path(args.out)
        atomicio.write_text(out / "transfer.csv", table.to_csv(index=False))
        atomicio.write_text(out / "transfer.md", text)
    return 0


def cmd_sweep(args) -> int:
    from collections import Counter

    from tabulate import tabulate

    from harness import config
    from harness.runs import sweep
    from harness.runs.executors import local

    cells = sweep.expand(args.variants, args.seeds)
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
    uses_k = [m for m in names if "eval.k" in available[m].settings]
    sets = [imagesets.load(p) for p in (args.set_a, args.set_b)]
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
    if args.json:
        print(json.dumps(values))
        return 0
    for name, value in values.items():
        print(f"{name}: {value:.6f}{details.get(name, '')}")
    return 0


COMMANDS = {"data": cmd_data, "variants": cmd_variants, "profiles": cmd_profiles, "config": cmd_config,
            "run": cmd_run, "generate": cmd_generate,
            "eval": cmd_eval, "fid": cmd_fid, "sweep": cmd_sweep, "classifier": cmd_classifier,
            "report": cmd_report, "transfer": cmd_transfer}


# Commands that load TensorFlow (the others never import it).
TENSORFLOW_COMMANDS = ("run", "sweep", "eval", "fid", "generate", "classifier", "report")


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with its start-up banner (absl and oneDNN notices, printed from C++ before any log
    level applies) held back, so that the first line a command prints is the harness's own. The banner comes
    back with HARNESS_DEBUG=1 or a TF_CPP_MIN_LOG_LEVEL of the user's own; if the import fails, what it
    printed is shown."""
    import tempfile

    with tempfile.TemporaryFile() as held:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def main(argv: list[str] | None = None) -> int:
    quiet = not os.environ.get("HARNESS_DEBUG") and "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter hides our own messages
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument (its one line already printed): a return code
        return exc.code if isinstance(exc.code, int) else 0
    if quiet and args.command in TENSORFLOW_COMMANDS and "tensorflow" not in sys.modules:
        _import_tensorflow_quietly()
    try:
        from harness.models import registry

        folders = args.plugins + [p for p in os.environ.get("HARNESS_PLUGINS", "").split(":") if p]
        for folder in folders:
            registry.load_plugins(folder)
        return COMMANDS[args.command](args)
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`harness profiles | head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the final flush cannot fail too
        return 0
    except Exception as exc:  # a bug, not bad input: one line here, the traceback with HARNESS_DEBUG=1
        if os.environ.get("HARNESS_DEBUG"):
            raise
        print(f"harness: internal error: {type(exc).__name__}: {exc} (rerun with HARNESS_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
