"""``embedding``: rows of a weight picked by integer indices."""

from __future__ import annotations

from typing import Any

import polygrad as pg
from polygrad import Tensor

from ..._checks import ShapeError
from ._utils import _as_tensor


def _check_indices(who: str, indices: Tensor, size: int, what: str) -> None:
    if indices.dtype.kind not in ("int", "uint"):
        raise TypeError(
            f"{who}: {what} must be an integer tensor of indices, got dtype {indices.dtype.name}"
        )
    if indices.numel() and size == 0:  # torch: RuntimeError, nothing to pick from
        raise ShapeError(f"{who}: cannot pick rows by {what} from a weight with no rows")
    if indices.numel() and pg.any((indices < 0) | (indices >= size)).item():
        bad = sorted({v for v in _flat(indices.tolist()) if not 0 <= v < size})
        raise IndexError(f"{who}: {what} {bad} out of range for size {size} (valid: 0..{size - 1})")


def _flat(nested: Any) -> list:
    if not isinstance(nested, list):
        return [nested]
    return [v for item in nested for v in _flat(item)]


def embedding(x: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` picked by the integer tensor ``input``; output shape
    ``x.shape + (embedding_dim,)``. Row ``padding_idx`` gets no gradient.

    Raises
    ------
    TypeError
        If ``input`` is not an integer tensor.
    IndexError
        If an index is outside ``[0, num_embeddings)`` (checked on the host: one sync).

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.embedding(polygrad.tensor([2, 0]), polygrad.eye(3)).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    x = _as_tensor(x, "embedding")
    _check_indices("embedding", x, weight.shape[0], "index")
    out = weight[x]
    if padding_idx is not None:
        if padding_idx < 0:
            padding_idx += weight.shape[0]
        pad_rows = pg.expand_dims(x == padding_idx, -1)
        out = pg.where(pad_rows, out.detach(), out)
    return out
