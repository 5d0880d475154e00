"""Training one conditional GAN: models, the lock-step update, epochs, checkpoints.

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

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from harness import checkpoint, eurosat, images
from harness.config import RunConfig
from harness.errors import RunDiverged, RunError
from harness.rundir import RunDir

log = logging.getLogger("harness")

_ORDER_STREAM = 0xDA7A  # stream ids keep the derived random streams apart
_EVAL_STREAM = 0xE7A1


@dataclass(frozen=True)
class TrainData:
    images: np.ndarray  # uint8 (N, 64, 64, 3)
    labels: np.ndarray  # int32 (N,)


def epoch_order(seed: int, epoch: int, count: int) -> np.ndarray:
    """The data order of one epoch: the same for every variant under one seed."""
    return np.random.default_rng([seed, epoch, _ORDER_STREAM]).permutation(count)


def eval_latents(seed: int, noise_dim: int, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed evaluation latents and labels (class-major), shared by all variants under one seed."""
    rng = np.random.default_rng([seed, _EVAL_STREAM])
    noise = rng.standard_normal((eurosat.NUM_CLASSES * per_class, noise_dim)).astype(np.float32)
    labels = np.repeat(np.arange(eurosat.NUM_CLASSES, dtype=np.int32), per_class)
    return noise, labels


