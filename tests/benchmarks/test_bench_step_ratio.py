"""The harness's training step against a tutorial-style Keras GAN on the same networks, in one process.

The yardstick is keras-io's conditional GAN pattern: a `keras.Model` whose
`train_step` does one D update then one G update, driven by `fit`
(`jit_compile=False`: XLA was 10x slower for these transposed convolutions on
CPU). Both sides build the same generator and discriminator (harness.models.networks),
at the paper's width and at the `cpu` profile's 1/4 width, in float32 and (where
bf16 is native) mixed_bfloat16. The harness runs train.steps_per_execution
steps per call, as its trainer does.

Run for figures:  pytest tests/benchmarks/test_bench_step_ratio.py --benchmark-enable
Each result's extra_info holds images/s of both, their ratio, the CPU model,
core count and TensorFlow version: a figure without its machine is not a
figure. In the default test run it executes once on two steps, untimed.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from harness.runs import runner
from harness.train import devices
from harness.train.gan import GAN, configure_determinism, dtype_policy

BATCH = 64
STEPS = 8  # steps per timed round, each side (and the harness's steps per call)
ROUNDS = 3


def machine() -> dict:
    import tensorflow as tf

    return {**devices.machine(), "tensorflow": tf.__version__}


def tutorial_gan(cfg, precision: str):
    """keras-io's conditional GAN shape over the harness's networks: fit() drives train_step()."""
    import keras
    import tensorflow as tf

    from harness.models.networks import build_discriminator, build_generator

    with dtype_policy(precision):
        g, d = build_generator(cfg.model, seed=0), build_discriminator(cfg.model, seed=0)
    noise_dim, t = cfg.model.g.noise_dim, cfg.train
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    class TutorialGAN(keras.Model):
        def __init__(self):
            super().__init__()
            self.g, self.d = g, d
            self.g_opt = keras.optimizers.Adam(t.lr_g, beta_1=t.beta_1, beta_2=t.beta_2)
            self.d_opt = keras.optimizers.Adam(t.lr_d, beta_1=t.beta_1, beta_2=t.beta_2)

        def train_step(self, data):
            x, y = data
            batch = tf.shape(x)[0]
            z = tf.random.normal((batch, noise_dim))
            with tf.GradientTape() as tape:
                fake = self.g([z, y], training=True)
                real_logits = tf.cast(self.d([x, y], training=True), tf.float32)
                fake_logits = tf.cast(self.d([fake, y], training=True), tf.float32)
                d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
            grads = tape.gradient(d_loss, self.d.trainable_variables)
            self.d_opt.apply_gradients(zip(grads, self.d.trainable_variables))
            z = tf.random.normal((batch, noise_dim))
            with tf.GradientTape() as tape:
                logits = tf.cast(self.d([self.g([z, y], training=True), y], training=True), tf.float32)
                g_loss = bce(tf.ones_like(logits), logits)
            grads = tape.gradient(g_loss, self.g.trainable_variables)
            self.g_opt.apply_gradients(zip(grads, self.g.trainable_variables))
            return {"d_loss": d_loss, "g_loss": g_loss}

    model = TutorialGAN()
    model.compile(jit_compile=False)
    return model


def _precisions():
    return ["float32"] + (["mixed_bfloat16"] if devices.native_bf16() else [])


@pytest.mark.slow
@pytest.mark.parametrize("precision", _precisions())
@pytest.mark.parametrize("profile", ["paper", "cpu"])
def test_harness_step_against_keras_fit(benchmark, profile, precision):
    import tensorflow as tf

    timed = not benchmark.disabled
    steps, rounds = (STEPS, ROUNDS) if timed else (2, 1)
    # Op determinism first, for both sides: the harness's trainer always runs with it, and once on it stays on
    # for the process, so timing fit() before it would time the first case's tutorial without it.
    configure_determinism(0)
    cfg = runner.resolve("paper_dcgan", profile=profile, overrides={"train.batch_size": BATCH})
    rng = np.random.default_rng(0)
    pool = rng.integers(0, 256, (BATCH * steps, 64, 64, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, BATCH * steps).astype(np.int32)

    # The tutorial: fit() over `steps` batches per round (the first round traces and is not counted).
    x = tf.constant(pool[:BATCH].astype(np.float32) / 127.5 - 1.0)
    y = tf.constant(labels[:BATCH])
    tutorial = tutorial_gan(cfg, precision)
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    tutorial.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        tutorial.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
        seconds.append(time.perf_counter() - start)
    fit_ips = BATCH * steps / statistics.median(seconds)

    # The harness: its GAN and its multi-step call, gathering its own batches as the trainer does.
    gan = GAN(cfg, precision=precision)
    images_t, labels_t = tf.constant(pool), tf.constant(labels)
    chunk = gan.chunked(lambda idx: (tf.cast(tf.gather(images_t, idx), tf.float32) / 127.5 - 1.0,
                                     tf.gather(labels_t, idx)))
    order = tf.constant(np.arange(BATCH * steps).reshape(steps, BATCH))
    first = tf.Variable(0, dtype=tf.int64)
    chunk(order, first.read_value())  # trace outside the timing

    def some_steps():
        first.assign_add(steps)
        return chunk(order, first.read_value()).numpy()

    values = benchmark.pedantic(some_steps, rounds=rounds, iterations=1, warmup_rounds=1 if timed else 0)
    assert np.isfinite(values).all()
    benchmark.extra_info.update({"batch": BATCH, "width": cfg.model.width, "precision": precision,
                                 "steps_per_call": steps, "keras_fit_images_per_s": fit_ips, **machine()})
    if benchmark.stats:
        harness_ips = BATCH * steps / benchmark.stats.stats.median
        benchmark.extra_info.update({"harness_images_per_s": harness_ips, "ratio": harness_ips / fit_ips})
