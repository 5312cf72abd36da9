"""The extra losses against torch: values and input gradients in float64, every reduction."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF
from helpers import assert_close, from_torch, to_torch

import polygrad.nn as nn
import polygrad.nn.functional as F

REDUCTIONS = ("mean", "sum", "none")


def _pair(seed: int, shape=(4, 5)):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=torch.float64) * 2
    t = torch.randn(*shape, generator=g, dtype=torch.float64) * 2
    return x, t


def _check(ours, theirs, x, t):
    px = from_torch(x, requires_grad=True)
    pt = from_torch(t)
    out = ours(px, pt)
    tx = to_torch(px, requires_grad=True)
    ref = theirs(tx, t)
    assert_close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    assert_close(px.grad, tx.grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0, 3.0])
def test_smooth_l1(reduction, beta):
    x, t = _pair(0)
    _check(
        lambda a, b: F.smooth_l1_loss(a, b, reduction, beta),
        lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
        x,
        t,
    )
    _check(
        nn.SmoothL1Loss(reduction, beta),
        torch.nn.SmoothL1Loss(reduction=reduction, beta=beta),
        x,
        t,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [0.5, 1.0, 3.0])
def test_huber(reduction, delta):
    x, t = _pair(1)
    _check(
        lambda a, b: F.huber_loss(a, b, reduction, delta),
        lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=delta),
        x,
        t,
    )
    _check(
        nn.HuberLoss(reduction, delta), torch.nn.HuberLoss(reduction=reduction, delta=delta), x, t
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin(reduction):
    x, t = _pair(2)
    t = torch.sign(t)
    _check(
        lambda a, b: F.soft_margin_loss(a, b, reduction),
        lambda a, b: TF.soft_margin_loss(a, b, reduction=reduction),
        x,
        t,
    )
    _check(nn.SoftMarginLoss(reduction), torch.nn.SoftMarginLoss(reduction=reduction), x, t)


@pytest.mark.parametrize("fn", [F.smooth_l1_loss, F.huber_loss, F.soft_margin_loss])
def test_errors(fn):
    x, t = _pair(3)
    with pytest.raises(ValueError):
        fn(from_torch(x), from_torch(t), reduction="avg")
    with pytest.raises(ValueError):
        nn.HuberLoss(reduction="avg")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.7])
def test_margin_ranking(reduction, margin):
    x1, x2 = _pair(4)
    y = torch.sign(_pair(5)[0])
    p1, p2 = from_torch(x1, requires_grad=True), from_torch(x2, requires_grad=True)
    t1, t2 = x1.clone().requires_grad_(), x2.clone().requires_grad_()
    out = nn.MarginRankingLoss(margin, reduction)(p1, p2, from_torch(y))
    ref = TF.margin_ranking_loss(t1, t2, y, margin=margin, reduction=reduction)
    assert_close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    assert_close(p1.grad, t1.grad)
    assert_close(p2.grad, t2.grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 2.5])
def test_hinge_embedding(reduction, margin):
    x, t = _pair(6)
    t = torch.sign(t)
    _check(
        nn.HingeEmbeddingLoss(margin, reduction),
        torch.nn.HingeEmbeddingLoss(margin=margin, reduction=reduction),
        x,
        t,
    )


@pytest.mark.parametrize("reduction", (*REDUCTIONS, "batchmean"))
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x, t = _pair(7)
    x = torch.log_softmax(x, dim=1)
    t = torch.log_softmax(t, dim=1) if log_target else torch.softmax(t, dim=1)
    if not log_target:
        t[0, 0] = 0.0  # a zero target contributes 0
    _check(
        nn.KLDivLoss(reduction, log_target),
        torch.nn.KLDivLoss(reduction=reduction, log_target=log_target),
        x,
        t,
    )
    with pytest.raises(ValueError):
        F.kl_div(from_torch(x), from_torch(t), reduction="avg")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin(reduction, weighted):
    x, t = _pair(8)
    t = (t > 0).double()
    w = torch.rand(5, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    pw = from_torch(w, requires_grad=True) if weighted else None
    tw = w.clone().requires_grad_() if weighted else None
    px = from_torch(x, requires_grad=True)
    tx = x.clone().requires_grad_()
    out = F.multilabel_soft_margin_loss(px, from_torch(t), pw, reduction)
    ref = TF.multilabel_soft_margin_loss(tx, t, weight=tw, reduction=reduction)
    assert_close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    assert_close(px.grad, tx.grad)
    if weighted:
        assert_close(pw.grad, tw.grad)
    mod = nn.MultiLabelSoftMarginLoss(reduction=reduction)(from_torch(x), from_torch(t))
    assert_close(mod, TF.multilabel_soft_margin_loss(x, t, reduction=reduction))
