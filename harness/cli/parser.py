"""The `harness` parser: every subcommand, its options, one-line description and example, and the exit codes.

Defaults come from the same functions the Python API uses (harness.runs.profiles, harness.config's choices), so
`--help`, the command reference page (harness.cli.reference) and the API cannot disagree.
"""

from __future__ import annotations

import argparse
import logging
import textwrap

from harness import __version__
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
        command = self.prog.removeprefix("harness").strip()
        self.exit(2, f"harness: error: {command + ': ' if command else ''}{message} (see `{self.prog} --help`)\n")

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an argument no command knows is blamed on the command it was given to (argparse
        collects those at the top and would point to `harness --help`)."""
        ns, extra = self.parse_known_args(args, namespace)
        if extra:
            self._chosen(ns).error(f"unrecognized arguments: {' '.join(extra)}")
        return ns

    def _chosen(self, ns: argparse.Namespace) -> argparse.ArgumentParser:
        """The deepest (sub)command parser the parsed arguments selected (`harness data verify`'s for those)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction) and getattr(ns, action.dest, None) in action.choices:
                return action.choices[getattr(ns, action.dest)]._chosen(ns)
        return self


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
    _compare_parser(sub)
    _sweep_parser(sub)
    _screened_parser(sub)
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
                     metavar='{md,html,"md,html"}', help="what to write: Markdown, HTML, or both (md,html or html,md)")
    rep.add_argument("--no-floor", action="store_true",
                     help="skip the real-vs-real floors of FID and domain FID (they extract features of 2N real "
                          "images per class, once)")
    rep.add_argument("--strict", action="store_true",
                     help="refuse to report when a paired comparison holds cells trained on different CPU families "
                          "or by different (or unrecorded) code")
    rep.add_argument("--family", help="the primary outputs: their comparisons x variants form the declared family, "
                     "Holm over all at once; the rest are exploratory (default: label_fidelity,domain_fid,fid,kid)")
    rep.add_argument("--confirm-seeds", metavar="SEEDS",
                     help="seeds the paired tests use, e.g. 1-4 or 1,2,3 (the others screened: they chose the budget "
                          "or a variant), or all; default: the seeds no screen recorded in the results folder used "
                          "(`harness screened`), else every seed")
    _data_arg(rep)


def _transfer_parser(sub) -> None:
    tr = _command(sub, "transfer", "does an effect change with the budget? over the seeds both budgets have: each "
                  "budget's effect against the baseline, the change of the effect (CI, Holm p), equivalence within "
                  "a margin, and the rank agreement of the variants",
                  "harness transfer docs/evidence/bench docs/evidence/long --margin domain_fid=10 --out "
                  "docs/evidence/long")
    tr.add_argument("first", metavar="RESULTS_A", help="the cheap budget's results folder (or a report folder with "
                    "its runs in runs/)")
    tr.add_argument("second", metavar="RESULTS_B", help="the expensive budget's results folder (likewise)")
    tr.add_argument("--labels", default="bench,long", help="the two budgets' names in the table")
    tr.add_argument("--margin", action="append", default=[], metavar="METRIC=M",
                    help="equivalence margin: the effect 'held within ±M' if two one-sided tests place its change "
                         "inside (-M, M), e.g. domain_fid=10 (repeatable; none: no equivalence verdict)")
    tr.add_argument("--all-seeds", action="store_true", help="keep the seeds recorded as screening in either folder "
                    "(`harness screened`; default: leave them out, their effect is biased towards what they chose)")
    tr.add_argument("--out", metavar="DIR", help="also write transfer.csv and transfer.md here")


def _compare_parser(sub) -> None:
    from harness.report.pairs import DEFAULT_METRICS

    cmp = _command(sub, "compare", "the same (variant, seed) cells trained two ways (precisions, machines, "
                   "releases) in two results folders, compared pair by pair",
                   "harness compare results/float32 results/bf16 --metrics fid,label_fidelity")
    cmp.add_argument("first", metavar="A_DIR", help="a results folder (the reference way)")
    cmp.add_argument("second", metavar="B_DIR", help="a results folder with the same cells trained the other way")
    cmp.add_argument("--metrics", default=DEFAULT_METRICS, help="comma-separated row metrics (class means)")
    cmp.add_argument("--out", metavar="DIR", help="also write compare.csv and compare.md here")


def _sweep_parser(sub) -> None:
    from harness.runs.executors import EXECUTORS

    sw = _command(sub, "sweep", "run the grid variant x seed (idempotent: finished cells are skipped; a variant "
                  "or seed listed twice is one cell)",
                  "harness sweep --variants 'paper_dcgan,*norm*' --seeds 0,1,2 --profile bench --jobs 2")
    sw.add_argument("--variants", required=True, help="comma-separated names or wildcards, e.g. 'paper_dcgan,*norm*'")
    sw.add_argument("--seeds", default="0", help="seeds, e.g. 0,1,2 or 0-4")
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
    sw.add_argument("--until-decided", action="store_true",
                    help="seeds on demand: after each round, add the next seed only for the variants with a comparison "
                         "against the baseline still undecided (group-sequential, O'Brien-Fleming alpha spending "
                         "over the family: the family-wise error stays at 0.05); decisions in RESULTS/sequential.csv")
    sw.add_argument("--max-seeds", type=int, default=10, help="--until-decided: the most seeds a comparison gets "
                    "(default: %(default)s)")
    sw.add_argument("--family", help="--until-decided: the outputs compared with the baseline "
                    "(default: label_fidelity,domain_fid,fid,kid)")
    sw.add_argument("--screen", metavar="WHY", help="these seeds screen: say what they will choose (e.g. 'the "
                    "budget'); recorded in RESULTS/screens.json before training, and reports then test on the other "
                    "seeds")
    sw.add_argument("--dry-run", action="store_true", help="train nothing: print each cell's state (to do, running, "
                    "interrupted, failed, done, refused), its epochs and the machines that trained it")
    _data_arg(sw)


def _screened_parser(sub) -> None:
    sc = _command(sub, "screened", "record which seeds screened (chose a budget, a variant or a setting), so reports "
                  "test on the others; without --seeds, list the recorded screens",
                  "harness screened docs/evidence/bench --seeds 0 --why 'the bench budget, from seed-0 curves'")
    sc.add_argument("results", nargs="?", metavar="RESULTS_DIR",
                    help="the results folder (or a report folder with its runs in runs/; default: $HARNESS_RESULTS "
                         "or ./results)")
    sc.add_argument("--seeds", help="the seeds that screened, e.g. 0 or 0,1")
    sc.add_argument("--why", help="what they chose")
    sc.add_argument("--variants", help="the variants the screen compared (recorded as said)")
    sc.add_argument("--profile", choices=tuple(PROFILES), help="the profile it ran at")


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
                   "zips or .npz of uint8 arrays; for FID, either side may be an .npz of precomputed Inception "
                   "statistics mu and sigma, as pytorch-fid writes)",
                   "harness fid EuroSAT_RGB.zip generated.npz --class Forest --metrics fid,kid")
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
    fid.add_argument("--class", dest="cls", metavar="NAME",
                     help="compare one class, in both sets: from a folder or zip the images under a folder of that "
                     "name (EuroSAT's zip as it comes), from an .npz those with that label (as `harness generate "
                     "--format npz` writes)")


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
