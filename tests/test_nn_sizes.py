"""Sizes at the edges of nn against torch (float64): zero and bad layer sizes and window
arguments, an empty batch through every layer and loss, gradient clipping of zero, infinite
and missing gradients, and optimizers on zero-size parameters, missing gradients and bad options.

Every case runs the same code on torch and on polygrad and compares: the output, its gradient
and the parameters' gradients where torch computes them, or the type of the first error torch
raises (when the layer is built, or when it is called) where torch refuses.
"""

import math

import numpy as np
import pytest
import torch
from helpers import assert_close, from_torch

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F
import polygrad.optim as optim
from polygrad.nn.utils import clip_grad_norm_, clip_grad_value_

NAN, INF = math.nan, math.inf


def _attempt(fn):
    try:
        return fn(), None
    except Exception as e:  # the comparison is the point: any error type torch raises
        return None, e


def _same_nan_close(actual, expected):
    exp = expected.detach().numpy()
    np.testing.assert_array_equal(np.isnan(actual.numpy()), np.isnan(exp))
    assert_close(actual, expected, rtol=1e-12, atol=1e-12)


def _assert_same_error(ours, theirs, words=()):
    assert ours is not None, f"torch raised {type(theirs).__name__}: {theirs}; polygrad did not"
    assert isinstance(ours, type(theirs)), (
        f"polygrad raised {type(ours).__name__}: {ours}; torch {type(theirs).__name__}: {theirs}"
    )
    for word in words:
        assert word.lower() in str(ours).lower(), f"{word!r} not named in: {ours}"


def _input(shape, kind):
    if kind == "int":
        return torch.randint(0, 4, shape)
    return torch.randn(shape, dtype=torch.float64, requires_grad=True)


def _run_layer(make, shape, kind="float", words=(), train=True):
    """Build ``make(nn)`` on both sides and, if both build, run one forward and backward."""
    theirs, t_err = _attempt(lambda: make(torch.nn))
    ours, p_err = _attempt(lambda: make(nn))
    if t_err is None and shape is not None and theirs is not None:
        theirs = theirs.double().train(train)
        start = {k: v.clone() for k, v in theirs.state_dict().items()}
        xt = _input(shape, kind)
        yt, t_err = _attempt(lambda: theirs(xt))
    if t_err is not None:
        if p_err is None and shape is not None:  # torch refused the call; we must refuse too
            ours = ours.double().train(train)
            _, p_err = _attempt(lambda: ours(from_torch(xt, requires_grad=kind == "float")))
        _assert_same_error(p_err, t_err, words)
        return
    assert p_err is None, f"torch accepted; polygrad raised {type(p_err).__name__}: {p_err}"
    t_params = dict(theirs.named_parameters())
    assert {k: tuple(v.shape) for k, v in ours.named_parameters()} == {
        k: tuple(v.shape) for k, v in t_params.items()
    }
    if shape is None:
        return
    ours = ours.double().train(train)
    ours.load_state_dict({k: from_torch(v) for k, v in start.items()})
    x = from_torch(xt, requires_grad=kind == "float")
    y = ours(x)
    assert y.shape == tuple(yt.shape)
    _same_nan_close(y, yt)
    g = torch.randn(yt.shape, dtype=torch.float64)
    yt.backward(g)
    y.backward(from_torch(g, dtype=pg.float64))
    if kind == "float":
        _same_nan_close(x.grad, xt.grad)
    for name, p in ours.named_parameters():
        if t_params[name].grad is None:
            assert p.grad is None or not p.grad.numpy().any(), name
        else:
            _same_nan_close(p.grad, t_params[name].grad)
    for name, b in ours.named_buffers():
        if b is not None:
            np.testing.assert_allclose(b.numpy(), theirs.get_buffer(name).numpy(), rtol=1e-12)


