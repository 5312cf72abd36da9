"""Running a polygrad layer and its torch twin on the same float64 input, for the layer tests."""

import numpy as np
import torch
from helpers import assert_close, from_torch


def forward_backward_both(ours, theirs, xt, rtol=1e-10, atol=1e-12):
    """Call both on ``xt`` with a random upstream gradient; compare outputs and input
    gradients. Returns the polygrad and torch inputs (for parameter-gradient checks)."""
    px, tx = from_torch(xt, requires_grad=True), xt.clone().requires_grad_()
    py, ty = ours(px), theirs(tx)
    u = torch.randn(ty.shape, dtype=torch.float64)
    py.backward(from_torch(u))
    ty.backward(u)
    assert_close(py, ty, rtol=rtol, atol=atol)
    assert_close(px.grad, tx.grad, rtol=rtol, atol=atol)
    return px, tx


def randn_away_from(shape, points, scale=3.0, gap=0.02):
    """float64 normal samples times ``scale``, nudged at least ``gap`` away from ``points``."""
    x = np.random.randn(*shape) * scale
    for k in points:
        x = np.where(np.abs(x - k) < gap, x + 2.5 * gap, x)
    return torch.tensor(x)
