"""Normalization, dropout, embedding and distance layers against torch in float64: outputs,
parameter and input gradients, running statistics, state_dict keys and shapes, and dropout
statistics."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from helpers import assert_close, from_torch
from layer_helpers import forward_backward_both

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F


@pytest.fixture(autouse=True)
def _float64_layers():
    pg.set_default_dtype(pg.float64)  # layers build float64 parameters (conftest restores)


def _twins(ours, theirs):
    """Same float64 parameters and buffers in both; state_dict keys and shapes agree."""
    theirs.double()
    ts = theirs.state_dict()
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in ts.items()
    ]
    for k, v in ts.items():
        if v.is_floating_point():
            v.copy_(
                torch.randn(v.shape, dtype=v.dtype).abs() + 0.5
                if "var" in k
                else torch.randn(v.shape, dtype=v.dtype)
            )
    ours.load_state_dict({k: from_torch(v) for k, v in ts.items()})
    assert repr(ours) == repr(theirs)


def _param_grads_match(ours, theirs, rtol=1e-10):
    theirs_p = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, theirs_p[name].grad, rtol=rtol, atol=1e-12)


@pytest.mark.parametrize(
    ("cls", "args", "kwargs", "shape"),
    [
        ("GroupNorm", (2, 4), {}, (3, 4, 5)),
        ("GroupNorm", (1, 6), {"eps": 1e-3}, (2, 6, 2, 3)),
        ("GroupNorm", (3, 3), {"affine": False}, (2, 3, 4)),
        ("GroupNorm", (2, 4), {"bias": False}, (2, 4, 3)),
        ("InstanceNorm1d", (3,), {}, (2, 3, 5)),
        ("InstanceNorm1d", (3,), {"affine": True}, (3, 6)),
        ("InstanceNorm2d", (2,), {"affine": True}, (2, 2, 3, 4)),
        ("InstanceNorm2d", (2,), {"track_running_stats": True, "momentum": 0.3}, (3, 2, 3, 3)),
        ("InstanceNorm1d", (2,), {"track_running_stats": True, "momentum": None}, (3, 2, 4)),
        ("RMSNorm", (5,), {}, (3, 5)),
        ("RMSNorm", ((2, 3),), {"eps": 1e-3}, (4, 2, 3)),
        ("RMSNorm", (4,), {"elementwise_affine": False}, (2, 3, 4)),
        ("LocalResponseNorm", (3,), {}, (2, 5, 4)),
        ("LocalResponseNorm", (2,), {"alpha": 0.1, "beta": 0.5, "k": 2.0}, (2, 4, 3, 3)),
        ("LocalResponseNorm", (4,), {"alpha": 1.0}, (1, 6, 2)),
        ("BatchNorm1d", (3,), {"track_running_stats": False}, (4, 3)),
        ("BatchNorm1d", (3,), {"momentum": None}, (4, 3, 2)),
        ("BatchNorm2d", (2,), {"momentum": None, "affine": False}, (3, 2, 2, 2)),
        # no process group: batch norm over any (N, C, ...), as torch's (tests/distributed/)
        ("SyncBatchNorm", (3,), {}, (4, 3)),
        ("SyncBatchNorm", (2,), {"momentum": None, "bias": False}, (2, 2, 3, 2, 2)),
        ("SyncBatchNorm", (2,), {"track_running_stats": False}, (3, 2, 4)),
    ],
)
def test_norm_layer_matches_torch(cls, args, kwargs, shape):
    ours, theirs = getattr(nn, cls)(*args, **kwargs), getattr(torch.nn, cls)(*args, **kwargs)
    _twins(ours, theirs)
    for _ in range(2):  # twice: running statistics (cumulative for momentum=None) move
        for p in ours.parameters():
            p.grad = None
        theirs.zero_grad()
        forward_backward_both(ours, theirs, torch.randn(shape, dtype=torch.float64) * 2 + 1)
        _param_grads_match(ours, theirs)
    for k, v in theirs.state_dict().items():
        assert_close(ours.state_dict()[k], v, rtol=1e-10)
    ours.eval(), theirs.eval()
    xt = torch.randn(shape, dtype=torch.float64)
    assert_close(ours(from_torch(xt)), theirs(xt))


def test_initialisation_matches_torch():
    for ours, theirs in [
        (nn.GroupNorm(2, 4), torch.nn.GroupNorm(2, 4)),
        (nn.RMSNorm((2, 3)), torch.nn.RMSNorm((2, 3))),
        (nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
         torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True)),
    ]:  # fmt: skip
        ts = theirs.state_dict()
        assert list(ours.state_dict()) == list(ts)
        for k, v in ours.state_dict().items():
            assert_close(v, ts[k].numpy())


def test_rms_norm_default_eps_is_the_dtypes():
    for dt, tdt in ((pg.float32, torch.float32), (pg.float64, torch.float64)):
        x = torch.tensor([[1e-5, -2e-5, 3e-5]], dtype=tdt)
        assert_close(F.rms_norm(from_torch(x, dtype=dt), (3,)), TF.rms_norm(x, (3,)), rtol=1e-6)


def test_norm_refusals_match_torch():
    with pytest.raises(ValueError):
        torch.nn.GroupNorm(3, 4)
    with pytest.raises(ValueError):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError):
        torch.nn.LocalResponseNorm(2)(torch.ones(2, 3))
    with pytest.raises(ValueError):
        nn.LocalResponseNorm(2)(pg.ones(2, 3))
    with pytest.raises(ValueError):
        torch.nn.InstanceNorm1d(3)(torch.ones(2, 3, 1))
    with pytest.raises(ValueError):
        nn.InstanceNorm1d(3)(pg.ones(2, 3, 1))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("dim", [1, -1, 0])
def test_normalize_matches_torch(p, dim):
    xt = torch.randn(3, 4, dtype=torch.float64)
    forward_backward_both(lambda x: F.normalize(x, p, dim), lambda x: TF.normalize(x, p, dim), xt)


@pytest.mark.parametrize(("shapes", "dim"), [(((4, 5), (4, 5)), 1), (((3, 1, 4), (2, 4)), -1)])
def test_cosine_similarity_matches_torch(shapes, dim):
    a, b = (torch.randn(s, dtype=torch.float64) for s in shapes)
    pa, pb = from_torch(a, True), from_torch(b, True)
    ta, tb = a.clone().requires_grad_(), b.clone().requires_grad_()
    py, ty = F.cosine_similarity(pa, pb, dim), TF.cosine_similarity(ta, tb, dim)
    u = torch.randn(ty.shape, dtype=torch.float64)
    py.backward(from_torch(u)), ty.backward(u)
    assert_close(py, ty)
    assert_close(pa.grad, ta.grad)
    assert_close(pb.grad, tb.grad)


@pytest.mark.parametrize("p", [2.0, 1.0, 1.5, math.inf])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shapes", [((4, 5), (4, 5)), ((3, 5), (5,)), ((6,), (6,))])
def test_pairwise_distance_matches_torch(p, keepdim, shapes):
    a, b = (torch.randn(s, dtype=torch.float64) for s in shapes)
    pa, pb = from_torch(a, True), from_torch(b, True)
    ta, tb = a.clone().requires_grad_(), b.clone().requires_grad_()
    py = F.pairwise_distance(pa, pb, p, 1e-3, keepdim)
    ty = TF.pairwise_distance(ta, tb, p, 1e-3, keepdim)
    u = torch.randn(ty.shape, dtype=torch.float64)
    py.backward(from_torch(u)), ty.backward(u)
    assert_close(py, ty)
    assert_close(pa.grad, ta.grad)
    assert_close(pb.grad, tb.grad)


@pytest.mark.parametrize(("values", "n"), [([0, 2, 1], -1), ([[1, 0], [3, 3]], 5), ([], 3)])
def test_one_hot_matches_torch(values, n):
    t = torch.tensor(values, dtype=torch.int64)
    ours = F.one_hot(pg.tensor(values, dtype=pg.int64), n)
    assert ours.dtype == pg.int64
    assert_close(ours, TF.one_hot(t, n))


@pytest.mark.parametrize(("values", "n"), [([0, -1], -1), ([0, 3], 3), ([], -1)])
def test_one_hot_refusals_match_torch(values, n):
    with pytest.raises(RuntimeError):
        TF.one_hot(torch.tensor(values, dtype=torch.int64), n)
    with pytest.raises(RuntimeError):
        F.one_hot(pg.tensor(values, dtype=pg.int64), n)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_channel_dropout_statistics_match_torch(p):
    for ours, theirs, shape in [
        (nn.Dropout1d(p), torch.nn.Dropout1d(p), (200, 50, 7)),
        (nn.Dropout2d(p), torch.nn.Dropout2d(p), (200, 50, 3, 3)),
        (nn.Dropout1d(p), torch.nn.Dropout1d(p), (400, 7)),
    ]:
        y = ours(pg.ones(*shape)).numpy()
        ty = theirs(torch.ones(*shape)).numpy()
        for out in (y, ty):
            chan = out.reshape(-1, math.prod(shape[2:]) if len(shape) > 2 else shape[-1])
            # whole channels are zeroed together, the rest scaled by 1/(1-p)
            assert np.all(chan.min(axis=1) == chan.max(axis=1))
            kept = chan[chan != 0]
            np.testing.assert_allclose(kept, 1 / (1 - p), rtol=1e-6)
            n = chan.shape[0]
            assert abs((chan[:, 0] == 0).mean() - p) < 4 * math.sqrt(p * (1 - p) / n), n
        ours.eval()
        x = pg.ones(*shape)
        assert ours(x) is x


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_alpha_dropout_statistics_match_torch(p):
    x = torch.randn(400_000, dtype=torch.float64)
    ty = TF.alpha_dropout(x, p, training=True)
    y = F.alpha_dropout(from_torch(x), p, training=True).numpy()
    for out in (y, ty.numpy()):
        assert abs(out.mean()) < 0.01 and abs(out.std() - 1.0) < 0.01
    # the values themselves: kept ones a*x + b, dropped ones one constant
    a = 1.0 / math.sqrt((1.7580993408473766**2 * p + 1) * (1 - p))
    b = a * 1.7580993408473766 * p
    dropped_t = np.unique(ty.numpy()[np.abs(ty.numpy() - (a * x.numpy() + b)) > 1e-12])
    dropped = np.unique(y[np.abs(y - (a * x.numpy() + b)) > 1e-12])
    np.testing.assert_allclose(dropped, dropped_t, rtol=1e-12)
    assert abs((np.abs(y - (a * x.numpy() + b)) > 1e-12).mean() - p) < 0.01
    layer = nn.AlphaDropout(p)
    layer.eval()
    xp = pg.randn(5)
    assert layer(xp) is xp


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_padding_idx_matches_torch(padding_idx):
    ours, theirs = (
        nn.Embedding(6, 3, padding_idx=padding_idx),
        torch.nn.Embedding(6, 3, padding_idx=padding_idx),
    )
    assert repr(ours) == repr(theirs)
    if padding_idx is not None:
        assert not np.any(ours.weight.numpy()[padding_idx])
    _twins(ours, theirs)
    idx = [[0, 2, 5], [2, 1, 5]]
    py, ty = ours(pg.tensor(idx)), theirs(torch.tensor(idx))
    u = torch.randn(ty.shape, dtype=torch.float64)
    py.backward(from_torch(u)), ty.backward(u)
    assert_close(py, ty)
    assert_close(ours.weight.grad, theirs.weight.grad)


@pytest.mark.parametrize(("max_norm", "norm_type"), [(1.0, 2.0), (0.5, 1.0), (2.0, 3.0)])
def test_embedding_max_norm_renormalises_in_place_as_torch(max_norm, norm_type):
    ours = nn.Embedding(6, 4, max_norm=max_norm, norm_type=norm_type)
    theirs = torch.nn.Embedding(6, 4, max_norm=max_norm, norm_type=norm_type)
    _twins(ours, theirs)
    idx = [[0, 2, 5], [2, 1, 5]]
    py, ty = ours(pg.tensor(idx)), theirs(torch.tensor(idx))
    assert_close(ours.weight, theirs.weight.detach())  # rows 0, 1, 2, 5 rescaled, 3, 4 not
    u = torch.randn(ty.shape, dtype=torch.float64)
    py.backward(from_torch(u)), ty.backward(u)
    assert_close(py, ty)
    assert_close(ours.weight.grad, theirs.weight.grad)


BAGS = [
    ({"mode": "sum"}, [1, 2, 4, 5, 4, 3, 2, 9], [0, 3, 3, 6], None),
    ({"mode": "mean"}, [1, 2, 4, 5, 4, 3, 2, 9], [0, 3, 5], None),
    ({"mode": "max"}, [1, 2, 4, 5, 4, 3, 2, 9], [0, 2, 7], None),
    ({"mode": "sum"}, [[1, 2, 3], [4, 2, 0]], None, None),
    ({"mode": "max"}, [[1, 2, 3], [4, 2, 0]], None, None),
    ({"mode": "sum"}, [1, 2, 4, 5, 4, 3], [0, 2], "weights"),
    ({"mode": "mean", "padding_idx": 2}, [1, 2, 4, 2, 2, 3], [0, 3, 4], None),
    ({"mode": "sum", "padding_idx": 2}, [[2, 2], [4, 2]], None, None),
    ({"mode": "max", "padding_idx": 4}, [1, 2, 4, 5, 4, 3], [0, 2, 3], None),
    ({"mode": "mean", "include_last_offset": True}, [1, 2, 4, 5, 4, 3], [0, 2, 3, 6], None),
]


@pytest.mark.parametrize(("kwargs", "idx", "offsets", "psw"), BAGS)
def test_embedding_bag_matches_torch(kwargs, idx, offsets, psw):
    ours, theirs = nn.EmbeddingBag(10, 3, **kwargs), torch.nn.EmbeddingBag(10, 3, **kwargs)
    _twins(ours, theirs)
    off = (None, None) if offsets is None else (pg.tensor(offsets), torch.tensor(offsets))
    w = torch.randn(np.shape(idx), dtype=torch.float64) if psw else None
    pw, tw = (from_torch(w, True), w.clone().requires_grad_()) if psw else (None, None)
    py = ours(pg.tensor(idx), off[0], pw)
    ty = theirs(torch.tensor(idx), off[1], tw)
    u = torch.randn(ty.shape, dtype=torch.float64)
    py.backward(from_torch(u)), ty.backward(u)
    assert_close(py, ty)
    assert_close(ours.weight.grad, theirs.weight.grad)
    if psw:
        assert_close(pw.grad, tw.grad)


def test_embedding_bag_refusals_match_torch():
    for bag, t in (
        (nn.EmbeddingBag(5, 2, mode="mean"), pg.tensor),
        (torch.nn.EmbeddingBag(5, 2, mode="mean"), torch.tensor),
    ):
        with pytest.raises(ValueError):
            bag(t([[1, 2]]), t([0]))
        with pytest.raises((NotImplementedError, ValueError)):
            bag(t([1, 2]), t([0]), t([1.0, 2.0]))


def test_embedding_from_given_rows_as_torch():
    rows = torch.randn(4, 3, dtype=torch.float64)
    for freeze in (False, True):
        ours = nn.Embedding(4, 3, _weight=from_torch(rows), _freeze=freeze)
        theirs = torch.nn.Embedding(4, 3, _weight=rows.clone(), _freeze=freeze)
        assert ours.weight.requires_grad == theirs.weight.requires_grad
        assert_close(ours(pg.tensor([3, 0])), theirs(torch.tensor([3, 0])))
    with pytest.raises(NotImplementedError):
        nn.Embedding(4, 3, sparse=True)
