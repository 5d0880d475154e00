"""Decoded EuroSAT arrays, their on-disk cache, and the stratified splits.

Decoding 27,000 JPEGs takes tens of seconds; loading the cached uint8 array
takes about one. The cache file is keyed by the archive's content digest and
the decoder's name and version, so a different archive or a different JPEG
decoder can never be served stale pixels.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import atomicio, paths
from harness.data import eurosat
from harness.errors import DataError

log = logging.getLogger("harness")

CACHE_FORMAT = 1


@dataclass(frozen=True)
class EuroSAT:
    """All images of one archive, in canonical order."""

    images: np.ndarray  # uint8, (N, 64, 64, 3)
    labels: np.ndarray  # int32, (N,), index into eurosat.CLASSES
    names: np.ndarray  # canonical paths, (N,)
    digest: str
    source: str

    def __len__(self) -> int:
        return len(self.labels)


def resolve_source(data: str | os.PathLike | None) -> Path:
    """--data, then $HARNESS_EUROSAT, then an archive fetched into the cache."""
    if data:
        return Path(data).expanduser()
    if os.environ.get(paths.ENV_DATA):
        return Path(os.environ[paths.ENV_DATA]).expanduser()
    from harness.fetch import cached_archives

    found = cached_archives()
    if found:
        return found[0]
    raise DataError(
        "no EuroSAT data: pass --data PATH, set "
        f"{paths.ENV_DATA}=PATH, or run `harness data fetch` to download the official archive"
    )


def _decoder_id() -> str:
    import PIL

    return f"pillow-{PIL.__version__}"


def _cache_path(digest: str) -> Path:
    return paths.cache_dir() / "decoded" / f"eurosat-{digest[:16]}-{_decoder_id()}-v{CACHE_FORMAT}"


def load(data: str | os.PathLike | None = None, *, use_cache: bool = True) -> EuroSAT:
    """Decoded images of the archive at `data` (see resolve_source)."""
    source = resolve_source(data)
    digest = _remembered_digest(source) if use_cache else None
    if digest is not None:
        cached = _read_cache(_cache_path(digest), digest)
        if cached is not None:
            return EuroSAT(*cached, digest, str(source))
    with eurosat.open_archive(source) as archive:
        digest = eurosat.content_digest(archive)
        if use_cache:
            _remember_digest(source, digest)
            cached = _read_cache(_cache_path(digest), digest)
            if cached is not None:
                return EuroSAT(*cached, digest, str(source))
        images, labels, names = _decode_all(archive)
    if use_cache:
        _write_cache(_cache_path(digest), digest, images, labels, names)
    return EuroSAT(images, labels, names, digest, str(source))


# Hashing every image of a zip takes about 2 s, longer than loading the decoded
# cache. For a zip file (never a folder, whose mtime does not follow its
# files) the digest is remembered under the file's absolute path, size,
# mtime and inode; any change to the file changes that key.


def _file_identity(source: Path) -> str | None:
    if not source.is_file():
        return None
    st = source.stat()
    return f"{source.resolve()}|{st.st_size}|{st.st_mtime_ns}|{st.st_ino}"


def _memo_path() -> Path:
    return paths.cache_dir() / "decoded" / "digests.json"


def _remembered_digest(source: Path) -> str | None:
    identity = _file_identity(source)
    if identity is None:
        return None
    try:
        return json.loads(_memo_path().read_text()).get(identity)
    except (OSError, ValueError):
        return None


def _remember_digest(source: Path, digest: str) -> None:
    identity = _file_identity(source)
    if identity is None:
        return
    try:
        memo = json.loads(_memo_path().read_text())
    except (OSError, ValueError):
        memo = {}
    memo[identity] = digest
    atomicio.write_json(_memo_path(), memo)


def _decode_all(archive: eurosat.Archive) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    count = len(archive.members)
    images = np.empty((count, *eurosat.IMAGE_SHAPE), dtype=np.uint8)
    labels = np.empty(count, dtype=np.int32)
    names = []
    for i, (member, data) in enumerate(archive.iter_bytes()):
        try:
            array, _mode = eurosat.decode_jpeg(data)
        except Exception as exc:
            raise DataError(f"{archive.path}: {member.canonical} does not decode ({type(exc).__name__}); "
                            "run `harness data verify` for a full report") from None
        if array.shape != eurosat.IMAGE_SHAPE:
            raise DataError(f"{archive.path}: {member.canonical} is {array.shape[1]}x{array.shape[0]}, "
                            "expected 64x64; run `harness data verify` for a full report")
        images[i] = array
        labels[i] = eurosat.CLASSES.index(member.cls)
        names.append(member.canonical)
    return images, labels, np.array(names)


def _read_cache(cache: Path, digest: str):
    meta_path = cache / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
        if meta.get("digest") != digest or meta.get("decoder") != _decoder_id():
            return None
        images = np.load(cache / "images.npy", allow_pickle=False)
        labels = np.load(cache / "labels.npy", allow_pickle=False)
        names = np.load(cache / "names.npy", allow_pickle=False)
    except FileNotFoundError:
        return None  # not cached yet
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        return _unusable(cache, f"{type(exc).__name__}: {exc}")
    if len(images) != meta.get("count") or len(labels) != len(images) or len(names) != len(images):
        return _unusable(cache, "its arrays do not have the recorded count")
    return images, labels, names


def _unusable(cache: Path, reason: str) -> None:
    """The cache rule (harness.cachefile): one warning, delete, and the caller decodes again and rewrites."""
    from harness.cachefile import remove

    log.warning("decoded-image cache %s is unusable (%s); deleting it and decoding again", cache, reason)
    remove(cache)
    return None


def _write_cache(cache: Path, digest: str, images, labels, names) -> None:
    # meta.json is written last: a cache without it (or with another digest) is ignored.
    atomicio.write_npy(cache / "images.npy", images)
    atomicio.write_npy(cache / "labels.npy", labels)
    atomicio.write_npy(cache / "names.npy", names)
    atomicio.write_json(cache / "meta.json", {"digest": digest, "decoder": _decoder_id(), "count": len(images)})


# ---------------------------------------------------------------------------
# Splits


SPLITS = ("train", "val", "test", "all")


def split_indices(labels: np.ndarray, split: str, *, seed: int, fractions=(0.8, 0.1, 0.1)) -> np.ndarray:
    """Indices of `split`, stratified by class, from a permutation fixed by the
    split seed alone (never the run seed), so every run of every variant trains
    and evaluates on the same images.

    "all" is every image, the paper's protocol (it trained on everything).
    Indices within a split are ordered by class, then by that permutation, so
    a prefix of each class's part (see `subset`) is a nested random subset.
    """
    if split not in SPLITS:
        raise DataError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    if split == "all":
        return np.arange(len(labels))
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise DataError(f"split fractions {fractions} must be non-negative and sum to 1")
    which = ("train", "val", "test").index(split)
    chosen = []
    for cls in range(eurosat.NUM_CLASSES):
        members = np.flatnonzero(labels == cls)
        order = np.random.default_rng([seed, cls]).permutation(len(members))
        bounds = np.round(np.cumsum((0.0,) + tuple(fractions)) * len(members)).astype(int)
        chosen.append(members[order[bounds[which]:bounds[which + 1]]])
    return np.concatenate(chosen)


def subset(indices: np.ndarray, labels: np.ndarray, *, fraction: float = 1.0, per_class: int = 0) -> np.ndarray:
    """The first `fraction` (or the first `per_class`) of each class's indices."""
    kept = []
    for cls in range(eurosat.NUM_CLASSES):
        part = indices[labels[indices] == cls]
        take = per_class if per_class else int(round(len(part) * fraction))
        kept.append(part[: max(1, take)] if len(part) else part)
    return np.concatenate(kept)


def training_indices(ds: EuroSAT, data) -> np.ndarray:
    """The images a run trains on, under its data config (split, fraction, per_class)."""
    split = "all" if data.split == "all" else "train"
    idx = split_indices(ds.labels, split, seed=data.split_seed)
    return subset(idx, ds.labels, fraction=data.fraction, per_class=data.per_class)
