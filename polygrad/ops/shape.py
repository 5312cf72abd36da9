"""Shape ops (reshape, permute, broadcast, concat, pad ...): views and copies of a tensor's
elements, forward beside rule.
"""

from __future__ import annotations

import builtins
import functools
import math
import operator
from collections.abc import Sequence
from typing import Any

from .. import _dtypes
from .._checks import DimensionError, ShapeError, normalize_axis
from .._tensor import Function, Tensor, apply, apply1, mark_view
from ._common import _tensor_arg, astype
from .reduction import _axes


class Reshape(Function):
    """reshape, expand_dims, squeeze and flatten: any change of shape that keeps the order."""

    exact = True
    saves = ""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.new_shape = shape

    def forward(self, xp, x):
        self.in_shape = tuple(x.shape)
        return xp.reshape(x, self.new_shape)

    def backward(self, xp, g):
        return (xp.reshape(g, self.in_shape),)


class PermuteDims(Function):
    exact = True
    saves = ""

    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, xp, x):
        return xp.permute_dims(x, self.axes)

    def backward(self, xp, g):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return (xp.permute_dims(g, tuple(inverse)),)


class BroadcastTo(Function):
    saves = ""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.target = shape

    def forward(self, xp, x):
        return xp.broadcast_to(x, self.target)

    def backward(self, xp, g):
        return (g,)  # the engine sums the broadcast axes away


class Clone(Function):
    """A copy with its own memory; the gradient passes through unchanged."""

    exact = True
    saves = ""

    def forward(self, xp, x):
        return xp.asarray(x, copy=True)

    def backward(self, xp, g):
        return (g,)


class Concat(Function):
    exact = True
    saves = ""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, xp, *arrays):
        self.sizes = [a.shape[self.axis] for a in arrays]
        self.ndim = arrays[0].ndim
        return xp.concat(arrays, axis=self.axis)

    def backward(self, xp, g):
        lead = (slice(None),) * (self.axis % self.ndim)
        out, start = [], 0
        for n in self.sizes:
            out.append(g[lead + (slice(start, start + n), ...)])
            start += n
        return tuple(out)


class Pad(Function):
    """Constant padding with torch's ``pad`` layout: (left, right) of the last axis first."""

    exact = True
    saves = ""

    def __init__(self, pad: Sequence[int], value: float) -> None:
        if len(pad) % 2:
            raise ValueError(f"pad needs an even number of entries, got {tuple(pad)}")
        if builtins.any(int(p) < 0 for p in pad):
            raise ValueError(f"pad entries must be non-negative, got {tuple(pad)}")
        self.pad, self.value = [int(p) for p in pad], value

    def forward(self, xp, x):
        n_axes = len(self.pad) // 2
        if n_axes > x.ndim:
            raise ValueError(
                f"pad {tuple(self.pad)} covers {n_axes} axes, but the input has {x.ndim}"
            )
        shape, key = list(x.shape), [slice(None)] * x.ndim
        for i in range(n_axes):
            axis = x.ndim - 1 - i
            before, after = self.pad[2 * i], self.pad[2 * i + 1]
            shape[axis] += before + after
            key[axis] = slice(before, before + x.shape[axis])
        self.key = tuple(key)
        backend = xp.backend
        device = backend.device_of(x)
        with backend.on(device):
            out = xp.full(tuple(shape), self.value, dtype=x.dtype, device=device)
        out[self.key] = x
        return out

    def backward(self, xp, g):
        return (g[self.key],)


def clone(x: Tensor) -> Tensor:
    """A copy of ``x`` with its own memory, recorded (the gradient flows back to ``x``)."""
    return apply1(Clone(), _tensor_arg(x))


def _shape_arg(shape: Any) -> tuple[Any, ...]:
    """Method varargs ``t.view(2, 3)`` or ``t.view((2, 3))`` as one tuple."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _reshape_arg(shape: Any, op: str) -> tuple[int, ...]:
    """A target shape of ints >= -1 (one -1 allowed), checked: no floats, no other negatives."""

    items = (shape,) if hasattr(shape, "__index__") else tuple(shape)
    out = []
    for s in items:
        if isinstance(s, bool) or not hasattr(s, "__index__"):
            raise TypeError(f"{op}: sizes must be integers, got {s!r} in {items}")
        n = operator.index(s)
        if n < -1:
            raise ShapeError(f"{op}: invalid size {n} in shape {items}")
        out.append(n)
    return tuple(out)


def reshape(x: Tensor, shape: Any, copy: bool | None = None) -> Tensor:
    """``x`` with a new shape holding the same elements (one entry may be -1)."""
    x = _tensor_arg(x)
    shape = _reshape_arg(shape, "reshape")
    known = math.prod(s for s in shape if s != -1)
    size = x.numel()
    if (
        shape.count(-1) > 1
        or (-1 not in shape and known != size)
        or (-1 in shape and (known == 0 or size % known))
    ):
        raise ShapeError(
            f"reshape: shape {shape} is invalid for a tensor of shape {x.shape} ({size} elements)"
        )
    if -1 in shape:
        shape = tuple(size // known if s == -1 else s for s in shape)
    if shape == x.shape:
        return x
    return mark_view(apply1(Reshape(shape), x), x, ("reshape", shape))


def permute_dims(x: Tensor, axes: Sequence[int]) -> Tensor:
    """``x`` with its axes reordered: output axis i is input axis ``axes[i]``."""
    x = _tensor_arg(x)
    given = tuple(axes)
    axes = tuple(normalize_axis(a, x.ndim, "permute_dims") for a in given) if x.ndim else ()
    if x.ndim == 0 and given not in ((), (0,), (-1,)):
        raise DimensionError(f"permute_dims: axes {given} do not fit a 0-d tensor")
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute_dims needs a permutation of range({x.ndim}), got {axes}")
    return mark_view(apply1(PermuteDims(axes), x), x, ("permute", axes))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap axes ``dim0`` and ``dim1`` (torch's ``transpose``)."""
    x = _tensor_arg(x)
    d0 = normalize_axis(dim0, x.ndim, "transpose")
    d1 = normalize_axis(dim1, x.ndim, "transpose")
    if x.ndim < 2:
        return x
    axes = list(range(x.ndim))
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return permute_dims(x, axes)


