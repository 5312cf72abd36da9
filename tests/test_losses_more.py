"""Poisson/Gaussian NLL, cosine embedding, triplet margin and multi-margin losses against torch:
values and the gradients of every float input in float64, modules and functions, every
reduction, and torch's errors."""

from __future__ import annotations

import doctest

import pytest
import torch
import torch.nn.functional as TF
from helpers import assert_close, from_torch

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F

REDUCTIONS = ("mean", "sum", "none")


def _randn(seed: int, *shape: int, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64) * scale


def _compare(ours, theirs, *args, grad=None, torch_nan=()):
    """``ours`` on polygrad copies of ``args`` equals ``theirs`` on ``args``, and so do the
    gradients of a weighted sum of the outputs for the float args listed in ``grad``.

    For the args in ``torch_nan``, torch's gradient is NaN where it differentiates a masked
    ``log(0)``; there ours must be finite (the masked branch's derivative is 0)."""
    grad = range(len(args)) if grad is None else grad
    targs = [a.clone().requires_grad_(i in grad) if isinstance(a, torch.Tensor) else a
             for i, a in enumerate(args)]
    pargs = [from_torch(a, requires_grad=i in grad) if isinstance(a, torch.Tensor) else a
             for i, a in enumerate(args)]
    ref, out = theirs(*targs), ours(*pargs)
    assert_close(out, ref)
    w = _randn(99, *ref.shape)
    (ref * w).sum().backward()
    (out * from_torch(w)).sum().backward()
    for i in grad:
        want = targs[i].grad
        if i in torch_nan:
            got = torch.from_numpy(pargs[i].grad.numpy())
            assert torch.isfinite(got).all()
            want = torch.where(want.isnan(), got, want)
        assert_close(pargs[i].grad, want)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll(reduction, log_input, full):
    x = _randn(0, 4, 5)
    if not log_input:
        x = x.abs() + 0.05
    y = torch.poisson(torch.full((4, 5), 2.0, dtype=torch.float64),
                      generator=torch.Generator().manual_seed(1))
    y[0, :3] = torch.tensor([0.0, 1.0, 0.5])  # around the Stirling term's y > 1 cut
    kw = dict(log_input=log_input, full=full, reduction=reduction)
    _compare(lambda a, b: F.poisson_nll_loss(a, b, log_input, full, 1e-8, reduction),
             lambda a, b: TF.poisson_nll_loss(a, b, **kw), x, y, torch_nan=(1,))
    _compare(nn.PoissonNLLLoss(log_input, full, reduction=reduction),
             torch.nn.PoissonNLLLoss(**kw), x, y, torch_nan=(1,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", [(4, 3, 5), (4, 3), (4, 1, 5), (4, 3, 1), "float"])
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll(reduction, var_shape, full):
    x, y = _randn(2, 4, 3, 5), _randn(3, 4, 3, 5)
    if var_shape == "float":
        var = 0.7
    else:
        var = _randn(4, *var_shape).abs()
        var.view(-1)[:2] = torch.tensor([0.0, 1e-9])  # clamped to eps, gradient through
    _compare(lambda a, b, v: F.gaussian_nll_loss(a, b, v, full, 1e-6, reduction),
             lambda a, b, v: TF.gaussian_nll_loss(a, b, v, full=full, reduction=reduction),
             x, y, var, grad=(0, 1) if var_shape == "float" else (0, 1, 2))
    _compare(nn.GaussianNLLLoss(full=full, eps=1e-3, reduction=reduction),
             torch.nn.GaussianNLLLoss(full=full, eps=1e-3, reduction=reduction), x, y, var,
             grad=(0,))


def test_gaussian_nll_errors():
    x = from_torch(_randn(0, 3, 2))
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(x, x, pg.ones((3, 3), dtype=x.dtype))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, -pg.ones((3, 2), dtype=x.dtype))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, -1.0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.5])
@pytest.mark.parametrize("batched", [True, False])
def test_cosine_embedding(reduction, margin, batched):
    shape = (6, 4) if batched else (4,)
    x1, x2 = _randn(5, *shape), _randn(6, *shape)
    y = torch.tensor([1.0, -1.0, 1.0, -1.0, -1.0, 1.0]) if batched else torch.tensor(-1.0)
    y = y.double()
    _compare(lambda a, b, t: F.cosine_embedding_loss(a, b, t, margin, reduction),
             lambda a, b, t: TF.cosine_embedding_loss(a, b, t, margin=margin,
                                                      reduction=reduction),
             x1, x2, y, grad=(0, 1))
    _compare(nn.CosineEmbeddingLoss(margin, reduction),
             torch.nn.CosineEmbeddingLoss(margin, reduction=reduction), x1, x2, y, grad=(0, 1))


