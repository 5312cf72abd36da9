"""Dropout: elementwise, channel-wise (``dropout1d``/``dropout2d``) and alpha dropout, with
masks drawn on the input's device."""

from __future__ import annotations

import math

import polygrad as pg
from polygrad import Tensor

from ..._checks import check_probability
from ._utils import creating_like


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability ``p`` and scale the rest by
    ``1 / (1 - p)``; the identity when ``training`` is False.

    The mask is ``polygrad.rand(x.shape, dtype=x.dtype) >= p`` drawn on ``x``'s
    device, so it is reproducible under ``polygrad.manual_seed``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> x = polygrad.ones(1000)
    >>> y = F.dropout(x, 0.5)
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> F.dropout(x, 0.5, training=False) is x
    True
    """
    return _masked(x, p, training, x.shape, "dropout")


def _keep_mask(x: Tensor, p: float, shape: tuple[int, ...]) -> Tensor:
    with creating_like(x):
        u = pg.rand(shape, dtype=x.dtype)
    return pg.astype(u >= p, x.dtype)


def _masked(x: Tensor, p: float, training: bool, shape: tuple[int, ...], who: str) -> Tensor:
    """``x`` times a keep mask of ``shape`` (broadcast) scaled by ``1 / (1 - p)``."""
    p = check_probability(p, who)
    if p != p:  # nan passes torch's Python check and fails its kernel, in eval mode too
        raise RuntimeError(f"{who}: dropout probability has to be between 0 and 1, but got p={p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return x * (_keep_mask(x, p, shape) * (1.0 / (1.0 - p)))


def _channels(x: Tensor, p: float, training: bool, dims: tuple[int, ...], who: str) -> Tensor:
    if x.ndim not in dims:
        raise RuntimeError(
            f"{who}: expected {dims[0]}-D (unbatched) or {dims[1]}-D (batched) input, got "
            f"shape {x.shape}"
        )
    lead = 1 if x.ndim == dims[0] else 2  # zero whole channels: (C, 1...) or (N, C, 1...)
    return _masked(x, p, training, x.shape[:lead] + (1,) * (x.ndim - lead), who)


def dropout1d(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` with probability ``p``, scaling the
    others by ``1 / (1 - p)``."""
    return _channels(x, p, training, (2, 3), "dropout1d")


def dropout2d(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero whole channels of ``(N, C, H, W)`` (or a 3-D input, as torch: channel-wise over
    its first two axes) with probability ``p``, scaling the others by ``1 / (1 - p)``."""
    if x.ndim == 3:  # torch warns and does 1-D channel-wise dropout over (N, C, L)
        return _masked(x, p, training, x.shape[:2] + (1,), "dropout2d")
    return _channels(x, p, training, (3, 4), "dropout2d")


def dropout3d(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` with probability ``p``,
    scaling the others by ``1 / (1 - p)``."""
    return _channels(x, p, training, (4, 5), "dropout3d")


SELU_NEG = 1.7580993408473766  # scale * alpha of SELU: where dropped values go, -SELU_NEG


def alpha_dropout(x: Tensor, p: float = 0.5, training: bool = False) -> Tensor:
    """Dropout that keeps zero mean and unit variance for SELU networks: dropped values are
    set to SELU's negative saturation ``-1.7581``, then everything is scaled by ``a`` and
    shifted by ``b`` with ``a = ((1 - p)(1 + p 1.7581^2))^-1/2`` and ``b = a 1.7581 p``."""
    p = check_probability(p, "alpha_dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = _keep_mask(x, p, x.shape)
    a = 1.0 / math.sqrt((SELU_NEG**2 * p + 1.0) * (1.0 - p))
    return x * (keep * a) + ((keep - 1.0) * (SELU_NEG * a) + SELU_NEG * a * p)


def feature_alpha_dropout(x: Tensor, p: float = 0.5, training: bool = False) -> Tensor:
    """:func:`alpha_dropout` with one draw per channel (axis 1 of an (N, C, ...) input, all
    its elements dropped together), as torch's."""
    p = check_probability(p, "feature_alpha_dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    if x.ndim < 2:
        raise RuntimeError(
            f"feature_alpha_dropout: expected an input with a channel axis (N, C, ...), got "
            f"shape {x.shape}"
        )
    keep = _keep_mask(x, p, x.shape[:2] + (1,) * (x.ndim - 2))
    a = 1.0 / math.sqrt((SELU_NEG**2 * p + 1.0) * (1.0 - p))
    return x * (keep * a) + ((keep - 1.0) * (SELU_NEG * a) + SELU_NEG * a * p)
