"""Activations: the rectifiers, the sigmoid family, the shrinks, the softmaxes and GLU, each
composed from differentiable polygrad ops (so second derivatives come for free)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import polygrad as pg
from polygrad import Tensor


def _write(x: Tensor, inplace: bool, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """``fn(x)``, or for ``inplace`` ``x`` overwritten with it (torch's ``inplace=True``).

    The write goes through polygrad's in-place mechanism, so a leaf that requires grad refuses
    as in torch. ``fn`` reads a copy: its backward may need the input, which the write changes.
    """
    if not inplace:
        return fn(x)
    x[...] = fn(x.clone())
    return x


def _floating(who: str, x: Tensor) -> None:
    """torch's NotImplementedError for an activation whose kernel takes floating-point
    (or complex) tensors only: integer and bool inputs are refused, never silently cast."""
    if isinstance(x, Tensor) and x.dtype.kind not in ("float", "complex"):
        raise NotImplementedError(
            f"{who}: not implemented for dtype {x.dtype.name} (input of shape {x.shape}); "
            "convert the input with .float() first"
        )


def _not_bool(who: str, x: Tensor, error: type[Exception] = RuntimeError) -> None:
    """torch's error for a bool input to a rectifier that keeps integer dtypes."""
    if isinstance(x, Tensor) and x.dtype.kind == "bool":
        raise error(f"{who}: Boolean inputs not supported (input of shape {x.shape})")


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)`` elementwise; the gradient at 0 is 0, as in torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.relu(polygrad.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    _not_bool("relu", x)
    return _write(x, inplace, lambda t: pg.relu(t))


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.leaky_relu(polygrad.tensor([-2.0, 3.0]), 0.5).tolist()
    [-1.0, 3.0]
    """
    _floating("leaky_relu", x)
    return _write(x, inplace, lambda t: pg.leaky_relu(t, negative_slope))


def tanh(x: Tensor) -> Tensor:
    """Elementwise hyperbolic tangent."""
    return pg.tanh(x)


def sigmoid(x: Tensor) -> Tensor:
    """Elementwise ``1 / (1 + exp(-x))``, without overflow."""
    return pg.sigmoid(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit ``x * Phi(x)``; ``approximate="tanh"`` as in torch."""
    _floating("gelu", x)
    return pg.gelu(x, approximate)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    _floating("softplus", x)
    return pg.softplus(x, beta, threshold)


def _softmax_dim(ndim: int) -> int:
    # NOTE: torch's legacy choice when no dim is given (it warns; we follow it silently)
    return 0 if ndim in (0, 1, 3) else 1


def _cast(who: str, x: Tensor, dtype: Any) -> Tensor:
    x = x if dtype is None else x.to(dtype)  # torch casts the input first
    _floating(who, x)
    return x


def softmax(
    x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, without overflow.

    ``dim=None`` picks torch's legacy default (0 for 0-, 1- and 3-d inputs, else 1);
    ``dtype`` casts the input first, as torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.softmax(polygrad.tensor([[0.0, 0.0]]), dim=1).tolist()
    [[0.5, 0.5]]
    """
    x = _cast("softmax", x, dtype)
    return pg.softmax(x, axis=_softmax_dim(x.ndim) if dim is None else dim)


def log_softmax(
    x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``, without overflow (``dim=None`` and ``dtype`` as in
    :func:`softmax`)."""
    x = _cast("log_softmax", x, dtype)
    return pg.log_softmax(x, axis=_softmax_dim(x.ndim) if dim is None else dim)


def softmin(
    x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None
) -> Tensor:
    """``softmax(-x)`` along ``dim`` (``dim=None`` and ``dtype`` as in :func:`softmax`)."""
    return softmax(-_cast("softmin", x, dtype), dim)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _elu(x: Tensor, alpha: float, scale: float = 1.0, inv_alpha: float = 1.0) -> Tensor:
    # NOTE: exp of min(x, 0), so the unused branch never overflows (an inf there would make the
    # where's gradient NaN); a clip, whose gradient passes at 0 as torch's elu has it
    # expm1, as torch: exp(x) - 1 loses every digit for |x| below the float's epsilon
    neg = pg.expm1(pg.clip(x, max=0.0) * inv_alpha) * alpha
    return pg.where(x > 0, x, neg) * scale if scale != 1.0 else pg.where(x > 0, x, neg)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.elu(polygrad.tensor([0.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    _floating("elu", x)
    return _write(x, inplace, lambda t: _elu(t, alpha))


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalizing constants of Klambauer et al."""
    _floating("selu", x)
    return _write(x, inplace, lambda t: _elu(t, SELU_ALPHA, SELU_SCALE))


def celu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where positive, ``alpha * (exp(x / alpha) - 1)`` elsewhere."""
    _floating("celu", x)
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError, alpha must not be 0")
    return _write(x, inplace, lambda t: _elu(t, alpha, 1.0, 1.0 / alpha))


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (also called swish)."""
    _floating("silu", x)
    return _write(x, inplace, lambda t: t * pg.sigmoid(t))


def mish(x: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    _floating("mish", x)
    return _write(x, inplace, lambda t: t * pg.tanh(pg.softplus(t)))


def hardtanh(
    x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """``x`` clamped into ``[min_val, max_val]``; the gradient is 0 at the bounds, as torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.hardtanh(polygrad.tensor([-2.0, 0.5, 3.0])).tolist()
    [-1.0, 0.5, 1.0]
    """
    _not_bool("hardtanh", x)
    if min_val > max_val:
        raise ValueError(
            f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})"
        )

    def fn(t: Tensor) -> Tensor:
        if t.dtype.kind in ("int", "uint"):  # torch keeps the integer dtype (bounds truncated)
            return pg.clamp(t, int(min_val), int(max_val))
        inside = (t > min_val) & (t < max_val)
        return pg.where(inside, t, pg.where(t <= min_val, min_val, max_val))

    return _write(x, inplace, fn)


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    """``hardtanh(x, 0, 6)``."""
    return hardtanh(x, 0.0, 6.0, inplace)


def hardsigmoid(x: Tensor, inplace: bool = False) -> Tensor:
    """``x / 6 + 1/2`` clamped into ``[0, 1]``; gradient ``1/6`` strictly inside ``(-3, 3)``."""
    _floating("hardsigmoid", x)

    def fn(t: Tensor) -> Tensor:
        inside = (t > -3.0) & (t < 3.0)
        return pg.where(inside, t / 6.0 + 0.5, pg.where(t <= -3.0, 0.0, 1.0))

    return _write(x, inplace, fn)


def hardswish(x: Tensor, inplace: bool = False) -> Tensor:
    """``x * hardsigmoid(x)``; at ``x = -3`` and ``3`` the gradient is torch's (0 and 1)."""
    _floating("hardswish", x)
    fn = lambda t: pg.where(t <= -3.0, 0.0, pg.where(t < 3.0, t * (t + 3.0) / 6.0, t))
    return _write(x, inplace, fn)


def softsign(x: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return x / (pg.abs(x) + 1.0)


def tanhshrink(x: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return x - pg.tanh(x)


def _check_lambd(who: str, lambd: float) -> None:
    if lambd < 0:
        raise RuntimeError(f"{who}: lambda must be greater or equal to 0, but found to be {lambd}")


def softshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between."""
    _floating("softshrink", x)
    _check_lambd("softshrink", lambd)
    return pg.where(x > lambd, x - lambd, pg.where(x < -lambd, x + lambd, 0.0))


def hardshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, 0 elsewhere."""
    _floating("hardshrink", x)
    return pg.where((x > lambd) | (x < -lambd), x, 0.0)


def logsigmoid(x: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, without overflow, for every ``x`` (softplus with
    no linear threshold: torch's log-sigmoid keeps ``log1p(exp(x))`` far below -20)."""
    _floating("logsigmoid", x)
    return -pg.softplus(-x, 1.0, math.inf)


def threshold(x: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, ``value`` elsewhere."""
    _not_bool("threshold", x, NotImplementedError)
    if x.dtype.kind in ("int", "uint"):  # torch keeps the integer dtype (value truncated)
        value = int(value)
    return _write(x, inplace, lambda t: pg.where(t > threshold, t, value))


def glu(x: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` for the two halves ``a, b`` of ``x`` along ``dim``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.glu(polygrad.tensor([2.0, 0.0])).tolist()
    [1.0]
    """
    _floating("glu", x)
    if x.ndim == 0:
        raise RuntimeError("glu: does not support scalars because halving size must be even")
    if not -x.ndim <= dim < x.ndim:
        raise IndexError(f"glu: dim {dim} is out of range for a {x.ndim}-d input")
    n = x.shape[dim]
    if n % 2:
        raise RuntimeError(
            f"glu: halving dimension must be even, but dimension {dim % x.ndim} is size {n}"
        )
    a, b = pg.split(x, n // 2, axis=dim)
    return a * pg.sigmoid(b)


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """``x`` where positive, ``weight * x`` elsewhere; ``weight`` has one slope, or one per
    channel (axis 1 of ``x``)."""
    _floating("prelu", x)
    c = weight.numel()
    if weight.ndim > 1:
        raise RuntimeError(
            f"prelu: weight must be a 1-D tensor or a scalar, got shape {weight.shape}"
        )
    if c != 1:
        channels = x.shape[1] if x.ndim >= 2 else 1  # torch: below 2-d, one channel
        if channels != c:
            raise RuntimeError(
                f"prelu: mismatch in parameter count: weight has {c} slopes, input of shape "
                f"{x.shape} has {channels} channels"
            )
        if x.ndim >= 2:
            weight = pg.reshape(weight, (1, c) + (1,) * (x.ndim - 2))
    elif weight.ndim == 1:
        weight = pg.reshape(weight, ())
    return pg.where(x > 0, x, weight * x)
