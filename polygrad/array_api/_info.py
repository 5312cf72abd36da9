"""The standard's data-type functions (``finfo``, ``iinfo``, ``isdtype``, ``result_type``,
``can_cast``) and its inspection object (``__array_namespace_info__``).

Type promotion is the standard's lattice within a kind (bool, signed, unsigned, real and
complex floating). Across kinds, where the standard leaves the result to the library,
polygrad follows torch as its operators do: integers meet floats as the float dtype, and
signed meets unsigned as the smallest signed dtype that holds both.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import _backend, _dtypes
from .._dtypes import DType
from .._tensor import Tensor


class finfo_object(NamedTuple):  # noqa: N801 (the standard's name)
    """Machine limits of a floating-point dtype."""

    bits: int
    eps: float
    max: float
    min: float
    smallest_normal: float
    dtype: DType


class iinfo_object(NamedTuple):  # noqa: N801
    """Machine limits of an integer dtype."""

    bits: int
    max: int
    min: int
    dtype: DType


def _dtype_of(x: Any) -> DType:
    return x.dtype if isinstance(x, Tensor) else _dtypes.to_dtype(x)


def finfo(type: Any, /) -> finfo_object:  # noqa: A002 (the standard's name)
    """Limits of a float or complex dtype (of a tensor or a dtype); for complex, its parts'."""
    import numpy as np  # limits are facts about IEEE formats, the same on every backend

    d = _dtype_of(type)
    if d.kind not in ("float", "complex"):
        raise TypeError(f"finfo needs a floating-point dtype, not {d.name}; use iinfo")
    info = np.finfo(d.name)
    real = _dtypes.float32 if d.name in ("float32", "complex64") else _dtypes.float64
    return finfo_object(
        int(info.bits), float(info.eps), float(info.max), float(info.min),
        float(info.smallest_normal), real if d.kind == "complex" else d,
    )  # fmt: skip


def iinfo(type: Any, /) -> iinfo_object:  # noqa: A002
    """Limits of an integer dtype (of a tensor or a dtype)."""
    import numpy as np

    d = _dtype_of(type)
    if d.kind not in ("int", "uint"):
        raise TypeError(f"iinfo needs an integer dtype, not {d.name}; use finfo")
    info = np.iinfo(d.name)
    return iinfo_object(int(info.bits), int(info.max), int(info.min), d)


_KINDS = {
    "bool": ("bool",),
    "signed integer": ("int",),
    "unsigned integer": ("uint",),
    "integral": ("int", "uint"),
    "real floating": ("float",),
    "complex floating": ("complex",),
    "numeric": ("int", "uint", "float", "complex"),
}


def isdtype(dtype: Any, kind: Any) -> bool:
    """Whether ``dtype`` is of ``kind``: a dtype, one of the standard's kind names
    (``"bool"``, ``"signed integer"``, ``"unsigned integer"``, ``"integral"``,
    ``"real floating"``, ``"complex floating"``, ``"numeric"``), or a tuple of those."""
    d = _dtypes.to_dtype(dtype)
    if isinstance(kind, tuple):
        return any(isdtype(d, k) for k in kind)
    if isinstance(kind, str) and kind in _KINDS:
        return d.kind in _KINDS[kind]
    if isinstance(kind, str) and kind not in _dtypes.BY_NAME:
        raise ValueError(f"isdtype: unknown kind {kind!r}; kinds are {', '.join(_KINDS)}")
    return d is _dtypes.to_dtype(kind)


def _scalar_dtype(value: Any, other: DType) -> DType:
    """What a Python scalar becomes next to an array of dtype ``other`` (the standard's rule:
    the array's dtype when the kinds fit, torch's default dtypes when they do not)."""
    if isinstance(value, bool):
        return other
    if isinstance(value, int):
        return other if other.kind != "bool" else _dtypes.int64
    if isinstance(value, float):
        return other if other.kind in ("float", "complex") else _dtypes.default_float
    if isinstance(value, complex):
        if other.kind == "complex":
            return other
        return _dtypes.complex128 if other is _dtypes.float64 else _dtypes.complex64
    raise TypeError(f"result_type: {value!r} is not an array, a dtype or a Python scalar")


def result_type(*arrays_and_dtypes: Any) -> DType:
    """The dtype that combining the given tensors, dtypes and Python scalars gives."""
    dtypes = [
        _dtype_of(a)
        for a in arrays_and_dtypes
        if not isinstance(a, (bool, int, float, complex)) or isinstance(a, DType)
    ]
    if not dtypes:
        raise ValueError("result_type needs at least one array or dtype")
    out = dtypes[0]
    for d in dtypes[1:]:
        out = _dtypes.promote_types(out, d)
    for a in arrays_and_dtypes:
        if isinstance(a, (bool, int, float, complex)):
            out = _dtypes.promote_types(out, _scalar_dtype(a, out))
    return out


def can_cast(from_: Any, to: Any, /) -> bool:
    """Whether the standard's promotion rules allow a cast of ``from_`` to ``to`` (within a
    kind to as many or more bits; bool only to bool; real float to a complex that holds it)."""
    a, b = _dtype_of(from_), _dtypes.to_dtype(to)
    if a is b:
        return True
    if a.kind == "bool" or b.kind == "bool":
        return False
    if a.kind == "complex" or b.kind == "complex":
        return b.kind == "complex" and (a.bits if a.kind == "complex" else 2 * a.bits) <= b.bits
    if a.kind != b.kind:
        if a.kind == "uint" and b.kind == "int":
            return b.bits > a.bits
        return False
    return b.bits >= a.bits


class Info:
    """What ``__array_namespace_info__()`` returns: the active backend's capabilities,
    devices and dtypes, as polygrad reports them."""

    def __init__(self) -> None:
        self._backend = _backend.active()[0]

    def capabilities(self) -> dict[str, Any]:
        """Boolean indexing and data-dependent shapes are supported; at most 64 dimensions."""
        caps = dict(self._backend.compat.__array_namespace_info__().capabilities())
        caps.setdefault("max dimensions", 64)
        return caps

    def default_device(self) -> Any:
        """The active backend's default device."""
        return self._backend.default_device()

    def devices(self) -> list[Any]:
        """The devices of the active backend."""
        return list(self._backend.compat.__array_namespace_info__().devices())

    def default_dtypes(self, *, device: Any = None) -> dict[str, DType]:
        """polygrad's defaults: float32 (``set_default_dtype`` changes it), complex64 (or
        complex128 with float64), int64 and int64 for indexing, as torch."""
        f = _dtypes.default_float
        c = _dtypes.complex128 if f is _dtypes.float64 else _dtypes.complex64
        return {
            "real floating": f,
            "complex floating": c,
            "integral": _dtypes.int64,
            "indexing": _dtypes.int64,
        }

    def dtypes(self, *, device: Any = None, kind: Any = None) -> dict[str, DType]:
        """The dtypes the active backend has (on ``device``, if given), by name; ``kind``
        filters as ``isdtype``."""
        have = self._backend.dtypes
        if device is not None:  # a device may lack some (array-api-strict's "no_float64")
            on_device = self._backend.compat.__array_namespace_info__().dtypes(device=device)
            have = tuple(d for d in have if d.name in on_device)
        if kind is not None:
            have = tuple(d for d in have if isdtype(d, kind))
        return {d.name: d for d in have}


def __array_namespace_info__() -> Info:  # noqa: N807 (the standard's name)
    """The namespace's inspection object (devices, dtypes, capabilities)."""
    return Info()
