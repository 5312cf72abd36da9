"""``interpolate`` (nearest, linear, bilinear, bicubic, trilinear, area) and pixel shuffling.

Each resized axis is a weighted sum of a few gathers along that axis (one tap for nearest, two
for linear, four for cubic), with torch's source-index formulas computed on the host, so the
values follow torch's arithmetic and the gradient is the gathers' scatter-add.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

import polygrad as pg
from polygrad import Tensor

from ..._checks import ShapeError, check_int
from ._utils import creating_like
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

_MODES = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1, "bilinear": 2,
          "bicubic": 2, "trilinear": 3}
_CUBIC_A = -0.75


def _f32(v: float) -> float:
    """``v`` rounded to float32 (torch computes nearest-neighbour indices in float)."""
    return struct.unpack("f", struct.pack("f", v))[0]


def _nearest(m: int, o: int, scale: float | None, exact: bool) -> list[tuple[list[int], None]]:
    if not exact and o == m:
        return [(list(range(o)), None)]
    if not exact and o == 2 * m:
        return [([i >> 1 for i in range(o)], None)]
    s = _f32(1.0 / scale) if scale is not None and scale > 0 else _f32(_f32(m) / _f32(o))
    if exact:
        idx = [min(math.floor(_f32((i + 0.5) * s)), m - 1) for i in range(o)]
    else:
        idx = [min(math.floor(_f32(_f32(i) * s)), m - 1) for i in range(o)]
    return [(idx, None)]


def _source(m: int, o: int, scale: float | None, align_corners: bool, cubic: bool) -> list:
    """torch's real-valued source position of every output position."""
    if align_corners:
        s = (m - 1) / (o - 1) if o > 1 else 0.0
        return [s * i for i in range(o)]
    s = 1.0 / scale if scale is not None and scale > 0 else m / o
    src = [s * (i + 0.5) - 0.5 for i in range(o)]
    return src if cubic else [max(v, 0.0) for v in src]


def _linear(m: int, o: int, scale: float | None, align_corners: bool) -> list:
    lo, hi, w0, w1 = [], [], [], []
    for v in _source(m, o, scale, align_corners, False):
        i = int(v)
        lam = min(max(v - i, 0.0), 1.0)
        lo.append(i)
        hi.append(i + 1 if i < m - 1 else i)
        w0.append(1.0 - lam)
        w1.append(lam)
    return [(lo, w0), (hi, w1)]


def _cubic(m: int, o: int, scale: float | None, align_corners: bool) -> list:
    a = _CUBIC_A
    taps: list = [([], []) for _ in range(4)]
    for v in _source(m, o, scale, align_corners, True):
        i = math.floor(v)
        t = v - i
        ws = (
            ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
            ((a + 2) * t - (a + 3)) * t * t + 1,
            ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
            ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a,
        )
        for k in range(4):
            taps[k][0].append(min(max(i - 1 + k, 0), m - 1))
            taps[k][1].append(ws[k])
    return taps


def _resize_axis(x: Tensor, axis: int, taps: list) -> Tensor:
    """The weighted sum over ``taps`` of ``x`` gathered along ``axis``."""
    out = None
    for idx, weights in taps:
        with creating_like(x):
            part = pg.index_select(x, axis, pg.asarray(idx, dtype=pg.int64))
            if weights is not None:
                shape = [1] * x.ndim
                shape[axis] = len(weights)
                part = part * pg.reshape(pg.asarray(weights, dtype=x.dtype), tuple(shape))
        out = part if out is None else out + part
    return out


def _per_axis(value: Any, dim: int, what: str) -> list | None:
    if value is None:
        return None
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != dim:
            raise ValueError(
                f"interpolate: input with {dim} spatial dimensions needs {what} of {dim} "
                f"entries, got {value!r}"
            )
        return list(value)
    return [value] * dim


