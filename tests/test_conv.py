"""The convolution family against torch in float64: Conv1d/2d/3d and ConvTranspose1d/2d/3d
(strides, int/tuple/'same'/'valid' padding, output_padding, dilation, groups, depthwise, no
bias, the four padding modes), F.pad in every mode, unfold/fold, MaxUnpool, ChannelShuffle.

Every layer is built in torch (float64) and its state dict is loaded into the polygrad layer
(keys and shapes compared first); forward values, the input's gradient and every parameter's
gradient are compared under a random upstream gradient. Refusals compare the exception type
with the one torch raises for the same call. Default initialisation is checked statistically.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from helpers import assert_close, from_torch

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F

RTOL, ATOL = 1e-10, 1e-11


def _pair(name: str, *args, **kwargs):
    """A float64 torch layer and the polygrad one loaded from its state dict (the keys and
    shapes of both state dicts compared first)."""
    tm = getattr(tnn, name)(*args, **kwargs).double()
    m = getattr(nn, name)(*args, **kwargs).double()
    theirs, ours = tm.state_dict(), m.state_dict()
    assert list(ours) == list(theirs)
    assert [tuple(v.shape) for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]
    m.load_state_dict({k: from_torch(v) for k, v in theirs.items()})
    return tm, m


def _run(tm, m, shape, seed=0, **call):
    """Forward and backward of both on the same input and upstream gradient; compares the
    output, the input gradient and every parameter gradient."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(shape, dtype=torch.float64, generator=gen)
    tx, x = a.clone().requires_grad_(True), from_torch(a, requires_grad=True)
    ty, y = tm(tx, **call), m(x, **call)
    assert_close(y, ty, rtol=RTOL, atol=ATOL)
    u = torch.randn(ty.shape, dtype=torch.float64, generator=gen)
    ty.backward(u)
    y.backward(from_torch(u))
    assert_close(x.grad, tx.grad, rtol=RTOL, atol=ATOL)
    named = dict(m.named_parameters())
    assert list(named) == [k for k, _ in tm.named_parameters()]
    for k, tp in tm.named_parameters():
        assert_close(named[k].grad, tp.grad, rtol=RTOL, atol=ATOL)


def _raises_like(theirs, ours):
    """``theirs()`` (torch) raises; ``ours()`` (polygrad) raises an instance of the same type."""
    with pytest.raises(Exception) as t_err:  # the type torch picks is the expectation
        theirs()
    with pytest.raises(type(t_err.value)):
        ours()


# -- convolutions ----------------------------------------------------------------------------
CONV_CASES = [
    # layer, args, kwargs, input shape
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1), (2, 4, 11)),
    ("Conv1d", (4, 4, 3), dict(groups=4, dilation=2, padding="same", bias=False), (2, 4, 9)),
    ("Conv1d", (3, 6, 4), dict(padding="same"), (3, 10)),  # even kernel, unbatched
    ("Conv1d", (3, 6, 2), dict(padding="valid", stride=3, dilation=3), (2, 3, 13)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
     (2, 4, 9, 8)),
    # the awkward case: grouped dilated conv with padding='same' (stride 1, as torch requires)
    ("Conv2d", (6, 9, 3), dict(groups=3, dilation=(2, 3), padding="same"), (2, 6, 7, 9)),
    ("Conv2d", (4, 8, (2, 3)), dict(groups=4, padding="same", dilation=(3, 1)), (4, 6, 7)),
    ("Conv2d", (3, 4, 3), dict(stride=3, padding=2, bias=False), (1, 3, 8, 7)),
    ("Conv3d", (4, 6, (3, 2, 2)),
     dict(stride=(1, 2, 1), padding=(1, 0, 1), dilation=(1, 1, 2), groups=2), (2, 4, 5, 6, 5)),
    ("Conv3d", (2, 4, 3), dict(padding="same", bias=False), (1, 2, 4, 5, 4)),
    ("Conv3d", (3, 3, 2), dict(groups=3, stride=2), (3, 5, 4, 5)),  # depthwise, unbatched
]


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), CONV_CASES)
def test_conv_matches_torch(name, args, kwargs, shape):
    _run(*_pair(name, *args, **kwargs), shape)


