"""Elementwise ops (arithmetic, transcendental, activations, comparisons), each forward beside
its vector-Jacobian rule, then their public functions.
"""

from __future__ import annotations

import math
from typing import Any

from .. import _capture, _dtypes
from .._creation import tensor_like
from .._tensor import Function, Tensor, apply1, apply2
from ._common import (
    Number,
    _binary_op,
    _lift,
    _mask,
    _no_grad_result,
    _promote,
    _tensor_arg,
    astype,
)

SQRT_2 = math.sqrt(2.0)


INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Add(Function):
    saves = ""

    def forward(self, xp, a, b):
        return a + b

    def backward(self, xp, g):
        return g, g


class Sub(Function):
    saves = ""

    def forward(self, xp, a, b):
        return a - b

    def backward(self, xp, g):
        return g, -g


class Neg(Function):
    exact = True
    saves = ""
    fresh = True

    def forward(self, xp, x):
        return -x

    def backward(self, xp, g):
        return (-g,)


class Mul(Function):
    fresh = True
    cross = True

    def forward(self, xp, a, b):
        return a * b

    def backward(self, xp, g, a, b):
        return (
            g * b if self.next[0] is not None else None,
            g * a if self.next[1] is not None else None,
        )


class Div(Function):
    # NOTE: saves the inputs, not the output (as torch), so writing into the quotient in
    # place (q += 1) leaves its own gradient intact
    fresh = True

    def forward(self, xp, a, b):
        return a / b

    def backward(self, xp, g, a, b):
        ga = g / b
        return ga, (-ga * a / b if self.next[1] is not None else None)


class Pow(Function):
    # the inputs only, as torch for a number exponent: code like SciPy's moments squares and
    # then multiplies in place (``s = s**2; s *= d``), which must not invalidate the backward;
    # the exponent's gradient recomputes the output
    fresh = True

    def forward(self, xp, a, b):
        return a**b

    # NOTE: as torch, a zero exponent gives the base gradient 0 (not 0 * a**-1, NaN at a = 0),
    # and a zero base with a non-negative exponent gives the exponent gradient 0 (not
    # 0 * log 0); a negative base has a NaN exponent gradient (its log is NaN).
    def backward(self, xp, g, a, b):
        ga = gb = None
        if self.next[0] is not None:
            if isinstance(b, Number):
                ga = xp.zeros_like(g) if b == 0 else g * b * a ** (b - 1)
            else:
                ga = xp.where(b == 0, 0.0, g * b * a ** (b - 1))
        if self.next[1] is not None:
            y = a**b
            if isinstance(a, Number):
                log_a = math.log(a) if a > 0 else -math.inf if a == 0 else math.nan
                gb = g * (xp.where(b >= 0, 0.0, y * log_a) if a == 0 else y * log_a)
            else:
                gb = g * xp.where(xp.logical_and(a == 0, b >= 0), 0.0, y * xp.log(a))
        return ga, gb


class Abs(Function):
    exact = True
    fresh = True

    def forward(self, xp, x):
        return xp.abs(x)

    def backward(self, xp, g, x):
        # NOTE: gradient 0 at 0 and at NaN, as torch (whose sign(NaN) is 0)
        return (g * (_mask(xp, x > 0, g) - _mask(xp, x < 0, g)),)


class Exp(Function):
    exact = True
    saves = "output"
    fresh = True

    def forward(self, xp, x):
        return xp.exp(x)

    def backward(self, xp, g, y):
        return (g * y,)


class Log(Function):
    exact = True
    fresh = True

    def forward(self, xp, x):
        return xp.log(x)

    def backward(self, xp, g, x):
        return (g / x,)


class Log1p(Function):
    exact = True
    fresh = True

    def forward(self, xp, x):
        return xp.log1p(x)

    def backward(self, xp, g, x):
        return (g / (x + 1.0),)


class Sqrt(Function):
    exact = True
    saves = "output"
    fresh = True

    def forward(self, xp, x):
        return xp.sqrt(x)

    def backward(self, xp, g, y):
        return (g / (y * 2.0),)


class Sin(Function):
    exact = True
    fresh = True

    def forward(self, xp, x):
        return xp.sin(x)

    def backward(self, xp, g, x):
        return (g * xp.cos(x),)


