"""BatchNorm1d, BatchNorm2d and LayerNorm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polygrad as pg
from polygrad import Tensor

from ..._checks import check_int
from .. import functional as F
from .. import init
from .module import Module, Parameter


class _BatchNorm(Module):
    _dims: tuple[int, ...] = ()
    _layout = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        who = type(self).__name__
        self.num_features = check_int(num_features, who, "num_features", minimum=0)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        c = self.num_features
        self.weight = Parameter(pg.ones(c, dtype=dtype, device=device)) if affine else None
        self.bias = Parameter(pg.zeros(c, dtype=dtype, device=device)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", pg.zeros(c, dtype=dtype, device=device))
            self.register_buffer("running_var", pg.ones(c, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", pg.tensor(0, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self._dims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{self._header()}: expected input of shape {self._layout} with "
                f"C={self.num_features}, got shape {x.shape}"
            )
        use_batch_stats = self.training or not self.track_running_stats
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with pg.no_grad():
                self.num_batches_tracked[...] = self.num_batches_tracked + 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / int(self.num_batches_tracked.item())
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) inputs, per channel C.

    Training normalizes with the batch mean and biased variance and updates the running
    mean and the *unbiased* running variance with ``momentum`` (a cumulative average when
    ``momentum=None``); eval normalizes with the running statistics. ``running_mean``,
    ``running_var`` and ``num_batches_tracked`` are buffers, saved in ``state_dict``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> bn = nn.BatchNorm1d(3)
    >>> y = bn(polygrad.randn(8, 3))
    >>> bn.num_batches_tracked.item()
    1
    """

    _dims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) inputs, per channel C; as :class:`BatchNorm1d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.BatchNorm2d(3)(polygrad.randn(2, 3, 4, 4)).shape
    (2, 3, 4, 4)
    """

    _dims = (4,)
    _layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalize over the trailing ``normalized_shape`` axes (biased variance), then scale by
    ``weight`` (ones) and shift by ``bias`` (zeros) elementwise.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.LayerNorm(4)(polygrad.randn(2, 4)).shape
    (2, 4)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if not isinstance(normalized_shape, Sequence):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(
            check_int(n, "LayerNorm", "normalized_shape", minimum=0) for n in normalized_shape
        )
        self.eps, self.elementwise_affine = eps, elementwise_affine
        shape = self.normalized_shape
        self.weight = (
            Parameter(pg.ones(shape, dtype=dtype, device=device)) if elementwise_affine else None
        )
        self.bias = (
            Parameter(pg.zeros(shape, dtype=dtype, device=device))
            if elementwise_affine and bias
            else None
        )

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k :] != self.normalized_shape or x.ndim < k:
            raise ValueError(
                f"{self._header()}: expected input whose last dimensions are "
                f"{self.normalized_shape}, got shape {x.shape}"
            )
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
