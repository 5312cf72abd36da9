"""Conv2d."""

from __future__ import annotations

import math
from typing import Any

import polygrad as pg
from polygrad import Tensor

from ..._checks import check_int, check_int_tuple
from .. import functional as F
from .. import init
from .module import Module, Parameter


class Conv2d(Module):
    """2-d convolution (cross-correlation) of (N, C_in, H, W) inputs, torch's layout and init.

    ``weight`` has shape (out_channels, in_channels / groups, kh, kw); ``padding`` may be
    ints or ``"valid"`` / ``"same"``. Weight by ``kaiming_uniform_(a=sqrt(5))`` and bias
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with ``fan_in = in_channels / groups * kh * kw``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> conv = nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1)
    >>> conv(polygrad.randn(2, 3, 16, 16)).shape
    (2, 8, 8, 8)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        # torch's order: groups, divisibility, the padding string; then the sizes (a
        # non-integer channel count that divides is a TypeError, one that does not a ValueError)
        self.groups = check_int(groups, "Conv2d", "groups", minimum=1, error=ValueError)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"Conv2d: in_channels={in_channels} and out_channels={out_channels} must both "
                f"be divisible by groups={groups}"
            )
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ValueError(f"Conv2d: padding must be 'valid', 'same' or ints, not {padding!r}")
        self.in_channels = check_int(in_channels, "Conv2d", "in_channels", minimum=0)
        self.out_channels = check_int(out_channels, "Conv2d", "out_channels", minimum=0)
        self.kernel_size = check_int_tuple(kernel_size, 2, "Conv2d", "kernel_size", minimum=1)
        self.stride = check_int_tuple(stride, 2, "Conv2d", "stride", minimum=1)
        if padding == "same" and self.stride != (1, 1):
            raise ValueError("Conv2d: padding='same' needs stride 1")
        if not isinstance(padding, str):
            padding = check_int_tuple(padding, 2, "Conv2d", "padding", minimum=0)
        self.padding = padding
        self.dilation = check_int_tuple(dilation, 2, "Conv2d", "dilation", minimum=1)
        o = self.out_channels
        shape = (o, self.in_channels // self.groups) + self.kernel_size
        self.weight = Parameter(pg.empty(shape, dtype=dtype, device=device))
        self.bias = Parameter(pg.empty(o, dtype=dtype, device=device)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the parameters with torch's default initialization."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (3, 4) or x.shape[-3] != self.in_channels:
            raise ValueError(
                f"{self._header()}: expected input of shape (N, {self.in_channels}, H, W) or "
                f"({self.in_channels}, H, W), got shape {x.shape}"
            )
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )
