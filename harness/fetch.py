"""`harness data fetch`: download an official EuroSAT RGB archive and verify it.

The archive lands in the cache only after its checksum matched, so anything
found there by `cached_archives` is a verified official file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from harness import paths
from harness.errors import DataError


@dataclass(frozen=True)
class Download:
    """One published archive and the mirrors that serve the same bytes."""

    filename: str
    urls: tuple[str, ...]
    algorithm: str  # "sha256" or "md5": whatever the publisher gives
    checksum: str
    size: int | None = None


# From shared/data/README.md: the official archives and their published checksums.
ARCHIVES: dict[str, tuple[Download, ...]] = {
    "official": (
        Download(
            "EuroSAT.zip",
            ("http://madm.dfki.de/files/sentinel/EuroSAT.zip",),
            "sha256",
            "8ebea626349354c5328b142b96d0430e647051f26efc2dc974c843f25ecf70bd",
            94_280_567,
        ),
        Download(
            "EuroSAT.zip",
            (
                "https://huggingface.co/datasets/torchgeo/eurosat/resolve/"
                "c877bcd43f099cd0196738f714544e355477f3fd/EuroSAT.zip",
            ),
            "md5",
            "c8fa014336c82ac7804f0398fcb19387",
        ),
    ),
    "zenodo": (
        Download(
            "EuroSAT_RGB.zip",
            ("https://zenodo.org/records/7711810/files/EuroSAT_RGB.zip",),
            "md5",
            "f46e308c4d50d4bf32fedad2d3d62f3b",
        ),
    ),
}
ARCHIVE_NAMES = ("EuroSAT.zip", "EuroSAT_RGB.zip")


def cached_archives() -> list[Path]:
    """Verified archives previously fetched into the cache."""
    folder = paths.data_cache_dir()
    return [folder / name for name in ARCHIVE_NAMES if (folder / name).is_file()]


def file_checksum(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(source: str = "official", *, dest_dir: Path | None = None, timeout: float = 60.0,
          candidates: tuple[Download, ...] | None = None, progress: bool = True) -> Path:
    """Download the first mirror of `source` that answers with the right bytes.

    Returns the archive's path in the cache. A file already there with the
    right checksum is reused. A checksum mismatch is never kept.
    """
    if candidates is None:
        if source not in ARCHIVES:
            raise DataError(f"unknown archive {source!r}; choose one of {', '.join(ARCHIVES)}")
        candidates = ARCHIVES[source]
    dest_dir = Path(dest_dir) if dest_dir else paths.data_cache_dir()
    failures = []
    for download in candidates:
        target = dest_dir / download.filename
        if target.is_file() and file_checksum(target, download.algorithm) == download.checksum:
            return target
        for url in download.urls:
            try:
                _download(url, target, download, timeout=timeout, progress=progress)
                return target
            except DataError as exc:
                failures.append(str(exc))
    manual = candidates[0].urls[0]
    raise DataError(
        "could not fetch EuroSAT: " + "; ".join(failures)
        + f". To supply it by hand, download {manual} elsewhere and pass --data PATH "
        f"or set {paths.ENV_DATA}=PATH"
    )


def _download(url: str, target: Path, download: Download, *, timeout: float, progress: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.new(download.algorithm)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                total = int(response.headers.get("Content-Length") or 0) or download.size
                bar = _bar(total, url, progress)
                while block := response.read(1 << 20):
                    out.write(block)
                    digest.update(block)
                    bar.update(len(block))
                bar.close()
                out.flush()
                os.fsync(out.fileno())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DataError(f"{url}: {reason}") from None
        if digest.hexdigest() != download.checksum:
            raise DataError(
                f"{url}: {download.algorithm} {digest.hexdigest()} does not match the published "
                f"{download.checksum} (file discarded)"
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _bar(total: int | None, url: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1], disable=not enabled)
