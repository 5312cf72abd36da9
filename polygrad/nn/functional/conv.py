"""Convolutions (``conv1d/2d/3d``) and transposed convolutions as N-d im2col and one matmul,
and the 2-d window helpers pooling shares."""

from __future__ import annotations

import math
from typing import Any

import polygrad as pg
from polygrad import Tensor

from ..._checks import DtypeMismatchError, ShapeError, check_int, check_int_tuple
from ._unfold import Grid, fold, unfold


def _windows(
    x: Tensor, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> Tensor:
    """im2col: every kernel offset's strided view of ``x`` (N, C, H, W), stacked to
    (N, C, kh * kw, H_out, W_out) with the offset axis in row-major kernel order."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    h, w = x.shape[-2:]
    h_out = (h - dh * (kh - 1) - 1) // sh + 1
    w_out = (w - dw * (kw - 1) - 1) // sw + 1
    views = []
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            rows = slice(top, top + sh * (h_out - 1) + 1, sh)
            cols = slice(left, left + sw * (w_out - 1) + 1, sw)
            views.append(x[:, :, rows, cols])
    return pg.stack(views, axis=2)


def _out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def _batched(x: Tensor, who: str) -> tuple[Tensor, bool]:
    """A 4-d view of a (N, C, H, W) or unbatched (C, H, W) input, and whether it was unbatched."""
    if x.ndim == 3:
        return pg.expand_dims(x, 0), True
    if x.ndim == 4:
        return x, False
    raise ShapeError(f"{who}: expected a 3-d (C, H, W) or 4-d (N, C, H, W) input, got {x.shape}")


Pads = tuple[tuple[int, ...], tuple[int, ...]]  # (before, after) per spatial axis


def _as_batched(x: Tensor, dims: int, who: str) -> tuple[Tensor, bool]:
    """(N, C, *spatial) of a batched or unbatched (C, *spatial) input; whether it was unbatched."""
    if x.ndim == dims + 1:
        return pg.expand_dims(x, 0), True
    if x.ndim == dims + 2:
        return x, False
    raise ShapeError(
        f"{who}: expected a {dims + 1}-d (unbatched) or {dims + 2}-d (batched) input, got input "
        f"of shape {x.shape}"
    )


def conv_padding(
    padding: int | tuple[int, ...] | str,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    who: str,
) -> Pads:
    """``padding`` (ints, ``'valid'`` or ``'same'``) as zero padding before and after each
    spatial axis. ``'same'`` pads ``dilation * (kernel - 1)`` in all, the odd one at the end
    (torch's rule), and refuses strides above 1."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * len(kernel), (0,) * len(kernel)
        if padding != "same":
            raise ShapeError(f"{who}: invalid padding string {padding!r} (use 'valid' or 'same')")
        if any(s != 1 for s in stride):
            raise ShapeError(
                f"{who}: padding='same' is not supported for strided convolutions (stride={stride})"
            )
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)
    pads = check_int_tuple(padding, len(kernel), who, "padding", minimum=0)
    return pads, pads


def _check_weight(
    who: str, x: Tensor, weight: Tensor, bias: Tensor | None, groups: Any, transposed: bool
) -> int:
    """torch's checks of a convolution's weight, groups, channels, bias and dtypes; the
    groups as an int."""
    dims = x.ndim - 2
    groups = check_int(groups, who, "groups")
    if groups <= 0:
        raise ShapeError(f"{who}: non-positive groups={groups} is not supported")
    if weight.ndim != dims + 2:
        raise ShapeError(
            f"{who}: expected a {dims + 2}-d weight for an input of {dims} spatial axes, got "
            f"weight of shape {weight.shape}"
        )
    if weight.shape[0] < 1 or weight.shape[0] % groups:
        raise ShapeError(
            f"{who}: weight of shape {weight.shape} needs at least one output channel and "
            f"axis 0 divisible by groups={groups}"
        )
    if 0 in weight.shape[2:]:
        raise ShapeError(f"{who}: kernel size must be positive, got weight of shape {weight.shape}")
    c = x.shape[1]
    expected = weight.shape[0] if transposed else weight.shape[1] * groups
    if c != expected:
        raise ShapeError(
            f"{who}: input of shape {x.shape} has {c} channels, but weight of shape "
            f"{weight.shape} with groups={groups} expects {expected}"
        )
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ShapeError(
            f"{who}: bias must be 1-d with {out_channels} elements for weight of shape "
            f"{weight.shape}, got bias of shape {bias.shape}"
        )
    for t, what in ((weight, "weight"), (bias, "bias")):
        if t is not None and t.dtype != x.dtype:
            raise DtypeMismatchError(
                f"{who}: input is {x.dtype.name} but {what} is {t.dtype.name}; they must match"
            )
    return groups


def _add_bias(out: Tensor, bias: Tensor | None) -> Tensor:
    if bias is None:
        return out
    return out + pg.reshape(bias, (bias.shape[0],) + (1,) * (out.ndim - 2))


def _conv(
    who: str,
    dims: int,
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: Any,
) -> Tensor:
    """The one N-d convolution: im2col columns (N, C * K, L), then one matmul per group."""
    x, unbatched = _as_batched(x, dims, who)
    groups = _check_weight(who, x, weight, bias, groups, transposed=False)
    stride = check_int_tuple(stride, dims, who, "stride", minimum=1)
    dilation = check_int_tuple(dilation, dims, who, "dilation", minimum=1)
    kernel = tuple(weight.shape[2:])
    before, after = conv_padding(padding, kernel, stride, dilation, who)
    n, c, *spatial = x.shape
    padded = [s + b + a for s, b, a in zip(spatial, before, after)]
    reach = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(p < r for p, r in zip(padded, reach)):
        raise ShapeError(
            f"{who}: input of shape {x.shape} is too small: its padded size {tuple(padded)} is "
            f"below the dilated kernel size {tuple(reach)}"
        )
    if 0 in spatial:
        raise ShapeError(f"{who}: only the batch or channel axis may be empty, got {x.shape}")
    blocks = tuple((p - r) // s + 1 for p, r, s in zip(padded, reach, stride))
    grid = Grid(tuple(spatial), blocks, kernel, stride, dilation, before)
    o, cg = weight.shape[:2]
    # columns (N, C * K, L) and one matmul per sample and group, (O/G, Cg * K) @ (Cg * K, L):
    # the output comes out as (N, O, L), already the (N, O, *blocks) layout, so neither it
    # nor its gradient is ever transposed (measured faster than one (C * K, N * L) matmul)
    cols = unfold(x, grid)
    if groups == 1:
        out = pg.matmul(pg.reshape(weight, (o, cg * grid.ksize)), cols)
    else:
        cols = pg.reshape(cols, (n, groups, cg * grid.ksize, math.prod(blocks)))
        out = pg.matmul(pg.reshape(weight, (groups, o // groups, cg * grid.ksize)), cols)
    out = _add_bias(pg.reshape(out, (n, o, *blocks)), bias)
    if c == 0:
        # NOTE: torch returns an empty output of the input's zero channels here, not the bias
        # over C_out channels; the slice keeps weight and bias in the graph (zero gradients)
        out = out[:, :0]
    return pg.squeeze(out, axis=0) if unbatched else out


def conv_transpose_size(
    spatial: Any, kernel: Any, stride: Any, padding: Any, output_padding: Any, dilation: Any
) -> tuple[int, ...]:
    """A transposed convolution's output size: ``(n - 1) * s - 2 p + d (k - 1) + op + 1``."""
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, k, s, p, op, d in zip(spatial, kernel, stride, padding, output_padding, dilation)
    )


def _conv_transpose(
    who: str,
    dims: int,
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: Any,
    dilation: Any,
) -> Tensor:
    """The adjoint of ``_conv``: one matmul per group to columns, then col2im (``Fold``)."""
    x, unbatched = _as_batched(x, dims, who)
    if isinstance(padding, str):
        raise TypeError(f"{who}: padding must be ints, not the string {padding!r}")
    groups = _check_weight(who, x, weight, bias, groups, transposed=True)
    stride = check_int_tuple(stride, dims, who, "stride", minimum=1)
    dilation = check_int_tuple(dilation, dims, who, "dilation", minimum=1)
    padding = check_int_tuple(padding, dims, who, "padding", minimum=0)
    output_padding = check_int_tuple(output_padding, dims, who, "output_padding", minimum=0)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise ShapeError(
            f"{who}: output_padding={output_padding} must be smaller than either stride="
            f"{stride} or dilation={dilation}"
        )
    n, c, *spatial = x.shape
    kernel = tuple(weight.shape[2:])
    size = conv_transpose_size(spatial, kernel, stride, padding, output_padding, dilation)
    if min(size) <= 0 or 0 in spatial:
        raise ShapeError(
            f"{who}: input of shape {x.shape} with kernel {kernel}, stride {stride}, padding "
            f"{padding} and dilation {dilation} gives an empty output size {size}"
        )
    grid = Grid(size, tuple(spatial), kernel, stride, dilation, padding, batch_last=True)
    og, length = weight.shape[1], math.prod(spatial)
    w = pg.reshape(weight, (groups, c // groups, og * grid.ksize))
    xm = pg.reshape(pg.permute_dims(x, (1, 0, *range(2, dims + 2))), (groups, c // groups, -1))
    cols = pg.matmul(pg.matrix_transpose(w), xm)  # (G, og * K, N * L)
    out = fold(pg.reshape(cols, (groups * og * grid.ksize, n * length)), grid)
    out = _add_bias(out, bias)
    return pg.squeeze(out, axis=0) if unbatched else out


def conv1d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int] = 1,
    padding: int | tuple[int] | str = 0,
    dilation: int | tuple[int] = 1,
    groups: int = 1,
) -> Tensor:
    """1-d cross-correlation (torch's ``conv1d``) of ``input`` (N, C_in, L) or (C_in, L) with
    ``weight`` (C_out, C_in / groups, k); see :func:`conv2d` for the arguments.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.conv1d(polygrad.ones(1, 2, 5), polygrad.ones(4, 1, 3), groups=2).tolist()[0][0]
    [3.0, 3.0, 3.0]
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> Tensor:
    """2-d cross-correlation (torch's ``conv2d``) of ``input`` (N, C_in, H, W) or unbatched
    (C_in, H, W) with ``weight`` (C_out, C_in / groups, kh, kw).

    Built as im2col: the windows of the (implicitly zero-padded) input copied to columns
    (N, C_in * kh * kw, H_out * W_out), then one matmul per group. ``padding`` may be ints or
    ``"valid"`` / ``"same"`` (stride 1 only; an odd total padding puts the extra row and
    column at the end, as torch). ``groups=C_in`` is a depthwise convolution.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.conv2d(polygrad.ones(1, 1, 4, 4), polygrad.ones(2, 1, 3, 3), padding=1).shape
    (1, 2, 4, 4)
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int, int] = 1,
    padding: int | tuple[int, int, int] | str = 0,
    dilation: int | tuple[int, int, int] = 1,
    groups: int = 1,
) -> Tensor:
    """3-d cross-correlation (torch's ``conv3d``) of ``input`` (N, C_in, D, H, W) or
    (C_in, D, H, W) with ``weight`` (C_out, C_in / groups, kd, kh, kw); see :func:`conv2d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.conv3d(polygrad.ones(1, 1, 3, 3, 3), polygrad.ones(1, 1, 2, 2, 2)).shape
    (1, 1, 2, 2, 2)
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int] = 1,
    padding: int | tuple[int] = 0,
    output_padding: int | tuple[int] = 0,
    groups: int = 1,
    dilation: int | tuple[int] = 1,
) -> Tensor:
    """1-d transposed convolution (torch's ``conv_transpose1d``) of (N, C_in, L) or (C_in, L)
    with ``weight`` (C_in, C_out / groups, k); see :func:`conv_transpose2d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.conv_transpose1d(polygrad.ones(1, 1, 3), polygrad.ones(1, 1, 2), stride=2).tolist()
    [[[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]]
    """
    return _conv_transpose(
        "conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
        dilation,
    )  # fmt: skip


def conv_transpose2d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """2-d transposed convolution (torch's ``conv_transpose2d``, the gradient of ``conv2d``
    with respect to its input) of (N, C_in, H, W) or (C_in, H, W) with ``weight``
    (C_in, C_out / groups, kh, kw).

    The output size is ``(n - 1) * stride - 2 * padding + dilation * (k - 1) +
    output_padding + 1`` per axis; ``output_padding`` must be below the stride or the
    dilation. Built as one matmul per group to columns and a col2im (``F.fold``).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.conv_transpose2d(polygrad.ones(1, 2, 3, 3), polygrad.ones(2, 4, 3, 3), stride=2,
    ...                    padding=1, output_padding=1).shape
    (1, 4, 6, 6)
    """
    return _conv_transpose(
        "conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
        dilation,
    )  # fmt: skip


def conv_transpose3d(
    input: Tensor,  # noqa: A002
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int, int] = 1,
    padding: int | tuple[int, int, int] = 0,
    output_padding: int | tuple[int, int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int, int] = 1,
) -> Tensor:
    """3-d transposed convolution (torch's ``conv_transpose3d``) of (N, C_in, D, H, W) or
    (C_in, D, H, W) with ``weight`` (C_in, C_out / groups, kd, kh, kw); see
    :func:`conv_transpose2d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.conv_transpose3d(polygrad.ones(1, 1, 2, 2, 2), polygrad.ones(1, 1, 2, 2, 2)).shape
    (1, 1, 3, 3, 3)
    """
    return _conv_transpose(
        "conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
        dilation,
    )  # fmt: skip
