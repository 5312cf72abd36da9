"""polygrad.nn against torch.nn in float64: every layer and loss with the same weights copied
in, forward values and every parameter and input gradient under a random upstream gradient,
in train and eval mode; plus the Module API, state dicts, errors, init and gradient clipping.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from helpers import assert_close, assert_on_backend, from_torch

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F
from polygrad.nn import init
from polygrad.nn.utils import clip_grad_norm_, clip_grad_value_

BACKEND = pg.get_backend()


@pytest.fixture(autouse=True)
def _float64():
    """Layers built in a test get float64 parameters (conftest restores float32 after)."""
    pg.set_default_dtype(pg.float64)


# ============================================================================================
# helpers
# ============================================================================================
def copy_from_torch(module: nn.Module, tmodule: tnn.Module) -> None:
    """Load torch's weights and buffers into ``module`` (strict: the names must agree)."""
    module.load_state_dict({k: from_torch(v) for k, v in tmodule.state_dict().items()})


def randn(*shape: int) -> np.ndarray:
    return np.random.standard_normal(shape)


def leaves(*arrays: np.ndarray, grad: bool = True) -> tuple[list, list]:
    """The same values as polygrad and torch leaves (float arrays require grad)."""
    ours, theirs = [], []
    for a in arrays:
        needs = grad and a.dtype.kind == "f"
        ours.append(pg.tensor(a, requires_grad=needs))
        theirs.append(torch.from_numpy(np.array(a)).requires_grad_(needs))
    return ours, theirs


def check_param_grads(module: nn.Module, tmodule: tnn.Module) -> None:
    ours = dict(module.named_parameters())
    theirs = dict(tmodule.named_parameters())
    assert list(ours) == list(theirs)
    for name, p in ours.items():
        t = theirs[name]
        if t.grad is None:
            assert p.grad is None, name
        else:
            assert p.grad is not None, f"{name} got no gradient"
            assert_close(p.grad, t.grad)


def run_both(module, tmodule, *arrays, grad_inputs=True, rtol=1e-10, atol=1e-12):
    """Forward and backward through both with the same inputs and upstream gradient;
    compares outputs, input gradients and parameter gradients. Returns the outputs."""
    xs, txs = leaves(*arrays, grad=grad_inputs)
    out, tout = module(*xs), tmodule(*txs)
    assert_close(out, tout, rtol=rtol, atol=atol)
    upstream = randn(*tout.shape)
    out.backward(pg.tensor(upstream))
    tout.backward(torch.from_numpy(upstream))
    for x, tx in zip(xs, txs):
        if tx.requires_grad:
            assert_close(x.grad, tx.grad, rtol=rtol, atol=atol)
    check_param_grads(module, tmodule)
    return out, tout


def pair(make_ours, make_theirs):
    """Build a polygrad module and its torch twin (float64) with the torch weights copied in."""
    tmodule = make_theirs().double()
    module = make_ours()
    copy_from_torch(module, tmodule)
    return module, tmodule


# ============================================================================================
# layers
# ============================================================================================
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 4)])
def test_linear(bias, shape):
    layer, tlayer = pair(lambda: nn.Linear(4, 3, bias=bias), lambda: tnn.Linear(4, 3, bias=bias))
    assert layer.weight.shape == (3, 4)
    run_both(layer, tlayer, randn(*shape))


ACTIVATIONS = [
    (nn.ReLU, tnn.ReLU, {}),
    (nn.LeakyReLU, tnn.LeakyReLU, {"negative_slope": 0.2}),
    (nn.Tanh, tnn.Tanh, {}),
    (nn.Sigmoid, tnn.Sigmoid, {}),
    (nn.GELU, tnn.GELU, {}),
    (nn.GELU, tnn.GELU, {"approximate": "tanh"}),
    (nn.Softplus, tnn.Softplus, {}),
    (nn.Softplus, tnn.Softplus, {"beta": 2.0, "threshold": 1.5}),
    (nn.Softmax, tnn.Softmax, {"dim": 1}),
    (nn.LogSoftmax, tnn.LogSoftmax, {"dim": -1}),
    (nn.Identity, tnn.Identity, {}),
    (nn.Flatten, tnn.Flatten, {}),
    (nn.Flatten, tnn.Flatten, {"start_dim": 0, "end_dim": 1}),
]


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), ACTIVATIONS)
def test_activation_modules(ours, theirs, kwargs):
    module, tmodule = ours(**kwargs), theirs(**kwargs)
    assert repr(module) == repr(tmodule)
    run_both(module, tmodule, randn(3, 4, 5) * 2)


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_softmax_default_dim_follows_torch(ndim):
    x = randn(*(2, 3, 4, 5)[:ndim])
    with pytest.warns(UserWarning):
        expected = TF.softmax(torch.from_numpy(x))  # torch's deprecated implicit dim
    assert_close(F.softmax(pg.tensor(x)), expected)
    with pytest.warns(UserWarning):
        expected = TF.log_softmax(torch.from_numpy(x))
    assert_close(F.log_softmax(pg.tensor(x)), expected)


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding(padding_idx):
    emb, temb = pair(
        lambda: nn.Embedding(6, 3, padding_idx=padding_idx),
        lambda: tnn.Embedding(6, 3, padding_idx=padding_idx),
    )
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    out, _ = run_both(emb, temb, idx)
    assert out.shape == (2, 3, 3)
    assert repr(emb) == repr(temb)


def test_embedding_padding_row_starts_at_zero():
    emb = nn.Embedding(5, 4, padding_idx=3)
    assert_close(emb.weight[3], np.zeros(4))
    assert float(pg.abs(emb.weight[0]).sum()) > 0


# -- dropout ----------------------------------------------------------------------------------
def test_dropout_p0_and_eval_are_identity():
    x = pg.tensor(randn(4, 5), requires_grad=True)
    assert nn.Dropout(0.0)(x) is x
    drop = nn.Dropout(0.7).eval()
    assert drop(x) is x
    assert F.dropout(x, 0.7, training=False) is x


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_matches_torch_with_the_same_mask(p):
    x = randn(60, 50)
    drop = nn.Dropout(p)
    assert drop.training
    pg.manual_seed(1234)
    xs, txs = leaves(x)
    out = drop(xs[0])
    pg.manual_seed(1234)
    keep = pg.rand(x.shape, dtype=pg.float64).numpy() >= p  # the documented mask
    tout = txs[0] * (torch.from_numpy(keep.astype(np.float64)) / (1 - p))
    assert_close(out, tout)
    upstream = randn(*x.shape)
    out.backward(pg.tensor(upstream))
    tout.backward(torch.from_numpy(upstream))
    assert_close(xs[0].grad, txs[0].grad)
    # inverted scaling: kept entries are x / (1 - p), and about 1 - p of them are kept
    got = out.numpy()
    kept = got != 0
    np.testing.assert_allclose(got[kept], x[kept] / (1 - p), rtol=1e-12)
    assert abs(kept.mean() - (1 - p)) < 0.05


