"""One rule for every cache file: a file that fails to load, or whose stored key does not match, is deleted
and rebuilt with one log line; it is never used and never fatal.

A cache holds what can be recomputed (converted weights, real-image features,
the reference classifier, the augmentation metric's real-only baselines), so
a damaged or stale entry costs time, never a wrong number or a failed command. The decoded-image cache follows the same
rule in `harness.data.dataset`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Callable, TypeVar

log = logging.getLogger("harness")
T = TypeVar("T")


def key_digest(key: dict, length: int = 16) -> str:
    """The name of a cache entry: the sha256 of its key's canonical JSON, cut to `length` hex digits. The key is
    stored in the entry as well and compared on read, so a collision is rebuilt, never served."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:length]


class Stale(Exception):
    """Raised by a reader whose file loads but was made for another key."""


def load_or_build(path: Path, *, read: Callable[[Path], T], build: Callable[[], T],
                  write: Callable[[Path, T], None], what: str, extra: tuple[Path, ...] = ()) -> T:
    """read(path), or build() and write(path, value) when the file is missing, unreadable or stale.
    `extra` lists files that belong to the entry and go with it (e.g. a model's sidecar)."""
    if path.exists():
        try:
            return read(path)
        except Exception as exc:  # noqa: BLE001 - any failure to read a cache means "rebuild it"
            reason = str(exc) if isinstance(exc, Stale) else f"{type(exc).__name__}: {exc}"
            log.warning("%s cache %s is unusable (%s); deleting and rebuilding it", what, path, reason)
            for victim in (path, *extra):
                remove(victim)
    value = build()
    write(path, value)
    return value


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
