"""D's gradient penalty: R1 on real images and R2 on generated ones. A regulariser of D, not an objective: any
objective (harness.train.objectives) takes it. R1 is the penalty on real images (Mescheder et al. 2018, "Which
training methods for GANs do actually converge?").

R1 = gamma / 2 * E_x[ ||grad_x D(x, y)||^2 ] over real images x (as D sees
them, after any augmentation) with their labels y. It penalises D's slope on
the data, which makes the GAN's equilibrium locally convergent, and is what
StyleGAN2 and StudioGAN use. The label is an integer input, so the gradient
is taken with respect to the image alone.

R2 (`r2_gamma`) is the same penalty on generated images (as D sees them,
with their labels); R3GAN (Huang et al. 2024) pairs it with R1 under the
relativistic objective. Both follow one schedule.

Lazy regularisation (Karras et al. 2020): with `every` = k > 1 the penalty is
computed on every k-th step only and multiplied by k, so it costs 1/k as much
and weighs the same on average. The step builder compiles the step with and
without it and picks one per step in Python: a tf.cond around D would put
synchronised batch norm's cross-replica reduction inside control flow, which
MirroredStrategy does not support.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GradientPenalty:
    gamma: float  # on real images (R1)
    every: int = 1
    r2_gamma: float = 0.0  # the same penalty on generated images, as D sees them (R2; R3GAN uses both)

    def due(self, step: int) -> bool:
        """Whether the D update of (0-based) `step` carries the penalty."""
        return step % self.every == 0

    def logits_and_penalty(self, discriminator, images, labels, gamma: float | None = None):
        """(D's float32 logits on the images, the weighted penalty to add to D's loss); gamma defaults to R1's."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(images)
            logits = tf.cast(discriminator([images, labels], training=True), tf.float32)
        # The gradient of a batch of logits is that of their sum: each image's own gradient, as they are
        # independent given D's weights (batch norm couples them slightly; StyleGAN2 has none in D).
        grad = tf.cast(tape.gradient(logits, images), tf.float32)
        gamma = self.gamma if gamma is None else gamma
        return logits, (0.5 * gamma * self.every) * squared_gradient_norm(grad)


def squared_gradient_norm(grad):
    """E over the batch of the per-image squared L2 norm of the gradient."""
    import tensorflow as tf

    return tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=list(range(1, len(grad.shape)))))