class Cos(Function):
    exact = True
    fresh = True

    def forward(self, xp, x):
        return xp.cos(x)

    def backward(self, xp, g, x):
        return (-(g * xp.sin(x)),)


class Tanh(Function):
    exact = True
    saves = "output"
    fresh = True

    def forward(self, xp, x):
        return xp.tanh(x)

    def backward(self, xp, g, y):
        return (g * (1.0 - y * y),)


class Sigmoid(Function):
    exact = True
    saves = "output"
    fresh = True

    def forward(self, xp, x):
        return xp.sigmoid(x)  # the backend's compiled one, or the portable formula

    def backward(self, xp, g, y):
        return (g * y * (1.0 - y),)


class Relu(Function):
    exact = True
    saves = "output"
    fresh = True

    def forward(self, xp, x):
        return xp.maximum(x, 0.0 if xp.isdtype(x.dtype, "real floating") else 0)

    def backward(self, xp, g, y):
        # NOTE: gradient 0 at 0, as torch; a NaN passes the gradient, as torch's (not y <= 0)
        return (g * _mask(xp, xp.logical_not(y <= 0), g),)


class LeakyRelu(Function):
    exact = True
    fresh = True

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.slope = float(negative_slope)

    def forward(self, xp, x):
        return xp.where(x > 0, x, x * self.slope)

    def backward(self, xp, g, x):
        positive = _mask(xp, x > 0, g)
        return (g * (positive * (1.0 - self.slope) + self.slope),)


class Erf(Function):
    exact = True
    fresh = True

    def forward(self, xp, x):
        return xp.erf(x)

    def backward(self, xp, g, x):
        return (g * xp.exp(-(x * x)) * TWO_OVER_SQRT_PI,)


GELU_K = math.sqrt(2.0 / math.pi)


GELU_C = 0.044715


class Gelu(Function):
    """x * Phi(x) with Phi the normal CDF; ``approximate="tanh"`` uses torch's tanh formula."""

    exact = True
    fresh = True

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise RuntimeError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")
        self.approximate = approximate

    def forward(self, xp, x):
        if self.approximate == "tanh":
            return 0.5 * x * (1.0 + xp.tanh(GELU_K * (x + GELU_C * x * x * x)))
        # the normal CDF is kept for backward: erf is the costly part, never computed twice
        # (on NumPy forward and backward are cache-blocked sweeps, see polygrad/_blocked.py)
        y, self.cdf = xp.gelu(x)
        return y

    def backward(self, xp, g, x):
        if self.approximate == "tanh":
            t = xp.tanh(GELU_K * (x + GELU_C * x * x * x))
            du = GELU_K * (1.0 + 3.0 * GELU_C * x * x)
            return (g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du),)
        if isinstance(g, Tensor):  # create_graph: recompute the CDF as recorded ops
            cdf = 0.5 * (1.0 + xp.erf(x / SQRT_2))
            return (g * (cdf + x * (xp.exp(-0.5 * x * x) * INV_SQRT_2PI)),)
        return (xp.gelu_grad(g, x, self.cdf),)


class Softplus(Function):
    """log(1 + exp(beta x)) / beta, linear above ``threshold`` as in torch."""

    exact = True
    fresh = True

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, xp, x):
        z = x * self.beta
        soft = (xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))) / self.beta
        return xp.where(z > self.threshold, x, soft)

    def backward(self, xp, g, x):
        z = x * self.beta
        linear = _mask(xp, z > self.threshold, g)
        return (g * (linear + (1.0 - linear) * xp.sigmoid(z)),)


class LogAddExp(Function):
    fresh = True

    def forward(self, xp, a, b):
        return xp.logaddexp(a, b)

    def backward(self, xp, g, a, b):
        y = xp.logaddexp(a, b)
        return g * xp.exp(a - y), g * xp.exp(b - y)


class Maximum(Function):
    fresh = True

    def forward(self, xp, a, b):
        return xp.maximum(a, b)

    def backward(self, xp, g, a, b):
        # NOTE: ties split the gradient half and half, as torch; with a NaN on either side
        # both get all of it (torch masks out only the strictly smaller side)
        tie = _mask(xp, a == b, g) * 0.5
        return g * (1.0 - _mask(xp, a < b, g) - tie), g * (1.0 - _mask(xp, a > b, g) - tie)


