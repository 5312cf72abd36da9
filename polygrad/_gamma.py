"""lgamma, digamma, trigamma and erfinv from array API operations only, on whole arrays.

Gamma family: ``x >= 10`` by the Stirling / de Moivre asymptotic series (Bernoulli numbers
``B_2 .. B_18``, a fixed Horner in ``1/x^2``); ``0 < x < 10`` shifted up by a fixed 10 steps
(``lgamma(x) = lgamma(x + 10) - log(x (x+1) ... (x+9))``, likewise the sums of ``1/(x+k)`` and
``1/(x+k)^2``); ``x < 0`` by reflection, with ``sin(pi x)`` and ``tan(pi x)`` taken at
``x - round(x)`` so large arguments keep their accuracy. lgamma near its zeros 1 and 2, where
the shift's ``lgamma(x + 10) - log(...)`` would cancel to an absolute error, takes the Taylor
series ``lgamma(2 + t) = (1 - gamma) t + sum_k (-1)^k (zeta(k) - 1) / k t^k`` (and
``lgamma(1 + t) = lgamma(2 + t) - log1p(t)``, ``lgamma(3 + t) = lgamma(2 + t) + log(2 + t)``)
on ``0.5 <= x < 3.5``, a fixed Horner of degree 27 in ``t``. lgamma and digamma evaluate
float32 inputs in float64 and round once. erfinv: Giles' single-precision polynomials
("Approximating the erfinv function", GPU Computing Gems, 2011) as a first guess, then four
Halley steps on ``erf`` (Newton on ``log erfc`` beyond 0.5, so the tails near +-1 keep their
bits) with the portable erf/erfc of ``_erf``. Special values follow torch.
"""

from __future__ import annotations

import math
from typing import Any

from ._erf import _poly, erf, erfc

SHIFT = 10  # recurrence steps: x + SHIFT >= 10 where the asymptotic series are used
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# B_2k / (2k (2k-1)) for lgamma; B_2k / (2k) for digamma; B_2k for trigamma (k = 1..9)
BERN = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798)
LG = tuple(b / ((2 * k + 2) * (2 * k + 1)) for k, b in enumerate(BERN))
DG = tuple(b / (2 * k + 2) for k, b in enumerate(BERN))
EULER_GAMMA = 0.5772156649015329
ZERO_SERIES = 27  # degree of the series at 1 and 2: (zeta(k) - 1) t^k / k < 1e-17 for |t| <= 0.5


def _zeta_minus_one(k: int) -> float:
    """``zeta(k) - 1`` for an integer ``k >= 2``: 48 terms plus the Euler-Maclaurin tail
    (Bernoulli terms up to ``B_10``; the next one is below 1e-22 at ``k = 2``)."""
    n = 50
    terms = [m**-k for m in range(2, n)] + [n ** (1 - k) / (k - 1), 0.5 * n**-k]
    rising = 1.0  # k (k + 1) ... (k + 2j - 2)
    for j, b in enumerate(BERN[:5], start=1):
        rising *= k + 2 * j - 2 if j == 1 else (k + 2 * j - 3) * (k + 2 * j - 2)
        terms.append(b / math.factorial(2 * j) * rising * n ** (-k - 2 * j + 1))
    return math.fsum(terms)


# coefficients of t^1 .. t^ZERO_SERIES of lgamma(2 + t), lowest degree first
LG_AT_2 = (1.0 - EULER_GAMMA,) + tuple(
    (-1) ** k * _zeta_minus_one(k) / k for k in range(2, ZERO_SERIES + 1)
)
# Giles' coefficients, highest degree last as _poly wants
GILES_CENTRAL = (1.50140941, 0.246640727, -0.00417768164, -0.00125372503, 0.00021858087,
                 -4.39150654e-06, -3.5233877e-06, 3.43273939e-07, 2.81022636e-08)