# -- layer sizes: zero, negative, non-integer; window arguments -------------------------------
LAYERS = {
    # Linear: zero fan-in gives bias alone (torch's bound 0 makes that bias zero), zero fan-out
    # an empty output
    "linear-0-in": (lambda m: m.Linear(0, 3), (2, 0)),
    "linear-0-out": (lambda m: m.Linear(3, 0), (2, 3)),
    "linear-0-0": (lambda m: m.Linear(0, 0), (2, 0)),
    "linear-batch0": (lambda m: m.Linear(3, 4), (0, 3)),
    "linear-bool-in": (lambda m: m.Linear(True, 3), (2, 1)),
    "linear-numpy-int": (lambda m: m.Linear(np.int64(2), 3), (2, 2)),
    "linear-neg-in": (lambda m: m.Linear(-1, 3), None, ("Linear", "in_features", "-1")),
    "linear-neg-out": (lambda m: m.Linear(3, -1), None, ("Linear", "out_features", "-1")),
    "linear-float-in": (lambda m: m.Linear(2.5, 3), None, ("Linear", "in_features", "2.5")),
    "linear-float-out": (lambda m: m.Linear(3, 2.0), None, ("Linear", "out_features", "2.0")),
    "linear-str-in": (lambda m: m.Linear("2", 3), None, ("Linear", "in_features", "'2'")),
    # Conv2d
    "conv-0-in": (lambda m: m.Conv2d(0, 4, 3), (1, 0, 5, 5)),
    "conv-0-in-groups": (lambda m: m.Conv2d(0, 4, 3, groups=2), (2, 0, 5, 5)),
    "conv-0-in-unbatched": (lambda m: m.Conv2d(0, 4, 3), (0, 5, 5)),
    "conv-0-out": (lambda m: m.Conv2d(3, 0, 3), (1, 3, 5, 5), ("conv2d", "output channel")),
    "conv-0-0": (lambda m: m.Conv2d(0, 0, 3), (2, 0, 5, 5), ("conv2d",)),
    "conv-batch0": (lambda m: m.Conv2d(3, 4, 3), (0, 3, 5, 5)),
    "conv-kernel-gt-input": (lambda m: m.Conv2d(3, 4, 7), (1, 3, 5, 5), ("conv2d", "(7, 7)")),
    "conv-kernel-fits-padded": (lambda m: m.Conv2d(3, 4, 7, padding=1), (1, 3, 5, 5)),
    "conv-h0": (lambda m: m.Conv2d(3, 4, 3), (1, 3, 0, 5), ("conv2d", "(1, 3, 0, 5)")),
    "conv-h0-padded": (lambda m: m.Conv2d(3, 4, 3, padding=2), (1, 3, 0, 5), ("conv2d",)),
    "conv-same-even-kernel": (lambda m: m.Conv2d(3, 4, 2, padding="same"), (1, 3, 5, 5)),
    "conv-stride-1-tuple": (lambda m: m.Conv2d(3, 4, 3, stride=(2,)), (1, 3, 7, 7)),
    "conv-kernel-0": (lambda m: m.Conv2d(3, 4, 0), (1, 3, 5, 5), ("Conv2d", "kernel_size", "0")),
    "conv-kernel-3-0": (lambda m: m.Conv2d(3, 4, (3, 0)), (1, 3, 5, 5), ("kernel_size", "(3, 0)")),
    "conv-kernel-neg": (lambda m: m.Conv2d(3, 4, -1), None, ("Conv2d", "kernel_size", "-1")),
    "conv-kernel-float": (lambda m: m.Conv2d(3, 4, 2.5), None, ("Conv2d", "kernel_size", "2.5")),
    "conv-kernel-3d": (lambda m: m.Conv2d(3, 4, (3, 3, 3)), (1, 3, 5, 5), ("kernel_size",)),
    "conv-stride-0": (lambda m: m.Conv2d(3, 4, 3, stride=0), (1, 3, 5, 5), ("stride", "0")),
    "conv-stride-neg": (lambda m: m.Conv2d(3, 4, 3, stride=-1), (1, 3, 5, 5), ("stride", "-1")),
    "conv-stride-float": (lambda m: m.Conv2d(3, 4, 3, stride=1.5), (1, 3, 5, 5), ("stride", "1.5")),
    "conv-padding-neg": (lambda m: m.Conv2d(3, 4, 3, padding=-1), (1, 3, 5, 5), ("padding", "-1")),
    "conv-padding-float": (lambda m: m.Conv2d(3, 4, 3, padding=1.5), (1, 3, 5, 5), ("padding",)),
    "conv-dilation-0": (lambda m: m.Conv2d(3, 4, 3, dilation=0), (1, 3, 5, 5), ("dilation", "0")),
    "conv-groups-0": (lambda m: m.Conv2d(3, 4, 3, groups=0), None, ("Conv2d", "groups", "0")),
    "conv-groups-neg": (lambda m: m.Conv2d(3, 4, 3, groups=-1), None, ("groups", "-1")),
    "conv-groups-indivisible": (lambda m: m.Conv2d(3, 4, 3, groups=2), None, ("groups=2",)),
    "conv-in-neg": (lambda m: m.Conv2d(-1, 4, 3), None, ("Conv2d", "in_channels", "-1")),
    "conv-out-neg": (lambda m: m.Conv2d(3, -4, 3), None, ("Conv2d", "out_channels", "-4")),
    "conv-in-float-indivisible": (lambda m: m.Conv2d(2.5, 4, 3), None, ("in_channels=2.5",)),
    "conv-in-float-divisible": (lambda m: m.Conv2d(3.0, 4, 3), None, ("in_channels", "3.0")),
    "conv-padding-str": (lambda m: m.Conv2d(3, 4, 3, padding="foo"), None, ("'foo'",)),
    "conv-same-strided": (lambda m: m.Conv2d(3, 4, 3, padding="same", stride=2), None, ("same",)),
    # Embedding
    "embedding-0-rows": (lambda m: m.Embedding(0, 3), (2, 0), "int"),
    "embedding-0-dim": (lambda m: m.Embedding(5, 0), (2, 3), "int"),
    "embedding-batch0": (lambda m: m.Embedding(5, 3), (0,), "int"),
    "embedding-pick-from-0-rows": (lambda m: m.Embedding(0, 3), (2,), "int", ("embedding",)),
    "embedding-neg-rows": (lambda m: m.Embedding(-1, 3), None, "int", ("num_embeddings", "-1")),
    "embedding-neg-dim": (lambda m: m.Embedding(5, -3), None, "int", ("embedding_dim", "-3")),
    "embedding-float-rows": (lambda m: m.Embedding(2.5, 3), None, "int", ("num_embeddings",)),
    "embedding-float-dim": (lambda m: m.Embedding(5, 2.5), None, "int", ("embedding_dim", "2.5")),
    "embedding-pad-high": (lambda m: m.Embedding(5, 3, padding_idx=5), None, "int", ("=5",)),
    "embedding-pad-low": (lambda m: m.Embedding(5, 3, padding_idx=-6), None, "int", ("=-6",)),
    "embedding-pad-0-rows": (lambda m: m.Embedding(0, 3, padding_idx=0), None, "int", ("=0",)),
    # BatchNorm and LayerNorm
    "batchnorm-0": (lambda m: m.BatchNorm1d(0), (4, 0), "float", ("batch_norm", "(4, 0)")),
    "batchnorm-neg": (lambda m: m.BatchNorm1d(-1), None, ("BatchNorm1d", "num_features", "-1")),
    "batchnorm-float": (lambda m: m.BatchNorm1d(2.5), None, ("BatchNorm1d", "num_features")),
    "batchnorm-batch0": (lambda m: m.BatchNorm1d(3), (0, 3)),
    "batchnorm-length0": (lambda m: m.BatchNorm1d(3), (2, 3, 0)),
    "batchnorm-batch0-cumulative": (lambda m: m.BatchNorm1d(3, momentum=None), (0, 3)),
    "batchnorm-batch0-untracked": (lambda m: m.BatchNorm1d(3, track_running_stats=False), (0, 3)),
    "batchnorm2d-batch0": (lambda m: m.BatchNorm2d(3), (0, 3, 2, 2)),
    "batchnorm-one-value": (lambda m: m.BatchNorm1d(3), (1, 3), "float", ("more than 1",)),
    "layernorm-0": (lambda m: m.LayerNorm(0), (4, 0)),
    "layernorm-2-0": (lambda m: m.LayerNorm((2, 0)), (3, 2, 0)),
    "layernorm-batch0": (lambda m: m.LayerNorm(3), (0, 3)),
    "layernorm-neg": (lambda m: m.LayerNorm(-1), None, ("LayerNorm", "normalized_shape", "-1")),
    "layernorm-float": (lambda m: m.LayerNorm(2.5), None, ("LayerNorm", "normalized_shape")),
    # Dropout (p = 1 and empty batches are deterministic, so they compare)
    "dropout-neg": (lambda m: m.Dropout(-0.1), None, ("Dropout", "-0.1")),
    "dropout-above-1": (lambda m: m.Dropout(1.1), None, ("Dropout", "1.1")),
    "dropout-str": (lambda m: m.Dropout("a"), None, ("Dropout", "'a'")),
    "dropout-nan": (lambda m: m.Dropout(NAN), (3,), "float", ("dropout", "nan")),
    "dropout-1": (lambda m: m.Dropout(1.0), (3,)),
    "dropout-true": (lambda m: m.Dropout(True), (3,)),
    "dropout-batch0": (lambda m: m.Dropout(0.5), (0, 3)),
}
for pool in ("MaxPool2d", "AvgPool2d"):
    p = pool.lower()
    LAYERS |= {
        f"{p}-kernel-0": (lambda m, P=pool: getattr(m, P)(0), (1, 1, 4, 4), ("kernel_size", "0")),
        f"{p}-kernel-0-stride-1": (
            lambda m, P=pool: getattr(m, P)(0, stride=1),
            (1, 1, 4, 4),
            ("kernel_size", "0"),
        ),
        f"{p}-kernel-neg": (lambda m, P=pool: getattr(m, P)(-1, 1), (1, 1, 4, 4), ("-1",)),
        f"{p}-kernel-float": (lambda m, P=pool: getattr(m, P)(2.5), (1, 1, 4, 4), ("2.5",)),
        f"{p}-stride-0": (lambda m, P=pool: getattr(m, P)(2, 0), (1, 1, 4, 4), ("stride", "0")),
        f"{p}-stride-neg": (lambda m, P=pool: getattr(m, P)(2, -1), (1, 1, 4, 4), ("stride",)),
        f"{p}-padding-neg": (
            lambda m, P=pool: getattr(m, P)(2, padding=-1),
            (1, 1, 4, 4),
            ("padding", "-1"),
        ),
        f"{p}-padding-above-half": (
            lambda m, P=pool: getattr(m, P)(2, padding=2),
            (1, 1, 4, 4),
            ("padding", "half"),
        ),
        f"{p}-kernel-gt-input": (lambda m, P=pool: getattr(m, P)(5), (1, 1, 4, 4), ("small",)),
        f"{p}-batch0": (lambda m, P=pool: getattr(m, P)(2), (0, 1, 4, 4)),
        f"{p}-c0": (lambda m, P=pool: getattr(m, P)(2), (1, 0, 4, 4), ("(1, 0, 4, 4)",)),
        f"{p}-c0-unbatched": (lambda m, P=pool: getattr(m, P)(2), (0, 4, 4), ("(0, 4, 4)",)),
        f"{p}-h0": (lambda m, P=pool: getattr(m, P)(2), (1, 1, 0, 4), ("(1, 1, 0, 4)",)),
    }
