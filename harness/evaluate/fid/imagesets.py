"""Loading an image set for `harness fid`: a folder, a zip, or an .npz of uint8 arrays."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from harness.errors import HarnessError

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def _decode(name: str, data: bytes) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as exc:
        raise HarnessError(f"{name}: does not decode as an image ({type(exc).__name__})") from None


def load(path: Path | str) -> np.ndarray:
    """uint8 (N, H, W, 3); every image must have the same size."""
    path = Path(path)
    if not path.exists():
        raise HarnessError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES)
        arrays = [_decode(str(p), p.read_bytes()) for p in files]
    elif path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                key = "images" if "images" in data.files else next(
                    (k for k in data.files if data[k].ndim == 4), None)
                if key is None:
                    raise HarnessError(f"{path}: no 4-d image array (expected key 'images')")
                array = data[key]
        except (OSError, ValueError) as exc:
            raise HarnessError(f"{path}: unreadable .npz ({exc})") from None
        if array.dtype != np.uint8 or array.shape[-1] != 3:
            raise HarnessError(f"{path}: '{key}' is {array.dtype} {array.shape}, expected uint8 (N, H, W, 3)")
        return array
    else:
        try:
            with zipfile.ZipFile(path) as zf:
                names = sorted(n for n in zf.namelist() if Path(n).suffix.lower() in SUFFIXES)
                arrays = [_decode(f"{path}:{n}", zf.read(n)) for n in names]
        except zipfile.BadZipFile:
            raise HarnessError(f"{path}: not a folder, zip or .npz") from None
    if len(arrays) < 2:
        raise HarnessError(f"{path}: {len(arrays)} images found; FID needs at least 2")
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise HarnessError(f"{path}: images of different sizes {sorted(shapes)[:3]}; resize them to one size first")
    return np.stack(arrays)
