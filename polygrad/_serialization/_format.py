"""The checkpoint format: the manifest tree (Python objects <-> JSON) and ``.npy`` headers."""

from __future__ import annotations

import ast
import struct
from typing import Any

import numpy as np

from .. import _dtypes
from .._tensor import Tensor

FORMAT = "polygrad-checkpoint"
VERSION = 2  # 1: no "arrays" list in the manifest, members deflated (still loaded)
MANIFEST = "manifest.json"

#: dtypes a NumPy array in a checkpoint may have (tensors have polygrad's, a subset)
ARRAY_DTYPES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
)  # fmt: skip
_DESCR = {np.dtype(n).newbyteorder("<").str: n for n in ARRAY_DTYPES}  # '<f4' -> 'float32'
_TENSOR_DTYPES = frozenset(d.name for d in _dtypes.ALL)
CHUNK = 1 << 24  # bytes per read or write of array data
MAX_RATIO = 1032  # deflate cannot expand data more than about 1032 times
_MAX_NPY_HEADER = 4096  # 64 dimensions need under 1500 bytes
_MAX_NDIM = 64
UNSUPPORTED_FLAGS = 0x0001 | 0x0020 | 0x0040  # zip flag bits nothing here writes or reads


class CheckpointError(ValueError):
    """A file is not a polygrad checkpoint, is truncated or corrupt, or holds an unknown type."""


class Bad(Exception):
    """Internal: what is wrong with a file, before the path is added."""


# -- the manifest tree: Python objects <-> JSON ---------------------------------------------------
def encode(obj: Any, sources: list, where: str) -> Any:
    if obj is None or isinstance(obj, (bool, int, float, str, np.generic)):
        return _scalar(obj, where)
    if isinstance(obj, Tensor):
        sources.append(obj)
        return {"tensor": len(sources) - 1, "requires_grad": bool(obj.requires_grad)}
    if isinstance(obj, np.ndarray):
        if type(obj) is not np.ndarray or obj.dtype.name not in ARRAY_DTYPES:
            raise TypeError(
                f"polygrad.save cannot store {where}, a {type(obj).__name__} of dtype "
                f"{obj.dtype}: arrays must be plain NumPy arrays of dtype {', '.join(ARRAY_DTYPES)}"
            )
        sources.append(obj)
        return {"ndarray": len(sources) - 1}
    if isinstance(obj, dict):
        return {
            "dict": [
                [_encode_key(k, f"a key of {where}"), encode(v, sources, f"{where}[{k!r}]")]
                for k, v in obj.items()
            ]
        }
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [encode(v, sources, f"{where}[{i}]") for i, v in enumerate(obj)]}
    raise TypeError(
        f"polygrad.save cannot store {where}, a {type(obj).__name__}: checkpoints hold tensors, "
        "arrays, bools, ints, floats, strings, None, and dicts, lists and tuples of them"
    )


def _scalar(obj: Any, where: str) -> Any:
    value = obj.item() if isinstance(obj, np.generic) else obj
    for kind in (bool, int, float, str):  # subclasses (IntEnum, np.float64 ...) as their base
        if isinstance(value, kind):
            return kind(value)
    if value is None:
        return None
    raise TypeError(f"polygrad.save cannot store {where}, a {type(obj).__name__}")


def _encode_key(key: Any, where: str) -> Any:
    if isinstance(key, tuple):
        return {"tuple": [_encode_key(k, where) for k in key]}
    if key is None or isinstance(key, (bool, int, float, str, np.generic)):
        return _scalar(key, where)
    raise TypeError(
        f"polygrad.save cannot store {where}, a {type(key).__name__}: dict keys must be "
        "bools, ints, floats, strings, None or tuples of them"
    )


