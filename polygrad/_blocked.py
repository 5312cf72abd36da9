"""NumPy kernels evaluated in cache-sized blocks: a fast float32 ``erf``, and exact GELU with
its derivative in one sweep. Only the NumPy backend calls them (``_backend.NumpyBackend``).

Why blocks: a chain of NumPy ufuncs over a large array makes one pass through memory per
ufunc, and each new temporary costs page faults besides. Run over blocks of 64K elements with
a few preallocated scratch buffers, the same chain stays in the CPU's cache: a 24-pass
rational evaluation costs about what 8 passes over the whole array would.

**erf, float32.** SciPy's ``erf`` evaluates float32 input in double precision, about 20 ns
an element on this machine, 15-20x torch's vectorised float32 kernel, and exact GELU on float32
activations is where a model waits for it. Here ``erf(x) = tanh(g(x))`` with
``g(x) = atanh(erf(x))`` approximated by ``x P(x^2)``, ``P`` of degree 10 (``x`` clamped to
``[-4.2, 4.2]``, beyond which the float32 ``erf`` is ``+-1``): NumPy's SIMD ``tanh`` does the
saturation, and an error in ``g`` reaches ``erf`` damped by ``1 - erf^2``, so ``P`` needs full
accuracy only where ``erf`` is not yet near ``+-1``. The coefficients are ours: a least-squares
fit, reweighted towards minimax, of ``atanh(erf(x)) / x`` as a polynomial in ``x^2`` on
``[0, 4.2]``, weighted by that damping. Measured against SciPy's float64 ``erf`` on every third
float32 in ``[0, 5]`` (361M values): at most 3.7 ulp (near ``|x| = 0.055``, where NumPy's
float32 ``tanh`` itself is off by up to 3 ulp), 0.63 ulp on average; torch's float32 ``erf``
is within 1 ulp. Zeros keep their sign, ``erf(+-inf) = +-1``, NaN stays NaN. About 5x faster
than SciPy's call on 512K elements, 2x slower than NumPy's own ``tanh``.

**GELU.** ``x Phi(x)`` with ``Phi`` (kept for the backward), and the backward's
``g (Phi(x) + x phi(x))`` (``Phi``/``phi`` the normal CDF/density), each in one blocked sweep:
the same arithmetic, in the same order, as ``Backend.gelu``'s portable composition.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

CLAMP = np.float32(4.2)
COEFS = tuple(
    np.float32(c)
    for c in (
        1.1283791913855876, 0.1027717211637681, -0.000204428547051275, -0.0005991539613648005,
        7.229725876839208e-05, 1.8495071076460513e-07, -1.0711882078067577e-06,
        1.3879185920753293e-07, -8.62006229826657e-09, 2.726672272237332e-10,
        -3.513345765813434e-12,
    )
)  # fmt: skip
BLOCK = 65536
SQRT_2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

#: ``erf_block(u, out, scratch)``: erf of block ``u`` into ``out`` (``scratch``: 3 buffers)
ErfBlock = Callable[[np.ndarray, np.ndarray, list], None]


def _blocks(n: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n, BLOCK):
        yield start, min(n, start + BLOCK)


def _scratch(n: int, dtype: np.dtype, k: int) -> list[np.ndarray]:
    return [np.empty(min(BLOCK, n), dtype) for _ in range(k)]


def erf32_block(u: np.ndarray, out: np.ndarray, scratch: list) -> None:
    """``erf`` of the float32 block ``u`` into ``out`` (see the module docstring)."""
    a, z, p = (s[: u.size] for s in scratch)
    np.clip(u, -CLAMP, CLAMP, out=a)
    np.multiply(a, a, out=z)
    np.multiply(z, COEFS[-1], out=p)
    p += COEFS[-2]
    for c in COEFS[-3::-1]:  # Horner's rule, in place
        p *= z
        p += c
    p *= a
    np.tanh(p, out=out)


def erf_float32(x: np.ndarray) -> np.ndarray:
    """``erf`` of the float32 NumPy array ``x`` (any shape), as a new float32 array."""
    out = np.empty(x.shape, np.float32)
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)  # x's reshape may copy: it is only read
    scratch = _scratch(flat_x.size, np.dtype(np.float32), 3)
    for start, stop in _blocks(flat_x.size):
        erf32_block(flat_x[start:stop], flat_out[start:stop], scratch)
    return out


def gelu(x: np.ndarray, erf_block: ErfBlock) -> tuple[np.ndarray, np.ndarray]:
    """Exact GELU ``x Phi(x)`` of the float array ``x`` and ``Phi(x)``, two new arrays of its
    dtype (``Phi(x) = (1 + erf(x / sqrt 2)) / 2``)."""
    y = np.empty(x.shape, x.dtype)
    cdf = np.empty(x.shape, x.dtype)
    flat_x, flat_y, flat_c = x.reshape(-1), y.reshape(-1), cdf.reshape(-1)
    u, *scratch = _scratch(flat_x.size, x.dtype, 4)
    for start, stop in _blocks(flat_x.size):
        xb, ub, cb = flat_x[start:stop], u[: stop - start], flat_c[start:stop]
        np.divide(xb, SQRT_2, out=ub)
        erf_block(ub, cb, scratch)
        cb += 1.0
        cb *= 0.5
        np.multiply(xb, cb, out=flat_y[start:stop])
    return y, cdf


def gelu_grad(g: np.ndarray, x: np.ndarray, cdf: np.ndarray) -> np.ndarray:
    """``g (Phi(x) + x phi(x))``, GELU's vector-Jacobian product, ``phi`` the normal density;
    ``g``, ``x`` and ``cdf`` of one shape and dtype."""
    out = np.empty(x.shape, x.dtype)
    flat_g, flat_x, flat_c, flat_out = (a.reshape(-1) for a in (g, x, cdf, out))
    for start, stop in _blocks(flat_x.size):
        xb, ob = flat_x[start:stop], flat_out[start:stop]
        np.multiply(xb, xb, out=ob)
        ob *= -0.5
        np.exp(ob, out=ob)
        ob *= INV_SQRT_2PI
        ob *= xb
        ob += flat_c[start:stop]
        ob *= flat_g[start:stop]
    return out
