"""Max, average and adaptive pooling in 1-d and 2-d, over the im2col windows of :mod:`.conv`.

The 1-d forms run as 2-d ones on a (N, C, 1, L) view. Max pooling finds each window's first
maximum (torch's tie rule) on the raw data, turns it into torch's flat per-plane index, and
gathers the output with it, so the gradient is one scatter-add.
"""

from __future__ import annotations

import math
from typing import Any

import polygrad as pg
from polygrad import Tensor
from polygrad._tensor import Function, apply1

from ..._checks import ShapeError, check_int, check_int_tuple
from ._utils import creating_like
from .conv import _batched, _windows


def window_args(who: str, kernel_size: Any, stride: Any, padding: Any, n: int) -> tuple:
    """``kernel_size``, ``stride`` (None: the kernel) and ``padding`` as ``n``-tuples of ints,
    checked in that order (a kernel or stride below 1 or a negative padding refused); what
    pooling, unpooling and their layers share."""
    kernel = check_int_tuple(kernel_size, n, who, "kernel_size", minimum=1)
    stride = kernel if stride is None else check_int_tuple(stride, n, who, "stride", minimum=1)
    return kernel, stride, check_int_tuple(padding, n, who, "padding", minimum=0)


def pool_args(
    who: str, kernel_size: Any, stride: Any, padding: Any, dilation: Any, n: int = 2
) -> tuple:
    """The window arguments as ``n``-tuples of ints, refused as torch refuses them
    (RuntimeError for a kernel, stride or dilation below 1, a negative padding or one above
    half the kernel; TypeError for a non-integer). The layers call it when built."""
    if isinstance(stride, (list, tuple)) and len(stride) == 0:
        stride = None  # an empty stride is the kernel, as torch
    kernel, stride, padding = window_args(who, kernel_size, stride, padding, n)
    dilation = check_int_tuple(dilation, n, who, "dilation", minimum=1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ShapeError(
            f"{who}: padding={padding} should be at most half of kernel_size={kernel}"
        )
    return kernel, stride, padding, dilation


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """torch's pooled length: with ``ceil_mode`` the last window must start inside the input
    or the left padding."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _as_2d(x: Tensor, who: str, one_d: bool) -> tuple[Tensor, bool]:
    """A (N, C, H, W) view of the input, and whether it was unbatched."""
    if one_d:
        if x.ndim not in (2, 3):
            raise ShapeError(f"{who}: expected a 2-d (C, L) or 3-d (N, C, L) input, got {x.shape}")
        return _batched(pg.expand_dims(x, -2), who)
    return _batched(x, who)


def _undo(out: Tensor, unbatched: bool, one_d: bool) -> Tensor:
    if one_d:
        out = pg.squeeze(out, axis=-2)
    return pg.squeeze(out, axis=0) if unbatched else out


def _check_nonempty(who: str, x: Tensor, in_shape: tuple) -> None:
    """As torch: of the (N, C, H, W) view only the batch axis may be empty."""
    if 0 in x.shape[1:]:
        raise ShapeError(
            f"{who}: expected an input with non-zero channels and sizes (only N may be 0), "
            f"got shape {in_shape}"
        )


def _setup(who: str, x: Tensor, one_d: bool, kernel_size, stride, padding, dilation, ceil_mode):
    in_shape = x.shape
    x, unbatched = _as_2d(x, who, one_d)
    n = 1 if one_d else 2
    args = pool_args(who, kernel_size, stride, padding, dilation, n)
    if one_d:
        args = tuple((1,) + a if i != 2 else (0,) + a for i, a in enumerate(args))
    kernel, stride, padding, dilation = args
    _check_nonempty(who, x, in_shape)
    sizes = tuple(
        _pool_out(m, *a, ceil_mode)
        for m, *a in zip(x.shape[-2:], kernel, stride, padding, dilation)
    )
    if min(sizes) <= 0:
        raise ShapeError(
            f"{who}: input of shape {in_shape} is too small for kernel_size={kernel_size} "
            f"(dilation={dilation}, padding={padding}): output size would be {sizes}"
        )
    return x, unbatched, kernel, stride, padding, dilation, sizes


def _padded(x: Tensor, kernel, stride, padding, dilation, sizes, value: float) -> Tensor:
    """``x`` padded by ``padding`` and, at the end, by what ceil mode's last windows need."""
    pads = []
    for m, k, s, p, d, o in zip(x.shape[-2:], kernel, stride, padding, dilation, sizes):
        pads.append((p, max(p, (o - 1) * s + d * (k - 1) + 1 - m - p)))
    (top, bottom), (left, right) = pads
    if top or bottom or left or right:
        x = pg.pad(x, (left, right, top, bottom), value=value)
    return x


def _plane_gather(x: Tensor, flat: Tensor) -> Tensor:
    """``x`` (N, C, H, W) at the flat per-plane indices ``flat`` (N, C, Ho, Wo)."""
    n, c, h, w = x.shape
    planes = pg.reshape(x, (n, c, h * w))
    out = pg.gather(planes, 2, pg.reshape(flat, (n, c, flat.shape[-2] * flat.shape[-1])))
    return pg.reshape(out, flat.shape)


def _first_argmax(x: Tensor, kernel, stride, dilation, sizes) -> Tensor:
    """The kernel offset (row-major) of each window's first maximum, as torch picks it, by a
    running comparison over the kernel's strided views (faster than an argmax over a stacked
    window axis). A NaN wins, as in torch."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, sizes
    best = arg = None
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            view = x[:, :, rows, cols]
            if best is None:
                best, arg = view, pg.zeros_like(view, dtype=pg.int64)
                continue
            better = (view > best) | (view != view)
            best = pg.where(better, view, best)
            arg = pg.where(better, i * kw + j, arg)
    return arg


def _block_views(x: Any, kernel, sizes) -> list:
    """The strided views of (N, C, H, W) ``x`` at each offset (row-major) of non-overlapping
    ``kernel`` blocks, each (N, C, *sizes)."""
    (kh, kw), (ho, wo) = kernel, sizes
    return [x[:, :, i : ho * kh : kh, j : wo * kw : kw] for i in range(kh) for j in range(kw)]


def _first_max_masks(xp: Any, views: list, out: Any) -> list:
    """For each kernel offset, where it holds its window's maximum ``out`` as torch picks it:
    the first maximum in row-major order, or, in a window holding a NaN, the last NaN."""
    if bool(xp.any(out != out)):  # rare: the running comparison of torch's kernel
        best, masks = views[0], [None] * len(views)
        for k, v in enumerate(views[1:], 1):
            better = xp.logical_or(v > best, v != v)
            best = xp.where(better, v, best)
            masks = [m if m is None else xp.logical_and(m, xp.logical_not(better)) for m in masks]
            masks[k] = better
        rest = masks[1] if len(masks) > 1 else None
        for m in masks[2:]:
            rest = xp.logical_or(rest, m)
        masks[0] = xp.logical_not(rest)
        return masks
    masks, taken = [], None
    for v in views:
        m = v == out
        if taken is not None:
            m = xp.logical_and(m, xp.logical_not(taken))
        masks.append(m)
        taken = m if taken is None else xp.logical_or(taken, m)
    return masks


class _MaxPoolBlocks(Function):
    """Max pooling over non-overlapping windows inside the input (kernel = stride, no
    padding or dilation): the maximum of the kernel's strided views, and a backward that puts
    each gradient at its window's first maximum; computes what the general path does."""

    saves = "both"
    exact = fresh = True

    def __init__(self, kernel: tuple[int, int], sizes: tuple[int, int]) -> None:
        self.kernel, self.sizes = kernel, sizes

    def forward(self, xp, x):
        views = _block_views(x, self.kernel, self.sizes)
        out = xp.maximum(views[0], views[1])
        for v in views[2:]:
            out = xp.maximum(out, v)
        return out

    def backward(self, xp, g, x, out):
        views = _block_views(x, self.kernel, self.sizes)
        if isinstance(g, Tensor):  # create_graph: recorded ops, so the rule differentiates
            with pg.no_grad():
                masks = _first_max_masks(pg, views, out.detach())
            return (_interleave([pg.where(m, g, 0.0) for m in masks], self.kernel, x.shape),)
        masks = _first_max_masks(xp, views, out)
        device = xp.backend.device_of(g)
        with xp.backend.on(device):
            dx = xp.zeros(x.shape, dtype=g.dtype, device=device)
        for slot, m in zip(_block_views(dx, self.kernel, self.sizes), masks):
            slot[...] = xp.where(m, g, 0.0)
        return (dx,)


def _interleave(parts: list, kernel: tuple[int, int], shape: tuple) -> Tensor:
    """The (N, C, H, W) Tensor holding ``parts`` (one (N, C, ho, wo) per kernel offset) at
    their block positions, zero in the rows and columns no block covers."""
    (kh, kw), (n, c, ho, wo) = kernel, parts[0].shape
    blocks = pg.reshape(pg.stack(parts, axis=-1), (n, c, ho, wo, kh, kw))
    dx = pg.reshape(pg.permute_dims(blocks, (0, 1, 2, 4, 3, 5)), (n, c, ho * kh, wo * kw))
    bottom, right = shape[-2] - ho * kh, shape[-1] - wo * kw
    return pg.pad(dx, (0, right, 0, bottom)) if bottom or right else dx


def _max_pool(who, x, one_d, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched, kernel, stride, padding, dilation, sizes = _setup(
        who, x, one_d, kernel_size, stride, padding, dilation, ceil_mode
    )
    blocks = stride == kernel and padding == (0, 0) and dilation == (1, 1) and kernel != (1, 1)
    inside = all(o * k <= m for o, k, m in zip(sizes, kernel, x.shape[-2:]))
    if blocks and inside and not return_indices and x.dtype.is_floating_point:
        return _undo(apply1(_MaxPoolBlocks(kernel, sizes), x), unbatched, one_d)
    kw, (sh, sw), (ph, pw), (dh, dw), (ho, wo) = kernel[1], stride, padding, dilation, sizes
    with pg.no_grad():
        bare = x.detach()
        arg = _first_argmax(_padded(bare, kernel, stride, padding, dilation, sizes, -math.inf),
                            kernel, stride, dilation, sizes)
        with creating_like(x):
            rows = pg.reshape(pg.arange(ho) * sh - ph, (ho, 1))
            cols = pg.reshape(pg.arange(wo) * sw - pw, (1, wo))
        flat = (rows + (arg // kw) * dh) * x.shape[-1] + cols + (arg % kw) * dw
    out = _plane_gather(x, flat)
    out = _undo(out, unbatched, one_d)
    return (out, _undo(flat, unbatched, one_d)) if return_indices else out


def max_pool2d_with_indices(
    input: Tensor,  # noqa: A002
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = True,
) -> tuple[Tensor, Tensor]:
    """:func:`max_pool2d` that also returns torch's indices (flat, per (H, W) plane)."""
    return _max_pool(
        "max_pool2d", input, False, kernel_size, stride, padding, dilation, ceil_mode, True
    )


def max_pool2d(
    input: Tensor,  # noqa: A002
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Maximum over each ``kernel_size`` window of (N, C, H, W) or (C, H, W) input (stride
    defaults to the kernel size; padding is -inf). The gradient goes to the first maximum of
    each window, as in torch; ``return_indices`` also returns where it was, as a flat index
    into each (H, W) plane.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.max_pool2d(polygrad.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_pool(
        "max_pool2d", input, False, kernel_size, stride, padding, dilation, ceil_mode,
        return_indices,
    )


def max_pool1d_with_indices(
    input: Tensor,  # noqa: A002
    kernel_size: int | tuple[int],
    stride: int | tuple[int] | None = None,
    padding: int | tuple[int] = 0,
    dilation: int | tuple[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = True,
) -> tuple[Tensor, Tensor]:
    """:func:`max_pool1d` that also returns torch's indices."""
    return _max_pool(
        "max_pool1d", input, True, kernel_size, stride, padding, dilation, ceil_mode, True
    )


def max_pool1d(
    input: Tensor,  # noqa: A002
    kernel_size: int | tuple[int],
    stride: int | tuple[int] | None = None,
    padding: int | tuple[int] = 0,
    dilation: int | tuple[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Maximum over each window of (N, C, L) or (C, L) input, as :func:`max_pool2d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.max_pool1d(polygrad.tensor([[1.0, 3.0, 2.0, 0.0]]), 2).tolist()
    [[3.0, 2.0]]
    """
    return _max_pool(
        "max_pool1d", input, True, kernel_size, stride, padding, dilation, ceil_mode,
        return_indices,
    )


def _avg_pool(who, x, one_d, kernel_size, stride, padding, ceil_mode, include_pad, divisor):
    x, unbatched, kernel, stride, padding, _, sizes = _setup(
        who, x, one_d, kernel_size, stride, padding, 1, ceil_mode
    )
    if divisor is not None:
        divisor = divisor_arg(divisor, who)
    dil = (1, 1)
    win = _windows(_padded(x, kernel, stride, padding, dil, sizes, 0.0), kernel, stride, dil)
    total = pg.sum(win[..., : sizes[0], : sizes[1]], axis=2)
    if divisor is not None:
        return _undo(total / float(divisor), unbatched, one_d)
    counts = []  # torch's divisor per axis: the window clipped to the padded (or bare) input
    for m, k, s, p, o in zip(x.shape[-2:], kernel, stride, padding, sizes):
        axis = []
        for i in range(o):
            start = i * s - p
            end = min(start + k, m + p)
            if not include_pad:
                start, end = max(start, 0), min(end, m)
            axis.append(float(end - start))
        counts.append(axis)
    with creating_like(total):
        div = pg.reshape(pg.asarray(counts[0], dtype=total.dtype), (-1, 1)) * pg.asarray(
            counts[1], dtype=total.dtype
        )
    return _undo(total / div, unbatched, one_d)


def avg_pool2d(
    input: Tensor,  # noqa: A002
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each ``kernel_size`` window (stride defaults to the kernel size) of the
    zero-padded input. As torch, the divisor is the window clipped to the padded input
    (``count_include_pad=True``) or to the input alone, or ``divisor_override``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.avg_pool2d(polygrad.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    return _avg_pool(
        "avg_pool2d", input, False, kernel_size, stride, padding, ceil_mode, count_include_pad,
        divisor_override,
    )


def avg_pool1d(
    input: Tensor,  # noqa: A002
    kernel_size: int | tuple[int],
    stride: int | tuple[int] | None = None,
    padding: int | tuple[int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean over each window of (N, C, L) or (C, L) input, as :func:`avg_pool2d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.avg_pool1d(polygrad.tensor([[1.0, 3.0, 2.0, 0.0]]), 2).tolist()
    [[2.0, 1.0]]
    """
    return _avg_pool(
        "avg_pool1d", input, True, kernel_size, stride, padding, ceil_mode, count_include_pad,
        None,
    )


def divisor_arg(divisor_override: Any, who: str) -> int:
    d = check_int(divisor_override, who, "divisor_override")
    if d == 0:
        raise ShapeError(f"{who}: divisor_override must not be zero")
    return d


def _adaptive_bounds(size: int, out: int) -> list[tuple[int, int]]:
    """torch's adaptive windows: ``[floor(i * size / out), ceil((i + 1) * size / out))``."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def _adaptive_setup(who: str, x: Tensor, one_d: bool, output_size: Any) -> tuple:
    in_shape = x.shape
    x, unbatched = _as_2d(x, who, one_d)
    n = 1 if one_d else 2
    items = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * n
    if len(items) != n:
        raise ShapeError(f"{who}: output_size must be {n} integers, got {output_size!r}")
    items = tuple(m if o is None else o for o, m in zip(items, x.shape[-n:]))
    sizes = check_int_tuple(items, n, who, "output_size", minimum=0)
    if one_d:
        sizes = (1,) + sizes
    _check_nonempty(who, x, in_shape)
    return x, unbatched, sizes


def _adaptive_taps(m: int, o: int, like: Tensor) -> tuple[Tensor, int]:
    """(o * kmax) input positions per output, each window padded by repeating its last
    position (which changes neither a maximum nor which one comes first)."""
    bounds = _adaptive_bounds(m, o)
    kmax = max((e - s for s, e in bounds), default=1)
    flat = [min(s + j, e - 1) for s, e in bounds for j in range(kmax)]
    with creating_like(like):
        return pg.asarray(flat, dtype=pg.int64), kmax


def _adaptive_max(who, x, one_d, output_size, return_indices):
    x, unbatched, (ho, wo) = _adaptive_setup(who, x, one_d, output_size)
    n, c, h, w = x.shape
    with pg.no_grad():
        rows, kh = _adaptive_taps(h, ho, x)
        cols, kw = _adaptive_taps(w, wo, x)
        win = pg.index_select(pg.index_select(x.detach(), 2, rows), 3, cols)
        win = pg.reshape(win, (n, c, ho, kh, wo, kw))
        win = pg.reshape(pg.permute_dims(win, (0, 1, 2, 4, 3, 5)), (n, c, ho, wo, kh * kw))
        arg = pg.argmax(win, axis=-1)
        r = pg.reshape(rows, (ho, kh))
        cl = pg.reshape(cols, (wo, kw))
        with creating_like(x):
            oh = pg.reshape(pg.arange(ho), (ho, 1))
            ow = pg.reshape(pg.arange(wo), (1, wo))
        row = pg.reshape(pg.reshape(r, (-1,))[pg.reshape(oh * kh + arg // kw, (-1,))],
                         arg.shape)
        col = pg.reshape(pg.reshape(cl, (-1,))[pg.reshape(ow * kw + arg % kw, (-1,))],
                         arg.shape)
        flat = row * w + col
    out = _undo(_plane_gather(x, flat), unbatched, one_d)
    return (out, _undo(flat, unbatched, one_d)) if return_indices else out


def _averaging(m: int, o: int, like: Tensor) -> Tensor:
    """The (o, m) matrix whose rows average torch's adaptive windows."""
    rows = [[0.0] * m for _ in range(o)]
    for i, (s, e) in enumerate(_adaptive_bounds(m, o)):
        for j in range(s, e):
            rows[i][j] = 1.0 / (e - s)
    with creating_like(like):
        return pg.reshape(pg.asarray(rows, dtype=like.dtype), (o, m))


def _adaptive_avg(who, x, one_d, output_size):
    x, unbatched, (ho, wo) = _adaptive_setup(who, x, one_d, output_size)
    h, w = x.shape[-2:]
    out = pg.matmul(pg.matmul(_averaging(h, ho, x), x), pg.matrix_transpose(_averaging(w, wo, x)))
    return _undo(out, unbatched, one_d)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Mean over torch's adaptive windows, giving an ``output_size`` (H_out, W_out) output
    (an entry None keeps that input size).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.adaptive_avg_pool2d(polygrad.ones(1, 2, 5, 7), (2, 3)).shape
    (1, 2, 2, 3)
    """
    return _adaptive_avg("adaptive_avg_pool2d", input, False, output_size)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """Mean over torch's adaptive windows of (N, C, L) or (C, L) input.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.adaptive_avg_pool1d(polygrad.tensor([[1.0, 3.0, 2.0]]), 2).tolist()
    [[2.0, 2.5]]
    """
    return _adaptive_avg("adaptive_avg_pool1d", input, True, output_size)


def adaptive_max_pool2d(
    input: Tensor, output_size: Any, return_indices: bool = False  # noqa: A002
) -> Tensor | tuple[Tensor, Tensor]:
    """Maximum over torch's adaptive windows (first maximum on ties, flat per-plane indices).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.adaptive_max_pool2d(polygrad.ones(1, 2, 5, 7), 3).shape
    (1, 2, 3, 3)
    """
    return _adaptive_max("adaptive_max_pool2d", input, False, output_size, return_indices)


def adaptive_max_pool1d(
    input: Tensor, output_size: Any, return_indices: bool = False  # noqa: A002
) -> Tensor | tuple[Tensor, Tensor]:
    """Maximum over torch's adaptive windows of (N, C, L) or (C, L) input.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.adaptive_max_pool1d(polygrad.tensor([[1.0, 3.0, 2.0]]), 2).tolist()
    [[3.0, 3.0]]
    """
    return _adaptive_max("adaptive_max_pool1d", input, True, output_size, return_indices)


def adaptive_max_pool2d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = True  # noqa: A002
) -> tuple[Tensor, Tensor]:
    """:func:`adaptive_max_pool2d` with its indices."""
    return _adaptive_max("adaptive_max_pool2d", input, False, output_size, True)


def adaptive_max_pool1d_with_indices(
    input: Tensor, output_size: Any, return_indices: bool = True  # noqa: A002
) -> tuple[Tensor, Tensor]:
    """:func:`adaptive_max_pool1d` with its indices."""
    return _adaptive_max("adaptive_max_pool1d", input, True, output_size, True)