def test_dropout_p1_zeros_everything():
    x = pg.tensor(randn(3, 4), requires_grad=True)
    out = nn.Dropout(1.0)(x)
    assert_close(out, np.zeros((3, 4)))
    out.sum().backward()
    assert_close(x.grad, np.zeros((3, 4)))


def test_dropout_same_seed_same_mask_on_every_call():
    x = pg.ones(100)
    pg.manual_seed(7)
    a = F.dropout(x, 0.5).numpy()
    pg.manual_seed(7)
    b = F.dropout(x, 0.5).numpy()
    c = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


# -- normalization ----------------------------------------------------------------------------
BN1D_CASES = [
    ({}, (8, 3)),
    ({}, (6, 3, 5)),
    ({"momentum": None}, (8, 3)),
    ({"momentum": 0.3, "eps": 1e-3}, (5, 3, 2)),
    ({"affine": False}, (8, 3)),
    ({"track_running_stats": False}, (8, 3)),
]


@pytest.mark.parametrize(("kwargs", "shape"), BN1D_CASES)
def test_batchnorm1d_train_steps_then_eval(kwargs, shape):
    bn, tbn = pair(lambda: nn.BatchNorm1d(3, **kwargs), lambda: tnn.BatchNorm1d(3, **kwargs))
    assert repr(bn) == repr(tbn)
    for step in range(4):
        bn.zero_grad()
        tbn.zero_grad()
        run_both(bn, tbn, randn(*shape) * (step + 1) + step)
    for name, t in tbn.named_buffers():
        assert_close(dict(bn.named_buffers())[name], t)
    if tbn.track_running_stats:
        assert bn.num_batches_tracked.item() == 4
        assert bn.num_batches_tracked.dtype == pg.int64
    bn.eval()
    tbn.eval()
    bn.zero_grad()
    tbn.zero_grad()
    run_both(bn, tbn, randn(*shape))
    for name, t in tbn.named_buffers():  # eval leaves the running statistics alone
        assert_close(dict(bn.named_buffers())[name], t)


def test_batchnorm2d_train_steps_then_eval():
    bn, tbn = pair(
        lambda: nn.BatchNorm2d(3, momentum=0.2), lambda: tnn.BatchNorm2d(3, momentum=0.2)
    )
    with torch.no_grad():  # non-trivial affine parameters
        tbn.weight.uniform_(0.5, 1.5)
        tbn.bias.uniform_(-1, 1)
    copy_from_torch(bn, tbn)
    for step in range(3):
        bn.zero_grad()
        tbn.zero_grad()
        run_both(bn, tbn, randn(4, 3, 5, 6) + step)
    assert_close(bn.running_mean, tbn.running_mean)
    assert_close(bn.running_var, tbn.running_var)
    bn.eval()
    tbn.eval()
    run_both(bn, tbn, randn(2, 3, 4, 4))


def test_batch_norm_functional_updates_running_stats_in_place():
    mean, var = pg.zeros(3), pg.ones(3)
    tmean, tvar = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    x = randn(10, 3)
    out = F.batch_norm(pg.tensor(x), mean, var, training=True, momentum=0.25)
    tout = TF.batch_norm(torch.from_numpy(x), tmean, tvar, training=True, momentum=0.25)
    assert_close(out, tout)
    assert_close(mean, tmean)
    assert_close(var, tvar)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"normalized_shape": 5},
        {"normalized_shape": (4, 5)},
        {"normalized_shape": 5, "elementwise_affine": False},
        {"normalized_shape": 5, "bias": False, "eps": 1e-3},
    ],
)
def test_layernorm(kwargs):
    ln, tln = pair(lambda: nn.LayerNorm(**kwargs), lambda: tnn.LayerNorm(**kwargs))
    with torch.no_grad():
        for p in tln.parameters():
            p.uniform_(-1, 1)
    copy_from_torch(ln, tln)
    assert repr(ln) == repr(tln)
    run_both(ln, tln, randn(3, 4, 5) * 3 + 1)


# -- convolution and pooling ------------------------------------------------------------------
CONV_CASES = [
    # in, out, kernel, stride, padding, dilation, groups, bias, input shape
    (3, 4, 3, 1, 0, 1, 1, True, (2, 3, 7, 8)),
    (3, 4, 3, 2, 1, 1, 1, True, (2, 3, 9, 9)),
    (4, 6, (3, 2), (2, 1), (1, 0), 1, 2, False, (2, 4, 8, 7)),
    (4, 4, 3, 1, 2, 2, 4, True, (1, 4, 9, 9)),
    (2, 3, 1, 1, 0, 1, 1, True, (3, 2, 5, 5)),
    (3, 6, 5, 3, 2, 1, 3, True, (2, 3, 11, 10)),
    (6, 4, (2, 3), 2, (0, 1), (2, 1), 2, True, (2, 6, 9, 8)),
    (2, 2, 3, 1, "same", 1, 1, True, (2, 2, 6, 6)),
    (2, 3, 4, 1, "same", 2, 1, True, (1, 2, 6, 7)),
    (2, 3, 3, 1, "valid", 1, 1, True, (2, 2, 6, 6)),
    (3, 2, 3, 1, 1, 1, 1, True, (3, 5, 5)),  # unbatched
]


@pytest.mark.parametrize(
    ("cin", "cout", "k", "stride", "padding", "dilation", "groups", "bias", "shape"), CONV_CASES
)
def test_conv2d(cin, cout, k, stride, padding, dilation, groups, bias, shape):
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    conv, tconv = pair(
        lambda: nn.Conv2d(cin, cout, k, **kwargs), lambda: tnn.Conv2d(cin, cout, k, **kwargs)
    )
    assert repr(conv) == repr(tconv)
    assert conv.weight.shape == tuple(tconv.weight.shape)
    run_both(conv, tconv, randn(*shape))


