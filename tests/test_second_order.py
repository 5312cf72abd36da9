"""Second-order gradients against torch's double backward, and edge values against torch.

Every registry entry: ``pg.grad(..., create_graph=True)`` with a random upstream gradient ``u``,
then a second ``pg.grad`` of ``sum(grad * v)`` for a random direction ``v`` (a Hessian-vector
product, and through ``u`` a Jacobian-vector product), compared with torch in float64. Then
edge values (zeros, empty axes, constants, 0-d tensors) where torch's value or gradient is a
NaN, an inf or a special case, first and second order.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch
from helpers import assert_on_backend
from registry import Op, case_id, cases, pg_value, torch_value

import polygrad as pg

BACKEND = pg.get_backend().name
CASES = cases(BACKEND)


def _as_list(out: Any) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _np(t: torch.Tensor | None, shape: Sequence[int]) -> np.ndarray:
    """A torch result as float64 NumPy; a missing gradient is zeros (torch's materialize)."""
    if t is None:
        return np.zeros(tuple(shape))
    return t.detach().double().numpy(force=True)


def _compare(what: str, got: pg.Tensor | None, want: np.ndarray, tol: dict) -> None:
    """Values of ``got`` equal ``want``, NaN where it is NaN and infinities of the same sign;
    None (a gradient polygrad found unused) stands for zeros."""
    if got is None:
        np.testing.assert_allclose(np.zeros_like(want), want, err_msg=what, **tol)
        return
    assert_on_backend(got)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch's {want.shape}"
    np.testing.assert_allclose(got.numpy().astype(np.float64), want, err_msg=what, **tol)


def check_second_order(
    fn: Callable[..., Any],
    ref: Callable[..., Any],
    host: Sequence[np.ndarray],
    rng: np.random.Generator,
    tol: dict | None = None,
    upstream: Sequence[np.ndarray] | None = None,
) -> None:
    """Forward, first and second order of ``fn`` against ``ref`` (torch) on float64 ``host``
    inputs; non-float inputs are constants. ``upstream`` defaults to random normals."""
    tol = tol or {"rtol": 1e-9, "atol": 1e-11}
    diff = [a.dtype.kind == "f" for a in host]
    xs = [pg.tensor(a, requires_grad=d) for a, d in zip(host, diff)]
    ts = [torch.from_numpy(np.array(a)).requires_grad_(d) for a, d in zip(host, diff)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's and NumPy's warnings about NaN are expected
        outs = _as_list(fn(*xs))
        refs = _as_list(ref(*ts))
    assert len(outs) == len(refs)
    for i, (o, r) in enumerate(zip(outs, refs)):
        _compare(f"output {i}", o, _np(r, r.shape), tol)
    if upstream is None:
        upstream = [rng.standard_normal(tuple(r.shape)) for r in refs]
    us = [pg.tensor(u.astype(o.dtype.name), requires_grad=True) for u, o in zip(upstream, outs)]
    tus = [torch.from_numpy(u).to(r.dtype).requires_grad_() for u, r in zip(upstream, refs)]
    px = [x for x, d in zip(xs, diff) if d]
    tx = [t for t, d in zip(ts, diff) if d]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g1 = pg.grad(outs, px, us, create_graph=True, allow_unused=True)
        t1 = torch.autograd.grad(refs, tx, tus, create_graph=True, allow_unused=True)
    for i, (g, t, x) in enumerate(zip(g1, t1, tx)):
        _compare(f"gradient of input {i}", g, _np(t, x.shape), tol)
    vs = [rng.standard_normal(tuple(x.shape)) for x in tx]
    s = pg.tensor(0.0, dtype=pg.float64)
    for g, v in zip(g1, vs):
        if g is not None:
            s = s + pg.sum(g * pg.tensor(v.astype(g.dtype.name)))
    ts_ = torch.zeros((), dtype=torch.float64)
    for t, v in zip(t1, vs):
        if t is not None:
            ts_ = ts_ + (t * torch.from_numpy(v)).sum()
    wrt = px + us
    assert s.requires_grad == ts_.requires_grad, "the gradient is recorded in one and not both"
    if not s.requires_grad:  # no input got a gradient at all
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g2 = pg.grad(s, wrt, allow_unused=True)
        t2 = torch.autograd.grad(ts_, tx + tus, allow_unused=True)
    for i, (g, t, x) in enumerate(zip(g2, t2, tx + tus)):
        name = f"Hessian-vector product of input {i}" if i < len(tx) else "J v (upstream)"
        _compare(name, g, _np(t, x.shape), tol)


# -- every registry entry ------------------------------------------------------------------------
@pytest.mark.parametrize(("op", "shapes"), CASES, ids=[case_id(*c) for c in CASES])
def test_second_order_matches_torch(op: Op, shapes: tuple) -> None:
    rng = np.random.default_rng(np.random.randint(2**31))
    host = op.draw(rng, shapes)
    kw = {k: pg_value(v) for k, v in op.kwargs.items()}
    tkw = {k: torch_value(v) for k, v in op.kwargs.items()}
    # float32 casts: the second derivative goes through float32 on both sides
    loose = "float32" in op.name or "float_method" in op.name
    check_second_order(
        lambda *a: op.fn(*a, **kw),
        lambda *a: op.ref(*a, **tkw),
        host,
        rng,
        {"rtol": 1e-5, "atol": 1e-6} if loose else None,
    )


# -- prod through zeros: the rule that was wrong ------------------------------------------------
@pytest.mark.parametrize(
    "values",
    [
        [0.5, -1.2, 0.7, 1.3],
        [0.5, 0.0, 0.7, 1.3],
        [0.0, 0.0, 0.7, 1.3],
        [0.0, 0.0, 0.0, 1.3],
        [0.0],
        [2.0],
        [0.0, 0.0],
    ],
)
@pytest.mark.parametrize("axis", [None, 0])
def test_prod_hessian_with_zeros(values: list, axis: Any) -> None:
    """The full Hessian of prod (each row through a basis direction) against torch's: with one
    zero, d2/dx_i dx_j of the zero's row is the product of the rest, not 0."""
    x = np.array(values)
    expected = torch.autograd.functional.hessian(lambda t: torch.prod(t), torch.from_numpy(x))
    xt = pg.tensor(x, requires_grad=True)
    (g,) = pg.grad(pg.prod(xt, axis=axis), xt, create_graph=True)
    for i in range(x.size):
        if not g.requires_grad:  # one element: the gradient 1 is a constant
            row = pg.zeros_like(xt)
        else:
            (row,) = pg.grad(g[i], xt, retain_graph=True, allow_unused=True)
        _compare(f"Hessian row {i}", row, expected[i].numpy(), {"rtol": 1e-12, "atol": 1e-14})
    # a 2-D input with zeros in some rows, reduced along each axis
    rng = np.random.default_rng(3)
    m = rng.uniform(0.5, 1.5, (3, 4))
    m[0, 1] = m[1, 2] = m[1, 3] = 0.0
    for ax in (0, 1, (0, 1)):
        check_second_order(
            lambda t, ax=ax: pg.prod(t, axis=ax),
            lambda t, ax=ax: torch.prod(t.reshape(-1)) if ax == (0, 1) else torch.prod(t, ax),
            [m],
            rng,
        )


# -- the ops the issue names, on points that matter -------------------------------------------
def _ties(rng: np.random.Generator) -> np.ndarray:
    return rng.choice(np.array([-1.0, 0.0, 1.0]), size=(3, 4))


SPECIAL = {
    "max ties over axis": (lambda x: pg.amax(x, axis=1), lambda x: torch.amax(x, 1), _ties),
    "min ties all": (lambda x: pg.amin(x), lambda x: torch.amin(x), _ties),
    "max ties times x": (
        lambda x: pg.amax(x * x, axis=0),
        lambda x: torch.amax(x * x, 0),
        _ties,
    ),
    "maximum ties": (lambda x: pg.maximum(x, x.T.T * 1.0), lambda x: torch.maximum(x, x), _ties),
    "minimum ties squared": (
        lambda x: pg.minimum(x * x, pg.abs(x)),
        lambda x: torch.minimum(x * x, torch.abs(x)),
        _ties,
    ),
    "norm": (
        lambda x: pg.sqrt(pg.sum(x * x)),
        lambda x: torch.sqrt((x * x).sum()),
        lambda r: r.standard_normal((3, 4)),
    ),
    "std correction 1 axis": (
        lambda x: pg.std(x, axis=0, correction=1),
        lambda x: torch.std(x, 0, correction=1),
        lambda r: r.standard_normal((3, 4)),
    ),
    "var correction 1 squared": (
        lambda x: pg.var(x * x, axis=1, correction=1),
        lambda x: torch.var(x * x, 1, correction=1),
        lambda r: r.standard_normal((3, 4)),
    ),
    "softmax of x*x": (
        lambda x: pg.softmax(x * x, axis=1),
        lambda x: torch.softmax(x * x, 1),
        lambda r: r.standard_normal((3, 4)),
    ),
    "log_softmax of exp": (
        lambda x: pg.log_softmax(pg.exp(x), axis=0),
        lambda x: torch.log_softmax(torch.exp(x), 0),
        lambda r: r.standard_normal((3, 4)),
    ),
    "logsumexp ties": (lambda x: pg.logsumexp(x, axis=1), lambda x: torch.logsumexp(x, 1), _ties),
    "pow tensor base and exponent": (
        lambda x: pg.abs(x) ** (x * 0.5),
        lambda x: torch.abs(x) ** (x * 0.5),
        lambda r: r.uniform(0.3, 2.0, (3, 4)) * r.choice([-1.0, 1.0], (3, 4)),
    ),
    "abs relu away from 0": (
        lambda x: pg.abs(x) * pg.relu(x) + pg.relu(-x) ** 3,
        lambda x: torch.abs(x) * torch.relu(x) + torch.relu(-x) ** 3,
        lambda r: r.uniform(0.2, 2.0, (3, 4)) * r.choice([-1.0, 1.0], (3, 4)),
    ),
    "sigmoid tanh softplus erf": (
        lambda x: pg.sigmoid(pg.tanh(x)) * pg.softplus(x) + pg.erf(x * x),
        lambda x: torch.sigmoid(torch.tanh(x)) * torch.nn.functional.softplus(x) + torch.erf(x * x),
        lambda r: r.standard_normal((3, 4)),
    ),
    "gelu both": (
        lambda x: pg.gelu(x) * pg.gelu(x, approximate="tanh"),
        lambda x: torch.nn.functional.gelu(x) * torch.nn.functional.gelu(x, approximate="tanh"),
        lambda r: r.uniform(-4.0, 4.0, (3, 4)),
    ),
    "matmul of x with itself": (
        lambda x: pg.matmul(x, x.T),
        lambda x: x @ x.T,
        lambda r: r.standard_normal((3, 4)),
    ),
    "take then square": (
        lambda x: pg.take(x * x, pg.tensor(np.array([2, 0, 2])), axis=0),
        lambda x: torch.index_select(x * x, 0, torch.tensor([2, 0, 2])),
        lambda r: r.standard_normal((3, 4)),
    ),
    "getitem mask of cube": (
        lambda x: (x**3)[1:, ::2],
        lambda x: (x**3)[1:, ::2],
        lambda r: r.standard_normal((3, 4)),
    ),
    "concat stack pad": (
        lambda x: (
            pg.pad(pg.concat([x * x, pg.stack([x[0], x[1]])], axis=0), (1, 2), value=3.0) ** 2
        ),
        lambda x: (
            torch.nn.functional.pad(
                torch.cat([x * x, torch.stack([x[0], x[1]])], 0), (1, 2), value=3.0
            )
            ** 2
        ),
        lambda r: r.standard_normal((3, 4)),
    ),
    "clip of square, at the bounds too": (
        lambda x: pg.clip(x * x, 0.0, 1.0) * x,
        lambda x: torch.clamp(x * x, 0.0, 1.0) * x,
        lambda r: r.choice(np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]), (3, 4)),
    ),
}


