"""Domain-feature cost: images/s through the reference classifier's penultimate layer (the domain FID's
features), and one training step of the classifier.

Run for figures:  pytest tests/benchmarks/test_bench_domain.py --benchmark-enable
Compare with test_bench_fid.py's Inception images/s. In the default test run they execute once, untimed.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.data import dataset
from harness.evaluate import classifier

pytestmark = [pytest.mark.slow, pytest.mark.eurosat]


def test_domain_features_images_per_second(benchmark, eurosat_path):
    count = 64 if benchmark.disabled else 2000
    images = dataset.load(eurosat_path).images[:count]
    head = classifier.feature_head(classifier.build(classifier.Recipe()))
    classifier.features(head, images[:64])  # trace outside the timing
    feats = benchmark.pedantic(classifier.features, args=(head, images), rounds=1 if benchmark.disabled else 3,
                               iterations=1)
    assert feats.shape == (count, 256) and np.isfinite(feats).all()
    if benchmark.stats:
        benchmark.extra_info["images_per_s"] = count / benchmark.stats.stats.median


def test_classifier_training_images_per_second(benchmark, eurosat_path):
    steps = 2 if benchmark.disabled else 40
    recipe = classifier.Recipe(epochs=0, min_steps=steps)
    ds = dataset.load(eurosat_path)
    x, y = ds.images[:recipe.batch_size * steps], ds.labels[:recipe.batch_size * steps]
    model, history = benchmark.pedantic(classifier.train, args=(x, y, recipe), rounds=1, iterations=1)
    assert history[-1]["steps"] == steps and np.isfinite(history[-1]["loss"])
    if benchmark.stats:
        benchmark.extra_info["images_per_s"] = recipe.batch_size * steps / benchmark.stats.stats.median