LAYERS["maxpool2d-dilation-0"] = (
    lambda m: m.MaxPool2d(2, dilation=0),
    (1, 1, 4, 4),
    ("dilation", "0"),
)
LAYERS["avgpool2d-divisor-0"] = (
    lambda m: m.AvgPool2d(2, divisor_override=0),
    (1, 1, 4, 4),
    ("divisor_override",),
)
for name, make in {
    "relu": lambda m: m.ReLU(),
    "leakyrelu": lambda m: m.LeakyReLU(0.2),
    "tanh": lambda m: m.Tanh(),
    "sigmoid": lambda m: m.Sigmoid(),
    "gelu": lambda m: m.GELU(),
    "softplus": lambda m: m.Softplus(),
    "softmax": lambda m: m.Softmax(dim=1),
    "logsoftmax": lambda m: m.LogSoftmax(dim=1),
    "flatten": lambda m: m.Flatten(),
    "identity": lambda m: m.Identity(),
}.items():
    LAYERS[f"{name}-batch0"] = (make, (0, 3, 2))
    LAYERS[f"{name}-features0"] = (make, (2, 0, 2))


def _unpack(case):
    make, shape, *rest = case
    kind = rest[0] if rest and isinstance(rest[0], str) else "float"
    words = rest[-1] if rest and isinstance(rest[-1], tuple) else ()
    return make, shape, kind, words


