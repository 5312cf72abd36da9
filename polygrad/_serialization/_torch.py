"""torch's checkpoint format (``torch.save``'s zip): writing it, and reading it without trust.

A torch checkpoint is a zip whose members sit in one folder (``archive/``): ``data.pkl``, a
pickle of the saved object in which every tensor is a call of ``torch._utils._rebuild_tensor_v2``
on a storage named by a persistent id ``("storage", torch.FloatStorage, "0", "cpu", numel)``,
and ``data/0``, ``data/1`` ... with each storage's raw little-endian bytes.

Reading unpickles with a restricted ``find_class``: only the globals a state dict needs (the
tensor rebuild functions, storage types, ``OrderedDict``, torch dtypes, devices and sizes) and
those allow-listed with ``polygrad.serialization.add_safe_globals`` are resolved, and nothing is
imported, torch included; any other global is a ``Bad`` naming it. Storage members are checked
against their declared sizes, and every tensor's offset, shape and strides against its storage,
before any array is allocated.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import zipfile
from typing import Any, BinaryIO

import numpy as np

from .. import _devices, _dtypes
from .._tensor import Tensor
from ._format import Bad

#: torch's storage class per dtype name (``torch.FloatStorage`` holds float32 ...)
STORAGES = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
    "bfloat16": "BFloat16Storage", "int64": "LongStorage", "int32": "IntStorage",
    "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage", "bool": "BoolStorage",
    "complex64": "ComplexFloatStorage", "complex128": "ComplexDoubleStorage",
}  # fmt: skip
_STORAGE_DTYPE = {v: k for k, v in STORAGES.items()}
_MAX_NDIM = 64

#: classes and functions allow-listed for weights-only loading, by "module.qualname"
SAFE_GLOBALS: dict[str, Any] = {}
#: polygrad.nn.Parameter, registered by polygrad/__init__ (this core module imports no nn)
PARAMETER: list[type] = []


def global_name(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


# -- writing ----------------------------------------------------------------------------------
class _TorchGlobal:
    """Stands for torch's global ``module.name`` in a pickle, without importing torch."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:  # pickle wants reduce functions to be callable
        raise TypeError(f"{self.module}.{self.name} is written to the file, not called")