def test_cosine_embedding_errors():
    x = from_torch(_randn(0, 2, 3))
    with pytest.raises(RuntimeError, match="multi-target"):
        F.cosine_embedding_loss(x, x, pg.ones((2, 3), dtype=x.dtype))
    with pytest.raises(RuntimeError, match="target of shape"):
        F.cosine_embedding_loss(x, x, pg.ones((3,), dtype=x.dtype))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("shape", [(5, 4), (4,), (2, 3, 4)])
def test_triplet_margin(reduction, p, swap, shape):
    a, pos, neg = _randn(7, *shape), _randn(8, *shape), _randn(9, *shape, scale=0.5)
    kw = dict(margin=1.5, p=p, eps=1e-6, swap=swap, reduction=reduction)
    _compare(lambda x, y, z: F.triplet_margin_loss(x, y, z, 1.5, p, 1e-6, swap, reduction),
             lambda x, y, z: TF.triplet_margin_loss(x, y, z, **kw), a, pos, neg)
    _compare(nn.TripletMarginLoss(**kw), torch.nn.TripletMarginLoss(**kw), a, pos, neg)


def test_triplet_margin_errors():
    x = from_torch(_randn(0, 2, 3))
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(x, x, x, margin=0.0)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_loss(x, x[0], x)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("margin", [1.0, 0.25])
def test_multi_margin(reduction, p, weighted, margin):
    x = _randn(10, 6, 5)
    y = torch.tensor([0, 4, 2, 2, 1, 3])
    w = _randn(11, 5).abs() if weighted else None
    _compare(lambda a, t, v: F.multi_margin_loss(a, t, p, margin, v, reduction),
             lambda a, t, v: TF.multi_margin_loss(a, t, p, margin, v, reduction=reduction),
             x, y, w, grad=(0,))
    pw = None if w is None else from_torch(w)
    if weighted:  # torch refuses a weight gradient; ours is the per-class unweighted loss
        pw.requires_grad_(True)
        F.multi_margin_loss(from_torch(x), from_torch(y), p, margin, pw, "sum").backward()
        each = TF.multi_margin_loss(x, y, p, margin, reduction="none")
        want = torch.zeros(5, dtype=torch.float64).index_add_(0, y, each)
        assert_close(pw.grad, want)
        pw = from_torch(w)
    _compare(nn.MultiMarginLoss(p, margin, pw, reduction),
             torch.nn.MultiMarginLoss(p, margin, w, reduction=reduction), x, y, grad=(0,))


@pytest.mark.parametrize("target", [torch.tensor(3), torch.tensor([3])])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_unbatched(target, reduction):
    x = _randn(12, 5)
    _compare(lambda a, t: F.multi_margin_loss(a, t, reduction=reduction),
             lambda a, t: TF.multi_margin_loss(a, t, reduction=reduction), x, target, grad=(0,))


def test_multi_margin_errors():
    x = from_torch(_randn(0, 3, 4))
    for bad in ([0, 4, 1], [0, -1, 1]):
        with pytest.raises(RuntimeError, match="target out of range"):
            F.multi_margin_loss(x, pg.tensor(bad))
    with pytest.raises(RuntimeError, match="Expected target size"):
        F.multi_margin_loss(x, pg.tensor([[0], [1], [2]]))
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(x, pg.tensor([0, 1, 2]), p=3)
    with pytest.raises(ValueError, match="one-dimensional"):
        F.multi_margin_loss(x, pg.tensor([0, 1, 2]), weight=pg.ones((4, 1), dtype=x.dtype))


def test_docstring_examples():
    import polygrad.nn.functional.loss_extra as module

    result = doctest.testmod(module)
    assert result.attempted >= 12 and result.failed == 0
