"""Distances between rows: ``cosine_similarity`` and ``pairwise_distance``."""

from __future__ import annotations

import polygrad as pg
from polygrad import Tensor

from .normalization import p_norm


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps))`` along ``dim``, broadcasting.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.cosine_similarity(polygrad.tensor([[1.0, 0.0]]), polygrad.tensor([[2.0, 0.0]])).tolist()
    [1.0]
    """
    n1 = pg.clip(p_norm(x1, 2, dim, keepdim=True), min=eps)
    n2 = pg.clip(p_norm(x2, 2, dim, keepdim=True), min=eps)
    return pg.sum((x1 / n1) * (x2 / n2), axis=dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """``||x1 - x2 + eps||_p`` along the last axis, broadcasting.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> d = F.pairwise_distance(polygrad.tensor([[3.0, 0.0]]), polygrad.tensor([[0.0, 4.0]]))
    >>> round(d.item(), 4)
    5.0
    """
    return p_norm(x1 - x2 + eps, p, -1, keepdim=keepdim)