GILES_TAIL = (2.83297682, 1.00167406, 0.00943887047, -0.0076224613, 0.00573950773,
              -0.00367342844, 0.00134934322, 0.000100950558, -0.000200214257)


def _pole(xp: Any, x: Any) -> Any:
    """True at the non-positive integers (and -inf)."""
    return (x <= 0.0) & (xp.floor(x) == x)


def _sinpi_reduced(xp: Any, x: Any) -> Any:
    """``x - round(x)`` in [-0.5, 0.5]: exact, and ``sin(pi x) = +-sin(pi r)``."""
    return xp.where(xp.abs(x) < math.inf, x - xp.round(x), 0.0)


def _arguments(xp: Any, x: Any) -> tuple[Any, Any, Any]:
    """The reflected argument ``a`` (``1 - x >= 1`` below 0; 1 at poles, infinities and NaN),
    the mask of ``a`` below the shift, and ``z``, the argument of the asymptotic series."""
    a = xp.where(x < 0.0, 1.0 - x, x)
    a = xp.where((a == a) & (a < math.inf) & (a > 0.0), a, 1.0)
    small = a < SHIFT
    return a, small, xp.where(small, a + SHIFT, a)


def lgamma(xp: Any, x: Any) -> Any:
    """Elementwise ``log|Gamma(x)|`` of the floating-point array ``x`` in namespace ``xp``.

    Parameters
    ----------
    xp : namespace
        The array API namespace of ``x``.
    x : array
        Real floating-point input; the result has its dtype and device.

    Returns
    -------
    array
        ``+inf`` at the poles (non-positive integers) and at ``+-inf``, NaN at NaN, like torch.

    Examples
    --------
    >>> import array_api_compat.numpy as xnp
    >>> round(float(lgamma(xnp, xnp.asarray([5.0]))[0]), 12)  # log(24)
    3.178053830348
    """
    if x.dtype == xp.float32:
        return xp.astype(lgamma(xp, xp.astype(x, xp.float64)), xp.float32)
    a, small, z = _arguments(xp, x)
    prod = xp.ones_like(a)
    for k in range(SHIFT):
        prod = prod * (a + k)
    inv2 = 1.0 / (z * z)
    big = (z - 0.5) * (xp.log(z) - 1.0) + (HALF_LOG_2PI - 0.5) + _poly(inv2, LG) / z
    pos = xp.where(small, big - xp.log(prod), big)
    s = xp.abs(xp.sin(math.pi * _sinpi_reduced(xp, x)))
    out = xp.where(x < 0.0, math.log(math.pi) - xp.log(s) - pos, pos)
    near = (x >= 0.5) & (x < 3.5)
    lo, hi = x < 1.5, x >= 2.5
    n = xp.astype(hi, x.dtype) - xp.astype(lo, x.dtype) + 2.0
    t = xp.where(near, x - n, 0.0)  # x = n + t, n in {1, 2, 3}
    at_2 = t * _poly(t, LG_AT_2)  # lgamma(2 + t)
    step = xp.where(lo, -xp.log1p(t), xp.where(hi, xp.log1p(1.0 + t), 0.0))
    out = xp.where(near, at_2 + step, out)
    out = xp.where(_pole(xp, x) | (xp.abs(x) == math.inf), math.inf, out)
    return xp.where(x == x, out, x)