def test_conv2d_functional_matches_torch():
    x, w, b = randn(2, 4, 6, 6), randn(6, 2, 3, 3), randn(6)
    out = F.conv2d(pg.tensor(x), pg.tensor(w), pg.tensor(b), stride=2, padding=1, groups=2)
    expected = TF.conv2d(*map(torch.from_numpy, (x, w, b)), stride=2, padding=1, groups=2)
    assert_close(out, expected)


MAXPOOL_CASES = [
    (2, None, 0, 1, (2, 3, 6, 6)),
    (3, 2, 1, 1, (2, 2, 7, 8)),
    ((3, 2), (2, 1), (1, 0), 1, (1, 2, 7, 5)),
    (3, 1, 1, 2, (2, 1, 7, 7)),
    (2, 1, 0, 1, (1, 2, 5, 5)),
    (2, None, 0, 1, (3, 6, 6)),  # unbatched
]


@pytest.mark.parametrize(("k", "stride", "padding", "dilation", "shape"), MAXPOOL_CASES)
def test_maxpool2d(k, stride, padding, dilation, shape):
    pool = nn.MaxPool2d(k, stride, padding, dilation)
    tpool = tnn.MaxPool2d(k, stride, padding, dilation)
    run_both(pool, tpool, randn(*shape))


def test_maxpool2d_ties_send_the_gradient_to_the_first_maximum_as_torch():
    x = np.ones((1, 1, 4, 4))
    x[0, 0, 2:, 2:] = 2.0
    run_both(nn.MaxPool2d(2, 1), tnn.MaxPool2d(2, 1), x)
    run_both(nn.MaxPool2d(3, 2, padding=1), tnn.MaxPool2d(3, 2, padding=1), x)


AVGPOOL_CASES = [
    (2, None, 0, True, None, (2, 3, 6, 6)),
    (3, 2, 1, True, None, (2, 2, 7, 8)),
    (3, 2, 1, False, None, (2, 2, 7, 8)),
    ((2, 3), (1, 2), (1, 1), False, None, (1, 2, 5, 7)),
    (3, 1, 1, True, 4, (1, 2, 5, 5)),
    (2, None, 0, True, None, (3, 4, 4)),  # unbatched
]


@pytest.mark.parametrize(("k", "stride", "padding", "include", "divisor", "shape"), AVGPOOL_CASES)
def test_avgpool2d(k, stride, padding, include, divisor, shape):
    kwargs = dict(count_include_pad=include, divisor_override=divisor)
    pool = nn.AvgPool2d(k, stride, padding, **kwargs)
    tpool = tnn.AvgPool2d(k, stride, padding, **kwargs)
    run_both(pool, tpool, randn(*shape))


def test_small_cnn_end_to_end():
    def build(lib):
        return lib.Sequential(
            lib.Conv2d(3, 8, 3, padding=1),
            lib.BatchNorm2d(8),
            lib.ReLU(),
            lib.MaxPool2d(2),
            lib.Conv2d(8, 8, 3, padding=1, groups=2),
            lib.ReLU(),
            lib.AvgPool2d(2),
            lib.Flatten(),
            lib.Linear(8 * 2 * 2, 5),
        )

    model, tmodel = pair(lambda: build(nn), lambda: build(tnn))
    run_both(model, tmodel, randn(4, 3, 8, 8))
    x = randn(4, 3, 8, 8)
    target = np.array([0, 3, 4, 1])
    loss = F.cross_entropy(model(pg.tensor(x)), pg.tensor(target))
    tloss = TF.cross_entropy(tmodel(torch.from_numpy(x)), torch.from_numpy(target))
    assert_close(loss, tloss)


# ============================================================================================
# losses
# ============================================================================================
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("ours", "theirs"), [(nn.MSELoss, tnn.MSELoss), (nn.L1Loss, tnn.L1Loss)])
def test_regression_losses(ours, theirs, reduction):
    out, _ = run_both(
        ours(reduction=reduction), theirs(reduction=reduction), randn(4, 3), randn(4, 3)
    )
    assert out.shape == (() if reduction != "none" else (4, 3))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_loss(reduction, weighted):
    weight = np.random.uniform(0.5, 2, size=(3,)) if weighted else None
    loss = nn.BCELoss(weight=None if weight is None else pg.tensor(weight), reduction=reduction)
    tloss = tnn.BCELoss(
        weight=None if weight is None else torch.from_numpy(weight), reduction=reduction
    )
    p = np.random.uniform(0.05, 0.95, size=(5, 3))
    y = np.random.uniform(0, 1, size=(5, 3))
    xs, txs = leaves(p)
    out, tout = loss(xs[0], pg.tensor(y)), tloss(txs[0], torch.from_numpy(y))
    assert_close(out, tout)
    upstream = randn(*tout.shape)
    out.backward(pg.tensor(upstream))
    tout.backward(torch.from_numpy(upstream))
    assert_close(xs[0].grad, txs[0].grad)


def test_bce_loss_clamps_log_at_minus_100_like_torch():
    p, y = np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 1.0])
    with np.errstate(divide="ignore"):  # log(0) on the numpy backend
        out = F.binary_cross_entropy(pg.tensor(p), pg.tensor(y), reduction="none")
    expected = TF.binary_cross_entropy(torch.from_numpy(p), torch.from_numpy(y), reduction="none")
    assert_close(out, expected)
    assert out.numpy()[0] == 100.0


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weighted", [False, True])
def test_bce_with_logits_loss(reduction, weighted, pos_weighted):
    weight = np.random.uniform(0.5, 2, size=(3,)) if weighted else None
    pos_weight = np.random.uniform(0.5, 3, size=(3,)) if pos_weighted else None

    def opt(a, to):
        return None if a is None else to(a)

    loss = nn.BCEWithLogitsLoss(opt(weight, pg.tensor), reduction, opt(pos_weight, pg.tensor))
    tloss = tnn.BCEWithLogitsLoss(
        opt(weight, torch.from_numpy),
        reduction=reduction,
        pos_weight=opt(pos_weight, torch.from_numpy),
    )
    logits = randn(6, 3) * 4
    logits[0] = [-1000.0, 0.0, 1000.0]  # extreme logits stay finite and exact
    logits[1] = [-40.0, 35.0, 0.0]
    y = np.random.uniform(0, 1, size=(6, 3))
    y[0] = [1.0, 0.5, 0.0]
    run_both(loss, tloss, logits, y)
    assert np.isfinite(loss(pg.tensor(logits), pg.tensor(y)).numpy()).all()


