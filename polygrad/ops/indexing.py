"""Indexing: ``x[key]``, ``take`` and ``add_at`` (the scatter-add that is indexing's adjoint)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from .. import _backend, _capture
from .._backend import TakeKey
from .._checks import check_index_range, normalize_axis
from .._creation import tensor_like
from .._tensor import Function, Tensor, apply1, mark_view
from ._common import _tensor_arg


class GetItem(Function):
    exact = True
    saves = ""
    fresh = True

    def __init__(self, key: tuple) -> None:
        self.key = key

    def forward(self, xp, x):
        self.in_shape = tuple(x.shape)
        return _index(xp, x, self.key)

    def backward(self, xp, g):
        return (xp.add_at(self.in_shape, self.key, g),)


class AddAt(Function):
    """Zeros of ``shape`` with the input added at ``[key]``: the adjoint of indexing."""

    exact = True
    saves = ""

    def __init__(self, shape: tuple[int, ...], key: tuple) -> None:
        self.out_shape, self.key = shape, key

    def forward(self, xp, values):
        return xp.add_at(self.out_shape, self.key, values)

    def backward(self, xp, g):
        return (_index(xp, g, self.key),)


def _index(xp, x, key):
    """``x[key]`` for a backend array or a Tensor, with TakeKeys run through ``take``."""
    if isinstance(key, TakeKey) and not isinstance(x, Tensor):
        return key.apply(xp, x)
    return x[key]


def _key_to_backend(x: Tensor, key: Any, shape: Sequence[int] | None = None) -> tuple:
    """An indexing key with Tensors, lists and NumPy arrays turned into backend arrays, for
    indexing an array of ``shape`` (by default ``x``'s) on ``x``'s backend."""
    shape = tuple(x.shape if shape is None else shape)
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, Tensor):
            if k._xp is not x._xp:
                raise _backend.BackendError(
                    f"cannot index a {x.backend} tensor with a {k.backend} tensor"
                )
            if _capture.rec is not None:  # polygrad.compile: the index is read on each replay
                _capture.rec.spec(k)
            out.append(k._data)
        elif isinstance(k, (list, tuple)) or (
            hasattr(k, "shape") and type(k).__module__ == "numpy"
        ):
            if _capture.rec is not None and id(k) in _capture.rec.slot_of:
                out.append(k)  # a live array of the capture (numpy backend), not a constant
                continue
            out.append(tensor_like(k, x)._data)
        elif isinstance(k, bool):
            raise IndexError("a Python bool is not a valid index; use a bool tensor mask")
        else:
            out.append(k)
    # NumPy fills missing trailing axes with ':'; the standard wants an explicit '...'
    xp = x._xp
    used = builtins.sum(
        0 if k is None else k.ndim if hasattr(k, "ndim") and xp.isdtype(k.dtype, "bool") else 1
        for k in out
    )
    # (a bool mask must stay the only index: the standard allows it only that way)
    masks = builtins.any(hasattr(k, "ndim") and xp.isdtype(k.dtype, "bool") for k in out)
    if used < len(shape) and not masks and not builtins.any(k is Ellipsis for k in out):
        out.append(Ellipsis)
    return _clamp_slices(xp, out, shape)


def _clamp_slices(xp: Any, key: list, shape: tuple[int, ...]) -> tuple:
    """Slices with their bounds clamped to the axis, as Python and torch clamp them
    (``x[5:]`` of a size-3 axis is empty): the standard leaves out-of-bounds slice bounds
    unspecified and array-api-strict refuses them, so every backend is given in-bounds ones."""
    def width(k: Any) -> int:  # the axes of x that k indexes
        if k is None or k is Ellipsis:
            return 0
        return k.ndim if hasattr(k, "ndim") and xp.isdtype(k.dtype, "bool") else 1

    axis = 0
    for i, k in enumerate(key):
        if k is Ellipsis:
            axis += len(shape) - builtins.sum(width(k) for k in key)
        elif isinstance(k, slice):
            if axis < len(shape):
                key[i] = _in_bounds(k, shape[axis])
            axis += 1
        else:
            axis += width(k)
    return tuple(key)


def _in_bounds(s: slice, n: int) -> slice:
    """The same selection as ``s`` on an axis of size ``n``, with no bound outside it."""
    if s.start is None and s.stop is None:
        return s
    start, stop, step = s.indices(n)
    length = len(range(start, stop, step))
    if length == 0:
        return slice(0, 0, 1)
    last = start + (length - 1) * step
    if step > 0:
        return slice(start, last + 1 if last + 1 < n else None, step)
    return slice(start, last - 1 if last > 0 else None, step)


def _as_take(x: Tensor, key: tuple) -> TakeKey | None:
    """The key as a TakeKey if it is full slices, integer arrays on consecutive axes, then
    full slices (or ``...``): the advanced indexing every backend can do through ``take``."""
    xp = x._xp
    arrays = [i for i, k in enumerate(key) if hasattr(k, "shape")]
    if not arrays or arrays != list(range(arrays[0], arrays[-1] + 1)):
        return None
    first, n = arrays[0], len(arrays)
    index = [key[i] for i in arrays]
    if first + n > x.ndim or not builtins.all(xp.isdtype(i.dtype, "integral") for i in index):
        return None
    full = slice(None)
    if builtins.any(k != full for k in key[:first]) or builtins.any(
        k != full and k is not Ellipsis for k in key[first + n :]
    ):
        return None
    shape = tuple(index[0].shape)
    if n > 1:
        from .arrange import broadcast_shapes

        shape = broadcast_shapes(*(tuple(i.shape) for i in index))
    sizes = tuple(x.shape[first : first + n])
    # polygrad.compile records this as a step on the live index arrays, range check included
    flat = _capture.call(_flat_index, xp, tuple(x.shape), first, sizes, *index)
    return TakeKey(first, n, flat, shape)


def _flat_index(xp: Any, shape: tuple, first: int, sizes: tuple, *index: Any) -> Any:
    """The 1-D non-negative flat index into axes ``first, first + 1, ...`` (of ``sizes``) of
    an array of ``shape`` picked by the integer arrays ``index``; IndexError (torch's) for an
    index outside its axis, never a wrapped or clamped one."""
    if len(index) > 1:
        index = xp.broadcast_arrays(*index)
    flat = None
    for axis, (size, idx) in enumerate(zip(sizes, index), first):
        check_index_range(xp, idx, size, "indexing", axis, shape)
        idx = xp.where(idx < 0, idx + size, idx)
        flat = idx if flat is None else flat * size + idx
    return xp.reshape(flat, (-1,))


def getitem(x: Tensor, key: Any) -> Tensor:
    """``x[key]`` with slices, ints, None, ``...``, integer arrays and bool masks.

    An integer array on one axis (``x[idx]``, ``x[:, idx]``) works on every backend: it runs
    as the standard's ``take``. Other advanced keys (several arrays, bool masks) go to the
    backend's own indexing, where the backend allows them. The gradient scatter-adds, so
    repeated indices accumulate.
    """
    if isinstance(key, TakeKey):
        return apply1(GetItem(key), x)
    k = _key_to_backend(x, key)
    if _backend._is_basic(k):  # slices, ints, None, ...: a view of x, as in torch
        return mark_view(apply1(GetItem(k), x), x, ("key", k))
    return apply1(GetItem(_as_take(x, k) or k), x)


def take(x: Tensor, indices: Any, axis: int | None = None) -> Tensor:
    """Elements of ``x`` at integer ``indices`` along ``axis`` (the standard's ``take``).

    ``axis`` may be None only for 1-D ``x``. Negative indices count from the end; repeated
    indices accumulate in the gradient.
    """
    x = _tensor_arg(x)
    if axis is None:
        if x.ndim != 1:
            raise ValueError(f"take needs an axis for a tensor of shape {x.shape}")
        axis = 0
    axis = normalize_axis(axis, x.ndim, "take")
    key = _key_to_backend(x, (slice(None),) * axis + (indices, Ellipsis))
    index = key[axis]
    if not hasattr(index, "ndim") or not x._xp.isdtype(index.dtype, "integral"):
        raise TypeError(f"take: indices must be an integer tensor, not {index!r}")
    if index.ndim != 1:
        raise ValueError(f"take: indices must be 1-D (as the standard's take), not {index.shape}")
    return apply1(GetItem(_as_take(x, key)), x)


def add_at(shape: Sequence[int], key: Any, values: Tensor) -> Tensor:
    """Zeros of ``shape`` with ``values`` added at ``[key]``, repeated indices accumulating:
    the adjoint of indexing (and the rule behind its gradient)."""
    values = _tensor_arg(values)
    if not isinstance(key, TakeKey):
        key = _key_to_backend(values, key, shape)
    return apply1(AddAt(tuple(shape), key), values)
