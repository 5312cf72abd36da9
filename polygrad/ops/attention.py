"""Scaled dot-product attention as one graph node: a stable softmax forward and its
hand-derived vector-Jacobian rule side by side.

Inputs ``q (..., L, E)``, ``k (..., S, E)``, ``v (..., S, Ev)``, an optional additive float
``bias`` and an optional boolean ``allow`` (True = attend), both broadcastable to
``(..., L, S)``, and an optional dropout ``keep`` factor (the kept mask already scaled by
``1 / (1 - p)``). The node saves its inputs and the probabilities; nothing else of size
``L x S`` survives the forward.
"""

from __future__ import annotations

from typing import Any

from .._tensor import Function, Tensor, apply


def _probs(xp: Any, q: Any, k: Any, bias: Any, allow: Any, scale: float) -> Any:
    """softmax(q k^T * scale + bias) over keys with disallowed keys at -inf; a row with no
    allowed key gives zeros (as torch's kernels)."""
    s = xp.matmul(q * scale, xp.matrix_transpose(k))
    if bias is not None:
        s = s + bias
    if allow is not None:
        s = xp.where(allow, s, -float("inf"))
    m = xp.max(s, axis=-1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0.0)  # NOTE: fully masked rows: exp(-inf - 0) = 0
    if isinstance(s, Tensor):  # create_graph's recomputation, recorded
        e = xp.exp(s - m)
        d = xp.sum(e, axis=-1, keepdims=True)
        return e / xp.where(d == 0.0, 1.0, d)
    s -= m  # in place on this function's own (L, S) temporaries: the largest arrays here
    e = xp.exp(s)
    del s
    d = xp.sum(e, axis=-1, keepdims=True)
    e /= xp.where(d == 0.0, 1.0, d)
    return e


class ScaledDotProductAttention(Function):
    """``softmax(q k^T * scale + bias, masked) * keep @ v``; inputs (q, k, v, bias, allow,
    keep), gradients for q, k, v and bias."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def forward(self, xp, q, k, v, bias, allow, keep):
        self.p = p = _probs(xp, q, k, bias, allow, self.scale)
        return xp.matmul(p if keep is None else p * keep, v)

    def backward(self, xp, g, q, k, v, bias, allow, keep):
        p = self.p
        if isinstance(g, Tensor):  # create_graph: recompute the probabilities recorded
            p = _probs(xp, q, k, bias, allow, self.scale)
        pd = p if keep is None else p * keep
        need = self.needs
        dv = xp.matmul(xp.matrix_transpose(pd), g) if need[2] else None
        if not (need[0] or need[1] or need[3]):
            return None, None, dv, None, None, None
        dp = xp.matmul(g, xp.matrix_transpose(v))
        if isinstance(g, Tensor):
            if keep is not None:
                dp = dp * keep
            ds = p * (dp - xp.sum(dp * p, axis=-1, keepdims=True))
        else:  # the same, in place on dp (this rule's own array)
            if keep is not None:
                dp *= keep
            dp -= xp.sum(dp * p, axis=-1, keepdims=True)
            dp *= p
            ds = dp
        dq = xp.matmul(ds, k) * self.scale if need[0] else None
        dk = xp.matmul(xp.matrix_transpose(ds), q) * self.scale if need[1] else None
        return dq, dk, dv, (ds if need[3] else None), None, None


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    bias: Tensor | None,
    allow: Tensor | None,
    keep: Tensor | None,
    scale: float,
) -> Tensor:
    """Record (or just run) one fused attention node; see :class:`ScaledDotProductAttention`.
    Heads of ``k``/``v`` must already match ``q``'s (or broadcast)."""

    return apply(ScaledDotProductAttention(scale), q, k, v, bias, allow, keep)
