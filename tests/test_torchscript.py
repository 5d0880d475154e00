"""The restricted TorchScript reader: reads weights, refuses anything else."""

from __future__ import annotations

import pickle
import struct
import zipfile

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.evaluate.fid import torchscript


def _archive(path, payload: bytes, files=None):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("m/data.pkl", payload)
        for name, data in (files or {}).items():
            zf.writestr(name, data)
    return path


def test_refuses_arbitrary_globals(tmp_path):
    class Evil:
        def __reduce__(self):
            import os

            return (os.system, ("echo pwned",))

    path = _archive(tmp_path / "evil.pt", pickle.dumps(Evil(), protocol=2))
    with pytest.raises(HarnessError, match="refusing global (posix|os).system"):
        torchscript.load(path)


def _op_str(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _op_int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def test_reads_objects_tensors_and_constants(tmp_path):
    """A pickle assembled opcode by opcode the way TorchScript writes one: a module
    object (GLOBAL + NEWOBJ + BUILD) whose state holds a tensor over a persistent storage."""
    storage_id = b"(" + _op_str("storage") + b"ctorch\nFloatStorage\n" + _op_str("0") + _op_str("cpu") \
        + _op_int(6) + b"tQ"
    tensor = (b"ctorch._utils\n_rebuild_tensor_v2\n(" + storage_id + _op_int(0) + b"(" + _op_int(2) + _op_int(3)
              + b"t(" + _op_int(3) + _op_int(1) + b"t\x89Nt" + b"R")
    payload = (b"\x80\x02c__torch__.net\nConv\n)\x81}(" + _op_str("weight") + tensor + _op_str("stride")
               + _op_int(2) + b"ub.")
    code = "class Conv(Module):\n  kernel_size : Final[int] = 3\n"
    raw = np.arange(6, dtype=np.float32).tobytes()
    path = _archive(tmp_path / "ok.pt", payload, {"m/data/0": raw, "m/code/__torch__/net.py": code})
    root = torchscript.load(path)
    assert root.type_name == "__torch__.net.Conv" and root["stride"] == 2
    np.testing.assert_array_equal(root["weight"], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert root.constants == {"kernel_size": 3}


def test_not_a_zip_and_no_pickle(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nope")
    with pytest.raises(HarnessError, match="not a TorchScript archive \\(not a zip\\)"):
        torchscript.load(bad)
    empty = tmp_path / "empty.pt"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("x/other.txt", "")
    with pytest.raises(HarnessError, match="no <name>/data.pkl"):
        torchscript.load(empty)
