"""The activations of nn and nn.functional against torch in float64: values, first and second
derivatives, options, modules, in-place forms and refusals."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import assert_close, from_torch
from layer_helpers import forward_backward_both, randn_away_from

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F

# torch's CELU and Hardsigmoid kernels round 1/alpha and 1/6 to float32 in the gradient
ROUNDED_IN_TORCH = {"celu", "hardsigmoid"}


def _rtol(name):
    return 1e-6 if name.lower() in ROUNDED_IN_TORCH else 1e-9


KINKS = (0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0, 0.3, -0.7, 1.5, 20.0, -2.0)


def _away_from_kinks(shape):
    return randn_away_from(shape, KINKS)


# (functional name, polygrad kwargs == torch kwargs)
CASES = [
    ("silu", {}),
    ("mish", {}),
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("selu", {}),
    ("celu", {}),
    ("celu", {"alpha": 2.0}),
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
    ("hardtanh", {}),
    ("hardtanh", {"min_val": -2.0, "max_val": 1.5}),
    ("relu6", {}),
    ("hardsigmoid", {}),
    ("hardswish", {}),
    ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 3.0}),
    ("softsign", {}),
    ("tanhshrink", {}),
    ("softshrink", {}),
    ("softshrink", {"lambd": 1.5}),
    ("hardshrink", {}),
    ("hardshrink", {"lambd": 1.0}),
    ("logsigmoid", {}),
    ("softmin", {"dim": 1}),
    ("softmin", {"dim": 0}),
    ("glu", {}),
    ("glu", {"dim": 0}),
    ("threshold", {"threshold": 0.3, "value": -2.0}),
    ("relu", {}),
    ("leaky_relu", {"negative_slope": 0.2}),
]


def _grads_to_second_order(pg_fn, torch_fn, xt):
    """Value, gradient and second-order gradient of both, with random upstream gradients."""
    u, v = torch.randn(torch_fn(xt).shape, dtype=torch.float64), torch.randn(xt.shape).double()
    tx = xt.clone().requires_grad_()
    ty = torch_fn(tx)
    (tg,) = torch.autograd.grad(ty, tx, u, create_graph=True)
    try:
        (tgg,) = torch.autograd.grad(tg, tx, v, allow_unused=True)
    except RuntimeError:  # e.g. "derivative for aten::hardsigmoid_backward is not implemented"
        tgg = None
    px = from_torch(xt, requires_grad=True)
    py = pg_fn(px)
    (pgr,) = pg.grad(py, px, from_torch(u), create_graph=True)
    # a piecewise-linear first derivative is constant: no graph to differentiate again
    pgg = pg.grad(pgr, px, from_torch(v), allow_unused=True)[0] if pgr.requires_grad else None
    return (py, pgr, pgg), (ty, tg, tgg)


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=[f"{n}{k}" for n, k in CASES])
def test_functional_matches_torch_to_second_order(name, kwargs):
    xt = _away_from_kinks((4, 6))
    ours, theirs = _grads_to_second_order(
        lambda x: getattr(F, name)(x, **kwargs), lambda x: getattr(TF, name)(x, **kwargs), xt
    )
    for a, b in zip(ours, theirs):
        if b is None or a is None:  # piecewise-linear: torch has no second-order graph
            assert b is None or not np.any(b.detach().numpy()), name
            assert a is None or not np.any(a.numpy()), name
            continue
        assert_close(a, b, rtol=_rtol(name), atol=1e-12, dtype=pg.float64)


MODULES = [
    ("SiLU", {}),
    ("Mish", {}),
    ("ELU", {"alpha": 0.7}),
    ("SELU", {}),
    ("CELU", {"alpha": 1.3}),
    ("GELU", {}),
    ("GELU", {"approximate": "tanh"}),
    ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("ReLU6", {}),
    ("Hardsigmoid", {}),
    ("Hardswish", {}),
    ("Softplus", {"beta": 0.5, "threshold": 5.0}),
    ("Softsign", {}),
    ("Tanhshrink", {}),
    ("Softshrink", {"lambd": 0.3}),
    ("Hardshrink", {"lambd": 0.7}),
    ("LogSigmoid", {}),
    ("Softmin", {"dim": -1}),
    ("GLU", {"dim": 1}),
    ("Threshold", {"threshold": 0.5, "value": 1.5}),
]


@pytest.mark.parametrize(("name", "kwargs"), MODULES, ids=[m for m, _ in MODULES])
def test_module_matches_torch(name, kwargs):
    xt = _away_from_kinks((3, 4, 2))
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    assert not list(ours.parameters())
    forward_backward_both(ours, theirs, xt, rtol=_rtol(name))


def test_exact_gelu_backward_keeps_its_cdf_across_retained_walks():
    # exact GELU keeps the normal CDF of its forward for the backward: a retained graph walked
    # twice, and a graph whose input is scaled before, give torch's gradients each time
    xt = _away_from_kinks((6, 5))
    px, tx = from_torch(xt, requires_grad=True), xt.clone().requires_grad_()
    py, ty = F.gelu(px * 0.5), TF.gelu(tx * 0.5)
    u = torch.randn(ty.shape, dtype=torch.float64)
    (tg,) = torch.autograd.grad(ty, tx, u)
    for _ in range(2):
        (pgr,) = pg.grad(py, px, from_torch(u), retain_graph=True)
        assert_close(pgr, tg, rtol=1e-12, atol=1e-14, dtype=pg.float64)
    px32, tx32 = from_torch(xt.float(), requires_grad=True), xt.float().requires_grad_()
    F.gelu(px32).backward(from_torch(u.float()))
    TF.gelu(tx32).backward(u.float())
    assert_close(px32.grad, tx32.grad, rtol=1e-5, atol=1e-6, dtype=pg.float32)


@pytest.mark.parametrize(
    "name", ["relu", "leaky_relu", "elu", "selu", "celu", "silu", "mish", "hardtanh", "relu6",
             "hardsigmoid", "hardswish", "threshold"],
)  # fmt: skip
def test_inplace_writes_into_the_input_and_differentiates(name):
    kwargs = {"threshold": 0.3, "value": -1.0} if name == "threshold" else {}
    xt = _away_from_kinks((5, 3))
    leaf = from_torch(xt, requires_grad=True)
    tleaf = xt.clone().requires_grad_()
    mid, tmid = leaf * 1.5, tleaf * 1.5
    out = getattr(F, name)(mid, inplace=True, **kwargs)
    tout = getattr(TF, name)(tmid, inplace=True, **kwargs)
    assert out is mid
    assert_close(mid, tmid.detach())
    u = torch.randn(xt.shape, dtype=torch.float64)
    out.backward(from_torch(u))
    tout.backward(u)
    assert_close(leaf.grad, tleaf.grad, rtol=_rtol(name))


def test_inplace_refuses_a_leaf_that_requires_grad():
    x = pg.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        F.elu(x, inplace=True)
    with pytest.raises(RuntimeError):
        TF.elu(torch.randn(3, requires_grad=True), inplace=True)


def test_inplace_module_modifies_its_input():
    x = pg.tensor([-1.0, 2.0, 7.0])
    y = nn.ReLU6(inplace=True)(x)
    assert y is x and x.tolist() == [0.0, 2.0, 6.0]
    assert repr(nn.ReLU6(inplace=True)) == repr(torch.nn.ReLU6(inplace=True))


@pytest.mark.parametrize(
    ("num_parameters", "shape"), [(1, (4, 3)), (3, (2, 3, 5)), (2, (2, 2, 3, 3))]
)
def test_prelu_matches_torch(num_parameters, shape):
    ours, theirs = nn.PReLU(num_parameters, init=0.1), torch.nn.PReLU(num_parameters, init=0.1)
    theirs.double()
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    assert_close(ours.weight, theirs.weight.detach().float().numpy(), rtol=1e-7)
    w = torch.rand(num_parameters, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(w)
    ours.weight = nn.Parameter(from_torch(w))
    xt = _away_from_kinks(shape)
    forward_backward_both(ours, theirs, xt)
    assert_close(ours.weight.grad, theirs.weight.grad)
    ours_f, theirs_f = _grads_to_second_order(
        lambda x: F.prelu(x, from_torch(w)), lambda x: TF.prelu(x, w), xt
    )
    assert_close(ours_f[0], theirs_f[0])
    assert_close(ours_f[1], theirs_f[1])


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda F, t: F.glu(t(np.ones(3))), RuntimeError),
        (lambda F, t: F.softshrink(t(np.ones(2)), -1.0), RuntimeError),
        (lambda F, t: F.celu(t(np.ones(2)), 0.0), RuntimeError),
        (lambda F, t: F.hardtanh(t(np.ones(2)), 2.0, 1.0), ValueError),
        (lambda F, t: F.prelu(t(np.ones((2, 3))), t(np.ones(2))), RuntimeError),
    ],
)
def test_refusals_match_torch(call, error):
    with pytest.raises(error):
        call(TF, torch.tensor)
    with pytest.raises(error):
        call(F, pg.tensor)


def test_hardtanh_module_asserts_as_torch():
    with pytest.raises(AssertionError):
        torch.nn.Hardtanh(1.0, 1.0)
    with pytest.raises(AssertionError):
        nn.Hardtanh(1.0, 1.0)


def test_kinks_take_torchs_gradient():
    pts = [-3.0, 3.0, -1.0, 1.0, 0.0, 6.0, 0.5, -0.5]
    for name in (
        "hardswish",
        "hardsigmoid",
        "hardtanh",
        "relu6",
        "softshrink",
        "hardshrink",
        "elu",
    ):
        tx = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
        getattr(TF, name)(tx).sum().backward()
        px = pg.tensor(pts, dtype=pg.float64, requires_grad=True)
        getattr(F, name)(px).sum().backward()
        assert_close(px.grad, tx.grad, rtol=_rtol(name))


def test_float32_dtype_kept():
    x = pg.randn(4, 6)
    for name, kwargs in CASES:
        assert getattr(F, name)(x, **kwargs).dtype == pg.float32, name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_over_the_whole_range_matches_torch(dtype):
    # the backend's compiled sigmoid (SciPy's expit on numpy, torch.sigmoid on torch) or the
    # portable formula: both tails to the last bits, no overflow, and 0-d stays 0-d
    z = np.concatenate([np.linspace(-800, 800, 4001), [0.0, -1e-30, 1e-30, 88.5, -103.0]])
    x = pg.tensor(z, dtype=getattr(pg, dtype), requires_grad=True)
    t = torch.tensor(z, dtype=getattr(torch, dtype), requires_grad=True)
    y, ty = pg.sigmoid(x), torch.sigmoid(t)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    # below the smallest normal number the portable formula keeps subnormals torch rounds to 0
    tiny = float(np.finfo(dtype).tiny)
    tol = dict(rtol=1e-6, atol=tiny) if dtype == "float32" else dict(rtol=1e-15, atol=tiny)
    assert_close(y, ty, dtype=getattr(pg, dtype), **tol)
    assert_close(x.grad, t.grad, **tol)
    scalar = pg.sigmoid(pg.tensor(-2.0, dtype=pg.float64))
    assert scalar.shape == () and abs(scalar.item() - 1 / (1 + np.exp(2.0))) < 1e-16