@pytest.mark.parametrize("name", list(SPECIAL))
def test_named_compositions_second_order(name: str) -> None:
    fn, ref, draw = SPECIAL[name]
    rng = np.random.default_rng(7)
    check_second_order(fn, ref, [draw(rng)], rng)


# -- edge values ---------------------------------------------------------------------------------
def _edge(fn, ref, *values: Any) -> None:
    host = [np.array(v, dtype=np.float64) for v in values]
    check_second_order(fn, ref, host, np.random.default_rng(11))


EDGES = {
    "x**0 at 0": (lambda x: x**0, lambda x: x**0, [0.0, 1.5]),
    "x**0.0 at 0": (lambda x: x**0.0, lambda x: x**0.0, [0.0, -1.5]),
    "x**y at y=0": (lambda x, y: x**y, lambda x, y: x**y, [0.0, 2.0, -1.0], [0.0, 0.0, 0.0]),
    "0**y": (lambda x, y: x**y, lambda x, y: x**y, [0.0] * 5, [-1.0, 0.0, 0.5, 1.0, 2.0]),
    "0.0**y (number base)": (lambda y: 0.0**y, lambda y: 0.0**y, [-1.0, 0.0, 0.5, 2.0]),
    "(-2.0)**y (number base)": (lambda y: (-2.0) ** y, lambda y: (-2.0) ** y, [-1.0, 2.0, 0.5]),
    "2.0**y (number base)": (lambda y: 2.0**y, lambda y: 2.0**y, [-1.0, 0.0, 2.0]),
    "negative base, integer exponent": (
        lambda x, y: x**y,
        lambda x, y: x**y,
        [-2.0, -1.5, -0.5],
        [2.0, 3.0, -1.0],
    ),
    "negative base, number exponent": (lambda x: x**3, lambda x: x**3, [-2.0, -0.5]),
    "sqrt at 0": (pg.sqrt, torch.sqrt, [0.0, 1.0]),
    "log at 0": (pg.log, torch.log, [0.0, 1.0]),
    "norm at 0": (
        lambda x: pg.sqrt(pg.sum(x * x)),
        lambda x: torch.sqrt((x * x).sum()),
        [0.0, 0.0],
    ),
    "std of a constant": (lambda x: pg.std(x), lambda x: torch.std(x, correction=0), [1.5] * 3),
    "std of a constant, axis": (
        lambda x: pg.std(x, axis=1, correction=1),
        lambda x: torch.std(x, 1, correction=1),
        [[1.5, 1.5], [0.0, 2.0]],
    ),
    "var of a constant": (
        lambda x: pg.var(x, correction=0),
        lambda x: torch.var(x, correction=0), [1.5] * 3),
    "var correction 1 of one element": (
        lambda x: pg.var(x, correction=1),
        lambda x: torch.var(x, correction=1),
        [2.0],
    ),
    "var correction 1 of one element, axis": (
        lambda x: pg.var(x, axis=1, correction=1),
        lambda x: torch.var(x, 1, correction=1),
        [[2.0], [3.0]],
    ),
    "var correction 1 of 0-d": (
        lambda x: pg.var(x, correction=1),
        lambda x: torch.var(x, correction=1),
        2.0,
    ),
    "std correction 1 of one element": (
        lambda x: pg.std(x, correction=1),
        lambda x: torch.std(x, correction=1),
        [2.0],
    ),
    "var correction 2 of two": (
        lambda x: pg.var(x, correction=2),
        lambda x: torch.var(x, correction=2),
        [1.0, 3.0],
    ),
    "var correction 3 of two, axis": (
        lambda x: pg.var(x, axis=0, correction=3),
        lambda x: torch.var(x, 0, correction=3),
        [1.0, 3.0],
    ),
    "clip min > max": (
        lambda x: pg.clip(x, 1.0, -1.0),
        lambda x: torch.clamp(x, 1.0, -1.0),
        [-2.0, -1.0, 0.0, 1.0, 2.0],
    ),
    "sum of empty": (lambda x: pg.sum(x, axis=1), lambda x: x.sum(1), np.zeros((2, 0))),
    "sum of empty, all": (lambda x: pg.sum(x), lambda x: x.sum(), np.zeros((2, 0))),
    "mean of empty": (lambda x: pg.mean(x, axis=1), lambda x: x.mean(1), np.zeros((2, 0))),
    "mean of empty, all": (lambda x: pg.mean(x), lambda x: x.mean(), np.zeros((0,))),
    "prod of empty": (lambda x: pg.prod(x, axis=1), lambda x: x.prod(1), np.zeros((2, 0))),
    "var of empty": (
        lambda x: pg.var(x, axis=1, correction=0),
        lambda x: x.var(1, correction=0),
        np.zeros((2, 0)),
    ),
    "std of empty": (
        lambda x: pg.std(x, axis=1),
        lambda x: x.std(1, correction=0),
        np.zeros((2, 0)),
    ),
    "logsumexp of empty": (
        lambda x: pg.logsumexp(x, axis=1),
        lambda x: x.logsumexp(1),
        np.zeros((2, 0)),
    ),
    "softmax over empty": (
        lambda x: pg.softmax(x, axis=1),
        lambda x: x.softmax(1),
        np.zeros((2, 0)),
    ),
    "log_softmax over empty": (
        lambda x: pg.log_softmax(x, axis=-1),
        lambda x: x.log_softmax(-1),
        np.zeros((3, 0)),
    ),
    "softmax of zero rows": (
        lambda x: pg.softmax(x, axis=0),
        lambda x: x.softmax(0),
        np.zeros((2, 0)),
    ),
    "max over a non-empty axis of empty": (
        lambda x: pg.amax(x, axis=0),
        lambda x: x.amax(0),
        np.zeros((2, 0)),
    ),
    "0-d T": (lambda x: x.T * x, lambda x: x * x, 2.0),
    "0-d flatten": (lambda x: pg.flatten(x) * x, lambda x: torch.flatten(x) * x, 2.0),
    "0-d [...]": (lambda x: x[...] * x, lambda x: x[...] * x, 2.0),
    "0-d [None]": (lambda x: x[None] * x, lambda x: x[None] * x, 2.0),
    "0-d [()]": (lambda x: x[()] ** 3, lambda x: x[()] ** 3, 2.0),
    "0-d permute_dims": (lambda x: pg.permute_dims(x, ()) ** 3, lambda x: x.permute(()) ** 3, 2.0),
    "0-d sum over axis 0": (lambda x: pg.sum(x**2, axis=0), lambda x: (x**2).sum(0), 2.0),
    "0-d max over axis -1": (lambda x: pg.amax(x**2, axis=-1), lambda x: (x**2).amax(-1), 2.0),
    "0-d softmax": (lambda x: pg.softmax(x, axis=0), lambda x: x.softmax(0), 2.0),
    "0-d prod": (lambda x: pg.prod(x**2), lambda x: (x**2).prod(), 2.0),
}


