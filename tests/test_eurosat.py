"""Reading EuroSAT from its layouts, the content digest, and `verify`."""

from __future__ import annotations

import pytest
from conftest import SHARED_CONTENT_DIGEST, jpeg_bytes, make_files, write_folder, write_zip

from harness.data import eurosat
from harness.errors import DataError


@pytest.mark.parametrize("top", ["2750", "EuroSAT_RGB", "EuroSAT", ""])
def test_zip_layouts_give_the_same_members_and_digest(tmp_path, top):
    files = make_files(2)
    reference = eurosat.content_digest(eurosat.open_archive(write_zip(tmp_path / "ref.zip", files)))
    with eurosat.open_archive(write_zip(tmp_path / "a.zip", files, top=top)) as archive:
        assert len(archive.members) == 20
        assert archive.members[0].canonical == "EuroSAT_RGB/AnnualCrop/AnnualCrop_1.jpg"
        assert eurosat.content_digest(archive) == reference


def test_folder_and_parent_folder(tmp_path):
    files = make_files(2)
    zipped = eurosat.content_digest(eurosat.open_archive(write_zip(tmp_path / "a.zip", files)))
    write_folder(tmp_path / "parent" / "2750", files)
    for root in (tmp_path / "parent", tmp_path / "parent" / "2750"):
        with eurosat.open_archive(root) as archive:
            assert archive.kind == "folder"
            assert eurosat.content_digest(archive) == zipped


def test_members_sort_numerically(tmp_path):
    files = make_files(11)
    with eurosat.open_archive(write_zip(tmp_path / "a.zip", files)) as archive:
        names = [m.name for m in archive.members if m.cls == "Forest"]
    assert names[:3] == ["Forest_1.jpg", "Forest_2.jpg", "Forest_3.jpg"] and names[-1] == "Forest_11.jpg"


def test_digest_changes_with_one_byte(tmp_path):
    files = make_files(1)
    a = eurosat.content_digest(eurosat.open_archive(write_zip(tmp_path / "a.zip", files)))
    files["Forest/Forest_1.jpg"] = files["Forest/Forest_1.jpg"] + b"\0"
    b = eurosat.content_digest(eurosat.open_archive(write_zip(tmp_path / "b.zip", files)))
    assert a != b


def test_missing_path_not_zip_and_empty(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        eurosat.open_archive(tmp_path / "absent.zip")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"this is not a zip")
    with pytest.raises(DataError, match="bad.zip: not a zip archive"):
        eurosat.open_archive(bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no EuroSAT images found"):
        eurosat.open_archive(tmp_path / "empty")


def test_verify_reports_every_problem(tmp_path):
    import numpy as np

    files = make_files(1)
    rng = np.random.default_rng(1)
    del files["SeaLake/SeaLake_1.jpg"]
    files["Forest/Forest_1.jpg"] = jpeg_bytes(rng, size=(32, 32))
    files["River/River_1.jpg"] = jpeg_bytes(rng, mode="L")
    files["Highway/Highway_1.jpg"] = b"\xff\xd8 broken"
    files["Pasture/notes.jpg"] = jpeg_bytes(rng)
    files["Glacier/Glacier_1.jpg"] = jpeg_bytes(rng)  # an eleventh class
    with eurosat.open_archive(write_zip(tmp_path / "a.zip", files)) as archive:
        problems = eurosat.verify(archive)
    text = "\n".join(problems)
    assert "folder EuroSAT_RGB/Glacier/ is not one of the ten EuroSAT classes" in text
    assert "class folder SeaLake/ is missing" in text
    assert "class AnnualCrop: 1 images, expected 3000" in text
    assert "class AnnualCrop: missing AnnualCrop_2.jpg" in text
    assert "EuroSAT_RGB/Forest/Forest_1.jpg: RGB 32x32, expected RGB 64x64" in text
    assert "EuroSAT_RGB/River/River_1.jpg: L 64x64" in text
    assert "EuroSAT_RGB/Highway/Highway_1.jpg: does not decode" in text
    assert "class Pasture: unexpected files notes.jpg" in text


@pytest.mark.slow
@pytest.mark.eurosat
def test_real_archive_is_complete_and_matches_published_digest(eurosat_path):
    with eurosat.open_archive(eurosat_path) as archive:
        assert len(archive.members) == 27000
        assert eurosat.content_digest(archive) == SHARED_CONTENT_DIGEST
        assert eurosat.verify(archive) == []


def test_an_eleventh_class_folder_fails_verify_in_every_layout(tmp_path):
    files = make_files(1)
    files["Glacier/Glacier_1.jpg"] = files["Forest/Forest_1.jpg"]
    for source in (write_zip(tmp_path / "a.zip", files, top=""), write_folder(tmp_path / "folder", files)):
        with eurosat.open_archive(source) as archive:
            assert len(archive.members) == 10  # the extra folder is not read as data
            problems = eurosat.verify(archive)
        assert any(p.startswith("folder Glacier/ is not one of the ten EuroSAT classes") for p in problems), problems
