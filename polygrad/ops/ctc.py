"""Connectionist temporal classification loss as one graph node: the log-space alpha
(forward) and beta (backward) recursions over time, vectorised over the batch and the
extended label sequence ``blank, l1, blank, l2, ..., blank`` (length ``2S+1``), with the
hand-derived gradient wrt the log-probabilities (torch's rule) beside them.
"""

from __future__ import annotations

from typing import Any

from .._tensor import Function, Tensor, apply

_NEG = -float("inf")


def _lse(xp: Any, *terms: Any) -> Any:
    """log(sum(exp(terms))) elementwise, stable, -inf where every term is -inf (no NaN)."""
    m = terms[0]
    for t in terms[1:]:
        m = xp.maximum(m, t)
    empty = m == _NEG
    ms = xp.where(empty, 0.0, m)
    s = xp.exp(terms[0] - ms)
    for t in terms[1:]:
        s = s + xp.exp(t - ms)
    return xp.where(empty, _NEG, xp.log(xp.where(empty, 1.0, s)) + ms)


def _shift(xp: Any, a: Any, k: int) -> Any:
    """``a[:, s - k]`` (k > 0) or ``a[:, s + |k|]`` (k < 0) with -inf shifted in."""
    n, m = a.shape
    pad = xp.full((n, min(abs(k), m)), _NEG, dtype=a.dtype, device=a.device)
    if abs(k) >= m:
        return pad
    if k > 0:
        return xp.concat([pad, a[:, : m - k]], axis=1)
    return xp.concat([a[:, -k:], pad], axis=1)


class CTCLoss(Function):
    """Inputs ``(log_probs (T, N, C), ext (N, L))``: ``ext`` is the int extended label
    sequence; lengths and the reduction are attributes. Output: the reduced loss."""

    def __init__(self, input_lengths, target_lengths, blank, reduction, zero_infinity):
        self.il, self.tl = list(input_lengths), list(target_lengths)
        self.blank, self.reduction, self.zero_infinity = blank, reduction, zero_infinity

    def forward(self, xp, lp, ext):
        T, N, C = lp.shape
        L = ext.shape[1]
        dev, dt = lp.device, lp.dtype
        idx = xp.reshape(ext + xp.reshape(xp.arange(N, device=dev) * C, (N, 1)), (-1,))
        lpe = xp.reshape(xp.take(xp.reshape(lp, (T, N * C)), idx, axis=1), (T, N, L))
        il = xp.asarray(self.il, dtype=xp.int64, device=dev)
        tl = xp.asarray(self.tl, dtype=xp.int64, device=dev)
        s = xp.reshape(xp.arange(L, device=dev), (1, L))
        valid = s < xp.reshape(2 * tl + 1, (N, 1))
        prev2 = _shift(xp, xp.astype(ext, dt), 2)
        skip = (ext != self.blank) & (xp.astype(ext, dt) != prev2) & (s >= 2)
        alphas, a = [], xp.where((s < 2) & valid, lpe[0, ...], _NEG)
        alphas.append(a)
        for t in range(1, T):
            r = _lse(xp, a, _shift(xp, a, 1), xp.where(skip, _shift(xp, a, 2), _NEG))
            a = xp.where(valid, lpe[t, ...] + r, _NEG)
            alphas.append(a)
        al = xp.stack(alphas)  # (T, N, L)
        last = xp.clip(il - 1, 0, None)
        flat = xp.reshape(al, (-1,))
        n = xp.arange(N, device=dev)
        base = (last * N + n) * L
        end1 = xp.take(flat, base + 2 * tl, axis=0)
        end2 = xp.where(tl > 0, xp.take(flat, base + xp.clip(2 * tl - 1, 0, None), axis=0), _NEG)
        nll = -_lse(xp, end1, end2)
        nll = xp.where(il == 0, xp.where(tl == 0, xp.zeros_like(nll), float("inf")), nll)
        self.lpe, self.al, self.nll = lpe, al, nll
        isinf = nll == float("inf")
        if self.zero_infinity:
            nll = xp.where(isinf, 0.0, nll)
        self.scale = xp.ones((N,), dtype=dt, device=dev)
        if self.reduction == "mean":
            self.scale = 1.0 / (xp.astype(xp.clip(tl, 1, None), dt) * N)
        if self.reduction == "none":
            return nll
        return xp.sum(nll * self.scale)

    def backward(self, xp, g, lp, ext):
        if isinstance(g, Tensor):
            raise RuntimeError("ctc_loss: double backward (create_graph=True) is not supported")
        lpe, al, nll = self.lpe, self.al, self.nll
        T, N, C = lp.shape
        L = ext.shape[1]
        dev, dt = lp.device, lp.dtype
        il = xp.asarray(self.il, dtype=xp.int64, device=dev)
        tl = xp.asarray(self.tl, dtype=xp.int64, device=dev)
        s = xp.reshape(xp.arange(L, device=dev), (1, L))
        valid = s < xp.reshape(2 * tl + 1, (N, 1))
        nxt2 = _shift(xp, xp.astype(ext, dt), -2)
        rskip = (ext != self.blank) & (xp.astype(ext, dt) != nxt2) & (s + 2 < L)
        ends = valid & (s >= xp.reshape(2 * tl - 1, (N, 1)))
        ilc = xp.reshape(il, (N, 1))
        betas = [None] * T
        b = xp.full((N, L), _NEG, dtype=dt, device=dev)
        for t in range(T - 1, -1, -1):
            r = _lse(xp, b, _shift(xp, b, -1), xp.where(rskip, _shift(xp, b, -2), _NEG))
            rec = xp.where(valid, lpe[t, ...] + r, _NEG)
            init = xp.where(ends, lpe[t, ...], _NEG)
            b = xp.where(ilc - 1 == t, init, xp.where(ilc - 1 > t, rec, _NEG))
            betas[t] = b
        be = xp.stack(betas)
        ab = al + be
        fin = xp.reshape(xp.where(nll == float("inf"), 0.0, nll), (1, N, 1))
        w = xp.where(ab == _NEG, 0.0, xp.exp(xp.where(ab == _NEG, 0.0, ab - lpe) + fin))
        onehot = xp.astype(
            xp.reshape(ext, (N, L, 1)) == xp.reshape(xp.arange(C, device=dev), (1, 1, C)), dt
        )
        occ = xp.permute_dims(xp.matmul(xp.permute_dims(w, (1, 0, 2)), onehot), (1, 0, 2))
        tt = xp.reshape(xp.arange(T, device=dev), (T, 1, 1))
        inside = tt < xp.reshape(il, (1, N, 1))
        grad = xp.where(inside, xp.exp(lp) - occ, 0.0)
        isinf = xp.reshape(nll == float("inf"), (1, N, 1))
        if self.zero_infinity:
            grad = xp.where(isinf, 0.0, grad)
        else:
            grad = xp.where(isinf & inside, float("nan"), grad)
        gs = g * self.scale if self.reduction != "none" else g
        return grad * xp.reshape(gs, (1, N, 1)), None


def ctc_loss_node(lp: Tensor, ext: Tensor, il, tl, blank, reduction, zero_infinity) -> Tensor:
    """Record (or just run) one CTC node; see :class:`CTCLoss`."""
    return apply(CTCLoss(il, tl, blank, reduction, zero_infinity), lp, ext)
