"""Training throughput of one lock-step update (D then G) at batch 64.

Run for figures:  pytest tests/benchmarks --benchmark-enable
(In the default test run they execute once, as smoke checks, untimed.)
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.runs import runner
from harness.train.gan import GAN, configure_determinism

BATCH = 64


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["paper", "cpu"])
def test_train_step_images_per_second(benchmark, profile):
    import tensorflow as tf

    cfg = runner.resolve("paper_dcgan", profile=profile, overrides={"train.batch_size": BATCH})
    configure_determinism(0)
    gan = GAN(cfg)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(-1, 1, (BATCH, 64, 64, 3)).astype(np.float32))
    y = tf.constant(rng.integers(0, 10, BATCH).astype(np.int32))
    step = tf.Variable(0, dtype=tf.int64)
    gan.train_step(x, y, step)  # trace outside the timing

    def one_step():
        step.assign_add(1)
        return float(gan.train_step(x, y, step)[0])

    benchmark.extra_info.update({"batch": BATCH, "width": cfg.model.width, "kernel": cfg.model.g.kernel_size})
    loss = benchmark.pedantic(one_step, rounds=5, iterations=1, warmup_rounds=1)
    assert np.isfinite(loss)
    if benchmark.stats:
        benchmark.extra_info["images_per_s"] = BATCH / benchmark.stats.stats.median
