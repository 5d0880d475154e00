"""Cached features of real images, keyed by every protocol factor.

A cached entry is valid only for the exact combination it was computed
for: data content digest, JPEG decoder, split and split seed, class, the
sample (size and sampling seed), the Inception weights' sha256, the resize
mode and the metric version. The key is hashed into the file name and also
stored inside the file and compared on read, so a stale or colliding entry
is recomputed, never returned.
"""

from __future__ import annotations

import json

import numpy as np

from harness import atomicio, paths

METRIC_VERSION = 1


def real_key(ds, *, split: str, split_seed: int, cls: str, n, resize: str = "tf1-bilinear", **extra) -> dict:
    """The cache key of the Inception features of n real images of class `cls`: every protocol factor.
    `extra` adds what else identifies the sample (the evaluator's sampling seed, the floor's purpose)."""
    from harness.data import dataset
    from harness.evaluate.fid import extractor, weights

    return {"digest": ds.digest, "decoder": dataset._decoder_id(), "split": split, "split_seed": split_seed,
            "class": cls, "n": n, "weights": weights.PT_SHA256, "resize": extractor.RESIZE_KEYS[resize],
            "metric_version": METRIC_VERSION, **extra}


def _path(key: dict):
    from harness.cachefile import key_digest

    return paths.cache_dir() / "fid" / "real" / f"{key_digest(key, 24)}.npz", json.dumps(key, sort_keys=True)


def _read(path, blob: str) -> np.ndarray:
    from harness.cachefile import Stale

    with np.load(path, allow_pickle=False) as saved:
        if str(saved["key"]) != blob:
            raise Stale("its key is another protocol's")
        return saved["features"]


def load(key: dict) -> np.ndarray | None:
    """The cached features, or None (missing, unreadable or stale)."""
    path, blob = _path(key)
    try:
        return _read(path, blob)
    except Exception:  # noqa: BLE001 - a cache that cannot be read is a cache miss
        return None


def save(key: dict, features: np.ndarray) -> None:
    path, blob = _path(key)
    atomicio.write_npz(path, key=np.array(blob), features=features.astype(np.float32))


def cached(key: dict, compute) -> np.ndarray:
    from harness.cachefile import load_or_build

    path, blob = _path(key)
    return load_or_build(path, read=lambda p: _read(p, blob), build=compute, write=lambda p, f: save(key, f),
                         what="real-feature")
