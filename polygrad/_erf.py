"""The error function from array API operations only: fdlibm's minimax rational approximations.

Four ranges of ``|x|``, each a rational function evaluated on the whole array (no Python loop
over elements, no series): ``[0, 0.84375)`` ``x + x P(x^2)/Q(x^2)``; ``[0.84375, 1.25)``
``erx + P(s)/Q(s)`` with ``s = |x| - 1``; ``[1.25, 6)`` ``1 - exp(-x^2 - 0.5625 + R(1/x^2) /
S(1/x^2)) / |x|`` with ``x^2`` split so its rounding error does not reach the exponential;
``1`` beyond. Within 1 ulp of torch's ``erf`` in float64. The coefficients are those of Sun
Microsystems' fdlibm ``s_erf.c`` (freely distributable); the vectorised evaluation is ours.
"""

from __future__ import annotations

from typing import Any

ERX = 8.45062911510467529297e-01
PP = (1.28379167095512558561e-01, -3.25042107247001499370e-01, -2.84817495755985104766e-02,
      -5.77027029648944159157e-03, -2.37630166566501626084e-05)
QQ = (3.97917223959155352819e-01, 6.50222499887672944485e-02, 5.08130628187576562776e-03,
      1.32494738004321644526e-04, -3.96022827877536812320e-06)
PA = (-2.36211856075265944077e-03, 4.14856118683748331666e-01, -3.72207876035701323847e-01,
      3.18346619901161753674e-01, -1.10894694282396677476e-01, 3.54783043256182359371e-02,
      -2.16637559486879084300e-03)
QA = (1.06420880400844228286e-01, 5.40397917702171048937e-01, 7.18286544141962662868e-02,
      1.26171219808761642112e-01, 1.36370839120290507362e-02, 1.19844998467991074170e-02)
RA = (-9.86494403484714822705e-03, -6.93858572707181764372e-01, -1.05586262253232909814e01,
      -6.23753324503260060396e01, -1.62396669462573470355e02, -1.84605092906711035994e02,
      -8.12874355063065934246e01, -9.81432934416914548592e00)
SA = (1.96512716674392571292e01, 1.37657754143519042600e02, 4.34565877475229228821e02,
      6.45387271733267880336e02, 4.29008140027567833386e02, 1.08635005541779435134e02,
      6.57024977031928170135e00, -6.04244152148580987438e-02)
RB = (-9.86494292470009928597e-03, -7.99283237680523006574e-01, -1.77579549177547519889e01,
      -1.60636384855821916062e02, -6.37566443368389627722e02, -1.02509513161107724954e03,
      -4.83519191608651397019e02)
SB = (3.03380607434824582924e01, 3.25792512996573918826e02, 1.53672958608443695994e03,
      3.19985821950859553908e03, 2.55305040643316442583e03, 4.74528541206955367215e02,
      -2.24409524465858183362e01)


def _poly(z: Any, coefs: tuple[float, ...], monic_one: bool = False) -> Any:
    """``sum_k coefs[k] z^k`` by Horner's rule; with ``monic_one``, ``1 + z * sum_k ...``."""
    acc = coefs[-1]
    for c in reversed(coefs[:-1]):
        acc = acc * z + c
    return acc * z + 1.0 if monic_one else acc


def erf(xp: Any, x: Any) -> Any:
    """Elementwise error function of the floating-point array ``x`` in namespace ``xp``."""
    a = xp.abs(x)
    lo = xp.minimum(a, 0.84375)
    z = lo * lo
    small = lo + lo * (_poly(z, PP) / _poly(z, QQ, True))
    s = xp.clip(a, 0.84375, 1.25) - 1.0
    mid = ERX + _poly(s, PA) / _poly(s, QA, True)
    b = xp.clip(a, 1.25, 6.0)
    w = 1.0 / (b * b)
    rs = xp.where(
        b < 1.0 / 0.35, _poly(w, RA) / _poly(w, SA, True), _poly(w, RB) / _poly(w, SB, True)
    )
    # NOTE: hi keeps 21 bits of b, so hi*hi is exact and exp(-b^2) = exp(-hi^2) exp((hi-b)(hi+b))
    hi = xp.floor(b * 1048576.0) / 1048576.0
    tail = 1.0 - xp.exp(-hi * hi - 0.5625) * xp.exp((hi - b) * (hi + b) + rs) / b
    out = xp.where(a < 0.84375, small, xp.where(a < 1.25, mid, xp.where(a < 6.0, tail, 1.0)))
    return xp.where(a == a, xp.copysign(out, x), x)  # keeps -0.0 and NaN


def erfc(xp: Any, x: Any) -> Any:
    """Elementwise ``1 - erf(x)`` keeping its relative accuracy in the right tail: fdlibm's
    ``erfc`` ranges (the same rational functions as ``erf``), ``exp(-x^2 ...) / x`` beyond 1.25
    up to 28 (0 after), so ``erfc(10)`` keeps all its bits instead of ``1 - erf(10) = 0``."""
    a = xp.abs(x)
    s = xp.clip(a, 0.84375, 1.25) - 1.0
    pq = _poly(s, PA) / _poly(s, QA, True)
    mid = xp.where(x > 0, (1.0 - ERX) - pq, 1.0 + (ERX + pq))
    b = xp.clip(a, 1.25, 28.0)
    w = 1.0 / (b * b)
    rs = xp.where(
        b < 1.0 / 0.35, _poly(w, RA) / _poly(w, SA, True), _poly(w, RB) / _poly(w, SB, True)
    )
    hi = xp.floor(b * 1048576.0) / 1048576.0
    r = xp.exp(-hi * hi - 0.5625) * xp.exp((hi - b) * (hi + b) + rs) / b
    tail = xp.where(x > 0, xp.where(a < 28.0, r, 0.0), 2.0 - r)
    out = xp.where(a < 0.84375, 1.0 - erf(xp, x), xp.where(a < 1.25, mid, tail))
    return xp.where(x == x, out, x)
