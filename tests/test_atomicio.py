"""The streamed .npz writer: read back as np.savez's, and all or nothing."""

from __future__ import annotations

import numpy as np
import pytest

from harness import atomicio


def test_streamed_npz_reads_back_as_one_array(tmp_path):
    whole = np.arange(7 * 2 * 3, dtype=np.uint8).reshape(7, 2, 3)
    path = tmp_path / "x.npz"
    atomicio.write_npz_streamed(path, "images", whole.shape, np.uint8, (whole[i:i + 3] for i in range(0, 7, 3)),
                                labels=np.arange(7, dtype=np.int32), names=np.array(["a", "b"]))
    with np.load(path) as got:
        assert sorted(got.files) == ["images", "labels", "names"]
        np.testing.assert_array_equal(got["images"], whole)
        assert got["images"].dtype == np.uint8
        assert got["labels"].tolist() == list(range(7)) and got["names"].tolist() == ["a", "b"]


@pytest.mark.parametrize("chunks, message", [
    ([np.zeros((3, 2), np.uint8)], "got 3 rows, declared 4"),
    ([np.zeros((3, 2), np.uint8), np.zeros((3, 2), np.uint8)], r"does not fit images \(4, 2\) after 3 rows"),
    ([np.zeros((4, 3), np.uint8)], r"a chunk of shape \(4, 3\) does not fit"),
])
def test_chunks_that_do_not_add_up_leave_the_old_file(tmp_path, chunks, message):
    path = tmp_path / "x.npz"
    path.write_bytes(b"before")
    with pytest.raises(ValueError, match=message):
        atomicio.write_npz_streamed(path, "images", (4, 2), np.uint8, iter(chunks))
    assert path.read_bytes() == b"before" and [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_every_writer_names_its_temporary_so_that_it_is_known_as_one(tmp_path, monkeypatch):
    """A run folder that another process is starting holds only its locks and a record being written: the
    runner tells that from a foreign folder by atomicio.is_temporary, so each writer's temporary must match it."""
    import os

    seen = []  # what each writer put in the folder before its result landed
    replace = os.replace
    monkeypatch.setattr(atomicio.os, "replace", lambda src, dst: (
        seen.append(os.path.relpath(src, tmp_path).split(os.sep)[0]), replace(src, dst))[1])
    atomicio.write_text(tmp_path / "config.json", "{}")
    atomicio.write_with(tmp_path / "grid.png", lambda tmp: tmp.write_bytes(b"x"))
    assert len(seen) == 2 and all(atomicio.is_temporary(name) for name in seen), seen
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "grid.png"]
    assert not any(atomicio.is_temporary(n) for n in ("config.json", ".lock", ".tables.lock", "notes.tmp"))
