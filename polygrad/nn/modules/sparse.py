"""Embedding: a lookup table of learned rows."""

from __future__ import annotations

from typing import Any

import polygrad as pg
from polygrad import Tensor

from ..._checks import IndexArgumentError, check_int
from .. import functional as F
from .. import init
from .module import Module, Parameter


class Embedding(Module):
    """A lookup table: integer indices of any shape pick rows of ``weight``
    (num_embeddings, embedding_dim), initialized N(0, 1) as torch. Row ``padding_idx`` starts
    at zero and gets no gradient.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> emb = nn.Embedding(10, 3)
    >>> emb(polygrad.tensor([[1, 2], [3, 9]])).shape
    (2, 2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        n = check_int(num_embeddings, "Embedding", "num_embeddings", minimum=0)
        dim = check_int(embedding_dim, "Embedding", "embedding_dim", minimum=0)
        self.num_embeddings, self.embedding_dim = n, dim
        if padding_idx is not None:
            padding_idx = check_int(padding_idx, "Embedding", "padding_idx")
            if not -n <= padding_idx < n:
                raise IndexArgumentError(
                    f"Embedding: padding_idx={padding_idx} is out of range for {n} embeddings "
                    f"(expected one in [{-n}, {n - 1}])"
                )
            padding_idx %= n
        self.padding_idx = padding_idx
        self.weight = Parameter(pg.empty(n, dim, dtype=dtype, device=device))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the weight from N(0, 1), with the padding row zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with pg.no_grad():
                self.weight[self.padding_idx] = pg.zeros_like(self.weight[self.padding_idx])

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dtype.kind not in ("int", "uint"):
            got = x.dtype.name if isinstance(x, Tensor) else type(x).__name__
            raise TypeError(f"{self._header()}: expected an integer tensor of indices, got {got}")
        return F.embedding(x, self.weight, self.padding_idx)
