"""Edge cases of the nn losses against torch (float64): masked (-inf) logits, probabilities of
exactly 0 or 1, infinite and huge logits."""

import numpy as np
import pytest
import torch
from helpers import assert_close, from_torch

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F

INF = float("inf")


def _f64(values):
    return torch.tensor(values, dtype=torch.float64)


def _compare(pg_loss, torch_loss, x, xt):
    """Value and gradient (with a random upstream gradient) equal torch's, nan and inf included."""
    g = torch.randn(torch_loss.shape, dtype=torch.float64)
    torch_loss.backward(g)
    pg_loss.backward(from_torch(g, dtype=pg.float64))
    np.testing.assert_array_equal(np.isnan(pg_loss.numpy()), np.isnan(torch_loss.detach().numpy()))
    assert_close(pg_loss, torch_loss, rtol=1e-12)
    assert_close(x.grad, xt.grad, rtol=1e-12)


def _masked_logits(shape, class_axis, target):
    """Random logits with a -inf at one non-target class of every sample."""
    logits = torch.randn(shape, dtype=torch.float64)
    c = shape[class_axis]
    moved = logits.movedim(class_axis, -1)
    flat_t = target.reshape(-1)
    flat = moved.reshape(-1, c)
    for i, t in enumerate(flat_t.tolist()):
        flat[i, (max(t, 0) + 1) % c] = -INF
    return flat.reshape(moved.shape).movedim(-1, class_axis).contiguous()


CASES = [
    dict(),
    dict(weight=True),
    dict(ignore_index=1),
    dict(weight=True, ignore_index=2),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(5,), (4, 5), (3, 5, 2, 2)])
@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("which", ["cross_entropy", "CrossEntropyLoss", "nll_loss", "NLLLoss"])
def test_masked_logits_match_torch(which, case, shape, reduction):
    kw = dict(CASES[case])
    c = shape[0] if len(shape) == 1 else shape[1]
    tshape = () if len(shape) == 1 else shape[:1] + shape[2:]
    target_t = torch.randint(0, c, tshape)
    if "ignore_index" in kw and target_t.numel() > 1:
        target_t.view(-1)[0] = kw["ignore_index"]
    logits = _masked_logits(shape, 0 if len(shape) == 1 else 1, target_t)
    if kw.pop("weight", False):
        w = torch.rand(c, dtype=torch.float64) + 0.5
        kw["weight"], pg_w = w, from_torch(w, dtype=pg.float64)
    else:
        pg_w = None
    x = from_torch(logits, requires_grad=True, dtype=pg.float64)
    xt = logits.clone().requires_grad_(True)
    target = from_torch(target_t)
    tkw = dict(kw, reduction=reduction)
    pkw = dict(tkw, weight=pg_w) if pg_w is not None else tkw
    class_dim = 0 if len(shape) == 1 else 1
    if which.startswith("nll") or which == "NLLLoss":
        inp, inp_t = F.log_softmax(x, dim=class_dim), torch.log_softmax(xt, dim=class_dim)
        if which == "nll_loss":
            ours, theirs = (
                F.nll_loss(inp, target, **pkw),
                torch.nn.functional.nll_loss(inp_t, target_t, **tkw),
            )
        else:
            ours = nn.NLLLoss(**pkw)(inp, target)
            theirs = torch.nn.NLLLoss(**tkw)(inp_t, target_t)
    elif which == "cross_entropy":
        ours = F.cross_entropy(x, target, **pkw)
        theirs = torch.nn.functional.cross_entropy(xt, target_t, **tkw)
    else:
        ours = nn.CrossEntropyLoss(**pkw)(x, target)
        theirs = torch.nn.CrossEntropyLoss(**tkw)(xt, target_t)
    assert np.all(np.isfinite(theirs.detach().numpy()))  # the case torch keeps finite
    _compare(ours, theirs, x, xt)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_masked_logits_torch_nonfinite_cases(reduction):
    """Where torch gives inf or nan (label smoothing over a -inf logit, a -inf target logit),
    polygrad gives the same."""
    logits = _f64([[1.0, -INF, 2.0], [0.5, 0.1, -INF], [-INF, 0.3, 0.2]])
    target_t = torch.tensor([0, 1, 0])  # the last sample's target logit is -inf
    for kw in (dict(), dict(label_smoothing=0.2)):
        x = from_torch(logits, requires_grad=True, dtype=pg.float64)
        xt = logits.clone().requires_grad_(True)
        ours = F.cross_entropy(x, from_torch(target_t), reduction=reduction, **kw)
        theirs = torch.nn.functional.cross_entropy(xt, target_t, reduction=reduction, **kw)
        assert not np.all(np.isfinite(theirs.detach().numpy()))
        _compare(ours, theirs, x, xt)


def test_log_softmax_masked_matches_torch():
    logits = _f64([[1.0, -INF, 2.0], [0.5, 0.1, -INF]])
    x = from_torch(logits, requires_grad=True, dtype=pg.float64)
    xt = logits.clone().requires_grad_(True)
    ours, theirs = F.log_softmax(x, dim=1), torch.log_softmax(xt, dim=1)
    g = _f64([[0.3, 0.0, -1.2], [0.7, 0.4, 0.0]])
    theirs.backward(g)
    ours.backward(from_torch(g, dtype=pg.float64))
    assert_close(ours, theirs)
    assert_close(x.grad, xt.grad)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_at_zero_and_one_matches_torch(reduction, weighted):
    probs = _f64([0.0, 1.0, 0.0, 1.0, 0.3])
    target_t = _f64([1.0, 0.0, 0.0, 1.0, 0.6])
    w = _f64([0.5, 2.0, 1.0, 1.5, 1.0]) if weighted else None
    x = from_torch(probs, requires_grad=True, dtype=pg.float64)
    y = from_torch(target_t, requires_grad=True, dtype=pg.float64)
    xt, yt = probs.clone().requires_grad_(True), target_t.clone().requires_grad_(True)
    pw = None if w is None else from_torch(w, dtype=pg.float64)
    ours = F.binary_cross_entropy(x, y, weight=pw, reduction=reduction)
    theirs = torch.nn.functional.binary_cross_entropy(xt, yt, weight=w, reduction=reduction)
    module = nn.BCELoss(weight=pw, reduction=reduction)(x.detach(), y.detach())
    assert_close(module, theirs, rtol=1e-12)
    _compare(ours, theirs, x, xt)
    assert_close(y.grad, yt.grad, rtol=1e-12)


@pytest.mark.parametrize("pos_weight", [None, 2.0])
def test_bce_with_logits_at_infinite_and_huge_logits(pos_weight):
    z = _f64([INF, -INF, INF, -INF, 1e300, -1e300, 800.0, -800.0])
    y_t = _f64([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    pwt = None if pos_weight is None else _f64(pos_weight)
    x = from_torch(z, requires_grad=True, dtype=pg.float64)
    xt = z.clone().requires_grad_(True)
    pw = None if pwt is None else from_torch(pwt, dtype=pg.float64)
    ours = F.binary_cross_entropy_with_logits(
        x, from_torch(y_t, dtype=pg.float64), reduction="none", pos_weight=pw
    )
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(
        xt, y_t, reduction="none", pos_weight=pwt
    )
    _compare(ours, theirs, x, xt)
