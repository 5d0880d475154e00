"""The contract every registered variant must keep, run over the whole registry."""

from __future__ import annotations

import numpy as np
import pytest

from harness.models import registry
from harness.models.networks import build_discriminator, build_generator
from harness.runs import runner

# Full-width parameter counts, as documented in the README's variant table.
# A new variant must be added here (and there): the first test fails otherwise.
DOCUMENTED_PARAMS = {
    "paper_dcgan": (5_488_867, 4_333_633),
    "no_batchnorm": (5_493_571, 4_330_753),
    "label_embedding": (5_817_047, 4_528_629),
    "fid_sample_size": (5_488_867, 4_333_633),
    "spectral_norm": (5_488_867, 4_331_714),
    "hinge_loss": (5_488_867, 4_333_633),
    "projection_discriminator": (5_488_867, 4_399_553),
    "ttur": (5_488_867, 4_333_633),
    "diffaugment": (5_488_867, 4_333_633),
    "sn_hinge_projection_diffaug_ema": (5_488_867, 4_397_634),
    "nearest_upsampling": (5_488_867, 4_333_633),
    "bilinear_upsampling": (5_488_867, 4_333_633),
    "transposed_kernel4": (3_921_283, 4_333_633),
    "relativistic_r1_r2": (5_488_867, 4_333_633),
    "minibatch_stddev": (5_488_867, 4_333_649),
    "modern_nearest_upsampling": (5_488_867, 4_397_634),
    "modern_minibatch_stddev": (5_488_867, 4_397_810),
    "modern_ttur": (5_488_867, 4_397_634),
}
VARIANTS = registry.list_variants()


def test_every_variant_is_documented():
    assert sorted(DOCUMENTED_PARAMS) == VARIANTS
    for name in VARIANTS:
        assert registry.description(name), f"{name} has no docstring"


@pytest.mark.parametrize("name", VARIANTS)
def test_shapes_and_parameter_counts(name):
    cfg = registry.build_config(name)
    g, d = build_generator(cfg.model), build_discriminator(cfg.model)
    assert (g.count_params(), d.count_params()) == DOCUMENTED_PARAMS[name]
    assert g.output_shape == (None, 64, 64, 3) and d.output_shape == (None, 1)


@pytest.mark.parametrize("name", VARIANTS)
def test_generator_and_discriminator_depend_on_the_label(name):
    """compare_gan once removed batch norm and silently made G unconditional."""
    cfg = runner.resolve(name, profile="smoke")
    g, d = build_generator(cfg.model), build_discriminator(cfg.model)
    noise = np.random.default_rng(0).standard_normal((1, cfg.model.g.noise_dim)).astype(np.float32)
    labels = np.arange(10, dtype=np.int32)
    for training in (False, True):
        out = np.asarray(g([np.repeat(noise, 10, axis=0), labels], training=training)).reshape(10, -1)
        assert np.abs(out - out[:1]).max(axis=1)[1:].min() > 1e-6, "generator output ignores the label"
    image = np.repeat(np.asarray(g([noise, labels[:1]], training=False)), 10, axis=0)
    logits = np.asarray(d([image, labels], training=False)).ravel()
    assert np.ptp(logits) > 1e-7, "discriminator ignores the label"


@pytest.mark.slow
@pytest.mark.eurosat
@pytest.mark.parametrize("name", VARIANTS)
def test_one_smoke_epoch_finishes(name, eurosat_path, tmp_path):
    cfg = runner.resolve(name, profile="smoke", epochs=1)
    rd = runner.run(cfg, data=eurosat_path, out=tmp_path, run_id=name)
    assert rd.status() == "done"
    steps = rd.steps()
    assert len(steps) == 5 and np.isfinite(steps[["d_loss", "g_loss"]].to_numpy()).all()


def test_incompatible_options_are_rejected_in_one_place():
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="model.g.norm='spectral' must be one of batch, none"):
        runner.resolve("paper_dcgan", profile="smoke", overrides={"model.g.norm": "spectral"})
    with pytest.raises(ConfigError, match="model.g.label='projection' must be one of onehot, embedding"):
        runner.resolve("paper_dcgan", profile="smoke", overrides={"model.g.label": "projection"})
    cfg = runner.resolve("paper_dcgan", profile="smoke", overrides={"model.d.norm": "spectral", "train.loss": "hinge"})
    assert (cfg.model.d.norm, cfg.train.loss) == ("spectral", "hinge")  # options compose


def test_diffaugment_is_deterministic_and_changes_images():
    import tensorflow as tf

    from harness.train.augment import diff_augment

    x = tf.random.stateless_uniform([4, 64, 64, 3], seed=[0, 1], minval=-1, maxval=1)
    a = diff_augment(x, tf.constant([3, 7], tf.int64)).numpy()
    b = diff_augment(x, tf.constant([3, 7], tf.int64)).numpy()
    c = diff_augment(x, tf.constant([3, 8], tf.int64)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.allclose(a, x.numpy())
    # Cutout zeroes a 32x32 square (possibly clipped at the border) in every image.
    assert all((a[i] == 0).all(axis=-1).sum() >= 16 * 16 for i in range(4))


def test_hinge_losses():
    import tensorflow as tf

    from harness.train import objectives

    hinge = objectives.get("hinge")
    real, fake = tf.constant([[2.0], [0.5]]), tf.constant([[-2.0], [0.0]])
    assert float(hinge.d_loss(real, fake)) == pytest.approx((0 + 0.5) / 2 + (0 + 1) / 2)
    assert float(hinge.g_loss(fake)) == pytest.approx(1.0)


def test_every_registered_objective_is_a_configurable_loss():
    """The registry is the one list of train.loss names: each built-in one validates, an unknown one does not."""
    from harness import config
    from harness.errors import ConfigError
    from harness.train import objectives

    assert {"bce", "hinge", "relativistic"} <= set(objectives.names())
    for name in objectives.names():
        runner.validate(config.apply(config.RunConfig(), {"train.loss": name}))
    with pytest.raises(ConfigError, match="train.loss='lsgan' must be one of bce, hinge, relativistic"):
        runner.validate(config.apply(config.RunConfig(), {"train.loss": "lsgan"}))
