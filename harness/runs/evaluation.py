"""`harness eval`: evaluate a run folder's generator after (or beside) its training.

The evaluator (harness.evaluate) knows metrics and generators; this module knows run folders: it loads the
checkpoint, checks the data is the run's, and merges the rows into the run's tables with a record of what was
computed.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from harness import config, provenance
from harness.data import dataset
from harness.errors import RunError
from harness.evaluate import metrics
from harness.evaluate.evaluator import Evaluator
from harness.runs import runner
from harness.runs.generate import load_generator
from harness.runs.rundir import RunDir
from harness.train.devices import machine


def evaluate_run(run_dir, *, data=None, epoch: int | None = None, overrides: dict | None = None) -> list[dict]:
    """`harness eval`: evaluate a run's checkpoint and merge the rows into its metrics table."""
    rd = RunDir(run_dir)
    record = rd.read_record()
    source = data or recorded_source(record)
    # No run lock: an evaluation may run beside the training (checkpoints are replaced atomically, and the run
    # keeps rows merged in meanwhile) or beside another evaluation; the tables are rewritten under the tables lock.
    rd.metrics(), rd.evaluations()  # a damaged table is refused before minutes of evaluation, not after
    cfg, generator, at_epoch = load_generator(rd, epoch)
    config.apply(cfg, dict(overrides or {}))
    runner.validate(cfg)
    if not metrics.expand(cfg.eval.metrics):
        raise RunError("nothing to evaluate: --metrics is empty")
    ds = dataset.load(source)
    if ds.digest != record["data"]["digest"]:
        raise RunError(f"{ds.source}: content digest {ds.digest[:12]}... is not the run's "
                       f"{record['data']['digest'][:12]}...; pass --data with the archive the run used")
    evaluator = Evaluator(cfg, ds, out_dir=rd.path / "domain")
    rows = evaluator.evaluate(generator, at_epoch)
    rd.merge_metrics(rows, variant=cfg.variant, seed=cfg.seed)
    rd.append_evaluation(_evaluation_record(cfg, at_epoch, overrides, evaluator))
    return rows


def _evaluation_record(cfg, epoch: int, overrides: dict | None, evaluator: Evaluator) -> dict:
    """What one `harness eval` computed, with which settings, code and machine: the metric rows alone do not say
    (e.g. a CAS row from a shortened eval.cas_steps looks like a full-budget one, and an evaluation made months
    after the training, by other code on another CPU, looks like the training's own)."""
    record = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "epoch": epoch, "metrics": metrics.expand(cfg.eval.metrics),
              "overrides": {k: str(v) for k, v in (overrides or {}).items()},
              "eval": {k: v for k, v in config.flatten(cfg).items() if k.startswith("eval.")},
              "code": provenance.code(), "machine": machine()}
    if evaluator.has_domain:
        ref = evaluator.reference_classifier
        record["reference_classifier"] = {"key": ref.info["key"], "weights_digest": ref.info.get("weights_digest"),
                                          "test_accuracy": ref.info["test"]["accuracy"]}
    return record


def recorded_source(record: dict):
    """The archive the run was trained on, if it is still there; else the usual lookup."""
    source = record.get("data", {}).get("source")
    return source if source and Path(source).exists() else None