def digamma(xp: Any, x: Any) -> Any:
    """Elementwise digamma ``d/dx lgamma(x)`` of ``x`` in namespace ``xp``.

    ``-inf`` at ``+0``, ``+inf`` at ``-0``, NaN at the negative integers and ``-inf``,
    ``+inf`` at ``+inf`` (torch's values). See :func:`lgamma` for the parameters.

    Examples
    --------
    >>> import array_api_compat.numpy as xnp
    >>> round(float(digamma(xnp, xnp.asarray([1.0]))[0]), 12)  # -Euler's gamma
    -0.577215664902
    """
    if x.dtype == xp.float32:
        return xp.astype(digamma(xp, xp.astype(x, xp.float64)), xp.float32)
    a, small, z = _arguments(xp, x)
    acc = xp.zeros_like(a)
    for k in range(SHIFT):
        acc = acc + 1.0 / (a + k)
    inv2 = 1.0 / (z * z)
    big = xp.log(z) - 0.5 / z - inv2 * _poly(inv2, DG)
    pos = xp.where(small, big - acc, big)
    t = xp.tan(math.pi * _sinpi_reduced(xp, x))
    out = xp.where(x < 0.0, pos - math.pi / t, pos)
    # NOTE: torch's digamma is -inf at +0.0 and +inf at -0.0
    out = xp.where(x == 0.0, -xp.copysign(xp.full_like(x, math.inf), x), out)
    out = xp.where(_pole(xp, x) & (x < 0.0), math.nan, out)
    return xp.where(x == math.inf, x, xp.where(x == x, out, x))


def trigamma(xp: Any, x: Any) -> Any:
    """Elementwise trigamma (digamma's derivative) of ``x`` in namespace ``xp``.

    ``+inf`` at the poles (non-positive integers), 0 at ``+inf``, NaN at ``-inf`` and NaN.
    See :func:`lgamma` for the parameters.

    Examples
    --------
    >>> import array_api_compat.numpy as xnp
    >>> round(float(trigamma(xnp, xnp.asarray([1.0]))[0]), 12)  # pi^2 / 6
    1.644934066848
    """
    a, small, z = _arguments(xp, x)
    acc = xp.zeros_like(a)
    for k in range(SHIFT):
        acc = acc + 1.0 / ((a + k) * (a + k))
    inv = 1.0 / z
    inv2 = inv * inv
    big = inv + 0.5 * inv2 + inv * inv2 * _poly(inv2, BERN)
    pos = xp.where(small, big + acc, big)
    s = xp.sin(math.pi * _sinpi_reduced(xp, x))
    out = xp.where(x < 0.0, (math.pi * math.pi) / (s * s) - pos, pos)
    out = xp.where(_pole(xp, x), math.inf, out)
    out = xp.where(x == math.inf, 0.0, xp.where(x == -math.inf, math.nan, out))
    return xp.where(x == x, out, x)


def erfinv(xp: Any, x: Any) -> Any:
    """Elementwise inverse error function of ``x`` in namespace ``xp``.

    ``+-inf`` at ``+-1``, NaN beyond and at NaN; the sign of zero is kept.
    See :func:`lgamma` for the parameters.

    Examples
    --------
    >>> import array_api_compat.numpy as xnp
    >>> float(erfinv(xnp, xnp.asarray([0.5]))[0])
    0.4769362762044699
    """
    a = xp.abs(x)
    inside = a < 1.0
    a = xp.where(inside, a, 0.5)
    c = 1.0 - a  # exact for a >= 0.5, the residual of the tail branch
    w = -xp.log(c * (1.0 + a))
    y = a * xp.where(
        w < 5.0, _poly(w - 2.5, GILES_CENTRAL), _poly(xp.sqrt(w) - 3.0, GILES_TAIL)
    )
    tail = a > 0.5
    for _ in range(4):
        # NOTE: Halley on f(y) = erf(y) - a: y -= u / (1 + y u), u = f / f'; in the tail Newton
        # on log(erfc(y)) - log(1 - a), nearly linear in y where erfc(y) - (1 - a) is not
        d = (2.0 / math.sqrt(math.pi)) * xp.exp(-(y * y))
        ec = xp.where(tail, erfc(xp, y), 1.0)
        u_tail = (xp.log(c) - xp.log(ec)) * ec / d
        u_mid = (erf(xp, y) - a) / d
        y = xp.where(tail, y - u_tail, y - u_mid / (1.0 + y * u_mid))
    out = xp.where(xp.abs(x) == 1.0, math.inf, xp.where(xp.abs(x) > 1.0, math.nan, y))
    return xp.where(x == x, xp.copysign(out, x), x)
