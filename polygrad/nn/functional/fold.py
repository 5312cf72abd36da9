"""``unfold`` (im2col) and ``fold`` (col2im) of image batches, as torch's ``F.unfold``."""

from __future__ import annotations

from typing import Any

import polygrad as pg
from polygrad import Tensor

from ..._checks import DimensionError, ShapeError, check_int_tuple
from ._unfold import Grid
from ._unfold import fold as _fold
from ._unfold import unfold as _unfold
from ._utils import _as_tensor


def _window_args(who: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> tuple:
    return (
        check_int_tuple(kernel_size, 2, who, "kernel_size", minimum=1),
        check_int_tuple(dilation, 2, who, "dilation", minimum=1),
        check_int_tuple(padding, 2, who, "padding", minimum=0),
        check_int_tuple(stride, 2, who, "stride", minimum=1),
    )


def _blocks(size: Any, kernel: Any, dilation: Any, padding: Any, stride: Any) -> tuple[int, ...]:
    return tuple(
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, k, d, p, s in zip(size, kernel, dilation, padding, stride)
    )


def _check_float(x: Tensor, who: str) -> None:
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"{who}: not implemented for dtype {x.dtype.name}")


def unfold(
    input: Tensor,  # noqa: A002
    kernel_size: int | tuple[int, int],
    dilation: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> Tensor:
    """Sliding local blocks of a (N, C, H, W) or (C, H, W) input as columns
    (N, C * kh * kw, L), ``L`` the number of blocks (torch's ``F.unfold``, im2col).

    The column axis runs over channels, then kernel rows, then kernel columns; the blocks
    in row-major order. The gradient is :func:`fold`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.unfold(polygrad.arange(9.0).reshape(1, 1, 3, 3), 2).tolist()
    [[[0.0, 1.0, 3.0, 4.0], [1.0, 2.0, 4.0, 5.0], [3.0, 4.0, 6.0, 7.0], [4.0, 5.0, 7.0, 8.0]]]
    """
    x = _as_tensor(input, "unfold")
    if x.ndim < 3:
        raise DimensionError(f"unfold: expected a 3-d or 4-d input, got shape {x.shape}")
    kernel, dilation, padding, stride = _window_args(
        "unfold", kernel_size, dilation, padding, stride
    )
    if x.ndim > 4 or 0 in x.shape[-3:]:
        raise ShapeError(
            f"unfold: expected a 3-d or 4-d input with non-zero sizes except the batch, got "
            f"shape {x.shape}"
        )
    _check_float(x, "unfold")
    blocks = _blocks(x.shape[-2:], kernel, dilation, padding, stride)
    if min(blocks) < 1:
        raise ShapeError(
            f"unfold: input of spatial size {x.shape[-2:]} with kernel_size={kernel}, "
            f"dilation={dilation}, padding={padding}, stride={stride} gives {blocks} blocks, "
            "which is too small (non-positive)"
        )
    unbatched = x.ndim == 3
    grid = Grid(tuple(x.shape[-2:]), blocks, kernel, stride, dilation, padding)
    out = _unfold(pg.expand_dims(x, 0) if unbatched else x, grid)
    return pg.squeeze(out, axis=0) if unbatched else out


def fold(
    input: Tensor,  # noqa: A002
    output_size: int | tuple[int, int],
    kernel_size: int | tuple[int, int],
    dilation: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> Tensor:
    """Sum columns (N, C * kh * kw, L) of sliding blocks back into a (N, C, *output_size)
    image (torch's ``F.fold``, col2im): overlapping entries add up. The inverse layout of
    :func:`unfold`, and its gradient.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.fold(polygrad.ones(1, 4, 4), (3, 3), 2).tolist()
    [[[[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]]]
    """
    x = _as_tensor(input, "fold")
    size = check_int_tuple(output_size, 2, "fold", "output_size")
    kernel, dilation, padding, stride = _window_args("fold", kernel_size, dilation, padding, stride)
    if x.ndim not in (2, 3) or 0 in x.shape[-2:]:
        raise ShapeError(
            f"fold: expected a 2-d or 3-d input with non-zero sizes except the batch, got "
            f"shape {x.shape}"
        )
    _check_float(x, "fold")
    k = kernel[0] * kernel[1]
    if x.shape[-2] % k:
        raise ShapeError(
            f"fold: input axis -2 of size {x.shape[-2]} must be divisible by the product of "
            f"kernel_size={kernel}"
        )
    blocks = _blocks(size, kernel, dilation, padding, stride)
    if min(blocks) < 1 or blocks[0] * blocks[1] != x.shape[-1]:
        raise ShapeError(
            f"fold: output_size={size}, kernel_size={kernel}, dilation={dilation}, "
            f"padding={padding}, stride={stride} give {blocks} blocks, but the input of shape "
            f"{x.shape} has {x.shape[-1]}"
        )
    unbatched = x.ndim == 2
    grid = Grid(size, blocks, kernel, stride, dilation, padding)
    out = _fold(pg.expand_dims(x, 0) if unbatched else x, grid)
    return pg.squeeze(out, axis=0) if unbatched else out
