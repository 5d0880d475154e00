"""Reading EuroSAT RGB from any of its published layouts.

Accepted sources, all holding the same 27,000 original JPEGs:
- the official `EuroSAT.zip` (top folder `2750/`);
- a zip with top folder `EuroSAT_RGB/` (Zenodo, and the shared copy CI uses);
- the Kaggle-style layout with top folder `EuroSAT/`;
- an extracted folder: either the folder holding the 10 class folders, or its parent.

Every member is named canonically `EuroSAT_RGB/<Class>/<file>` whatever the
layout, so the content digest (sha256 of the sorted lines
"<sha256 of file>  <canonical path>\n", sorted by path) identifies the images themselves and
is the same for every layout. For the shared copy it equals the digest its
README publishes. Caches and run records are keyed by it.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from harness.errors import DataError

CLASS_COUNTS: dict[str, int] = {
    "AnnualCrop": 3000,
    "Forest": 3000,
    "HerbaceousVegetation": 3000,
    "Highway": 2500,
    "Industrial": 2500,
    "Pasture": 2000,
    "PermanentCrop": 2500,
    "Residential": 3000,
    "River": 2500,
    "SeaLake": 3000,
}
CLASSES: tuple[str, ...] = tuple(sorted(CLASS_COUNTS))
NUM_CLASSES = len(CLASSES)
IMAGE_SHAPE = (64, 64, 3)
TOP_FOLDERS = ("2750", "EuroSAT_RGB", "EuroSAT")
CANONICAL_TOP = "EuroSAT_RGB"
_NAME = re.compile(r"^(?P<cls>[A-Za-z]+)_(?P<n>\d+)\.jpe?g$", re.IGNORECASE)


@dataclass(frozen=True)
class Member:
    """One image file: its class, its canonical path and where to read it."""

    cls: str
    name: str
    locator: str  # path inside the zip, or an absolute file path

    @property
    def canonical(self) -> str:
        return f"{CANONICAL_TOP}/{self.cls}/{self.name}"

    @property
    def sort_key(self) -> tuple[str, int, str]:
        match = _NAME.match(self.name)
        return (self.cls, int(match.group("n")) if match else -1, self.name)


@dataclass
class Archive:
    """An opened EuroSAT source: its members in canonical order."""

    path: Path
    kind: str  # "zip" or "folder"
    members: list[Member]
    ignored: list[str] = field(default_factory=list)

    @property
    def foreign_folders(self) -> list[str]:
        """Folders beside the class folders (where a class folder would be) that are not EuroSAT classes."""
        found = set()
        for name in self.ignored:
            parts = Path(name).relative_to(self.path).parts if self.kind == "folder" else tuple(name.split("/"))
            prefix = parts[:-2]
            if len(parts) >= 2 and parts[-2] not in CLASS_COUNTS and parts[-2] not in TOP_FOLDERS and (
                    not prefix or (len(prefix) == 1 and prefix[0] in TOP_FOLDERS)):
                found.add("/".join(parts[:-1]))
        return sorted(found)

    def read(self, member: Member) -> bytes:
        if self.kind == "zip":
            return self._zip().read(member.locator)
        return Path(member.locator).read_bytes()

    def iter_bytes(self) -> Iterator[tuple[Member, bytes]]:
        for member in self.members:
            yield member, self.read(member)

    def _zip(self) -> zipfile.ZipFile:
        if not hasattr(self, "_zipfile"):
            self._zipfile = zipfile.ZipFile(self.path)
        return self._zipfile

    def close(self) -> None:
        if hasattr(self, "_zipfile"):
            self._zipfile.close()
            del self._zipfile

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _classify(parts: list[str]) -> tuple[str, str] | None:
    """(class, file name) for a path split into parts, or None if not an image
    of a known class under an accepted layout."""
    if len(parts) >= 2 and parts[-2] in CLASS_COUNTS and parts[-1].lower().endswith((".jpg", ".jpeg")):
        prefix = parts[:-2]
        if not prefix or (len(prefix) == 1 and prefix[0] in TOP_FOLDERS):
            return parts[-2], parts[-1]
    return None


def open_archive(path: Path | str) -> Archive:
    """Open a zip or a folder and list its EuroSAT images.

    Raises DataError naming the path when it does not exist, is not a zip or
    folder, or holds no EuroSAT class folders.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    members: list[Member] = []
    ignored: list[str] = []
    if path.is_dir():
        kind = "folder"
        roots = [path] + [path / top for top in TOP_FOLDERS if (path / top).is_dir()]
        for root in roots:
            for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in TOP_FOLDERS):
                for file in sorted(folder.iterdir()):
                    if folder.name in CLASS_COUNTS and file.is_file() and file.name.lower().endswith((".jpg", ".jpeg")):
                        members.append(Member(folder.name, file.name, str(file)))
                    else:
                        ignored.append(str(file))
    else:
        kind = "zip"
        try:
            with zipfile.ZipFile(path) as zf:
                names = [info.filename for info in zf.infolist() if not info.is_dir()]
        except zipfile.BadZipFile:
            raise DataError(f"{path}: not a zip archive (or a truncated one)") from None
        for name in names:
            found = _classify(name.split("/"))
            if found:
                members.append(Member(found[0], found[1], name))
            else:
                ignored.append(name)
    if not members:
        raise DataError(
            f"{path}: no EuroSAT images found; expected <Class>/<Class>_<n>.jpg under "
            f"{' or '.join(t + '/' for t in TOP_FOLDERS)} or at the top"
        )
    members.sort(key=lambda m: m.sort_key)
    canon = [m.canonical for m in members]
    if len(set(canon)) != len(canon):
        dup = next(c for c in canon if canon.count(c) > 1)
        raise DataError(f"{path}: {dup} appears twice (two layouts mixed in one source?)")
    return Archive(path=path, kind=kind, members=members, ignored=ignored)


