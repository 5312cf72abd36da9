"""Fold and Unfold: col2im and im2col as layers."""

from __future__ import annotations

from typing import Any

from polygrad import Tensor

from .. import functional as F
from .module import Module


class Unfold(Module):
    """Sliding local blocks of (N, C, H, W) as columns (N, C * kh * kw, L), torch's
    ``nn.Unfold`` (see :func:`polygrad.nn.functional.unfold`).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Unfold(kernel_size=(2, 3))(polygrad.randn(2, 5, 3, 4)).shape
    (2, 30, 4)
    """

    def __init__(
        self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
    ) -> None:
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding},"
            f" stride={self.stride}"
        )

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)


class Fold(Module):
    """Sum columns (N, C * kh * kw, L) back into (N, C, *output_size), torch's ``nn.Fold``
    (see :func:`polygrad.nn.functional.fold`).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Fold(output_size=(4, 5), kernel_size=2)(polygrad.randn(1, 12, 12)).shape
    (1, 3, 4, 5)
    """

    def __init__(
        self,
        output_size: Any,
        kernel_size: Any,
        dilation: Any = 1,
        padding: Any = 0,
        stride: Any = 1,
    ) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.fold(
            input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
        )
