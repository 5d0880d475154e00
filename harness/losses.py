"""GAN objectives on raw discriminator logits."""

from __future__ import annotations

import tensorflow as tf


def _bce(logits, target: float):
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.fill(tf.shape(logits), target), logits))


def d_loss_bce(real_logits, fake_logits):
    """The discriminator's binary cross-entropy: real labelled 1, fake 0."""
    return _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)


def g_loss_nonsaturating(fake_logits):
    """-log sigmoid(D(G(z))): the generator's non-saturating loss."""
    return _bce(fake_logits, 1.0)


def d_loss_hinge(real_logits, fake_logits):
    """Hinge loss for D (Lim & Ye 2017; Miyato et al. 2018): relu(1 - D(x)) + relu(1 + D(G(z)))."""
    return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))


def g_loss_hinge(fake_logits):
    """The generator's hinge objective: -D(G(z))."""
    return -tf.reduce_mean(fake_logits)


D_LOSSES = {"bce": d_loss_bce, "hinge": d_loss_hinge}
G_LOSSES = {"bce": g_loss_nonsaturating, "hinge": g_loss_hinge}


def accuracy_real(real_logits):
    """Share of real images the discriminator calls real (the paper's Figure 11)."""
    return tf.reduce_mean(tf.cast(real_logits > 0, tf.float32))


def accuracy_fake(fake_logits):
    """Share of generated images the discriminator calls fake."""
    return tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32))
