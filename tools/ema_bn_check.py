"""Dev tool: which batch-norm statistics should the generator average (train.g_ema) sample with?

For each finished run with train.g_ema > 0, the same label-fidelity and domain-FID evaluation (the run's fixed
latents, the reference classifier) of three generators from its last checkpoint:
- trained: the trained generator, its own moving statistics;
- ema-averaged: the average of every generator variable, moving statistics included (the harness's choice,
  BigGAN's);
- ema-recomputed: the averaged weights with "standing" statistics recomputed for them (harness.train.ema, what
  train.g_ema_bn=recompute samples with): the mean of batch statistics over `--batches` training-mode passes of
  batch `train.batch_size` (fresh N(0, 1) noise, balanced labels), as torch.optim.swa_utils.update_bn does and
  StudioGAN offers.

    python tools/ema_bn_check.py RUN_DIR [RUN_DIR ...] [--batches 50] [--csv out.csv]

Evaluation only: nothing is trained and the run folders are not written to.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from harness import config
from harness.data import dataset
from harness.evaluate.evaluator import Evaluator
from harness.models.networks import build_generator
from harness.runs import runner
from harness.runs.evaluation import recorded_source
from harness.runs.rundir import RunDir
from harness.train import checkpoint
from harness.train.ema import STANDING_PASSES, recompute_for_run

METRICS = ["fidelity", "domain_fid"]


def generators(rd: RunDir):
    cfg = runner.validate(config.from_flat(rd.read_record()["config"]))
    if cfg.train.g_ema <= 0:
        raise SystemExit(f"{rd.path}: train.g_ema is 0, there is no average to check")
    trained, averaged = build_generator(cfg.model, seed=cfg.seed), build_generator(cfg.model, seed=cfg.seed)
    found = checkpoint.load_first_good(rd.checkpoints, {"g": trained.weights, "g_ema": averaged.weights})
    if found is None:
        raise SystemExit(f"{rd.path}: no usable checkpoint")
    return cfg, found[1]["epoch"], trained, averaged


def class_means(rows: list[dict]) -> dict[str, float]:
    return {r["metric"]: r["value"] for r in rows if r["class"] == "mean" and not r["settings"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--batches", type=int, default=STANDING_PASSES)
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args(argv)
    table = []
    for path in args.runs:
        rd = RunDir(path)
        cfg, epoch, trained, averaged = generators(rd)
        cfg.eval.metrics = ",".join(METRICS)
        ds = dataset.load(recorded_source(rd.read_record()))  # the archive the run used, as harness eval finds it
        evaluator = Evaluator(cfg, ds)
        for name, generator in (("trained", trained), ("ema-averaged", averaged)):
            table.append({"run": rd.run_id, "epoch": epoch, "generator": name,
                          **class_means(evaluator.evaluate(generator, epoch, METRICS))})
        recompute_for_run(averaged, cfg, passes=args.batches)
        table.append({"run": rd.run_id, "epoch": epoch, "generator": "ema-recomputed",
                      **class_means(evaluator.evaluate(averaged, epoch, METRICS))})
        print(pd.DataFrame(table[-3:]).to_string(index=False), flush=True)
    frame = pd.DataFrame(table)
    if args.csv:
        frame.to_csv(args.csv, index=False)
    summary = frame.groupby("generator", sort=False)[["label_fidelity", "domain_fid"]].agg(["mean", "std"])
    print(summary.to_string())
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
