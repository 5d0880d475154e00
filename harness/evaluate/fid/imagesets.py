"""Loading an image set for `harness fid`: a folder, a zip, or an .npz of uint8 arrays."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from harness.errors import HarnessError

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


EUROSAT_SIZE = (64, 64)
_EIGHT_BIT_MODES = ("1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK", "YCbCr")


def _decode(name: str, data: bytes) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.mode not in _EIGHT_BIT_MODES:  # 16-bit or float: convert("RGB") would clip it silently
                raise HarnessError(f"{name}: a {image.mode} image (16-bit or float); the harness compares 8-bit RGB "
                                   "images: convert them first")
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except HarnessError:
        raise
    except Exception as exc:
        raise HarnessError(f"{name}: does not decode as an image ({type(exc).__name__})") from None


def load_statistics(path: Path | str) -> tuple[np.ndarray, np.ndarray] | None:
    """(mu, sigma) when `path` is an .npz of precomputed Inception statistics (pytorch-fid's and clean-fid's
    format: arrays `mu` (2048,) and `sigma` (2048, 2048)), else None. A set given this way allows FID only."""
    path = Path(path)
    if path.suffix != ".npz" or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if not {"mu", "sigma"} <= set(data.files):
                return None
            mu, sigma = np.asarray(data["mu"], np.float64), np.asarray(data["sigma"], np.float64)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # load() names what is wrong with it
    if mu.ndim != 1 or sigma.shape != (len(mu), len(mu)):
        raise HarnessError(f"{path}: statistics of the wrong shape (mu {mu.shape}, sigma {sigma.shape}); expected "
                           "mu (d,) and sigma (d, d)")
    for name, array in (("mu", mu), ("sigma", sigma)):
        bad = int(np.size(array) - np.isfinite(array).sum())
        if bad:  # sqrtm fails on them (LinAlgError) or FID comes out inf: neither says which file is wrong
            raise HarnessError(f"{path}: {name} has {bad} values that are not finite (NaN or inf)")
    asymmetry = float(np.abs(sigma - sigma.T).max())
    if asymmetry > 1e-4 * (float(np.abs(sigma).max()) or 1.0):  # rounding leaves ~1e-7 of the scale; a factor, more
        raise HarnessError(f"{path}: sigma is not symmetric (largest |sigma - sigma.T| {asymmetry:.3g}), so not a "
                           "covariance matrix")
    return mu, sigma


def describe(path: Path | str, images: np.ndarray, cls: str | None = None) -> list[str]:
    """What a user should know about a set before trusting a distance on it: its size if not EuroSAT's 64x64, and
    whether a folder pooled several subfolders into one set (not when one class was asked for)."""
    notes = []
    height, width = images.shape[1:3]
    if (height, width) != EUROSAT_SIZE:
        notes.append(f"{path}: images are {height}x{width}, not EuroSAT's 64x64 (they are resized to Inception's "
                     "input all the same; compare only sets of one size)")
    path = Path(path)
    if path.is_dir() and cls is None:
        folders = {p.parent for p in path.rglob("*") if p.suffix.lower() in SUFFIXES}
        if len(folders) > 1:
            notes.append(f"{path}: {len(images)} images from {len(folders)} folders, pooled as one set (pass --class "
                         "NAME, or name one class's folder, to compare a class)")
    return notes


def _in_class(name: str, cls: str | None) -> bool:
    """Whether a file inside a folder or zip belongs to class `cls`: a folder on its path is named so (EuroSAT's
    layout, `EuroSAT_RGB/Forest/Forest_1.jpg`, and `harness generate`'s, `Forest/Forest_00001.png`)."""
    return cls is None or cls in Path(name).parts[:-1]


def _class_of_npz(path: Path, data, array: np.ndarray, cls: str | None) -> np.ndarray:
    """The images of class `cls` in an .npz that labels them (`labels`, and `class_names` to name the labels, as
    `harness generate --format npz` writes)."""
    if cls is None:
        return array
    if not {"labels", "class_names"} <= set(data.files):
        raise HarnessError(f"{path}: --class {cls}: the .npz has no 'labels' and 'class_names' to select a class by "
                           "(an .npz from `harness generate --format npz` has both)")
    names, labels = [str(n) for n in data["class_names"]], np.asarray(data["labels"])
    if len(labels) != len(array):
        raise HarnessError(f"{path}: {len(labels)} labels for {len(array)} images")
    if cls not in names:
        raise HarnessError(f"{path}: --class {cls}: not one of its classes ({', '.join(names)})")
    return array[labels == names.index(cls)]


def _enough(path: Path, count: int, cls: str | None) -> None:
    if cls is not None and not count:
        raise HarnessError(f"{path}: no image of class {cls} (looked for a folder of that name, or that label)")
    if count < 2:
        of = f" of class {cls}" if cls is not None else ""
        raise HarnessError(f"{path}: {count} image{'' if count == 1 else 's'}{of} found; FID needs at least 2")


def load(path: Path | str, cls: str | None = None) -> np.ndarray:
    """uint8 (N, H, W, 3); every image must have the same size. With `cls`, only that class's images: those in a
    folder of that name (folders and zips) or with that label (an .npz with labels and class names)."""
    path = Path(path)
    if not path.exists():
        raise HarnessError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES
                       and _in_class(str(p.relative_to(path)), cls))
        arrays = [_decode(str(p), p.read_bytes()) for p in files]
    elif path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as data:
                key = "images" if "images" in data.files else next(
                    (k for k in data.files if data[k].ndim == 4), None)
                if key is None:
                    raise HarnessError(f"{path}: no 4-d image array (expected key 'images')")
                array = data[key]
                if array.dtype != np.uint8 or array.shape[-1] != 3:
                    raise HarnessError(f"{path}: '{key}' is {array.dtype} {array.shape}, expected uint8 (N, H, W, 3)")
                array = _class_of_npz(path, data, array, cls)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise HarnessError(f"{path}: not an image-set .npz (an array 'images' of uint8, N x H x W x 3): "
                               f"{type(exc).__name__}") from None
        _enough(path, len(array), cls)
        return array
    else:
        try:
            with zipfile.ZipFile(path) as zf:
                names = sorted(n for n in zf.namelist() if Path(n).suffix.lower() in SUFFIXES and _in_class(n, cls))
                arrays = [_decode(f"{path}:{n}", zf.read(n)) for n in names]
        except zipfile.BadZipFile:
            raise HarnessError(f"{path}: not a folder, zip or .npz") from None
    _enough(path, len(arrays), cls)
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise HarnessError(f"{path}: images of different sizes {sorted(shapes)[:3]}; resize them to one size first")
    return np.stack(arrays)
