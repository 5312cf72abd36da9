"""Lookups: ``embedding``, ``embedding_bag`` and ``one_hot``."""

from __future__ import annotations

from typing import Any

import polygrad as pg
from polygrad import Tensor, _capture

from ..._checks import ShapeError
from ._utils import _as_tensor, creating_like


@_capture.pure  # polygrad.compile runs the range check again on each replay
def _check_indices(who: str, indices: Tensor, size: int, what: str) -> tuple:
    if indices.dtype.kind not in ("int", "uint"):  # torch: RuntimeError, Long or Int expected
        raise RuntimeError(
            f"{who}: {what} must be an integer tensor of indices, got dtype {indices.dtype.name}"
        )
    if indices.numel() and size == 0:  # torch: RuntimeError, nothing to pick from
        raise ShapeError(f"{who}: cannot pick rows by {what} from a weight with no rows")
    if indices.numel() and pg.any((indices < 0) | (indices >= size)).item():
        bad = sorted({v for v in _flat(indices.tolist()) if not 0 <= v < size})
        raise IndexError(f"{who}: {what} {bad} out of range for size {size} (valid: 0..{size - 1})")
    return ()


def _flat(nested: Any) -> list:
    if not isinstance(nested, list):
        return [nested]
    return [v for item in nested for v in _flat(item)]


def embedding(
    x: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
) -> Tensor:
    """Rows of ``weight`` picked by the integer tensor ``input``; output shape
    ``x.shape + (embedding_dim,)``. Row ``padding_idx`` gets no gradient. With ``max_norm``,
    the looked-up rows whose ``norm_type``-norm exceeds it are first rescaled to norm
    ``max_norm`` in ``weight`` itself, under ``no_grad``, as torch.

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
    if max_norm is not None:
        _renorm_rows(x, weight, max_norm, norm_type)
    out = weight[x]
    if padding_idx is not None:
        if padding_idx < 0:
            padding_idx += weight.shape[0]
        pad_rows = pg.expand_dims(x == padding_idx, -1)
        out = pg.where(pad_rows, out.detach(), out)
    return out


def _renorm_rows(x: Tensor, weight: Tensor, max_norm: float, norm_type: float) -> None:
    from .normalization import p_norm

    looked_up = set(_flat(x.tolist()))
    if not looked_up:
        return
    with pg.no_grad(), creating_like(weight):
        # NOTE: a scale for every row (1 for rows not looked up): the standard has no
        # integer-array assignment, and only the looked-up rows change, as in torch
        mask = pg.tensor([[i in looked_up] for i in range(weight.shape[0])])
        norms = p_norm(weight, norm_type, -1, keepdim=True)
        scale = pg.where(mask & (norms > max_norm), max_norm / (norms + 1e-7), 1.0)
        weight[...] = weight * pg.astype(scale, weight.dtype)


def one_hot(x: Tensor, num_classes: int = -1) -> Tensor:
    """int64 ``(*x.shape, num_classes)``: 1 at each index, 0 elsewhere; ``num_classes=-1``
    takes ``max(x) + 1``.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> F.one_hot(polygrad.tensor([0, 2])).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    x = _as_tensor(x, "one_hot")
    if x.dtype != pg.int64:
        raise RuntimeError(
            f"one_hot is only applicable to index tensor of type int64, got {x.dtype.name}"
        )
    if x.numel() and pg.min(x).item() < 0:
        raise RuntimeError("one_hot: Class values must be non-negative.")
    if num_classes == -1:
        if not x.numel():
            raise RuntimeError("one_hot: Can not infer total number of classes from empty tensor.")
        num_classes = int(pg.max(x).item()) + 1
    elif x.numel() and pg.max(x).item() >= num_classes:
        raise RuntimeError(f"one_hot: Class values must be smaller than num_classes={num_classes}.")
    with creating_like(x):
        classes = pg.arange(num_classes, dtype=pg.int64)
    return pg.astype(pg.expand_dims(x, -1) == classes, pg.int64)


def _bags(x: Tensor, offsets: Tensor | None, include_last_offset: bool) -> list[tuple[int, int]]:
    """(start, stop) of each bag in the flattened indices."""
    if x.ndim == 2:
        if offsets is not None:
            raise ValueError("embedding_bag: offsets has to be None if input is 2D")
        n, length = x.shape
        return [(i * length, (i + 1) * length) for i in range(n)]
    if x.ndim != 1 or offsets is None or offsets.ndim != 1:
        raise ValueError(
            f"embedding_bag: expected a 2-D input, or a 1-D input with 1-D offsets, got input "
            f"shape {x.shape}"
        )
    starts = [int(v) for v in offsets.tolist()]
    if starts and starts[0] != 0:
        raise RuntimeError(
            f"embedding_bag: offsets[0] has to be 0 (the first bag starts at position 0), got "
            f"{starts[0]}"
        )
    if include_last_offset:
        return list(zip(starts[:-1], starts[1:]))
    return list(zip(starts, starts[1:] + [x.shape[0]]))


def embedding_bag(
    x: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sum, mean or max of the embedding rows of each bag of indices: the rows of a 2-D
    ``input``, or the runs of a 1-D ``input`` that start at ``offsets``. Indices equal to
    ``padding_idx`` are left out (an empty bag gives zeros); ``per_sample_weights`` (mode
    ``"sum"`` only) scales each row before the sum.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> w = polygrad.tensor([[1.0], [2.0], [4.0]])
    >>> F.embedding_bag(polygrad.tensor([0, 1, 2]), w, polygrad.tensor([0, 2]), mode="sum").tolist()
    [[3.0], [4.0]]
    """
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding_bag: scale_grad_by_freq and sparse are not supported")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode={mode!r})"
            )
        if per_sample_weights.shape != x.shape:
            raise ValueError(
                f"embedding_bag: per_sample_weights of shape {per_sample_weights.shape} must "
                f"have the input's shape {x.shape}"
            )
    bags = _bags(x, offsets, include_last_offset)
    flat = pg.reshape(x, (-1,))
    rows = embedding(flat, weight, None, max_norm, norm_type)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    keep = flat != padding_idx if padding_idx is not None else None
    if per_sample_weights is not None:
        rows = rows * pg.expand_dims(pg.reshape(per_sample_weights, (-1,)), -1)
    out = []
    for start, stop in bags:
        out.append(_reduce_bag(rows[start:stop], keep, start, stop, mode))
    if not out:
        return pg.zeros_like(rows[:0])
    return pg.stack(out)


def _reduce_bag(rows: Tensor, keep: Tensor | None, start: int, stop: int, mode: str) -> Tensor:
    if keep is not None:
        kept = [i for i, k in enumerate(keep[start:stop].tolist()) if k]
        if len(kept) < stop - start:
            with creating_like(rows):
                rows = rows[pg.tensor(kept, dtype=pg.int64)]
    if mode == "sum" or rows.shape[0] == 0:  # an empty bag: zeros, as torch
        return pg.sum(rows, axis=0)
    if mode == "mean":
        return pg.mean(rows, axis=0)
    return pg.amax(rows, axis=0)
