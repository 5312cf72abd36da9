"""Layer normalization as one graph node: a forward that computes the row statistics once and
keeps what its hand-derived vector-Jacobian rule needs, the rule beside it.

Rows are the trailing ``n`` elements (the normalized shape, flattened). With
``xhat = (x - mean) * rstd`` and ``rstd = 1 / sqrt(var + eps)`` (biased variance),
``y = xhat * w + b`` and, for ``h = g * w``,
``dx = rstd * (h - mean(h) - xhat * mean(h * xhat))``, ``dw = sum(g * xhat)`` and
``db = sum(g)`` over the leading axes.
"""

from __future__ import annotations

from typing import Any

from .._tensor import Function, Tensor, apply


def _stats(xp: Any, x2: Any, n: int, eps: float) -> tuple[Any, Any]:
    """``(xhat, rstd)`` of rows ``x2 (..., n)`` from standard ops (recorded under create_graph)."""
    xc = x2 - xp.sum(x2, axis=-1, keepdims=True) / n
    rstd = 1.0 / xp.sqrt(xp.sum(xc * xc, axis=-1, keepdims=True) / n + eps)
    return xc * rstd, rstd


class LayerNorm(Function):
    """``(x - mean) / sqrt(var + eps) * w + b`` over the trailing ``n`` elements; inputs
    ``(x, w, b)`` with ``w`` and ``b`` of the normalized shape, or None."""

    fresh = True

    def __init__(self, k: int, n: int, eps: float) -> None:
        self.k, self.n, self.eps = k, n, eps

    def _rows(self, xp: Any, a: Any) -> Any:
        return xp.reshape(a, a.shape[: a.ndim - self.k] + (self.n,))

    def forward(self, xp, x, w, b):
        n, x2 = self.n, self._rows(xp, x)
        xc = x2 - xp.sum(x2, axis=-1, keepdims=True) / n
        var = xp.expand_dims(xp.vecdot(xc, xc), axis=-1) / n  # one pass, no squared copy
        rstd = 1.0 / xp.sqrt(var + self.eps)
        xc *= rstd  # xc is this op's own array: it becomes xhat in place
        self.xhat, self.rstd = xc, rstd
        if w is not None:
            out = xc * xp.reshape(w, (n,))
            if b is not None:
                out += xp.reshape(b, (n,))
        else:
            out = xc + xp.reshape(b, (n,)) if b is not None else xc * 1.0  # never xhat itself
        return xp.reshape(out, x.shape)

    def backward(self, xp, g, x, w, b):
        n, g2 = self.n, self._rows(xp, g)
        if isinstance(g, Tensor):  # create_graph: recompute the statistics as recorded ops
            xhat, rstd = _stats(xp, self._rows(xp, x), n, self.eps)
        else:
            xhat, rstd = self.xhat, self.rstd
        need = self.needs
        lead = tuple(range(g2.ndim - 1))
        dw = xp.reshape(xp.sum(g2 * xhat, axis=lead), w.shape) if need[1] else None
        db = xp.reshape(xp.sum(g2, axis=lead), b.shape) if need[2] else None
        dx = None
        if need[0]:
            h = g2 * xp.reshape(w, (n,)) if w is not None else g2
            mh = xp.sum(h, axis=-1, keepdims=True) / n
            if isinstance(g, Tensor):
                mhx = xp.sum(h * xhat, axis=-1, keepdims=True) / n
                dx = (h - mh - xhat * mhx) * rstd
            else:  # the same on this op's own temporaries, in place; the row dot products
                # as one vecdot, without the product's copy
                mhx = xp.expand_dims(xp.vecdot(h, xhat), axis=-1) / n
                dx = h - mh
                dx -= xhat * mhx
                dx *= rstd
            dx = xp.reshape(dx, x.shape)
        return dx, dw, db


def layer_norm(x: Tensor, k: int, w: Tensor | None, b: Tensor | None, eps: float) -> Tensor:
    """Record (or just run) one fused layer-norm node over the last ``k`` axes of ``x``; ``w``
    and ``b`` (or None) have exactly those axes' shape and ``x``'s dtype and backend."""
    n = 1
    for d in x.shape[x.ndim - k :]:
        n *= d
    return apply(LayerNorm(k, n, eps), x, w, b)