_REBUILD_TENSOR = _TorchGlobal("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _TorchGlobal("torch._utils", "_rebuild_parameter")
_ORDERED_DICT = collections.OrderedDict
_TORCH_DEVICE = _TorchGlobal("torch", "device")


class _Pickler(pickle._Pickler):  # the Python pickler: it lets globals be written by name
    def __init__(self, file: BinaryIO, storages: list) -> None:
        super().__init__(file, protocol=2)
        self.storages = storages
        self._globals: dict[tuple[str, str], _TorchGlobal] = {}

    def _torch_global(self, module: str, name: str) -> _TorchGlobal:
        return self._globals.setdefault((module, name), _TorchGlobal(module, name))

    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if isinstance(obj, _dtypes.DType):  # written as torch writes dtypes: torch.float32
            obj = self._torch_global("torch", obj.name)
        if isinstance(obj, _TorchGlobal):
            memo = self.memo.get(id(obj))
            if memo is not None:
                self.write(self.get(memo[0]))
                return
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            self.memoize(obj)
            return
        super().save(obj.item() if isinstance(obj, np.generic) else obj, save_persistent_id)

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _StorageRef):
            return ("storage", self._torch_global("torch", obj.kind), obj.key, "cpu", obj.numel)
        return None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        if isinstance(obj, _devices.device):
            return (_TORCH_DEVICE, (str(obj),))
        return NotImplemented

    def _reduce_tensor(self, t: Tensor) -> tuple:
        if t.dtype.name not in STORAGES:
            raise TypeError(
                f"polygrad.save cannot store a {t.dtype.name} tensor in torch's format (torch "
                f"has no storage for it); convert it, or save in polygrad's format"
            )
        host = np.array(t.numpy(), order="C")
        ref = _StorageRef(STORAGES[t.dtype.name], str(len(self.storages)), host.size)
        self.storages.append(host)
        shape = tuple(int(n) for n in host.shape)
        strides = (
            tuple(int(s) // host.itemsize for s in host.strides)
            if host.size
            else (_contiguous_strides(shape))
        )
        hooks = _ORDERED_DICT()
        rebuilt = (_REBUILD_TENSOR, (ref, 0, shape, strides, False, hooks))
        if PARAMETER and isinstance(t, PARAMETER[0]):
            return (_REBUILD_PARAMETER, (_Rebuilt(rebuilt), bool(t.requires_grad), hooks))
        if t.requires_grad:
            rebuilt = (_REBUILD_TENSOR, (ref, 0, shape, strides, True, hooks))
        return rebuilt


class _Rebuilt:
    """A reduce tuple to be pickled as the object it builds (a tensor inside a Parameter)."""

    def __init__(self, reduce: tuple) -> None:
        self.reduce = reduce

    def __reduce__(self) -> tuple:
        return self.reduce


class _StorageRef:
    def __init__(self, kind: str, key: str, numel: int) -> None:
        self.kind, self.key, self.numel = kind, key, numel


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def write_torch(f: BinaryIO, obj: Any) -> None:
    """Write ``obj`` to the open binary file ``f`` in torch's zip format."""
    pkl, storages = io.BytesIO(), []
    _Pickler(pkl, storages).dump(obj)
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as z:
        members = [("data.pkl", pkl.getvalue()), (".format_version", b"1")]
        members += [(".storage_alignment", b"64"), ("byteorder", b"little")]
        members += [
            (f"data/{i}", memoryview(s.reshape(-1).view(np.uint8))) for i, s in enumerate(storages)
        ]
        members += [("version", b"3\n")]
        for name, data in members:
            info = zipfile.ZipInfo(f"archive/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, bytes(data))


# -- reading ----------------------------------------------------------------------------------
class _StorageType:
    """What ``torch.FloatStorage`` and its kin unpickle to: just the dtype they hold."""

    def __init__(self, dtype: str) -> None:
        self.dtype = dtype


_SAFE_BUILTINS = {"set": set, "frozenset": frozenset, "complex": complex, "slice": slice}


def _latin1(text: Any, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes objects, and nothing else."""
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise Bad("is not a checkpoint polygrad loads (_codecs.encode with unexpected arguments)")
    return text.encode("latin1")


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, reader: TorchReader, weights_only: bool) -> None:
        super().__init__(file, encoding="utf-8")
        self.reader, self.weights_only = reader, weights_only

    def find_class(self, module: str, name: str) -> Any:
        if module in ("__builtin__", "copy_reg"):  # Python 2 names, which protocol 2 writes
            module = {"__builtin__": "builtins", "copy_reg": "copyreg"}[module]
        full = f"{module}.{name}"
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return self.reader.rebuild_tensor
        if full == "torch._utils._rebuild_parameter":
            return self.reader.rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPE:
            return _StorageType(_STORAGE_DTYPE[name])
        if module == "torch" and (name in _dtypes.BY_NAME or name in _dtypes.HALF):
            return _dtypes.to_dtype(name)
        if module == "torch" and name in ("long", "int", "float", "double", "half", "bool"):
            return _dtypes.to_dtype(
                {
                    "long": "int64",
                    "int": "int32",
                    "float": "float32",
                    "double": "float64",
                    "half": "float16",
                }.get(name, name)
            )
        if full in ("torch.device", "polygrad._devices.device"):
            return _devices.device
        if full == "torch.Size":
            return tuple
        if full in ("collections.OrderedDict", "builtins.dict"):
            return collections.OrderedDict if name == "OrderedDict" else dict
        if full == "polygrad._dtypes.to_dtype":
            return _dtypes.to_dtype
        if module == "builtins" and name in _SAFE_BUILTINS:
            return _SAFE_BUILTINS[name]
        if full == "_codecs.encode":
            return _latin1
        if full in SAFE_GLOBALS:
            return SAFE_GLOBALS[full]
        if self.weights_only:
            raise Bad(
                f"holds the global {full}, which weights_only loading does not allow; if you "
                f"trust the file, allow it with polygrad.serialization.add_safe_globals([{name}]) "
                "or polygrad.serialization.safe_globals([...]), or load with weights_only=False"
            )
        if module.split(".")[0] == "torch":
            raise Bad(f"holds the torch object {full}, which polygrad cannot rebuild")
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        return self.reader.storage(pid)


class TorchReader:
    """Reads one torch checkpoint (a zip already opened and checked by the caller)."""

    def __init__(self, z: zipfile.ZipFile, prefix: str, place: Any) -> None:
        self.z, self.prefix, self.place = z, prefix, place
        self.storages: dict[str, tuple[str, np.ndarray, str]] = {}

    def load(self, weights_only: bool) -> Any:
        data = self.z.read(f"{self.prefix}data.pkl")
        return _Unpickler(io.BytesIO(data), self, weights_only).load()

    def storage(self, pid: Any) -> tuple[str, np.ndarray, str]:
        if (
            type(pid) is not tuple
            or len(pid) != 5
            or pid[0] != "storage"
            or not isinstance(pid[1], _StorageType)
            or type(pid[2]) is not str
            or type(pid[3]) is not str
            or type(pid[4]) is not int
            or pid[4] < 0
        ):
            raise Bad(f"is corrupt: its pickle names a storage as {pid!r}")
        _, kind, key, location, numel = pid
        if key in self.storages:
            dtype, array, _ = self.storages[key]
            if dtype != kind.dtype or array.size != numel:
                raise Bad(f"is corrupt: storage {key} is declared twice, differently")
            return self.storages[key]
        name = f"{self.prefix}data/{key}"
        try:
            info = self.z.getinfo(name)
        except KeyError:
            raise Bad(f"is corrupt: its pickle refers to a missing storage {key!r}") from None
        itemsize = 2 if kind.dtype in ("float16", "bfloat16") else np.dtype(kind.dtype).itemsize
        if info.file_size != numel * itemsize:
            raise Bad(
                f"is corrupt: storage {key} holds {info.file_size} bytes, its pickle declares "
                f"{numel} elements of {kind.dtype} ({numel * itemsize} bytes)"
            )
        if kind.dtype in _dtypes.HALF:
            raise Bad(
                f"holds a {kind.dtype} tensor; polygrad supports float32 and float64 tensors: "
                "convert the checkpoint in torch first (t.float())"
            )
        raw = self.z.read(name)  # zipfile checks the CRC-32
        array = np.frombuffer(raw, dtype=np.dtype(kind.dtype).newbyteorder("<"))
        self.storages[key] = (kind.dtype, array, location)
        return self.storages[key]

    def rebuild_tensor(
        self,
        storage: Any,
        offset: Any,
        size: Any,
        stride: Any,
        requires_grad: Any = False,
        hooks: Any = None,
        metadata: Any = None,
    ) -> Tensor:
        if type(storage) is not tuple or len(storage) != 3 or type(storage[0]) is not str:
            raise Bad("is corrupt: a tensor is rebuilt from something that is not a storage")
        dtype, flat, location = storage
        if type(size) is not tuple or type(stride) is not tuple:
            raise Bad(f"is corrupt: a tensor has size {size!r} and stride {stride!r}")
        ints = (*size, *stride, offset)
        if any(type(n) is not int or n < 0 for n in ints) or len(size) != len(stride):
            raise Bad(f"is corrupt: a tensor has size {size}, stride {stride}, offset {offset!r}")
        if len(size) > _MAX_NDIM:
            raise Bad(f"is corrupt: a tensor has {len(size)} dimensions")
        count = math.prod(size)
        if count:
            last = offset + sum((n - 1) * s for n, s in zip(size, stride))
            if last >= flat.size:
                raise Bad(
                    f"is corrupt: a tensor of size {size}, stride {stride} and offset {offset} "
                    f"reaches element {last} of a storage of {flat.size}"
                )
            if count > flat.size:  # an expanded or overlapping view: memory would explode
                raise Bad(
                    f"holds a tensor of size {size} viewing only {flat.size} stored elements "
                    "(an expanded view); call .contiguous() on it before saving"
                )
        if type(requires_grad) is not bool or (
            requires_grad and not _dtypes.BY_NAME[dtype].is_floating_point
        ):
            raise Bad(f"is corrupt: a {dtype} tensor has requires_grad {requires_grad!r}")
        if hooks not in (None, {}) or metadata not in (None, {}):
            raise Bad("holds a tensor with backward hooks or metadata, which polygrad cannot load")
        item = flat.itemsize
        view = (
            np.lib.stride_tricks.as_strided(
                flat[offset:] if count else flat[:0], size, tuple(s * item for s in stride)
            )
            if count
            else np.empty(size, dtype=flat.dtype)
        )
        t = self.place(np.array(view, order="C"), location)
        return t.requires_grad_(True) if requires_grad else t

    def rebuild_parameter(self, data: Any, requires_grad: Any, hooks: Any = None) -> Any:
        if not isinstance(data, Tensor) or type(requires_grad) is not bool:
            raise Bad("is corrupt: a parameter is rebuilt from something that is not a tensor")
        if not PARAMETER:
            return data.requires_grad_(requires_grad)
        return PARAMETER[0](data, requires_grad=requires_grad)


def torch_prefix(names: list[str]) -> str | None:
    """The folder (``archive/``) of a torch checkpoint's members, or None if it is not one."""
    if not names:
        return None
    prefix = names[0].split("/", 1)[0] + "/"
    if f"{prefix}data.pkl" not in names or not all(n.startswith(prefix) for n in names):
        return None
    return prefix
