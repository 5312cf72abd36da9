"""Special functions (torch.special's): erfc, erfinv, lgamma, digamma, logit and xlogy, each
forward beside its vector-Jacobian rule. The library kernels come from the backend
(``xp.erfc``, ``xp.erfinv``, ``xp.gammaln``, ``xp.psi``, ``xp.trigamma``).
"""

from __future__ import annotations

import math

from .._tensor import Function, Tensor, apply1
from ._common import _binary_op, _tensor_arg
from .elementwise import _unary
from .mathfn import _op_class, _Unary

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
HALF_SQRT_PI = math.sqrt(math.pi) / 2.0


def _erfc(xp, g, x, y):
    return -(g * xp.exp(-(x * x)) * TWO_OVER_SQRT_PI)


def _erfinv(xp, g, x, y):
    return g * xp.exp(y * y) * HALF_SQRT_PI


def _lgamma(xp, g, x, y):
    return g * xp.psi(x)


def trigamma_recorded(x: Tensor) -> Tensor:
    """Stand-in for ``trigamma`` in recorded (``create_graph=True``) rules: not differentiable
    yet, so it refuses clearly."""
    raise NotImplementedError(
        "digamma's gradient (trigamma) cannot be recorded yet: create_graph=True through "
        "digamma is not supported"
    )


def _digamma(xp, g, x, y):
    return g * xp.trigamma(x)


erfc = _unary(_op_class(_Unary, "erfc", _erfc), "erfc(x): elementwise 1 - erf(x), tail-accurate.")
erfinv = _unary(_op_class(_Unary, "erfinv", _erfinv), "erfinv(x): elementwise inverse erf.")
lgamma = _unary(_op_class(_Unary, "gammaln", _lgamma), "lgamma(x): elementwise log|Gamma(x)|.")
digamma = _unary(_op_class(_Unary, "psi", _digamma), "digamma(x): elementwise d/dx lgamma(x).")
lgamma.__name__ = lgamma.__qualname__ = "lgamma"
digamma.__name__ = digamma.__qualname__ = "digamma"


class Logit(Function):
    exact = True
    fresh = True

    def __init__(self, eps: float | None) -> None:
        self.eps = None if eps is None else float(eps)

    def forward(self, xp, x):
        if self.eps is not None:
            x = xp.clip(x, self.eps, 1.0 - self.eps)
        return xp.log(x / (1.0 - x))

    def backward(self, xp, g, x):
        d = g / (x * (1.0 - x))
        if self.eps is None:  # as torch: NaN outside [0, 1], where logit itself is NaN
            return (xp.where(xp.logical_or(x < 0.0, x > 1.0), xp.nan, d),)
        # as torch: no gradient where the clamp is active (x outside [eps, 1 - eps])
        outside = xp.logical_or(x < self.eps, x > 1.0 - self.eps)
        return (xp.where(outside, xp.zeros_like(d), d),)


def logit(x: Tensor, eps: float | None = None) -> Tensor:
    """``log(x / (1 - x))`` elementwise; with ``eps``, ``x`` is first clamped to
    ``[eps, 1 - eps]`` (and gets no gradient outside it), as torch's ``logit``.

    Parameters
    ----------
    x : Tensor
        Input.
    eps : float, optional
        The clamp bound.

    Returns
    -------
    Tensor
    """
    x = _tensor_arg(x)
    if not x.dtype.is_floating_point:
        from .. import _dtypes
        from ._common import astype

        x = astype(x, _dtypes.default_float)
    return apply1(Logit(eps), x)


def _arrays(xp, a, b):
    """A Python-number operand as an array like the other one."""
    if isinstance(a, (int, float)):
        a = xp.full_like(b, a)
    if isinstance(b, (int, float)):
        b = xp.full_like(a, b)
    return a, b


class Xlogy(Function):
    def forward(self, xp, a, b):
        a, b = _arrays(xp, a, b)
        out = xp.where(a == 0, xp.zeros_like(a * b), a * xp.log(b))
        return xp.where(xp.isnan(b), b + a * 0, out)  # NaN y gives NaN even where x == 0

    def backward(self, xp, g, a, b):
        a, b = _arrays(xp, a, b)
        # NOTE: torch's rule: d/dx = xlogy(g, y), 0 where x == 0 and y <= 0 (so x = 0,
        # y = inf gives inf: log(y) does not depend on x); NaN y passes NaN
        logb = xp.log(b)
        ga = xp.where(xp.logical_and(g == 0, b == b), xp.zeros_like(g * b), g * logb)
        ga = xp.where(xp.logical_and(a == 0, b <= 0), xp.zeros_like(ga), ga)
        return ga, g * a / b


xlogy = _binary_op(
    Xlogy, "xlogy", "xlogy(x, y): elementwise ``x * log(y)``, 0 where x == 0 (NaN where y is NaN)."
)
