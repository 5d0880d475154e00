"""`harness run`: resolve a configuration, open its run folder, train, record.

The run folder is the unit of work: it is locked while a process works on it,
it refuses to be overwritten, and it can only be resumed with the
configuration and data it was started with.
"""

from __future__ import annotations

import datetime as dt
import logging
import platform
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import __version__, config, provenance
from harness.config import RunConfig
from harness.data import dataset, eurosat
from harness.errors import ConfigError, HarnessError, RunDiverged, RunError
from harness.evaluate import metrics
from harness.models import registry
from harness.runs import profiles
from harness.runs.rundir import RunDir, check_run_id, recorded_sittings
from harness.train import objectives

log = logging.getLogger("harness")

# Keys that name a run (its folder, its report row): set by their own options, never through --set.
RUN_NAMING = {"variant": "--variant", "profile": "--profile", "seed": "--seed (or --seeds)"}
# Keys a resumed run may change: extending training is what resuming is for.
RESUMABLE_CHANGES = ("train.epochs", "description")


def resolve(variant: str, *, profile: str = "cpu", seed: int = 0, epochs: int | None = None,
            overrides: dict | None = None) -> RunConfig:
    """Variant factory -> profile -> user overrides -> validate."""
    naming = sorted(set(overrides or {}) & set(RUN_NAMING))
    if naming:
        key = naming[0]
        raise ConfigError(f"--set {key}={(overrides or {})[key]}: {key} names the run; use {RUN_NAMING[key]} instead")
    cfg = registry.build_config(variant)
    profiles.apply_profile(cfg, profile)
    extra = dict(overrides or {})
    extra["seed"] = seed
    if epochs is not None:
        extra["train.epochs"] = epochs
    config.apply(cfg, extra)
    return validate(cfg)


def validate(cfg: RunConfig) -> RunConfig:
    """Every rule a run's configuration must meet before anything is trained or evaluated: the configuration's own
    (harness.config.validate), the objective registry's (train.loss) and the metric registry's (eval.metrics
    names, N against k)."""
    return metrics.check_config(objectives.check_config(config.validate(cfg)))


def default_run_id(cfg: RunConfig) -> str:
    return run_id_of(cfg.variant, cfg.profile, cfg.seed)


def run_id_of(variant: str, profile: str, seed: int) -> str:
    """The run folder's name of a (variant, profile, seed) cell: no --set can change these three (RUN_NAMING)."""
    return f"{variant}-{profile}-s{seed}"


def versions() -> dict[str, str]:
    import keras
    import pandas
    import PIL
    import tensorflow as tf

    return {"harness": __version__, "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__, "pandas": pandas.__version__,
            "pillow": PIL.__version__, "platform": platform.platform()}


def visible_devices() -> list[str]:
    import tensorflow as tf

    return [d.name for d in tf.config.list_logical_devices()]


