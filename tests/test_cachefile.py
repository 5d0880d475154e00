"""Every cache repairs itself: an unreadable or stale entry is deleted and rebuilt with one log line."""

from __future__ import annotations

import numpy as np
import pytest

from harness import atomicio
from harness.cachefile import Stale, load_or_build


def _read(path):
    with np.load(path, allow_pickle=False) as z:
        if str(z["key"]) != "k1":
            raise Stale("its key is another protocol's")
        return z["x"]


def _write(path, value):
    atomicio.write_npz(path, key=np.array("k1"), x=value)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "stale", "directory"])
def test_damaged_entry_is_rebuilt_with_one_warning(damage, tmp_path, caplog):
    path = tmp_path / "entry.npz"
    _write(path, np.arange(4))
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\0" * 100)
    elif damage == "stale":
        atomicio.write_npz(path, key=np.array("k0"), x=np.zeros(4))
    else:
        path.unlink()
        path.mkdir()
    calls = []

    def build():
        calls.append(1)
        return np.arange(4) * 2

    with caplog.at_level("WARNING", logger="harness"):
        value = load_or_build(path, read=_read, build=build, write=_write, what="test")
    np.testing.assert_array_equal(value, np.arange(4) * 2)
    assert calls == [1]
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "test cache" in warnings[0].getMessage()
    assert "deleting and rebuilding it" in warnings[0].getMessage()
    np.testing.assert_array_equal(_read(path), np.arange(4) * 2)  # the rebuilt entry is served next time


def test_good_entry_is_served_without_building(tmp_path):
    path = tmp_path / "entry.npz"
    _write(path, np.arange(3))
    value = load_or_build(path, read=_read, build=lambda: pytest.fail("rebuilt a good entry"), write=_write,
                          what="test")
    np.testing.assert_array_equal(value, np.arange(3))


@pytest.mark.slow
def test_truncated_converted_inception_weights_are_rebuilt(inception, caplog):
    from harness.evaluate.fid import weights

    good, _ = weights.converted()
    [cache] = list((weights._folder()).glob("inception-*.npz"))
    data = cache.read_bytes()
    cache.write_bytes(data[: len(data) // 3])
    with caplog.at_level("WARNING", logger="harness"):
        again, _ = weights.converted()
    assert "converted Inception weights cache" in caplog.text
    assert again.keys() == good.keys()
    for key in good:
        np.testing.assert_array_equal(again[key], good[key])


def test_result_files_follow_the_umask_not_mkstemps_0600(tmp_path):
    """A shared results folder must stay readable: config.json, metrics.csv and status get a new file's mode."""
    import stat

    path = tmp_path / "config.json"
    atomicio.write_json(path, {"a": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~atomicio._UMASK
