"""Flatten and Unflatten."""

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


class Unflatten(Module):
    """Split axis ``dim`` into the axes ``unflattened_size`` (the inverse of Flatten), as
    ``torch.nn.Unflatten``.

    Raises
    ------
    TypeError
        If ``unflattened_size`` is not a tuple or list of ints.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> nn.Unflatten(1, (3, 4))(polygrad.ones(2, 12)).shape
    (2, 3, 4)
    """

    def __init__(self, dim: int, unflattened_size: tuple[int, ...] | list[int]) -> None:
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)) or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in unflattened_size
        ):
            raise TypeError(
                "unflattened_size must be tuple of ints, but found type "
                f"{type(unflattened_size).__name__}"
            )
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"

    def forward(self, x: Tensor) -> Tensor:
        dim = self.dim + x.ndim if self.dim < 0 else self.dim
        if not 0 <= dim < x.ndim:
            raise IndexError(
                f"Unflatten: dim {self.dim} is out of range for an input of shape {x.shape}"
            )
        shape = x.shape[:dim] + self.unflattened_size + x.shape[dim + 1 :]
        return pg.reshape(x, shape)
