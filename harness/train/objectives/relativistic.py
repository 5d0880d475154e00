"""The relativistic pairing objective (Jolicoeur-Martineau 2019, RpGAN), as R3GAN uses it (Huang et al. 2024,
"The GAN is dead; long live the GAN! A Modern GAN Baseline").

Each real image is paired with a generated one of the same class, and D
judges the pair: D minimises softplus(-(D(x) - D(G(z)))), G minimises
softplus(-(D(G(z)) - D(x))). R3GAN shows that with R1 and R2 (train.r1_gamma,
train.r2_gamma) this loss has no mode-dropping local minima of the kind the
classic loss has, and converges locally.
"""

from __future__ import annotations

from harness.train.objectives import Objective, register_objective


@register_objective
class RelativisticPairing(Objective):
    name = "relativistic"
    pairs_real_in_g = True  # G's loss needs D's logits of the real batch too

    def d_loss(self, real_logits, fake_logits):
        """softplus(-(D(x_i) - D(G(z_i)))): D wants each real image to look more real than its generated pair."""
        import tensorflow as tf

        return tf.reduce_mean(tf.nn.softplus(fake_logits - real_logits))

    def g_loss(self, fake_logits, real_logits=None):
        """softplus(-(D(G(z_i)) - D(x_i))): G wants each generated image to look more real than its real pair."""
        import tensorflow as tf

        return tf.reduce_mean(tf.nn.softplus(tf.stop_gradient(real_logits) - fake_logits))
