"""Timing the training step on one fixed batch, for the benchmarks and the dev tools that compare step speeds.

Several GANs are alternated step by step in one process, so that the ratio of two rates is one sitting's: these
machines differ 2-5x from one another, and one machine's speed drifts with whatever else runs on it, so only a
ratio taken in one sitting means anything. Each GAN's first step traces its function and is not timed.
"""

from __future__ import annotations

import time

import numpy as np


def fixed_batch(batch: int, seed: int = 0):
    """(images in [-1, 1], labels) as constants: the step's speed does not depend on what the pixels are."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    return (tf.constant(rng.uniform(-1, 1, (batch, 64, 64, 3)).astype(np.float32)),
            tf.constant(rng.integers(0, 10, batch).astype(np.int32)))


class Alternation:
    """GANs timed in turn on the same batch: `add` each (traced there, untimed), then call `round` as often as
    wanted (one timed step of each, in the order added), then read `rates`."""

    def __init__(self, x, y):
        import tensorflow as tf

        self.x, self.y = x, y
        self.batch = int(x.shape[0])
        self.step = tf.Variable(0, dtype=tf.int64)
        self.gans: dict = {}
        self.seconds: dict[str, list[float]] = {}

    def add(self, name: str, gan) -> None:
        """Trace `gan`'s step now: whatever module-level switch its layers read at trace time is read here."""
        self._one_step(gan)
        self.gans[name], self.seconds[name] = gan, []

    def round(self) -> float:
        """One timed step of every GAN; the last one's D loss (finite unless the step is broken)."""
        loss = float("nan")
        for name, gan in self.gans.items():
            start = time.perf_counter()
            loss = self._one_step(gan)
            self.seconds[name].append(time.perf_counter() - start)
        return loss

    def rates(self, skip: int = 0) -> dict[str, float]:
        """Images per second of each GAN: the batch over its median step time, leaving out its first `skip`."""
        return {name: self.batch / float(np.median(s[skip:])) for name, s in self.seconds.items()}

    def _one_step(self, gan) -> float:
        self.step.assign_add(1)
        return float(gan.train_step(self.x, self.y, self.step)[0])
