"""FID evaluation cost: Inception images/s, and one per-class evaluation of a run
(10 classes x N generated vs N real) with a cold and a warm real-statistics cache.

Run for figures:  pytest tests/benchmarks/test_bench_fid.py --benchmark-enable
(HARNESS_BENCH_EVAL_N sets N, default 500 as in the paper: about 20 minutes cold
on 2 cores.) In the default test run they execute once on a few images, untimed.
"""

from __future__ import annotations

import os

import pytest

from harness.data import dataset
from harness.evaluate.evaluator import Evaluator
from harness.models.networks import build_generator
from harness.runs import runner

pytestmark = [pytest.mark.slow, pytest.mark.eurosat]


@pytest.mark.parametrize("batch", [50, 200])
def test_inception_images_per_second(benchmark, inception, eurosat_path, batch):
    count = 16 if benchmark.disabled else 400
    images = dataset.load(eurosat_path).images[:count]
    inception.batch_size = batch
    inception(images[:batch])  # trace outside the timing
    feats = benchmark.pedantic(inception, args=(images,), rounds=1 if benchmark.disabled else 3, iterations=1)
    assert feats.shape == (count, 2048)
    if benchmark.stats:
        benchmark.extra_info["images_per_s"] = count / benchmark.stats.stats.median
    inception.batch_size = 50


@pytest.mark.parametrize("cache", ["cold", "warm"])
def test_per_class_fid_evaluation(benchmark, inception, eurosat_path, tmp_path_factory, monkeypatch, cache):
    n = 4 if benchmark.disabled else int(os.environ.get("HARNESS_BENCH_EVAL_N", "500"))
    cfg = runner.resolve("paper_dcgan", profile="cpu", overrides={"eval.n": str(n), "eval.metrics": "fid,kid"})
    ds = dataset.load(eurosat_path)
    generator = build_generator(cfg.model, seed=0)
    folder = tmp_path_factory.mktemp(f"stats-{cache}")
    monkeypatch.setenv("HARNESS_CACHE", str(folder))
    evaluator = Evaluator(cfg, ds, extractor=inception)
    if cache == "warm":
        for cls in range(10):
            evaluator.real_features(cls)
    rows = benchmark.pedantic(evaluator.evaluate, args=(generator, 1), rounds=1, iterations=1)
    assert len([r for r in rows if r["metric"] == "fid"]) == 12
    benchmark.extra_info.update({"n_per_class": n, "cache": cache})