@pytest.mark.parametrize("case", list(LAYERS), ids=list(LAYERS))
def test_layer_sizes_match_torch(case):
    make, shape, kind, words = _unpack(LAYERS[case])
    _run_layer(make, shape, kind, words)


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda m: m.BatchNorm1d(3), (0, 3)),
        (lambda m: m.BatchNorm2d(3), (0, 3, 2, 2)),
        (lambda m: m.BatchNorm1d(0), (4, 0)),
        (lambda m: m.Dropout(0.5), (0, 3)),
    ],
)
def test_layers_in_eval_mode_match_torch(make, shape):
    _run_layer(make, shape, train=False)


def test_zero_fan_in_initializes_as_torch():
    """Linear(0, n) and Conv2d(0, ...): the bias bound 1/sqrt(fan_in) is 0 there, so the bias
    starts at zero and the forward gives zeros (torch's init)."""
    for layer in (nn.Linear(0, 3), nn.Conv2d(0, 4, 3)):
        assert not layer.bias.numpy().any()
    out = nn.Linear(0, 3)(pg.zeros(2, 0))
    assert out.shape == (2, 3) and not out.numpy().any()


@pytest.mark.parametrize("p", [-0.1, 1.5, NAN])
@pytest.mark.parametrize("training", [True, False])
def test_functional_dropout_refuses_as_torch(p, training):
    _, theirs = _attempt(lambda: torch.nn.functional.dropout(torch.ones(3), p, training))
    _, ours = _attempt(lambda: F.dropout(pg.ones(3), p, training))
    _assert_same_error(ours, theirs, ("dropout", str(p)))


