"""More losses, composed from differentiable polygrad ops: smooth L1, Huber, soft margin,
margin ranking, hinge embedding and KL divergence."""

from __future__ import annotations

import polygrad as pg
from polygrad import Tensor

from .activation import logsigmoid, relu
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
    2.25
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


def margin_ranking_loss(
    x1: Tensor, x2: Tensor, target: Tensor, margin: float = 0.0, reduction: str = "mean"
) -> Tensor:
    """``max(0, -y (x1 - x2) + margin)`` for targets ``y`` of +-1.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> t = polygrad.tensor
    >>> F.margin_ranking_loss(t([1.0]), t([2.0]), t([1.0])).item()
    1.0
    """
    _check_reduction("margin_ranking_loss", reduction)
    _check_pair("margin_ranking_loss", x1, x2)
    _check_pair("margin_ranking_loss", x1, target)
    return _reduce(relu(margin - target * (x1 - x2)), reduction)


def hinge_embedding_loss(
    x: Tensor, target: Tensor, margin: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """``x`` where ``y == 1``, ``max(0, margin - x)`` where ``y == -1`` (both elsewhere).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> t = polygrad.tensor
    >>> F.hinge_embedding_loss(t([0.5, 2.0]), t([-1.0, 1.0]), reduction="sum").item()
    2.5
    """
    _check_reduction("hinge_embedding_loss", reduction)
    _check_pair("hinge_embedding_loss", x, target)
    zero = pg.zeros_like(x)
    loss = pg.where(target != 1, relu(margin - x), zero) + pg.where(target != -1, x, zero)
    return _reduce(loss, reduction)


def kl_div(x: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise KL divergence ``y (log y - x)`` of log-probabilities ``x`` (``0`` where
    ``y == 0``); with ``log_target`` the target is ``log y``. ``"batchmean"`` divides the sum
    by the batch size, as torch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.kl_div(polygrad.tensor([0.0]), polygrad.tensor([1.0])).item()
    0.0
    """
    if reduction not in ("mean", "sum", "none", "batchmean"):
        raise ValueError(
            f"kl_div: reduction must be 'mean', 'sum', 'none' or 'batchmean', not {reduction!r}"
        )
    _check_pair("kl_div", x, target)
    if log_target:
        loss = pg.exp(target) * (target - x)
    else:
        pos = target > 0
        safe_log = pg.log(pg.where(pos, target, pg.ones_like(target)))
        loss = pg.where(pos, target * safe_log, pg.zeros_like(target)) - target * x
    if reduction == "batchmean":
        total = pg.sum(loss)
        return total / x.shape[0] if x.ndim else total
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(
    x: Tensor, target: Tensor, weight: Tensor | None = None, reduction: str = "mean"
) -> Tensor:
    """Per-class binary cross-entropy of ``sigmoid(x)``, (weighted,) averaged over the last
    (class) axis, then reduced over the batch.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> x, y = polygrad.tensor([[0.0, 0.0]]), polygrad.tensor([[1.0, 0.0]])
    >>> round(F.multilabel_soft_margin_loss(x, y).item(), 4)
    0.6931
    """
    who = "multilabel_soft_margin_loss"
    _check_reduction(who, reduction)
    _check_pair(who, x, target)
    loss = -(target * logsigmoid(x) + (1.0 - target) * logsigmoid(-x))
    if weight is not None:
        loss = loss * weight
    classes = x.ndim - 1
    return _reduce(pg.sum(loss, axis=classes) / x.shape[classes], reduction)