CE_SHAPES = [((6, 5), (6,)), ((3, 5, 2, 4), (3, 2, 4)), ((5,), ())]


def _class_targets(target_shape, n_classes, ignore_index):
    target = np.random.randint(0, n_classes, size=target_shape)
    if target.ndim:
        target.reshape(-1)[0] = ignore_index  # at least one ignored target
        target.reshape(-1)[-1] = 1
    return target


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("input_shape", "target_shape"), CE_SHAPES)
def test_cross_entropy_loss(
    reduction, label_smoothing, ignore_index, weighted, input_shape, target_shape
):
    weight = np.random.uniform(0.5, 2.0, size=(5,)) if weighted else None
    kwargs = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    loss = nn.CrossEntropyLoss(weight=None if weight is None else pg.tensor(weight), **kwargs)
    tloss = tnn.CrossEntropyLoss(
        weight=None if weight is None else torch.from_numpy(weight), **kwargs
    )
    target = _class_targets(target_shape, 5, ignore_index)
    out, tout = run_both(loss, tloss, randn(*input_shape) * 3, target)
    assert out.shape == tuple(tout.shape)


def test_cross_entropy_is_stable_for_huge_logits():
    x = np.array([[1000.0, -1000.0, 0.0], [-5e4, 5e4, 1.0]])
    t = np.array([1, 1])
    out = F.cross_entropy(pg.tensor(x), pg.tensor(t), reduction="none", label_smoothing=0.1)
    expected = TF.cross_entropy(
        torch.from_numpy(x), torch.from_numpy(t), reduction="none", label_smoothing=0.1
    )
    assert np.isfinite(out.numpy()).all()
    assert_close(out, expected)


def test_cross_entropy_double_backward_matches_torch():
    x, t = randn(4, 3), np.array([0, 2, 1, 2])
    xs, txs = leaves(x)
    loss = F.cross_entropy(xs[0], pg.tensor(t), label_smoothing=0.1)
    tloss = TF.cross_entropy(txs[0], torch.from_numpy(t), label_smoothing=0.1)
    (g,) = pg.grad(loss, xs[0], create_graph=True)
    (tg,) = torch.autograd.grad(tloss, txs[0], create_graph=True)
    assert_close(g, tg)
    (g * g).sum().backward()
    (tg * tg).sum().backward()
    assert_close(xs[0].grad, txs[0].grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore_index", [-100, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("input_shape", "target_shape"), CE_SHAPES)
def test_nll_loss(reduction, ignore_index, weighted, input_shape, target_shape):
    weight = np.random.uniform(0.5, 2.0, size=(5,)) if weighted else None
    kwargs = dict(ignore_index=ignore_index, reduction=reduction)
    loss = nn.NLLLoss(weight=None if weight is None else pg.tensor(weight), **kwargs)
    tloss = tnn.NLLLoss(weight=None if weight is None else torch.from_numpy(weight), **kwargs)
    log_p = torch.log_softmax(
        torch.from_numpy(randn(*input_shape)), dim=0 if len(input_shape) == 1 else 1
    )
    run_both(loss, tloss, log_p.numpy(), _class_targets(target_shape, 5, ignore_index))


def test_cross_entropy_equals_log_softmax_then_nll():
    x, t = randn(7, 4), np.array([0, 1, 2, 3, 3, 2, 1])
    ce = F.cross_entropy(pg.tensor(x), pg.tensor(t), reduction="none")
    nll = F.nll_loss(F.log_softmax(pg.tensor(x), dim=1), pg.tensor(t), reduction="none")
    assert_close(ce, nll.numpy(), rtol=1e-12)


# ============================================================================================
# MLP and containers
# ============================================================================================
def torch_mlp(in_f, hidden, out_f, act, dropout=0.0, batchnorm=False):
    layers, prev = [], in_f
    for h in hidden:
        layers.append(tnn.Linear(prev, h))
        if batchnorm:
            layers.append(tnn.BatchNorm1d(h))
        layers.append(act())
        if dropout:
            layers.append(tnn.Dropout(dropout))
        prev = h
    layers.append(tnn.Linear(prev, out_f))
    return tnn.Sequential(*layers)


@pytest.mark.parametrize(
    ("activation", "tact", "dropout", "batchnorm"),
    [
        ("relu", tnn.ReLU, 0.0, False),
        ("tanh", tnn.Tanh, 0.3, False),
        ("gelu", tnn.GELU, 0.0, True),
        ("leaky_relu", tnn.LeakyReLU, 0.2, True),
    ],
)
def test_mlp_matches_torch_sequential(activation, tact, dropout, batchnorm):
    mlp, tmlp = pair(
        lambda: nn.MLP(4, [8, 6], 3, activation=activation, dropout=dropout, batchnorm=batchnorm),
        lambda: torch_mlp(4, [8, 6], 3, tact, dropout, batchnorm),
    )
    assert [n for n, _ in mlp.named_parameters()] == [n for n, _ in tmlp.named_parameters()]
    assert list(mlp.state_dict()) == list(tmlp.state_dict())
    assert repr(mlp).replace("MLP(", "Sequential(", 1) == repr(tmlp)
    if not dropout:  # train mode (batch statistics) is deterministic without dropout
        run_both(mlp, tmlp, randn(10, 4))
    mlp.eval()
    tmlp.eval()
    assert not any(m.training for m in mlp.modules())
    mlp.zero_grad()
    tmlp.zero_grad()
    run_both(mlp, tmlp, randn(10, 4))


def test_mlp_options():
    mlp = nn.MLP(3, 5, 2, activation=lambda: nn.LeakyReLU(0.3))
    assert [type(m).__name__ for m in mlp] == ["Linear", "LeakyReLU", "Linear"]
    assert mlp[1].negative_slope == 0.3
    assert isinstance(mlp, nn.Sequential)


def test_sequential_indexing_and_dict_names():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and seq[0] is a and seq[-1] is c
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    seq.append(nn.Tanh())
    assert len(seq) == 4
    named = nn.Sequential({"fc1": nn.Linear(2, 3), "act": nn.ReLU(), "fc2": nn.Linear(3, 1)})
    tnamed = tnn.Sequential(
        __import__("collections").OrderedDict(
            fc1=tnn.Linear(2, 3), act=tnn.ReLU(), fc2=tnn.Linear(3, 1)
        )
    )
    assert list(named.state_dict()) == list(tnamed.state_dict())
    assert named(pg.ones(4, 2)).shape == (4, 1)


def test_module_list_operations_follow_torch():
    ours = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 3)])
    theirs = tnn.ModuleList([tnn.Linear(2, 2), tnn.Linear(2, 3)])
    for ml in (ours, theirs):
        ml.append(type(ml[0])(3, 3))
        ml.insert(1, type(ml[0])(2, 4))
        del ml[0]
        ml[0] = type(ml[0])(5, 5)
        ml.extend([type(ml[0])(1, 1)])
    assert [tuple(m.weight.shape) for m in ours] == [tuple(m.weight.shape) for m in theirs]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert isinstance(ours[1:3], nn.ModuleList) and len(ours[1:3]) == 2
    with pytest.raises(IndexError):
        ours[10]


