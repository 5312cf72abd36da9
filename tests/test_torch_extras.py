"""Small torch API probes from issue 11's item list, torch and polygrad side by side:
finfo/iinfo, testing.assert_close, Tensor.to(other)/(device, dtype), grad-mode decorators,
is_floating_point/is_complex/is_nonzero, meshgrid, broadcast_tensors, tile, tensordot,
count_nonzero, var_mean/std_mean, hstack/vstack."""

import numpy as np
import pytest
import torch

import polygrad as pg

X = np.random.default_rng(0).standard_normal((2, 3))


def _name(dtype):
    return str(dtype).split(".")[-1]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_finfo(dtype):
    t, p = torch.finfo(getattr(torch, dtype)), pg.finfo(getattr(pg, dtype))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(p, field) == getattr(t, field), field
    assert pg.finfo().eps == torch.finfo().eps


def test_iinfo():
    for dtype in ("int8", "int32", "int64", "uint8"):
        t, p = torch.iinfo(getattr(torch, dtype)), pg.iinfo(getattr(pg, dtype))
        assert (p.bits, p.max, p.min) == (t.bits, t.max, t.min)


def test_assert_close():
    for L in (torch, pg):
        L.testing.assert_close(L.ones(2), L.ones(2) + 1e-7)
        L.testing.assert_close(L.ones(2), L.ones(2) * 1.01, rtol=0.1, atol=0.0)
        L.testing.assert_close(L.tensor([float("nan")]), L.tensor([float("nan")]), equal_nan=True)
        with pytest.raises(AssertionError, match="not close"):
            L.testing.assert_close(L.ones(2), L.ones(2) * 1.1)
        with pytest.raises(AssertionError, match="dtype"):
            L.testing.assert_close(L.ones(2), L.ones(2, dtype=L.float64))
        with pytest.raises(AssertionError):
            L.testing.assert_close(L.ones(2), L.ones(3))
        with pytest.raises(ValueError):
            L.testing.assert_close(L.ones(2), L.ones(2), rtol=0.1)


def test_to_like_torch():
    for L in (torch, pg):
        x = L.ones(2)
        assert _name(x.to(L.zeros(1, dtype=L.float64)).dtype) == "float64"
        assert _name(x.to("cpu", L.float64).dtype) == "float64"
        assert _name(x.to(dtype=L.int64).dtype) == "int64"
        assert x.to(L.float32) is x and x.to(L.float32, copy=True) is not x
        assert _name(x.to("cpu", non_blocking=True).dtype) == "float32"


@pytest.mark.parametrize("decorator", ["no_grad", "inference_mode", "enable_grad"])
def test_grad_modes_as_decorators(decorator):
    got = []
    for L in (torch, pg):

        @getattr(L, decorator)()
        def f(x):
            return (x * 2).requires_grad

        with L.set_grad_enabled(decorator != "enable_grad"):
            got.append(f(L.ones(1, requires_grad=True)))
    assert got[0] == got[1]


def test_predicates():
    for L in (torch, pg):
        assert L.ones(2).is_floating_point() and L.is_floating_point(L.ones(2))
        assert not L.ones(2, dtype=L.int64).is_floating_point()
        assert not L.ones(2).is_complex() and not L.is_complex(L.ones(2))
        assert L.tensor([2.0]).is_nonzero() and not L.is_nonzero(L.tensor(0.0))
        with pytest.raises(RuntimeError):
            L.ones(2).is_nonzero()


SNIPPETS = {
    "meshgrid": lambda L, x: L.meshgrid(x[0], x[1, :2], indexing="ij"),
    "meshgrid-xy": lambda L, x: L.meshgrid(x[0], x[1, :2], indexing="xy"),
    "broadcast_tensors": lambda L, x: L.broadcast_tensors(x[:, :1], x[0]),
    "tile": lambda L, x: L.tile(x, (2, 1, 2)),
    "tile-method": lambda L, x: x.tile((2,)),
    "tensordot-int": lambda L, x: L.tensordot(x, x.T, dims=1),
    "tensordot-lists": lambda L, x: L.tensordot(x, x, dims=([0, 1], [0, 1])),
    "count_nonzero": lambda L, x: (L.count_nonzero(x > 0, dim=1), (x > 0).count_nonzero()),
    "var_mean": lambda L, x: L.var_mean(x, dim=1, keepdim=True),
    "std_mean": lambda L, x: L.std_mean(x, correction=0),
    "hstack": lambda L, x: (L.hstack([x, x]), L.hstack([x[0], x[1]])),
    "vstack": lambda L, x: L.vstack([x, x[0]]),
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_functions_as_torch(name):
    t, p = torch.tensor(X, requires_grad=True), pg.tensor(X, requires_grad=True)
    want, got = SNIPPETS[name](torch, t), SNIPPETS[name](pg, p)
    want = want if isinstance(want, tuple) else (want,)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(want)
    total_t, total_p = 0.0, 0.0
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape) and _name(g.dtype) == _name(w.dtype)
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), rtol=1e-12)
        if w.requires_grad:
            up = np.random.default_rng(1).standard_normal(tuple(w.shape))
            total_t = total_t + (w * torch.tensor(up)).sum()
            total_p = total_p + (g * pg.tensor(up)).sum()
    if isinstance(total_t, torch.Tensor):
        total_t.backward()
        total_p.backward()
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12)
