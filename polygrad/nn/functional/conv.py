"""``conv2d`` as im2col and one matmul, and the window helpers pooling shares."""

from __future__ import annotations

import polygrad as pg
from polygrad import Tensor

from ..._checks import ShapeError, check_int, check_int_tuple


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


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] | str = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> Tensor:
    """2-d cross-correlation (torch's ``conv2d``) of ``input`` (N, C_in, H, W) with ``weight``
    (C_out, C_in / groups, kh, kw).

    Built as im2col: ``kh * kw`` strided slices of the zero-padded input stacked together,
    then one matmul batched over the groups. ``padding`` may be ints or ``"valid"`` / ``"same"``
    (stride 1 only; an odd total padding puts the extra row and column at the end, as torch).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.conv2d(polygrad.ones(1, 1, 4, 4), polygrad.ones(2, 1, 3, 3), padding=1).shape
    (1, 2, 4, 4)
    """
    in_shape = x.shape
    x, unbatched = _batched(x, "conv2d")
    stride = check_int_tuple(stride, 2, "conv2d", "stride", minimum=1)
    dilation = check_int_tuple(dilation, 2, "conv2d", "dilation", minimum=1)
    groups = check_int(groups, "conv2d", "groups", minimum=1)
    if weight.ndim != 4:
        raise ShapeError(
            f"conv2d: weight must be 4-d (C_out, C_in / groups, kh, kw), got {weight.shape}"
        )
    o, c_per_group, kh, kw = weight.shape
    n, c, h, w = x.shape
    # torch's refusals: no output channels, an empty kernel, an empty image (zero batch and
    # zero input channels are fine: the output is empty, or the bias alone)
    if o == 0 or kh == 0 or kw == 0:
        raise ShapeError(
            f"conv2d: weight of shape {weight.shape} needs at least one output channel and a "
            "kernel of positive size"
        )
    if c != c_per_group * groups:
        raise ShapeError(
            f"conv2d: input of shape {in_shape} has {c} channels, but weight of shape "
            f"{weight.shape} with groups={groups} expects {c_per_group * groups}"
        )
    if o % groups:
        raise ShapeError(f"conv2d: {o} output channels are not divisible by groups={groups}")
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0, 0, 0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError("conv2d: padding='same' needs stride 1")
            th, tw = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
            pads = (tw // 2, tw - tw // 2, th // 2, th - th // 2)
        else:
            raise ValueError(f"conv2d: padding must be 'valid', 'same' or ints, not {padding!r}")
    else:
        ph, pw = check_int_tuple(padding, 2, "conv2d", "padding", minimum=0)
        pads = (pw, pw, ph, ph)
    h_out = (h + pads[2] + pads[3] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (w + pads[0] + pads[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if h_out <= 0 or w_out <= 0 or h == 0 or w == 0:
        raise ShapeError(
            f"conv2d: input of shape {in_shape} is too small for kernel {(kh, kw)} with "
            f"dilation {dilation} and padding {padding}"
        )
    if any(pads):
        x = pg.pad(x, pads)
    cols = _windows(x, (kh, kw), stride, dilation)  # (N, C, kh*kw, H_out, W_out)
    cols = pg.reshape(cols, (n, groups, c_per_group * kh * kw, h_out * w_out))
    w_mat = pg.reshape(weight, (groups, o // groups, c_per_group * kh * kw))
    out = pg.reshape(pg.matmul(w_mat, cols), (n, o, h_out, w_out))
    if bias is not None:
        out = out + pg.reshape(bias, (o, 1, 1))
    if c == 0:
        # NOTE: torch returns an empty output of the input's zero channels here, not the bias
        # over C_out channels; the slice keeps weight and bias in the graph (zero gradients)
        out = out[:, :0]
    return pg.squeeze(out, axis=0) if unbatched else out