FUNCTIONAL = {
    "conv2d-stride-0": (lambda f, x, w: f.conv2d(x, w, stride=0), ("conv2d", "stride")),
    "conv2d-stride-3": (lambda f, x, w: f.conv2d(x, w, stride=(1, 1, 1)), ("stride",)),
    "conv2d-padding-neg": (lambda f, x, w: f.conv2d(x, w, padding=-1), ("padding", "-1")),
    "conv2d-padding-float": (lambda f, x, w: f.conv2d(x, w, padding=1.5), ("padding", "1.5")),
    "conv2d-dilation-0": (lambda f, x, w: f.conv2d(x, w, dilation=0), ("dilation", "0")),
    "conv2d-dilation-neg": (lambda f, x, w: f.conv2d(x, w, dilation=-1), ("dilation", "-1")),
    "conv2d-kernel-0": (lambda f, x, w: f.conv2d(x, w[:, :, :0]), ("conv2d", "kernel")),
    "conv2d-no-out": (lambda f, x, w: f.conv2d(x, w[:0]), ("conv2d", "output channel")),
    "conv2d-channels": (lambda f, x, w: f.conv2d(x[:, :2], w), ("conv2d", "channels")),
    "max_pool2d-kernel-0": (lambda f, x, w: f.max_pool2d(x, 0, 1), ("max_pool2d", "kernel")),
    "max_pool2d-stride-0": (lambda f, x, w: f.max_pool2d(x, 2, 0), ("max_pool2d", "stride")),
    "max_pool2d-padding": (lambda f, x, w: f.max_pool2d(x, 2, 2, -1), ("padding", "-1")),
    "max_pool2d-dilation": (lambda f, x, w: f.max_pool2d(x, 2, 2, 0, 0), ("dilation", "0")),
    "max_pool2d-too-small": (lambda f, x, w: f.max_pool2d(x, 6), ("max_pool2d", "small")),
    "avg_pool2d-kernel-0": (lambda f, x, w: f.avg_pool2d(x, 0, 1), ("avg_pool2d", "kernel")),
    "avg_pool2d-stride-neg": (lambda f, x, w: f.avg_pool2d(x, 2, -1), ("stride", "-1")),
    "avg_pool2d-divisor-0": (
        lambda f, x, w: f.avg_pool2d(x, 2, divisor_override=0),
        ("divisor_override",),
    ),
    "avg_pool2d-kernel-float": (lambda f, x, w: f.avg_pool2d(x, 2.5), ("kernel_size", "2.5")),
}


@pytest.mark.parametrize("case", list(FUNCTIONAL))
def test_functional_window_arguments_are_refused_as_torch(case):
    """The functional forms check the same arguments the layers do, when called."""
    fn, words = FUNCTIONAL[case]
    xt, wt = torch.randn(1, 3, 5, 5, dtype=torch.float64), torch.randn(4, 3, 3, 3).double()
    _, theirs = _attempt(lambda: fn(torch.nn.functional, xt, wt))
    assert theirs is not None
    _, ours = _attempt(lambda: fn(F, from_torch(xt), from_torch(wt)))
    _assert_same_error(ours, theirs, words)


# -- an empty batch through every loss ---------------------------------------------------------
def _classes(n, c=3):
    return torch.randint(0, c, (n,))


LOSSES = {
    "mse_loss": lambda f, x, y, **k: f.mse_loss(x, y.float_target, **k),
    "l1_loss": lambda f, x, y, **k: f.l1_loss(x, y.float_target, **k),
    "binary_cross_entropy": lambda f, x, y, **k: f.binary_cross_entropy(
        y.sigmoid(x), y.prob_target, **k
    ),
    "binary_cross_entropy-weight": lambda f, x, y, **k: f.binary_cross_entropy(
        y.sigmoid(x), y.prob_target, weight=y.weight3, **k
    ),
    "binary_cross_entropy_with_logits": lambda f, x, y, **k: f.binary_cross_entropy_with_logits(
        x, y.prob_target, **k
    ),
    "bce_with_logits-pos_weight": lambda f, x, y, **k: f.binary_cross_entropy_with_logits(
        x, y.prob_target, pos_weight=y.weight3, **k
    ),
    "cross_entropy": lambda f, x, y, **k: f.cross_entropy(x, y.classes, **k),
    "cross_entropy-weight": lambda f, x, y, **k: f.cross_entropy(
        x, y.classes, weight=y.weight3, **k
    ),
    "cross_entropy-smoothing": lambda f, x, y, **k: f.cross_entropy(
        x, y.classes, label_smoothing=0.1, **k
    ),
    "cross_entropy-weight-smoothing": lambda f, x, y, **k: f.cross_entropy(
        x, y.classes, weight=y.weight3, label_smoothing=0.1, **k
    ),
    "nll_loss": lambda f, x, y, **k: f.nll_loss(x, y.classes, **k),
    "nll_loss-weight": lambda f, x, y, **k: f.nll_loss(x, y.classes, weight=y.weight3, **k),
}


class _Targets:
    """The same targets on one side: torch tensors, or polygrad copies of them."""

    def __init__(self, n, convert, sigmoid, targets=None):
        self.classes = convert(_classes(n) if targets is None else targets)
        self.float_target = convert(torch.randn(n, 3, dtype=torch.float64))
        self.prob_target = convert(torch.rand(n, 3, dtype=torch.float64))
        self.weight3 = convert(torch.rand(3, dtype=torch.float64) + 0.5)
        self.sigmoid = sigmoid


