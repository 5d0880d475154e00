"""`harness generate`: labelled images from a run, never overwriting anything."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from harness.errors import HarnessError, RunError
from harness.runs import runner
from harness.runs.generate import generate

pytestmark = [pytest.mark.slow, pytest.mark.eurosat]


@pytest.fixture(scope="module")
def run_dir(eurosat_path, tmp_path_factory):
    cfg = runner.resolve("paper_dcgan", profile="smoke", epochs=2, overrides={"log.keep_every": 1})
    return runner.run(cfg, data=eurosat_path, out=tmp_path_factory.mktemp("gen"), run_id="g").path


def test_png_folders_per_class(run_dir, tmp_path):
    written = generate(run_dir, classes=["Forest", "River"], n=3, out=tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        "Forest/Forest_00001.png", "Forest/Forest_00002.png", "Forest/Forest_00003.png",
        "River/River_00001.png", "River/River_00002.png", "River/River_00003.png"]
    with Image.open(written[0]) as image:
        assert image.size == (64, 64) and image.mode == "RGB"


def test_npz_with_labels_is_reproducible(run_dir, tmp_path):
    from harness.data import eurosat

    [a] = generate(run_dir, classes=list(eurosat.CLASSES), n=4, out=tmp_path / "a", fmt="npz")
    [b] = generate(run_dir, classes=list(eurosat.CLASSES), n=4, out=tmp_path / "b", fmt="npz")
    with np.load(a) as x, np.load(b) as y:
        assert x["images"].shape == (40, 64, 64, 3) and x["images"].dtype == np.uint8
        assert np.bincount(x["labels"]).tolist() == [4] * 10
        assert list(x["class_names"]) == list(eurosat.CLASSES)
        np.testing.assert_array_equal(x["images"], y["images"])


def test_npz_is_streamed_in_batches_and_holds_the_png_images(run_dir, tmp_path):
    """Batches smaller than n (3 + 1 per class) give the npz the same images, in class order, as the PNGs."""
    done = []
    [npz] = generate(run_dir, classes=["River", "Forest"], n=4, out=tmp_path / "n", fmt="npz", batch=3,
                     on_batch=lambda d, t: done.append((d, t)))
    pngs = generate(run_dir, classes=["River", "Forest"], n=4, out=tmp_path / "p")
    assert done == [(3, 8), (4, 8), (7, 8), (8, 8)]
    with np.load(npz) as got:
        assert got["labels"].tolist() == [8] * 4 + [1] * 4
        np.testing.assert_array_equal(got["images"], np.stack([np.asarray(Image.open(p)) for p in pngs]))


def test_kept_epoch_and_errors(run_dir, tmp_path):
    generate(run_dir, classes=["Forest"], n=1, out=tmp_path / "e1", epoch=1)
    with pytest.raises(RunError, match="no generator kept for epoch 7; kept: 0001, 0002"):
        generate(run_dir, classes=["Forest"], n=1, out=tmp_path / "e7", epoch=7)
    with pytest.raises(HarnessError, match="--class 'Forrest': not a EuroSAT class"):
        generate(run_dir, classes=["Forrest"], n=1, out=tmp_path / "x")
    with pytest.raises(HarnessError, match="--format 'jpg'"):
        generate(run_dir, classes=["Forest"], n=1, out=tmp_path / "x", fmt="jpg")


def test_existing_output_is_never_overwritten(run_dir, tmp_path):
    out = tmp_path / "out"
    (out / "Forest").mkdir(parents=True)
    (out / "Forest" / "mine.png").write_bytes(b"precious")
    with pytest.raises(HarnessError, match="already exists; choose another --out"):
        generate(run_dir, classes=["Forest"], n=2, out=out)
    assert (out / "Forest" / "mine.png").read_bytes() == b"precious"
    assert list((out / "Forest").iterdir()) == [out / "Forest" / "mine.png"]
