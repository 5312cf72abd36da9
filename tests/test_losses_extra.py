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
