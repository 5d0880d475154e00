"""Training one conditional GAN: the epoch loop around the model's update step (harness.train.gan), checkpoints.

Reproducibility rests on three rules:
- nothing random is drawn from a stateful generator: the epoch's data order
  comes from (seed, epoch), each step's noise from (seed, step);
- TensorFlow's op determinism is on, and XLA is off (it is slower for these
  transposed convolutions on CPU and not needed);
- the checkpoint holds every variable, optimizers included.
So the same command gives the same per-step losses, and a run resumed after a
kill at any point ends with the same weights as one that never stopped.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from harness import atomicio, images, streams
from harness.config import RunConfig
from harness.data import eurosat
from harness.errors import RunDiverged, RunError
from harness.phases import PhaseClock
from harness.rows import D_WON_ACCURACY, STEP_COLUMNS, row
from harness.train import checkpoint
from harness.train.gan import GAN, configure_determinism

log = logging.getLogger("harness")



@dataclass(frozen=True)
class TrainData:
    images: np.ndarray  # uint8 (N, 64, 64, 3)
    labels: np.ndarray  # int32 (N,)


def epoch_order(seed: int, epoch: int, count: int) -> np.ndarray:
    """The data order of one epoch: the same for every variant under one seed."""
    return np.random.default_rng([seed, epoch, streams.TRAIN_ORDER]).permutation(count)


def eval_latents(seed: int, noise_dim: int, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed evaluation latents and labels (class-major), shared by all variants under one seed."""
    rng = np.random.default_rng([seed, streams.GRID_LATENTS])
    noise = rng.standard_normal((eurosat.NUM_CLASSES * per_class, noise_dim)).astype(np.float32)
    labels = np.repeat(np.arange(eurosat.NUM_CLASSES, dtype=np.int32), per_class)
    return noise, labels


StepHook = Callable[[int, int], None]


def _batch_gatherer(images_t, labels_t):
    """indices -> (those uint8 images as [-1, 1] floats, their labels): one batch, for tf.data or a compiled call."""
    import tensorflow as tf

    def gather(idx):
        return images.to_unit_range(tf.cast(tf.gather(images_t, idx), tf.float32)), tf.gather(labels_t, idx)

    return gather


def epoch_pipeline(order, images_t, labels_t, batch: int):
    """tf.data over one epoch's order of image indices: batches of [-1, 1] floats and int labels.

    tf.data's autotuning is off. Its model thread sleeps 10 ms, 20 ms, 40 ms, ... (then 60 s) between
    wake-ups, and most epochs over a fresh iterator ended only at its next wake-up: paper_dcgan's single-thread
    epochs took 41 s for ~28 s of work at `bench`, 142 s for ~115 s at `long` (docs: Performance). This
    pipeline's parallelism and buffer are fixed, so there is nothing to tune, and the batches are the same."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return (tf.data.Dataset.from_tensor_slices(order)
            .batch(batch, drop_remainder=True)
            .map(_batch_gatherer(images_t, labels_t), num_parallel_calls=1, deterministic=True)
            .prefetch(2)
            .with_options(options))


@dataclass
class _EpochContext:
    """What the epoch-end tasks share: the model, the tables so far, and this epoch's results."""

    gan: GAN
    step_rows: list
    metric_rows: list
    writer: object = None
    epoch: int = 0
    step: int = 0
    seconds: float = 0.0
    new_steps: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    eval_rows: list = field(default_factory=list)
    grid: object = None


class RunFolder(Protocol):
    """What the trainer needs of the folder it trains into (harness.runs.rundir.RunDir is one): the trainer writes
    where it is told and does not know how results are stored, kept or read back."""

    path: Path
    run_id: str
    steps_path: Path
    generator_path: Path
    tensorboard_dir: Path
    last_checkpoint: Path
    previous_checkpoint: Path
    checkpoints: list[Path]  # the training-state checkpoints, newest first

    def steps(self): ...  # the steps table so far (a DataFrame)
    def metrics(self): ...  # the metrics table so far
    def sample_path(self, epoch: int) -> Path: ...
    def generator_snapshot(self, epoch: int) -> Path: ...
    def set_status(self, status: str) -> None: ...
    def truncate_to_epoch(self, epoch: int) -> None: ...
    def write_training_metrics(self, rows: list[dict]) -> None: ...