PADDING_MODE_CASES = [
    ("Conv1d", (3, 4, 3), dict(padding=2), (2, 3, 6)),
    ("Conv1d", (2, 4, 4), dict(padding="same", dilation=2, groups=2), (2, 2, 9)),
    ("Conv2d", (3, 4, 3), dict(padding=(1, 2), stride=(1, 2)), (2, 3, 5, 6)),
    ("Conv2d", (4, 4, (3, 2)), dict(padding="same", groups=4, dilation=(2, 1)), (4, 6, 5)),
    ("Conv3d", (2, 3, 3), dict(padding=(1, 0, 2), groups=1), (1, 2, 4, 3, 5)),
    ("Conv3d", (2, 2, 2), dict(padding="same", groups=2), (2, 2, 3, 4, 3)),
]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), PADDING_MODE_CASES)
def test_conv_padding_modes(mode, name, args, kwargs, shape):
    tm, m = _pair(name, *args, padding_mode=mode, **kwargs)
    assert repr(m) == repr(tm)
    _run(tm, m, shape)


TRANSPOSE_CASES = [
    ("ConvTranspose1d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2),
     (2, 4, 5)),
    ("ConvTranspose1d", (3, 3, 4), dict(dilation=2, groups=3, bias=False), (3, 6)),
    ("ConvTranspose2d", (4, 6, (3, 2)), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2)),
     (2, 4, 4, 3)),
    ("ConvTranspose2d", (4, 4, 3),
     dict(stride=2, dilation=2, groups=4, output_padding=1, padding=2), (2, 4, 5, 4)),
    ("ConvTranspose2d", (2, 3, 1), dict(stride=3), (1, 2, 3, 3)),
    ("ConvTranspose3d", (2, 4, (2, 3, 2)),
     dict(stride=(2, 1, 2), padding=(0, 1, 1), output_padding=(1, 0, 1), groups=2),
     (2, 2, 3, 4, 3)),
    ("ConvTranspose3d", (3, 2, 2), dict(bias=False, dilation=(1, 2, 1)), (3, 2, 3, 2)),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "shape"), TRANSPOSE_CASES)
def test_conv_transpose_matches_torch(name, args, kwargs, shape):
    tm, m = _pair(name, *args, **kwargs)
    assert repr(m) == repr(tm)
    _run(tm, m, shape)


@pytest.mark.parametrize("size", [(9, 10), (2, 3, 10, 12), (10, 11)])
def test_conv_transpose_output_size(size):
    _run(*_pair("ConvTranspose2d", 3, 2, 3, stride=(2, 3), padding=1), (2, 3, 5, 4),
         output_size=list(size))
    tm, m = _pair("ConvTranspose2d", 3, 2, 3, stride=2, padding=1)
    x = torch.zeros(1, 3, 5, 4, dtype=torch.float64)
    _raises_like(lambda: tm(x, output_size=[12, 7]), lambda: m(from_torch(x), output_size=[12, 7]))


