"""Dropout, Dropout1d, Dropout2d and AlphaDropout."""

from __future__ import annotations

from polygrad import Tensor

from ..._checks import check_probability
from .. import functional as F
from .module import Module


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the
    others by ``1 / (1 - p)``; the identity in eval mode.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> drop = nn.Dropout(0.5)
    >>> x = polygrad.ones(4)
    >>> drop.eval()(x) is x
    True
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = check_probability(p, "Dropout")
        self.inplace = inplace  # accepted for torch code; the result is the same either way

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)


class Dropout1d(Dropout):
    """Zero whole channels of (N, C, L) or (C, L) with probability ``p`` in training.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Dropout1d(0.5)(polygrad.ones(2, 3, 4)).shape
    (2, 3, 4)
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout1d(x, self.p, self.training)


class Dropout2d(Dropout):
    """Zero whole channels of (N, C, H, W) with probability ``p`` in training."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, self.training)


class AlphaDropout(Dropout):
    """Dropout that keeps SELU activations at zero mean and unit variance (training only)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.alpha_dropout(x, self.p, self.training)


class Dropout3d(Dropout):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) with probability ``p`` in
    training."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout3d(x, self.p, self.training)


class FeatureAlphaDropout(Dropout):
    """Alpha dropout of whole channels (training only), as torch's."""

    def forward(self, x: Tensor) -> Tensor:
        return F.feature_alpha_dropout(x, self.p, self.training)