def interpolate(
    input: Tensor,  # noqa: A002
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial axes of a (N, C, *spatial) input to ``size`` or by ``scale_factor``,
    as torch's ``interpolate``: modes ``nearest``, ``nearest-exact``, ``linear`` (3-d input),
    ``bilinear`` and ``bicubic`` (4-d), ``trilinear`` (5-d) and ``area``.

    Raises
    ------
    ValueError
        For both or neither of ``size`` and ``scale_factor``, ``align_corners`` with a
        non-interpolating mode, ``recompute_scale_factor`` with ``size``, a wrong number of
        sizes or scales.
    NotImplementedError
        For a mode that does not fit the input's dimensions, an unknown mode or ``antialias``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.interpolate(polygrad.tensor([[[1.0, 2.0]]]), scale_factor=2).tolist()
    [[[1.0, 1.0, 2.0, 2.0]]]
    """
    x = input
    dim = x.ndim - 2
    if mode not in _MODES:
        raise NotImplementedError(
            f"interpolate: mode {mode!r} is not one of {', '.join(_MODES)}"
        )
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError(
            "interpolate: align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError(
            "interpolate: recompute_scale_factor is not meaningful with an explicit size"
        )
    if antialias:
        raise NotImplementedError("interpolate: polygrad does not implement antialias=True")
    want = _MODES[mode]
    if dim < 1 or (want is not None and dim != want) or (want is None and dim > 3):
        needs = f"{want + 2}D" if want is not None else "3D, 4D or 5D"
        raise NotImplementedError(
            f"interpolate: got {x.ndim}D input of shape {x.shape}, but {mode} mode needs "
            f"{needs} input"
        )
    sizes = _per_axis(size, dim, "size")
    scales = _per_axis(scale_factor, dim, "scale_factor")
    spatial = x.shape[2:]
    if sizes is not None:
        sizes = [check_int(s, "interpolate", "size") for s in sizes]
    else:
        sizes = [math.floor(float(m * s)) for m, s in zip(spatial, scales)]
        if recompute_scale_factor:
            scales = None
    if min(sizes) <= 0 or min(spatial) <= 0:
        raise ShapeError(
            f"interpolate: input of shape {x.shape} and output size {tuple(sizes)} must be "
            "positive in every spatial axis"
        )
    if scales is None:
        scales = [None] * dim
    if mode == "area":
        if dim == 3:
            raise NotImplementedError("interpolate: polygrad does not implement 3-d area mode")
        pool = adaptive_avg_pool1d if dim == 1 else adaptive_avg_pool2d
        return pool(x, sizes if dim > 1 else sizes[0])
    align = bool(align_corners)
    for axis in range(dim - 1, -1, -1):
        m, o, s = spatial[axis], sizes[axis], scales[axis]
        if mode in ("nearest", "nearest-exact"):
            taps = _nearest(m, o, s, mode == "nearest-exact")
        elif mode == "bicubic":
            taps = _cubic(m, o, s, align)
        else:
            taps = _linear(m, o, s, align)
        x = _resize_axis(x, axis + 2, taps)
    return x


def upsample(
    input: Tensor,  # noqa: A002
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """torch's deprecated alias of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(
    input: Tensor,  # noqa: A002
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
) -> Tensor:
    """torch's deprecated ``interpolate(..., mode="nearest")``."""
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(
    input: Tensor,  # noqa: A002
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
) -> Tensor:
    """torch's deprecated ``interpolate(..., mode="bilinear", align_corners=True)``."""
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C * r * r, H, W) to (*, C, H * r, W * r), as torch's ``pixel_shuffle``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.pixel_shuffle(polygrad.ones(1, 8, 2, 3), 2).shape
    (1, 2, 4, 6)
    """
    r = check_int(upscale_factor, "pixel_shuffle", "upscale_factor", minimum=1)
    x = input
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise ShapeError(
            f"pixel_shuffle: expected an input of at least 3 dimensions whose channel axis "
            f"(-3) is divisible by upscale_factor**2 = {r * r}, got shape {x.shape}"
        )
    *lead, c, h, w = x.shape
    k = len(lead)
    x = pg.reshape(x, (*lead, c // (r * r), r, r, h, w))
    x = pg.permute_dims(x, (*range(k), k, k + 3, k + 1, k + 4, k + 2))
    return pg.reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C, H * r, W * r) to (*, C * r * r, H, W), the inverse of :func:`pixel_shuffle`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.pixel_unshuffle(polygrad.ones(1, 2, 4, 6), 2).shape
    (1, 8, 2, 3)
    """
    r = check_int(downscale_factor, "pixel_unshuffle", "downscale_factor", minimum=1)
    x = input
    if x.ndim < 3 or x.shape[-2] % r or x.shape[-1] % r:
        raise ShapeError(
            f"pixel_unshuffle: expected an input of at least 3 dimensions whose height and "
            f"width are divisible by downscale_factor={r}, got shape {x.shape}"
        )
    *lead, c, h, w = x.shape
    k = len(lead)
    x = pg.reshape(x, (*lead, c, h // r, r, w // r, r))
    x = pg.permute_dims(x, (*range(k), k, k + 2, k + 4, k + 1, k + 3))
    return pg.reshape(x, (*lead, c * r * r, h // r, w // r))
