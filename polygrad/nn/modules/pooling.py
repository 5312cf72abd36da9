"""Max, average and adaptive pooling layers in 1-d and 2-d."""

from __future__ import annotations

from typing import Any

from polygrad import Tensor

from .. import functional as F
from ..functional.pooling import divisor_arg, pool_args, window_args
from .module import Module


def _check_rank(layer: Module, x: Tensor, n: int) -> None:
    """A (N, C, *spatial) or (C, *spatial) input for an ``n``-d layer, else an error naming it."""
    if x.ndim not in (n + 1, n + 2):
        dims = "L" if n == 1 else "H, W"
        raise RuntimeError(  # torch's type
            f"{layer._header()}: expected a (N, C, {dims}) or (C, {dims}) input, got shape "
            f"{x.shape}"
        )


def _window_repr(layer: Module) -> str:
    return f"kernel_size={layer.kernel_size}, stride={layer.stride}, padding={layer.padding}"


class _MaxPoolNd(Module):
    _n = 2

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        pool_args(type(self).__name__, kernel_size, stride, padding, dilation, self._n)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def extra_repr(self) -> str:
        return f"{_window_repr(self)}, dilation={self.dilation}, ceil_mode={self.ceil_mode}"

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        _check_rank(self, x, self._n)
        fn = F.max_pool1d if self._n == 1 else F.max_pool2d
        return fn(
            x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
            self.return_indices,
        )


class MaxPool1d(_MaxPoolNd):
    """Maximum over windows of (N, C, L) or (C, L) input (torch's ``MaxPool1d``).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.MaxPool1d(2)(polygrad.randn(1, 3, 8)).shape
    (1, 3, 4)
    """

    _n = 1


class MaxPool2d(_MaxPoolNd):
    """Maximum over ``kernel_size`` windows (stride defaults to the kernel size), with
    torch's ``ceil_mode``, ``dilation`` and ``return_indices``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.MaxPool2d(2)(polygrad.randn(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """


class _AvgPoolNd(Module):
    _n = 2

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        who = f"AvgPool{self._n}d"
        pool_args(who, kernel_size, stride, padding, 1, self._n)
        if divisor_override is not None:
            divisor_arg(divisor_override, who)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad
        if self._n == 2:  # AvgPool1d has no divisor_override, as torch
            self.divisor_override = divisor_override
        else:  # torch's AvgPool1d keeps 1-tuples (its repr shows them)
            self.kernel_size, self.stride, self.padding = (
                tuple(v) if isinstance(v, (tuple, list)) else (v,)
                for v in (self.kernel_size, self.stride, self.padding)
            )

    def extra_repr(self) -> str:
        return _window_repr(self)

    def forward(self, x: Tensor) -> Tensor:
        _check_rank(self, x, self._n)
        args = (x, self.kernel_size, self.stride, self.padding, self.ceil_mode)
        if self._n == 1:
            return F.avg_pool1d(*args, self.count_include_pad)
        return F.avg_pool2d(*args, self.count_include_pad, self.divisor_override)


class AvgPool1d(_AvgPoolNd):
    """Mean over windows of (N, C, L) or (C, L) input (torch's ``AvgPool1d``).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.AvgPool1d(2)(polygrad.ones(1, 1, 4)).tolist()
    [[[1.0, 1.0]]]
    """

    _n = 1

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """Mean over ``kernel_size`` windows (stride defaults to the kernel size) of the
    zero-padded input, with torch's ``ceil_mode``, ``count_include_pad`` and
    ``divisor_override``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.AvgPool2d(2)(polygrad.ones(1, 1, 4, 4)).tolist()
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """


class _Adaptive(Module):
    _fn: Any = None

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, x: Tensor) -> Any:
        fn = type(self)._fn
        if "max" in fn.__name__:
            return fn(x, self.output_size, self.return_indices)
        return fn(x, self.output_size)


class _AdaptiveAvg(_Adaptive):
    """The averaging layers take no ``return_indices``."""

    def __init__(self, output_size: Any) -> None:
        super().__init__(output_size)


class AdaptiveAvgPool1d(_AdaptiveAvg):
    """Mean over torch's adaptive windows to an ``output_size`` length.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.AdaptiveAvgPool1d(3)(polygrad.ones(1, 2, 7)).shape
    (1, 2, 3)
    """

    _fn = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvg):
    """Mean over torch's adaptive windows to an ``output_size`` (None keeps an input size).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.AdaptiveAvgPool2d((1, 1))(polygrad.ones(1, 2, 7, 5)).shape
    (1, 2, 1, 1)
    """

    _fn = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveMaxPool1d(_Adaptive):
    """Maximum over torch's adaptive windows to an ``output_size`` length.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.AdaptiveMaxPool1d(3)(polygrad.ones(1, 2, 7)).shape
    (1, 2, 3)
    """

    _fn = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_Adaptive):
    """Maximum over torch's adaptive windows to an ``output_size``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.AdaptiveMaxPool2d(2)(polygrad.ones(1, 2, 7, 5)).shape
    (1, 2, 2, 2)
    """

    _fn = staticmethod(F.adaptive_max_pool2d)


class _MaxUnpoolNd(Module):
    _n = 2

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = window_args(
            type(self).__name__, kernel_size, stride, padding, self._n
        )

    def extra_repr(self) -> str:
        return _window_repr(self)

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:  # noqa: A002
        unpool = F.max_unpool1d if self._n == 1 else F.max_unpool2d
        return unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of :class:`MaxPool1d`, torch's ``nn.MaxUnpool1d``: see
    :func:`polygrad.nn.functional.max_unpool1d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> out, idx = nn.MaxPool1d(2, return_indices=True)(polygrad.randn(1, 2, 6))
    >>> nn.MaxUnpool1d(2)(out, idx).shape
    (1, 2, 6)
    """

    _n = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of :class:`MaxPool2d`, torch's ``nn.MaxUnpool2d``: the pooled
    values at their indices in a zero output; ``forward(input, indices, output_size)``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> out, idx = nn.MaxPool2d(2, return_indices=True)(polygrad.randn(1, 1, 5, 5))
    >>> nn.MaxUnpool2d(2)(out, idx, output_size=(5, 5)).shape
    (1, 1, 5, 5)
    """

    _n = 2


class ChannelShuffle(Module):
    """Interleave ``groups`` groups of channels, torch's ``nn.ChannelShuffle`` (see
    :func:`polygrad.nn.functional.channel_shuffle`).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.ChannelShuffle(3)(polygrad.randn(2, 6, 4, 4)).shape
    (2, 6, 4, 4)
    """

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def extra_repr(self) -> str:
        return f"groups={self.groups}"

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.channel_shuffle(input, self.groups)
