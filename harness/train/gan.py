"""The model a run trains: the two networks, their optimizers, the generator average and the compiled update
step, built from a configuration.

The update step lives with the model (as in keras-io's conditional GAN and mimicry); the epoch loop that calls it
(harness.train.trainer) stays generic.
"""

from __future__ import annotations

import contextlib

import numpy as np

from harness import images
from harness.config import RunConfig


def configure_determinism(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


class GAN:
    """The two networks, their optimizers, the generator average and the compiled training step."""

    def __init__(self, cfg: RunConfig, *, strategy=None, precision: str | None = None):
        import keras
        import tensorflow as tf

        from harness.models.networks import build_discriminator, build_generator
        from harness.train import objectives
        from harness.train.ema import (
            GeneratorEMA,
            StandingStatistics,
            recomputes_statistics,
        )
        from harness.train.penalty import GradientPenalty
        from harness.train.step import StepParts, build_train_step

        self.cfg = cfg
        t = cfg.train
        self.strategy = strategy or tf.distribute.get_strategy()
        self.precision = precision or t.precision
        sync = self.strategy.num_replicas_in_sync > 1
        mixed = self.precision == "mixed_float16"
        self.ema = self.standing = None
        with self.strategy.scope(), dtype_policy(self.precision):
            self.generator = build_generator(cfg.model, seed=cfg.seed, sync_bn=sync)
            self.discriminator = build_discriminator(cfg.model, seed=cfg.seed, sync_bn=sync)
            self.g_opt = keras.optimizers.Adam(t.lr_g, beta_1=t.beta_1, beta_2=t.beta_2, name="g_adam")
            self.d_opt = keras.optimizers.Adam(t.lr_d, beta_1=t.beta_1, beta_2=t.beta_2, name="d_adam")
            if mixed:  # float16 gradients underflow without loss scaling
                self.g_opt = keras.optimizers.LossScaleOptimizer(self.g_opt, name="g_loss_scale")
                self.d_opt = keras.optimizers.LossScaleOptimizer(self.d_opt, name="d_loss_scale")
            self.g_opt.build(self.generator.trainable_variables)
            self.d_opt.build(self.discriminator.trainable_variables)
            if t.g_ema > 0:
                self.ema = GeneratorEMA(self.generator, build_generator(cfg.model, seed=cfg.seed, sync_bn=sync),
                                        decay=t.g_ema, rampup=t.g_ema_rampup)
        if recomputes_statistics(cfg):
            # Sampling only, outside the strategy: its statistics come from plain training-mode calls.
            with dtype_policy(self.precision):
                self.standing = StandingStatistics(self.ema.model, build_generator(cfg.model, seed=cfg.seed), cfg)
        penalty = GradientPenalty(t.r1_gamma, t.r1_every, t.r2_gamma) if t.r1_gamma or t.r2_gamma else None
        parts = StepParts(self.generator, self.discriminator, self.g_opt, self.d_opt, objectives.get(t.loss),
                          regulariser=penalty,
                          augment=t.augment, ema=self.ema, mixed=mixed)
        self.train_step = build_train_step(parts, strategy=self.strategy, batch=t.batch_size,
                                           noise_dim=cfg.model.g.noise_dim, seed=cfg.seed)

    @property
    def chunkable(self) -> bool:
        """Whether several steps can run in one compiled call: one replica (strategy.run stays out of loops) and
        no lazy R1 (its schedule picks one of two compiled steps in Python)."""
        t = self.cfg.train
        lazy = (t.r1_gamma > 0 or t.r2_gamma > 0) and t.r1_every > 1
        return self.strategy.num_replicas_in_sync == 1 and not lazy

    def chunked(self, gather):
        """A compiled call running several training steps: (batch indices (K, B), first step) -> (K, 4) float32
        per-step (d_loss, g_loss, d_acc_real, d_acc_fake). `gather(indices)` -> (images in [-1, 1], labels)."""
        import tensorflow as tf

        train_step = self.train_step

        @tf.function(jit_compile=False, reduce_retracing=True)
        def run(indices, first_step):
            count = tf.shape(indices)[0]
            out = tf.TensorArray(tf.float32, size=count)
            for i in tf.range(count):
                x, y = gather(indices[i])
                out = out.write(i, tf.stack(train_step(x, y, first_step + tf.cast(i, tf.int64))))
            return out.stack()

        return run

    @property
    def sampler(self):
        """The generator that evaluation, grids, snapshots and the export use: the average when there is one
        (with recomputed batch-norm statistics under train.g_ema_bn=recompute, as of the last refresh)."""
        if self.standing is not None:
            return self.standing.model
        return self.ema.model if self.ema is not None else self.generator

    def refresh_sampler(self) -> None:
        """Bring the sampler up to date with the average (a no-op unless its statistics are recomputed)."""
        if self.standing is not None:
            self.standing.refresh()

    def exportable(self):
        """The sampler as plain Keras layers (harness.models.networks.plain_copy): generator.keras loads without the
        harness."""
        from harness.models.networks import plain_copy

        with dtype_policy(self.precision):
            return plain_copy(self.sampler, self.cfg.model)

    def state(self) -> dict[str, list]:
        groups = {
            "g": self.generator.weights,
            "d": self.discriminator.weights,
            "g_opt": self.g_opt.variables,
            "d_opt": self.d_opt.variables,
        }
        if self.ema is not None:
            groups["g_ema"] = self.ema.model.weights
        return groups

    def sample(self, noise: np.ndarray, labels: np.ndarray, batch: int = 256) -> np.ndarray:
        """uint8 images from the sampling generator in inference mode."""
        return images.sample_uint8(self.sampler, noise, labels, batch=batch)


@contextlib.contextmanager
def dtype_policy(precision: str):
    """Layers built inside take `precision` as their dtype policy; the global policy is restored after."""
    import keras

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)