@pytest.mark.parametrize("name", list(EDGES))
def test_edge_values_match_torch(name: str) -> None:
    fn, ref, *values = EDGES[name]
    _edge(fn, ref, *values)


@pytest.mark.parametrize(
    ("axis", "error", "torch_call"),
    [
        (1, IndexError, lambda t: t.amax(1)),
        ((0, 1), IndexError, lambda t: t.amax((0, 1))),
        (None, RuntimeError, lambda t: t.amax()),
    ],
)
@pytest.mark.parametrize("fn", [pg.amax, pg.amin])
def test_max_of_empty_raises_torchs_error_type(fn, axis, error, torch_call) -> None:
    x = pg.zeros((2, 0), dtype=pg.float64, requires_grad=True)
    with pytest.raises(error):
        torch_call(torch.zeros(2, 0))
    with pytest.raises(error, match=rf"{fn.__name__[1:]}\(\).*(size 0|empty).*\(2, 0\)"):
        fn(x, axis=axis)


def test_var_of_one_element_warns_in_torch_and_is_nan_in_both() -> None:
    """torch warns about zero degrees of freedom and gives NaN: polygrad gives the NaN."""
    with pytest.warns(UserWarning, match="degrees of freedom"):
        t = torch.var(torch.tensor([2.0], dtype=torch.float64), correction=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = pg.var(pg.tensor([2.0], dtype=pg.float64), correction=1)
    assert bool(torch.isnan(t)) and bool(np.isnan(got.numpy()))


NAN_CASES = {
    "abs": (pg.abs, torch.abs),
    "relu": (pg.relu, torch.relu),
    "maximum": (lambda x: pg.maximum(x, x * 0.0 + 0.5), lambda x: torch.maximum(x, x * 0.0 + 0.5)),
    "minimum": (lambda x: pg.minimum(0.5 + x * 0.0, x), lambda x: torch.minimum(0.5 + x * 0.0, x)),
    "clip": (lambda x: pg.clip(x, -1.0, 1.0), lambda x: torch.clamp(x, -1.0, 1.0)),
    "leaky_relu": (pg.leaky_relu, torch.nn.functional.leaky_relu),
}


@pytest.mark.parametrize("name", list(NAN_CASES))
def test_kinked_ops_at_nan_pass_the_gradient_as_torch(name: str) -> None:
    """A NaN input: torch's abs gives gradient 0 (its sign(NaN) is 0), relu and maximum pass it."""
    fn, ref = NAN_CASES[name]
    _edge(fn, ref, [np.nan, -2.0, 0.0, 0.5, 2.0])
