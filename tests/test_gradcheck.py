"""polygrad.testing over the op registry (first and second derivatives against central
differences), and proof that the checkers catch wrong gradients in user-defined Functions."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest
import torch
from helpers import assert_close
from registry import OPS, Op, case_id, cases, pg_value

import polygrad as pg
from polygrad.testing import GradcheckError, gradcheck, gradgradcheck

BACKEND = pg.get_backend().name
MAX_ELEMENTS = 30  # gradcheck is O(elements^2): keep every checked case small


def _small_cases() -> list[tuple[Op, tuple]]:
    """For every op that central differences can check, its cases of at most MAX_ELEMENTS
    input elements, or its smallest case when none is that small."""
    out = []
    for op in OPS:
        if not op.finite_differences:
            continue
        mine = [shapes for o, shapes in cases(BACKEND, [op])]
        if not mine:
            continue
        size = lambda shapes: sum(math.prod(s) for s in shapes)
        small = [s for s in mine if size(s) <= MAX_ELEMENTS] or [min(mine, key=size)]
        out += [(op, s) for s in small]
    return out


CASES = _small_cases()
IDS = [case_id(*c) for c in CASES]


def _inputs(op: Op, shapes: tuple) -> tuple[list[pg.Tensor], dict[str, Any]]:
    rng = np.random.default_rng(np.random.randint(2**31))  # np.random is seeded by conftest
    xs = [pg.tensor(a, requires_grad=a.dtype.kind == "f") for a in op.draw(rng, shapes)]
    return xs, {k: pg_value(v) for k, v in op.kwargs.items()}


@pytest.mark.parametrize(("op", "shapes"), CASES, ids=IDS)
def test_gradcheck(op: Op, shapes: tuple) -> None:
    xs, kwargs = _inputs(op, shapes)
    assert gradcheck(lambda *a: op.fn(*a, **kwargs), xs) is True


@pytest.mark.parametrize(("op", "shapes"), CASES, ids=IDS)
def test_gradgradcheck(op: Op, shapes: tuple) -> None:
    xs, kwargs = _inputs(op, shapes)
    assert gradgradcheck(lambda *a: op.fn(*a, **kwargs), xs) is True


def test_every_differentiable_op_is_checked() -> None:
    """The size filter must not drop an op: each one checkable gets at least one case."""
    checked = {op.name for op, _ in CASES}
    wanted = {
        op.name
        for op in OPS
        if op.finite_differences and (op.backends is None or BACKEND in op.backends)
    }
    assert checked == wanted


# -- the checkers catch wrong gradients ----------------------------------------------------------
class WrongAtOneElement(pg.Function):
    """x**2 whose backward is off by g where x > 1 (only at flat element 2 of the input below)."""

    def forward(self, xp, x):
        return x * x

    def backward(self, xp, g, x):
        return (g * (2.0 * x + xp.astype(x > 1.0, x.dtype)),)


class WrongSecondInput(pg.Function):
    """a * b whose backward gives input 1 the gradient of input 0."""

    def forward(self, xp, a, b):
        return a * b

    def backward(self, xp, g, a, b):
        return g * b, g * b


def _number_after(label: str, message: str) -> float:
    return float(re.search(label + r" (-?[0-9.e+-]+)", message).group(1))


def test_gradcheck_names_the_input_and_element_of_a_wrong_gradient() -> None:
    x = pg.tensor([0.1, -0.4, 1.5, 0.3], dtype=pg.float64, requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda t: WrongAtOneElement()(t), [x])
    message = str(info.value)
    assert re.search(r"input 0\b", message), message
    assert re.search(r"element 2\b", message), message
    # d(x**2)/dx at 1.5 is 3 (what central differences see); the wrong rule says 3 + 1
    assert _number_after("numerical", message) == pytest.approx(3.0, rel=1e-6)
    assert _number_after("analytical", message) == pytest.approx(4.0, rel=1e-12)
    assert gradcheck(lambda t: WrongAtOneElement()(t), [x], raise_exception=False) is False


def test_gradcheck_names_the_second_input_when_only_its_gradient_is_wrong() -> None:
    a = pg.tensor([0.5, -1.0, 2.0], dtype=pg.float64, requires_grad=True)
    b = pg.tensor([1.5, 0.25, -0.75], dtype=pg.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 1\b.*element 0\b"):
        gradcheck(lambda p, q: WrongSecondInput()(p, q), [a, b])
    # with only input 0 checked, the wrong rule for input 1 goes unseen
    b0 = pg.tensor(b.numpy())
    assert gradcheck(lambda p, q: WrongSecondInput()(p, q), [a, b0]) is True


def test_gradcheck_accepts_a_correct_user_function_and_compares_with_torch() -> None:
    class Cube(pg.Function):
        def forward(self, xp, x):
            return x * x * x

        def backward(self, xp, g, x):
            return (g * 3.0 * x * x,)

    x_torch = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    x = pg.tensor(x_torch.detach().numpy(), requires_grad=True)
    assert gradcheck(lambda t: Cube()(t), [x]) is True
    assert gradgradcheck(lambda t: Cube()(t), [x]) is True
    g_torch = torch.randn(2, 3, dtype=torch.float64)
    Cube()(x).backward(pg.tensor(g_torch.numpy()))
    (x_torch**3).backward(g_torch)
    assert_close(x.grad, x_torch.grad)


class CubeFirstOrderOnly(pg.Function):
    """x**3 whose backward is right in value but differentiates to the wrong thing: one factor
    of x is cut from the graph, so the second derivative is 3x instead of 6x."""

    def forward(self, xp, x):
        return x * x * x

    def backward(self, xp, g, x):
        constant = x.detach() if isinstance(x, pg.Tensor) else x
        return (g * 3.0 * x * constant,)


class TanhThroughAConstantOutput(pg.Function):
    """tanh whose backward uses its saved output as a constant: 1 - y**2 is right in value, but
    cut from the graph it loses the -2 y dy/dx term of the second derivative."""

    saves = "output"

    def forward(self, xp, x):
        return xp.tanh(x)

    def backward(self, xp, g, y):
        constant = y.detach() if isinstance(y, pg.Tensor) else y
        return (g * (1.0 - constant * constant),)


@pytest.mark.parametrize("function", [CubeFirstOrderOnly, TanhThroughAConstantOutput])
def test_gradgradcheck_catches_a_wrong_second_derivative(function: type[pg.Function]) -> None:
    x = pg.tensor([0.7, 1.3, -0.4], dtype=pg.float64, requires_grad=True)
    v = pg.tensor([1.0, -0.5, 2.0], dtype=pg.float64)
    # first order is right: gradcheck passes ...
    assert gradcheck(lambda t: function()(t), [x]) is True
    # ... and the second derivative is wrong: gradgradcheck fails on input 0 (x)
    with pytest.raises(GradcheckError, match=r"input 0\b"):
        gradgradcheck(lambda t: function()(t), [x], grad_outputs=[v])
    assert gradgradcheck(lambda t: function()(t), [x], [v], raise_exception=False) is False
