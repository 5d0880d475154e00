"""Reading the tensors and module tree of a TorchScript archive without torch.

A TorchScript file is a zip: `<name>/data.pkl` pickles the module tree
(objects of classes named `__torch__.<module>.<Class>`, their attributes,
and tensors that point at raw little-endian storages `<name>/data/<key>`).
A restricted unpickler that knows exactly the few globals such a file uses
is enough to recover every weight and hyper-parameter; anything else in the
pickle is refused, so an untrusted file cannot run code.
"""

from __future__ import annotations

import ast
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


@dataclass
class ScriptObject:
    """One scripted module: its class name and its attributes, in pickle order."""

    type_name: str
    attrs: dict[str, Any] = field(default_factory=dict)
    # `name : Final[...] = value` constants of the class, from its code file
    # (pooling sizes live there, not in the pickle).
    constants: dict[str, Any] = field(default_factory=dict)

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"{self.type_name}: unexpected state {type(state).__name__}")
        self.attrs = dict(state)

    @property
    def class_name(self) -> str:
        return self.type_name.rsplit(".", 1)[-1]

    def children(self) -> list[tuple[str, "ScriptObject"]]:
        return [(k, v) for k, v in self.attrs.items() if isinstance(v, ScriptObject)]

    def __getitem__(self, key: str) -> Any:
        return self.attrs[key]


def _object_class(type_name: str):
    class _Cls:
        def __new__(cls, *args, **kwargs):
            return ScriptObject(type_name)

    return _Cls


@dataclass(frozen=True)
class _StorageType:
    dtype: Any


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    array = storage
    size, stride = tuple(size), tuple(stride)
    if not size:
        return np.array(array[offset])
    itemsize = array.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(array[offset:], shape=size, strides=[s * itemsize for s in stride])
    return np.array(view)  # own the memory, C-contiguous


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self.archive, self.prefix = archive, prefix
        self.storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str):
        if module.startswith("__torch__"):
            return _object_class(f"{module}.{name}")
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return _StorageType(_DTYPES[name])
        if module == "torch.jit._pickle" and name in ("build_intlist", "build_doublelist", "build_boollist",
                                                      "build_tensorlist", "build_genericlist"):
            return list
        if module == "torch.jit._pickle" and name == "restore_type_tag":
            return lambda value, _type_str: value
        if module == "collections" and name == "OrderedDict":
            import collections

            return collections.OrderedDict
        raise pickle.UnpicklingError(f"refusing global {module}.{name}")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, numel = pid
        if kind != "storage" or not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        if key not in self.storages:
            raw = self.archive.read(f"{self.prefix}data/{key}")
            self.storages[key] = np.frombuffer(raw, dtype=storage_type.dtype, count=numel)
        return self.storages[key]


def load(path: Path | str) -> ScriptObject:
    """The root module of a TorchScript file, with tensors as numpy arrays."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            pkl = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
            if not pkl:
                raise HarnessError(f"{path}: not a TorchScript archive (no <name>/data.pkl)")
            prefix = pkl[0][: -len("data.pkl")]
            with archive.open(pkl[0]) as handle:
                root = _Unpickler(handle, archive, prefix).load()
    except zipfile.BadZipFile:
        raise HarnessError(f"{path}: not a TorchScript archive (not a zip)") from None
    except (pickle.UnpicklingError, KeyError, ValueError, EOFError) as exc:
        raise HarnessError(f"{path}: unreadable TorchScript archive ({exc})") from None
    if not isinstance(root, ScriptObject):
        raise HarnessError(f"{path}: TorchScript root is {type(root).__name__}, not a module")
    with zipfile.ZipFile(path) as archive:
        constants = _class_constants(archive, prefix)
    _attach_constants(root, constants)
    return root


_CLASS = re.compile(r"^class (\w+)\(Module\):")
_FINAL = re.compile(r"^\s+(\w+) : Final\[[^\]]+\] = (.+)$")


def _class_constants(archive: zipfile.ZipFile, prefix: str) -> dict[str, dict[str, Any]]:
    """{"__torch__.a.b.Class": {"kernel_size": 3, ...}} from the archive's code files."""
    out: dict[str, dict[str, Any]] = {}
    for name in archive.namelist():
        if not (name.startswith(prefix + "code/") and name.endswith(".py")):
            continue
        module = name[len(prefix + "code/"):-3].replace("/", ".")
        current = None
        for line in archive.read(name).decode("utf-8", "replace").splitlines():
            if m := _CLASS.match(line):
                current = out.setdefault(f"{module}.{m.group(1)}", {})
            elif current is not None and (m := _FINAL.match(line)):
                try:
                    current[m.group(1)] = ast.literal_eval(m.group(2))
                except (ValueError, SyntaxError):
                    current[m.group(1)] = m.group(2)
    return out


def _attach_constants(obj: ScriptObject, constants: dict[str, dict[str, Any]]) -> None:
    obj.constants = constants.get(obj.type_name, {})
    for _, child in obj.children():
        _attach_constants(child, constants)