class Trainer:
    """Runs (or resumes) the epochs of one run inside its run folder."""

    def __init__(self, cfg: RunConfig, data: TrainData, run: RunFolder, *, progress: bool = False,
                 on_step: StepHook | None = None, evaluator=None, strategy=None, clock: PhaseClock | None = None,
                 on_classifier=None):
        batch = cfg.train.batch_size
        if len(data.labels) < batch:
            raise RunError(f"train.batch_size={batch} is larger than the {len(data.labels)} training images")
        self.cfg, self.data, self.run = cfg, data, run
        self.progress, self.on_step = progress, on_step
        self.evaluator = evaluator
        # Called with the reference classifier's info after each evaluation that used it, before that epoch's
        # rows are written: a run's record names the classifier of its domain rows whenever they exist, so a
        # run stopped mid-way (the paper protocol's spans sittings) keeps that record on resume.
        self.on_classifier = on_classifier
        self.strategy = strategy  # a tf.distribute strategy (harness.train.devices); None: the default device
        self.clock = clock or PhaseClock()  # wall time by phase (the runner logs it when the run ends)
        self.steps_per_epoch = len(data.labels) // batch
        self._chunk = None  # the compiled multi-step call (train.steps_per_execution > 1), built on first use
        self._steps_csv, self._steps_last = (0, ""), None  # steps.csv's rows formatted so far, and their text

    def fit(self) -> None:
        import tensorflow as tf

        cfg, run, clock = self.cfg, self.run, self.clock
        with clock("model build"):
            configure_determinism(cfg.seed)
            gan = GAN(cfg, strategy=self.strategy)
        epoch, step = 0, 0
        with clock("checkpoints"):
            found = checkpoint.load_first_good(run.checkpoints, gan.state(),
                                               remedy=f"Move {run.checkpoints_dir} away to start the run over")
        if found is not None:
            path, counters = found
            epoch, step = counters["epoch"], counters["step"]
            log.info("resumed from %s: epoch %d, step %d", path, epoch, step)
        first_epoch = epoch + 1  # the first this process trains: it traces the step
        with clock("tables"):
            run.truncate_to_epoch(epoch)
            ctx = _EpochContext(gan, run.steps().to_dict("records"), run.metrics().to_dict("records"))
        ctx.writer = tf.summary.create_file_writer(str(run.tensorboard_dir)) if cfg.log.tensorboard else None
        images_t = tf.constant(self.data.images)
        labels_t = tf.constant(self.data.labels)
        bar = self._bar(epoch)
        try:
            while epoch < cfg.train.epochs:
                epoch += 1
                started = time.perf_counter()
                new_steps = []
                for values in self._steps(gan, images_t, labels_t, epoch, step):
                    step += 1
                    new_steps.append(dict(zip(["epoch", "step", "d_loss", "g_loss", "d_acc_real", "d_acc_fake"],
                                              [epoch, step, *values])))
                    bar.update(1)
                    bar.set_postfix(d_loss=f"{values[0]:.3f}", g_loss=f"{values[1]:.3f}", refresh=False)
                    if not all(math.isfinite(v) for v in values[:2]):
                        self._record_tables(ctx.step_rows + new_steps, ctx.metric_rows)
                        run.set_status(f"diverged at epoch {epoch}")
                        raise RunDiverged(f"{run.path}: non-finite loss at epoch {epoch}, step {step} "
                                          f"(d_loss={values[0]}, g_loss={values[1]}); kept artifacts up to epoch "
                                          f"{epoch - 1}")
                    if self.on_step:
                        self.on_step(epoch, step)
                ctx.epoch, ctx.step, ctx.new_steps = epoch, step, new_steps
                ctx.seconds = time.perf_counter() - started
                clock.add("training" if epoch > first_epoch else "training (first epoch: tracing included)",
                          ctx.seconds)
                ctx.eval_rows, ctx.grid = [], None
                for task, phase in self.EPOCH_END:
                    with clock(phase):
                        task(self, ctx)
                if self.on_step:
                    self.on_step(epoch, -1)
        finally:
            bar.close()
            if ctx.writer is not None:
                ctx.writer.close()

        with clock("export"):
            if epoch < first_epoch:  # a finished run resumed: no epoch end has refreshed the sampler yet
                gan.refresh_sampler()
            atomicio.write_with(run.generator_path, gan.exportable().save)

    # Epoch-end work, in order ---------------------------------------------
    def _refresh_sampler(self, ctx: "_EpochContext") -> None:
        ctx.gan.refresh_sampler()

    def _summarise(self, ctx: "_EpochContext") -> None:
        ctx.step_rows += ctx.new_steps
        ctx.summary = self._epoch_summary(ctx.new_steps, ctx.seconds)
        ctx.metric_rows += [self._metric_row(row(ctx.epoch, "", name, value)) for name, value in ctx.summary.items()]
        self._log_epoch(ctx.epoch, ctx.summary)

    def _evaluate(self, ctx: "_EpochContext") -> None:
        if self.evaluator is not None:
            ctx.eval_rows = self.evaluator.evaluate_epoch(ctx.gan.sampler, ctx.epoch,
                                                          final=ctx.epoch == self.cfg.train.epochs)
            ctx.metric_rows += [self._metric_row(r) for r in ctx.eval_rows]
            if ctx.eval_rows and self.evaluator.has_domain and self.on_classifier is not None:
                self.on_classifier(self.evaluator.reference_classifier.info)

    def _sample_grid(self, ctx: "_EpochContext") -> None:
        cfg = self.cfg
        if ctx.epoch % cfg.log.sample_every == 0 or ctx.epoch == cfg.train.epochs:
            noise, labels = eval_latents(cfg.seed, cfg.model.g.noise_dim, cfg.log.grid_columns)
            ctx.grid = images.grid(ctx.gan.sample(noise, labels), eurosat.NUM_CLASSES,
                                   row_labels=list(eurosat.CLASSES))
            images.save_png(self.run.sample_path(ctx.epoch), ctx.grid)

    def _write_tensorboard(self, ctx: "_EpochContext") -> None:
        if ctx.writer is not None:
            curves = self.evaluator.compared(ctx.eval_rows) if self.evaluator is not None else []
            self._tensorboard(ctx.writer, ctx.epoch, ctx.summary, ctx.grid, curves)

    def _write_tables(self, ctx: "_EpochContext") -> None:
        self._record_tables(ctx.step_rows, ctx.metric_rows)

    def _keep_generator(self, ctx: "_EpochContext") -> None:
        keep = self.cfg.log.keep_every
        if (keep and ctx.epoch % keep == 0) or ctx.epoch == self.cfg.train.epochs:
            checkpoint.save(self.run.generator_snapshot(ctx.epoch), {"g": ctx.gan.sampler.weights})

    def _write_checkpoint(self, ctx: "_EpochContext") -> None:
        checkpoint.rotate(self.run.last_checkpoint, self.run.previous_checkpoint)
        checkpoint.save(self.run.last_checkpoint, ctx.gan.state(), epoch=ctx.epoch, step=ctx.step)

    # The one statement of the epoch-end order. The tables come before the
    # checkpoint: a kill in between is undone on resume by truncating the
    # tables to the checkpoint's epoch. The checkpoint comes last: once it
    # exists, everything the epoch produces exists too.
    # Each task with the phase its wall time is added to (harness.phases).
    EPOCH_END = ((_summarise, "tables"), (_refresh_sampler, "batch-norm recompute"), (_evaluate, "evaluation"),
                 (_sample_grid, "sample grids"), (_write_tensorboard, "tensorboard"), (_write_tables, "tables"),
                 (_keep_generator, "checkpoints"), (_write_checkpoint, "checkpoints"))

    # Helpers -------------------------------------------------------------
    def _steps(self, gan: GAN, images_t, labels_t, epoch: int, step: int):
        """This epoch's per-step (d_loss, g_loss, d_acc_real, d_acc_fake), as Python floats, in step order.

        With train.steps_per_execution = K > 1, K steps run in one compiled call that gathers its own batches
        and keeps the losses on the device until the call returns (Keras's steps_per_execution): no Python
        iteration, no host sync and no new step tensor per step. The same ops on the same values as K single
        steps, so the same numbers (tested). Single steps where chunks cannot go: several replicas, lazy R1."""
        import tensorflow as tf

        k = self.cfg.train.steps_per_execution
        if k <= 1 or not gan.chunkable:
            for x, y in self._pipeline(images_t, labels_t, epoch):
                yield [float(v) for v in gan.train_step(x, y, tf.constant(step, tf.int64))]
                step += 1
            return
        batch = self.cfg.train.batch_size
        order = epoch_order(self.cfg.seed, epoch, len(self.data.labels))[:self.steps_per_epoch * batch]
        order = order.reshape(self.steps_per_epoch, batch)
        if self._chunk is None:
            self._chunk = gan.chunked(_batch_gatherer(images_t, labels_t))
        for start in range(0, len(order), k):
            values = self._chunk(tf.constant(order[start:start + k]), tf.constant(step + start, tf.int64)).numpy()
            yield from (row.tolist() for row in values.astype(np.float64))

    def _pipeline(self, images_t, labels_t, epoch: int):
        """tf.data over this epoch's order: batches of [-1, 1] floats and int labels."""
        order = epoch_order(self.cfg.seed, epoch, len(self.data.labels))
        return epoch_pipeline(order, images_t, labels_t, self.cfg.train.batch_size)

    def _bar(self, epoch: int):
        from tqdm import tqdm

        total = self.cfg.train.epochs * self.steps_per_epoch
        return tqdm(total=total, initial=epoch * self.steps_per_epoch, unit="step", disable=not self.progress,
                    desc=self.run.run_id, dynamic_ncols=True)

    def _epoch_summary(self, rows: list[dict], seconds: float) -> dict[str, float]:
        summary = {k: float(np.mean([r[k] for r in rows])) for k in ("g_loss", "d_loss", "d_acc_real", "d_acc_fake")}
        summary["wall_time_s"] = seconds
        summary["images_per_s"] = len(rows) * self.cfg.train.batch_size / seconds
        return summary

    def _metric_row(self, row: dict) -> dict:
        return {"run": self.run.run_id, "variant": self.cfg.variant, "seed": self.cfg.seed, **row}

    def _record_tables(self, step_rows: list[dict], metric_rows: list[dict]) -> None:
        import pandas as pd

        # steps.csv grows by one epoch's rows at a time: only those are formatted, then the whole text is written
        # atomically as before (300 x 211 rows, the paper profile, took 1.25 s to build and format whole).
        done, text = self._steps_csv
        if done > len(step_rows) or (done and step_rows[done - 1]["step"] != self._steps_last):
            done, text = 0, ""  # another list than the one formatted so far: start over
        text += pd.DataFrame(step_rows[done:], columns=STEP_COLUMNS).to_csv(index=False, header=not done)
        self._steps_csv, self._steps_last = (len(step_rows), text), step_rows[-1]["step"] if step_rows else None
        atomicio.write_text(self.run.steps_path, text)
        self.run.write_training_metrics(metric_rows)

    def _log_epoch(self, epoch: int, s: dict[str, float]) -> None:
        log.info("epoch %d/%d  d_loss %.4f  g_loss %.4f  D acc real %.3f fake %.3f  %.1f img/s  %.1f s",
                 epoch, self.cfg.train.epochs, s["d_loss"], s["g_loss"], s["d_acc_real"], s["d_acc_fake"],
                 s["images_per_s"], s["wall_time_s"])
        if min(s["d_acc_real"], s["d_acc_fake"]) >= D_WON_ACCURACY:
            log.warning("epoch %d: the discriminator is right on >= %.0f%% of real and of generated images; if it "
                        "stays so, the generator gets no gradient and the run has failed", epoch, 100 * D_WON_ACCURACY)

    @staticmethod
    def _tensorboard(writer, epoch: int, summary: dict[str, float], grid, eval_rows: list[dict]) -> None:
        import tensorflow as tf

        with writer.as_default(step=epoch):
            for name, value in summary.items():
                tf.summary.scalar(name, value)
            for r in eval_rows:  # the compared outputs, per class (the evaluator chose them)
                tf.summary.scalar(f"{r['metric']}/{r['class']}", r["value"])
            if grid is not None:
                tf.summary.image("samples", grid[None], max_outputs=1)
        writer.flush()

