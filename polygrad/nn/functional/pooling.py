"""``max_pool2d`` and ``avg_pool2d`` over the im2col windows of :mod:`.conv`."""

from __future__ import annotations

import math
from typing import Any

import polygrad as pg
from polygrad import Tensor

from ..._checks import ShapeError, check_int, check_int_tuple
from ._utils import creating_like
from .conv import _batched, _out_size, _windows


def pool_args(who: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any) -> tuple:
    """The window arguments as pairs of ints, refused as torch refuses them (RuntimeError for a
    kernel, stride or dilation below 1, a negative padding or one above half the kernel;
    TypeError for a non-integer). The pooling layers call it when built, the functions here
    when called."""
    kernel = check_int_tuple(kernel_size, 2, who, "kernel_size", minimum=1)
    stride = kernel if stride is None else check_int_tuple(stride, 2, who, "stride", minimum=1)
    padding = check_int_tuple(padding, 2, who, "padding", minimum=0)
    dilation = check_int_tuple(dilation, 2, who, "dilation", minimum=1)
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ShapeError(
                f"{who}: padding={padding} should be at most half of the effective kernel size "
                f"{kernel} (dilation {dilation})"
            )
    return kernel, stride, padding, dilation


def _pool_setup(
    who: str, x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any
) -> tuple:
    in_shape = x.shape
    x, unbatched = _batched(x, who)
    kernel, stride, padding, dilation = pool_args(who, kernel_size, stride, padding, dilation)
    if 0 in x.shape[1:]:  # as torch: only the batch axis may be empty
        raise ShapeError(
            f"{who}: expected a (N, C, H, W) or (C, H, W) input with non-zero C, H and W "
            f"(only N may be 0), got shape {in_shape}"
        )
    h, w = x.shape[-2:]
    sizes = [
        _out_size(n, k, s, p, d) for n, k, s, p, d in zip((h, w), kernel, stride, padding, dilation)
    ]
    if min(sizes) <= 0:
        raise ShapeError(f"{who}: input of shape {in_shape} is too small for kernel {kernel}")
    return x, unbatched, kernel, stride, padding, dilation


def max_pool2d(
    x: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """Maximum over each ``kernel_size`` window (stride defaults to the kernel size); padding
    is -inf. The gradient goes to the first maximum of each window, as in torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.max_pool2d(polygrad.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    x, unbatched, kernel, stride, padding, dilation = _pool_setup(
        "max_pool2d", x, kernel_size, stride, padding, dilation
    )
    if any(padding):
        ph, pw = padding
        x = pg.pad(x, (pw, pw, ph, ph), value=-math.inf)
    win = _windows(x, kernel, stride, dilation)  # (N, C, K, H_out, W_out)
    k = kernel[0] * kernel[1]
    first_max = pg.argmax(win, axis=2, keepdims=True)
    with creating_like(win):
        offsets = pg.reshape(pg.arange(k), (1, 1, k, 1, 1))
    out = pg.sum(pg.where(offsets == first_max, win, 0.0), axis=2)
    return pg.squeeze(out, axis=0) if unbatched else out


def avg_pool2d(
    x: Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each ``kernel_size`` window (stride defaults to the kernel size) of the
    zero-padded input; with ``count_include_pad=False`` padding is left out of the count.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.avg_pool2d(polygrad.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    x, unbatched, kernel, stride, padding, _ = _pool_setup(
        "avg_pool2d", x, kernel_size, stride, padding, 1
    )
    ph, pw = padding
    total = pg.sum(
        _windows(pg.pad(x, (pw, pw, ph, ph)) if ph or pw else x, kernel, stride, (1, 1)), axis=2
    )
    if divisor_override is not None:
        out = total / float(divisor_arg(divisor_override, "avg_pool2d"))
    elif count_include_pad or not (ph or pw):
        out = total / float(kernel[0] * kernel[1])
    else:
        ones = pg.ones_like(x[:1, :1])
        counts = pg.sum(_windows(pg.pad(ones, (pw, pw, ph, ph)), kernel, stride, (1, 1)), axis=2)
        out = total / counts
    return pg.squeeze(out, axis=0) if unbatched else out


def divisor_arg(divisor_override: Any, who: str) -> int:
    d = check_int(divisor_override, who, "divisor_override")
    if d == 0:
        raise ShapeError(f"{who}: divisor_override must not be zero")
    return d
