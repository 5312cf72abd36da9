"""``polygrad.array_api``: the Python array API standard's namespace, differentiable.

Every function takes and returns ``polygrad.Tensor``, records the graph when an input
requires grad, and runs on the tensor's backend (NumPy, CuPy, torch or array-api-strict).
``Tensor.__array_namespace__()`` returns this module, so code written against the standard
(``xp = x.__array_namespace__()``) gets gradients without a change.

The functions are the same op implementations as the PyTorch-flavoured top-level
``polygrad``; only signatures differ where the two conventions differ (``zeros(shape)``
here, ``zeros(2, 3)`` there). Deviations from the standard, each deliberate, are listed in
the README ("polygrad as an array namespace"): complex tensors hold values only; default
dtypes are torch's (float32, int64); mixing kinds in one operation (int with float) follows
torch instead of being an error.
"""

from __future__ import annotations

import builtins as _builtins
import math as _math
from collections.abc import Sequence
from typing import Any

from .. import _backend, _creation, _dtypes
from .. import ops as _ops
from .._checks import normalize_axes
from .._dtypes import (
    bool_ as bool,  # noqa: A004
)
from .._dtypes import (
    complex64,
    complex128,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .._tensor import Tensor
from ..ops import (
    abs,
    acos,
    acosh,
    add,
    all,
    any,
    argmax,
    argmin,
    argsort,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_invert,
    bitwise_left_shift,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    broadcast_arrays,
    broadcast_shapes,
    broadcast_to,
    ceil,
    conj,
    copysign,
    cos,
    cosh,
    count_nonzero,
    cumulative_prod,
    cumulative_sum,
    diff,
    divide,
    equal,
    exp,
    expm1,
    flip,
    floor,
    floor_divide,
    greater,
    greater_equal,
    hypot,
    imag,
    isfinite,
    isin,
    isinf,
    isnan,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    matmul,
    matrix_transpose,
    max,
    maximum,
    mean,
    meshgrid,
    min,
    minimum,
    moveaxis,
    multiply,
    negative,
    nextafter,
    nonzero,
    not_equal,
    permute_dims,
    positive,
    pow,
    real,
    reciprocal,
    remainder,
    repeat,
    roll,
    round,
    searchsorted,
    sign,
    signbit,
    sin,
    sinh,
    sort,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    subtract,
    take,
    take_along_axis,
    tan,
    tanh,
    tile,
    tril,
    triu,
    trunc,
    unique_all,
    unique_counts,
    unique_inverse,
    unique_values,
    unstack,
    var,
    where,
)
from . import fft, linalg
from ._info import __array_namespace_info__, can_cast, finfo, iinfo, isdtype, result_type
from .linalg import tensordot, vecdot

__array_api_version__ = "2024.12"

builtins_bool = _builtins.bool

e = _math.e
inf = _math.inf
nan = _math.nan
pi = _math.pi
newaxis = None


# -- creation ---------------------------------------------------------------------------------
def _default_for(*values: Any) -> _dtypes.DType:
    """The dtype the standard infers from Python scalars, with polygrad's (torch's) defaults."""
    if _builtins.any(isinstance(v, complex) for v in values):
        return _dtypes.complex128 if _dtypes.default_float is float64 else _dtypes.complex64
    if _builtins.any(isinstance(v, float) for v in values):
        return _dtypes.default_float
    if values and _builtins.all(isinstance(v, builtins_bool) for v in values):
        return _dtypes.bool_
    return _dtypes.int64


def _make(fn: str, *args: Any, dtype: Any, device: Any, **kwargs: Any) -> Tensor:
    backend, dev = _creation._target(device)
    d = backend.to_backend_dtype(dtype)
    with backend.on(dev):
        data = getattr(backend.xp, fn)(*args, dtype=d, device=dev, **kwargs)
    return Tensor._wrap(data, backend.xp)


def _shape(shape: Any, op: str) -> tuple[int, ...]:
    return _creation._shape(shape, op)


def arange(
    start: int | float,
    /,
    stop: int | float | None = None,
    step: int | float = 1,
    *,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """Evenly spaced values in ``[start, stop)`` (``arange(n)`` is ``0 .. n-1``)."""
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange: step must not be zero")
    dtype = _default_for(start, stop, step) if dtype is None else dtype
    return _make("arange", start, stop, step, dtype=dtype, device=device)


def asarray(
    obj: Any, /, *, dtype: Any = None, device: Any = None, copy: builtins_bool | None = None
) -> Tensor:
    """A tensor from a tensor, an array of any backend, a buffer, or nested Python scalars.

    ``copy=None`` shares ``obj``'s memory when it can; ``copy=False`` raises ValueError
    when it cannot; ``copy=True`` always copies. A copy of a tensor that requires grad stays
    in the graph (``clone``).
    """
    if isinstance(obj, Tensor):
        target_dtype = obj.dtype if dtype is None else _dtypes.to_dtype(dtype)
        moves = device is not None and device != obj.device
        if copy is False and (moves or target_dtype is not obj.dtype):
            raise ValueError("asarray(copy=False): a dtype or device change needs a copy")
        out = obj
        if moves:
            out = out.to(device=device)
        if target_dtype is not out.dtype:
            out = _ops.astype(out, target_dtype)
        elif copy:
            out = _ops.clone(out)
        return out
    if copy is False:
        raise ValueError("asarray(copy=False) of a non-tensor: polygrad copies it to its backend")
    return _creation.tensor(obj, dtype=dtype, device=device)


def empty(shape: int | Sequence[int], *, dtype: Any = None, device: Any = None) -> Tensor:
    """An uninitialized tensor (zeros in polygrad) of ``shape``."""
    return zeros(shape, dtype=dtype, device=device)


def zeros(shape: int | Sequence[int], *, dtype: Any = None, device: Any = None) -> Tensor:
    """A tensor of zeros of ``shape`` (default float dtype)."""
    return full(shape, 0.0, dtype=dtype, device=device)


def ones(shape: int | Sequence[int], *, dtype: Any = None, device: Any = None) -> Tensor:
    """A tensor of ones of ``shape`` (default float dtype)."""
    return full(shape, 1.0, dtype=dtype, device=device)


def full(
    shape: int | Sequence[int],
    fill_value: builtins_bool | int | float | complex,
    *,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (dtype inferred from it)."""
    dtype = _default_for(fill_value) if dtype is None else dtype
    return _make("full", _shape(shape, "full"), fill_value, dtype=dtype, device=device)


def _like(x: Tensor, fn: str, *args: Any, dtype: Any, device: Any) -> Tensor:
    d = x.dtype if dtype is None else dtype
    dev = x.device if device is None else device
    backend = x._xp.backend
    with backend.on(dev):
        data = getattr(backend.xp, fn)(
            x._data, *args, dtype=backend.to_backend_dtype(d), device=backend.normalize_device(dev)
        )
    return Tensor._wrap(data, x._xp)


def empty_like(x: Tensor, /, *, dtype: Any = None, device: Any = None) -> Tensor:
    """An uninitialized (zero) tensor with ``x``'s shape, dtype and device."""
    return _like(x, "zeros_like", dtype=dtype, device=device)


def zeros_like(x: Tensor, /, *, dtype: Any = None, device: Any = None) -> Tensor:
    """Zeros with ``x``'s shape, dtype and device."""
    return _like(x, "zeros_like", dtype=dtype, device=device)


def ones_like(x: Tensor, /, *, dtype: Any = None, device: Any = None) -> Tensor:
    """Ones with ``x``'s shape, dtype and device."""
    return _like(x, "ones_like", dtype=dtype, device=device)


def full_like(x: Tensor, /, fill_value: Any, *, dtype: Any = None, device: Any = None) -> Tensor:
    """``fill_value`` with ``x``'s shape, dtype and device."""
    return _like(x, "full_like", fill_value, dtype=dtype, device=device)


def eye(
    n_rows: int,
    n_cols: int | None = None,
    /,
    *,
    k: int = 0,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """A matrix with ones on diagonal ``k`` and zeros elsewhere."""
    n, m = _creation.check_size((n_rows, n_rows if n_cols is None else n_cols), "eye")
    dtype = _dtypes.default_float if dtype is None else dtype
    return _make("eye", n, m, k=k, dtype=dtype, device=device)


def linspace(
    start: int | float | complex,
    stop: int | float | complex,
    /,
    num: int,
    *,
    dtype: Any = None,
    device: Any = None,
    endpoint: builtins_bool = True,
) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (included when ``endpoint``)."""
    (num,) = _creation.check_size((num,), "linspace")
    if dtype is None:
        dtype = _default_for(float(start) if not isinstance(start, complex) else start, stop)
    return _make("linspace", start, stop, num, dtype=dtype, device=device, endpoint=endpoint)


def from_dlpack(x: Any, /, *, device: Any = None, copy: builtins_bool | None = None) -> Tensor:
    """A tensor from any object with ``__dlpack__`` (an array of another library)."""
    if isinstance(x, Tensor):
        return asarray(x, device=device, copy=copy)
    backend, dev = _creation._target(device)
    kwargs = {} if copy is None else {"copy": copy}
    try:
        data = backend.xp.from_dlpack(x, **kwargs)
    except (TypeError, BufferError, RuntimeError) as err:
        raise BufferError(
            f"from_dlpack: the {backend.name} backend cannot import {type(x).__name__}: {err}"
        ) from err
    t = Tensor._wrap(data, backend.xp)
    return t if t.device == dev else t.to(device=dev)


# -- data types -------------------------------------------------------------------------------
def astype(x: Tensor, dtype: Any, /, *, copy: builtins_bool = True, device: Any = None) -> Tensor:
    """``x`` as ``dtype`` (differentiable between float dtypes), on ``device`` if given."""
    out = _ops.astype(x, dtype, copy=copy)
    return out if device is None or device == out.device else out.to(device=device)


# -- manipulation -----------------------------------------------------------------------------
def concat(arrays: tuple[Tensor, ...] | list[Tensor], /, *, axis: int | None = 0) -> Tensor:
    """Join tensors along ``axis`` (flattened first when ``axis`` is None)."""
    if axis is None:
        return _ops.concat([_ops.reshape(a, (-1,)) for a in arrays], axis=0)
    return _ops.concat(arrays, axis=axis)


def expand_dims(x: Tensor, /, axis: int = 0) -> Tensor:
    """``x`` with a size-1 axis inserted at ``axis``."""
    return _ops.expand_dims(x, axis)


def reshape(x: Tensor, /, shape: tuple[int, ...], *, copy: builtins_bool | None = None) -> Tensor:
    """``x`` with a new ``shape`` (one entry may be -1)."""
    return _ops.reshape(x, shape, copy=copy)


# -- statistics -------------------------------------------------------------------------------
def _reduce(fn: str, x: Tensor, axis: Any, dtype: Any, keepdims: builtins_bool) -> Tensor:
    """Float tensors through the differentiable op (after a cast to ``dtype``); integer and
    complex ones through the backend, whose default accumulation dtype is the standard's."""
    if dtype is not None and x.dtype.is_floating_point:
        x = _ops.astype(x, dtype, copy=False)
    if x.dtype.is_floating_point:
        return getattr(_ops, fn)(x, axis=axis, keepdims=keepdims)
    axes = normalize_axes(axis, x.ndim, fn)
    d = None if dtype is None else x._xp.backend.to_backend_dtype(dtype)
    return Tensor._wrap(getattr(x._xp, fn)(x._data, axis=axes, dtype=d, keepdims=keepdims), x._xp)


def sum(  # noqa: A001
    x: Tensor, /, *, axis: Any = None, dtype: Any = None, keepdims: builtins_bool = False
) -> Tensor:
    """The sum over ``axis``; integers sum in the default integer dtype, as the standard says."""
    return _reduce("sum", x, axis, dtype, keepdims)


def prod(
    x: Tensor, /, *, axis: Any = None, dtype: Any = None, keepdims: builtins_bool = False
) -> Tensor:
    """The product over ``axis``; integers multiply in the default integer dtype."""
    return _reduce("prod", x, axis, dtype, keepdims)


def clip(
    x: Tensor,
    /,
    min: Any = None,
    max: Any = None,  # noqa: A002
) -> Tensor:
    """``x`` clamped to ``[min, max]``; the bounds may be numbers or tensors."""
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        return _ops.clip(x, min, max)
    out = x
    if min is not None:
        out = where(
            less(out, min), _ops.astype(min, x.dtype) if isinstance(min, Tensor) else min, out
        )
    if max is not None:
        out = where(
            greater(out, max), _ops.astype(max, x.dtype) if isinstance(max, Tensor) else max, out
        )
    return out


# names of the standard's main namespace, for `from polygrad.array_api import *` and checks
__all__ = sorted(
    name
    for name in dir()
    if not name.startswith("_")
    and name not in ("annotations", "Any", "Sequence", "Tensor", "builtins_bool")
) + ["__array_api_version__", "__array_namespace_info__"]

del _backend
