"""The decoded-array cache and the stratified splits."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_files, write_zip

from harness import paths
from harness.data import dataset, eurosat
from harness.errors import DataError


def test_load_decodes_then_serves_from_cache(small_zip, monkeypatch):
    first = dataset.load(small_zip)
    assert first.images.shape == (30, 64, 64, 3) and first.images.dtype == np.uint8
    assert list(first.labels[:3]) == [0, 0, 0] and first.labels[-1] == 9

    def no_decode(*a, **k):
        raise AssertionError("decoded again despite a valid cache")

    monkeypatch.setattr(dataset, "_decode_all", no_decode)
    second = dataset.load(small_zip)
    assert second.digest == first.digest
    np.testing.assert_array_equal(second.images, first.images)


def test_cache_never_serves_another_archive(tmp_path):
    files = make_files(1)
    a = dataset.load(write_zip(tmp_path / "a.zip", files))
    files["Forest/Forest_1.jpg"] = make_files(1, seed=9)["Forest/Forest_1.jpg"]
    path_b = write_zip(tmp_path / "b.zip", files)
    b = dataset.load(path_b)
    assert a.digest != b.digest
    assert not np.array_equal(a.images, b.images)
    # Rewriting a file in place (same path) changes its identity: no stale digest.
    files["Forest/Forest_1.jpg"] = make_files(1, seed=10)["Forest/Forest_1.jpg"]
    import os
    import time

    time.sleep(0.01)
    write_zip(path_b, files)
    os.utime(path_b)
    c = dataset.load(path_b)
    assert c.digest != b.digest


def test_damaged_cache_is_rebuilt(small_zip, caplog):
    ds = dataset.load(small_zip)
    cache = dataset._cache_path(ds.digest)
    (cache / "images.npy").write_bytes(b"garbage")
    with caplog.at_level("WARNING", logger="harness"):
        again = dataset.load(small_zip)
    np.testing.assert_array_equal(again.images, ds.images)
    assert "decoded-image cache" in caplog.text and "deleting it and decoding again" in caplog.text
    assert (cache / "meta.json").is_file()  # rewritten


def test_resolve_source_order(tmp_path, monkeypatch, small_zip):
    with pytest.raises(DataError, match="no EuroSAT data"):
        dataset.resolve_source(None)
    cached = paths.data_cache_dir() / "EuroSAT.zip"
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(small_zip.read_bytes())
    try:
        assert dataset.resolve_source(None) == cached
        monkeypatch.setenv(paths.ENV_DATA, "/from/env.zip")
        assert str(dataset.resolve_source(None)) == "/from/env.zip"
        assert str(dataset.resolve_source("/from/flag.zip")) == "/from/flag.zip"
    finally:
        cached.unlink()


def _labels(per_class=(3000, 3000, 3000, 2500, 2500, 2000, 2500, 3000, 2500, 3000)):
    return np.repeat(np.arange(10), per_class).astype(np.int32)


def test_splits_are_stratified_disjoint_and_complete():
    labels = _labels()
    parts = {s: dataset.split_indices(labels, s, seed=0) for s in ("train", "val", "test")}
    assert sum(len(p) for p in parts.values()) == 27000
    assert len(np.unique(np.concatenate(list(parts.values())))) == 27000
    for split, share in (("train", 0.8), ("val", 0.1), ("test", 0.1)):
        counts = np.bincount(labels[parts[split]], minlength=10)
        expected = np.array([3000, 3000, 3000, 2500, 2500, 2000, 2500, 3000, 2500, 3000]) * share
        np.testing.assert_allclose(counts, expected, atol=1)
    assert len(dataset.split_indices(labels, "all", seed=0)) == 27000


def test_split_depends_on_split_seed_only():
    labels = _labels()
    a = dataset.split_indices(labels, "train", seed=0)
    np.testing.assert_array_equal(a, dataset.split_indices(labels, "train", seed=0))
    assert not np.array_equal(a, dataset.split_indices(labels, "train", seed=1))


def test_subsets_are_nested_and_stratified():
    labels = _labels()
    train = dataset.split_indices(labels, "train", seed=0)
    quarter = dataset.subset(train, labels, fraction=0.25)
    half = dataset.subset(train, labels, fraction=0.5)
    assert set(quarter) <= set(half)
    np.testing.assert_allclose(np.bincount(labels[quarter]), np.bincount(labels[train]) * 0.25, atol=1)
    eight = dataset.subset(train, labels, per_class=8)
    assert list(np.bincount(labels[eight])) == [8] * 10


def test_bad_split_name():
    with pytest.raises(DataError, match="split 'dev'"):
        dataset.split_indices(_labels(), "dev", seed=0)


@pytest.mark.slow
@pytest.mark.eurosat
def test_real_archive_loads_with_all_classes(eurosat_path):
    ds = dataset.load(eurosat_path)
    assert ds.images.shape == (27000, 64, 64, 3)
    assert np.bincount(ds.labels).tolist() == [eurosat.CLASS_COUNTS[c] for c in eurosat.CLASSES]
    assert ds.names[0] == "EuroSAT_RGB/AnnualCrop/AnnualCrop_1.jpg"