def check_tree(node: Any, arrays: list[tuple[str, tuple]], seen: set[int], key: bool) -> None:
    """Raise ``Bad`` unless ``node`` is a tree ``encode`` writes, using each array once."""
    if node is None or type(node) in (bool, int, float, str):
        return
    if type(node) is not dict or len(node) == 0:
        raise Bad(f"its manifest holds a {type(node).__name__} where an entry belongs")
    kind = next(iter(node))
    if kind in ("tensor", "ndarray") and not key:
        index = node[kind]
        if set(node) != ({"tensor", "requires_grad"} if kind == "tensor" else {"ndarray"}):
            raise Bad(f"its manifest has an entry with keys {sorted(node)}")
        if type(index) is not int or not 0 <= index < len(arrays) or index in seen:
            raise Bad(f"its manifest refers to array {index!r}, which is missing or used twice")
        seen.add(index)
        if kind == "tensor":
            dtype = arrays[index][0]
            if dtype not in _TENSOR_DTYPES:
                raise Bad(f"its manifest declares a tensor of dtype {dtype}")
            if type(node["requires_grad"]) is not bool:
                raise Bad("its manifest has a requires_grad that is not true or false")
            if node["requires_grad"] and not _dtypes.BY_NAME[dtype].is_floating_point:
                raise Bad(f"its manifest asks for a {dtype} tensor that requires grad")
        return
    if len(node) != 1 or kind not in (("tuple",) if key else ("dict", "list", "tuple")):
        raise Bad(f"its manifest has an entry with keys {sorted(node)}")
    items = node[kind]
    if type(items) is not list:
        raise Bad(f"its manifest has a {kind} entry that is not a list")
    if kind != "dict":
        for item in items:
            check_tree(item, arrays, seen, key)
        return
    keys = []
    for pair in items:
        if type(pair) is not list or len(pair) != 2:
            raise Bad("its manifest has a dict item that is not a [key, value] pair")
        check_tree(pair[0], arrays, seen, key=True)
        check_tree(pair[1], arrays, seen, key)
        keys.append(decode(pair[0], {}, None, None))
    if len(set(keys)) != len(keys):  # also catches 1 and True, which no dict holds both of
        raise Bad("its manifest has a dict with a repeated key")


def decode(node: Any, arrays: dict[int, np.ndarray], backend: Any, device: Any) -> Any:
    """The object ``node`` describes (checked by ``check_tree``), taking arrays from ``arrays``."""
    if type(node) is not dict:
        return node
    kind, items = next(iter(node.items()))
    if kind == "tensor":
        host = arrays.pop(items)  # dropped once on the backend: memory peaks at one array more
        with backend.on(device):
            data = backend.compat.asarray(host, device=device, copy=None)  # no copy on the host
        t = Tensor._wrap(data, backend.xp)
        return t.requires_grad_(True) if node["requires_grad"] else t
    if kind == "ndarray":
        return arrays.pop(items)
    if kind == "dict":
        return {
            decode(k, arrays, backend, device): decode(v, arrays, backend, device) for k, v in items
        }
    values = [decode(v, arrays, backend, device) for v in items]
    return values if kind == "list" else tuple(values)


# -- the .npy member format -----------------------------------------------------------------------
def npy_header(dtype: str, shape: tuple[int, ...]) -> bytes:
    """A version 1.0 ``.npy`` header, padded so the data starts 64-byte aligned, as NumPy does."""
    descr = np.dtype(dtype).newbyteorder("<").str
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple(shape)!r}, }}"
    text += " " * (-(10 + len(text) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def parse_npy_header(read: Any, limit: int, name: str) -> tuple[str, tuple[int, ...], int]:
    """(dtype name, shape, header length) of member ``name``; ``read(n)`` gives n bytes."""
    start = read(8)
    if start[:6] != b"\x93NUMPY" or start[6:] not in (b"\x01\x00", b"\x02\x00", b"\x03\x00"):
        raise Bad(f"is corrupt: {name} is not a .npy file of a known version")
    wide = start[6] > 1
    size = struct.unpack("<I" if wide else "<H", read(4 if wide else 2))[0]
    prefix = 12 if wide else 10
    if prefix + size > min(limit, _MAX_NPY_HEADER):
        raise Bad(f"is corrupt: {name} has a .npy header longer than the member")
    try:
        header = ast.literal_eval(read(size).decode("utf8" if start[6] == 3 else "latin1"))
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        header = None  # literal_eval evaluates literals only: no names, no calls
    if type(header) is not dict or set(header) != {"descr", "fortran_order", "shape"}:
        raise Bad(f"is corrupt: {name} has a malformed .npy header")
    descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
    if type(descr) is not str or descr not in _DESCR or fortran is not False:
        raise Bad(
            f"is corrupt: {name} has an unsupported .npy layout ({descr!r}, fortran {fortran})"
        )
    if not is_shape(shape, tuple):
        raise Bad(f"is corrupt: {name} has a malformed .npy shape {shape!r}")
    return _DESCR[descr], shape, prefix + size


def is_shape(shape: Any, kind: type) -> bool:
    return (
        type(shape) is kind
        and len(shape) <= _MAX_NDIM
        and all(type(n) is int and n >= 0 for n in shape)
    )