def content_digest(archive: Archive) -> str:
    """sha256 over the lines "<sha256 of file>  <canonical path>\\n", sorted by path."""
    lines = sorted(
        (member.canonical, f"{hashlib.sha256(data).hexdigest()}  {member.canonical}\n")
        for member, data in archive.iter_bytes()
    )
    return hashlib.sha256("".join(line for _, line in lines).encode()).hexdigest()


def decode_jpeg(data: bytes):
    """Decode with Pillow (as clean-fid does): (uint8 HxWx3 array, original mode)."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        mode = image.mode
        array = np.asarray(image.convert("RGB") if mode != "RGB" else image, dtype=np.uint8)
    return array, mode


def verify(archive: Archive) -> list[str]:
    """Everything wrong with the archive as a list of one-line problems.

    Checks that there are the 10 class folders and no other folder beside
    them, the exact per-class counts, the file names
    `<Class>_1.jpg` .. `<Class>_<count>.jpg`, and that every image decodes as
    64x64 RGB. An empty list means the archive is complete.
    """
    problems: list[str] = [f"folder {name}/ is not one of the ten EuroSAT classes ({', '.join(CLASSES)})"
                           for name in archive.foreign_folders]
    by_class: dict[str, list[Member]] = {c: [] for c in CLASSES}
    for member in archive.members:
        by_class[member.cls].append(member)
    for cls in CLASSES:
        expected = CLASS_COUNTS[cls]
        got = by_class[cls]
        if not got:
            problems.append(f"class folder {cls}/ is missing")
            continue
        if len(got) != expected:
            problems.append(f"class {cls}: {len(got)} images, expected {expected}")
        names = {m.name for m in got}
        wanted = {f"{cls}_{i}.jpg" for i in range(1, expected + 1)}
        missing = sorted(wanted - names, key=lambda n: Member(cls, n, "").sort_key)
        extra = sorted(names - wanted)
        if missing:
            problems.append(f"class {cls}: missing {_few(missing)}")
        if extra:
            problems.append(f"class {cls}: unexpected files {_few(extra)}")
    for member, data in archive.iter_bytes():
        try:
            array, mode = decode_jpeg(data)
        except Exception as exc:  # Pillow raises many types for bad bytes
            problems.append(f"{member.canonical}: does not decode as an image ({type(exc).__name__})")
            continue
        if array.shape != IMAGE_SHAPE or mode != "RGB":
            problems.append(f"{member.canonical}: {mode} {array.shape[1]}x{array.shape[0]}, expected RGB 64x64")
    return problems


def _few(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