def _both_losses(which, n, reduction, targets=None):
    state = torch.get_rng_state()
    xt = torch.randn(n, 3, dtype=torch.float64, requires_grad=True)
    tt = _Targets(n, lambda a: a, torch.sigmoid, targets)
    torch.set_rng_state(state)
    xt_again = torch.randn(n, 3, dtype=torch.float64)
    pt = _Targets(n, from_torch, pg.sigmoid, targets)
    x = from_torch(xt_again, requires_grad=True)
    theirs = LOSSES[which](torch.nn.functional, xt, tt, reduction=reduction)
    ours = LOSSES[which](F, x, pt, reduction=reduction)
    return ours, theirs, x, xt


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("which", list(LOSSES))
def test_losses_over_an_empty_batch_match_torch(which, reduction):
    """torch: mean over nothing is nan, a sum 0, 'none' an empty tensor; the gradient is empty."""
    ours, theirs, x, xt = _both_losses(which, 0, reduction)
    assert ours.shape == tuple(theirs.shape)
    _same_nan_close(ours, theirs)
    g = torch.randn(theirs.shape, dtype=torch.float64)
    theirs.backward(g)
    ours.backward(from_torch(g, dtype=pg.float64))
    _same_nan_close(x.grad, xt.grad)
    if reduction == "mean":
        assert math.isnan(ours.item())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("which", [k for k in LOSSES if k.startswith(("cross", "nll"))])
def test_losses_with_every_target_ignored_match_torch(which, reduction):
    """Every target is ignore_index: a mean of nan whose gradient is zero, as torch's."""
    ours, theirs, x, xt = _both_losses(which, 4, reduction, targets=torch.full((4,), -100))
    _same_nan_close(ours, theirs)
    g = torch.randn(theirs.shape, dtype=torch.float64)
    theirs.backward(g)
    ours.backward(from_torch(g, dtype=pg.float64))
    _same_nan_close(x.grad, xt.grad)


MODULE_LOSSES = [
    (lambda m: m.MSELoss(), "float"),
    (lambda m: m.L1Loss(), "float"),
    (lambda m: m.BCEWithLogitsLoss(), "prob"),
    (lambda m: m.CrossEntropyLoss(), "class"),
    (lambda m: m.CrossEntropyLoss(label_smoothing=0.2), "class"),
    (lambda m: m.NLLLoss(), "class"),
]


@pytest.mark.parametrize(("make", "target"), MODULE_LOSSES)
def test_loss_modules_over_an_empty_batch_match_torch(make, target):
    xt = torch.randn(0, 3, dtype=torch.float64, requires_grad=True)
    tt = {"float": torch.randn(0, 3, dtype=torch.float64), "prob": torch.rand(0, 3).double()}
    tt = tt.get(target, torch.zeros(0, dtype=torch.int64))
    theirs = make(torch.nn)(xt, tt)
    x = from_torch(xt, requires_grad=True)
    ours = make(nn)(x, from_torch(tt))
    _same_nan_close(ours, theirs)
    theirs.backward()
    ours.backward()
    _same_nan_close(x.grad, xt.grad)


# -- clip_grad_norm_ and clip_grad_value_ -----------------------------------------------------
def _params(grads, lib):
    """One float64 parameter per entry of ``grads`` (a list of numbers, or None: no gradient)."""
    out = []
    for g in grads:
        n = 2 if g is None else len(g)
        if lib == "torch":
            p = torch.zeros(n, dtype=torch.float64, requires_grad=True)
            p.grad = None if g is None else torch.tensor(g, dtype=torch.float64)
        else:
            p = pg.zeros(n, dtype=pg.float64, requires_grad=True)
            p.grad = None if g is None else pg.tensor(g, dtype=pg.float64)
        out.append(p)
    return out


def _compare_grads(ours, theirs):
    for p, q in zip(ours, theirs):
        if q.grad is None:
            assert p.grad is None
        else:
            _same_nan_close(p.grad, q.grad)


