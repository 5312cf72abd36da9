"""nn.CTCLoss / F.ctc_loss against torch (float64): values and gradients wrt log_probs."""

from __future__ import annotations

import pytest
import torch
from helpers import from_torch

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F


def _run(lp_t, targets_t, il, tl, **kw):
    """(polygrad loss, grad) and (torch loss, grad) for the same inputs."""
    lp_t = lp_t.detach().requires_grad_(True)
    ref = torch.nn.functional.ctc_loss(lp_t, targets_t, il, tl, **kw)
    ref.sum().backward()
    lp = from_torch(lp_t.detach(), requires_grad=True)
    conv = (lambda v: from_torch(v)) if isinstance(il, torch.Tensor) else (lambda v: v)
    out = F.ctc_loss(lp, from_torch(targets_t), conv(il), conv(tl), **kw)
    pg.sum(out).backward()
    return out, lp.grad, ref, lp_t.grad


def _check(lp_t, targets_t, il, tl, **kw):
    out, g, ref, gref = _run(lp_t, targets_t, il, tl, **kw)
    assert tuple(out.shape) == tuple(ref.shape)
    torch.testing.assert_close(
        torch.tensor(out.tolist(), dtype=torch.float64),
        ref.detach(),
        rtol=1e-10,
        atol=1e-12,
        equal_nan=True,
    )
    torch.testing.assert_close(
        torch.tensor(g.tolist(), dtype=torch.float64), gref, rtol=1e-10, atol=1e-12, equal_nan=True
    )


def _lp(T, N, C, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(T, N, C, generator=g, dtype=torch.float64).log_softmax(-1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_padded_variable_lengths(reduction):
    g = torch.Generator().manual_seed(1)
    targets = torch.randint(1, 5, (3, 4), generator=g)
    _check(
        _lp(9, 3, 5), targets, torch.tensor([9, 7, 5]), torch.tensor([4, 2, 0]), reduction=reduction
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_concatenated_tuples(reduction):
    targets = torch.tensor([1, 2, 2, 3, 1, 1, 4])  # repeated labels need blanks between
    _check(_lp(8, 3, 5, 2), targets, (8, 6, 7), (3, 2, 2), reduction=reduction)


def test_blank_not_zero_and_repeats():
    targets = torch.tensor([[0, 0, 1], [2, 1, 1]])
    _check(_lp(7, 2, 4, 3), targets, [7, 7], [3, 3], blank=3)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_impossible_alignment(zero_infinity):
    targets = torch.tensor([[1, 1, 1], [1, 2, 3]])  # first needs 5 frames, has 4
    _check(_lp(6, 2, 4, 4), targets, [4, 6], [3, 3], reduction="none", zero_infinity=zero_infinity)
    _check(_lp(6, 2, 4, 4), targets, [4, 6], [3, 3], reduction="mean", zero_infinity=zero_infinity)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_unbatched(reduction):
    lp_t = _lp(6, 1, 4, 5)[:, 0]
    _check(lp_t, torch.tensor([1, 3, 3]), torch.tensor(6), torch.tensor(3), reduction=reduction)


def test_module_and_errors():
    lp_t = _lp(5, 2, 3, 6)
    targets = torch.tensor([[1, 2], [2, 2]])
    ref = torch.nn.CTCLoss(blank=0, reduction="sum")(lp_t, targets, [5, 4], [2, 1])
    out = nn.CTCLoss(reduction="sum")(from_torch(lp_t), from_torch(targets), [5, 4], [2, 1])
    assert abs(out.item() - ref.item()) <= 1e-10 * abs(ref.item())
    with pytest.raises(RuntimeError):
        F.ctc_loss(from_torch(lp_t), from_torch(targets), [5], [2, 1])
    with pytest.raises(ValueError):
        nn.CTCLoss(reduction="avg")


def test_all_targets_empty():
    _check(_lp(4, 2, 3, 7), torch.zeros((2, 0), dtype=torch.int64), [4, 2], [0, 0])
