"""The R1 penalty on real images (Mescheder et al. 2018, "Which training methods for GANs do actually converge?").

R1 = gamma / 2 * E_x[ ||grad_x D(x, y)||^2 ] over real images x (as D sees
them, after any augmentation) with their labels y. It penalises D's slope on
the data, which makes the GAN's equilibrium locally convergent, and is what
StyleGAN2 and StudioGAN use. The label is an integer input, so the gradient
is taken with respect to the image alone.

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
class R1:
    gamma: float
    every: int = 1

    def due(self, step: int) -> bool:
        """Whether the D update of (0-based) `step` carries the penalty."""
        return step % self.every == 0

    def logits_and_penalty(self, discriminator, images, labels):
        """(D's float32 logits on the real images, the weighted penalty to add to D's loss)."""
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(images)
            logits = tf.cast(discriminator([images, labels], training=True), tf.float32)
        # The gradient of a batch of logits is that of their sum: each image's own gradient, as they are
        # independent given D's weights (batch norm couples them slightly; StyleGAN2 has none in D).
        grad = tf.cast(tape.gradient(logits, images), tf.float32)
        return logits, (0.5 * self.gamma * self.every) * squared_gradient_norm(grad)


def squared_gradient_norm(grad):
    """E over the batch of the per-image squared L2 norm of the gradient."""
    import tensorflow as tf

    return tf.reduce_mean(tf.reduce_sum(tf.square(grad), axis=list(range(1, len(grad.shape)))))
