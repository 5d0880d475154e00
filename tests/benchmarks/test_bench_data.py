"""Loading all 27,000 EuroSAT images: cold (JPEG decode) and warm (decoded cache).

Run for figures:  pytest tests/benchmarks --benchmark-enable
"""

from __future__ import annotations

import pytest

from harness.data import dataset

pytestmark = [pytest.mark.slow, pytest.mark.eurosat]


def test_load_cold(benchmark, eurosat_path):
    ds = benchmark.pedantic(dataset.load, args=(eurosat_path,), kwargs={"use_cache": False}, rounds=1,
                            iterations=1)
    assert len(ds) == 27000


def test_load_warm(benchmark, eurosat_path):
    dataset.load(eurosat_path)  # fill the cache (and the digest memo)
    ds = benchmark.pedantic(dataset.load, args=(eurosat_path,), rounds=3, iterations=1)
    assert len(ds) == 27000