def run(cfg: RunConfig, *, data=None, out: Path | str | None = None, run_id: str | None = None,
        resume: bool = False, progress: bool = False, on_step=None, devices: str | int | None = None,
        clock=None) -> RunDir:
    """Train `cfg` into out/run_id (resuming it if asked). Returns the run folder, whose
    `trained` is False when a resumed run turned out to be finished already. `clock` (harness.phases) times
    the run's phases, logged when it ends; by default from this call on."""
    from harness import paths
    from harness.phases import PhaseClock
    from harness.train import devices as devices_mod

    clock = clock or PhaseClock()
    with clock("start-up"):  # TensorFlow and Keras are imported here on a first run in the process
        from harness.train.trainer import TrainData, Trainer
    if not devices_mod.one_inter_op_thread():
        log.info("TensorFlow started before this run with %s inter-op threads: a repeat in a new process may "
                 "differ in the last bits (docs/design.md, Determinism)", devices_mod.thread_settings()["inter_op"])
    strategy = devices_mod.strategy(devices, cfg.train.batch_size)  # a bad --devices fails before anything is written
    cfg.train.precision = devices_mod.effective_precision(cfg.train.precision)
    run_id = check_run_id(run_id or default_run_id(cfg))
    rd = RunDir(paths.check_output_folder(out or paths.results_dir()) / run_id)
    with clock("data"):
        ds = dataset.load(data)
        idx = dataset.training_indices(ds, cfg.data)
    per_class = np.bincount(ds.labels[idx], minlength=10)
    empty = [name for name, count in zip(eurosat.CLASSES, per_class) if count == 0]
    if empty:  # a conditional generator would learn nothing for them, and every per-class table would be wrong
        raise RunError(f"{ds.source}: no training images of {', '.join(empty)} ({len(empty)} of 10 classes); "
                       "the harness trains on all ten EuroSAT classes")
    record = {
        "run_id": run_id,
        "config": config.flatten(cfg),
        "data": {"digest": ds.digest, "source": ds.source, "n_train": int(len(idx)),
                 "per_class": per_class.tolist()},
        "versions": versions(),
        "code": provenance.code(),
        "devices": visible_devices(),
        "machine": {**devices_mod.machine(), "tf_threads": devices_mod.thread_settings()},
        "replicas": str(strategy.num_replicas_in_sync),
    }
    if rd.path.exists() and not rd.path.is_dir():
        raise RunError(f"{rd.path}: exists and is a file, not a run folder; choose another --run-id or --out")
    foreign = rd.foreign_names()
    if foreign:
        raise RunError(f"{rd.path}: exists and is not a run folder (it holds {', '.join(foreign[:3])}"
                       f"{', ...' if len(foreign) > 3 else ''}); choose another --run-id or --out")
    rd.path.mkdir(parents=True, exist_ok=True)
    with rd.lock():
        plan = plan_start(rd, record, cfg, resume=resume)
        if plan.action == "finished":
            log.info("%s", plan.reason)
            rd.trained = False
            return rd
        record = plan.record
        rd.write_record(record)
        rd.set_status("running")
        handler = _file_log(rd)
        try:
            log.info("run %s: %s, profile %s, seed %d, %d training images, devices %s", run_id, cfg.variant,
                     cfg.profile, cfg.seed, len(idx), ", ".join(record["devices"]))
            evaluator = None
            if metrics.expand(cfg.eval.metrics) or cfg.eval.domain_every:
                from harness.evaluate.evaluator import Evaluator

                with clock("evaluator"):
                    evaluator = Evaluator(cfg, ds, out_dir=rd.path / "domain")
            trainer = Trainer(cfg, TrainData(ds.images[idx], ds.labels[idx]), rd, progress=progress,
                              on_step=on_step, evaluator=evaluator, strategy=strategy, clock=clock,
                              on_classifier=lambda info: rd.write_record(with_classifier(record, info)))
            trainer.fit()
            rd.set_status("done")
            log.info("run %s done: %s", run_id, rd.path)
            log.info("%s", clock.summary())
        except RunDiverged:
            raise
        except HarnessError as exc:
            rd.set_status(f"failed: {exc}")
            raise
        except KeyboardInterrupt:
            rd.set_status("failed: interrupted")
            raise
        except Exception as exc:
            # The traceback goes to log.txt only; the console gets one line.
            handler.stream.write(traceback.format_exc())
            handler.flush()
            if type(exc).__name__ in ("ResourceExhaustedError", "MemoryError"):  # a setting, not a bug
                rd.set_status("failed: out of memory")
                then = ("--resume starts it again with the new settings" if never_trained(rd) else
                        "it had trained epochs already: --resume continues it, with the same settings, where more "
                        "memory is free")
                raise RunError(f"out of memory training {cfg.variant} at model.width={cfg.model.width:g}, "
                               f"train.batch_size={cfg.train.batch_size}: choose a smaller width or batch (the "
                               f"traceback is in {rd.log_path}; {then})") from None
            rd.set_status(f"failed: {type(exc).__name__}: {exc}")
            raise
        finally:
            logging.getLogger("harness").removeHandler(handler)
            handler.close()
    return rd


@dataclass
class StartPlan:
    """What run() does with its folder, decided before anything is written: start a new run, start again a run
    that failed before recording anything, resume one, or leave a finished one as it is."""
    action: str  # "new" | "restart" | "resume" | "finished"
    record: dict  # the record to write (new, restart, resume)
    reason: str = ""  # why a finished run is left as it is


