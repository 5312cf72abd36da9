"""The standard's ``fft`` extension on polygrad tensors, values only.

Complex tensors carry no gradients in polygrad (see the README), so a transform of a tensor
that requires grad raises ``TypeError`` instead of silently cutting the graph. The shift and
frequency functions (``fftshift``, ``fftfreq`` ...) are real and differentiable where they
take a tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import _creation, _dtypes
from .._tensor import Tensor, grad_mode
from ..ops import roll

__all__ = [
    "fft", "ifft", "fftn", "ifftn", "rfft", "irfft", "rfftn", "irfftn", "hfft", "ihfft",
    "fftfreq", "rfftfreq", "fftshift", "ifftshift",
]  # fmt: skip


def _values_only(name: str, n_kw: str) -> Callable[..., Tensor]:
    def transform(x: Tensor, /, *, axis: Any = None, norm: str = "backward", **kw: Any) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"fft.{name} takes a polygrad Tensor, not {type(x).__name__}")
        if x.requires_grad and grad_mode.enabled:
            raise TypeError(
                f"fft.{name}: the input (shape {x.shape}) requires grad, but complex results "
                "hold values only in polygrad, so the gradient would be lost; detach() it first"
            )
        if norm not in ("backward", "ortho", "forward"):
            raise ValueError(f"fft.{name}: norm must be 'backward', 'ortho' or 'forward'")
        kwargs = {k: v for k, v in kw.items() if v is not None}
        if axis is not None or n_kw == "n":
            kwargs["axis" if n_kw == "n" else "axes"] = -1 if axis is None else axis
        data = getattr(x._xp.fft, name)(x._data, norm=norm, **kwargs)
        return Tensor._wrap(data, x._xp)

    def one_axis(
        x: Tensor, /, *, n: int | None = None, axis: int = -1, norm: str = "backward"
    ) -> Tensor:
        return transform(x, axis=axis, norm=norm, n=n)

    def many_axes(
        x: Tensor,
        /,
        *,
        s: Sequence[int] | None = None,
        axes: Sequence[int] | None = None,
        norm: str = "backward",
    ) -> Tensor:
        return transform(x, axis=axes, norm=norm, s=s)

    fn = one_axis if n_kw == "n" else many_axes
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"The standard's ``fft.{name}`` (values only: the input must not require grad)."
    return fn


fft = _values_only("fft", "n")
ifft = _values_only("ifft", "n")
rfft = _values_only("rfft", "n")
irfft = _values_only("irfft", "n")
hfft = _values_only("hfft", "n")
ihfft = _values_only("ihfft", "n")
fftn = _values_only("fftn", "s")
ifftn = _values_only("ifftn", "s")
rfftn = _values_only("rfftn", "s")
irfftn = _values_only("irfftn", "s")


def _freq(n: int, d: float, dtype: Any, device: Any, real: bool) -> Tensor:
    (n,) = _creation.check_size((n,), "fftfreq")
    if n == 0:
        raise ValueError("fftfreq: n must be positive")
    backend, dev = _creation._target(device)
    d_type = backend.to_backend_dtype(_dtypes.default_float if dtype is None else dtype)
    xp = backend.xp
    # built from arange rather than the backend's fftfreq, whose dtype= is missing in older
    # array-api-compat releases: 0, 1, ..., then the negative frequencies -(n // 2), ..., -1
    with backend.on(dev):
        k = xp.arange(n // 2 + 1 if real else n, dtype=d_type, device=dev)
        if not real:
            k = xp.where(k < (n + 1) // 2, k, k - n)
        data = k / (d * n)
    return Tensor._wrap(data, backend.xp)


def fftfreq(n: int, /, *, d: float = 1.0, dtype: Any = None, device: Any = None) -> Tensor:
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``."""
    return _freq(n, d, dtype, device, False)


def rfftfreq(n: int, /, *, d: float = 1.0, dtype: Any = None, device: Any = None) -> Tensor:
    """The non-negative sample frequencies of an ``n``-point real transform."""
    return _freq(n, d, dtype, device, True)


def _shift(x: Tensor, axes: Any, inverse: bool) -> Tensor:
    if axes is None:
        axes = tuple(range(x.ndim))
    axes = (axes,) if isinstance(axes, int) else tuple(axes)
    shifts = [
        (-(x.shape[a] // 2) if inverse else x.shape[a] // 2) for a in axes
    ]  # (n // 2 forward, -(n // 2) back: exact inverses for odd n too)
    return roll(x, shifts, axis=axes) if axes else x * 1


def fftshift(x: Tensor, /, *, axes: int | Sequence[int] | None = None) -> Tensor:
    """Move the zero-frequency term to the centre (differentiable: a roll)."""
    return _shift(x, axes, False)


def ifftshift(x: Tensor, /, *, axes: int | Sequence[int] | None = None) -> Tensor:
    """The inverse of ``fftshift`` (differentiable: a roll)."""
    return _shift(x, axes, True)
