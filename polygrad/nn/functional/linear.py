"""``linear``: one fused op for ``x @ weight.T + bias``."""

from __future__ import annotations

import math

import polygrad as pg
from polygrad import Function, Tensor


# NOTE: one fused op rather than matmul(x, weight.mT) + bias: the weight gradient comes out as
# g^T @ x, contiguous in the weight's own layout (not a transposed view the engine would have
# to copy), and the bias gradient is one sum, with no broadcast to undo.
class _Linear(Function):
    """``x @ weight.T (+ bias)`` for x of shape (..., in) and weight of shape (out, in)."""

    fresh = True

    def forward(self, xp, x, weight, bias=None):
        # NOTE: leading axes folded into one: NumPy's matmul of a stack by a matrix calls the
        # BLAS once per matrix of the stack, ~1.3x slower than one call on the folded rows
        x2 = x if x.ndim <= 2 else xp.reshape(x, (math.prod(x.shape[:-1]), x.shape[-1]))
        out = xp.matmul(x2, xp.matrix_transpose(weight))
        if bias is not None:
            out += bias  # in place: out is the matmul's own new array
        return out if x.ndim <= 2 else xp.reshape(out, (*x.shape[:-1], out.shape[-1]))

    def backward(self, xp, g, x, weight, bias=None):
        needs = self.next
        g2 = g if g.ndim == 2 else xp.reshape(g, (math.prod(g.shape[:-1]), g.shape[-1]))
        gx = None
        if needs[0] is not None:
            gx = xp.matmul(g2, weight)
            if g.ndim != 2:
                gx = xp.reshape(gx, (*g.shape[:-1], gx.shape[-1]))
        gw = gb = None
        if needs[1] is not None:
            x2 = x if x.ndim == 2 else xp.reshape(x, (math.prod(x.shape[:-1]), x.shape[-1]))
            gw = xp.matmul(xp.matrix_transpose(g2), x2)
        if bias is not None and needs[2] is not None:
            gb = xp.sum(g2, axis=0)
        return gx, gw, gb


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` with torch's weight layout ``(out_features, in_features)``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.linear(polygrad.ones(2, 3), polygrad.ones(4, 3)).shape
    (2, 4)
    """
    # the test reads the raw arrays' shapes and dtypes: it runs at every call of every layer
    tensors = isinstance(x, Tensor) and isinstance(weight, Tensor)
    tensors = tensors and (bias is None or isinstance(bias, Tensor))
    xa, wa = (x._data, weight._data) if tensors else (x, weight)
    ba = bias._data if tensors and bias is not None else bias
    if (
        not tensors
        or xa.ndim < 1
        or wa.ndim != 2
        or xa.shape[-1] != wa.shape[1]
        or (ba is not None and tuple(ba.shape) != (wa.shape[0],))
        or xa.dtype != wa.dtype
        or (ba is not None and ba.dtype != wa.dtype)
    ):  # the general path: 1-D weights, broadcasting biases, mixed dtypes, shape errors
        out = pg.matmul(x, weight.mT if weight.ndim > 1 else weight)
        return out if bias is None else out + bias
    op = _Linear()
    return op(x, weight) if bias is None else op(x, weight, bias)
