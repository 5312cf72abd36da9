"""Conv1d/2d/3d and ConvTranspose1d/2d/3d: one base class over the N-d functional forms."""

from __future__ import annotations

import math
from typing import Any

import polygrad as pg
from polygrad import Tensor

from ..._checks import ShapeError, check_int, check_int_tuple
from .. import functional as F
from .. import init
from ..functional.conv import conv_padding, conv_transpose_size
from .module import Module, Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What every convolution layer shares: torch's argument checks, parameter shapes,
    initialisation, ``extra_repr`` and the padding modes."""

    _dims = 0
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        output_padding: Any,
        groups: int,
        bias: bool,
        padding_mode: str,
        device: Any,
        dtype: Any,
    ) -> None:
        super().__init__()
        who, dims = type(self).__name__, self._dims
        # torch's order: groups, divisibility, the padding string and mode; then the sizes (a
        # non-integer channel count that divides is a TypeError, one that does not a ValueError)
        self.groups = check_int(groups, who, "groups", minimum=1, error=ValueError)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{who}: in_channels={in_channels} and out_channels={out_channels} must both "
                f"be divisible by groups={groups}"
            )
        self.stride = check_int_tuple(stride, dims, who, "stride", minimum=1)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"{who}: padding must be 'valid', 'same' or ints, not {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{who}: padding='same' is not supported for strided convolutions")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{who}: padding_mode must be one of {_PADDING_MODES}, not {padding_mode!r}"
            )
        self.in_channels = check_int(in_channels, who, "in_channels", minimum=0)
        self.out_channels = check_int(out_channels, who, "out_channels", minimum=0)
        self.kernel_size = check_int_tuple(kernel_size, dims, who, "kernel_size", minimum=1)
        self.dilation = check_int_tuple(dilation, dims, who, "dilation", minimum=1)
        if not isinstance(padding, str):
            padding = check_int_tuple(padding, dims, who, "padding", minimum=0)
        self.padding = padding
        self.output_padding = check_int_tuple(
            output_padding, dims, who, "output_padding", minimum=0
        )
        self.transposed = self._transposed
        self.padding_mode = padding_mode
        # F.pad's layout (last axis first), for the non-zero padding modes
        if isinstance(padding, str):
            before, after = conv_padding(padding, self.kernel_size, self.stride, self.dilation, who)
        else:
            before = after = padding
        self._reversed_padding_repeated_twice = [
            p for i in reversed(range(dims)) for p in (before[i], after[i])
        ]
        c_in, c_out = self.in_channels, self.out_channels
        lead = (c_in, c_out // groups) if self._transposed else (c_out, c_in // groups)
        self.weight = Parameter(pg.empty(lead + self.kernel_size, dtype=dtype, device=device))
        self.bias = Parameter(pg.empty(c_out, dtype=dtype, device=device)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the parameters with torch's default initialization: weight by
        ``kaiming_uniform_(a=sqrt(5))``, bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        dims = self._dims
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0,) * dims:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _check_input(self, x: Tensor) -> None:
        dims = self._dims
        if x.ndim not in (dims + 1, dims + 2) or x.shape[-dims - 1] != self.in_channels:
            spatial = ", ".join("DHW"[3 - dims :]) if dims > 1 else "L"
            raise ShapeError(
                f"{self._header()}: expected input of shape (N, {self.in_channels}, {spatial}) "
                f"or ({self.in_channels}, {spatial}), got shape {x.shape}"
            )


class _Conv(_ConvNd):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, 0, groups, bias,
            padding_mode, device, dtype,
        )  # fmt: skip

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        self._check_input(input)
        conv = (F.conv1d, F.conv2d, F.conv3d)[self._dims - 1]
        x, padding = input, self.padding
        if self.padding_mode != "zeros":
            x = F.pad(x, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            padding = 0
        return conv(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-d convolution (cross-correlation) of (N, C_in, L) or (C_in, L) inputs, torch's
    ``nn.Conv1d``: weight (out_channels, in_channels / groups, k); see :class:`Conv2d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Conv1d(4, 8, 3, padding="same", padding_mode="circular")(polygrad.randn(2, 4, 10)).shape
    (2, 8, 10)
    """

    _dims = 1


