"""``max_unpool1d/2d`` (the partial inverse of max pooling) and ``channel_shuffle``.

Unpooling writes each input value at its flat per-plane index into a zero buffer with the
engine's scatter-add. Where indices repeat (overlapping pool windows) the last value wins, as
torch's CPU kernel, and each input's gradient is the output gradient at its index (torch's).
"""

from __future__ import annotations

import math
from typing import Any

import polygrad as pg
from polygrad import Tensor

from ..._checks import ShapeError, check_int
from ...ops.arrange import take_along_axis
from ._utils import _as_tensor, creating_like
from .pooling import window_args


def _unpool_size(
    who: str, spatial: tuple, kernel: tuple, stride: tuple, padding: tuple, output_size: Any
) -> tuple[int, ...]:
    """torch's unpooled size: ``(n - 1) * stride - 2 * padding + kernel``, or ``output_size``
    (its last ``dims`` entries) when it lies strictly within one stride of that."""
    dims = len(kernel)
    default = [(n - 1) * s + k - 2 * p for n, k, s, p in zip(spatial, kernel, stride, padding)]
    if output_size is None:
        size = default
    else:
        size = [int(s) for s in output_size]
        if len(size) == dims + 2:
            size = size[2:]
        if len(size) != dims:
            raise ValueError(
                f"{who}: output_size should have {dims} or {dims + 2} elements, got {output_size}"
            )
        for d, (got, base, s) in enumerate(zip(size, default, stride)):
            if not base - s < got < base + s:
                raise ValueError(
                    f"{who}: invalid output_size {tuple(size)} (dim {d} must be between "
                    f"{base - s} and {base + s}, exclusive)"
                )
    if any(s < 0 for s in size):
        raise ValueError(f"{who}: output_size must be non-negative, got {tuple(size)}")
    return tuple(size)


def _max_unpool(who, dims, x, indices, kernel_size, stride, padding, output_size) -> Tensor:
    x = _as_tensor(x, who)
    if not isinstance(indices, Tensor) or indices.dtype != pg.int64:
        got = indices.dtype.name if isinstance(indices, Tensor) else type(indices).__name__
        raise ShapeError(f"{who}: indices must be an int64 tensor, got {got}")
    if x.ndim not in (dims + 1, dims + 2):
        raise ShapeError(
            f"{who}: expected a {dims + 1}-d or {dims + 2}-d input, got shape {x.shape}"
        )
    if tuple(indices.shape) != tuple(x.shape):
        raise ShapeError(
            f"{who}: indices of shape {indices.shape} must have the input's shape {x.shape}"
        )
    kernel, stride, padding = window_args(who, kernel_size, stride, padding, dims)
    size = _unpool_size(who, tuple(x.shape[-dims:]), kernel, stride, padding, output_size)
    lead = tuple(x.shape[:-dims])
    planes, length, out_len = math.prod(lead), math.prod(x.shape[-dims:]), math.prod(size)
    xf = pg.reshape(x, (planes, length))
    idx = pg.reshape(indices, (planes, length))
    if idx.numel() and bool(pg.any((idx < 0) | (idx >= out_len)).item()):
        bad = pg.where((idx < 0) | (idx >= out_len), idx, 0)
        worst = int(pg.amax(bad).item()) or int(pg.amin(bad).item())
        raise ShapeError(
            f"{who}: found an invalid max index {worst} (the output planes have "
            f"{'x'.join(map(str, size))} = {out_len} elements)"
        )
    with creating_like(x):
        zeros = pg.zeros((planes, out_len), dtype=x.dtype)
    # the value: the last write of each repeated index wins (stable sort by index, keep the
    # last of each run); a stop-gradient sum makes the gradient torch's gather at the index
    with pg.no_grad():
        order = pg.argsort(idx, axis=-1, stable=True)
        sidx = take_along_axis(idx, order, axis=-1)
        with creating_like(x):
            end = pg.ones((planes, 1), dtype=pg.bool)
        last = pg.concat([sidx[:, 1:] != sidx[:, :-1], end], axis=1)
        kept = pg.where(last, take_along_axis(xf.detach(), order, axis=-1), 0.0)
        value = pg.scatter_add(zeros, 1, sidx, pg.astype(kept, x.dtype))
    out = value
    if xf.requires_grad:
        linear = pg.scatter_add(zeros, 1, idx, xf)  # its adjoint is the gather at ``idx``
        out = value + (linear - pg.scatter_add(zeros, 1, idx, xf.detach()))
    return pg.reshape(out, lead + size)


def max_unpool1d(
    input: Tensor,  # noqa: A002
    indices: Tensor,
    kernel_size: int | tuple[int],
    stride: int | tuple[int] | None = None,
    padding: int | tuple[int] = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of :func:`max_pool1d` (torch's ``F.max_unpool1d``): each value of
    ``input`` (N, C, L) or (C, L) placed at its index in a zero (N, C, L_out) output,
    ``L_out = (L - 1) * stride - 2 * padding + kernel_size`` or ``output_size``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> x = polygrad.tensor([[[1.0, 3.0, 2.0, 0.0]]])
    >>> out, idx = F.max_pool1d(x, 2, return_indices=True)
    >>> F.max_unpool1d(out, idx, 2).tolist()
    [[[0.0, 3.0, 2.0, 0.0]]]
    """
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(
    input: Tensor,  # noqa: A002
    indices: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    output_size: Any = None,
) -> Tensor:
    """The partial inverse of :func:`max_pool2d` (torch's ``F.max_unpool2d``): each value of
    ``input`` (N, C, H, W) or (C, H, W) placed at its flat per-plane index (as
    ``max_pool2d(..., return_indices=True)`` gives) in a zero output of
    ``(n - 1) * stride - 2 * padding + kernel_size`` per axis, or ``output_size``.

    Raises
    ------
    ShapeError
        (a RuntimeError, as torch) for non-int64 indices, indices of another shape than the
        input, an index outside the output plane, or an input of the wrong rank.
    ValueError
        For an ``output_size`` not within one stride of the default size (as torch).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> out, idx = F.max_pool2d(polygrad.arange(16.0).reshape(1, 1, 4, 4), 2, return_indices=True)
    >>> F.max_unpool2d(out, idx, 2)[0, 0, 1].tolist()
    [0.0, 5.0, 0.0, 7.0]
    """
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:  # noqa: A002
    """Split the channels of (N, C, *) into ``groups`` groups and interleave them: output
    channel ``i * groups + g`` is input channel ``g * (C / groups) + i`` (torch's
    ``F.channel_shuffle``, as in ShuffleNet).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.channel_shuffle(polygrad.arange(6.0).reshape(1, 6, 1), 2).flatten().tolist()
    [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    """
    x = _as_tensor(input, "channel_shuffle")
    groups = check_int(groups, "channel_shuffle", "groups")
    if x.ndim < 3:
        raise ShapeError(
            f"channel_shuffle: expected an input with more than 2 dims, got shape {x.shape}"
        )
    if groups <= 0:
        raise ShapeError(f"channel_shuffle: groups must be positive, got {groups}")
    n, c, *rest = x.shape
    if c % groups:
        raise ShapeError(
            f"channel_shuffle: the {c} channels of an input of shape {x.shape} must be "
            f"divisible by groups={groups}"
        )
    grouped = pg.reshape(x, (n, groups, c // groups, *rest))
    return pg.reshape(pg.permute_dims(grouped, (0, 2, 1, *range(3, x.ndim + 1))), x.shape)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:  # noqa: A002
    """:func:`channel_shuffle` under torch's other name."""
    return channel_shuffle(input, groups)