@pytest.mark.parametrize(
    ("fn", "tfn", "dims", "kwargs"),
    [(F.conv1d, TF.conv1d, 1, dict(stride=2, padding=1, dilation=2, groups=2)),
     (F.conv2d, TF.conv2d, 2, dict(padding="same", dilation=(1, 2), groups=2)),
     (F.conv3d, TF.conv3d, 3, dict(stride=(1, 2, 1), padding=(0, 1, 1), groups=1))],
)
def test_conv_functional(fn, tfn, dims, kwargs):
    gen = torch.Generator().manual_seed(1)
    arrays = [torch.randn((2, 4) + (6,) * dims, dtype=torch.float64, generator=gen),
              torch.randn((6, 4 // kwargs["groups"]) + (3,) * dims, dtype=torch.float64,
                          generator=gen),
              torch.randn(6, dtype=torch.float64, generator=gen)]
    theirs = [a.clone().requires_grad_(True) for a in arrays]
    ours = [from_torch(a, requires_grad=True) for a in arrays]
    ty, y = tfn(*theirs, **kwargs), fn(*ours, **kwargs)
    assert_close(y, ty, rtol=RTOL, atol=ATOL)
    (ty**2).sum().backward()
    (y**2).sum().backward()
    for p, t in zip(ours, theirs):
        assert_close(p.grad, t.grad, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    ("fn", "tfn"),
    [(F.conv_transpose1d, TF.conv_transpose1d), (F.conv_transpose2d, TF.conv_transpose2d),
     (F.conv_transpose3d, TF.conv_transpose3d)],
)
def test_conv_transpose_functional(fn, tfn):
    dims = int(fn.__name__[-2])
    gen = torch.Generator().manual_seed(2)
    arrays = [torch.randn((2, 4) + (3,) * dims, dtype=torch.float64, generator=gen),
              torch.randn((4, 3) + (2,) * dims, dtype=torch.float64, generator=gen),
              torch.randn(6, dtype=torch.float64, generator=gen)]
    kwargs = dict(stride=2, padding=1, output_padding=1, groups=2, dilation=2)
    theirs = [a.clone().requires_grad_(True) for a in arrays]
    ours = [from_torch(a, requires_grad=True) for a in arrays]
    ty, y = tfn(*theirs, **kwargs), fn(*ours, **kwargs)
    assert_close(y, ty, rtol=RTOL, atol=ATOL)
    (ty**2).sum().backward()
    (y**2).sum().backward()
    for p, t in zip(ours, theirs):
        assert_close(p.grad, t.grad, rtol=RTOL, atol=ATOL)


def test_torch_state_dict_loads_and_gives_torchs_outputs():
    """A torch state dict (not built from the same constructor call) loads into the polygrad
    layer and gives torch's outputs; the bias-free layer has no ``bias`` key."""
    for name, args, kw, shape in [("Conv2d", (4, 6, 3), dict(groups=2, bias=False), (1, 4, 5, 5)),
                                  ("ConvTranspose1d", (4, 6, 3), dict(stride=2), (2, 4, 5))]:
        tm = getattr(tnn, name)(*args, **kw).double()
        m = getattr(nn, name)(*args, **kw).double()
        assert ("bias" in m.state_dict()) == kw.get("bias", True)
        m.load_state_dict({k: from_torch(v) for k, v in tm.state_dict().items()})
        x = torch.randn(shape, dtype=torch.float64)
        assert_close(m(from_torch(x)), tm(x).detach(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    "name", ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]
)
def test_module_defaults_and_attributes(name):
    tm, m = getattr(tnn, name)(4, 2, 3), getattr(nn, name)(4, 2, 3)
    assert repr(m) == repr(tm)
    for attr in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
                 "output_padding", "groups", "padding_mode", "transposed"):
        assert getattr(m, attr) == getattr(tm, attr), attr
    assert m.weight.dtype == pg.float32 and m.bias.dtype == pg.float32
    assert m.weight.requires_grad and m.bias.requires_grad


@pytest.mark.parametrize(
    ("name", "args", "kw", "fan_in"),
    [("Conv2d", (24, 32, 3), dict(groups=2), 12 * 9),
     ("Conv1d", (16, 300, 5), {}, 16 * 5),
     ("ConvTranspose2d", (30, 24, (3, 2)), dict(groups=3), 8 * 6),
     ("Conv3d", (4, 40, 3), {}, 4 * 27)],
)
def test_default_init_is_kaiming_uniform_as_torch(name, args, kw, fan_in):
    """kaiming_uniform_(a=sqrt(5)) gives weights U(-b, b), b = 1/sqrt(fan_in), and the bias
    the same bound (torch's default): range, mean and variance of the draw."""
    m = getattr(nn, name)(*args, **kw)
    t = getattr(tnn, name)(*args, **kw)
    assert m.weight.shape == tuple(t.weight.shape)
    bound = 1 / math.sqrt(fan_in)
    w = m.weight.detach().numpy().ravel()
    b = m.bias.detach().numpy().ravel()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    assert abs(w.mean()) < 4 * bound / math.sqrt(3 * w.size)
    assert abs(w.var() / (bound**2 / 3) - 1) < 0.1
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.5 * bound
    assert len(np.unique(b)) == b.size
    # torch's own draw has the same bounds (the formula above is torch's)
    tw = t.weight.detach().numpy()
    assert np.abs(tw).max() <= bound and np.abs(tw).max() > 0.98 * bound


