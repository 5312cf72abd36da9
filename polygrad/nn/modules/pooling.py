"""MaxPool2d and AvgPool2d."""

from __future__ import annotations

from polygrad import Tensor

from .. import functional as F
from ..functional.pooling import divisor_arg, pool_args
from .module import Module


class MaxPool2d(Module):
    """Maximum over ``kernel_size`` windows (stride defaults to the kernel size).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.MaxPool2d(2)(polygrad.randn(1, 3, 8, 8)).shape
    (1, 3, 4, 4)
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
    ) -> None:
        super().__init__()
        pool_args("MaxPool2d", kernel_size, stride, padding, dilation)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}"
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4):
            raise ValueError(
                f"{self._header()}: expected a (N, C, H, W) or (C, H, W) input, got shape {x.shape}"
            )
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation)


class AvgPool2d(Module):
    """Mean over ``kernel_size`` windows (stride defaults to the kernel size) of the
    zero-padded input; ``count_include_pad=False`` leaves the padding out of the count.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.AvgPool2d(2)(polygrad.ones(1, 1, 4, 4)).tolist()
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        pool_args("AvgPool2d", kernel_size, stride, padding, 1)
        if divisor_override is not None:
            divisor_arg(divisor_override, "AvgPool2d")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4):
            raise ValueError(
                f"{self._header()}: expected a (N, C, H, W) or (C, H, W) input, got shape {x.shape}"
            )
        return F.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.count_include_pad,
            self.divisor_override,
        )
