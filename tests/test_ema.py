"""The generator average: exact at decay 0, its warm-up, and every consumer of a run's generator uses it."""

from __future__ import annotations

import numpy as np
import pytest

from harness import runner, streams
from harness.models import build_generator


def _pair(seed_a=0, seed_b=1):
    cfg = runner.resolve("paper_dcgan", profile="smoke")
    return build_generator(cfg.model, seed=seed_a), build_generator(cfg.model, seed=seed_b)


def test_decay_zero_is_exactly_the_trained_generator():
    import tensorflow as tf

    from harness.ema import GeneratorEMA

    source, average = _pair()
    ema = GeneratorEMA(source, average, decay=0.0, rampup=True)
    for v in source.weights:  # the trained generator moves on
        v.assign(v + tf.random.stateless_normal(v.shape, seed=[1, 2]) * 0.1)
    ema.update(tf.constant(5, tf.int64))
    for mine, theirs in zip(average.weights, source.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_average_follows_the_decay_and_its_warm_up():
    import tensorflow as tf

    from harness.ema import GeneratorEMA

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

    from harness.generate import generate, load_generator

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

    rng = np.random.default_rng([0, streams.GENERATE_LATENTS])
    noise = rng.standard_normal((3, cfg.model.g.noise_dim)).astype(np.float32)
    from harness import eurosat

    expected = images.sample_uint8(exported, noise, np.full(3, eurosat.CLASSES.index("Forest"), np.int32))
    with np.load(npz) as z:
        np.testing.assert_array_equal(z["images"], expected)