class Minimum(Function):
    fresh = True

    def forward(self, xp, a, b):
        return xp.minimum(a, b)

    def backward(self, xp, g, a, b):
        tie = _mask(xp, a == b, g) * 0.5
        return g * (1.0 - _mask(xp, a > b, g) - tie), g * (1.0 - _mask(xp, a < b, g) - tie)


class Clip(Function):
    exact = True
    fresh = True

    def __init__(self, lo: float | None, hi: float | None) -> None:
        self.lo, self.hi = lo, hi

    def forward(self, xp, x):
        lo, hi = self.lo, self.hi
        if xp.isdtype(x.dtype, "real floating"):  # (array-api-compat 1.10 takes an int bound
            lo = float(lo) if type(lo) is int else lo  # of a float array for an integer one)
            hi = float(hi) if type(hi) is int else hi
        if lo is not None and hi is not None and lo > hi:
            # NOTE: min > max gives max everywhere, as torch (array-api-strict's clip refuses)
            return xp.minimum(xp.maximum(x, lo), hi)
        return xp.clip(x, lo, hi)

    def backward(self, xp, g, x):
        # NOTE: the gradient passes at the bounds themselves, as torch's clamp
        if self.lo is not None:
            g = g * _mask(xp, x >= self.lo, g)
        if self.hi is not None:
            g = g * _mask(xp, x <= self.hi, g)
        return (g,)


class Where(Function):
    saves = ""
    fresh = True

    def __init__(self, cond: Any) -> None:
        self.cond = cond

    def forward(self, xp, a, b):
        return xp.where(self.cond, a, b)

    def backward(self, xp, g):
        cond = self.cond
        if isinstance(g, Tensor):  # create_graph: a constant Tensor (a 0-d NumPy condition is
            cond = Tensor._wrap(cond, g._xp)  # a NumPy scalar, which where() would refuse)
        return xp.where(cond, g, 0.0), xp.where(cond, 0.0, g)


add = _binary_op(
    Add, "add", "Elementwise ``a + b`` with broadcasting; either side may be a number."
)


subtract = _binary_op(Sub, "subtract", "Elementwise ``a - b`` with broadcasting.")


multiply = _binary_op(Mul, "multiply", "Elementwise ``a * b`` with broadcasting.")


divide = _binary_op(
    Div, "divide", "Elementwise ``a / b`` (integers divide as floats, as in torch).", True
)


pow = _binary_op(Pow, "pow", "Elementwise ``a ** b``; the exponent may be a tensor or a number.")  # noqa: A001


def negative(x: Tensor) -> Tensor:
    """Elementwise ``-x``."""
    return apply1(Neg(), _tensor_arg(x))


def _unary(op_cls: type[Function], doc: str) -> Any:
    def fn(x: Tensor) -> Tensor:
        if isinstance(x, Tensor) and x._data.dtype in x._xp.floats:
            return apply1(op_cls(), x)
        x = _tensor_arg(x)
        if op_cls is Relu and x.dtype.kind == "bool":
            raise RuntimeError(f"relu: Boolean inputs not supported (input of shape {x.shape})")
        if x.dtype.kind in ("bool", "int", "uint") and op_cls not in (Abs, Relu):
            # NOTE: abs and relu keep integer dtypes, as torch's; the rest compute in floats
            x = astype(x, _dtypes.default_float)  # complex stays complex (values only)
        return apply1(op_cls(), x)

    fn.__name__ = fn.__qualname__ = doc.split()[0].strip("`")
    fn.__doc__ = doc
    return fn


abs = _unary(Abs, "abs(x): elementwise absolute value; the gradient at 0 is 0.")  # noqa: A001


exp = _unary(Exp, "exp(x): elementwise exponential.")


log = _unary(Log, "log(x): elementwise natural logarithm.")


log1p = _unary(Log1p, "log1p(x): elementwise log(1 + x), accurate for small x.")


sqrt = _unary(Sqrt, "sqrt(x): elementwise square root.")


sin = _unary(Sin, "sin(x): elementwise sine.")


cos = _unary(Cos, "cos(x): elementwise cosine.")


tanh = _unary(Tanh, "tanh(x): elementwise hyperbolic tangent.")


sigmoid = _unary(Sigmoid, "sigmoid(x): elementwise 1 / (1 + exp(-x)), computed without overflow.")


