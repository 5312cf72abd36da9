"""Embedding and EmbeddingBag: lookup tables of learned rows."""

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
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Tensor | None = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        who = type(self).__name__
        if scale_grad_by_freq or sparse:
            raise NotImplementedError(f"{who}: scale_grad_by_freq and sparse are not supported")
        n = check_int(num_embeddings, who, "num_embeddings", minimum=0)
        dim = check_int(embedding_dim, who, "embedding_dim", minimum=0)
        self.num_embeddings, self.embedding_dim = n, dim
        if padding_idx is not None:
            padding_idx = check_int(padding_idx, who, "padding_idx")
            if not -n <= padding_idx < n:
                raise IndexArgumentError(
                    f"{who}: padding_idx={padding_idx} is out of range for {n} embeddings "
                    f"(expected one in [{-n}, {n - 1}])"
                )
            padding_idx %= n
        self.padding_idx = padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        if _weight is not None:  # torch's way to start from given rows (from_pretrained)
            if tuple(_weight.shape) != (n, dim):
                raise AssertionError(
                    f"{who}: shape of _weight {tuple(_weight.shape)} does not match "
                    f"num_embeddings and embedding_dim ({n}, {dim})"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)
            return
        self.weight = Parameter(pg.empty(n, dim, dtype=dtype, device=device))
        self.reset_parameters()

    @classmethod
    def from_pretrained(
        cls,
        embeddings: Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose weight is the 2-D ``embeddings`` (the same storage, as torch),
        frozen unless ``freeze=False``; the padding row is kept as given.

        Examples
        --------
        >>> import polygrad
        >>> import polygrad.nn as nn
        >>> emb = nn.Embedding.from_pretrained(polygrad.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> emb(polygrad.tensor([1])).tolist(), emb.weight.requires_grad
        ([[3.0, 4.0]], False)
        """
        if embeddings.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(
            rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
            _weight=embeddings, _freeze=freeze,
        )  # fmt: skip

    def reset_parameters(self) -> None:
        """Re-draw the weight from N(0, 1), with the padding row zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with pg.no_grad():
                self.weight[self.padding_idx] = pg.zeros_like(self.weight[self.padding_idx])

    def extra_repr(self) -> str:
        extra = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        if self.max_norm is not None:
            extra += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            extra += f", norm_type={self.norm_type}"
        return f"{self.num_embeddings}, {self.embedding_dim}{extra}"

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            got = type(x).__name__
            raise TypeError(f"{self._header()}: expected an integer tensor of indices, got {got}")
        if x.dtype.kind not in ("int", "uint"):  # torch: RuntimeError, Long or Int expected
            got = x.dtype.name
            raise RuntimeError(
                f"{self._header()}: expected an integer tensor of indices, got dtype {got}"
            )
        return F.embedding(x, self.weight, self.padding_idx, self.max_norm, self.norm_type)


class EmbeddingBag(Embedding):
    """Sums, means or maxima of bags of embedding rows, without materialising each lookup's
    rows in the caller: bags are the rows of a 2-D input, or runs of a 1-D input that start
    at ``offsets``. ``weight`` is N(0, 1), the ``padding_idx`` row zero and left out of bags.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> bag = nn.EmbeddingBag(10, 3, mode="sum")
    >>> bag(polygrad.tensor([1, 2, 4, 5]), polygrad.tensor([0, 2])).shape
    (2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if scale_grad_by_freq or sparse:
            raise NotImplementedError(
                "EmbeddingBag: scale_grad_by_freq and sparse are not supported"
            )
        super().__init__(
            num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, device, dtype
        )
        if _weight is not None:
            self.weight = Parameter(_weight)
        self.mode, self.include_last_offset = mode, include_last_offset

    def extra_repr(self) -> str:
        base = f"{self.num_embeddings}, {self.embedding_dim}"
        extra = super().extra_repr()[len(base) :]
        return f"{base}, mode={self.mode!r}{extra}"

    def forward(
        self,
        x: Tensor,
        offsets: Tensor | None = None,
        per_sample_weights: Tensor | None = None,
    ) -> Tensor:
        return F.embedding_bag(
            x,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            mode=self.mode,
            per_sample_weights=per_sample_weights,
            include_last_offset=self.include_last_offset,
            padding_idx=self.padding_idx,
        )