CLIP_NORM = {
    "zero-grads": ([[0.0, 0.0]], {}),
    "no-grads": ([None, None], {}),
    "some-without-grad": ([[3.0, 4.0], None, [1.0, -2.0]], {}),
    "empty-grad": ([[], [3.0, 4.0]], {}),
    "only-empty-grad": ([[]], {}),
    "inf-grad": ([[INF, 1.0], [2.0, 0.0]], {}),
    "nan-grad": ([[NAN, 1.0]], {}),
    "inf-grad-error": ([[INF, 1.0]], {"error_if_nonfinite": True}),
    "nan-grad-error": ([[NAN, 1.0]], {"error_if_nonfinite": True}),
    "finite-error-flag": ([[3.0, 4.0]], {"error_if_nonfinite": True}),
    "norm-inf": ([[3.0, -4.0], [1.0, 2.0]], {"norm_type": INF}),
    "norm-inf-str": ([[3.0, -4.0], [1.0, 2.0]], {"norm_type": "inf"}),
    "norm-inf-nonfinite": ([[INF, -4.0]], {"norm_type": INF}),
    "norm-inf-error": ([[-INF, -4.0]], {"norm_type": INF, "error_if_nonfinite": True}),
    "norm-minus-inf": ([[3.0, -4.0], [1.0, 2.0]], {"norm_type": -INF}),
    "norm-0": ([[3.0, 0.0], [1.0, 2.0]], {"norm_type": 0}),
    "norm-1": ([[3.0, -4.0], [1.0, 2.0]], {"norm_type": 1}),
    "norm-3": ([[3.0, -4.0], [1.0, 2.0]], {"norm_type": 3.0}),
    "foreach-true": ([[3.0, 4.0], [1.0, 1.0]], {"foreach": True}),
    "foreach-false": ([[3.0, 4.0], [1.0, 1.0]], {"foreach": False}),
    "max-norm-0": ([[3.0, 4.0]], {"max_norm": 0.0}),
    "max-norm-negative": ([[3.0, 4.0]], {"max_norm": -1.0}),
    "max-norm-inf": ([[3.0, 4.0]], {"max_norm": INF}),
    "max-norm-nan": ([[3.0, 4.0]], {"max_norm": NAN}),
    "max-norm-str": ([[3.0, 4.0]], {"max_norm": "a"}),
    "norm-type-str": ([[3.0, 4.0]], {"norm_type": "fro"}),
}


@pytest.mark.parametrize("case", list(CLIP_NORM))
def test_clip_grad_norm_matches_torch(case):
    grads, kwargs = CLIP_NORM[case]
    kwargs = {"max_norm": 1.0, **kwargs}
    theirs, ours = _params(grads, "torch"), _params(grads, "pg")
    t_norm, t_err = _attempt(lambda: torch.nn.utils.clip_grad_norm_(theirs, **kwargs))
    p_norm, p_err = _attempt(lambda: clip_grad_norm_(ours, **kwargs))
    if t_err is not None:
        _assert_same_error(p_err, t_err)
    else:
        assert p_err is None, p_err
        assert p_norm.shape == ()
        np.testing.assert_allclose(p_norm.item(), t_norm.item(), rtol=1e-12)
    _compare_grads(ours, theirs)  # untouched when torch refuses, clipped otherwise


def test_clip_grad_norm_accepts_what_torch_accepts():
    """A single tensor, a generator, float32 and float64 gradients together (float64 norm),
    and no parameters at all (a float32 zero); the gradient objects are scaled in place."""
    a = pg.zeros(2, requires_grad=True)
    a.grad = pg.tensor([3.0, 4.0])
    held = a.grad
    assert clip_grad_norm_(a, 1.0).item() == pytest.approx(5.0)
    assert a.grad is held
    np.testing.assert_allclose(held.numpy(), [0.6, 0.8], rtol=1e-5)
    b = pg.zeros(2, dtype=pg.float64, requires_grad=True)
    b.grad = pg.tensor([3.0, 4.0], dtype=pg.float64)
    a.grad = pg.tensor([3.0, 4.0])
    total = clip_grad_norm_((p for p in (a, b)), 1.0)
    ta, tb = torch.zeros(2, requires_grad=True), torch.zeros(2, dtype=torch.float64)
    tb.requires_grad_()
    ta.grad, tb.grad = torch.tensor([3.0, 4.0]), torch.tensor([3.0, 4.0], dtype=torch.float64)
    expected = torch.nn.utils.clip_grad_norm_((p for p in (ta, tb)), 1.0)
    assert total.dtype == pg.float64 and expected.dtype == torch.float64
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-12)
    empty = clip_grad_norm_([], 1.0)
    assert empty.dtype == pg.float32 and empty.item() == 0.0


CLIP_VALUE = {
    "basic": ([[3.0, -4.0, 0.5], None], 1.0, {}),
    "inf-nan": ([[INF, NAN, -INF]], 1.0, {}),
    "zero": ([[3.0, -4.0]], 0.0, {}),
    "negative": ([[3.0, -4.0]], -1.0, {}),
    "int-value": ([[3.0, -4.0]], 1, {}),
    "empty-grad": ([[]], 1.0, {}),
    "foreach": ([[3.0, -4.0]], 1.0, {"foreach": True}),
    "str-value": ([[3.0, -4.0]], "a", {}),
    "none-value": ([[3.0, -4.0]], None, {}),
}


@pytest.mark.parametrize("case", list(CLIP_VALUE))
def test_clip_grad_value_matches_torch(case):
    grads, value, kwargs = CLIP_VALUE[case]
    theirs, ours = _params(grads, "torch"), _params(grads, "pg")
    held = [p.grad for p in ours]
    _, t_err = _attempt(lambda: torch.nn.utils.clip_grad_value_(theirs, value, **kwargs))
    _, p_err = _attempt(lambda: clip_grad_value_(ours, value, **kwargs))
    if t_err is not None:
        _assert_same_error(p_err, t_err)
    else:
        assert p_err is None, p_err
        assert all(p.grad is g for p, g in zip(ours, held))  # in place, as torch
    _compare_grads(ours, theirs)