relu = _unary(Relu, "relu(x): elementwise max(x, 0); the gradient at 0 is 0, as in torch.")


erf = _unary(Erf, "erf(x): elementwise error function.")


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """Elementwise ``x`` for x > 0 and ``negative_slope * x`` otherwise."""
    return apply1(LeakyRelu(negative_slope), _tensor_arg(x))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit ``x * Phi(x)``; ``approximate="tanh"`` as in torch."""
    return apply1(Gelu(approximate), _tensor_arg(x))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` itself where ``beta * x > threshold``."""
    return apply1(Softplus(beta, threshold), _tensor_arg(x))


maximum = _binary_op(
    Maximum, "maximum", "Elementwise maximum with broadcasting; ties split the gradient evenly."
)


logaddexp = _binary_op(
    LogAddExp, "logaddexp", "Elementwise ``log(exp(a) + exp(b))``, computed without overflow."
)


minimum = _binary_op(
    Minimum, "minimum", "Elementwise minimum with broadcasting; ties split the gradient evenly."
)


def clip(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """Clamp ``x`` into ``[min, max]`` (either may be None); the gradient passes at the bounds."""
    for name, v in (("min", min), ("max", max)):
        if v is not None and not isinstance(v, Number):
            raise TypeError(
                f"clip {name} must be a Python number or None, not {type(v).__name__}; "
                "use polygrad.maximum / polygrad.minimum for tensor bounds"
            )
    return apply1(Clip(min, max), _tensor_arg(x))


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a`` where ``condition`` is true, else ``b``, with broadcasting."""
    like = next((t for t in (a, b, condition) if isinstance(t, Tensor)), None)
    cond = _lift(condition, like) if like is not None else _tensor_arg(condition)
    if not isinstance(cond, Tensor) or cond.dtype != _dtypes.bool_:
        got = cond.dtype.name if isinstance(cond, Tensor) else type(cond).__name__
        raise TypeError(f"where() needs a bool tensor as condition, not {got}")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):

        a = tensor_like(a, cond)
    a, b = _lift(a, cond), _lift(b, cond)
    a, b = _promote(a, b)
    return apply2(Where(cond._data), a, b)


def _compare(name: str) -> Any:
    def fn(a: Any, b: Any) -> Tensor:
        like = a if isinstance(a, Tensor) else b
        a, b = _promote(_lift(a, like), _lift(b, like))  # int tensor vs 1.5: torch's floats
        if name in ("less", "less_equal", "greater", "greater_equal") and any(
            isinstance(v, bool) or (isinstance(v, Tensor) and v.dtype is _dtypes.bool_)
            for v in (a, b)
        ):  # the standard orders numbers only: bools compare as 0 and 1, as torch's
            a, b = (int(v) if isinstance(v, bool) else v for v in (a, b))
            a, b = (astype(v, _dtypes.int8) if isinstance(v, Tensor) else v for v in (a, b))
        xp = like._xp
        if _capture.rec is not None:  # polygrad.compile records the backend call
            return _capture.rec.raw(getattr(xp, name), (a, b), xp)
        return Tensor._wrap(
            getattr(xp, name)(
                a._data if isinstance(a, Tensor) else a, b._data if isinstance(b, Tensor) else b
            ),
            xp,
        )

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{name}(a, b): elementwise comparison giving a bool tensor (no gradient)."
    return fn


less = _compare("less")


less_equal = _compare("less_equal")


greater = _compare("greater")


greater_equal = _compare("greater_equal")


equal = _compare("equal")


not_equal = _compare("not_equal")


logical_and = _compare("logical_and")


logical_or = _compare("logical_or")


logical_xor = _compare("logical_xor")


def logical_not(x: Tensor) -> Tensor:
    """Elementwise not of a bool tensor."""
    return _no_grad_result(x, x._xp.logical_not(x._data))


def sign(x: Tensor) -> Tensor:
    """Elementwise sign (-1, 0 or 1); no gradient (it is zero almost everywhere)."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.sign(x._data))


def isfinite(x: Tensor) -> Tensor:
    """Elementwise test for finite values (a bool tensor)."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.isfinite(x._data))


def isnan(x: Tensor) -> Tensor:
    """Elementwise test for NaN (a bool tensor)."""
    x = _tensor_arg(x)
    return _no_grad_result(x, x._xp.isnan(x._data))
