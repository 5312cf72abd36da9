"""Creating tensors: from Python data and arrays, filled, ranges, and random draws.

Every array is created on the active backend's device (or the ``device=`` given) and never
anywhere else. Random numbers come from one seeded host generator (see ``manual_seed``).
"""

from __future__ import annotations

from typing import Any

import array_api_compat

from . import _backend, _capture, _dtypes
from ._checks import check_size
from ._dtypes import DType
from ._tensor import Tensor


def set_default_dtype(dtype: Any) -> None:
    """Set the dtype of tensors made from Python floats and of float creation functions.

    Parameters
    ----------
    dtype : polygrad.float32 or polygrad.float64 (or their names)
    """
    d = _dtypes.to_dtype(dtype)
    if d not in (_dtypes.float32, _dtypes.float64):
        raise TypeError(f"the default dtype must be float32 or float64, not {d.name}")
    _dtypes.default_float = d


def get_default_dtype() -> DType:
    """The dtype of tensors made from Python floats (``polygrad.float32`` unless changed)."""
    return _dtypes.default_float


def _target(device: Any) -> tuple[_backend.Backend, Any]:
    backend, dev = _backend.active()
    if device is not None:
        dev = backend.normalize_device(device)
    return backend, dev


def _finish(
    data: Any, backend: _backend.Backend, requires_grad: bool, redraw: Any = None
) -> Tensor:
    backend.dtype_of(data)  # a dtype polygrad does not support is refused here, not later
    if _capture.rec is not None:  # polygrad.compile: a constant, or a draw to make again
        _capture.rec.created(data, backend, redraw)
    t = Tensor._wrap(data, backend.xp)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _host_array(data: Any, dtype: Any = None) -> Any:
    """Python data (numbers, nested lists, Tensors inside lists) as a host NumPy array, made
    directly in ``dtype`` when given (so ``[2**63 + 1]`` as uint64 never passes through a
    float)."""
    import numpy as np

    if isinstance(data, (list, tuple)) and any(isinstance(d, (Tensor, list, tuple)) for d in data):
        parts = [_host_array(d, dtype) for d in data]
        return np.stack(parts) if data else np.asarray(data, dtype=dtype)
    if isinstance(data, Tensor):
        return data.numpy()
    return np.asarray(data, dtype=dtype)


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` on the active backend.

    Parameters
    ----------
    data : number, (nested) list, NumPy array, array of the active backend, or Tensor
        Python floats become the default float dtype (float32), Python ints int64 and bools
        bool, as in torch; arrays keep their dtype.
    dtype : polygrad dtype or name, optional
    device : optional
        A device of the active backend; the backend's default device if None.
    requires_grad : bool
        Record ops on this tensor for backward (float dtypes only).

    Raises
    ------
    BackendError
        If ``data`` is an array of a backend other than the active one (NumPy arrays are
        always accepted: they are host data).
    TypeError
        If ``requires_grad`` is set on an integer or bool tensor.

    Examples
    --------
    >>> import polygrad
    >>> polygrad.tensor([[1, 2], [3, 4]]).dtype
    polygrad.int64
    >>> polygrad.tensor([0.5, 1.5], requires_grad=True)
    tensor([0.5, 1.5], requires_grad=True)
    """
    backend, dev = _target(device)
    return _tensor_on(backend, dev, data, dtype, requires_grad)


def tensor_like(data: Any, like: Tensor, dtype: Any = None) -> Tensor:
    """A constant tensor of ``data`` on ``like``'s backend and device, whatever is active
    (ops use this for lists and numbers they meet beside a tensor)."""
    return _tensor_on(like._xp.backend, like.device, data, dtype, False)


def _tensor_on(
    backend: _backend.Backend, dev: Any, data: Any, dtype: Any, requires_grad: bool
) -> Tensor:
    if isinstance(data, Tensor):
        if data._xp is not backend.xp:
            raise _backend.BackendError(
                f"polygrad.tensor got a {data.backend} tensor where a {backend.name} one is "
                f"needed; use t.to(backend={backend.name!r})"
            )
        data = data._data
    if hasattr(data, "__array_namespace__") or hasattr(data, "__dlpack__"):
        source = _backend.backend_for_array(data)
        if source is backend:
            arr = backend.xp.asarray(data, copy=True)
            if source.device_of(arr) != dev:
                arr = array_api_compat.to_device(arr, dev)
            if dtype is not None:
                arr = backend.xp.astype(arr, backend.to_backend_dtype(dtype))
            return _finish(arr, backend, requires_grad)
        if source.name != "numpy":
            raise _backend.BackendError(
                f"polygrad.tensor got a {source.name} array where a {backend.name} one is "
                "needed (the active backend); convert it to NumPy first or switch backends"
            )
    host = _host_array(data, None if dtype is None else _dtypes.to_dtype(dtype).name)
    if dtype is None:
        kind = host.dtype.kind
        if kind == "b":
            dtype = _dtypes.bool_
        elif kind in "iu":
            dtype = _dtypes.int64 if not hasattr(data, "dtype") else _dtypes.to_dtype(host.dtype)
        elif kind == "f" and host.dtype.itemsize >= 4:
            from_python = not hasattr(data, "dtype")
            dtype = _dtypes.default_float if from_python else _dtypes.to_dtype(host.dtype)
        elif kind == "c":
            from_python = not hasattr(data, "dtype")
            dtype = _dtypes.complex128 if from_python else _dtypes.to_dtype(host.dtype)
            if from_python and _dtypes.default_float is _dtypes.float32:
                dtype = _dtypes.complex64  # torch: the default complex dtype follows the float
        else:
            supported = ", ".join(d.name for d in backend.dtypes)
            raise TypeError(
                f"polygrad does not support {type(data).__name__} data of dtype {host.dtype}; "
                f"supported dtypes: {supported}"
            )
    return _finish(backend.from_host(host, dtype, dev), backend, requires_grad)


def asarray(obj: Any, dtype: Any = None, device: Any = None, copy: bool | None = None) -> Tensor:
    """The array API's ``asarray``: ``obj`` itself if it is already a matching Tensor."""
    if isinstance(obj, Tensor) and dtype is None and device is None and not copy:
        return obj
    return tensor(obj, dtype=dtype, device=device)


def _size(size: tuple, op: str = "size") -> tuple[int, ...]:
    """``f(2, 3)`` or ``f((2, 3))`` as a checked shape tuple."""
    if len(size) == 1 and not hasattr(size[0], "__index__") and hasattr(size[0], "__iter__"):
        size = tuple(size[0])
    return check_size(size, op)


def _shape(shape: Any, op: str) -> tuple[int, ...]:
    """The standard's ``shape`` argument: an int or a tuple of ints."""
    if hasattr(shape, "__index__") and not isinstance(shape, bool):
        return check_size((shape,), op)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{op}: shape must be an int or a tuple of ints, not {shape!r}")
    return check_size(tuple(shape), op)


def _dtype(dtype: Any, default: DType | None = None) -> DType:
    return _dtypes.to_dtype(dtype) if dtype is not None else (default or _dtypes.default_float)


def full(
    shape: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (dtype inferred from it if not given)."""
    backend, dev = _target(device)
    shape = _shape(shape, "full")
    if dtype is None:
        dtype = (
            _dtypes.bool_
            if isinstance(fill_value, bool)
            else _dtypes.int64
            if isinstance(fill_value, int)
            else _dtypes.default_float
        )
    d = backend.to_backend_dtype(dtype)
    with backend.on(dev):
        data = backend.xp.full(shape, fill_value, dtype=d, device=dev)
    return _finish(data, backend, requires_grad)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    shape = _size(size, "zeros")
    return full(shape, 0, dtype=_dtype(dtype), device=device, requires_grad=requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    shape = _size(size, "ones")
    return full(shape, 1, dtype=_dtype(dtype), device=device, requires_grad=requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of the given size (zero-filled here: uninitialized memory helps nobody learn)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def _like(x: Tensor, value: Any, dtype: Any, requires_grad: bool) -> Tensor:
    backend = x._xp.backend
    d = backend.to_backend_dtype(dtype) if dtype is not None else x._data.dtype
    with backend.on(x.device):
        data = backend.xp.full_like(x._data, value, dtype=d)
    return _finish(data, backend, requires_grad)


def zeros_like(x: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with ``x``'s shape, dtype and device."""
    return _like(x, 0, dtype, requires_grad)


def ones_like(x: Tensor, *, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with ``x``'s shape, dtype and device."""
    return _like(x, 1, dtype, requires_grad)


def full_like(
    x: Tensor, fill_value: Any, *, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """``fill_value`` with ``x``'s shape, dtype and device."""
    return _like(x, fill_value, dtype, requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Evenly spaced values in ``[start, end)``; ``arange(n)`` is ``0 .. n-1`` (int64)."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange step must not be zero")
    backend, dev = _target(device)
    if dtype is None:
        ints = all(isinstance(v, int) for v in (start, end, step))
        dtype = _dtypes.int64 if ints else _dtypes.default_float
    d = backend.to_backend_dtype(dtype)
    with backend.on(dev):
        data = backend.xp.arange(start, end, step, dtype=d, device=dev)
    return _finish(data, backend, requires_grad)


def linspace(
    start: float,
    end: float,
    steps: int,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    (steps,) = check_size((steps,), "linspace")
    backend, dev = _target(device)
    d = backend.to_backend_dtype(_dtype(dtype))
    with backend.on(dev):
        data = backend.xp.linspace(start, end, int(steps), dtype=d, device=dev)
    return _finish(data, backend, requires_grad)


def eye(
    n: int,
    m: int | None = None,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """The ``n`` x ``m`` identity matrix (``m`` defaults to ``n``)."""
    n, m = check_size((n, n if m is None else m), "eye")
    backend, dev = _target(device)
    d = backend.to_backend_dtype(_dtype(dtype))
    with backend.on(dev):
        data = backend.xp.eye(n, m, dtype=d, device=dev)
    return _finish(data, backend, requires_grad)


def _random(
    draw: Any, dtype: DType, device: Any, requires_grad: bool, how: tuple = ()
) -> Tensor:
    """``draw`` (host) as a tensor; ``how`` = (generator method, args) redraws it (compile)."""
    backend, dev = _target(device)
    redraw = (how, dtype, dev) if how else "a random draw compile cannot repeat"
    return _finish(backend.from_host(draw, dtype, dev), backend, requires_grad, redraw)


def rand(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform random numbers in [0, 1); reproducible under ``polygrad.manual_seed``."""
    size = _size(size, "rand")
    draw = _backend.rng().random(size)
    return _random(draw, _dtype(dtype), device, requires_grad, ("random", (size,)))


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal random numbers; reproducible under ``polygrad.manual_seed``."""
    size = _size(size, "randn")
    draw = _backend.rng().standard_normal(size)
    return _random(draw, _dtype(dtype), device, requires_grad, ("standard_normal", (size,)))


def randint(
    low: int,
    high: int | None = None,
    size: Any = (),
    *,
    dtype: Any = None,
    device: Any = None,
) -> Tensor:
    """Random integers in ``[low, high)`` (``randint(high, size=...)`` starts at 0), int64."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint needs low < high, got low={low}, high={high}")
    size = _shape(size, "randint")
    draw = _backend.rng().integers(low, high, size=size)
    how = ("integers", (low, high, size))
    return _random(draw, _dtype(dtype, _dtypes.int64), device, False, how)
