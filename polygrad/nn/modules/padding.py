"""The padding layers, as torch's ``nn.ZeroPad2d``, ``ReflectionPad1d`` ...: each holds its
padding as a ``2 * n``-tuple (last axis first: ``(left, right, top, bottom, front, back)``)
and calls :func:`polygrad.nn.functional.pad`."""

from __future__ import annotations

from typing import Any

from polygrad import Tensor

from .. import functional as F
from .module import Module


class _PadNd(Module):
    mode = "constant"
    n = 1

    def __init__(self, padding: Any, value: float = 0.0) -> None:
        super().__init__()
        if isinstance(padding, int):
            padding = (padding,) * (2 * self.n)
        padding = tuple(padding)
        if len(padding) != 2 * self.n or not all(isinstance(p, int) for p in padding):
            raise TypeError(
                f"{type(self).__name__}: padding must be an int or {2 * self.n} ints, got "
                f"{padding!r}"
            )
        self.padding = padding
        if self.mode == "constant":
            self.value = float(value)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.ndim not in (self.n + 1, self.n + 2):
            raise ValueError(
                f"{type(self).__name__}: expected a {self.n + 1}-D or {self.n + 2}-D input, "
                f"got shape {input.shape}"
            )
        if self.mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        if self.mode == "constant" and not isinstance(self, (ZeroPad1d, ZeroPad2d, ZeroPad3d)):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pad the last axis with ``value``: ``ConstantPad1d(padding, value)``."""

    n = 1

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(ConstantPad1d):
    """Pad the last two axes with ``value``."""

    n = 2


class ConstantPad3d(ConstantPad1d):
    """Pad the last three axes with ``value``."""

    n = 3


class ZeroPad1d(_PadNd):
    """Pad the last axis with zeros."""

    n = 1

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


class ZeroPad2d(ZeroPad1d):
    """Pad the last two axes with zeros.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.ZeroPad2d((1, 0, 2, 0))(polygrad.ones(1, 2, 2)).shape
    (1, 4, 3)
    """

    n = 2


class ZeroPad3d(ZeroPad1d):
    """Pad the last three axes with zeros."""

    n = 3


class ReflectionPad1d(_PadNd):
    """Pad the last axis by reflecting it about its edge elements (not repeating them)."""

    mode, n = "reflect", 1

    def __init__(self, padding: Any) -> None:
        super().__init__(padding)


class ReflectionPad2d(ReflectionPad1d):
    """Reflection padding of the last two axes."""

    n = 2


class ReflectionPad3d(ReflectionPad1d):
    """Reflection padding of the last three axes."""

    n = 3


class ReplicationPad1d(ReflectionPad1d):
    """Pad the last axis by repeating its edge elements."""

    mode, n = "replicate", 1


class ReplicationPad2d(ReplicationPad1d):
    """Replication padding of the last two axes."""

    n = 2


class ReplicationPad3d(ReplicationPad1d):
    """Replication padding of the last three axes."""

    n = 3


class CircularPad1d(ReflectionPad1d):
    """Pad the last axis by wrapping it around (periodic)."""

    mode, n = "circular", 1


class CircularPad2d(CircularPad1d):
    """Circular padding of the last two axes."""

    n = 2


class CircularPad3d(CircularPad1d):
    """Circular padding of the last three axes."""

    n = 3
