"""More losses, composed from differentiable polygrad ops: smooth L1, Huber, soft margin."""

from __future__ import annotations

import polygrad as pg
from polygrad import Tensor

from .loss import _check_pair, _check_reduction, _reduce


def smooth_l1_loss(x: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``);
    ``beta=0`` is the L1 loss, as torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.smooth_l1_loss(polygrad.tensor([0.0, 3.0]), polygrad.tensor([1.0, 0.0])).item()
    1.5
    """
    _check_reduction("smooth_l1_loss", reduction)
    _check_pair("smooth_l1_loss", x, target)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    a = pg.abs(x - target)
    if beta == 0:
        return _reduce(a, reduction)
    return _reduce(pg.where(a < beta, 0.5 * a * a / beta, a - 0.5 * beta), reduction)


def huber_loss(x: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.huber_loss(polygrad.tensor([0.0, 3.0]), polygrad.tensor([1.0, 0.0]), delta=2.0).item()
    1.25
    """
    _check_reduction("huber_loss", reduction)
    _check_pair("huber_loss", x, target)
    a = pg.abs(x - target)
    return _reduce(pg.where(a < delta, 0.5 * a * a, delta * (a - 0.5 * delta)), reduction)


def soft_margin_loss(x: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-y x))`` for targets ``y`` of +-1.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> round(F.soft_margin_loss(polygrad.tensor([0.0]), polygrad.tensor([1.0])).item(), 4)
    0.6931
    """
    _check_reduction("soft_margin_loss", reduction)
    _check_pair("soft_margin_loss", x, target)
    return _reduce(pg.log1p(pg.exp(-target * x)), reduction)
