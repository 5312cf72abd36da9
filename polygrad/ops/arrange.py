"""Rearranging, sorting, scanning and searching: the standard's ``flip``, ``roll``, ``repeat``,
``tile``, ``take_along_axis``, ``sort``, ``cumulative_sum`` ... and the data-dependent
functions (``nonzero``, ``unique_*``, ``searchsorted``).

Most are composites of differentiable ops (``take``, ``where``, ``concat``, slicing), so they
get first and higher derivatives from those ops' rules; ``cumulative_sum`` is an op of its
own. Index-valued and data-dependent results carry no gradient.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from .. import _capture
from .._checks import check_index_range, normalize_axes, normalize_axis
from .._tensor import Function, Tensor, apply1
from ._common import _lift, _no_grad_result, _tensor_arg, astype
from .elementwise import where
from .indexing import take
from .shape import broadcast_to, concat, permute_dims, reshape


def _index(x: Tensor, data: Any) -> Tensor:
    """A constant integer Tensor on ``x``'s backend from a backend array."""
    return Tensor._wrap(data, x._xp)


def _arange(x: Tensor, n: int) -> Any:
    xp = x._xp
    return xp.arange(n, device=x.device)


def _along(x: Tensor, axis: int, index: Any) -> Tensor:
    return take(x, _index(x, index), axis=axis)


# -- rearranging ------------------------------------------------------------------------------
def flip(x: Tensor, /, *, axis: int | Sequence[int] | None = None) -> Tensor:
    """Reverse the order of elements along ``axis`` (all axes by default)."""
    x = _tensor_arg(x)
    for a in normalize_axes(axis, x.ndim, "flip"):
        n = x.shape[a]
        x = _along(x, a, x._xp.arange(n - 1, -1, -1, device=x.device))
    return x


def roll(
    x: Tensor, /, shift: int | Sequence[int], *, axis: int | Sequence[int] | None = None
) -> Tensor:
    """Shift elements along ``axis`` by ``shift``, wrapping around; the flattened array when
    ``axis`` is None."""
    x = _tensor_arg(x)
    if axis is None:
        if not isinstance(shift, int):
            raise ValueError("roll: with axis=None, shift must be an int")
        return reshape(roll(reshape(x, (-1,)), shift, axis=0), x.shape)
    shifts = (shift,) if isinstance(shift, int) else tuple(shift)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(axes)} axes")
    for s, a in zip(shifts, axes):
        a = normalize_axis(a, x.ndim, "roll")
        n = x.shape[a]
        if n:
            x = _along(x, a, (_arange(x, n) - s) % n)
    return x


def moveaxis(x: Tensor, source: int | Sequence[int], destination: int | Sequence[int], /) -> Tensor:
    """Move axes ``source`` to positions ``destination``, keeping the order of the others."""
    x = _tensor_arg(x)
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: {len(src)} source axes but {len(dst)} destinations")
    src = tuple(normalize_axis(a, x.ndim, "moveaxis") for a in src)
    dst = tuple(normalize_axis(a, x.ndim, "moveaxis") for a in dst)
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"moveaxis: repeated axes in {source!r} -> {destination!r}")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute_dims(x, tuple(order))


