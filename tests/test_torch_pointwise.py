"""torch's pointwise functions under torch's names (``polygrad._torch.pointwise``): function,
method and in-place forms against torch in float64, values and gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import assert_close, from_torch

import polygrad as pg

X = torch.tensor([-3.7, -2.5, -1.0, -0.4, 0.0, 0.3, 0.5, 1.5, 2.5, 7.25], dtype=torch.float64)
UNIT = torch.tensor([-0.9, -0.5, -0.1, 0.0, 0.2, 0.6, 0.95], dtype=torch.float64)
POS = torch.tensor([0.1, 0.5, 1.0, 1.7, 3.0, 12.0], dtype=torch.float64)
BIG = torch.tensor([1.2, 1.5, 2.0, 4.0, 9.0], dtype=torch.float64)
Y = torch.tensor([2.0, -1.5, 0.75, -3.0, 1.25, -0.5, 2.0, 1.5, -2.5, 0.5], dtype=torch.float64)
WEIRD = torch.tensor([math.nan, math.inf, -math.inf, -2.0, 0.0, 3.5], dtype=torch.float64)
NANS = torch.tensor([math.nan, 1.0, -2.0, math.nan, 0.5, 3.0], dtype=torch.float64)
NANS2 = torch.tensor([0.5, math.nan, -2.0, math.nan, 0.7, -1.0], dtype=torch.float64)

# name: (args, kwargs, differentiable inputs)
CASES = {
    "acos": ((UNIT,), {}, (0,)), "arccos": ((UNIT,), {}, (0,)),
    "asin": ((UNIT,), {}, (0,)), "arcsin": ((UNIT,), {}, (0,)),
    "atan": ((X,), {}, (0,)), "arctan": ((X,), {}, (0,)),
    "acosh": ((BIG,), {}, (0,)), "arccosh": ((BIG,), {}, (0,)),
    "asinh": ((X,), {}, (0,)), "arcsinh": ((X,), {}, (0,)),
    "atanh": ((UNIT,), {}, (0,)), "arctanh": ((UNIT,), {}, (0,)),
    "cosh": ((X,), {}, (0,)), "sinh": ((X,), {}, (0,)), "tan": ((UNIT,), {}, (0,)),
    "expm1": ((X,), {}, (0,)), "log2": ((POS,), {}, (0,)), "log10": ((POS,), {}, (0,)),
    "floor": ((X,), {}, (0,)), "ceil": ((X,), {}, (0,)), "trunc": ((X,), {}, (0,)),
    "fix": ((X,), {}, (0,)), "round": ((X,), {}, (0,)),
    "frac": ((X,), {}, (0,)), "rsqrt": ((POS,), {}, (0,)), "exp2": ((X,), {}, (0,)),
    "deg2rad": ((X,), {}, (0,)), "rad2deg": ((X,), {}, (0,)), "sinc": ((X,), {}, (0,)),
    "absolute": ((X,), {}, (0,)), "neg": ((X,), {}, (0,)), "negative": ((X,), {}, (0,)),
    "positive": ((X,), {}, (0,)), "square": ((X,), {}, (0,)), "sgn": ((X,), {}, ()),
    "atan2": ((X, Y), {}, (0, 1)), "arctan2": ((X, Y), {}, (0, 1)),
    "hypot": ((X, Y), {}, (0, 1)), "copysign": ((X, Y), {}, (0,)),
    "remainder": ((X, Y), {}, (0, 1)), "fmod": ((X, Y), {}, (0, 1)),
    "add": ((X, Y), {"alpha": 2.5}, (0, 1)), "sub": ((X, Y), {"alpha": -0.5}, (0, 1)),
    "subtract": ((X, Y), {}, (0, 1)), "mul": ((X, Y), {}, (0, 1)),
    "multiply": ((X, Y), {}, (0, 1)), "div": ((X, Y), {}, (0, 1)),
    "divide": ((X, Y), {}, (0, 1)), "true_divide": ((X, Y), {}, (0, 1)),
    "float_power": ((POS, BIG[:1]), {}, (0, 1)), "ldexp": ((X, Y.round()), {}, (0,)),
    "logaddexp2": ((X, Y), {}, (0, 1)),
    "nan_to_num": ((WEIRD,), {}, (0,)),
    "fmax": ((NANS, NANS2), {}, (0, 1)), "fmin": ((NANS, NANS2), {}, (0, 1)),
    "addcmul": ((X, Y, X), {"value": 0.5}, (0, 1, 2)),
    "addcdiv": ((X, X, Y), {"value": -2.0}, (0, 1, 2)),
    "mvlgamma": ((BIG,), {"p": 3}, (0,)),
    "heaviside": ((X, Y), {}, ()),
    "signbit": ((WEIRD,), {}, ()), "isinf": ((WEIRD,), {}, ()),
    "isposinf": ((WEIRD,), {}, ()), "isneginf": ((WEIRD,), {}, ()), "isreal": ((WEIRD,), {}, ()),
    "nextafter": ((X, Y), {}, ()),
}


def _polygrad(args, grads):
    return [from_torch(a, requires_grad=i in grads) for i, a in enumerate(args)]


def _torch(args, grads):
    return [a.clone().requires_grad_(i in grads) for i, a in enumerate(args)]


def _grad_check(out, ref, pargs, targs, grads):
    w = torch.linspace(-1.0, 2.0, ref.numel(), dtype=torch.float64).reshape(ref.shape)
    (ref * w).nansum().backward()
    (pg.where(pg.isnan(out), 0.0, out) * from_torch(w)).sum().backward()
    for i in grads:
        assert_close(pargs[i].grad, targs[i].grad)


@pytest.mark.parametrize("name", sorted(CASES))
def test_function_and_method(name):
    args, kwargs, grads = CASES[name]
    pargs, targs = _polygrad(args, grads), _torch(args, grads)
    ref = getattr(torch, name)(*targs, **kwargs)
    out = getattr(pg, name)(*pargs, **kwargs)
    assert_close(out, ref.detach())
    if grads:
        _grad_check(out, ref, pargs, targs, grads)
    meth = getattr(_polygrad(args, ())[0], name)(*_polygrad(args, ())[1:], **kwargs)
    assert_close(meth, ref.detach())


IN_PLACE = ["tan", "floor", "round", "frac", "rsqrt", "sinc", "fmod", "hypot", "nan_to_num",
            "addcmul", "expm1", "log2", "atan2", "copysign", "lgamma", "erfinv", "digamma"]


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place(name):
    if name in ("lgamma", "erfinv", "digamma"):
        args, kwargs, grads = ((POS if name != "erfinv" else UNIT,), {}, (0,))
    else:
        args, kwargs, grads = CASES[name]
    base_t = args[0].clone().requires_grad_()
    base_p = from_torch(args[0], requires_grad=True)
    t, p = base_t * 1.0, base_p * 1.0  # non-leaves, so in-place writes are allowed
    rest_t, rest_p = list(args[1:]), [from_torch(a) for a in args[1:]]
    got = getattr(p, name + "_")(*rest_p, **kwargs)
    want = getattr(t, name + "_")(*rest_t, **kwargs)
    assert got is p
    assert_close(p, want.detach())
    w = torch.linspace(-1.0, 2.0, want.numel(), dtype=torch.float64)
    (want * w).nansum().backward()
    (pg.where(pg.isnan(p), 0.0, p) * from_torch(w)).sum().backward()
    # NOTE: the numpy backend's trigamma (SciPy's polygamma) and torch's differ by ~5e-10
    assert_close(base_p.grad, base_t.grad, rtol=1e-8 if name == "digamma" else 1e-10)


@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_div_rounding_modes(mode):
    for a, b in ((X, Y), (torch.tensor([7, -7, 9, -1]), torch.tensor([2, 2, -4, 3]))):
        got = pg.div(from_torch(a), from_torch(b), rounding_mode=mode)
        want = torch.div(a, b, rounding_mode=mode)
        assert_close(got, want)
        assert (got.dtype == pg.int64) == (want.dtype == torch.int64)
    with pytest.raises(ValueError, match="rounding_mode"):
        pg.div(from_torch(X), 2.0, rounding_mode="nearest")


@pytest.mark.parametrize("decimals", [-1, 1, 2, 3])
def test_round_decimals(decimals):
    x = X * 13.37
    assert_close(pg.round(from_torch(x), decimals=decimals),
                 torch.round(x, decimals=decimals), rtol=1e-15)


def test_fmod_is_exact():
    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.standard_normal(2000) * 10.0 ** rng.integers(-3, 12, 2000))
    b = torch.from_numpy(rng.standard_normal(2000) * 10.0 ** rng.integers(-3, 4, 2000))
    np.testing.assert_array_equal(pg.fmod(from_torch(a), from_torch(b)).numpy(),
                                  torch.fmod(a, b).numpy())


def test_nan_to_num_values_and_float32():
    got = pg.nan_to_num(from_torch(WEIRD), nan=1.5, posinf=9.0, neginf=-9.0)
    assert_close(got, torch.nan_to_num(WEIRD, nan=1.5, posinf=9.0, neginf=-9.0))
    w32 = WEIRD.float()
    got = pg.nan_to_num(pg.tensor(w32.numpy()))
    assert got.dtype == pg.float32
    np.testing.assert_array_equal(got.numpy(), torch.nan_to_num(w32).numpy())


def test_mvlgamma_refuses_small_arguments():
    with pytest.raises(RuntimeError, match=r"greater than \(p-1\)/2"):
        pg.mvlgamma(pg.tensor([0.9, 2.0]), p=3)
