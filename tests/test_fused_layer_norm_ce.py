"""The fused layer_norm node and the fused cross-entropy fast path against torch in float64:
values, first-order gradients, and create_graph second-order gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close, from_torch

import polygrad as pg
import polygrad.nn.functional as F


@pytest.mark.parametrize(
    "shape, ns, affine",
    [((4, 5, 6), (6,), (True, True)), ((3, 4, 5), (4, 5), (True, False)),
     ((2, 3), (3,), (False, False)), ((7,), (7,), (True, True))],
)  # fmt: skip
def test_layer_norm_fused_matches_torch_to_second_order(shape, ns, affine):
    torch.manual_seed(0)
    tx = (torch.randn(*shape, dtype=torch.float64) * 3 + 1).requires_grad_()
    tw = torch.randn(*ns, dtype=torch.float64, requires_grad=True) if affine[0] else None
    tb = torch.randn(*ns, dtype=torch.float64, requires_grad=True) if affine[1] else None
    u = torch.randn(*shape, dtype=torch.float64)
    px, pw, pb = (None if t is None else from_torch(t.detach(), requires_grad=True)
                  for t in (tx, tw, tb))  # fmt: skip
    ty = torch.nn.functional.layer_norm(tx, ns, tw, tb)
    py = F.layer_norm(px, ns, pw, pb)
    assert type(py.grad_fn).__name__ == "LayerNorm"  # the fused node, not the composed ops
    assert_close(py, ty.detach())
    tins = [t for t in (tx, tw) if t is not None]
    pins = [t for t in (px, pw) if t is not None]
    tg = torch.autograd.grad((ty * u).sum(), tins, create_graph=True)
    pgr = pg.autograd.grad((py * from_torch(u)).sum(), pins, create_graph=True)
    for a, b in zip(pgr, tg):
        assert_close(a, b.detach())
    tgg = torch.autograd.grad(sum((g * g).sum() for g in tg), tins)
    pgg = pg.autograd.grad(sum((g * g).sum() for g in pgr), pins)
    for a, b in zip(pgg, tgg):
        assert_close(a, b)
    if tb is not None:  # the bias gradient of the first-order backward
        db = torch.autograd.grad((ty * u).sum(), tb)[0]
        assert_close(
            pg.autograd.grad((F.layer_norm(px, ns, pw, pb) * from_torch(u)).sum(), pb)[0], db
        )


def test_cross_entropy_ignored_row_with_masked_class_zero_is_finite():
    """An ignored row whose class-0 logit is -inf adds nothing (torch: 0), not NaN."""
    x = np.array([[-np.inf, 1.0, 2.0], [0.5, -1.0, 3.0], [1.0, 2.0, 0.0]])
    t = np.array([-100, 2, 1])
    tx = torch.tensor(x, requires_grad=True)
    px = pg.tensor(x, requires_grad=True)
    for reduction in ("mean", "sum"):
        tl = torch.nn.functional.cross_entropy(tx, torch.tensor(t), reduction=reduction)
        pl = F.cross_entropy(px, pg.tensor(t), reduction=reduction)
        assert_close(pl, tl.detach())
        (gt,) = torch.autograd.grad(tl, tx)
        (gp,) = pg.autograd.grad(pl, px)
        assert_close(gp, gt)


def test_cross_entropy_shared_class_constants_follow_device_and_dtype() -> None:
    """The index cross-entropy shares its ``arange``/``ones`` per backend, device, class count
    and dtype: calls that alternate devices (strict's two) and dtypes each get their own,
    with torch's values and gradients."""
    pytest.importorskip("array_api_strict")
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((5, 4))
    target = rng.integers(0, 4, size=5)
    tx = torch.tensor(logits, requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.tensor(target)).backward()
    for _ in range(2):
        for device in ("CPU_DEVICE", "device1"):
            for dtype in (pg.float64, pg.float32):
                with pg.use_backend("strict", device):
                    x = pg.tensor(logits, dtype=dtype, requires_grad=True)
                    loss = F.cross_entropy(x, pg.tensor(target))
                    loss.backward()
                assert x.grad.device == x.device and device in str(x.device)
                assert x.grad.dtype == dtype
                tol = 1e-12 if dtype == pg.float64 else 1e-5
                np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)