def repeat(x: Tensor, repeats: int | Tensor, /, *, axis: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times along ``axis`` (of the flattened array when None);
    ``repeats`` is an int or a 1-D integer tensor with one count per element."""
    x = _tensor_arg(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = normalize_axis(axis, x.ndim, "repeat")
    n, xp = x.shape[axis], x._xp
    if isinstance(repeats, int):
        if repeats < 0:
            raise ValueError(f"repeat: repeats must be non-negative, got {repeats}")
        grid = xp.broadcast_to(xp.reshape(_arange(x, n), (n, 1)), (n, repeats))
        return _along(x, axis, xp.reshape(grid, (-1,)))
    counts = _lift(repeats, x)
    if (
        counts.ndim != 1
        or counts.shape[0] not in (1, n)
        or counts.dtype.kind not in ("int", "uint")
    ):
        raise ValueError(
            f"repeat: repeats must be an int or a 1-D integer tensor of size 1 or {n}, "
            f"got shape {counts.shape} of {counts.dtype.name}"
        )
    if counts.shape[0] == 1:
        return repeat(x, int(counts.item()), axis=axis)
    c = xp.astype(counts._data, xp.int64)
    if n and int(xp.min(c)) < 0:
        raise ValueError("repeat: repeats must be non-negative")
    ends = xp.cumulative_sum(c)
    total = int(ends[-1]) if n else 0
    positions = xp.arange(total, dtype=xp.int64, device=x.device)
    return _along(x, axis, xp.searchsorted(ends, positions, side="right"))


def tile(x: Tensor, repetitions: Sequence[int], /) -> Tensor:
    """``x`` repeated ``repetitions[i]`` times along each axis (leading axes added as needed)."""
    x = _tensor_arg(x)
    reps = tuple(int(r) for r in repetitions)
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"tile: repetitions must be non-negative, got {reps}")
    ndim = builtins.max(len(reps), x.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    x = reshape(x, (1,) * (ndim - x.ndim) + tuple(x.shape))
    for a, r in enumerate(reps):
        if r != 1:
            n = x.shape[a]
            x = _along(x, a, _arange(x, n * r) % n if n else _arange(x, 0))
    return x


def unstack(x: Tensor, /, *, axis: int = 0) -> tuple[Tensor, ...]:
    """The slices of ``x`` along ``axis``, as a tuple."""
    x = _tensor_arg(x)
    axis = normalize_axis(axis, x.ndim, "unstack")
    lead = (slice(None),) * axis
    return tuple(x[lead + (i,)] for i in range(x.shape[axis]))


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The shape the given shapes broadcast to, by the standard's rules."""
    ndim = builtins.max((len(s) for s in shapes), default=0)
    out = []
    for i in range(-ndim, 0):
        sizes = {s[i] for s in shapes if len(s) >= -i and s[i] != 1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {tuple(map(tuple, shapes))} cannot be broadcast together")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def broadcast_arrays(*arrays: Tensor) -> list[Tensor]:
    """The tensors broadcast to one shape."""
    arrays = tuple(_tensor_arg(a) for a in arrays)
    shape = broadcast_shapes(*(a.shape for a in arrays))
    return [a if a.shape == shape else broadcast_to(a, shape) for a in arrays]


def meshgrid(*arrays: Tensor, indexing: str = "xy") -> list[Tensor]:
    """Coordinate grids from 1-D tensors (``indexing="xy"`` swaps the first two axes)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', not {indexing!r}")
    arrays = [_tensor_arg(a) for a in arrays]
    for a in arrays:
        if a.ndim != 1:
            raise ValueError(f"meshgrid: inputs must be 1-D, got shape {a.shape}")
    shape = [a.shape[0] for a in arrays]
    if indexing == "xy" and len(arrays) > 1:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, a in enumerate(arrays):
        axis = (1 - i if i < 2 else i) if indexing == "xy" and len(arrays) > 1 else i
        view = [1] * len(arrays)
        view[axis] = a.shape[0]
        out.append(broadcast_to(reshape(a, tuple(view)), tuple(shape)))
    return out


def _triangle(x: Tensor, k: int, lower: bool) -> Tensor:
    x = _tensor_arg(x)
    if x.ndim < 2:
        raise ValueError(
            f"{'tril' if lower else 'triu'}: needs at least 2 dimensions, got {x.shape}"
        )
    xp = x._xp
    # polygrad.compile records the mask and the zero as steps (no array made outside an op)
    keep = _capture.call(_triangle_mask, xp, x.shape[-2], x.shape[-1], k, lower, x.device)
    zero = _capture.call(_zero, xp, x._data.dtype, x.device)
    return where(_index(x, keep), x, _index(x, zero))


def _triangle_mask(xp: Any, n_rows: int, n_cols: int, k: int, lower: bool, device: Any) -> Any:
    rows = xp.reshape(xp.arange(n_rows, device=device), (-1, 1))
    cols = xp.reshape(xp.arange(n_cols, device=device), (1, -1))
    return (cols - rows <= k) if lower else (cols - rows >= k)


def _zero(xp: Any, dtype: Any, device: Any) -> Any:
    return xp.zeros((), dtype=dtype, device=device)


def tril(x: Tensor, /, *, k: int = 0) -> Tensor:
    """The lower triangle of the last two axes (elements with ``col - row <= k``), zeros above."""
    return _triangle(x, k, True)


def triu(x: Tensor, /, *, k: int = 0) -> Tensor:
    """The upper triangle of the last two axes (elements with ``col - row >= k``), zeros below."""
    return _triangle(x, k, False)


def take_along_axis(x: Tensor, indices: Tensor, /, *, axis: int = -1) -> Tensor:
    """Elements of ``x`` at ``indices`` along ``axis``, matched elementwise on the other axes
    (torch's ``gather``); ``indices`` broadcasts against ``x`` except along ``axis``."""
    x = _tensor_arg(x)
    idx = _lift(indices, x)
    if not isinstance(idx, Tensor) or idx.dtype.kind not in ("int", "uint"):
        raise TypeError("take_along_axis: indices must be an integer tensor")
    if idx.ndim != x.ndim:
        raise ValueError(
            f"take_along_axis: indices of shape {idx.shape} need as many dimensions as x "
            f"of shape {x.shape}"
        )
    axis = normalize_axis(axis, x.ndim, "take_along_axis")
    n = x.shape[axis]
    # both with the axis last and the other axes broadcast together
    xm = moveaxis(x, axis, -1)
    batch = broadcast_shapes(xm.shape[:-1], idx.shape[:axis] + idx.shape[axis + 1 :])
    xm = broadcast_to(xm, batch + (n,))
    # polygrad.compile records the flat index (and its range check) as a step on live indices
    if _capture.rec is not None:  # a tensor that existed before the call is read on each replay
        _capture.rec.spec(idx)
    flat = _capture.call(_gather_index, x._xp, axis, batch, n, x.device, idx._data)
    out = reshape(take(reshape(xm, (-1,)), _index(x, flat), axis=0), batch + (idx.shape[axis],))
    return moveaxis(out, -1, axis)


def _gather_index(xp: Any, axis: int, batch: tuple, n: int, device: Any, idx: Any) -> Any:
    """The flat index into ``x`` (axis moved last, broadcast to ``batch + (n,)``, flattened)
    of ``take_along_axis``'s ``idx``; IndexError for an index outside ``[-n, n)``."""
    im = xp.moveaxis(idx, axis, -1)
    im = xp.broadcast_to(im, batch + (im.shape[-1],))
    check_index_range(xp, im, n, "take_along_axis", axis)
    im = xp.where(im < 0, im + n, im)
    rows = xp.reshape(xp.arange(math.prod(batch), device=device), batch + (1,))
    return xp.reshape(xp.astype(im, rows.dtype) + rows * n, (-1,))


# -- sorting ----------------------------------------------------------------------------------
def argsort(
    x: Tensor, /, *, axis: int = -1, descending: bool = False, stable: bool = True
) -> Tensor:
    """Indices that sort ``x`` along ``axis`` (no gradient)."""
    x = _tensor_arg(x)
    axis = normalize_axis(axis, x.ndim, "argsort") if x.ndim else -1
    return _no_grad_result(
        x, x._xp.argsort(x._data, axis=axis, descending=descending, stable=stable)
    )


def sort(x: Tensor, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Tensor:
    """``x`` sorted along ``axis``; the gradient goes back to each value's original place."""
    x = _tensor_arg(x)
    if x.ndim == 0:
        return x * 1
    order = argsort(x, axis=axis, descending=descending, stable=stable)
    return take_along_axis(x, order, axis=axis)


# -- scans ------------------------------------------------------------------------------------
class CumulativeSum(Function):
    exact = True
    saves = ""
    fresh = True

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, xp, x):
        return xp.cumulative_sum(x, axis=self.axis)

    def backward(self, xp, g):
        # each input feeds every later output: the gradient is the reversed running sum
        rev = xp.flip(g, axis=self.axis)
        return (xp.flip(xp.cumulative_sum(rev, axis=self.axis), axis=self.axis),)


def _scan_input(x: Any, axis: int | None, dtype: Any, op: str) -> tuple[Tensor, int]:
    """The scanned tensor (0-d as 1-D, cast to ``dtype``) and the scanned axis."""
    x = _tensor_arg(x)
    if x.ndim == 0:
        x = reshape(x, (1,))
    if axis is None:
        if x.ndim > 1:
            raise ValueError(f"{op}: axis must be given for a tensor of shape {x.shape}")
        axis = 0
    axis = normalize_axis(axis, x.ndim, op)
    return (x if dtype is None else astype(x, dtype)), axis


def _with_initial(x: Tensor, y: Tensor, axis: int, value: int) -> Tensor:
    shape = list(y.shape)
    shape[axis] = 1
    first = Tensor._wrap(
        y._xp.full(tuple(shape), value, dtype=y._data.dtype, device=y.device), y._xp
    )
    return concat([first, y], axis=axis)


def cumulative_sum(
    x: Tensor, /, *, axis: int | None = None, dtype: Any = None, include_initial: bool = False
) -> Tensor:
    """Running sums along ``axis`` (which may be omitted for 0-d and 1-D tensors)."""
    x, axis = _scan_input(x, axis, dtype, "cumulative_sum")
    if x.dtype.is_floating_point:
        y = apply1(CumulativeSum(axis), x)
    else:
        keep = None if dtype is None else x._data.dtype  # a given dtype is the result's
        y = _no_grad_result(x, x._xp.cumulative_sum(x._data, axis=axis, dtype=keep))
    return _with_initial(x, y, axis, 0) if include_initial else y


def cumulative_prod(
    x: Tensor, /, *, axis: int | None = None, dtype: Any = None, include_initial: bool = False
) -> Tensor:
    """Running products along ``axis``.

    Computed as a log-step scan of multiplies (no division), so it is exact at zeros and its
    gradient (through the multiplies) is right to any order, as torch's.
    """
    x, axis = _scan_input(x, axis, dtype, "cumulative_prod")
    if not x.dtype.is_floating_point and hasattr(x._xp, "cumulative_prod"):
        keep = None if dtype is None else x._data.dtype
        y = _no_grad_result(x, x._xp.cumulative_prod(x._data, axis=axis, dtype=keep))
        return _with_initial(x, y, axis, 1) if include_initial else y
    # (floats, and integers where the backend lacks cumulative_prod, new in the 2024.12
    # standard: array-api-compat 1.10 has none) a log-step scan of multiplies
    n, y, step = x.shape[axis], x, 1
    lead = (slice(None),) * axis
    while step < n:
        ones_shape = list(y.shape)
        ones_shape[axis] = step
        ones = Tensor._wrap(
            y._xp.ones(tuple(ones_shape), dtype=y._data.dtype, device=y.device), y._xp
        )
        shifted = concat([ones, y[lead + (slice(0, n - step),)]], axis=axis)
        y = y * shifted
        step *= 2
    return _with_initial(x, y, axis, 1) if include_initial else y


def diff(
    x: Tensor,
    /,
    *,
    axis: int = -1,
    n: int = 1,
    prepend: Tensor | None = None,
    append: Tensor | None = None,
) -> Tensor:
    """The ``n``-th forward difference along ``axis``, after joining ``prepend``/``append``."""
    x = _tensor_arg(x)
    axis = normalize_axis(axis, x.ndim, "diff")
    if n < 0:
        raise ValueError(f"diff: n must be non-negative, got {n}")
    parts = [p for p in (prepend, x, append) if p is not None]
    x = concat([_lift(p, x) for p in parts], axis=axis) if len(parts) > 1 else x
    lead = (slice(None),) * axis
    for _ in range(n):
        x = x[lead + (slice(1, None),)] - x[lead + (slice(None, -1),)]
    return x


# -- searching and sets (data-dependent, no gradient) ------------------------------------------
def nonzero(x: Tensor, /) -> tuple[Tensor, ...]:
    """The indices of the non-zero elements, one integer tensor per axis."""
    x = _tensor_arg(x)
    if x.ndim == 0:
        raise ValueError("nonzero: 0-d tensors are not allowed (as the standard says)")
    return tuple(_no_grad_result(x, i) for i in x._xp.nonzero(x._data))


def count_nonzero(
    x: Tensor, /, *, axis: int | Sequence[int] | None = None, keepdims: bool = False
) -> Tensor:
    """The number of non-zero elements along ``axis``."""
    x = _tensor_arg(x)
    axes = normalize_axes(axis, x.ndim, "count_nonzero")
    return _no_grad_result(x, x._xp.count_nonzero(x._data, axis=axes, keepdims=keepdims))


def searchsorted(
    x1: Tensor, x2: Tensor, /, *, side: str = "left", sorter: Tensor | None = None
) -> Tensor:
    """Insertion points of ``x2``'s values in the sorted 1-D ``x1``."""
    x1 = _tensor_arg(x1)
    x2 = _lift(x2, x1)
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted: side must be 'left' or 'right', not {side!r}")
    if sorter is not None:
        sorter = _lift(sorter, x1)._data
    return _no_grad_result(x1, x1._xp.searchsorted(x1._data, _data(x2), side=side, sorter=sorter))


def _data(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def isin(x1: Tensor, x2: Tensor, /, *, invert: bool = False) -> Tensor:
    """Elementwise: is each element of ``x1`` in ``x2``?"""
    like = x1 if isinstance(x1, Tensor) else _tensor_arg(x2)
    a, b = _lift(x1, like), _lift(x2, like)
    a = a if isinstance(a, Tensor) else _index(like, like._xp.asarray(a, device=like.device))
    b = b if isinstance(b, Tensor) else _index(like, like._xp.asarray(b, device=like.device))
    xp = like._xp
    if hasattr(xp, "isin"):
        return _no_grad_result(like, xp.isin(a._data, b._data, invert=invert))
    flat = xp.reshape(b._data, (-1,))
    hit = xp.any(xp.reshape(a._data, a.shape + (1,)) == flat, axis=-1)
    return _no_grad_result(like, xp.logical_not(hit) if invert else hit)


class UniqueAll(NamedTuple):
    values: Tensor
    indices: Tensor
    inverse_indices: Tensor
    counts: Tensor


class UniqueCounts(NamedTuple):
    values: Tensor
    counts: Tensor


class UniqueInverse(NamedTuple):
    values: Tensor
    inverse_indices: Tensor


def _unique(x: Any, fn: str) -> tuple:
    x = _tensor_arg(x)
    return tuple(_no_grad_result(x, r) for r in getattr(x._xp, fn)(x._data))


def unique_all(x: Tensor, /) -> UniqueAll:
    """The distinct values with first indices, inverse indices and counts (no gradient)."""
    try:
        return UniqueAll(*_unique(x, "unique_all"))
    except NotImplementedError:  # torch's array-api-compat: built from the other two
        pass
    x = _tensor_arg(x)
    xp = x._xp
    values, inverse = xp.unique_inverse(x._data)
    counts = xp.unique_counts(x._data).counts
    # the first index of each value: the first of its group in a stable sort by value id
    order = xp.argsort(xp.reshape(inverse, (-1,)), stable=True)
    starts = xp.cumulative_sum(counts, include_initial=True)[:-1]
    first = xp.take(order, xp.astype(starts, order.dtype))
    return UniqueAll(*(_no_grad_result(x, a) for a in (values, first, inverse, counts)))


def unique_counts(x: Tensor, /) -> UniqueCounts:
    """The distinct values and how often each occurs (no gradient)."""
    return UniqueCounts(*_unique(x, "unique_counts"))


def unique_inverse(x: Tensor, /) -> UniqueInverse:
    """The distinct values and, for each element, the index of its value (no gradient)."""
    return UniqueInverse(*_unique(x, "unique_inverse"))


def unique_values(x: Tensor, /) -> Tensor:
    """The distinct values, sorted (no gradient)."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.unique_values(x._data))
