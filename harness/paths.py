"""Where things live: the user cache, the results folder, the data archive.

Environment variables (each overrides the default beside it):
- HARNESS_CACHE    cache folder            (default: $XDG_CACHE_HOME/harness or ~/.cache/harness)
- HARNESS_EUROSAT  EuroSAT archive/folder  (default: the archive `harness data fetch` stored in the cache)
- HARNESS_RESULTS  results folder          (default: ./results)
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_CACHE = "HARNESS_CACHE"
ENV_DATA = "HARNESS_EUROSAT"
ENV_RESULTS = "HARNESS_RESULTS"


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "harness"


def data_cache_dir() -> Path:
    return cache_dir() / "data"


def results_dir() -> Path:
    return Path(os.environ.get(ENV_RESULTS) or "results")


def check_output_folder(path: Path | str, flag: str = "--out") -> Path:
    """`path` as a folder the harness may create or write into, or a one-line HarnessError naming it.
    Checked before any work starts, so a bad --out never costs a training run."""
    from harness.errors import HarnessError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise HarnessError(f"{flag} {path}: exists and is a file, not a folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise HarnessError(f"{flag} {path}: {existing} is a file, so the folder cannot be created")
    if not os.access(existing, os.W_OK | os.X_OK) or not _can_create_in(existing):
        raise HarnessError(f"{flag} {path}: {existing} is not writable")
    return path


def _can_create_in(folder: Path) -> bool:
    """Whether a file can really be made in `folder`: root passes every permission check (os.access) yet cannot
    write on a read-only mount or into /proc. The probe file is removed at once."""
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(prefix=".harness-probe-", dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return True
