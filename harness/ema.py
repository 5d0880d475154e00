"""An exponential moving average of the generator's weights (Yazici et al. 2019).

Averaging G's weights over the last steps smooths out the oscillation of
GAN training; BigGAN, StyleGAN and StudioGAN evaluate the averaged generator.
Here, with `train.g_ema` = decay > 0, a second generator of the same
architecture holds the average, and evaluation, sample grids, snapshots,
`harness generate` and the exported `generator.keras` all use it.

Batch norm: every generator variable is averaged, the moving mean and
variance included (BigGAN's choice, which averages the whole state dict).
StudioGAN instead copies the statistics or recomputes them for the averaged
weights ("standing statistics"); averaging needs no extra forward passes and
keeps the run's state in its checkpoint. Measured on the 5 bench runs of the
modern variant (tools/ema_bn_check.py, README "Objectives, R1 and the generator
average"): recomputed statistics beat averaged ones on every seed, by +0.024
label fidelity and -2.5 domain FID; averaging stays the default for now.

Warm-up (`train.g_ema_rampup`, on by default): the decay used after t
generator updates is min(decay, (1 + t) / (10 + t)), as in TensorFlow's
ExponentialMovingAverage with num_updates. Without it, a decay of 0.999
after 1,000 updates still holds 37% of the random initial weights.
"""

from __future__ import annotations


class GeneratorEMA:
    def __init__(self, source, average, *, decay: float, rampup: bool):
        """source: the trained generator; average: a generator of the same architecture (its weights are
        overwritten with source's)."""
        self.source, self.model = source, average
        self.decay, self.rampup = float(decay), bool(rampup)
        for mine, theirs in zip(self.model.weights, self.source.weights):
            mine.assign(theirs)

    def decay_at(self, updates):
        """The decay used for the update after `updates` generator updates (a float tensor)."""
        import tensorflow as tf

        decay = tf.constant(self.decay, tf.float32)
        if not self.rampup:
            return decay
        t = tf.cast(updates, tf.float32)
        return tf.minimum(decay, (1.0 + t) / (10.0 + t))

    def update(self, updates) -> None:
        """average <- source + decay * (average - source); with decay 0 the average is exactly the source."""
        decay = self.decay_at(updates)
        for mine, theirs in zip(self.model.weights, self.source.weights):
            mine.assign(theirs + decay * (mine - theirs))
