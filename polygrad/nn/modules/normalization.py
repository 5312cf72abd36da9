"""BatchNorm1d/2d, InstanceNorm1d/2d, LayerNorm, GroupNorm, RMSNorm and LocalResponseNorm."""

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
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_batch_stats,
            self._count_batch(),
            self.eps,
        )

    def _count_batch(self) -> float:
        """Count a training batch in ``num_batches_tracked``; the running statistics' update
        factor (``momentum``, or ``1 / batches`` for the cumulative average)."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with pg.no_grad():
                self.num_batches_tracked[...] = self.num_batches_tracked + 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / int(self.num_batches_tracked.item())
        return factor


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


class BatchNorm3d(_BatchNorm):
    """Batch normalization over (N, C, D, H, W) inputs, per channel C; as
    :class:`BatchNorm1d`."""

    _dims = (5,)
    _layout = "(N, C, D, H, W)"


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


class _InstanceNorm(_BatchNorm):
    """Per-sample, per-channel normalization; the running statistics as in batch norm."""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self._dims:
            raise ValueError(
                f"{self._header()}: expected input of shape {self._layout}, got shape {x.shape}"
            )
        unbatched = x.ndim == self._dims[0]
        if unbatched:
            x = pg.expand_dims(x, 0)
        if x.shape[1] != self.num_features and (self.affine or self.track_running_stats):
            raise ValueError(
                f"{self._header()}: expected input's size at dim={int(not unbatched)} to match "
                f"num_features ({self.num_features}), but got: {x.shape[1]}"
            )
        out = F.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            0.0 if self.momentum is None else self.momentum,
            self.eps,
        )
        return out[0] if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or (C, L) inputs: each sample's channel over L;
    ``affine`` and ``track_running_stats`` default to False, as torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.InstanceNorm1d(3)(polygrad.randn(2, 3, 5)).shape
    (2, 3, 5)
    """

    _dims = (2, 3)
    _layout = "(N, C, L) or (C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or (C, H, W) inputs, as :class:`InstanceNorm1d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.InstanceNorm2d(3, affine=True)(polygrad.randn(2, 3, 4, 4)).shape
    (2, 3, 4, 4)
    """

    _dims = (3, 4)
    _layout = "(N, C, H, W) or (C, H, W)"


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or (C, D, H, W) inputs, as
    :class:`InstanceNorm1d`."""

    _dims = (4, 5)
    _layout = "(N, C, D, H, W) or (C, D, H, W)"


class GroupNorm(Module):
    """Normalize each sample over groups of channels of (N, C, *), then scale by ``weight``
    (ones) and shift by ``bias`` (zeros) per channel.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.GroupNorm(2, 4)(polygrad.randn(3, 4, 5)).shape
    (3, 4, 5)
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        c = num_channels
        self.weight = Parameter(pg.ones(c, dtype=dtype, device=device)) if affine else None
        self.bias = Parameter(pg.zeros(c, dtype=dtype, device=device)) if affine and bias else None

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


class RMSNorm(Module):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape`` axes;
    ``eps=None`` is the machine epsilon of the input's dtype, as torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.RMSNorm(4).weight.shape
    (4,)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if not isinstance(normalized_shape, Sequence):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(
            check_int(n, "RMSNorm", "normalized_shape", minimum=0) for n in normalized_shape
        )
        self.eps, self.elementwise_affine = eps, elementwise_affine
        shape = self.normalized_shape
        self.weight = (
            Parameter(pg.ones(shape, dtype=dtype, device=device)) if elementwise_affine else None
        )

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)


class LocalResponseNorm(Module):
    """``x / (k + alpha * mean of x^2 over size neighbouring channels) ** beta``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.LocalResponseNorm(3)(polygrad.randn(2, 5, 4)).shape
    (2, 5, 4)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

    def forward(self, x: Tensor) -> Tensor:
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)
