"""The generator average: exact at decay 0, its warm-up, and every consumer of a run's generator uses it."""

from __future__ import annotations

import numpy as np
import pytest

from harness import streams
from harness.models.networks import build_generator
from harness.runs import runner


def _pair(seed_a=0, seed_b=1):
    cfg = runner.resolve("paper_dcgan", profile="smoke")
    return build_generator(cfg.model, seed=seed_a), build_generator(cfg.model, seed=seed_b)


def test_decay_zero_is_exactly_the_trained_generator():
    import tensorflow as tf

    from harness.train.ema import GeneratorEMA

    source, average = _pair()
    ema = GeneratorEMA(source, average, decay=0.0, rampup=True)
    for v in source.weights:  # the trained generator moves on
        v.assign(v + tf.random.stateless_normal(v.shape, seed=[1, 2]) * 0.1)
    ema.update(tf.constant(5, tf.int64))
    for mine, theirs in zip(average.weights, source.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_average_follows_the_decay_and_its_warm_up():
    import tensorflow as tf

    from harness.train.ema import GeneratorEMA

    source, average = _pair()
    ema = GeneratorEMA(source, average, decay=0.999, rampup=True)
    assert float(ema.decay_at(tf.constant(0))) == pytest.approx(0.1)
    assert float(ema.decay_at(tf.constant(90))) == pytest.approx(91 / 100)
    assert float(ema.decay_at(tf.constant(10**6))) == pytest.approx(0.999)
    before = [v.numpy().copy() for v in average.weights]
    for v in source.weights:
        v.assign(v + 1.0)
    ema.update(tf.constant(90, tf.int64))
    for old, mine, theirs in zip(before, average.weights, source.weights):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy() + 0.91 * (old - theirs.numpy()), rtol=1e-5,
                                   atol=1e-6)
    no_rampup = GeneratorEMA(source, average, decay=0.5, rampup=False)
    assert float(no_rampup.decay_at(tf.constant(0))) == pytest.approx(0.5)


@pytest.mark.slow
@pytest.mark.eurosat
def test_generate_export_and_snapshots_use_the_average(eurosat_path, tmp_path):
    import keras

    from harness.runs.generate import generate, load_generator

    cfg = runner.resolve("paper_dcgan", profile="smoke", epochs=2, overrides={"train.g_ema": "0.9"})
    rd = runner.run(cfg, data=eurosat_path, out=tmp_path, run_id="ema")
    with np.load(rd.last_checkpoint) as z:
        trained = [z[k] for k in sorted(z.files) if k.startswith("g/")]
        average = [z[k] for k in sorted(z.files) if k.startswith("g_ema/")]
    with np.load(rd.generator_snapshot(2)) as z:
        snapshot = [z[k] for k in sorted(z.files) if k.startswith("g/")]
    assert len(trained) == len(average) == len(snapshot)
    assert any(not np.array_equal(a, t) for a, t in zip(average, trained)), "the average equals G: not averaged"
    for a, s in zip(average, snapshot):
        np.testing.assert_array_equal(a, s)
    _, generator, epoch = load_generator(rd)
    assert epoch == 2
    for a, w in zip(average, generator.weights):
        np.testing.assert_array_equal(a, w.numpy())
    exported = keras.models.load_model(rd.generator_path)
    for a, w in zip(average, exported.weights):
        np.testing.assert_array_equal(a, w.numpy())
    # harness generate samples the average: the same images as the exported model gives for its latents.
    [npz] = generate(rd.path, classes=["Forest"], n=3, out=tmp_path / "out", fmt="npz")
    from harness import images
    from harness.data import eurosat

    rng = np.random.default_rng([0, streams.GENERATE_LATENTS, eurosat.CLASSES.index("Forest")])  # per class
    noise = rng.standard_normal((3, cfg.model.g.noise_dim)).astype(np.float32)
    expected = images.sample_uint8(exported, noise, np.full(3, eurosat.CLASSES.index("Forest"), np.int32))
    with np.load(npz) as z:
        np.testing.assert_array_equal(z["images"], expected)