ERROR_CASES = [
    # a builder given the nn module (torch.nn or polygrad.nn), the input shape (None: build only)
    ("rank-1d", lambda lib: lib.Conv1d(3, 4, 3), (3,)),
    ("rank-2d", lambda lib: lib.Conv2d(3, 4, 3), (1, 1, 3, 5, 5)),
    ("rank-3d", lambda lib: lib.Conv3d(3, 4, 3), (3, 5, 5)),
    ("rank-transpose", lambda lib: lib.ConvTranspose2d(3, 4, 3), (3, 5)),
    ("channels", lambda lib: lib.Conv2d(3, 4, 3), (1, 4, 5, 5)),
    ("channels-transpose", lambda lib: lib.ConvTranspose1d(3, 4, 3), (1, 2, 5)),
    ("groups-in", lambda lib: lib.Conv2d(3, 4, 3, groups=2), None),
    ("groups-out", lambda lib: lib.Conv1d(4, 3, 3, groups=2), None),
    ("groups-transpose", lambda lib: lib.ConvTranspose2d(4, 6, 3, groups=4), None),
    ("padding-mode", lambda lib: lib.Conv2d(3, 4, 3, padding_mode="mirror"), None),
    ("padding-mode-transpose", lambda lib: lib.ConvTranspose2d(3, 4, 3, padding_mode="reflect"),
     None),
    ("same-strided", lambda lib: lib.Conv2d(6, 6, 3, stride=2, padding="same", groups=3,
                                            dilation=2), None),
    ("same-strided-1d", lambda lib: lib.Conv1d(2, 2, 3, stride=(2,), padding="same"), None),
    ("padding-string", lambda lib: lib.Conv1d(2, 2, 3, padding="full"), None),
    ("too-small", lambda lib: lib.Conv2d(2, 2, 5), (1, 2, 4, 6)),
    ("reflect-too-wide", lambda lib: lib.Conv1d(2, 2, 9, padding=4, padding_mode="reflect"),
     (1, 2, 3)),
]


