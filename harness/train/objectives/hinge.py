"""The hinge objective (Lim & Ye 2017; Miyato et al. 2018), used by SNGAN, BigGAN and StudioGAN's baselines."""

from __future__ import annotations

from harness.train.objectives import Objective, register_objective


@register_objective
class Hinge(Objective):
    name = "hinge"

    def d_loss(self, real_logits, fake_logits):
        """relu(1 - D(x)) + relu(1 + D(G(z))): D stops pushing once a sample is past the margin."""
        import tensorflow as tf

        return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))

    def g_loss(self, fake_logits, real_logits=None):
        """-D(G(z))."""
        import tensorflow as tf

        return -tf.reduce_mean(fake_logits)