# -- optimizers --------------------------------------------------------------------------------
OPTIMIZERS = {
    "sgd": ("SGD", {"lr": 0.1}),
    "sgd-momentum": ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1}),
    "sgd-nesterov-wd": ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    "adam": ("Adam", {"lr": 0.1}),
    "adam-amsgrad-wd": ("Adam", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1}),
    "adamw": ("AdamW", {"lr": 0.1, "weight_decay": 0.1}),
    "rmsprop": ("RMSprop", {"lr": 0.01}),
    "rmsprop-centered-momentum": ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
}


@pytest.mark.parametrize("case", list(OPTIMIZERS))
def test_optimizers_on_empty_parameters_and_missing_grads_match_torch(case):
    """Parameters of size 0 (with and without a gradient) and one that never gets a gradient
    beside ordinary ones: three steps give torch's values and the same parameters hold state."""
    name, kwargs = OPTIMIZERS[case]
    shapes = [(0,), (3,), (2,), (0, 3), (2, 2)]
    no_grad = {2, 3}
    init = [torch.randn(s, dtype=torch.float64) for s in shapes]
    theirs = [t.clone().requires_grad_() for t in init]
    ours = [from_torch(t, requires_grad=True) for t in init]
    t_opt = getattr(torch.optim, name)(theirs, **kwargs)
    p_opt = getattr(optim, name)(ours, **kwargs)
    for _ in range(3):
        for i, (p, q) in enumerate(zip(ours, theirs)):
            g = None if i in no_grad else torch.randn(q.shape, dtype=torch.float64)
            q.grad = g
            p.grad = None if g is None else from_torch(g)
        t_opt.step()
        p_opt.step()
    for p, q in zip(ours, theirs):
        assert_close(p, q.detach(), rtol=1e-12)
    with_state = [i for i, q in enumerate(theirs) if t_opt.state.get(q)]
    assert [i for i, p in enumerate(ours) if p_opt.state.get(p)] == with_state


BAD_OPTIONS = [
    ("SGD", {"lr": -0.1}),
    ("SGD", {"lr": NAN}),
    ("SGD", {"momentum": -0.5}),
    ("SGD", {"weight_decay": -1.0}),
    ("SGD", {"nesterov": True}),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("SGD", {"momentum": 0.9, "dampening": -0.5}),
    ("Adam", {"lr": -1e-3}),
    ("Adam", {"betas": (1.0, 0.999)}),
    ("Adam", {"betas": (0.9, 1.0)}),
    ("Adam", {"betas": (-0.1, 0.999)}),
    ("Adam", {"betas": (0.9, -0.1)}),
    ("Adam", {"betas": (NAN, 0.999)}),
    ("Adam", {"eps": -1e-8}),
    ("Adam", {"weight_decay": -0.1}),
    ("Adam", {"eps": 0.0}),
    ("AdamW", {"lr": -1e-3}),
    ("AdamW", {"betas": (0.9, 1.5)}),
    ("AdamW", {"eps": -1.0}),
    ("AdamW", {"weight_decay": -0.01}),
    ("RMSprop", {"lr": -0.01}),
    ("RMSprop", {"alpha": -0.5}),
    ("RMSprop", {"eps": -1.0}),
    ("RMSprop", {"momentum": -0.1}),
    ("RMSprop", {"weight_decay": -1.0}),
    ("RMSprop", {"alpha": 1.5}),
]


@pytest.mark.parametrize(("name", "kwargs"), BAD_OPTIONS)
@pytest.mark.parametrize("where", ["constructor", "param_group"])
def test_optimizer_options_are_refused_as_torch(name, kwargs, where):
    """torch's ValueError for each option its constructor refuses; an option it accepts (zero
    eps, a negative dampening, SGD's nan learning rate) takes torch's step. A group added later
    with such an option is refused the same way (torch checks only in the constructor)."""
    init = torch.randn(3, dtype=torch.float64)
    q = init.clone().requires_grad_()
    p, p2 = from_torch(init, requires_grad=True), from_torch(init, requires_grad=True)
    t_opt, t_err = _attempt(lambda: getattr(torch.optim, name)([q], **kwargs))

    def build():
        if where == "constructor":
            return getattr(optim, name)([p2], **kwargs)
        opt = getattr(optim, name)([p])
        opt.add_param_group({"params": [p2], **kwargs})
        return opt

    p_opt, p_err = _attempt(build)
    if t_err is not None:
        _assert_same_error(p_err, t_err)
        return
    assert p_err is None, p_err
    g = torch.randn(3, dtype=torch.float64)
    q.grad, p2.grad = g.clone(), from_torch(g)
    t_opt.step()
    p_opt.step()
    _same_nan_close(p2, q.detach())
