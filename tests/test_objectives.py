"""Objectives and the R1/R2 penalties: values by hand on tiny networks, lazy weighting, every training path."""

from __future__ import annotations

import numpy as np
import pytest

from harness.train import objectives
from harness.train.penalty import GradientPenalty


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
    logits, penalty = GradientPenalty(gamma=10.0).logits_and_penalty(D, tf.constant(x), tf.constant(y))
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
    every_step = float(GradientPenalty(1.0).logits_and_penalty(D, x, y)[1])
    lazy = GradientPenalty(1.0, every=4)
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
        _, penalty = GradientPenalty(1.0).logits_and_penalty(D, x, y)
    grads = tape.gradient(penalty, D.trainable_variables)
    kernel = [g for g, v in zip(grads, D.trainable_variables) if v.shape == (12, 1)][0]
    # penalty = 1/2 mean_n sum_i (2 a_i x_ni)^2, so d/da_i = mean_n 4 a_i x_ni^2
    a = [v for v in D.trainable_variables if v.shape == (12, 1)][0].numpy().ravel()
    expected = np.mean(4 * a * x.numpy().reshape(4, -1) ** 2, axis=0)
    np.testing.assert_allclose(np.asarray(kernel).ravel(), expected, rtol=1e-5)


def test_objectives_registry():
    assert objectives.names() == ["bce", "hinge", "relativistic"]
    with pytest.raises(ValueError, match="needs a unique name"):
        @objectives.register_objective
        class Again(objectives.Objective):
            name = "bce"


def _softplus(t):
    return np.log1p(np.exp(t))


def test_relativistic_pairing_equals_the_hand_computation():
    """R3GAN's RpGAN: D minimises mean softplus(D(fake_i) - D(real_i)), G mean softplus(D(real_i) - D(fake_i)),
    pair by pair (not the mean of one against the mean of the other), and G's loss sends no gradient to reals."""
    import tensorflow as tf

    real = np.array([2.0, -1.0, 0.5, 3.0], np.float32)
    fake = np.array([-1.5, 0.0, 1.0, 2.5], np.float32)
    rel = objectives.get("relativistic")
    assert rel.pairs_real_in_g and not objectives.get("bce").pairs_real_in_g
    assert float(rel.d_loss(tf.constant(real), tf.constant(fake))) == pytest.approx(
        np.mean(_softplus(fake - real)), rel=1e-6)
    r, f = tf.Variable(real), tf.Variable(fake)
    with tf.GradientTape() as tape:
        g_loss = rel.g_loss(f, r)
    grad_fake, grad_real = tape.gradient(g_loss, [f, r])
    assert float(g_loss) == pytest.approx(np.mean(_softplus(real - fake)), rel=1e-6)
    sigmoid = 1 / (1 + np.exp(-(real - fake)))
    np.testing.assert_allclose(grad_fake.numpy(), -sigmoid / 4, rtol=1e-5)  # d/df softplus(r - f) / 4
    assert grad_real is None


def test_r2_is_the_penalty_on_generated_images_by_hand():
    """R2 uses R1's formula with its own gamma on the images D sees as generated."""
    import tensorflow as tf

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=12).astype(np.float32), np.array([0.1, 0.2, 0.3], np.float32)
    fake = rng.uniform(-1, 1, (6, 2, 2, 3)).astype(np.float32)
    y = np.array([2, 1, 0, 0, 1, 2], np.int32)
    D = _quadratic_discriminator(a, b)
    both = GradientPenalty(gamma=10.0, r2_gamma=0.5)
    _, penalty = both.logits_and_penalty(D, tf.constant(fake), tf.constant(y), both.r2_gamma)
    by_hand = 0.5 * 0.5 * np.mean(np.sum((2 * a * fake.reshape(6, -1)) ** 2, axis=1))
    assert float(penalty) == pytest.approx(by_hand, rel=1e-5)
    lazy = GradientPenalty(gamma=0.0, every=3, r2_gamma=0.5)
    assert float(lazy.logits_and_penalty(D, tf.constant(fake), tf.constant(y), lazy.r2_gamma)[1]) == \
        pytest.approx(3 * by_hand, rel=1e-5)


@pytest.mark.parametrize("gammas", [(0.0, 0.0), (0.0, 5.0), (5.0, 0.0)])
def test_the_step_adds_r2_to_what_d_minimises(gammas):
    """One training step on a tiny G and the quadratic D, with plain SGD: D's kernel moves by lr times the hand
    gradient of its loss plus R1 on the reals and R2 on the fakes (each only when its gamma is set)."""
    import keras
    import tensorflow as tf

    from harness.train.step import StepParts, build_train_step

    r1_gamma, r2_gamma = gammas
    rng = np.random.default_rng(4)
    a = rng.normal(size=12).astype(np.float32)
    D = _quadratic_discriminator(a, np.zeros(3, np.float32))
    noise_in = keras.Input((2,), name="noise")
    label_in = keras.Input((), dtype="int32", name="label")
    G = keras.Model([noise_in, label_in], keras.layers.Reshape((2, 2, 3))(keras.layers.Dense(12)(noise_in)))
    x = rng.uniform(-1, 1, (4, 2, 2, 3)).astype(np.float32)
    y = np.array([0, 1, 2, 0], np.int32)
    step_seed, lr = 7, 0.01
    noise = tf.random.stateless_normal([4, 2], seed=tf.constant([step_seed, 0], tf.int64)).numpy()
    fake = np.asarray(G([noise, y], training=True))  # the D update's fakes, drawn as the step draws them
    parts = StepParts(G, D, keras.optimizers.SGD(lr), keras.optimizers.SGD(lr), objectives.get("relativistic"),
                      regulariser=GradientPenalty(r1_gamma, 1, r2_gamma) if r1_gamma or r2_gamma else None)
    step = build_train_step(parts, strategy=tf.distribute.get_strategy(), batch=4, noise_dim=2, seed=step_seed)
    step(tf.constant(x), tf.constant(y), tf.constant(0, tf.int64))
    xr, xf = x.reshape(4, -1), fake.reshape(4, -1)
    t = (a * xf ** 2).sum(1) - (a * xr ** 2).sum(1)  # D(fake) - D(real): the label offsets are zero
    sig = 1 / (1 + np.exp(-t))
    grad = np.mean(sig[:, None] * (xf ** 2 - xr ** 2), axis=0)  # d/da mean softplus(t)
    grad += r1_gamma * 0.5 * np.mean(8 * a * xr ** 2, axis=0) + r2_gamma * 0.5 * np.mean(8 * a * xf ** 2, axis=0)
    kernel = [v for v in D.trainable_variables if v.shape == (12, 1)][0].numpy().ravel()
    np.testing.assert_allclose(kernel, a - lr * grad, rtol=1e-4, atol=1e-6)
