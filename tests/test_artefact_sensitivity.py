"""tools/artefact_sensitivity.py: the alterations are what they say, and FID is taken against the kept half."""

import numpy as np
import pytest
from conftest import load_tool


@pytest.fixture(scope="module")
def tool():
    return load_tool("artefact_sensitivity")


def test_the_checkerboard_alternates_by_pixel_and_clips(tool):
    images = np.full((2, 4, 4, 3), 100, np.uint8)
    images[1] = 250  # near white: +12 clips at 255
    out = tool.checkerboard(images, 12)
    assert out[0, 0, 0, 0] == 112 and out[0, 0, 1, 0] == 88 and out[0, 1, 0, 0] == 88 and out[0, 1, 1, 0] == 112
    assert out[1, 0, 0, 0] == 255 and out[1, 0, 1, 0] == 238
    assert tool.rms_change(images[:1], out[:1]) == pytest.approx(12.0)


def test_the_blur_keeps_a_flat_image_and_softens_an_edge(tool):
    flat = np.full((1, 8, 8, 3), 77, np.uint8)
    assert np.array_equal(tool.blur(flat, 1.5), flat)
    edge = np.zeros((1, 8, 8, 3), np.uint8)
    edge[:, :, 4:] = 200
    out = tool.blur(edge, 1.0)
    assert 0 < out[0, 0, 3, 0] < 100 < out[0, 0, 4, 0] < 200  # the step is spread over its neighbours
    assert np.array_equal(out[..., 0], out[..., 2])  # channels blurred alike, not into each other


def test_measure_takes_fid_against_the_kept_half_in_every_space(tool):
    """With a real (if small) feature map, the pixels' per-channel 2x2-block means: 'none' gives the FID of the
    two halves, and a checkerboard, which averages out over 2x2 blocks, changes nothing in that space."""
    rng = np.random.default_rng(0)
    kept, altered = (rng.integers(40, 200, (64, 8, 8, 3), dtype=np.uint8) for _ in range(2))

    def blocks(x):
        return x.astype(np.float64).reshape(len(x), 4, 2, 4, 2, 3).mean(axis=(2, 4)).reshape(len(x), -1)

    rows = tool.measure(kept, altered, {"blocks": (blocks(kept), blocks)},
                        {"none": lambda x: x, "checkerboard 4": lambda x: tool.checkerboard(x, 4),
                         "blur 1.5 px": lambda x: tool.blur(x, 1.5)})
    by = {r["alteration"]: r for r in rows}
    from harness.evaluate.fid import distances

    assert by["none"]["blocks FID"] == pytest.approx(distances.fid(blocks(kept), blocks(altered)))
    assert by["none"]["rms change"] == 0
    assert by["checkerboard 4"]["blocks FID"] == pytest.approx(by["none"]["blocks FID"], rel=1e-6)
    assert by["blur 1.5 px"]["blocks FID"] > by["none"]["blocks FID"]  # blurring shrinks the blocks' spread


def test_the_unaltered_half_reuses_its_cached_features(tool):
    """The "none" row's Inception features are the cached ones of the very same images; any altered copy, even an
    equal one, goes through the extractor."""
    images, features, calls = np.zeros((2, 8, 8, 3), np.uint8), np.ones((2, 4)), []
    extract = tool.reusing(lambda x: calls.append(len(x)) or np.zeros((len(x), 4)), images, features)
    assert extract(tool.ALTERATIONS["none"](images)) is features and calls == []
    assert not extract(images.copy()).any() and calls == [2]


def test_brightness_is_the_mean_grey_level_of_each_image(tool):
    images = np.zeros((2, 8, 8, 3), np.uint8)
    images[1, :, :4] = 200  # half the second image at 200
    assert tool.brightness(images).tolist() == [0.0, 100.0]
    assert "brightness" in tool.MEASURES


def test_unknown_classes_are_refused_in_one_line(tool, capsys):
    with pytest.raises(SystemExit) as exit_:
        tool.main(["--classes", "Forest,Desert"])
    assert exit_.value.code == 2 and "Desert not a EuroSAT class" in capsys.readouterr().err


def test_the_artefact_measures_read_a_known_checkerboard(tool):
    """On a flat image plus a +-5 checkerboard, the checkerboard amplitude and the 8-pixel grid pattern are both 5;
    on the flat image alone both are 0, and so is its fine texture."""
    flat = np.full((1, 64, 64, 3), 120, np.uint8)
    board = tool.checkerboard(flat, 5)
    assert tool.checkerboard_amplitude(board)[0] == pytest.approx(5.0)
    assert tool.grid_pattern(board)[0] == pytest.approx(5.0)
    assert tool.checkerboard_amplitude(flat)[0] == 0 and tool.grid_pattern(flat)[0] == 0
    assert tool.fine_texture(flat)[0] == 0 and tool.fine_texture(board)[0] > 0
    stripes = flat.astype(np.int16)
    stripes[:, :, ::8] += 40  # a column every 8 pixels: an 8-pixel grid, no period-2 component at all
    stripes = stripes.astype(np.uint8)
    assert tool.grid_pattern(stripes)[0] > 10 and tool.checkerboard_amplitude(stripes)[0] == pytest.approx(0.0)


def test_a_sample_grid_is_cut_back_into_its_images(tool):
    from harness import images
    from harness.data import eurosat

    rng = np.random.default_rng(1)
    tiles = rng.integers(0, 256, (len(eurosat.CLASSES) * 3, 64, 64, 3), dtype=np.uint8)
    picture = images.grid(tiles, len(eurosat.CLASSES), row_labels=list(eurosat.CLASSES))
    back = tool.grid_tiles(picture, list(eurosat.CLASSES))
    assert back.shape == (len(eurosat.CLASSES), 3, 64, 64, 3)
    assert np.array_equal(back.reshape(-1, 64, 64, 3), tiles)
    with pytest.raises(ValueError, match="not a grid of 9 labelled rows"):
        tool.grid_tiles(picture, list(eurosat.CLASSES)[:9])


def test_a_run_without_sample_grids_is_refused_in_one_line(tool, tmp_path, capsys):
    (tmp_path / "run" / "samples").mkdir(parents=True)
    with pytest.raises(SystemExit) as exit_:
        tool.main(["--run", str(tmp_path / "run")])
    assert exit_.value.code == 2 and "holds no sample grids" in capsys.readouterr().err
