"""More losses, composed from differentiable polygrad ops: smooth L1, Huber, soft margin,
margin ranking, hinge embedding, KL divergence, multi-label soft margin, Poisson and Gaussian
NLL, cosine embedding, triplet margin and multi-class margin.

Where torch broadcasts an input against a target of another shape (with a warning), these
refuse with a ValueError naming both shapes: a broadcast loss is almost always a bug."""

from __future__ import annotations

import math

import polygrad as pg
from polygrad import Tensor

from ._utils import _as_tensor, _check_float
from .activation import logsigmoid, relu
from .distance import pairwise_distance
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


def poisson_nll_loss(
    x: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of a Poisson target: ``exp(x) - y x`` for log-rates ``x``
    (``log_input``), else ``x - y log(x + eps)``; ``full`` adds Stirling's approximation of
    ``log(y!)``, ``y log y - y + log(2 pi y) / 2``, where ``y > 1`` (as torch).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.poisson_nll_loss(polygrad.tensor([0.0]), polygrad.tensor([2.0])).item()
    1.0
    """
    who = "poisson_nll_loss"
    _check_reduction(who, reduction)
    _check_pair(who, x, target)
    loss = pg.exp(x) - target * x if log_input else x - target * pg.log(x + eps)
    if full:
        big = target > 1
        y = pg.where(big, target, pg.ones_like(target))  # no log of 0 in the masked entries
        stirling = y * pg.log(y) - y + 0.5 * pg.log(2 * math.pi * y)
        loss = loss + pg.where(big, stirling, pg.zeros_like(stirling))
    return _reduce(loss, reduction)


def _gaussian_var(who: str, x: Tensor, var: Tensor | float) -> Tensor:
    if isinstance(var, int | float):
        if var < 0:
            raise ValueError(f"{who}: var has negative entry/entries ({var})")
        return pg.full_like(x, float(var))
    _as_tensor(var, who, "var")
    if bool(pg.any(var < 0)):  # a host sync, as torch's
        raise ValueError(f"{who}: var has negative entry/entries")
    if var.shape == x.shape:
        return var
    if var.shape == x.shape[:-1]:  # one variance per row: homoscedastic
        return pg.unsqueeze(var, -1)
    if var.ndim == x.ndim and sum(v for i, v in zip(x.shape, var.shape) if i != v) == 1:
        return var  # one axis of size 1 that broadcasts
    raise ValueError(
        f"{who}: var of shape {var.shape} is of incorrect size for input of shape {x.shape} "
        "(it must equal it, drop its last axis, or have one axis of size 1)"
    )


def gaussian_nll_loss(
    x: Tensor,
    target: Tensor,
    var: Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of ``target`` under normals of mean ``x`` and variance ``var``:
    ``(log(var) + (x - target)**2 / var) / 2`` (plus ``log(2 pi) / 2`` with ``full``).

    ``var`` may have ``x``'s shape, drop its last axis, have one axis of size 1, or be a
    number. As torch, it is clamped to at least ``eps`` for the value while its gradient
    passes through the clamp unchanged.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> t = polygrad.tensor
    >>> F.gaussian_nll_loss(t([1.0]), t([3.0]), t([1.0])).item()
    2.0
    """
    who = "gaussian_nll_loss"
    _check_reduction(who, reduction)
    _as_tensor(x, who)
    _check_float(x, who)
    var = _gaussian_var(who, x, var)
    held = var.detach()
    var = pg.clip(held, min=eps) + (var - held)  # clamped value, identity gradient (torch's)
    loss = 0.5 * (pg.log(var) + (x - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def cosine_embedding_loss(
    x1: Tensor, x2: Tensor, target: Tensor, margin: float = 0.0, reduction: str = "mean"
) -> Tensor:
    """``1 - cos(x1, x2)`` where ``y == 1``, ``max(0, cos(x1, x2) - margin)`` where
    ``y == -1``, for rows ``x1``, ``x2`` of shape ``(N, D)`` or ``(D,)`` and targets of shape
    ``(N,)`` or ``()``. The cosine is ``x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12))``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> t = polygrad.tensor
    >>> F.cosine_embedding_loss(t([[1.0, 0.0]]), t([[0.0, 1.0]]), t([1.0])).item()
    1.0
    """
    who = "cosine_embedding_loss"
    _check_reduction(who, reduction)
    _check_pair(who, x1, x2)
    _as_tensor(target, who, "target")
    if target.ndim > 1:
        raise RuntimeError(
            f"{who}: 0D or 1D target tensor expected, multi-target not supported "
            f"(target of shape {target.shape})"
        )
    if x1.ndim != target.ndim + 1 or x1.shape[:-1] != target.shape:
        raise RuntimeError(
            f"{who}: a target of shape {target.shape} needs inputs of shape "
            f"{(*target.shape, 'D')}, got {x1.shape}"
        )
    axis = x1.ndim - 1
    dot = pg.sum(x1 * x2, axis=axis)
    sq1 = pg.sum(x1 * x1, axis=axis) + 1e-12
    sq2 = pg.sum(x2 * x2, axis=axis) + 1e-12
    cos = dot / pg.sqrt(sq1 * sq2)
    zero = pg.zeros_like(cos)
    loss = pg.where(target == 1, 1.0 - cos, zero) + pg.where(target == -1, relu(cos - margin), zero)
    return _reduce(loss, reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the :func:`pairwise_distance` along
    the last axis; ``swap`` uses ``min(d(a, n), d(p, n))`` for the negative distance.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> t = polygrad.tensor
    >>> F.triplet_margin_loss(t([[0.0, 0.0]]), t([[3.0, 4.0]]), t([[0.0, 1.0]]), eps=0.0).item()
    5.0
    """
    who = "triplet_margin_loss"
    _check_reduction(who, reduction)
    if margin <= 0:
        raise ValueError(f"{who}: margin must be greater than 0, got {margin}")
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _as_tensor(t, who, name)
        _check_float(t, who, name)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(
            f"{who}: the anchor, positive, and negative tensors are expected to have the same "
            f"number of dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, "
            f"and negative {negative.ndim}D inputs"
        )
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = pg.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce(relu(margin + d_pos - d_neg), reduction)


def multi_margin_loss(
    x: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss: for each sample, ``sum over i != y of w[y] max(0, margin -
    x[y] + x[i])**p / C`` for scores ``x`` of shape ``(N, C)`` or ``(C,)`` and class targets
    ``y`` of shape ``(N,)`` or ``()``; ``p`` is 1 or 2.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.multi_margin_loss(polygrad.tensor([[0.1, 0.2, 0.4]]), polygrad.tensor([2])).item()
    0.5
    """
    who = "multi_margin_loss"
    _check_reduction(who, reduction)
    if p not in (1, 2):
        raise ValueError(f"{who}: only p == 1 and p == 2 supported, got p={p}")
    _as_tensor(x, who)
    _as_tensor(target, who, "target")
    _check_float(x, who)
    if x.ndim not in (1, 2):
        raise RuntimeError(f"{who}: expected an input of 1 or 2 dimensions, got shape {x.shape}")
    rows = x.shape[:-1]
    if target.shape not in (rows, (1,) if not rows else rows):
        raise RuntimeError(
            f"{who}: target tensor should be 1-D with size equal to the number of input "
            f"samples (batch size). Expected target size {list(rows)}, but got "
            f"{list(target.shape)}. Input has shape {list(x.shape)}."
        )
    n_classes = x.shape[-1]
    if weight is not None and weight.shape != (n_classes,):
        raise ValueError(f"{who}: weight must be one-dimensional of size {n_classes}, "
                         f"got shape {weight.shape}")
    y = pg.reshape(target, (*rows, 1))
    if y.numel() and (int(pg.min(y)) < 0 or int(pg.max(y)) >= n_classes):  # a host sync
        raise RuntimeError(
            f"{who}: target out of range: class indices must be in 0..{n_classes - 1}, got "
            f"{sorted({int(v) for v in y.numpy().reshape(-1) if not 0 <= v < n_classes})}"
        )
    if y.dtype != pg.int64:
        y = y.astype(pg.int64)
    h = relu(margin - pg.gather(x, -1, y) + x)
    if p == 2:
        h = h * h
    is_target = pg.arange(n_classes, device=x.device) == y
    h = pg.where(is_target, pg.zeros_like(h), h)
    if weight is not None:
        h = h * pg.reshape(pg.take(weight, pg.reshape(y, (-1,))), y.shape)
    loss = pg.sum(h, axis=-1) / n_classes
    if not rows and target.shape == (1,) and reduction == "none":
        loss = pg.reshape(loss, (1,))
    return _reduce(loss, reduction)
