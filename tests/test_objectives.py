"""Objectives and the R1 penalty: values by hand on tiny networks, lazy weighting, every training path."""

from __future__ import annotations

import numpy as np
import pytest

from harness import objectives
from harness.objectives.r1 import R1


def _quadratic_discriminator(a: np.ndarray, b: np.ndarray):
    """logit(x, y) = sum_i a_i x_i^2 + b_y: its gradient in x is 2 a x, whatever the label."""
    import keras

    image = keras.Input((2, 2, 3), name="image")
    label = keras.Input((), dtype="int32", name="label")
    squared = keras.layers.Multiply()([image, image])
    flat = keras.layers.Flatten()(squared)
    dense = keras.layers.Dense(1, use_bias=False)
    logit = dense(flat)
    offset = keras.layers.Embedding(3, 1)
    out = keras.layers.Add()([logit, keras.layers.Flatten()(offset(label))])
    model = keras.Model([image, label], out)
    dense.kernel.assign(a.reshape(-1, 1))
    offset.embeddings.assign(b.reshape(-1, 1))
    return model


def test_r1_equals_the_hand_computed_gradient_norm():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=12).astype(np.float32), np.array([0.5, -1.0, 2.0], np.float32)
    x = rng.uniform(-1, 1, (5, 2, 2, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 1, 0], np.int32)
    D = _quadratic_discriminator(a, b)
    by_hand = np.mean(np.sum((2 * a * x.reshape(5, -1)) ** 2, axis=1))
    logits, penalty = R1(gamma=10.0).logits_and_penalty(D, tf.constant(x), tf.constant(y))
    assert float(penalty) == pytest.approx(0.5 * 10.0 * by_hand, rel=1e-5)
    expected_logits = (a * x.reshape(5, -1) ** 2).sum(1) + b[y]
    np.testing.assert_allclose(np.asarray(logits).ravel(), expected_logits, rtol=1e-5)


def test_lazy_r1_is_weighted_by_its_interval_and_due_every_kth_step():
    import tensorflow as tf

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=12).astype(np.float32), np.zeros(3, np.float32)
    x = tf.constant(rng.uniform(-1, 1, (4, 2, 2, 3)).astype(np.float32))
    y = tf.constant([0, 1, 2, 0], tf.int32)
    D = _quadratic_discriminator(a, b)
    every_step = float(R1(1.0).logits_and_penalty(D, x, y)[1])
    lazy = R1(1.0, every=4)
    assert float(lazy.logits_and_penalty(D, x, y)[1]) == pytest.approx(4 * every_step, rel=1e-6)
    assert [lazy.due(step) for step in range(9)] == [True, False, False, False, True, False, False, False, True]


def test_r1_gradient_reaches_the_discriminator_weights():
    """The penalty is differentiable in D's weights (double backprop through the step's tape)."""
    import tensorflow as tf

    rng = np.random.default_rng(2)
    D = _quadratic_discriminator(rng.normal(size=12).astype(np.float32), np.zeros(3, np.float32))
    x = tf.constant(rng.uniform(-1, 1, (4, 2, 2, 3)).astype(np.float32))
    y = tf.constant([0, 1, 2, 0], tf.int32)
    with tf.GradientTape() as tape:
        _, penalty = R1(1.0).logits_and_penalty(D, x, y)
    grads = tape.gradient(penalty, D.trainable_variables)
    kernel = [g for g, v in zip(grads, D.trainable_variables) if v.shape == (12, 1)][0]
    # penalty = 1/2 mean_n sum_i (2 a_i x_ni)^2, so d/da_i = mean_n 4 a_i x_ni^2
    a = [v for v in D.trainable_variables if v.shape == (12, 1)][0].numpy().ravel()
    expected = np.mean(4 * a * x.numpy().reshape(4, -1) ** 2, axis=0)
    np.testing.assert_allclose(np.asarray(kernel).ravel(), expected, rtol=1e-5)


def test_objectives_registry():
    assert objectives.names() == ["bce", "hinge"]
    with pytest.raises(ValueError, match="needs a unique name"):
        @objectives.register_objective
        class Again(objectives.Objective):
            name = "bce"
