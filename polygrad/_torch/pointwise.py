# ruff: noqa: A001, A002, E501
"""torch's pointwise functions under torch's names: the standard's elementwise ops in
``polygrad.ops`` re-exported (``tan``, ``floor``, ``atan2`` ...), torch's aliases
(``arctan``, ``absolute``, ``fix`` ...), ``alpha=``/``rounding_mode=``/``decimals=`` arguments,
and the few that torch adds (``fmod`` is an op of its own; ``frac``, ``rsqrt``, ``sinc``, ``nan_to_num``, ``fmax``
...), composed from differentiable ops so their gradients are the composition's.

Each has a Tensor method of the same name and, where torch has one, an in-place ``name_``.
"""

from __future__ import annotations

import math
from typing import Any

from .. import _creation, _dtypes
from .. import ops as _ops
from .._tensor import Tensor
from . import torch_function
from .methods import _inplace_method

# the standard's functions whose torch twins take the same arguments
acos, asin, atan, acosh, asinh, atanh = (
    _ops.acos, _ops.asin, _ops.atan, _ops.acosh, _ops.asinh, _ops.atanh
)
cosh, sinh, tan, expm1, log2, log10 = _ops.cosh, _ops.sinh, _ops.tan, _ops.expm1, _ops.log2, _ops.log10
floor, ceil, trunc, signbit, isinf = _ops.floor, _ops.ceil, _ops.trunc, _ops.signbit, _ops.isinf
atan2, hypot, copysign, remainder, nextafter = (
    _ops.atan2, _ops.hypot, _ops.copysign, _ops.remainder, _ops.nextafter
)
floor_divide, positive, square, fmod = _ops.floor_divide, _ops.positive, _ops.square, _ops.fmod
logical_and, logical_or, logical_xor, logical_not = (
    _ops.logical_and, _ops.logical_or, _ops.logical_xor, _ops.logical_not
)
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = (
    _ops.bitwise_and, _ops.bitwise_or, _ops.bitwise_xor, _ops.bitwise_invert
)
# torch's aliases
arccos, arcsin, arctan, arccosh, arcsinh, arctanh, arctan2 = acos, asin, atan, acosh, asinh, atanh, atan2
absolute, fix, neg, negative, multiply, mul = (
    _ops.abs, trunc, _ops.negative, _ops.negative, _ops.multiply, _ops.multiply
)


@torch_function
def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """torch.add: ``input + alpha * other``."""
    return _ops.add(input, other if alpha == 1 else _ops.multiply(other, alpha))


@torch_function
def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """torch.sub: ``input - alpha * other``."""
    return _ops.subtract(input, other if alpha == 1 else _ops.multiply(other, alpha))


subtract = sub


@torch_function
def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """torch.div: true division, or rounded ``"trunc"`` / ``"floor"`` (zero gradient)."""
    if rounding_mode is None:
        return _ops.divide(input, other)
    if rounding_mode == "floor":
        return _ops.floor_divide(input, other)
    if rounding_mode == "trunc":
        q = _ops.divide(input, other)
        like = input if isinstance(input, Tensor) else other
        if not like.dtype.is_floating_point and q.dtype.is_floating_point:
            return _ops.astype(_ops.trunc(q), like.dtype)
        return _ops.trunc(q)
    raise ValueError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
        f"{rounding_mode!r}"
    )


divide = true_divide = div


@torch_function
def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """torch.round: to the nearest integer, halves to even; ``decimals`` rounds
    ``input * 10**decimals`` (as torch, so the result carries that product's rounding)."""
    if decimals == 0:
        return _ops.round(input)
    scale = 10.0 ** abs(decimals)
    if decimals > 0:
        return _ops.divide(_ops.round(_ops.multiply(input, scale)), scale)
    return _ops.multiply(_ops.round(_ops.divide(input, scale)), scale)


def rsqrt(input: Tensor) -> Tensor:
    """torch.rsqrt: ``1 / sqrt(input)``."""
    return _ops.reciprocal(_ops.sqrt(input))


def frac(input: Tensor) -> Tensor:
    """torch.frac: ``input - trunc(input)`` (its gradient is 1)."""
    return _ops.subtract(input, _ops.trunc(input))


def exp2(input: Tensor) -> Tensor:
    """torch.exp2: ``2 ** input``."""
    return _ops.pow(2.0, input)


def deg2rad(input: Tensor) -> Tensor:
    """torch.deg2rad."""
    return _ops.multiply(input, math.pi / 180.0)


def rad2deg(input: Tensor) -> Tensor:
    """torch.rad2deg."""
    return _ops.multiply(input, 180.0 / math.pi)


def sinc(input: Tensor) -> Tensor:
    """torch.sinc: ``sin(pi x) / (pi x)``, 1 at 0 (where the gradient is 0)."""
    zero = _ops.equal(input, 0.0)
    px = _ops.multiply(_ops.where(zero, 1.0, input), math.pi)
    return _ops.where(zero, 1.0, _ops.divide(_ops.sin(px), px))


@torch_function
def float_power(input: Any, exponent: Any) -> Tensor:
    """torch.float_power: ``input ** exponent`` in float64."""
    f64 = _dtypes.float64
    a = _ops.astype(input, f64) if isinstance(input, Tensor) else float(input)
    b = _ops.astype(exponent, f64) if isinstance(exponent, Tensor) else float(exponent)
    return _ops.pow(a, b)


