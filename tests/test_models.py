"""Model shapes, documented parameter counts, and the conditioning contract."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from harness.models import registry
from harness.models.networks import build_discriminator, build_generator
from harness.runs import runner

# Documented in variants/dcgan.py and the README; recomputed by hand:
# G: Dense 138*8192 + ConvT 25*(512*256 + 256*128 + 128*64 + 64*32) + to_rgb 25*32*3+3 + BN 4*(512+256+128+64+32)
# D: Conv 25*(13*64 + 64*128 + 128*256 + 256*512) + Dense 8192+1 + BN 4*(64+128+256+512)
PAPER_G_PARAMS = 5_488_867
PAPER_D_PARAMS = 4_333_633


def test_paper_width_shapes_and_parameter_counts():
    cfg = registry.build_config("paper_dcgan")
    g, d = build_generator(cfg.model), build_discriminator(cfg.model)
    assert g.count_params() == PAPER_G_PARAMS
    assert d.count_params() == PAPER_D_PARAMS
    assert g.output_shape == (None, 64, 64, 3)
    assert d.output_shape == (None, 1)
    # The discriminator sees 3 image channels + the 10-channel one-hot label map: its first kernel reads 13.
    assert d.get_layer("down1").kernel.shape[2] == 13
    assert build_discriminator(cfg.model, label_maps=True).get_layer("image_label").output.shape[-1] == 13
    assert [layer.output.shape[1] for layer in g.layers if layer.name.startswith("up") and "_" not in layer.name] \
        == [8, 16, 32, 64]


@pytest.mark.parametrize("variant", ["paper_dcgan", "no_batchnorm"])
def test_onehot_label_conv_is_the_convolution_of_the_concatenated_label_maps(variant):
    """D's first layer without the 10 constant channels computes what the convolution over them computes: same
    variables in the same order, same logits, same gradients (weights and the image, which G's update needs),
    including at the borders where 'same' padding cuts the label maps; and the label still changes the logit."""
    import tensorflow as tf

    cfg = runner.resolve(variant, profile="cpu")
    fast = build_discriminator(cfg.model, seed=3)
    maps = build_discriminator(cfg.model, seed=3, label_maps=True)
    assert [v.shape for v in fast.weights] == [v.shape for v in maps.weights]
    for v, w in zip(fast.weights, maps.weights):
        np.testing.assert_array_equal(v.numpy(), w.numpy())
    rng = np.random.default_rng(0)
    image = tf.constant(rng.uniform(-1, 1, (12, 64, 64, 3)).astype("float32"))
    label = tf.constant(np.arange(12) % 10, tf.int32)
    out = []
    for model in (fast, maps):
        with tf.GradientTape() as tape:
            tape.watch(image)
            logit = model([image, label], training=True)
            loss = tf.reduce_sum(logit * tf.range(1.0, 13.0)[:, None])
        out.append((logit.numpy(), tape.gradient(loss, [image] + model.trainable_weights)))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-4, atol=1e-5)
    for a, b in zip(out[0][1], out[1][1]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-5 * float(np.abs(b).max()))
    other = fast([image, (label + 1) % 10], training=False).numpy()
    assert np.abs(other - fast([image, label], training=False).numpy()).max() > 1e-4


def test_width_multiplier_scales_every_layer():
    cfg = runner.resolve("paper_dcgan", profile="cpu")
    g = build_generator(cfg.model)
    assert g.get_layer("up1").filters == 64 and g.get_layer("up4").filters == 8
    d = build_discriminator(cfg.model)
    assert [d.get_layer(f"down{i}").filters for i in range(1, 5)] == [16, 32, 64, 128]


def test_exported_generator_loads_without_harness(tmp_path):
    """What the trainer exports (harness.models.networks.plain_copy of the sampler) loads with Keras alone."""
    from harness.models.networks import plain_copy

    cfg = runner.resolve("paper_dcgan", profile="smoke")
    g = build_generator(cfg.model)
    plain_copy(g, cfg.model).save(tmp_path / "g.keras")
    code = (
        "import sys, numpy as np, keras\n"
        "m = keras.models.load_model(sys.argv[1])\n"
        "out = m([np.zeros((2, 128), 'float32'), np.array([0, 9], 'int32')], training=False)\n"
        "assert tuple(out.shape) == (2, 64, 64, 3)\n"
        "assert not any(k.startswith('harness') for k in sys.modules), 'harness was imported'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "g.keras")], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def _batch_norm_pair(x, weights=None) -> list[list]:
    """[output, d/dx, d/dgamma, d/dbeta, moving mean, moving variance, inference output] of Keras's
    BatchNormalization and of the fused layer, with the same weights, on the same input."""
    import keras
    import tensorflow as tf

    from harness.models.networks import FusedBatchNormalization

    layers = [kind(momentum=0.9, epsilon=1e-5) for kind in (keras.layers.BatchNormalization, FusedBatchNormalization)]
    for layer in layers:
        layer.build(x.shape)
    if weights is not None:
        layers[0].set_weights(weights)
    layers[1].set_weights(layers[0].get_weights())
    results = []
    for layer in layers:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.sin(tf.cast(y, tf.float32)))
        assert y.dtype == x.dtype
        results.append([y, *tape.gradient(loss, [x, layer.gamma, layer.beta]), layer.moving_mean,
                        layer.moving_variance, layer(x, training=False)])
    return results


NAMES = ["output", "d/dx", "d/dgamma", "d/dbeta", "moving mean", "moving variance", "inference output"]


def test_fused_batch_norm_computes_what_keras_batch_norm_computes():
    """The fused kernel is a faster formulation, not another computation: the same output, gradients and moving
    statistics as Keras's BatchNormalization with the same weights, up to float rounding."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(0.5, 2.0, (16, 8, 8, 6)).astype(np.float32))
    weights = [rng.normal(1, 0.1, 6).astype(np.float32), rng.normal(0, 0.1, 6).astype(np.float32),
               rng.normal(0, 0.1, 6).astype(np.float32), rng.uniform(0.5, 2, 6).astype(np.float32)]
    for name, plain, fused in zip(NAMES, *_batch_norm_pair(x, weights)):
        np.testing.assert_allclose(np.asarray(fused), np.asarray(plain), rtol=2e-5, atol=2e-5, err_msg=name)


def test_fused_batch_norm_in_bfloat16_computes_what_keras_computes():
    """Under mixed_bfloat16 the fused kernel reads and writes bfloat16 with float32 statistics, as Keras does after
    its casts: the same output and input gradient to the bit here, the rest to float32 rounding."""
    import keras
    import tensorflow as tf

    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        rng = np.random.default_rng(0)
        x = tf.cast(tf.constant(rng.normal(0.5, 2.0, (16, 8, 8, 6)).astype(np.float32)), tf.bfloat16)
        results = _batch_norm_pair(x)
    finally:
        keras.mixed_precision.set_global_policy(before)
    for name, plain, fused in zip(NAMES, *results):
        plain, fused = (np.asarray(tf.cast(v, tf.float32)) for v in (plain, fused))
        np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-5 * np.abs(plain).max(), err_msg=name)


