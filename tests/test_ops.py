"""Every op of the registry against torch: forward values and gradients (with a random upstream
gradient) in float64 and in float32, plus structural checks after each backward."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from helpers import assert_close, assert_on_backend
from registry import OPS, Op, case_id, cases, pg_value, torch_value

import polygrad as pg

BACKEND = pg.get_backend().name
CASES = cases(BACKEND)
TOL = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-5}}


def _as_list(out: Any) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _shares_memory(a: Any, b: Any) -> bool:
    """Whether two backend arrays overlap in memory."""
    if BACKEND == "numpy":
        return np.shares_memory(a, b)
    if BACKEND == "strict":
        return np.shares_memory(a._array, b._array)
    if BACKEND == "torch":
        return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
    import cupy

    return cupy.shares_memory(a, b)


def _draw(op: Op, shapes: tuple) -> tuple[np.random.Generator, list[np.ndarray]]:
    """The generator of one case and its host inputs (np.random is seeded by conftest)."""
    rng = np.random.default_rng(np.random.randint(2**31))
    return rng, op.draw(rng, shapes)


def _run(op: Op, shapes: tuple, dtype: Any) -> None:
    """Forward and backward of one case in polygrad ``dtype`` against torch in float64."""
    tol = TOL[dtype.name]
    rng, drawn = _draw(op, shapes)
    host = [a.astype(dtype.name) if a.dtype.kind == "f" else a for a in drawn]
    diff = [a.dtype.kind == "f" for a in host]
    xs = [pg.tensor(a, requires_grad=d) for a, d in zip(host, diff)]
    ts = [
        torch.from_numpy(a.copy()).double().requires_grad_() if d else torch.from_numpy(a.copy())
        for a, d in zip(host, diff)
    ]
    pg_kwargs = {k: pg_value(v) for k, v in op.kwargs.items()}
    torch_kwargs = {k: torch_value(v) for k, v in op.kwargs.items()}

    outs = _as_list(op.fn(*xs, **pg_kwargs))
    expected = _as_list(op.ref(*ts, **torch_kwargs))
    # the dtype torch gives the same inputs in the same precision
    with torch.no_grad():
        same_precision = [
            t.to(getattr(torch, dtype.name)) if t.is_floating_point() else t for t in ts
        ]
        expected_dtypes = [
            str(e.dtype).removeprefix("torch.")
            for e in _as_list(op.ref(*same_precision, **torch_kwargs))
        ]
    assert len(outs) == len(expected), f"{len(outs)} outputs, torch gives {len(expected)}"
    for out, exp, exp_dtype in zip(outs, expected, expected_dtypes):
        assert out.dtype.name == exp_dtype, f"output dtype {out.dtype.name}, torch {exp_dtype}"
        assert out.requires_grad, "the output does not require grad"
        assert_close(out, exp, **tol)

    # backward with a random upstream gradient in each output's dtype
    upstream = [rng.standard_normal(e.shape).astype(o.dtype.name) for o, e in zip(outs, expected)]
    gs = [pg.tensor(u) for u in upstream]
    if len(outs) == 1:
        outs[0].backward(gs[0])
    else:
        for out, g in zip(outs, gs):
            out.backward(g, retain_graph=True)
    torch.autograd.backward(
        expected, [torch.from_numpy(u).to(e.dtype) for u, e in zip(upstream, expected)]
    )

    for i, (x, t, a, d) in enumerate(zip(xs, ts, host, diff)):
        np.testing.assert_array_equal(x.numpy(), a, err_msg=f"input {i} was modified")
        if not d:
            assert x.grad is None, f"constant input {i} got a gradient"
            continue
        assert x.grad is not None, f"input {i} got no gradient"
        assert_on_backend(x.grad)
        assert x.grad.shape == x.shape, f"input {i}: gradient shape {x.grad.shape} != {x.shape}"
        assert x.grad.dtype == x.dtype, f"input {i}: gradient dtype {x.grad.dtype} != {x.dtype}"
        assert x.grad.device == x.device
        assert not x.grad.requires_grad
        assert_close(x.grad, t.grad, **tol)
    for j, (g, u) in enumerate(zip(gs, upstream)):
        np.testing.assert_array_equal(g.numpy(), u, err_msg=f"upstream gradient {j} was modified")

    # no gradient array aliases another gradient, an input or an upstream gradient
    grads = [x.grad._data for x, d in zip(xs, diff) if d]
    others = [x._data for x in xs] + [g._data for g in gs]
    for i, a in enumerate(grads):
        for b in grads[i + 1 :] + others:
            assert not _shares_memory(a, b), "a gradient shares memory with another array"


@pytest.mark.parametrize(("op", "shapes"), CASES, ids=[case_id(*c) for c in CASES])
def test_float64_matches_torch(op: Op, shapes: tuple) -> None:
    _run(op, shapes, pg.float64)


@pytest.mark.parametrize(("op", "shapes"), CASES, ids=[case_id(*c) for c in CASES])
def test_float32_matches_torch(op: Op, shapes: tuple) -> None:
    _run(op, shapes, pg.float32)


def test_registry_covers_every_op_of_the_issue() -> None:
    """A guard against an op silently dropping out of the registry."""
    names = {op.name.split("[")[0] for op in OPS}
    wanted = {
        "add", "sub", "mul", "div", "pow", "rpow_scalar", "rsub_scalar", "rdiv_scalar", "neg",
        "abs", "matmul", "exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu",
        "leaky_relu", "gelu", "gelu_tanh", "softplus", "softplus_beta_threshold", "maximum",
        "minimum", "clip", "clip_max_only", "clip_min_only", "where", "sum", "mean", "var_c0",
        "var_c1", "std_c0", "std_c1", "max", "min", "prod", "logsumexp", "softmax", "log_softmax",
        "reshape", "permute_dims", "transpose", "T", "mT", "expand_dims", "squeeze_all",
        "squeeze_axis", "broadcast_to_2x3x4", "flatten", "concat", "stack", "split", "pad_last",
        "getitem", "astype_to_float32", "astype_to_float64", "max_ties", "min_ties",
        "maximum_ties", "minimum_ties", "clip_at_bounds", "relu_at_zero",
    }  # fmt: skip
    assert wanted <= names, f"missing from the registry: {sorted(wanted - names)}"
    assert len({op.name for op in OPS}) == len(OPS), "two registry entries share a name"


def test_strict_refuses_mixed_keys() -> None:
    """A key mixing an integer array with a partial slice: array-api-strict refuses it (the
    standard does not specify it); every other backend gathers as torch does."""
    x_torch = torch.randn(4, 5, dtype=torch.float64)
    x = pg.tensor(x_torch.numpy(), requires_grad=True)
    idx = np.array([0, 2, 0])
    if BACKEND == "strict":
        with pytest.raises(IndexError):
            x[pg.tensor(idx), 1:3]
    else:
        assert_close(x[pg.tensor(idx), 1:3], x_torch[torch.from_numpy(idx), 1:3])


def _has_tied_extremes(x: np.ndarray, axis: int | None) -> bool:
    rows = x.reshape(1, -1) if axis is None else np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis])
    return all((r == r.max()).sum() > 1 and (r == r.min()).sum() > 1 for r in rows)


ON_PURPOSE = {
    "abs_at_zero": lambda x: (x == 0).any(),
    "relu_at_zero": lambda x: (x == 0).any(),
    "leaky_relu_at_zero": lambda x: (x == 0).any(),
    "maximum_ties": lambda a, b: (a == b).any(),
    "minimum_ties": lambda a, b: (a == b).any(),
    "clip_at_bounds": lambda x: (x == -0.5).any() and (x == 0.5).any(),
    "max_ties[axis=None]": lambda x: _has_tied_extremes(x, None),
    "max_ties[axis=1]": lambda x: _has_tied_extremes(x, 1),
    "min_ties[axis=None]": lambda x: _has_tied_extremes(x, None),
    "min_ties[axis=1]": lambda x: _has_tied_extremes(x, 1),
}
TIE_CASES = [(op, s) for op, s in CASES if op.name in ON_PURPOSE]


@pytest.mark.parametrize(("op", "shapes"), TIE_CASES, ids=[case_id(*c) for c in TIE_CASES])
def test_tie_entries_really_sit_on_ties_and_kinks(op: Op, shapes: tuple) -> None:
    """The inputs the tie and kink entries draw (the very ones _run draws) hit the tie."""
    _, drawn = _draw(op, shapes)
    assert ON_PURPOSE[op.name](*drawn)


def test_every_entry_off_finite_differences_is_a_tie_or_a_float32_cast() -> None:
    """Entries excluded from gradcheck are the tie and kink ones above, and float32 casts."""
    excluded = {o.name for o in OPS if not o.finite_differences}
    assert excluded - set(ON_PURPOSE) == {"astype_to_float32", "float_method"}