def test_recomputed_statistics_are_the_mean_of_batch_statistics():
    """train.g_ema_bn=recompute: each BN layer's moving statistics become the plain mean, over the passes, of the
    batch statistics of its input, whatever they were before; the other weights do not change."""
    import keras

    from harness.train.ema import recompute_batch_norm

    cfg = runner.resolve("paper_dcgan", profile="smoke")
    generator, _ = _pair()
    norm = generator.get_layer("project_bn")
    momentum = norm.momentum
    for v in (norm.moving_mean, norm.moving_variance):
        v.assign(v + 7.0)  # stale statistics must be forgotten
    others = {id(v): v.numpy().copy() for v in generator.weights
              if not any(v is s for layer in generator.layers
                         if isinstance(layer, keras.layers.BatchNormalization)
                         for s in (layer.moving_mean, layer.moving_variance))}
    batch, passes = 16, 3
    recompute_batch_norm(generator, noise_dim=cfg.model.g.noise_dim, batch=batch, seed=4, passes=passes)

    # By hand: the same stream's inputs through the layers before project_bn (no BN before it).
    upstream = keras.Model(generator.inputs, generator.get_layer("to_4x4").output)
    rng = np.random.default_rng([4, streams.EMA_STANDING])
    means, variances = [], []
    for i in range(1, passes + 1):
        noise = rng.standard_normal((batch, cfg.model.g.noise_dim)).astype(np.float32)
        x = upstream([noise, ((np.arange(batch) + i) % 10).astype(np.int32)]).numpy().astype(np.float64)
        means.append(x.mean(axis=(0, 1, 2)))
        variances.append(x.var(axis=(0, 1, 2)))
    np.testing.assert_allclose(norm.moving_mean.numpy(), np.mean(means, axis=0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(norm.moving_variance.numpy(), np.mean(variances, axis=0), rtol=1e-3, atol=1e-5)
    assert norm.momentum == momentum  # restored
    for v in generator.weights:
        if id(v) in others:
            np.testing.assert_array_equal(v.numpy(), others[id(v)])


def test_recompute_needs_an_average():
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match=r"train.g_ema_bn='recompute' needs train.g_ema > 0"):
        runner.resolve("paper_dcgan", profile="smoke", overrides={"train.g_ema_bn": "recompute"})
    with pytest.raises(ConfigError, match=r"train.g_ema_bn='standing' must be one of average, recompute"):
        runner.resolve("paper_dcgan", profile="smoke", overrides={"train.g_ema": "0.9", "train.g_ema_bn": "standing"})


@pytest.mark.slow
@pytest.mark.eurosat
def test_recomputed_statistics_reach_every_consumer(eurosat_path, tmp_path):
    """Snapshots, the exported generator and a generator loaded from the checkpoint (harness generate/eval) all
    sample with the recomputed statistics; the checkpoint keeps the plain average (training state)."""
    import keras

    from harness.runs.generate import load_generator

    cfg = runner.resolve("paper_dcgan", profile="smoke", epochs=2,
                         overrides={"train.g_ema": "0.9", "train.g_ema_bn": "recompute"})
    rd = runner.run(cfg, data=eurosat_path, out=tmp_path, run_id="standing")
    with np.load(rd.last_checkpoint) as z:
        average = [z[k] for k in sorted(z.files) if k.startswith("g_ema/")]
    with np.load(rd.generator_snapshot(2)) as z:
        snapshot = [z[k] for k in sorted(z.files) if k.startswith("g/")]
    _, loaded, _ = load_generator(rd)
    statistics = {id(v) for layer in loaded.layers if isinstance(layer, keras.layers.BatchNormalization)
                  for v in (layer.moving_mean, layer.moving_variance)}
    moving = [id(v) in statistics for v in loaded.weights]
    assert len(average) == len(snapshot) == len(moving) and sum(moving) == 10  # 5 BN layers
    for i, (a, s) in enumerate(zip(average, snapshot)):
        assert np.array_equal(a, s) != moving[i], f"weight {i} ({loaded.weights[i].path})"
    exported = keras.models.load_model(rd.generator_path)
    for model in (loaded, exported):
        for s, w in zip(snapshot, model.weights):
            np.testing.assert_array_equal(w.numpy(), s)
