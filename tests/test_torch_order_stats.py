"""median, nanmedian, kthvalue and mode with and without ``dim`` against torch (issue 11,
item 2): values, indices, (values, indices) types and float64 gradients (torch sends a
``dim`` reduction's gradient to the selected index, a full median's evenly over the ties)."""

import numpy as np
import pytest
import torch

import polygrad as pg

R = np.random.default_rng(0)
DISTINCT = R.permutation(24).reshape(2, 3, 4) * 0.5 - 3.0  # no ties: indices are unique
TIES = np.array([[3.0, 1.0, 3.0, 2.0, 1.0, 3.0], [5.0, 5.0, 4.0, 7.0, 6.0, 0.0]])
NANS = np.array([[1.0, np.nan, 3.0, 2.0, 0.5], [np.nan, np.nan, 1.0, 4.0, 2.0]])

CALLS = {
    "median-dim": (lambda L, x: L.median(x, dim=1), DISTINCT),
    "median-dim-keepdim": (lambda L, x: x.median(-1, keepdim=True), DISTINCT),
    "median-even": (lambda L, x: L.median(x, 2), DISTINCT),
    "median-all": (lambda L, x: L.median(x), DISTINCT),
    "median-all-ties": (lambda L, x: L.median(x), TIES),
    "nanmedian-dim": (lambda L, x: L.nanmedian(x, dim=1), NANS),
    "nanmedian-all": (lambda L, x: x.nanmedian(), NANS),
    "kthvalue": (lambda L, x: L.kthvalue(x, 2, dim=1), DISTINCT),
    "kthvalue-keepdim": (lambda L, x: x.kthvalue(4, 2, True), DISTINCT),
    "kthvalue-0d": (lambda L, x: L.kthvalue(x[0, 0, 0], 1), DISTINCT),
    "mode-ties": (lambda L, x: L.mode(x, 1), TIES),
    "mode-dim0": (lambda L, x: x.mode(dim=0), TIES),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_order_statistic_as_torch(name):
    call, x = CALLS[name]
    t, p = torch.tensor(x, requires_grad=True), pg.tensor(x, requires_grad=True)
    want, got = call(torch, t), call(pg, p)
    if isinstance(want, tuple):
        assert type(got).__name__ == type(want).__name__ and got._fields == ("values", "indices")
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        assert got.indices.dtype == pg.int64
        want, got = want.values, got.values
    assert got.shape == tuple(want.shape)
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    up = R.standard_normal(tuple(want.shape))
    want.backward(torch.tensor(up))
    got.backward(pg.tensor(up))
    np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=0)


def test_median_with_nan_is_nan_and_errors():
    got = pg.median(pg.tensor(NANS), dim=1).values.numpy()
    want = torch.median(torch.tensor(NANS), dim=1).values.numpy()
    np.testing.assert_array_equal(got, want)  # NaN in both rows
    assert np.isnan(pg.median(pg.tensor(NANS)).item())
    assert np.isnan(pg.nanmedian(pg.tensor([np.nan, np.nan]), 0).values.item())
    with pytest.raises(RuntimeError):
        torch.kthvalue(torch.tensor(DISTINCT), 5, 2)
    with pytest.raises(RuntimeError):
        pg.kthvalue(pg.tensor(DISTINCT), 5, 2)


@pytest.mark.parametrize("shape, dim", [((5, 40), 1), ((30, 3, 4), 0), ((7,), 0), ((3, 1), 1)])
def test_mode_values_match_torch_and_index_is_the_last_occurrence(shape, dim):
    """torch's mode index among equal values is undocumented (the last one for short slices,
    others for long ones); polygrad always reports the last occurrence."""
    x = R.integers(0, 6, shape).astype(np.float64)
    got, want = pg.mode(pg.tensor(x), dim, True), torch.mode(torch.tensor(x), dim, True)
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    hits = x == got.values.numpy()
    flipped = np.flip(hits, axis=dim)
    last = x.shape[dim] - 1 - np.argmax(flipped, axis=dim, keepdims=True)
    np.testing.assert_array_equal(got.indices.numpy(), last)
