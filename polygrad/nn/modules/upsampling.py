"""Upsample, UpsamplingNearest2d, UpsamplingBilinear2d, PixelShuffle and PixelUnshuffle."""

from __future__ import annotations

from typing import Any

from polygrad import Tensor

from .. import functional as F
from .module import Module


class Upsample(Module):
    """Resize the spatial axes with :func:`polygrad.nn.functional.interpolate`.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Upsample(scale_factor=2, mode="bilinear")(polygrad.ones(1, 1, 2, 3)).shape
    (1, 1, 4, 6)
    """

    def __init__(
        self,
        size: Any = None,
        scale_factor: Any = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        self.scale_factor = float(scale_factor) if isinstance(scale_factor, int) else scale_factor
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def extra_repr(self) -> str:
        what = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else (
            f"size={self.size!r}"
        )
        return f"{what}, mode={self.mode!r}"

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(
            x, self.size, self.scale_factor, self.mode, self.align_corners,
            self.recompute_scale_factor,
        )


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour upsampling of (N, C, H, W) input.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.UpsamplingNearest2d(scale_factor=2)(polygrad.ones(1, 1, 2, 3)).shape
    (1, 1, 4, 6)
    """

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling of (N, C, H, W) input with ``align_corners=True``, as torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.UpsamplingBilinear2d(size=(3, 5))(polygrad.ones(1, 1, 2, 3)).shape
    (1, 1, 3, 5)
    """

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C * r * r, H, W) to (*, C, H * r, W * r).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.PixelShuffle(2)(polygrad.ones(1, 8, 2, 3)).shape
    (1, 2, 4, 6)
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(x, self.upscale_factor)


class PixelUnshuffle(Module):
    """(*, C, H * r, W * r) to (*, C * r * r, H, W).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.PixelUnshuffle(2)(polygrad.ones(1, 2, 4, 6)).shape
    (1, 8, 2, 3)
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_unshuffle(x, self.downscale_factor)
