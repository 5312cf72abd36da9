"""Matrix products: the op and its rule, and ``matmul``."""

from __future__ import annotations

from .._tensor import Function, Tensor, apply2
from ._common import _lift, _promote, _tensor_arg


class Matmul(Function):
    fresh = True
    cross = True

    def forward(self, xp, a, b):
        return xp.matmul(a, b)

    def backward(self, xp, g, a, b):
        # 1-D operands are matrices with a unit axis that the forward dropped: put it back
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        if b_vec:
            g, b = xp.expand_dims(g, axis=-1), xp.expand_dims(b, axis=-1)
        if a_vec:
            g, a = xp.expand_dims(g, axis=-2), xp.expand_dims(a, axis=0)
        ga = gb = None
        if self.next[0] is not None:
            ga = xp.matmul(g, xp.matrix_transpose(b))
            if a_vec:
                ga = xp.squeeze(ga, axis=-2)
        if self.next[1] is not None:
            gb = xp.matmul(xp.matrix_transpose(a), g)
            if b_vec:
                gb = xp.squeeze(gb, axis=-1)
        return ga, gb


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands, 2-D, and batched with broadcasting."""
    a, b = _tensor_arg(a), _lift(b, a if isinstance(a, Tensor) else None)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul does not take 0-d tensors; use * to scale")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"matmul shape mismatch: {a.shape} @ {b.shape} ({ka} != {kb})")
    a, b = _promote(a, b)
    return apply2(Matmul(), a, b)