def test_exported_generator_is_plain_keras_with_the_same_weights():
    from harness import config
    from harness.models.networks import FusedBatchNormalization, plain_copy

    cfg = config.RunConfig().model
    cfg.width = 0.125
    g = build_generator(cfg, seed=3)
    assert any(isinstance(layer, FusedBatchNormalization) for layer in g.layers)
    plain = plain_copy(g, cfg)
    assert not any(isinstance(layer, FusedBatchNormalization) for layer in plain.layers)
    noise = np.random.default_rng(1).standard_normal((4, cfg.g.noise_dim)).astype(np.float32)
    labels = np.arange(4, dtype=np.int32)
    for training in (False, True):
        np.testing.assert_allclose(np.asarray(plain([noise, labels], training=training)),
                                   np.asarray(g([noise, labels], training=training)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("transpose", [False, True])
def test_matmul_kernel_gradient_is_the_convolutions_own_and_differentiable(transpose):
    """harness.models.matmul_grads: the forward pass is TensorFlow's op, the input and kernel gradients equal
    TensorFlow's own up to float rounding, and so do second derivatives (a gradient penalty's), in float32 where
    rounding cannot hide a wrong sum."""
    import tensorflow as tf

    from harness.models import matmul_grads

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(3, 4, 4, 6) if transpose else (3, 8, 8, 6)).astype(np.float32))
    k = tf.Variable(rng.normal(size=(5, 5, 7, 6) if transpose else (5, 5, 6, 7)).astype(np.float32))
    weight = tf.constant(rng.normal(size=(3, 8, 8, 7) if transpose else (3, 4, 4, 7)).astype(np.float32))

    def reference(x, k):
        if transpose:
            return tf.nn.conv2d_transpose(x, k, [3, 8, 8, 7], [1, 2, 2, 1], "SAME")
        return tf.nn.conv2d(x, k, [1, 2, 2, 1], "SAME")

    def mine(x, k):
        return (matmul_grads.conv2d_transpose if transpose else matmul_grads.conv2d)(x, k, (2, 2))

    results = []
    for conv in (reference, mine):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = conv(x, k)
                loss = tf.reduce_sum(tf.sin(y) * weight)
            dx, dk = inner.gradient(loss, [x, k])
            penalty = tf.reduce_sum(dx ** 2)
        results.append([y, dx, dk, outer.gradient(penalty, k)])
    for name, ref, got in zip(["output", "d/dx", "d/dkernel", "penalty d/dkernel"], *results):
        np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-4, atol=1e-4 * np.abs(ref).max(),
                                   err_msg=name)


