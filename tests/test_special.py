"""erfc, erfinv, lgamma, digamma, logit, xlogy and polygrad.special against torch (float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import polygrad as pg

UNARY = {
    "erfc": [-6.0, -1.0, -0.9, -1e-3, 0.0, 0.5, 0.9, 1.0, 1.3, 2.0, 2.9, 5.0, 10.0, 26.0],
    "erfinv": [-0.999999, -0.5, -1e-8, 0.0, 0.3, 0.9, 0.999999999],
    "lgamma": [-2.5, -0.5, -1e-6, 1e-6, 0.5, 1.0, 1.5, 2.0, 3.7, 50.0, 1e6],
    "digamma": [-2.5, -0.7, -1e-3, 1e-3, 0.5, 1.0, 1.4616, 2.0, 30.0, 1e6],
}


def _strict() -> bool:
    return pg.tensor([1.0])._xp.backend.name == "strict"


def _run(name, xs, dtype=torch.float64):
    t = torch.tensor(xs, dtype=dtype, requires_grad=True)
    p = pg.tensor(xs, dtype=getattr(pg, str(dtype).split(".")[1]), requires_grad=True)
    return t, p, getattr(torch, name)(t), getattr(pg, name)(p)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_grads(name):
    t, p, ty, py = _run(name, UNARY[name])
    # atol: digamma near its root, the portable lgamma near its zeros at 1 and 2
    np.testing.assert_allclose(py.detach().numpy(), ty.detach().numpy(), rtol=1e-13, atol=5e-15)
    ty.sum().backward()
    py.sum().backward()
    # NOTE: torch's trigamma is only ~5e-10 accurate (polygamma(1, 1) vs pi^2/6)
    rtol = 1e-8 if name == "digamma" else 1e-12
    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=0)
    t, p, ty, py = _run(name, UNARY[name][1:-1], torch.float32)
    assert py.dtype == pg.float32
    np.testing.assert_allclose(py.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert getattr(p, name)().dtype == pg.float32  # the Tensor method


def test_poles():
    xs = [0.0, -1.0, -2.0, -math.inf, math.inf]
    for name in ("lgamma", "digamma"):
        got = getattr(pg, name)(pg.tensor(xs, dtype=pg.float64)).numpy()
        want = getattr(torch, name)(torch.tensor(xs, dtype=torch.float64)).numpy()
        np.testing.assert_array_equal(got, want)
    # digamma's gradient (trigamma) at the infinities: 0 at +inf, NaN at -inf, as torch's
    p = pg.tensor([math.inf, -math.inf], dtype=pg.float64, requires_grad=True)
    pg.digamma(p).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, math.nan])


@pytest.mark.parametrize("eps", [None, 1e-3, 0.2])
def test_logit(eps):
    # outside [0, 1] logit is NaN and so is its gradient (0 where eps clamps), as torch's
    xs = [1e-12, 1e-4, 0.1, 0.5, 0.79, 0.9, 1.0 - 1e-9, 0.0, 1.0, -0.5, 1.5]
    t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    p = pg.tensor(xs, dtype=pg.float64, requires_grad=True)
    ty, py = torch.logit(t, eps), pg.logit(p, eps)
    np.testing.assert_allclose(py.detach().numpy(), ty.detach().numpy(), rtol=1e-13)
    ty.sum().backward()
    py.sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-13)
    assert pg.logit(pg.tensor([0.3], dtype=pg.float32), eps).dtype == pg.float32


def test_xlogy_values_grads_broadcast():
    a = [[0.0], [2.0], [-1.5], [0.0]]
    b = [0.0, 1e-300, 0.5, 3.0, float("nan"), float("inf")]
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    pa = pg.tensor(a, dtype=pg.float64, requires_grad=True)
    pb = pg.tensor(b, dtype=pg.float64, requires_grad=True)
    ty, py = torch.xlogy(ta, tb), pg.xlogy(pa, pb)
    np.testing.assert_allclose(py.detach().numpy(), ty.detach().numpy(), rtol=1e-14)
    ty.sum().backward()
    py.sum().backward()
    np.testing.assert_allclose(pa.grad.numpy(), ta.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(pb.grad.numpy(), tb.grad.numpy(), rtol=1e-14)
    assert pa.xlogy(pb).shape == (4, 6)


def test_xlogy_gradients_elementwise():
    """Each (x, y) pair on its own (a broadcast sum would hide a wrong entry behind a NaN):
    torch's d/dx = xlogy(g, y), 0 where x == 0 and y <= 0, so (0, inf) has gradient inf."""
    pairs = [(0.0, math.inf), (0.0, 0.0), (0.0, -1.0), (0.0, 2.0), (1.0, math.inf),
             (2.0, 0.0), (-1.0, -2.0), (0.0, math.nan), (1.5, 1e-300), (3.0, 0.5)]
    a, b = ([p[i] for p in pairs] for i in (0, 1))
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    pa = pg.tensor(a, dtype=pg.float64, requires_grad=True)
    pb = pg.tensor(b, dtype=pg.float64, requires_grad=True)
    torch.xlogy(ta, tb).sum().backward()
    pg.xlogy(pa, pb).sum().backward()
    np.testing.assert_array_equal(pa.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(pb.grad.numpy(), tb.grad.numpy())


def test_xlogy_scalars_and_float32():
    p = pg.tensor([0.0, 2.0], dtype=pg.float32)
    t = torch.tensor([0.0, 2.0], dtype=torch.float32)
    pairs = ((pg.xlogy(p, 3.0), torch.xlogy(t, 3.0)), (pg.xlogy(2.0, p), torch.xlogy(2.0, t)))
    for got, want in pairs:
        assert got.dtype == pg.float32
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_special_module():
    x = pg.tensor([0.25, 0.5], dtype=pg.float64)
    tx = torch.tensor([0.25, 0.5], dtype=torch.float64)
    np.testing.assert_allclose(pg.special.expit(x).numpy(), torch.special.expit(tx).numpy())
    np.testing.assert_allclose(pg.special.logit(x).numpy(), torch.special.logit(tx).numpy())
    assert pg.special.gammaln is pg.lgamma and pg.special.psi is pg.digamma
    with pytest.raises(AttributeError, match="torch.special.zeta"):
        pg.special.zeta  # noqa: B018


def test_create_graph():
    if _strict():
        return
    xs = [0.7, 3.0]
    t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    p = pg.tensor(xs, dtype=pg.float64, requires_grad=True)
    (gt,) = torch.autograd.grad(torch.lgamma(t).sum(), t, create_graph=True)
    (gp,) = pg.autograd.grad(pg.lgamma(p).sum(), p, create_graph=True)
    np.testing.assert_allclose(gp.detach().numpy(), gt.detach().numpy(), rtol=1e-13)
    (ht,) = torch.autograd.grad(gt.sum(), t)
    (hp,) = pg.autograd.grad(gp.sum(), p)
    np.testing.assert_allclose(hp.numpy(), ht.numpy(), rtol=1e-8)  # torch's trigamma
    with pytest.raises(NotImplementedError, match="trigamma"):
        pg.autograd.grad(pg.digamma(p).sum(), p, create_graph=True)


def test_portable_erfc_dense():
    """The portable erfc (the strict backend's) against torch over [-8, 27], float64."""
    import array_api_compat.numpy as xnp

    from polygrad import _erf

    x = np.linspace(-8.0, 27.0, 70001)
    want = torch.special.erfc(torch.from_numpy(x)).numpy()
    # atol: results below 2.2e-308 are subnormal, where one ulp is 5e-324
    np.testing.assert_allclose(_erf.erfc(xnp, x), want, rtol=1e-13, atol=1e-323)


def test_portable_gamma_erfinv_dense():
    """The portable lgamma/digamma/trigamma/erfinv (the strict backend's) on NumPy arrays
    against torch (SciPy for trigamma: torch's is ~5e-10 accurate), float64 and float32."""
    import array_api_compat.numpy as xnp
    import scipy.special as sc

    from polygrad import _gamma

    x = np.linspace(-50.0, 1000.0, 200001)
    x = np.concatenate([x[np.abs(x - np.round(x)) > 1e-3], np.geomspace(1e-300, 1e300, 2001)])
    tx = torch.from_numpy(x)
    # atol: the lgamma zeros at 1, 2 and near the negative half-integers, digamma's roots
    np.testing.assert_allclose(_gamma.lgamma(xnp, x), torch.lgamma(tx).numpy(), rtol=1e-13,
                               atol=1e-13)
    pos = x[(x > 0) & (x < 1e15)]
    np.testing.assert_allclose(_gamma.lgamma(xnp, pos), torch.lgamma(torch.from_numpy(pos)),
                               rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(_gamma.digamma(xnp, pos), torch.digamma(torch.from_numpy(pos)),
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(_gamma.digamma(xnp, x), torch.digamma(tx).numpy(), rtol=1e-11,
                               atol=1e-11)
    np.testing.assert_allclose(_gamma.trigamma(xnp, x), sc.polygamma(1, x), rtol=1e-13)
    u = np.concatenate([np.linspace(-1.0, 1.0, 200001)[1:-1], 1.0 - np.geomspace(1e-16, 0.5),
                        -np.geomspace(1e-300, 1e-3)])
    np.testing.assert_allclose(_gamma.erfinv(xnp, u), torch.erfinv(torch.from_numpy(u)),
                               rtol=1e-14)
    for fn, ref, v, rtol in ((_gamma.lgamma, torch.lgamma, pos[pos < 1e30], 1e-6),
                             (_gamma.digamma, torch.digamma, pos[pos < 1e30], 1e-6),
                             (_gamma.erfinv, torch.erfinv, u, 2e-5)):
        v32 = v.astype(np.float32)
        got = fn(xnp, v32)
        assert got.dtype == np.float32
        # lgamma/digamma: float32 is evaluated in float64 and rounded once, so the reference
        # is torch's float64 result rounded (torch's own float32 loses digits near the zeros)
        want = ref(torch.from_numpy(v32.astype(np.float64))).numpy().astype(np.float32)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=0 if rtol < 1e-5 else 1e-5)


def test_portable_lgamma_relative_near_its_zeros():
    """Near lgamma's zeros 1 and 2 the value is tiny: the portable lgamma keeps its relative
    accuracy there (a shift formula keeps only an absolute one: float32 lgamma(1.0000001) had
    the wrong sign), float64 and float32, against torch."""
    import array_api_compat.numpy as xnp

    from polygrad import _gamma

    d = np.geomspace(1e-15, 0.6, 400)
    x = np.concatenate([1 + d, 1 - d, 2 + d, 2 - d, np.linspace(0.45, 3.6, 5001)])
    np.testing.assert_allclose(_gamma.lgamma(xnp, x), torch.lgamma(torch.from_numpy(x)),
                               rtol=1e-14, atol=0)
    x32 = np.float32([1.0000001, 0.99999994, 2.0000002, 1.9999999, 1.0, 2.0, 3.0, 0.5])
    got = _gamma.lgamma(xnp, x32)
    want = torch.lgamma(torch.from_numpy(x32.astype(np.float64))).numpy().astype(np.float32)
    np.testing.assert_array_equal(np.sign(got), np.sign(want))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)


def test_portable_special_values():
    """Poles, infinities and NaN of the portable functions: torch's values (trigamma: +inf at
    the poles, where torch returns huge finite numbers)."""
    import array_api_compat.numpy as xnp

    from polygrad import _gamma

    xs = np.array([0.0, -0.0, -1.0, -7.0, np.inf, -np.inf, np.nan])
    tx = torch.from_numpy(xs)
    for fn, ref in ((_gamma.lgamma, torch.lgamma), (_gamma.digamma, torch.digamma)):
        np.testing.assert_array_equal(fn(xnp, xs), ref(tx).numpy())
    np.testing.assert_array_equal(_gamma.trigamma(xnp, xs), [np.inf] * 4 + [0.0, np.nan, np.nan])
    u = np.array([1.0, -1.0, 1.5, -2.0, np.nan, 0.0, -0.0])
    got = _gamma.erfinv(xnp, u)
    np.testing.assert_array_equal(got, torch.erfinv(torch.from_numpy(u)).numpy())
    assert np.signbit(got[-1]) and not np.signbit(got[-2])