def matrix_transpose(x: Tensor) -> Tensor:
    """Swap the last two axes (``x.mT``)."""
    x = _tensor_arg(x)
    if x.ndim < 2:
        raise ShapeError(
            f"matrix_transpose (.mT) needs at least 2 dimensions, got shape {tuple(x.shape)}"
        )
    return transpose(x, -2, -1)


def expand_dims(x: Tensor, axis: int = 0) -> Tensor:
    """Insert a size-1 axis at ``axis`` (torch's ``unsqueeze``)."""
    x = _tensor_arg(x)
    shape = list(x.shape)
    shape.insert(normalize_axis(axis, x.ndim + 1, "expand_dims"), 1)
    shape = tuple(shape)
    return mark_view(apply1(Reshape(shape), x), x, ("reshape", shape))


def squeeze(x: Tensor, axis: Any = None) -> Tensor:
    """Remove size-1 axes: those in ``axis``, or all of them when ``axis`` is None."""
    x = _tensor_arg(x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = _axes(axis, x.ndim, "squeeze")
        bad = [a for a in axes if x.shape[a] != 1]
        if bad:
            raise ValueError(
                f"cannot squeeze axis {bad[0]} of size {x.shape[bad[0]]} (shape {x.shape})"
            )
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """``x`` broadcast to ``shape`` (torch's ``expand``); the gradient sums back."""
    x = _tensor_arg(x)
    shape = tuple(int(s) for s in shape)
    lead = len(shape) - x.ndim
    if lead < 0 or builtins.any(n != 1 and n != shape[lead + i] for i, n in enumerate(x.shape)):
        raise ValueError(f"cannot broadcast a tensor of shape {x.shape} to {shape}")
    if shape == x.shape:
        return x
    return mark_view(apply1(BroadcastTo(shape), x), x, ("broadcast", shape))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim`` through ``end_dim`` into one (torch's ``flatten``)."""
    x = _tensor_arg(x)
    s = normalize_axis(start_dim, x.ndim, "flatten")
    e = normalize_axis(end_dim, x.ndim, "flatten")
    if x.ndim == 0:
        return reshape(x, (1,))
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (math.prod(x.shape[s : e + 1]),) + x.shape[e + 1 :]
    return reshape(x, shape)


def concat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing ``axis``; all other axes must match."""
    tensors = [_tensor_arg(t) for t in tensors]
    if not tensors:
        raise ValueError("concat needs at least one tensor")
    first = tensors[0]
    if first.ndim == 0:
        raise ValueError("concat cannot join 0-d tensors; use stack")
    ax = normalize_axis(axis, first.ndim, "concat")
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or builtins.any(
            a != b for j, (a, b) in enumerate(zip(t.shape, first.shape)) if j != ax
        ):
            raise ValueError(
                f"concat along axis {axis}: tensor {i} has shape {t.shape}, "
                f"tensor 0 has {first.shape}"
            )
    tensors = _promote_all(tensors)
    return apply(Concat(ax), *tensors)


def _promote_all(tensors: list[Tensor]) -> list[Tensor]:
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) == 1:
        return tensors
    target = functools.reduce(_dtypes.promote_types, (t.dtype for t in tensors))
    return [astype(t, target) if t.dtype is not target else t for t in tensors]


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new ``axis``."""
    tensors = [_tensor_arg(t) for t in tensors]
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack needs tensors of one shape, got {sorted(shapes)}")
    return concat([expand_dims(t, axis) for t in tensors], axis)


def split(x: Tensor, split_size_or_sections: Any, axis: int = 0) -> tuple[Tensor, ...]:
    """Split along ``axis`` into chunks of one size (an int) or of the given sizes (a list).

    As torch's ``split``: with an int the last chunk may be smaller.
    """
    x = _tensor_arg(x)
    axis = normalize_axis(axis, x.ndim, "split")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split size must be positive, got {step}")
        sizes = [builtins.min(step, n - s) for s in range(0, n, step)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise ValueError(f"split sizes {sizes} do not add up to {n} (axis {axis} of {x.shape})")
    lead = (slice(None),) * axis
    out, start = [], 0
    for s in sizes:
        out.append(x[lead + (slice(start, start + s),)])
        start += s
    return tuple(out)


def pad(x: Tensor, pad: Sequence[int], value: float = 0.0) -> Tensor:
    """Constant padding; ``pad`` is torch's layout ``(left, right, top, bottom, ...)``,
    last axis first."""
    return apply1(Pad(pad, value), _tensor_arg(x))
