"""Flatten."""

from __future__ import annotations

import polygrad as pg
from polygrad import Tensor

from .module import Module


class Flatten(Module):
    """Merge axes ``start_dim`` through ``end_dim`` (by default all but the batch axis).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Flatten()(polygrad.ones(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

    def forward(self, x: Tensor) -> Tensor:
        return pg.flatten(x, self.start_dim, self.end_dim)