@torch_function
def ldexp(input: Tensor, other: Any) -> Tensor:
    """torch.ldexp: ``input * 2 ** other``."""
    return _ops.multiply(input, exp2(other) if isinstance(other, Tensor) else 2.0 ** other)


@torch_function
def logaddexp2(input: Any, other: Any) -> Tensor:
    """torch.logaddexp2: ``log2(2 ** input + 2 ** other)``, stably."""
    ln2 = math.log(2.0)
    return _ops.divide(_ops.logaddexp(_ops.multiply(input, ln2), _ops.multiply(other, ln2)), ln2)


@torch_function
def nan_to_num(
    input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """torch.nan_to_num: NaN, +inf and -inf replaced (by default with 0 and the dtype's largest
    and smallest finite values); the replaced entries get no gradient."""
    if not input.dtype.is_floating_point:
        return _ops.clone(input)
    from .extras import finfo

    info = finfo(input.dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    y = _ops.where(_ops.isnan(input), float(nan), input)
    y = _ops.where(_ops.equal(input, math.inf), float(hi), y)
    return _ops.where(_ops.equal(input, -math.inf), float(lo), y)


@torch_function
def fmax(input: Any, other: Any) -> Tensor:
    """torch.fmax: the larger of the two, ignoring a NaN; ties send the gradient to ``input``."""
    return _ops.where(_ops.logical_or(_ops.greater_equal(input, other), _ops.isnan(other)), input, other)


@torch_function
def fmin(input: Any, other: Any) -> Tensor:
    """torch.fmin: the smaller of the two, ignoring a NaN; ties send the gradient to ``input``."""
    return _ops.where(_ops.logical_or(_ops.less_equal(input, other), _ops.isnan(other)), input, other)


@torch_function
def heaviside(input: Tensor, values: Any) -> Tensor:
    """torch.heaviside: 0 below zero, 1 above, ``values`` at zero (no gradient, as torch)."""
    x = input.detach()
    v = values.detach() if isinstance(values, Tensor) else values
    step = _ops.astype(_ops.greater(x, 0), x.dtype)
    return _ops.where(_ops.equal(x, 0), v, step)


def sgn(input: Tensor) -> Tensor:
    """torch.sgn: the sign, for real tensors."""
    return _ops.sign(input)


def isposinf(input: Tensor) -> Tensor:
    """torch.isposinf."""
    return _ops.logical_and(_ops.isinf(input), _ops.greater(input, 0))


def isneginf(input: Tensor) -> Tensor:
    """torch.isneginf."""
    return _ops.logical_and(_ops.isinf(input), _ops.less(input, 0))


def isreal(input: Tensor) -> Tensor:
    """torch.isreal: True everywhere for real tensors."""
    return _creation.ones_like(input, dtype=_dtypes.bool_)


@torch_function
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """torch.addcmul: ``input + value * tensor1 * tensor2``."""
    prod = _ops.multiply(tensor1, tensor2)
    return _ops.add(input, prod if value == 1 else _ops.multiply(prod, value))


@torch_function
def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1) -> Tensor:
    """torch.addcdiv: ``input + value * tensor1 / tensor2``."""
    q = _ops.divide(tensor1, tensor2)
    return _ops.add(input, q if value == 1 else _ops.multiply(q, value))


@torch_function
def mvlgamma(input: Tensor, p: int) -> Tensor:
    """torch.mvlgamma: the multivariate log-gamma of dimension ``p``; every element must be
    greater than ``(p - 1) / 2``, as torch checks."""
    if p < 1:
        raise RuntimeError(f"mvlgamma: p has to be greater than or equal to 1, got {p}")
    if input.numel() and bool(_ops.any(_ops.less_equal(input, (p - 1) / 2))):
        raise RuntimeError(f"mvlgamma: all elements must be greater than (p-1)/2 = {(p - 1) / 2}")
    total = _ops.lgamma(input)
    for i in range(1, p):
        total = _ops.add(total, _ops.lgamma(_ops.subtract(input, i / 2)))
    return _ops.add(total, p * (p - 1) / 4 * math.log(math.pi))


FUNCTIONS = [name for name, v in list(globals().items()) if callable(v) and not name.startswith("_")
             and name not in ("Any", "Tensor", "torch_function")]

# methods of the same names (``add``/``sub``/``div``/``round`` replace the standard's, adding
# torch's keyword arguments); in-place forms ``name_`` where torch has them
for _name in FUNCTIONS:
    setattr(Tensor, _name, globals()[_name])

# in-place forms: the old values are always kept for the backward (these ops save their inputs)
_IN_PLACE = """acos asin atan acosh asinh atanh arccos arcsin arctan cosh sinh tan expm1 log2 log10
floor ceil trunc fix round frac rsqrt square sign sgn exp2 deg2rad rad2deg sinc fmod atan2 arctan2
hypot copysign nextafter nan_to_num fmax fmin addcmul addcdiv ldexp logaddexp2 heaviside mvlgamma
true_divide multiply mul subtract negative absolute logical_and logical_or logical_xor logical_not
bitwise_not xlogy erf erfc erfinv lgamma digamma log1p reciprocal logit""".split()


def _attach_in_place() -> None:
    for name in _IN_PLACE:
        if not hasattr(Tensor, name + "_"):
            fn = globals().get(name) or getattr(_ops, name)
            setattr(Tensor, name + "_", _inplace_method(name + "_", fn, True))


_attach_in_place()