class Conv2d(_Conv):
    """2-d convolution (cross-correlation) of (N, C_in, H, W) or (C_in, H, W) inputs, torch's
    ``nn.Conv2d`` (layout, defaults and initialisation).

    ``weight`` has shape (out_channels, in_channels / groups, kh, kw); ``padding`` may be
    ints or ``"valid"`` / ``"same"`` (stride 1); ``padding_mode`` is ``'zeros'``,
    ``'reflect'``, ``'replicate'`` or ``'circular'``. Weight by ``kaiming_uniform_(a=sqrt(5))``
    and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), ``fan_in = in_channels / groups * kh * kw``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> conv = nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1)
    >>> conv(polygrad.randn(2, 3, 16, 16)).shape
    (2, 8, 8, 8)
    """

    _dims = 2


class Conv3d(_Conv):
    """3-d convolution of (N, C_in, D, H, W) or (C_in, D, H, W) inputs, torch's ``nn.Conv3d``:
    weight (out_channels, in_channels / groups, kd, kh, kw); see :class:`Conv2d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Conv3d(2, 4, 3, padding=1)(polygrad.randn(1, 2, 4, 4, 4)).shape
    (1, 4, 4, 4, 4)
    """

    _dims = 3


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if padding_mode != "zeros":
            raise ValueError(
                f'Only "zeros" padding mode is supported for {type(self).__name__}, got '
                f"{padding_mode!r}"
            )
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, output_padding,
            groups, bias, padding_mode, device, dtype,
        )  # fmt: skip

    def _output_padding(self, x: Tensor, output_size: Any) -> tuple[int, ...]:
        """The output padding that gives ``output_size`` (torch's rule), or the layer's own."""
        if output_size is None:
            return self.output_padding
        dims, who = self._dims, self._header()
        size = [int(s) for s in output_size]
        lead = 2 if x.ndim == dims + 2 else 1
        if len(size) == lead + dims:
            size = size[lead:]
        if len(size) != dims:
            raise ValueError(
                f"{who}: output_size must have {dims} or {lead + dims} elements, got {output_size}"
            )
        low = conv_transpose_size(
            x.shape[-dims:], self.kernel_size, self.stride, self.padding, (0,) * dims,
            self.dilation,
        )  # fmt: skip
        for s, lo, st in zip(size, low, self.stride):
            if not lo <= s < lo + st:
                raise ValueError(
                    f"{who}: requested an output size of {tuple(size)}, but valid sizes range "
                    f"from {low} to {tuple(lo + st - 1 for lo, st in zip(low, self.stride))} "
                    f"(for an input of {tuple(x.shape[-dims:])})"
                )
        return tuple(s - lo for s, lo in zip(size, low))

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:  # noqa: A002
        self._check_input(input)
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self._dims - 1]
        return conv(
            input, self.weight, self.bias, self.stride, self.padding,
            self._output_padding(input, output_size), self.groups, self.dilation,
        )  # fmt: skip


class ConvTranspose1d(_ConvTranspose):
    """1-d transposed convolution of (N, C_in, L) or (C_in, L) inputs, torch's
    ``nn.ConvTranspose1d``: weight (in_channels, out_channels / groups, k); see
    :class:`ConvTranspose2d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.ConvTranspose1d(4, 2, 3, stride=2)(polygrad.randn(1, 4, 5)).shape
    (1, 2, 11)
    """

    _dims = 1


class ConvTranspose2d(_ConvTranspose):
    """2-d transposed convolution (the gradient of Conv2d with respect to its input), torch's
    ``nn.ConvTranspose2d``: weight (in_channels, out_channels / groups, kh, kw), output size
    ``(n - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``;
    ``forward(input, output_size)`` picks the output padding that gives ``output_size``.
    Only ``padding_mode='zeros'``, as torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
    >>> up(polygrad.randn(2, 8, 5, 5)).shape
    (2, 4, 10, 10)
    """

    _dims = 2


class ConvTranspose3d(_ConvTranspose):
    """3-d transposed convolution, torch's ``nn.ConvTranspose3d``: weight
    (in_channels, out_channels / groups, kd, kh, kw); see :class:`ConvTranspose2d`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.ConvTranspose3d(2, 1, 2, stride=2)(polygrad.randn(1, 2, 2, 2, 2)).shape
    (1, 1, 4, 4, 4)
    """

    _dims = 3
