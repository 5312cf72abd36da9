"""The connectionist temporal classification loss (one fused node, see polygrad.ops.ctc)."""

from __future__ import annotations

from typing import Any

import polygrad as pg
from polygrad import Tensor
from polygrad.ops.ctc import ctc_loss_node

from ._utils import _as_tensor, _check_float, creating_like
from .loss import _check_reduction


def _lengths(x: Any, who: str) -> list[int]:
    if isinstance(x, Tensor):
        x = x.tolist()
    if isinstance(x, int):
        x = [x]
    return [int(v) for v in x]


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """CTC loss of ``log_probs (T, N, C)`` (or unbatched ``(T, C)``) against padded
    ``(N, S)`` or concatenated 1-D ``targets``; ``'mean'`` divides each loss by its target
    length (at least 1) then averages over the batch, as torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> lp = F.log_softmax(polygrad.randn(5, 2, 4), dim=-1)
    >>> F.ctc_loss(lp, polygrad.tensor([[1, 2], [3, 3]]), [5, 5], [2, 2]).shape
    ()
    """
    who = "ctc_loss"
    _check_reduction(who, reduction)
    _as_tensor(log_probs, who, "log_probs")
    _check_float(log_probs, who, "log_probs")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = pg.unsqueeze(log_probs, 1)
        targets = pg.unsqueeze(targets, 0)
    if log_probs.ndim != 3:
        raise RuntimeError(f"{who}: log_probs must be (T, N, C) or (T, C), got {log_probs.shape}")
    T, N, C = log_probs.shape
    il, tl = _lengths(input_lengths, who), _lengths(target_lengths, who)
    if len(il) != N or len(tl) != N:
        raise RuntimeError(
            f"{who}: expected input_lengths and target_lengths of size {N} (batch), got "
            f"{len(il)} and {len(tl)}"
        )
    if any(v > T or v < 0 for v in il):
        raise RuntimeError(f"{who}: input_lengths must be in [0, {T}], got {il}")
    flat = pg.reshape(targets, (-1,)).tolist()
    S = max([0, *tl])
    if targets.ndim == 2 and not (unbatched and targets.shape[0] == 1 and len(flat) == tl[0]):
        width = targets.shape[1]
        if S > width:
            raise RuntimeError(f"{who}: target length {S} exceeds targets' width {width}")
        starts = [i * width for i in range(N)]
    elif targets.ndim <= 2:
        if sum(tl) != len(flat):
            raise RuntimeError(f"{who}: target_lengths sum {sum(tl)} != targets size {len(flat)}")
        starts = [sum(tl[:i]) for i in range(N)]
    else:
        raise RuntimeError(f"{who}: targets must be (N, S) or 1-D, got {targets.shape}")
    ext = []
    for i in range(N):
        row = [blank] * (2 * S + 1)
        for j in range(tl[i]):
            row[2 * j + 1] = int(flat[starts[i] + j])
        ext.append(row)
    if any(not 0 <= v < C for r in ext for v in r):
        raise RuntimeError(f"{who}: labels and blank must be in [0, {C}), got {ext}")
    with creating_like(log_probs):
        ext_t = pg.tensor(ext, dtype=pg.int64)
    out = ctc_loss_node(log_probs, ext_t, il, tl, blank, reduction, zero_infinity)
    if unbatched and reduction == "none":
        out = pg.reshape(out, ())
    return out
