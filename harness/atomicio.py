"""Atomic file writes and an exclusive run lock.

A reader (or a resumed run) must see either the old file or the new one, never
half of one: every writer goes through a temporary file in the same folder,
fsync, then os.replace.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator


def _read_umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; read once, at import, before any thread starts
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _write_via_temp(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file 0600; a result file is given the mode any new file gets (0666 less the umask), so
        # a shared results folder stays readable to the colleagues the umask allows.
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def is_temporary(name: str) -> bool:
    """Whether a file or folder name is one these writers put beside their target while writing (.NAME.*.tmp):
    renamed or removed when the write ends, left behind only by a killed writer, never a result."""
    return name.startswith(".") and name.endswith(".tmp")


def write_bytes(path: Path, data: bytes) -> None:
    _write_via_temp(path, lambda handle: handle.write(data))


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_npz(path: Path, **arrays: Any) -> None:
    import numpy as np

    _write_via_temp(path, lambda handle: np.savez(handle, **arrays))


def write_npz_streamed(path: Path, name: str, shape: tuple[int, ...], dtype: Any, chunks: Iterable[Any],
                       **small: Any) -> None:
    """Atomically write an .npz whose array `name` arrives in `chunks` along its first axis, so that a large
    array never sits in memory whole (np.savez needs it whole); the `small` arrays follow it. np.load reads the
    file as one np.savez wrote. The chunks must add up to exactly `shape`: anything else leaves no file."""
    import zipfile

    import numpy as np

    dtype, shape = np.dtype(dtype), tuple(int(d) for d in shape)

    def write(handle) -> None:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array_header_1_0(member, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                             "fortran_order": False, "shape": shape})
                rows = 0
                for chunk in chunks:
                    chunk = np.ascontiguousarray(chunk, dtype=dtype)
                    if chunk.shape[1:] != shape[1:] or rows + len(chunk) > shape[0]:
                        raise ValueError(f"{path}: a chunk of shape {chunk.shape} does not fit {name} {shape} "
                                         f"after {rows} rows")
                    member.write(chunk.tobytes())
                    rows += len(chunk)
                if rows != shape[0]:
                    raise ValueError(f"{path}: {name} got {rows} rows, declared {shape[0]}")
            for key, value in small.items():
                with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)

    _write_via_temp(path, write)


def write_npy(path: Path, array: Any) -> None:
    import numpy as np

    _write_via_temp(path, lambda handle: np.save(handle, array, allow_pickle=False))


def write_with(path: Path, writer: Callable[[Path], None]) -> None:
    """Atomically produce `path` with a writer that insists on a file name
    (Keras's model.save, PIL with a format guessed from the suffix)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        tmp = tmp_dir / path.name
        writer(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            for leftover in tmp_dir.iterdir():
                leftover.unlink()
            tmp_dir.rmdir()


class LockHeld(Exception):
    """Another process holds the lock; carries that process's pid if known."""


def lock_holder(path: Path) -> str | None:
    """The pid written by the process holding `exclusive_lock(path)`, or None if no process holds it. A read-only
    probe: it takes the lock for an instant when free but never writes the file, so a process that takes the lock
    right then is turned away for at most that instant and never sees the prober's pid."""
    try:
        handle = open(path)
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "unknown"
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return None


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an flock on `path` for the duration of the block.

    The kernel drops the lock when the holder dies (even by SIGKILL), so a
    crashed run never leaves a stale lock behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            raise LockHeld(holder or "unknown") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


@contextlib.contextmanager
def waiting_lock(path: Path) -> Iterator[None]:
    """Hold an flock on `path`, waiting for any other holder: for short read-change-write sections that two
    processes may enter at once (never for a whole run, which `exclusive_lock` refuses to share)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield
