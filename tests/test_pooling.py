"""Pooling, adaptive pooling, interpolate and pixel shuffling against torch in float64:
forward values, returned indices, input gradients under a random upstream gradient, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from helpers import assert_close

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F


def _compare(ours, theirs, shape, indices=False, seed=0):
    """Run ``ours`` and ``theirs`` on the same float64 input; compare output, indices and the
    input gradient."""
    a = np.random.default_rng(seed).standard_normal(shape)
    x = pg.tensor(a, requires_grad=True)
    tx = torch.from_numpy(a.copy()).requires_grad_(True)
    out, tout = ours(x), theirs(tx)
    if indices:
        (out, idx), (tout, tidx) = out, tout
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
        assert idx.dtype == pg.int64
    assert_close(out, tout)
    g = np.random.default_rng(seed + 1).standard_normal(tuple(tout.shape))
    out.backward(pg.tensor(g))
    tout.backward(torch.from_numpy(g))
    assert_close(x.grad, tx.grad)


MAX_CASES = [
    # kernel, stride, padding, dilation, ceil_mode, shape
    (2, None, 0, 1, False, (2, 3, 6, 6)),
    (3, 2, 1, 1, True, (2, 2, 8, 7)),
    ((3, 2), (2, 3), (1, 0), (1, 2), True, (1, 2, 9, 10)),
    (2, 2, 1, 3, True, (1, 1, 9, 8)),
    (3, 3, 0, 1, True, (2, 5, 5)),  # unbatched, a clipped last window
]


@pytest.mark.parametrize(("k", "s", "p", "d", "ceil", "shape"), MAX_CASES)
def test_max_pool2d_values_indices_gradients(k, s, p, d, ceil, shape):
    kw = dict(stride=s, padding=p, dilation=d, ceil_mode=ceil, return_indices=True)
    _compare(nn.MaxPool2d(k, **kw), tnn.MaxPool2d(k, **kw), shape, indices=True)
    _compare(lambda x: F.max_pool2d(x, k, s, p, d, ceil),
             lambda x: TF.max_pool2d(x, k, s, p, d, ceil_mode=ceil), shape)


@pytest.mark.parametrize(("k", "s", "p", "d", "ceil", "shape"),
                         [(3, 2, 1, 2, True, (2, 3, 10)), (2, None, 0, 1, False, (3, 7))])
def test_max_pool1d_values_indices_gradients(k, s, p, d, ceil, shape):
    kw = dict(stride=s, padding=p, dilation=d, ceil_mode=ceil, return_indices=True)
    _compare(nn.MaxPool1d(k, **kw), tnn.MaxPool1d(k, **kw), shape, indices=True)
    _compare(lambda x: F.max_pool1d_with_indices(x, k, s, p, d, ceil),
             lambda x: TF.max_pool1d_with_indices(x, k, s, p, d, ceil), shape, indices=True)


def test_max_pool_ties_pick_torchs_index():
    a = np.zeros((1, 1, 4, 4))
    a[0, 0, 1:3, 1:3] = 1.0
    x, tx = pg.tensor(a), torch.from_numpy(a)
    for args in [(2, 1), (3, 2, 1), (2, 2, 0, 1, True)]:
        _, idx = F.max_pool2d_with_indices(x, *args)
        _, tidx = TF.max_pool2d_with_indices(tx, *args)
        np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


AVG_CASES = [
    # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, shape
    (2, None, 0, False, True, None, (2, 3, 6, 6)),
    (3, 2, 1, True, True, None, (2, 2, 8, 7)),
    (3, 2, 1, True, False, None, (2, 2, 8, 7)),
    ((2, 3), (2, 2), (1, 1), True, False, None, (1, 2, 6, 9)),
    (3, 2, 1, True, True, 5, (1, 2, 7, 7)),
    (2, 3, 0, True, True, None, (3, 7, 8)),  # unbatched
]


@pytest.mark.parametrize(("k", "s", "p", "ceil", "inc", "div", "shape"), AVG_CASES)
def test_avg_pool2d_divisors(k, s, p, ceil, inc, div, shape):
    kw = dict(stride=s, padding=p, ceil_mode=ceil, count_include_pad=inc, divisor_override=div)
    _compare(nn.AvgPool2d(k, **kw), tnn.AvgPool2d(k, **kw), shape)


@pytest.mark.parametrize("inc", [True, False])
def test_avg_pool1d(inc):
    kw = dict(stride=2, padding=1, ceil_mode=True, count_include_pad=inc)
    _compare(nn.AvgPool1d(3, **kw), tnn.AvgPool1d(3, **kw), (2, 3, 10))
    _compare(lambda x: F.avg_pool1d(x, 2), lambda x: TF.avg_pool1d(x, 2), (3, 7))


@pytest.mark.parametrize(("size", "shape"), [((3, 4), (2, 3, 7, 10)), ((None, 2), (2, 5, 5)),
                                             (1, (1, 2, 4, 3)), ((5, 7), (1, 1, 3, 4))])
def test_adaptive_pool2d(size, shape):
    _compare(nn.AdaptiveAvgPool2d(size), tnn.AdaptiveAvgPool2d(size), shape)
    _compare(nn.AdaptiveMaxPool2d(size, return_indices=True),
             tnn.AdaptiveMaxPool2d(size, return_indices=True), shape, indices=True)


@pytest.mark.parametrize(("size", "shape"), [(3, (2, 3, 7)), (4, (3, 10)), (6, (1, 2, 4))])
def test_adaptive_pool1d(size, shape):
    _compare(nn.AdaptiveAvgPool1d(size), tnn.AdaptiveAvgPool1d(size), shape)
    _compare(nn.AdaptiveMaxPool1d(size, return_indices=True),
             tnn.AdaptiveMaxPool1d(size, return_indices=True), shape, indices=True)


INTERP_CASES = [
    # mode, shape, size, scale_factor, align_corners, recompute
    ("nearest", (2, 3, 5), 8, None, None, None),
    ("nearest", (1, 2, 4, 5), None, 2, None, None),
    ("nearest", (1, 2, 4, 5), None, (1.7, 0.6), None, None),
    ("nearest", (1, 2, 5, 7), (3, 11), None, None, None),
    ("nearest-exact", (1, 2, 5, 7), (3, 11), None, None, None),
    ("nearest-exact", (1, 2, 5), None, 1.3, None, True),
    ("linear", (2, 3, 5), 8, None, False, None),
    ("linear", (2, 3, 5), 8, None, True, None),
    ("linear", (2, 3, 6), None, 0.7, False, None),
    ("bilinear", (1, 2, 4, 5), (7, 3), None, False, None),
    ("bilinear", (1, 2, 4, 5), (7, 3), None, True, None),
    ("bilinear", (1, 2, 4, 5), None, 1.6, False, None),
    ("bilinear", (1, 2, 4, 5), None, 1.6, False, True),
    ("bilinear", (1, 2, 4, 5), None, (2.0, 0.5), True, None),
    ("bicubic", (1, 2, 4, 5), (7, 3), None, False, None),
    ("bicubic", (1, 2, 4, 5), None, 1.5, True, None),
    ("trilinear", (1, 1, 3, 4, 2), (5, 3, 4), None, False, None),
    ("area", (1, 2, 7, 5), (3, 2), None, None, None),
]


@pytest.mark.parametrize(("mode", "shape", "size", "scale", "align", "recompute"), INTERP_CASES)
def test_interpolate(mode, shape, size, scale, align, recompute):
    kw = dict(size=size, scale_factor=scale, mode=mode, align_corners=align,
              recompute_scale_factor=recompute)
    _compare(lambda x: F.interpolate(x, **kw), lambda x: TF.interpolate(x, **kw), shape)


def test_upsample_modules():
    _compare(nn.Upsample(scale_factor=2, mode="bilinear"),
             tnn.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 3, 4))
    _compare(nn.UpsamplingNearest2d(size=(5, 7)), tnn.UpsamplingNearest2d(size=(5, 7)),
             (1, 2, 3, 4))
    _compare(nn.UpsamplingBilinear2d(scale_factor=2), tnn.UpsamplingBilinear2d(scale_factor=2),
             (1, 2, 3, 4))


def test_pixel_shuffle_roundtrip_matches_torch():
    _compare(nn.PixelShuffle(2), tnn.PixelShuffle(2), (2, 8, 3, 4))
    _compare(nn.PixelUnshuffle(3), tnn.PixelUnshuffle(3), (4, 6, 9))


ERRORS = [
    lambda f: f.max_pool2d(X(), 2, padding=2),
    lambda f: f.max_pool2d(X(), 2, dilation=3, padding=2),
    lambda f: f.avg_pool2d(X(), 3, padding=2),
    lambda f: f.max_pool2d(X(), 9),
    lambda f: f.interpolate(X(), scale_factor=2, align_corners=True),
    lambda f: f.interpolate(X(), size=3, scale_factor=2),
    lambda f: f.interpolate(X()),
    lambda f: f.interpolate(X(), size=(3, 3, 3)),
    lambda f: f.interpolate(X(), size=3, recompute_scale_factor=True),
    lambda f: f.interpolate(X(), size=3, mode="linear"),
    lambda f: f.interpolate(X(), size=3, mode="trilinear"),
    lambda f: f.interpolate(X(), size=3, mode="cubic"),
    lambda f: f.pixel_shuffle(X(), 2),
    lambda f: f.pixel_unshuffle(X(), 2),
]
_LIB = {}


def X():
    return _LIB["x"]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torchs_types(i):
    a = np.random.default_rng(0).standard_normal((1, 3, 5, 5))
    _LIB["x"] = torch.from_numpy(a)
    with pytest.raises(Exception) as theirs:
        ERRORS[i](TF)
    _LIB["x"] = pg.tensor(a)
    with pytest.raises(type(theirs.value)):
        ERRORS[i](F)


@pytest.mark.parametrize(
    ("k", "shape"), [(2, (2, 3, 6, 6)), (2, (1, 2, 7, 5)), ((3, 2), (2, 2, 7, 9)), (3, (2, 8, 7))]
)
def test_max_pool_blocks_ties_nans_odd_sizes(k, shape):
    """Non-overlapping windows (the fast path), odd sizes leaving rows no window covers, ties
    and NaNs: values and gradients equal torch's (first maximum, or a window's last NaN)."""
    a = np.random.default_rng(3).integers(0, 3, shape).astype(np.float64)  # many ties
    a.reshape(-1)[::7] = np.nan
    x = pg.tensor(a, requires_grad=True)
    tx = torch.from_numpy(a.copy()).requires_grad_(True)
    out, tout = F.max_pool2d(x, k), TF.max_pool2d(tx, k)
    np.testing.assert_array_equal(out.numpy(), tout.detach().numpy())
    g = np.random.default_rng(4).standard_normal(tuple(tout.shape))
    out.backward(pg.tensor(g))
    tout.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_max_pool_blocks_double_backward():
    a = np.random.default_rng(5).standard_normal((2, 2, 5, 6))
    x = pg.tensor(a, requires_grad=True)
    tx = torch.from_numpy(a.copy()).requires_grad_(True)
    gx = pg.autograd.grad(pg.sum(F.max_pool2d(x, 2) ** 2), x, create_graph=True)[0]
    tgx = torch.autograd.grad((TF.max_pool2d(tx, 2) ** 2).sum(), tx, create_graph=True)[0]
    assert_close(gx, tgx)
    pg.sum(gx * gx).backward()
    (tgx * tgx).sum().backward()
    assert_close(x.grad, tx.grad)