def plan_start(rd: RunDir, record: dict, cfg: RunConfig, *, resume: bool) -> StartPlan:
    """The resume policy, as a function of the folder's state and the request: it reads the folder (record,
    status, tables, checkpoints) and raises the one-line RunError a refused request gets; it writes nothing."""
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    if not rd.exists():
        return StartPlan("new", {**record, "created": now, "sittings": [sitting(record, now, 0)]})
    untrained = never_trained(rd)
    if not resume:
        if untrained:
            raise RunError(f"{rd.path}: a run that failed before its first epoch is here ({rd.status()}); "
                           "pass --resume to start it again with these settings, or --run-id NAME")
        raise RunError(f"{rd.path}: run exists (status: {rd.status()}); pass --resume to continue it, "
                       "or --run-id NAME for a new run")
    if untrained:
        # Nothing was trained with the old settings: a corrected configuration starts the run afresh, and the
        # record keeps what the failed start was.
        failed = {"status": rd.status(), "config_changes": config_changes(rd.read_record(), record["config"])}
        return StartPlan("restart", {**record, "failed_start": failed, "created": now,
                                     "sittings": [sitting(record, now, 0)]})
    _check_resumable(rd, record)
    metrics_table, _ = rd.tables()  # a damaged table is refused before the record or the status is touched
    old = rd.read_record()
    if rd.status() == "done" and old["config"]["train.epochs"] == cfg.train.epochs:
        return StartPlan("finished", old, f"{rd.path} is already done")
    trained = rd.finished_epoch()  # reads the newest checkpoint of an unfinished run: once
    if covers(old, trained, cfg.train.epochs):
        return StartPlan("finished", old, f"{rd.path} has trained {trained} epochs (of "
                         f"{old['config']['train.epochs']} planned), more than the {cfg.train.epochs} asked: left "
                         "as it is")
    out = {**record, "created": old.get("created"), "resumed": now,
           "sittings": recorded_sittings(old) + [sitting(record, now, trained)]}
    if "reference_classifier" in old:  # the rows before the resume came from it
        out["reference_classifier"] = old["reference_classifier"]
    elif (metrics_table["metric"] == "domain_fid").any():  # rows from a harness that did not record it
        out["reference_classifier"] = {"key": None, "unrecorded": True, "test_accuracy": None}
    return StartPlan("resume", out)


def never_trained(rd: RunDir) -> bool:
    """A run that failed before it recorded anything: no checkpoint file, no step, no metric row. Only such a run
    may be started again with other settings; an unreadable checkpoint is not "nothing trained"."""
    return (rd.status().startswith("failed") and not any(p.exists() for p in rd.checkpoints)
            and not rd.steps_path.exists() and not rd.metrics_path.exists())


def covers(old: dict, trained: int | None, asked: int) -> bool:
    """Whether a run planned for more epochs than `asked` has already trained them: it is then left as it is. A
    resume never shortens a run (its record would say fewer epochs than its tables hold), so a 30-epoch sweep
    over a folder whose cells were extended to 60 skips them instead of rewriting their records."""
    return int(old["config"]["train.epochs"]) > asked and (trained or 0) >= asked


def sitting(record: dict, started: str, from_epoch: int | None) -> dict:
    """One start or resume of a run: where and with what it trained from `from_epoch` on. A sweep that spans
    machines resumes its cells wherever it is restarted, and float rounding (hence the numbers) differs between
    CPU families, so a run names every machine that trained part of it, not only the last, and the code that ran
    there (harness.provenance: commit, uncommitted changes), since a version string does not identify it."""
    return {"started": started, "from_epoch": from_epoch, "machine": record["machine"],
            "devices": record["devices"], "versions": record["versions"], "code": record.get("code")}


def with_classifier(record: dict, info: dict) -> dict:
    """The run record naming the reference classifier its domain rows came from, so that a report can tell
    whether the cached classifier is theirs (e.g. for the domain FID floor) instead of assuming it. A run resumed
    after the cache changed, or one begun by a harness that did not record it, has rows from two classifiers or
    an unknown one: its key is then null, and `mixed` says so."""
    mine = {"key": info["key"], "weights_digest": info.get("weights_digest"), "test_accuracy": info["test"]["accuracy"]}
    before = record.get("reference_classifier")
    if before is not None and before.get("key") != mine["key"]:
        mine = {"key": None, "mixed": True, "test_accuracy": None}
    elif before is not None and before.get("weights_digest") != mine["weights_digest"]:
        # Same recipe, other weights (retrained on another machine), or rows from before digests were recorded.
        mine = {**mine, "weights_digest": None, "mixed_weights": before.get("weights_digest") or "not recorded"}
    return {**record, "reference_classifier": mine}


def config_changes(old: dict, new_config: dict) -> list[str]:
    """What a resume with `new_config` (flattened) would change in the run recorded as `old`, beyond what a resume
    may change: anything listed refuses the resume."""
    # A key added by a later harness version did not exist when the run started: it ran with the default.
    defaults = config.flatten(config.RunConfig())
    old_config = {**{k: defaults[k] for k in new_config if k in defaults}, **old.get("config", {})}
    return config.diff(old_config, new_config, ignore=RESUMABLE_CHANGES)


def _check_resumable(rd: RunDir, record: dict) -> None:
    old = rd.read_record()
    changes = config_changes(old, record["config"])
    if old.get("data", {}).get("digest") != record["data"]["digest"]:
        changes.append(f"data digest: {old.get('data', {}).get('digest')} -> {record['data']['digest']}")
    if changes:
        raise RunError(f"{rd.path}: cannot resume with a different configuration: " + "; ".join(changes))


def _file_log(rd: RunDir) -> logging.Handler:
    handler = logging.FileHandler(rd.log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("harness")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