def configure_determinism(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class GAN:
    """The two networks, their optimizers and the compiled training step.

    With a MirroredStrategy of R replicas, each replica takes its 1/R slice of
    the global batch, of the step's noise (drawn for the whole global batch, so
    it does not depend on R) and of its batch-norm statistics (synchronised
    across replicas). Each replica's loss is its slice's mean divided by R, and
    the optimizer sums the replicas' gradients: the gradient of the global mean.
    So R replicas compute the step a single device computes, up to float
    rounding (tested with 2 logical CPUs).
    """

    def __init__(self, cfg: RunConfig, *, strategy=None, precision: str | None = None):
        import keras
        import tensorflow as tf

        from harness import losses
        from harness.models import build_discriminator, build_generator

        self.cfg = cfg
        t = cfg.train
        self.strategy = strategy or tf.distribute.get_strategy()
        self.precision = precision or t.precision
        replicas = self.strategy.num_replicas_in_sync
        mixed = self.precision == "mixed_float16"
        with self.strategy.scope(), _dtype_policy(self.precision):
            self.generator = build_generator(cfg.model, seed=cfg.seed, sync_bn=replicas > 1)
            self.discriminator = build_discriminator(cfg.model, seed=cfg.seed, sync_bn=replicas > 1)
            self.g_opt = keras.optimizers.Adam(t.lr_g, beta_1=t.beta_1, beta_2=t.beta_2, name="g_adam")
            self.d_opt = keras.optimizers.Adam(t.lr_d, beta_1=t.beta_1, beta_2=t.beta_2, name="d_adam")
            if mixed:  # float16 gradients underflow without loss scaling
                self.g_opt = keras.optimizers.LossScaleOptimizer(self.g_opt, name="g_loss_scale")
                self.d_opt = keras.optimizers.LossScaleOptimizer(self.d_opt, name="d_loss_scale")
            self.g_opt.build(self.generator.trainable_variables)
            self.d_opt.build(self.discriminator.trainable_variables)
        d_loss_fn, g_loss_fn = losses.D_LOSSES[t.loss], losses.G_LOSSES[t.loss]
        G, D = self.generator, self.discriminator
        batch, noise_dim, seed = t.batch_size, cfg.model.g.noise_dim, cfg.seed
        local = batch // replicas

        def shard(tensor):
            """This replica's slice of a global-batch tensor."""
            if replicas == 1:
                return tensor
            rid = tf.distribute.get_replica_context().replica_id_in_sync_group
            return tensor[rid * local:(rid + 1) * local]

        def noise(step, which):
            pair = tf.stack([tf.constant(seed, tf.int64), 2 * step + which])
            return shard(tf.random.stateless_normal([batch, noise_dim], seed=pair))

        if t.augment == "diffaugment":
            from harness.augment import diff_augment

            def seen_by_d(images, step, which):
                pair = tf.stack([tf.constant(seed, tf.int64), 4 * step + which])
                if replicas > 1:  # each replica augments its own images with its own draw
                    rid = tf.distribute.get_replica_context().replica_id_in_sync_group
                    pair = pair + tf.cast(tf.stack([0, rid * 0x10000]), tf.int64)
                return diff_augment(images, pair)
        else:
            def seen_by_d(images, step, which):
                return images

        def logits(model, inputs):
            return tf.cast(model(inputs, training=True), tf.float32)

        def for_gradient(opt, loss):
            """What to differentiate, computed under the tape: the replica's share, loss-scaled if mixed."""
            share = loss / replicas  # the optimizer sums the replicas' gradients
            return opt.scale_loss(share) if mixed else share

        def update(opt, objective, variables, tape):
            opt.apply_gradients(zip(tape.gradient(objective, variables), variables))

        def replica_step(x, y, step):
            # One discriminator update, then one generator update on fresh
            # fakes of the same classes as the real batch (the paper's lock step).
            x, y = shard(x), shard(y)
            with tf.GradientTape() as tape:
                fake = G([noise(step, 0), y], training=True)
                real_logits = logits(D, [seen_by_d(x, step, 0), y])
                fake_logits = logits(D, [seen_by_d(fake, step, 1), y])
                d_loss = d_loss_fn(real_logits, fake_logits)
                d_objective = for_gradient(self.d_opt, d_loss)
            update(self.d_opt, d_objective, D.trainable_variables, tape)
            with tf.GradientTape() as tape:
                fake = G([noise(step, 1), y], training=True)
                g_loss = g_loss_fn(logits(D, [seen_by_d(fake, step, 2), y]))
                g_objective = for_gradient(self.g_opt, g_loss)
            update(self.g_opt, g_objective, G.trainable_variables, tape)
            return d_loss, g_loss, losses.accuracy_real(real_logits), losses.accuracy_fake(fake_logits)

        @tf.function(jit_compile=False, reduce_retracing=True)
        def train_step(x, y, step):
            if replicas == 1:
                return replica_step(x, y, step)
            per_replica = self.strategy.run(replica_step, args=(x, y, step))
            mean = tf.distribute.ReduceOp.MEAN  # equal slices: the mean of means is the global mean
            return tuple(self.strategy.reduce(mean, value, axis=None) for value in per_replica)

        self.train_step = train_step

    def state(self) -> dict[str, list]:
        return {
            "g": self.generator.weights,
            "d": self.discriminator.weights,
            "g_opt": self.g_opt.variables,
            "d_opt": self.d_opt.variables,
        }

    def sample(self, noise: np.ndarray, labels: np.ndarray, batch: int = 256) -> np.ndarray:
        """uint8 images from the generator in inference mode."""
        out = [
            images.to_uint8(self.generator([noise[i:i + batch], labels[i:i + batch]], training=False))
            for i in range(0, len(labels), batch)
        ]
        return np.concatenate(out)


@contextlib.contextmanager
def _dtype_policy(precision: str):
    """Layers built inside take `precision` as their dtype policy; the global policy is restored after."""
    import keras

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


StepHook = Callable[[int, int], None]


class Trainer:
    """Runs (or resumes) the epochs of one run inside its run folder."""

    def __init__(self, cfg: RunConfig, data: TrainData, run: RunDir, *, progress: bool = False,
                 on_step: StepHook | None = None, evaluator=None, strategy=None):
        batch = cfg.train.batch_size
        if len(data.labels) < batch:
            raise RunError(f"train.batch_size={batch} is larger than the {len(data.labels)} training images")
        self.cfg, self.data, self.run = cfg, data, run
        self.progress, self.on_step = progress, on_step
        self.evaluator = evaluator
        self.strategy = strategy  # a tf.distribute strategy (harness.devices); None: the default device
        self.steps_per_epoch = len(data.labels) // batch

    def fit(self) -> None:
        import tensorflow as tf

        cfg, run = self.cfg, self.run
        configure_determinism(cfg.seed)
        gan = GAN(cfg, strategy=self.strategy)
        epoch, step = 0, 0
        if run.last_checkpoint.is_file():
            counters = checkpoint.load(run.last_checkpoint, gan.state())
            epoch, step = counters["epoch"], counters["step"]
            log.info("resumed from %s: epoch %d, step %d", run.last_checkpoint, epoch, step)
        run.truncate_to_epoch(epoch)
        step_rows = run.steps().to_dict("records")
        metric_rows = run.metrics().to_dict("records")
        writer = tf.summary.create_file_writer(str(run.tensorboard_dir)) if cfg.log.tensorboard else None
        eval_noise, eval_labels = eval_latents(cfg.seed, cfg.model.g.noise_dim, cfg.log.grid_columns)
        images_t = tf.constant(self.data.images)
        labels_t = tf.constant(self.data.labels)
        bar = self._bar(epoch)
        try:
            while epoch < cfg.train.epochs:
                epoch += 1
                started = time.perf_counter()
                new_steps = []
                for x, y in self._pipeline(images_t, labels_t, epoch):
                    values = [float(v) for v in gan.train_step(x, y, tf.constant(step, tf.int64))]
                    step += 1
                    new_steps.append(dict(zip(["epoch", "step", "d_loss", "g_loss", "d_acc_real", "d_acc_fake"],
                                              [epoch, step, *values])))
                    bar.update(1)
                    bar.set_postfix(d_loss=f"{values[0]:.3f}", g_loss=f"{values[1]:.3f}", refresh=False)
                    if not all(math.isfinite(v) for v in values[:2]):
                        self._record(step_rows + new_steps, metric_rows)
                        run.set_status(f"diverged at epoch {epoch}")
                        raise RunDiverged(f"{run.path}: non-finite loss at epoch {epoch}, step {step} "
                                          f"(d_loss={values[0]}, g_loss={values[1]}); kept artifacts up to epoch "
                                          f"{epoch - 1}")
                    if self.on_step:
                        self.on_step(epoch, step)
                seconds = time.perf_counter() - started
                step_rows += new_steps
                summary = self._epoch_summary(new_steps, seconds)
                metric_rows += [self._metric_row({"epoch": epoch, "class": "", "metric": name, "value": value})
                                for name, value in summary.items()]
                self._log_epoch(epoch, summary)
                eval_rows = self.evaluator.evaluate(gan.generator, epoch) if self._evaluation_due(epoch) else []
                if self._domain_curve_due(epoch) and not any(r["metric"] == "label_fidelity" for r in eval_rows):
                    eval_rows += self.evaluator.evaluate_domain_curve(gan.generator, epoch)
                metric_rows += [self._metric_row(r) for r in eval_rows]
                grid = None
                if epoch % cfg.log.sample_every == 0 or epoch == cfg.train.epochs:
                    grid = images.grid(gan.sample(eval_noise, eval_labels), eurosat.NUM_CLASSES,
                                       row_labels=list(eurosat.CLASSES))
                    images.save_png(run.sample_path(epoch), grid)
                if writer is not None:
                    self._tensorboard(writer, epoch, summary, grid, eval_rows)
                # Tables before the checkpoint: a kill in between is undone on
                # resume by truncating the tables to the checkpoint's epoch.
                self._record(step_rows, metric_rows)
                if (cfg.log.keep_every and epoch % cfg.log.keep_every == 0) or epoch == cfg.train.epochs:
                    checkpoint.save(run.generator_snapshot(epoch), {"g": gan.generator.weights})
                checkpoint.save(run.last_checkpoint, gan.state(), epoch=epoch, step=step)
                if self.on_step:
                    self.on_step(epoch, -1)
        finally:
            bar.close()
            if writer is not None:
                writer.close()
        from harness import atomicio

        atomicio.write_with(run.generator_path, gan.generator.save)

    # Helpers -------------------------------------------------------------
    def _pipeline(self, images_t, labels_t, epoch: int):
        """tf.data over this epoch's order: batches of [-1, 1] floats and int labels."""
        import tensorflow as tf

        order = epoch_order(self.cfg.seed, epoch, len(self.data.labels))
        batch = self.cfg.train.batch_size

        def gather(idx):
            x = tf.cast(tf.gather(images_t, idx), tf.float32)
            return images.to_unit_range(x), tf.gather(labels_t, idx)

        return (tf.data.Dataset.from_tensor_slices(order)
                .batch(batch, drop_remainder=True)
                .map(gather, num_parallel_calls=1, deterministic=True)
                .prefetch(2))

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

    def _evaluation_due(self, epoch: int) -> bool:
        every = self.cfg.eval.every
        return (self.evaluator is not None and bool(self.evaluator.metrics)
                and (epoch == self.cfg.train.epochs or bool(every and epoch % every == 0)))

    def _domain_curve_due(self, epoch: int) -> bool:
        every = self.cfg.eval.domain_every
        return self.evaluator is not None and bool(every) and epoch % every == 0

    def _record(self, step_rows: list[dict], metric_rows: list[dict]) -> None:
        import pandas as pd

        from harness.rundir import METRIC_COLUMNS, STEP_COLUMNS

        self.run.write_table(self.run.steps_path, pd.DataFrame(step_rows, columns=STEP_COLUMNS))
        self.run.write_table(self.run.metrics_path, pd.DataFrame(metric_rows, columns=METRIC_COLUMNS))

    def _log_epoch(self, epoch: int, s: dict[str, float]) -> None:
        log.info("epoch %d/%d  d_loss %.4f  g_loss %.4f  D acc real %.3f fake %.3f  %.1f img/s  %.1f s",
                 epoch, self.cfg.train.epochs, s["d_loss"], s["g_loss"], s["d_acc_real"], s["d_acc_fake"],
                 s["images_per_s"], s["wall_time_s"])

    @staticmethod
    def _tensorboard(writer, epoch: int, summary: dict[str, float], grid, eval_rows: list[dict]) -> None:
        import tensorflow as tf

        with writer.as_default(step=epoch):
            for name, value in summary.items():
                tf.summary.scalar(name, value)
            for row in eval_rows:
                if math.isfinite(row["value"]) and ":" not in row["metric"]:  # confusion rows stay in the table
                    tf.summary.scalar(f"{row['metric']}/{row['class']}", row["value"])
            if grid is not None:
                tf.summary.image("samples", grid[None], max_outputs=1)
        writer.flush()
