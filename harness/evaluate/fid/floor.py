"""The real-vs-real floor: FID between two disjoint real samples of N per class.

What FID a perfect generator would get at the same N; below it, differences
are sampling noise. The features are cached under the same key builder as the
evaluator's real features (harness.evaluate.fid.real_cache.real_key).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from harness import streams
from harness.data import dataset, eurosat
from harness.evaluate.fid import distances, real_cache


def real_floor(ds, split: str, split_seed: int, n: int, *, extractor=None, resize: str = "tf1-bilinear",
               features: dict | None = None) -> dict[str, float]:
    """{class: real-vs-real FID at n, "mean": their mean}; classes with fewer than 2n real images are left out.

    Inception features by default. Another feature space (the reference classifier's, for domain FID) passes its
    `extractor` and `features`, what identifies those features (e.g. {"space": "domain", "classifier": its key}),
    which joins the cache key: two spaces' features of the same images are never served for each other."""
    members = dataset.split_indices(ds.labels, split, seed=split_seed)
    out = {}
    for cls, name in enumerate(eurosat.CLASSES):
        pool = members[ds.labels[members] == cls]
        if len(pool) < 2 * n:
            continue
        rng = np.random.default_rng([cls, n, streams.FLOOR_HALVES])
        idx = rng.choice(pool, 2 * n, replace=False)  # two random halves
        space = {"features": features} if features else {}  # Inception's keys stay what they were
        key = real_cache.real_key(ds, split=split, split_seed=split_seed, cls=name, n=2 * n,
                                  resize=resize, purpose="real-vs-real floor", **space)
        if extractor is None:
            from harness.evaluate.fid.extractor import InceptionFeatures

            extractor = InceptionFeatures(resize=resize)
        feats = real_cache.cached(key, lambda: extractor(ds.images[idx]))
        out[name] = distances.fid(feats[:n], feats[n:])
    if out:
        out["mean"] = float(np.mean([out[c] for c in eurosat.CLASSES if c in out]))
    return out


def disjoint_pairs(cls: int, n: int, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless disjoint pairs of n positions among `size` (a class's real images, in archive order): the draws
    whose FIDs give the floor's spread at n (tools/paper_floor.py). Keyed by (class, n) alone, so another tool
    that measures something on "the floor's first pair" gets the very images the floor's first FID was made of."""
    if 2 * n > size:
        raise ValueError(f"two disjoint samples of {n} need {2 * n} images; the class has {size}")
    rng = np.random.default_rng([cls, n, streams.FLOOR_DRAWS])
    while True:
        pick = rng.permutation(size)[:2 * n]
        yield pick[:n], pick[n:]


def domain_floor(ds, split: str, split_seed: int, n: int, reference) -> dict[str, float]:
    """The real-vs-real floor of domain FID: the same two real samples on `reference`'s (the reference
    classifier's) features, cached under its key, so that no two classifiers' features are served for each other."""
    return real_floor(ds, split, split_seed, n, extractor=reference.features,
                      features={"space": "domain", "classifier": reference.info["key"]})