def test_paper_width_gradients_in_bfloat16_match_keras_layers():
    """At the paper's width under mixed_bfloat16, D's last convolution and G's first transposed one take the matmul
    path (and only they, not the same layers at width 1/4); D's other gradients equal Keras's own layers' to the
    bit, and every weight gradient of both models is no further from the float32 gradient than Keras's own
    bfloat16 layers' is (within 10%). The yardstick is bfloat16's own error: for G's first kernel Keras's bf16
    gradient lies 13% (relative norm) from the float32 one, and the two bf16 paths 2% from each other (AMD EPYC,
    family 25), which an elementwise tolerance of 2% of the largest entry failed on 16 of 1.1 million entries."""
    import keras
    import tensorflow as tf

    from harness import config
    from harness.models import matmul_grads

    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    taken = []
    original = matmul_grads._kernel_gradient

    def counting(x, dy, kernel_shape, strides):
        taken.append(tuple(kernel_shape))
        return original(x, dy, kernel_shape, strides)

    try:
        matmul_grads._kernel_gradient = counting
        cfg = config.RunConfig().model
        rng = np.random.default_rng(2)
        image = tf.constant(rng.uniform(-1, 1, (8, 64, 64, 3)).astype(np.float32))
        noise = tf.constant(rng.standard_normal((8, cfg.g.noise_dim)).astype(np.float32))
        labels = tf.constant(np.arange(8, dtype=np.int32) % 10)
        grads = []
        for fast in (False, True):
            d = build_discriminator(cfg, seed=1, matmul_grads=fast)
            g = build_generator(cfg, seed=1, fused_bn=fast)
            with tf.GradientTape(persistent=True) as tape:
                d_loss = tf.reduce_mean(tf.cast(d([image, labels], training=True), tf.float32) ** 2)
                g_loss = tf.reduce_mean(tf.cast(g([noise, labels], training=True), tf.float32) ** 2)
            grads.append(tape.gradient(d_loss, d.trainable_variables) + tape.gradient(g_loss, g.trainable_variables))
        keras.mixed_precision.set_global_policy("float32")  # the reference both bfloat16 paths approximate
        d, g = build_discriminator(cfg, seed=1, matmul_grads=False), build_generator(cfg, seed=1, fused_bn=False)
        with tf.GradientTape(persistent=True) as tape:
            d_loss = tf.reduce_mean(d([image, labels], training=True) ** 2)
            g_loss = tf.reduce_mean(g([noise, labels], training=True) ** 2)
        grads.append(tape.gradient(d_loss, d.trainable_variables) + tape.gradient(g_loss, g.trainable_variables))
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
        narrow = config.RunConfig().model
        narrow.width = 0.25  # kernels below MIN_KERNEL: measured slower as a product, so Keras's own path
        with tf.GradientTape() as tape:
            d_narrow = build_discriminator(narrow, seed=1)
            loss = tf.reduce_mean(tf.cast(d_narrow([image, labels], training=True), tf.float32))
        tape.gradient(loss, d_narrow.trainable_variables)
    finally:
        matmul_grads._kernel_gradient = original
        keras.mixed_precision.set_global_policy(before)
    assert sorted(taken) == [(5, 5, 256, 512), (5, 5, 256, 512)]  # D's down4 and G's up1 (kh, kw, out, in)
    n_d = len(grads[0]) - len(g.trainable_variables)
    for i, (plain, fast, exact) in enumerate(zip(*grads)):
        plain, fast, exact = (np.asarray(tf.cast(a, tf.float32)) for a in (plain, fast, exact))
        if i < n_d and plain.shape != (5, 5, 256, 512):  # D's other layers: Keras's own ops, to the bit
            np.testing.assert_array_equal(fast, plain)

        def off(a):
            return np.linalg.norm(a - exact) / np.linalg.norm(exact)

        assert off(fast) <= 1.1 * off(plain) + 1e-6, (i, plain.shape, off(fast), off(plain))


def test_step_timing_alternates_gans_on_one_batch_and_leaves_the_tracing_step_out():
    """harness.train.step_timing: `add` takes one untimed step, each `round` one timed step of every GAN in turn,
    all on the same fixed batch (so two GANs' rates form a one-sitting ratio)."""
    from harness.train import step_timing
    from harness.train.gan import GAN

    x, y = step_timing.fixed_batch(4, seed=3)
    again, _ = step_timing.fixed_batch(4, seed=3)
    assert x.shape == (4, 64, 64, 3) and np.array_equal(x.numpy(), again.numpy()) and -1 <= x.numpy().min()
    cfg = runner.resolve("paper_dcgan", profile="smoke", overrides={"train.batch_size": 4})
    timing = step_timing.Alternation(x, y)
    timing.add("a", GAN(cfg))
    timing.add("b", GAN(cfg))
    assert timing.seconds == {"a": [], "b": []} and int(timing.step.numpy()) == 2
    assert np.isfinite(timing.round()) and np.isfinite(timing.round())
    assert [len(s) for s in timing.seconds.values()] == [2, 2] and int(timing.step.numpy()) == 6
    timing.seconds = {"a": [9.0, 1.0, 2.0, 3.0], "b": [0.5, 0.5, 4.0, 4.0]}
    assert timing.rates(skip=1) == {"a": 2.0, "b": 1.0}  # 4 images over the median of the rest: 2 s, 4 s
