"""The paper's objective: binary cross-entropy for D, the non-saturating loss for G (Goodfellow et al. 2014)."""

from __future__ import annotations

from harness.train.objectives import Objective, register_objective


def _bce(logits, target: float):
    import tensorflow as tf

    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.fill(tf.shape(logits), target), logits))


@register_objective
class BinaryCrossEntropy(Objective):
    name = "bce"

    def d_loss(self, real_logits, fake_logits):
        """Real labelled 1, fake labelled 0."""
        return _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)

    def g_loss(self, fake_logits, real_logits=None):
        """-log sigmoid(D(G(z))): strong gradients while D rejects the fakes."""
        return _bce(fake_logits, 1.0)
