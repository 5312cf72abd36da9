"""The rest of the standard's elementwise functions: inverse trigonometric and hyperbolic
functions, exp/log variants, two-argument functions, rounding, and the integer, bitwise and
complex-part functions.

Each differentiable function is one line of the tables below: the backend function it runs
and, beside it, its vector-Jacobian rule ``rule(xp, g, x, y)`` (``y`` the output), written
against ``xp`` so it also runs on Tensors for ``create_graph=True``. Rounding functions are
piecewise constant: their gradient is zero, as torch's. Functions whose result is bool or
integer are never recorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .._tensor import Function, Tensor, apply1, apply2
from ._common import _lift, _no_grad_result, _promote, _tensor_arg
from .elementwise import _unary

LN2, LN10 = math.log(2.0), math.log(10.0)


class _Unary(Function):
    """An elementwise function of one input given by ``fn`` (the backend's name) and ``rule``."""

    exact = True
    fresh = True
    saves = "both"
    fn = ""
    rule: Callable = staticmethod(lambda xp, g, x, y: g)

    def forward(self, xp, x):
        return getattr(xp, self.fn)(x)

    def backward(self, xp, g, x, y):
        return (self.rule(xp, g, x, y),)


class _Binary(Function):
    """An elementwise function of two inputs; ``rule`` returns both gradients (which may be
    ``g`` itself, as remainder's first: so not ``fresh``)."""

    fresh = False
    saves = "both"
    fn = ""
    rule: Callable = staticmethod(lambda xp, g, a, b, y: (g, g))

    def forward(self, xp, a, b):
        return getattr(xp, self.fn)(a, b)

    def backward(self, xp, g, a, b, y):
        return self.rule(xp, g, a, b, y)


def _op_class(base: type[Function], fn: str, rule: Callable) -> type[Function]:
    name = "".join(part.title() for part in fn.split("_"))
    return type(name, (base,), {"fn": fn, "rule": staticmethod(rule), "__module__": __name__})


def _zero(xp, g, *_):
    return xp.zeros_like(g)


# name: (rule, doc)
_UNARY: dict[str, tuple[Callable, str]] = {
    "acos": (lambda xp, g, x, y: -g / xp.sqrt(1.0 - x * x), "inverse cosine"),
    "asin": (lambda xp, g, x, y: g / xp.sqrt(1.0 - x * x), "inverse sine"),
    "atan": (lambda xp, g, x, y: g / (1.0 + x * x), "inverse tangent"),
    "acosh": (lambda xp, g, x, y: g / xp.sqrt(x * x - 1.0), "inverse hyperbolic cosine"),
    "asinh": (lambda xp, g, x, y: g / xp.sqrt(x * x + 1.0), "inverse hyperbolic sine"),
    "atanh": (lambda xp, g, x, y: g / (1.0 - x * x), "inverse hyperbolic tangent"),
    "cosh": (lambda xp, g, x, y: g * xp.sinh(x), "hyperbolic cosine"),
    "sinh": (lambda xp, g, x, y: g * xp.cosh(x), "hyperbolic sine"),
    "tan": (lambda xp, g, x, y: g * (1.0 + y * y), "tangent"),
    "expm1": (lambda xp, g, x, y: g * (y + 1.0), "exp(x) - 1, accurate for small x"),
    "log2": (lambda xp, g, x, y: g / (x * LN2), "base-2 logarithm"),
    "log10": (lambda xp, g, x, y: g / (x * LN10), "base-10 logarithm"),
    "reciprocal": (lambda xp, g, x, y: -(g * y * y), "1 / x"),
}

# piecewise constant: integer inputs give integer results (the standard), floats a zero gradient
_ROUNDING = {
    "ceil": "smallest integer not below x",
    "floor": "largest integer not above x",
    "round": "nearest integer, halves to even",
    "trunc": "integer part, rounded toward zero",
}


def _hypot(xp, g, a, b, y):
    # NOTE: 0/0 = NaN at a = b = 0, as torch's rule (grad * a / result)
    return g * a / y, g * b / y


def _atan2(xp, g, a, b, y):
    r = a * a + b * b
    return g * b / r, -(g * a) / r


def _copysign(xp, g, a, b, y):
    # NOTE: the sign factor is 0 where a == 0, as torch's; b gets no gradient
    sign = xp.where(a == 0, 0.0, y / xp.where(a == 0, 1.0, a))
    return g * sign, xp.zeros_like(g)


def _remainder(xp, g, a, b, y):
    # a - b * floor(a / b): d/da = 1, d/db = -floor(a / b), as torch
    return g, -(g * xp.floor(a / b))


def _fmod_rule(xp, g, a, b, y):
    # a - b * trunc(a / b): d/da = 1, d/db = -trunc(a / b), as torch
    return g, -(g * xp.trunc(a / b))


class _FmodBase(_Binary):
    """torch's ``fmod`` (C's remainder, the sign of ``a``), which the standard lacks: the
    remainder of ``|a|`` by ``|b|`` (exact: both positive) given ``a``'s sign."""

    def forward(self, xp, a, b):
        r = xp.remainder(xp.abs(a), xp.abs(b))
        negative = xp.signbit(a) if xp.isdtype(a.dtype, "real floating") else a < 0
        return xp.where(negative, -r, r)


def _nextafter(xp, g, a, b, y):
    return g, xp.zeros_like(g)  # as torch: the first input's gradient passes, the second none


_BINARY: dict[str, tuple[Callable, str]] = {
    "atan2": (_atan2, "the angle of the point (b, a): arctangent of a / b in the right quadrant"),
    "hypot": (_hypot, "sqrt(a**2 + b**2) without overflow"),
    "copysign": (_copysign, "the magnitude of a with the sign of b"),
    "remainder": (_remainder, "a - b * floor(a / b): the remainder with the sign of b"),
    "nextafter": (_nextafter, "the next float after a in the direction of b"),
}


def _make_unary(fn: str, rule: Callable, doc: str) -> Callable[[Tensor], Tensor]:
    return _unary(_op_class(_Unary, fn, rule), f"{fn}(x): elementwise {doc}.")


def _make_rounding(fn: str, doc: str) -> Callable[[Tensor], Tensor]:
    cls = _op_class(_Unary, fn, _zero)

    def f(x: Tensor) -> Tensor:
        x = _tensor_arg(x)
        if not x.dtype.is_floating_point:  # integers are their own rounding, bools refused
            return _no_grad_result(x, getattr(x._xp, fn)(x._data))
        return apply1(cls(), x)

    f.__name__ = f.__qualname__ = fn
    f.__doc__ = f"{fn}(x): elementwise {doc}; the gradient is zero, as torch's."
    return f


def _make_binary(
    fn: str, rule: Callable, doc: str, base: type[Function] = _Binary
) -> Callable[[Any, Any], Tensor]:
    cls = _op_class(base, fn, rule)

    def f(a: Any, b: Any) -> Tensor:
        like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
        a, b = _lift(a, like), _lift(b, like)
        a, b = _promote(_tensor_arg(a) if like is None else a, b)
        if not any(isinstance(t, Tensor) and t.dtype.is_floating_point for t in (a, b)):
            t = a if isinstance(a, Tensor) else b  # integers: values only
            return _no_grad_result(t, cls().forward(t._xp, *_arrays(a, b)))
        return apply2(cls(), a, b)

    f.__name__ = f.__qualname__ = fn
    f.__doc__ = f"{fn}(a, b): elementwise {doc}, with broadcasting."
    return f


def _arrays(*xs: Any) -> list:
    return [x._data if isinstance(x, Tensor) else x for x in xs]


def _make_values_only(fn: str, doc: str, nargs: int) -> Callable[..., Tensor]:
    """A function whose result has no gradient (bool, integer or bit results)."""

    def run(*args: Any) -> Tensor:
        like = next((a for a in args if isinstance(a, Tensor)), None)
        if like is None:
            like = _tensor_arg(args[0])
            args = (like, *args[1:])
        args = tuple(_lift(a, like) for a in args)
        if nargs == 2 and all(isinstance(a, Tensor) for a in args):
            args = _promote(*args)
        return _no_grad_result(like, getattr(like._xp, fn)(*_arrays(*args)))

    def unary(x: Any, /) -> Tensor:
        return run(x)

    def binary(x1: Any, x2: Any, /) -> Tensor:
        return run(x1, x2)

    f = binary if nargs == 2 else unary  # the standard's positional-only signatures
    f.__name__ = f.__qualname__ = fn
    f.__doc__ = f"{fn}: elementwise {doc} (no gradient)."
    return f


_VALUES_ONLY: dict[str, tuple[str, int]] = {
    "bitwise_and": ("bitwise and of integer or bool tensors", 2),
    "bitwise_or": ("bitwise or of integer or bool tensors", 2),
    "bitwise_xor": ("bitwise exclusive or of integer or bool tensors", 2),
    "bitwise_left_shift": ("left shift of integers", 2),
    "bitwise_right_shift": ("arithmetic right shift of integers", 2),
    "bitwise_invert": ("bitwise not of integer or bool tensors", 1),
    "signbit": ("test of the sign bit (true for -0.0)", 1),
    "isinf": ("test for infinite values", 1),
}

acos, asin, atan, acosh, asinh, atanh, cosh, sinh, tan, expm1, log2, log10, reciprocal = (
    _make_unary(name, rule, doc) for name, (rule, doc) in _UNARY.items()
)
ceil, floor, round, trunc = (_make_rounding(n, d) for n, d in _ROUNDING.items())  # noqa: A001
atan2, hypot, copysign, remainder, nextafter = (
    _make_binary(name, rule, doc) for name, (rule, doc) in _BINARY.items()
)
fmod = _make_binary("fmod", _fmod_rule, "a - b trunc(a / b), with the sign of a", _FmodBase)
(
    bitwise_and,
    bitwise_or,
    bitwise_xor,
    bitwise_left_shift,
    bitwise_right_shift,
    bitwise_invert,
    signbit,
    isinf,
) = (_make_values_only(n, d, k) for n, (d, k) in _VALUES_ONLY.items())


class FloorDivide(_Binary):
    fn = "floor_divide"
    rule = staticmethod(lambda xp, g, a, b, y: (xp.zeros_like(g), xp.zeros_like(g)))


def floor_divide(a: Any, b: Any) -> Tensor:
    """Elementwise ``floor(a / b)``; integer tensors stay integers.

    The gradient is zero (the exact derivative almost everywhere). NOTE: torch refuses to
    differentiate floor_divide; a zero gradient is what its ``floor(a / b)`` spelling gives.
    """
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else _tensor_arg(a)
    a, b = _lift(a, like), _lift(b, like)
    a, b = _promote(a, b)
    if not any(isinstance(t, Tensor) and t.dtype.is_floating_point for t in (a, b)):
        return _no_grad_result(like, like._xp.floor_divide(*_arrays(a, b)))
    return apply2(FloorDivide(), a, b)


def square(x: Tensor) -> Tensor:
    """Elementwise ``x * x`` (integers stay integers)."""
    x = _tensor_arg(x)
    return x * x


def positive(x: Tensor) -> Tensor:
    """Elementwise ``+x``: a new tensor equal to ``x`` (gradient passes unchanged)."""
    x = _tensor_arg(x)
    if x.dtype.kind == "bool":
        return _no_grad_result(x, x._xp.asarray(x._data, copy=True))
    return x * 1


def _complex_part(fn: str, doc: str) -> Callable[[Tensor], Tensor]:
    def f(x: Tensor) -> Tensor:
        x = _tensor_arg(x)
        if x.dtype.is_floating_point and fn != "imag":
            return positive(x)  # real(x) and conj(x) of a real tensor are x itself
        return _no_grad_result(x, getattr(x._xp, fn)(x._data))

    f.__name__ = f.__qualname__ = fn
    f.__doc__ = f"{fn}(x): elementwise {doc} (complex tensors are values-only)."
    return f


real = _complex_part("real", "real part")
imag = _complex_part("imag", "imaginary part")
conj = _complex_part("conj", "complex conjugate")
