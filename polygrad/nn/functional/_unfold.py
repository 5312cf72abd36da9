"""N-d im2col and col2im as two graph nodes, each the other's gradient: ``Unfold`` copies every
kernel offset's strided window of (N, C, *spatial) into columns (N, C * K, L), or (C * K, N * L);
``Fold`` adds the columns back. Convolutions and ``F.unfold``/``F.fold`` are built on them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import cached_property

from polygrad import Tensor
from polygrad._tensor import Function, apply1


@dataclass(frozen=True)
class Grid:
    """Where the blocks of a sliding window lie in a spatial volume.

    Block ``o`` along an axis reads element ``o * stride - pad + k * dilation`` for kernel
    offset ``k``; elements outside ``[0, spatial)`` are the zero padding. ``blocks`` is the
    number of block positions per axis (given, not derived, so a transposed convolution's
    ``output_padding`` can leave trailing elements that no block reaches).
    """

    spatial: tuple[int, ...]
    blocks: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pad: tuple[int, ...]
    #: columns as (C * K, N * L), the layout of one matmul over the whole batch, rather than
    #: torch's ``F.unfold`` layout (N, C * K, L)
    batch_last: bool = False

    @property
    def ksize(self) -> int:
        return math.prod(self.kernel)

    @cached_property
    def keys(self) -> list[tuple[tuple[slice, ...], tuple[slice, ...]]]:
        """For each kernel offset (row-major) that reaches the volume: the slices of the block
        axes and the matching strided slices of the spatial axes."""
        per_axis = []
        for n, b, k, s, d, p in zip(
            self.spatial, self.blocks, self.kernel, self.stride, self.dilation, self.pad
        ):
            ranges = []
            for j in range(k):
                first = j * d - p  # element read by block 0
                lo = max(0, -(first // s)) if first < 0 else 0  # ceil(-first / s)
                hi = min(b, (n - 1 - first) // s + 1) if n - 1 - first >= 0 else 0
                if hi <= lo:
                    ranges.append(None)
                    continue
                start = first + lo * s
                ranges.append((slice(lo, hi), slice(start, start + (hi - lo - 1) * s + 1, s)))
            per_axis.append(ranges)
        out = []
        for combo in itertools.product(*per_axis):
            if any(r is None for r in combo):
                out.append(None)
            else:
                out.append((tuple(r[0] for r in combo), tuple(r[1] for r in combo)))
        return out

    def covers(self) -> bool:
        """Whether every column entry reads a real element (no padding is read)."""
        return all(
            p == 0 and (b - 1) * s + (k - 1) * d < n
            for n, b, k, s, d, p in zip(
                self.spatial, self.blocks, self.kernel, self.stride, self.dilation, self.pad
            )
        )


def _unfold(xp, grid: Grid, x):
    n, c = x.shape[:2]
    ksize, blocks, every = grid.ksize, math.prod(grid.blocks), (slice(None),)
    if grid.batch_last:  # (C, K, N, *blocks): cols[:, k] is one contiguous block per channel
        x = xp.permute_dims(x, (1, 0, *range(2, x.ndim)))
        shape, lead = (c, ksize, n, *grid.blocks), lambda k: every + (k,) + every
    else:
        shape, lead = (n, c, ksize, *grid.blocks), lambda k: every * 2 + (k,)
    device = xp.backend.device_of(x)
    with xp.backend.on(device):
        make = xp.empty if grid.covers() else xp.zeros
        cols = make(shape, dtype=x.dtype, device=device)
    for k, key in enumerate(grid.keys):
        if key is not None:
            cols[lead(k) + key[0]] = x[every * 2 + key[1]]
    if grid.batch_last:
        return xp.reshape(cols, (c * ksize, n * blocks))
    return xp.reshape(cols, (n, c * ksize, blocks))


def _fold(xp, grid: Grid, cols):
    ksize, blocks, every = grid.ksize, math.prod(grid.blocks), (slice(None),)
    if grid.batch_last:
        c, n = cols.shape[0] // ksize, cols.shape[1] // blocks
        cols = xp.reshape(cols, (c, ksize, n, *grid.blocks))
        shape, lead = (c, n, *grid.spatial), lambda k: every + (k,) + every
    else:
        n, c = cols.shape[0], cols.shape[1] // ksize
        cols = xp.reshape(cols, (n, c, ksize, *grid.blocks))
        shape, lead = (n, c, *grid.spatial), lambda k: every * 2 + (k,)
    device = xp.backend.device_of(cols)
    with xp.backend.on(device):
        out = xp.zeros(shape, dtype=cols.dtype, device=device)
    for k, key in enumerate(grid.keys):
        if key is not None:
            out[every * 2 + key[1]] += cols[lead(k) + key[0]]
    if grid.batch_last:
        return xp.permute_dims(out, (1, 0, *range(2, out.ndim)))
    return out


class Unfold(Function):
    """(N, C, *spatial) -> (N, C * K, L) columns; the gradient is ``Fold``."""

    saves = ""
    exact = fresh = True

    def __init__(self, grid: Grid) -> None:
        self.grid = grid

    def forward(self, xp, x):
        return _unfold(xp, self.grid, x)

    def backward(self, xp, g):
        if isinstance(g, Tensor):  # create_graph: the adjoint recorded, so it differentiates
            return (apply1(Fold(self.grid), g),)
        return (_fold(xp, self.grid, g),)


class Fold(Function):
    """(N, C * K, L) columns summed into (N, C, *spatial); the gradient is ``Unfold``."""

    saves = ""
    exact = fresh = True

    def __init__(self, grid: Grid) -> None:
        self.grid = grid

    def forward(self, xp, cols):
        return _fold(xp, self.grid, cols)

    def backward(self, xp, g):
        if isinstance(g, Tensor):
            return (apply1(Unfold(self.grid), g),)
        return (_unfold(xp, self.grid, g),)


def unfold(x: Tensor, grid: Grid) -> Tensor:
    return apply1(Unfold(grid), x)


def fold(cols: Tensor, grid: Grid) -> Tensor:
    return apply1(Fold(grid), cols)
