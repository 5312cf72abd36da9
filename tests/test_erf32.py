"""float32 ``erf`` (numpy's blocked ``tanh(x P(x^2))``, the other backends' own) against torch's
float64 ``erf`` rounded to float32, in ulp."""

import numpy as np
import torch

import polygrad as pg
from polygrad import _blocked as _erf32


def _ulps(got: np.ndarray, x: np.ndarray) -> np.ndarray:
    want = torch.erf(torch.from_numpy(x.astype(np.float64))).numpy()
    ulp = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / ulp


def _grid() -> np.ndarray:
    # every 97th float32 in [0, 6] (10M values), both signs, plus normal samples
    bits = np.arange(0, np.float32(6.0).view(np.int32), 97, dtype=np.int32).view(np.float32)
    rng = np.random.default_rng(0)
    return np.concatenate([bits, -bits[::5], rng.standard_normal(100_000).astype(np.float32)])


def test_erf_float32_within_4_ulp():
    x = _grid()
    assert _ulps(_erf32.erf_float32(x), x).max() <= 4.0
    got = pg.tensor(x).erf()  # the backend's float32 erf (the kernel above on numpy)
    assert got.dtype == pg.float32
    assert _ulps(got.numpy(), x).max() <= 4.0


def test_erf_float32_special_values_and_shapes():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-38, 4.2, 5.0, -30.0],
                 np.float32)  # fmt: skip
    for got in (_erf32.erf_float32(x), pg.tensor(x).erf().numpy()):
        np.testing.assert_array_equal(got[:4], [0.0, -0.0, 1.0, -1.0])
        np.testing.assert_array_equal(np.signbit(got[:2]), [False, True])
        assert np.isnan(got[4])
        np.testing.assert_allclose(got[5:], torch.erf(torch.from_numpy(x[5:])).numpy(), rtol=4e-7)
    # several blocks, a strided view and a 0-d array keep shape and values
    big = np.random.default_rng(1).standard_normal((3, 70_000)).astype(np.float32)[:, ::3]
    got = _erf32.erf_float32(big)
    assert got.shape == big.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, torch.erf(torch.from_numpy(big.copy())).numpy(), atol=5e-7)
    assert _erf32.erf_float32(np.float32(0.5)[()]).shape == ()


def test_exact_gelu_float32_and_float64_against_torch():
    """Exact GELU's value and gradient (numpy: the blocked sweeps, several blocks) against
    torch's float64 result, within the cancellation of ``1 + erf`` in the negative tail
    (torch's own GELU has it too): ``8 eps (1 + |x|)`` for the dtype's ``eps``."""
    rng = np.random.default_rng(2)
    h = rng.standard_normal((3, 50_000)) * 3
    gh = rng.standard_normal(h.shape)
    tx = torch.from_numpy(h).requires_grad_()
    ty = torch.nn.functional.gelu(tx)
    ty.backward(torch.from_numpy(gh))
    want, want_grad = ty.detach().numpy(), tx.grad.numpy()
    for dtype in (pg.float64, pg.float32):
        x = pg.tensor(h, dtype=dtype, requires_grad=True)
        y = pg.nn.functional.gelu(x)
        y.backward(pg.tensor(gh, dtype=dtype))
        assert y.dtype == dtype and x.grad.dtype == dtype
        bound = 8 * float(np.finfo(dtype.name).eps) * (1 + np.abs(h))
        assert (np.abs(y.numpy() - want) <= bound).all()
        assert (np.abs(x.grad.numpy() - want_grad) <= bound * np.abs(gh)).all()