# ============================================================================================
# Module API: names, state, moving
# ============================================================================================
class Net(nn.Module):
    """Parameters directly, in a plain list, a plain dict, a ModuleList and a Sequential."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(pg.ones(2))
        self.embed = nn.Embedding(10, 4)
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.LayerNorm(4)])
        self.extra = [nn.Linear(4, 4)]
        self.heads = {"a": nn.Linear(4, 2), "b": nn.Linear(4, 2, bias=False)}
        self.bn = nn.BatchNorm1d(2)
        self.constant = pg.ones(3)  # not a parameter: no requires_grad

    def forward(self, idx):
        h = self.embed(idx)
        for block in self.blocks:
            h = block(h)
        h = self.extra[0](h).tanh()
        return self.bn(self.heads["a"](h) + self.heads["b"](h)) * self.scale


class TorchNet(tnn.Module):
    def __init__(self):
        super().__init__()
        self.scale = tnn.Parameter(torch.ones(2))
        self.embed = tnn.Embedding(10, 4)
        self.blocks = tnn.ModuleList([tnn.Linear(4, 4), tnn.LayerNorm(4)])
        self.extra = tnn.ModuleList([tnn.Linear(4, 4)])
        self.heads = tnn.ModuleDict({"a": tnn.Linear(4, 2), "b": tnn.Linear(4, 2, bias=False)})
        self.bn = tnn.BatchNorm1d(2)

    def forward(self, idx):
        h = self.embed(idx)
        for block in self.blocks:
            h = block(h)
        h = self.extra[0](h).tanh()
        return self.bn(self.heads["a"](h) + self.heads["b"](h)) * self.scale


def test_names_order_and_training_match_torch():
    net, tnet = pair(Net, TorchNet)
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in tnet.named_parameters()]
    assert list(net.state_dict()) == list(tnet.state_dict())
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in tnet.named_buffers()]
    containers = ("extra", "heads")  # plain list and dict here, ModuleList/ModuleDict there
    assert [n for n, _ in net.named_modules()] == [
        n for n, _ in tnet.named_modules() if n not in containers
    ]
    assert [n for n, _ in net.named_children()] == [
        "embed",
        "blocks",
        "extra.0",
        "heads.a",
        "heads.b",
        "bn",
    ]
    for _ in range(2):
        net.zero_grad()
        tnet.zero_grad()
        run_both(net, tnet, np.array([1, 4, 4, 9, 0]))
    assert_close(net.bn.running_var, tnet.bn.running_var)


def test_shared_and_frozen_parameters_follow_torch():
    def build(lib):
        enc, dec = lib.Linear(3, 3), lib.Linear(3, 3)
        dec.weight = enc.weight  # tied
        return lib.Sequential(enc, lib.Tanh(), dec)

    model, tmodel = build(nn), build(tnn)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in tmodel.named_parameters()]
    assert list(model.state_dict()) == list(tmodel.state_dict())
    model[0].bias.requires_grad_(False)
    assert len(list(model.parameters())) == 3  # a frozen Parameter is still a parameter
    assert "0.bias" in model.state_dict()


def test_what_counts_as_a_parameter():
    m = nn.Module()
    m.w = pg.ones(2, requires_grad=True)  # a leaf that requires grad
    m.c = pg.ones(2)  # a constant
    m.derived = m.w * 2  # not a leaf
    m.nested = ({"x": pg.zeros(1, requires_grad=True)},)
    m.register_buffer("buf", pg.zeros(2))
    m.register_buffer("scratch", pg.zeros(2), persistent=False)
    assert [n for n, _ in m.named_parameters()] == ["w", "nested.0.x"]
    assert [n for n, _ in m.named_buffers()] == ["buf", "scratch"]
    assert list(m.state_dict()) == ["w", "nested.0.x", "buf"]
    m.buf = pg.ones(2)  # re-assigning keeps it a buffer
    assert_close(m.state_dict()["buf"], np.ones(2))


def test_back_reference_to_a_parent_is_harmless():
    parent = nn.Sequential(nn.Linear(2, 2))
    parent[0].owner = parent  # a cycle through attributes
    assert [n for n, _ in parent.named_parameters()] == ["0.weight", "0.bias"]
    assert list(parent.state_dict()) == ["0.weight", "0.bias"]
    assert "(owner): Sequential(...)" in repr(parent)


class Custom(nn.Module):
    """Subclass that forgets super().__init__(): still works."""

    def __init__(self):
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        return self.lin(x)


def test_subclass_without_super_init_still_works():
    m = Custom()
    assert [n for n, _ in m.named_parameters()] == ["lin.weight", "lin.bias"]
    assert m.training and not m.eval().training and not m.lin.training


def test_train_eval_zero_grad_requires_grad_apply():
    model = nn.MLP(3, [4], 2, dropout=0.5, batchnorm=True)
    assert all(m.training for m in model.modules())
    assert model.eval() is model and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model(pg.randn(5, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    for p in model.parameters():
        assert_close(p.grad, np.zeros(p.shape))
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "MLP" and seen.count("Linear") == 2


def test_repr_matches_torch():
    def build(lib):
        return lib.Sequential(
            lib.Conv2d(3, 8, 3, padding=1, groups=1),
            lib.Conv2d(8, 8, (3, 1), stride=2, dilation=2, groups=4, bias=False),
            lib.Flatten(),
            lib.Sequential(lib.Linear(4, 3), lib.BatchNorm1d(3), lib.GELU()),
            lib.Dropout(0.25),
            lib.LayerNorm((3,)),
            lib.Embedding(5, 2, padding_idx=0),
        )

    assert repr(build(nn)) == repr(build(tnn))


def test_parameter():
    data = pg.zeros(2, 3)
    p = nn.Parameter(data)
    assert isinstance(p, pg.Tensor) and p.requires_grad and p.is_leaf
    assert_on_backend(p)
    assert repr(p).startswith("Parameter containing:\n")
    assert not nn.Parameter(pg.ones(2), requires_grad=False).requires_grad
    y = (p * 2).sum()
    y.backward()
    assert_close(p.grad, np.full((2, 3), 2.0))
    assert type(p * 2) is pg.Tensor  # ops give plain tensors


def test_state_dict_round_trip():
    a = nn.MLP(3, [5], 2, batchnorm=True)
    a(pg.randn(6, 3))  # move the running statistics
    b = nn.MLP(3, [5], 2, batchnorm=True)
    params_before = list(b.parameters())
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert all(x is y for x, y in zip(b.parameters(), params_before))
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        assert_close(vb, va.numpy())
        assert vb.dtype == va.dtype
    a.eval()
    b.eval()
    x = pg.randn(4, 3)
    assert_close(b(x), a(x).numpy())
    # loading copies: changing the source afterwards does not change b
    init.zeros_(a[0].weight)
    assert float(pg.abs(b[0].weight).sum()) > 0


def test_state_dict_loads_from_host_arrays_and_other_backends():
    target = nn.Linear(3, 2)
    with pg.use_backend("numpy"):
        source = nn.Linear(3, 2)
    target.load_state_dict(source.state_dict())
    assert_close(target.weight, source.weight.numpy())
    host = {"weight": np.full((2, 3), 0.5), "bias": np.zeros(2)}
    target.load_state_dict(host)
    assert_close(target.weight, np.full((2, 3), 0.5))


def test_load_state_dict_errors_list_every_key_and_change_nothing():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    bad = dict(model.state_dict())
    del bad["0.bias"]
    del bad["1.running_var"]
    bad["2.weight"] = pg.zeros(2)
    bad["0.weight"] = pg.zeros(5, 3)
    bad["1.running_mean"] = pg.full((4,), 7.0)  # valid on its own, must not be applied
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(bad)
    msg = str(info.value)
    for key in (
        "0.bias",
        "1.running_var",
        "2.weight",
        "0.weight",
        "(5, 3)",
        "(4, 3)",
        "Sequential",
    ):
        assert key in msg, key
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    # strict=False loads what fits and reports the rest
    loose = {k: v for k, v in bad.items() if k != "0.weight"}
    result = model.load_state_dict(loose, strict=False)
    assert result.missing_keys == ["0.weight", "0.bias", "1.running_var"]
    assert result.unexpected_keys == ["2.weight"]
    assert_close(model[1].running_mean, np.full(4, 7.0))
    with pytest.raises(RuntimeError, match="size mismatch"):  # shapes are checked even then
        model.load_state_dict({"0.weight": pg.zeros(1, 1)}, strict=False)


def test_to_moves_parameters_and_buffers_keeping_identity():
    model = nn.MLP(3, [4], 2, batchnorm=True)
    params = list(model.parameters())
    model(pg.randn(5, 3)).sum().backward()
    values = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    assert model.to(backend="numpy") is model
    assert all(a is b for a, b in zip(model.parameters(), params))
    for p in model.parameters():
        assert p.backend == "numpy" and p.grad.backend == "numpy" and p.requires_grad
    assert model[1].running_mean.backend == "numpy"
    # a model on a backend other than the active one still runs: dropout, CE and init
    # create their arrays next to their inputs
    with pg.use_backend("numpy"):
        x, t = pg.randn(5, 3), pg.tensor([0, 1, 1, 0, 1])
    loss = F.cross_entropy(F.dropout(model(x), 0.5), t, label_smoothing=0.1)
    assert loss.backend == "numpy"
    init.kaiming_uniform_(model[0].weight)
    assert model[0].weight.backend == "numpy"
    model.load_state_dict({k: pg.tensor(v) for k, v in values.items()})
    model.to(backend=BACKEND.name, device=BACKEND.device)
    for p in model.parameters():
        assert_on_backend(p)
        assert_on_backend(p.grad)
    for k, v in model.state_dict().items():
        assert_close(v, values[k], rtol=0, atol=0)
    model.to(pg.float32)
    assert model[0].weight.dtype == pg.float32 and model[0].weight.grad.dtype == pg.float32
    assert model[1].num_batches_tracked.dtype == pg.int64
    assert model.double()[0].weight.dtype == pg.float64


# ============================================================================================
# clear errors
# ============================================================================================
def test_layer_shape_errors_name_the_layer_and_both_shapes():
    with pytest.raises(
        ValueError,
        match=r"Linear\(in_features=4, out_features=3, bias=True\): expected input with last "
        r"dimension 4, got shape \(2, 3\)",
    ):
        nn.Linear(4, 3)(pg.ones(2, 3))
    with pytest.raises(
        ValueError, match=r"Conv2d\(3, 8, kernel_size=\(3, 3\).*\(N, 3, H, W\).*\(1, 4, 8, 8\)"
    ):
        nn.Conv2d(3, 8, 3)(pg.ones(1, 4, 8, 8))
    with pytest.raises(ValueError, match=r"too small"):
        nn.Conv2d(3, 8, 3)(pg.ones(1, 3, 2, 2))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3,.*C=3, got shape \(4, 5\)"):
        nn.BatchNorm1d(3)(pg.ones(4, 5))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3,.*\(2, 3, 4\)"):
        nn.BatchNorm2d(3)(pg.ones(2, 3, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(pg.ones(1, 3))
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4,\).*\(4,\), got shape \(2, 5\)"):
        nn.LayerNorm(4)(pg.ones(2, 5))
    with pytest.raises(RuntimeError, match=r"MaxPool2d.*\(5, 5\)"):
        nn.MaxPool2d(2)(pg.ones(5, 5))
    with pytest.raises(ValueError, match="at most half"):
        nn.MaxPool2d(2, padding=2)(pg.ones(1, 1, 4, 4))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)


def test_cross_entropy_target_errors():
    logits = pg.randn(3, 5)
    with pytest.raises(RuntimeError, match=r"input's shape \(3, 5\), got \(3,\) of dtype float64"):
        nn.CrossEntropyLoss()(logits, pg.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(IndexError, match=r"\[-3, 7\] out of range for 5 classes"):
        nn.CrossEntropyLoss()(logits, pg.tensor([7, -3, 1]))
    # torch's error types: RuntimeError for another number of axes, ValueError for another
    # batch size, RuntimeError for the weight's shape and a float target of nll_loss
    with pytest.raises(RuntimeError, match=r"needs a target of shape \(3,\), got \(3, 1\)"):
        nn.CrossEntropyLoss()(logits, pg.tensor([[0], [1], [2]]))
    with pytest.raises(ValueError, match=r"needs a target of shape \(3,\), got \(4,\)"):
        nn.CrossEntropyLoss()(logits, pg.tensor([0, 1, 2, 3]))
    with pytest.raises(RuntimeError, match=r"weight must have shape \(5,\)"):
        nn.CrossEntropyLoss(weight=pg.ones(4))(logits, pg.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match=r"label_smoothing must be between 0.0 and 1.0"):
        nn.CrossEntropyLoss(label_smoothing=1.5)(logits, pg.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="target must be an integer tensor"):
        nn.NLLLoss()(logits, pg.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(IndexError, match="out of range"):
        nn.NLLLoss()(logits, pg.tensor([0, 5, 1]))
    # the ignore_index itself is not out of range
    assert np.isfinite(nn.CrossEntropyLoss(ignore_index=-1)(logits, pg.tensor([0, -1, 4])).item())


def test_other_input_errors():
    with pytest.raises(
        RuntimeError, match=r"Embedding\(10, 3\): expected an integer tensor.*float64"
    ):
        nn.Embedding(10, 3)(pg.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"Embedding\(10, 3\): expected an integer tensor.*list"):
        nn.Embedding(10, 3)([1, 2])
    with pytest.raises(IndexError, match=r"\[10, 12\] out of range for size 10"):
        nn.Embedding(10, 3)(pg.tensor([1, 10, 12]))
    with pytest.raises(
        ValueError, match=r"mse_loss: input of shape \(3, 1\) and target of shape \(3,\)"
    ):
        nn.MSELoss()(pg.ones(3, 1), pg.ones(3))
    with pytest.raises(TypeError, match="target must be a floating-point tensor"):
        nn.BCEWithLogitsLoss()(pg.ones(3), pg.tensor([1, 0, 1]))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', not 'avg'"):
        nn.L1Loss(reduction="avg")
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match="unknown activation 'swishy'"):
        nn.MLP(2, [3], 1, activation="swishy")
    with pytest.raises(TypeError, match="Parameter needs a polygrad Tensor"):
        nn.Parameter(np.ones(3))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.kaiming_uniform_(pg.empty(5))


# ============================================================================================
# init
# ============================================================================================
@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5, 5), (6, 2, 3), (4, 4, 1, 1)])
def test_fan_in_and_fan_out_match_torch(shape):
    expected = tnn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.calculate_fan_in_and_fan_out(pg.empty(shape)) == expected


@pytest.mark.parametrize(
    ("name", "param"),
    [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", math.sqrt(5)),
        ("selu", None),
    ],
)
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        tnn.init.calculate_gain(name, param), rel=1e-15
    )


def _torch_kaiming_std(shape, a, mode, nonlinearity):
    fan_in, fan_out = tnn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    fan = fan_in if mode == "fan_in" else fan_out
    return tnn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)


@pytest.mark.parametrize(
    ("shape", "a", "mode", "nonlinearity"),
    [((300, 200), math.sqrt(5), "fan_in", "leaky_relu"), ((64, 16, 3, 3), 0.0, "fan_out", "relu")],
)
def test_kaiming_statistics_and_bounds(shape, a, mode, nonlinearity):
    std = _torch_kaiming_std(shape, a, mode, nonlinearity)
    w = pg.empty(shape)
    assert init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlinearity) is w
    assert_on_backend(w)
    got = w.numpy()
    bound = math.sqrt(3.0) * std
    assert np.abs(got).max() <= bound and np.abs(got).max() > 0.99 * bound
    assert got.std() == pytest.approx(std, rel=0.03)
    init.kaiming_normal_(w, a=a, mode=mode, nonlinearity=nonlinearity)
    assert w.numpy().std() == pytest.approx(std, rel=0.03)
    assert abs(w.numpy().mean()) < 0.05 * std


def test_xavier_uniform_normal_uniform_normal_constant():
    w = pg.empty(400, 100)
    bound = math.sqrt(6 / 500) * 2.0
    got = init.xavier_uniform_(w, gain=2.0).numpy()
    assert np.abs(got).max() <= bound and np.abs(got).max() > 0.99 * bound
    assert init.xavier_normal_(w).numpy().std() == pytest.approx(math.sqrt(2 / 500), rel=0.03)
    got = init.uniform_(w, -1.0, 3.0).numpy()
    assert got.min() >= -1.0 and got.max() < 3.0 and got.mean() == pytest.approx(1.0, abs=0.03)
    got = init.normal_(w, 2.0, 0.5).numpy()
    assert got.mean() == pytest.approx(2.0, abs=0.01) and got.std() == pytest.approx(0.5, rel=0.03)
    assert_close(init.constant_(w, 0.25), np.full((400, 100), 0.25))
    assert_close(init.zeros_(w), np.zeros((400, 100)))
    assert_close(init.ones_(w), np.ones((400, 100)))
    assert init.kaiming_uniform_(pg.empty(0, 3)).shape == (0, 3)


def test_init_on_parameters_records_no_graph_and_keeps_dtype():
    p = nn.Parameter(pg.zeros(3, 4, dtype=pg.float32))
    init.normal_(p)
    assert p.is_leaf and p.requires_grad and p.grad_fn is None and p.dtype == pg.float32
    assert_on_backend(p)


@pytest.mark.parametrize(
    ("make", "fan_in"),
    [(lambda: nn.Linear(50, 400), 50), (lambda: nn.Conv2d(8, 300, 3, groups=2), 4 * 9)],
)
def test_default_init_of_linear_and_conv_follows_torch(make, fan_in):
    layer = make()
    assert init.calculate_fan_in_and_fan_out(layer.weight)[0] == fan_in
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) and the bias rule agree
    assert bound == pytest.approx(
        _torch_kaiming_std(tuple(layer.weight.shape), math.sqrt(5), "fan_in", "leaky_relu")
        * math.sqrt(3)
    )
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.abs(b).max() <= bound and np.abs(b).max() > 0.9 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)


def test_default_init_of_embedding_and_norms():
    w = nn.Embedding(500, 64).weight.numpy()
    assert abs(w.mean()) < 0.02 and w.std() == pytest.approx(1.0, rel=0.03)
    bn, ln = nn.BatchNorm1d(4), nn.LayerNorm(4)
    for m in (bn, ln):
        assert_close(m.weight, np.ones(4))
        assert_close(m.bias, np.zeros(4))
    assert_close(bn.running_mean, np.zeros(4))
    assert_close(bn.running_var, np.ones(4))


# ============================================================================================
# gradient clipping
# ============================================================================================
def _grads_pair():
    shapes = [(3, 4), (5,), (2, 2, 3)]
    values = [randn(*s) for s in shapes]
    grads = [randn(*s) for s in shapes]
    ours = [pg.tensor(v, requires_grad=True) for v in values]
    theirs = [torch.from_numpy(v.copy()).requires_grad_() for v in values]
    for p, t, g in zip(ours, theirs, grads):
        p.grad = pg.tensor(g)
        t.grad = torch.from_numpy(g.copy())
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = _grads_pair()
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = tnn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert_close(total, ttotal)
    for p, t in zip(ours, theirs):
        assert_close(p.grad, t.grad)


def test_clip_grad_norm_skips_missing_grads_and_checks_nonfinite():
    ours, _ = _grads_pair()
    ours[1].grad = None
    clip_grad_norm_(ours, 0.1)
    assert ours[1].grad is None
    ours[0].grad = pg.full((3, 4), float("inf"))
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    ours, theirs = _grads_pair()
    clip_grad_value_(ours, 0.7)
    tnn.utils.clip_grad_value_(theirs, 0.7)
    for p, t in zip(ours, theirs):
        assert_close(p.grad, t.grad)
        assert np.abs(p.grad.numpy()).max() <= 0.7


def test_module_to_takes_a_backend_name_positionally():
    import polygrad.nn as nn

    layer = nn.Linear(3, 2)
    w = layer.weight
    layer.to("torch")
    assert layer.weight is w and w.backend == "torch"
    out = layer(pg.ones(4, 3).to("torch"))
    assert out.backend == "torch" and out.shape == (4, 2)


@pytest.mark.parametrize("case", ["4-d", "empty rows", "empty features", "transposed view"])
def test_fused_linear_folds_leading_axes_like_torch(case):
    # the fused linear runs one matmul on the leading axes folded into rows, and unfolds
    shapes = {"4-d": ((2, 2, 3, 4), 4), "empty rows": ((2, 0, 4), 4),
              "empty features": ((2, 3, 0), 0), "transposed view": ((4, 3, 2), 4)}  # fmt: skip
    shape, features = shapes[case]
    x = torch.randn(*shape, dtype=torch.float64)
    if case == "transposed view":
        x = x.transpose(0, 2)
    x = x.requires_grad_()
    w = torch.randn(5, features, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, dtype=torch.float64, requires_grad=True)
    px, pw, pb = (from_torch(t.detach(), requires_grad=True) for t in (x, w, b))
    if case == "transposed view":
        px = from_torch(x.detach().transpose(0, 2).contiguous(), requires_grad=True)
        out = F.linear(pg.permute(px, (2, 1, 0)), pw, pb)
    else:
        out = F.linear(px, pw, pb)
    tout = TF.linear(x, w, b)
    g = torch.randn(tout.shape, dtype=torch.float64)
    out.backward(from_torch(g))
    tout.backward(g)
    assert_close(out, tout)
    grad_x = x.grad if case != "transposed view" else x.grad.transpose(0, 2)
    for mine, theirs in ((px, grad_x), (pw, w.grad), (pb, b.grad)):
        assert_close(mine.grad, theirs)


def test_fused_linear_matches_torch_for_batched_inputs_and_second_derivatives():
    from polygrad.testing import gradcheck, gradgradcheck

    x = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, dtype=torch.float64, requires_grad=True)
    g = torch.randn(2, 3, 5, dtype=torch.float64)
    px, pw, pb = (from_torch(t, requires_grad=True) for t in (x, w, b))
    out = F.linear(px, pw, pb)
    out.backward(from_torch(g))
    TF.linear(x, w, b).backward(g)
    assert_close(out, TF.linear(x, w, b))
    for mine, theirs in ((px, x), (pw, w), (pb, b)):
        assert_close(mine.grad, theirs.grad)
    small = [from_torch(t[:1, :2], requires_grad=True) for t in (x,)] + [pw, pb]
    assert gradcheck(lambda a, c, d: F.linear(a, c, d), small)
    assert gradgradcheck(lambda a, c, d: F.linear(a, c, d).tanh(), small)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(5,), (4, 5), (3, 5, 2, 3)])
def test_cross_entropy_with_class_probabilities_matches_torch(shape, reduction):
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape)
    axis = 0 if len(shape) == 1 else 1
    t = rng.random(shape)
    t /= t.sum(axis=axis, keepdims=True)
    w = rng.random(shape[axis]) + 0.5
    for kw in ({}, {"weight": w, "label_smoothing": 0.2}):
        a, ta = pg.tensor(x, requires_grad=True), pg.tensor(t, requires_grad=True)
        b, tb = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
        mine = nn.CrossEntropyLoss(reduction=reduction, **{
            k: (pg.tensor(v) if k == "weight" else v) for k, v in kw.items()})(a, ta)
        theirs = torch.nn.CrossEntropyLoss(reduction=reduction, **{
            k: (torch.tensor(v) if k == "weight" else v) for k, v in kw.items()})(b, tb)
        assert_close(mine, theirs, rtol=1e-12, atol=1e-13)
        (mine * mine).sum().backward()
        (theirs * theirs).sum().backward()
        assert_close(a.grad, b.grad, rtol=1e-11, atol=1e-13)
        assert_close(ta.grad, tb.grad, rtol=1e-11, atol=1e-13)
        # a target without a gradient takes the fused op: the same values and input gradient
        a2 = pg.tensor(x, requires_grad=True)
        fused = F.cross_entropy(a2, pg.tensor(t), reduction=reduction, **{
            k: (pg.tensor(v) if k == "weight" else v) for k, v in kw.items()})
        assert_close(fused, theirs, rtol=1e-12, atol=1e-13)
        (fused * fused).sum().backward()
        assert_close(a2.grad, b.grad, rtol=1e-11, atol=1e-13)
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point"):
        F.cross_entropy(pg.tensor(x), pg.tensor(t), ignore_index=1)