@pytest.mark.parametrize(("case", "build", "shape"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_match_torch_types(case, build, shape):
    if shape is None:
        _raises_like(lambda: build(tnn), lambda: build(nn))
        return
    tm, m = build(tnn).double(), build(nn).double()
    x = torch.zeros(shape, dtype=torch.float64)
    _raises_like(lambda: tm(x), lambda: m(from_torch(x)))


FUNCTIONAL_ERRORS = [
    # (input shape, weight shape, kwargs) for conv2d
    ("same-strided", (1, 6, 7, 7), (6, 2, 3, 3), dict(stride=2, padding="same", groups=3,
                                                     dilation=2)),
    ("groups", (1, 3, 5, 5), (4, 1, 3, 3), dict(groups=2)),
    ("channels", (1, 4, 5, 5), (4, 3, 3, 3), {}),
    ("rank", (4, 5), (4, 4, 3, 3), {}),
    ("padding-string", (1, 3, 5, 5), (4, 3, 3, 3), dict(padding="full")),
]


@pytest.mark.parametrize(("case", "xs", "ws", "kw"), FUNCTIONAL_ERRORS,
                         ids=[c[0] for c in FUNCTIONAL_ERRORS])
def test_functional_errors_match_torch_types(case, xs, ws, kw):
    x, w = torch.zeros(xs, dtype=torch.float64), torch.zeros(ws, dtype=torch.float64)
    _raises_like(lambda: TF.conv2d(x, w, **kw),
                 lambda: F.conv2d(from_torch(x), from_torch(w), **kw))


# -- F.pad -----------------------------------------------------------------------------------
PAD_CASES = [
    ("constant", (2, 3, 5), (2, 1), 0.0),
    ("constant", (2, 3, 5), (-1, 2), 1.5),
    ("constant", (2, 3, 5, 6), (1, -2, -1, 3), -2.0),
    ("constant", (2, 3, 4, 5, 6), (1, 0, -1, 2, 0, 1), None),
    ("constant", (4, 5), (0, 0, 2, -3), None),
    ("reflect", (2, 3, 5), (3, 4), None),
    ("reflect", (3, 5), (2, 1), None),
    ("reflect", (2, 3, 4, 5), (1, 3, 2, 0), None),
    ("reflect", (2, 3, 4, 5, 3), (2, 1, 0, 3, 1, 2), None),
    ("replicate", (2, 3, 5), (3, 7), None),
    ("replicate", (3, 4, 5), (2, 0, 1, 4), None),
    ("replicate", (2, 3, 4, 2, 3), (1, 2, 3, 0, 2, 2), None),
    ("circular", (2, 3, 5), (5, 2), None),
    ("circular", (3, 4, 5), (1, 3, 4, 2), None),
    ("circular", (2, 2, 3, 4, 5), (2, 1, 0, 3, 3, 1), None),
    ("circular", (2, 2, 4, 5), (-1, 2, 1, -2), None),
]


@pytest.mark.parametrize(("mode", "shape", "pad", "value"), PAD_CASES)
def test_pad_matches_torch(mode, shape, pad, value):
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(shape, dtype=torch.float64, generator=gen)
    tx, x = a.clone().requires_grad_(True), from_torch(a, requires_grad=True)
    kw = {} if value is None else dict(value=value)
    ty, y = TF.pad(tx, pad, mode=mode, **kw), F.pad(x, pad, mode=mode, **kw)
    assert_close(y, ty, rtol=0, atol=0)
    u = torch.randn(ty.shape, dtype=torch.float64, generator=gen)
    ty.backward(u)
    y.backward(from_torch(u))
    assert_close(x.grad, tx.grad, rtol=RTOL, atol=ATOL)


PAD_ERRORS = [
    ("reflect", (1, 2, 3), (3, 0)),  # not below the size
    ("circular", (1, 2, 3), (4, 0)),  # wraps more than once
    ("reflect", (1, 2, 3, 4, 5, 6), (1, 1)),  # rank above what the mode takes
    ("constant", (2, 3), (1, 1, 1, 1, 1, 1)),  # more axes than the input
    ("constant", (2, 3), (1, 1, 1)),  # odd length
    ("wrap", (1, 2, 3), (1, 1)),  # unknown mode
]


@pytest.mark.parametrize(("mode", "shape", "pad"), PAD_ERRORS)
def test_pad_errors_match_torch_types(mode, shape, pad):
    x = torch.zeros(shape, dtype=torch.float64)
    _raises_like(lambda: TF.pad(x, pad, mode=mode), lambda: F.pad(from_torch(x), pad, mode=mode))


# -- unfold / fold ---------------------------------------------------------------------------
UNFOLD_CASES = [
    # kernel, dilation, padding, stride, input shape
    (2, 1, 0, 1, (2, 3, 4, 5)),
    ((3, 2), (1, 2), (1, 0), (2, 1), (2, 2, 7, 6)),
    (3, 2, 2, 3, (3, 6, 5)),  # unbatched
    ((1, 4), 1, (0, 2), (1, 3), (1, 1, 3, 9)),
]


@pytest.mark.parametrize(("k", "d", "p", "s", "shape"), UNFOLD_CASES)
def test_unfold_fold_match_torch(k, d, p, s, shape):
    kw = dict(dilation=d, padding=p, stride=s)
    _run(tnn.Unfold(k, **kw), nn.Unfold(k, **kw), shape)
    cols = TF.unfold(torch.zeros(shape, dtype=torch.float64), k, **kw).shape
    size = shape[-2:]
    _run(tnn.Fold(size, k, **kw), nn.Fold(size, k, **kw), tuple(cols), seed=1)
    a = torch.randn(cols, dtype=torch.float64)
    assert_close(F.fold(from_torch(a), size, k, **kw), TF.fold(a, size, k, **kw), rtol=RTOL,
                 atol=ATOL)
    b = torch.randn(shape, dtype=torch.float64)
    assert_close(F.unfold(from_torch(b), k, **kw), TF.unfold(b, k, **kw), rtol=0, atol=0)
    assert repr(nn.Fold(size, k, **kw)) == repr(tnn.Fold(size, k, **kw))
    assert repr(nn.Unfold(k, **kw)) == repr(tnn.Unfold(k, **kw))


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [(lambda x: TF.unfold(x, 4), lambda x: F.unfold(x, 4)),  # more kernel than input
     (lambda x: TF.unfold(x[0, 0], 2), lambda x: F.unfold(x[0, 0], 2)),  # 2-d input
     (lambda x: TF.fold(x[0], (3, 3), 2), lambda x: F.fold(x[0], (3, 3), 2)),  # wrong L
     (lambda x: TF.fold(x[0, :, :3], (3, 3), 2), lambda x: F.fold(x[0, :, :3], (3, 3), 2))],
)
def test_unfold_fold_errors_match_torch_types(theirs, ours):
    a = torch.zeros(1, 3, 3, 3, dtype=torch.float64)
    _raises_like(lambda: theirs(a), lambda: ours(from_torch(a)))


# -- MaxUnpool and ChannelShuffle ------------------------------------------------------------
UNPOOL_CASES = [
    # dims, kernel, stride, padding, input shape, output_size
    (2, 2, None, 0, (2, 3, 6, 6), None),
    (2, 2, None, 0, (2, 3, 5, 7), (5, 7)),  # the size pooling lost, given back
    (2, 3, 2, 1, (1, 2, 7, 8), [1, 2, 7, 8]),
    (2, (3, 2), (1, 2), (1, 0), (2, 2, 5, 6), None),  # overlapping windows: repeated indices
    (2, 2, None, 0, (3, 4, 4), None),  # unbatched
    (1, 2, None, 0, (2, 3, 8), None),
    (1, 3, 1, 1, (2, 2, 7), (7,)),  # overlapping
    (1, 3, 2, 0, (3, 9), None),  # unbatched
]


@pytest.mark.parametrize(("dims", "k", "s", "p", "shape", "size"), UNPOOL_CASES)
def test_max_unpool_round_trip_matches_torch(dims, k, s, p, shape, size):
    pool, tpool = f"MaxPool{dims}d", f"MaxUnpool{dims}d"
    gen = torch.Generator().manual_seed(4)
    a = torch.randn(shape, dtype=torch.float64, generator=gen)
    tout, tidx = getattr(tnn, pool)(k, s, p, return_indices=True)(a)
    out, idx = getattr(nn, pool)(k, s, p, return_indices=True)(from_torch(a))
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    tv, v = tout.clone().requires_grad_(True), from_torch(tout, requires_grad=True)
    tun, un = getattr(tnn, tpool)(k, s, p), getattr(nn, tpool)(k, s, p)
    assert repr(un) == repr(tun)
    ty, y = tun(tv, tidx, output_size=size), un(v, idx, output_size=size)
    assert_close(y, ty, rtol=0, atol=0)
    u = torch.randn(ty.shape, dtype=torch.float64, generator=gen)
    ty.backward(u)
    y.backward(from_torch(u))
    assert_close(v.grad, tv.grad, rtol=0, atol=0)
    fn, tfn = getattr(F, f"max_unpool{dims}d"), getattr(TF, f"max_unpool{dims}d")
    assert_close(fn(from_torch(tout), idx, k, s, p, size), tfn(tout, tidx, k, s, p, size))


def test_max_unpool_repeated_index_last_value_wins_as_torch():
    a = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]], dtype=torch.float64, requires_grad=True)
    i = torch.tensor([[[1, 1, 0, 1]]])
    x = from_torch(a, requires_grad=True)
    ty, y = TF.max_unpool1d(a, i, 2), F.max_unpool1d(x, from_torch(i), 2)
    assert_close(y, ty.detach(), rtol=0, atol=0)
    u = torch.arange(3.0, 3.0 + ty.numel(), dtype=torch.float64).reshape(ty.shape)
    ty.backward(u)
    y.backward(from_torch(u))
    assert_close(x.grad, a.grad, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("shape", "idx", "kw"),
    [((1, 1, 2, 2), torch.full((1, 1, 2, 2), 99), {}),  # index outside the plane
     ((1, 1, 2, 2), torch.zeros(1, 1, 2, 2, dtype=torch.int32), {}),  # not int64
     ((1, 2, 2), torch.zeros(1, 1, 2, 2, dtype=torch.int64), {}),  # shapes differ
     ((2, 2), torch.zeros(2, 2, dtype=torch.int64), {}),  # rank
     ((1, 1, 2, 2), torch.zeros(1, 1, 2, 2, dtype=torch.int64), dict(output_size=(6, 4))),
     ((1, 1, 2, 2), torch.zeros(1, 1, 2, 2, dtype=torch.int64), dict(output_size=(4,)))],
)
def test_max_unpool_errors_match_torch_types(shape, idx, kw):
    x = torch.zeros(shape, dtype=torch.float64)
    _raises_like(lambda: TF.max_unpool2d(x, idx, 2, **kw),
                 lambda: F.max_unpool2d(from_torch(x), from_torch(idx), 2, **kw))


@pytest.mark.parametrize(("groups", "shape"), [(2, (2, 6, 3, 4)), (3, (1, 6, 5)),
                                               (4, (2, 8, 2, 3, 2)), (1, (2, 3, 4))])
def test_channel_shuffle_matches_torch(groups, shape):
    tm, m = tnn.ChannelShuffle(groups), nn.ChannelShuffle(groups)
    assert repr(m) == repr(tm)
    _run(tm, m, shape)
    a = torch.randn(shape, dtype=torch.float64)
    for name in ("channel_shuffle", "native_channel_shuffle"):
        assert_close(getattr(F, name)(from_torch(a), groups), getattr(TF, name)(a, groups),
                     rtol=0, atol=0)


@pytest.mark.parametrize(("groups", "shape"), [(2, (2, 6)), (4, (2, 6, 3)), (0, (2, 6, 3))])
def test_channel_shuffle_errors_match_torch_types(groups, shape):
    a = torch.zeros(shape, dtype=torch.float64)
    _raises_like(lambda: TF.channel_shuffle(a, groups),
                 lambda: F.channel_shuffle(from_torch(a), groups))
