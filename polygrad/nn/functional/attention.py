"""Scaled dot-product attention (torch's ``F.scaled_dot_product_attention``) on the fused
attention node of :mod:`polygrad.ops.attention`."""

from __future__ import annotations

import math

import polygrad as pg
from polygrad import Tensor

from ..._checks import check_probability
from ...ops import attention as _attention
from ._utils import creating_like


def _check(q: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None) -> None:
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise RuntimeError(
            "scaled_dot_product_attention: Expected query, key, and value to all be at least 2 "
            f"dimensional, but got query.dim: {q.ndim} key.dim: {k.ndim} and value.dim: "
            f"{v.ndim} instead."
        )
    if not (q.dtype == k.dtype == v.dtype):
        raise RuntimeError(
            "scaled_dot_product_attention: Expected query, key, and value to have the same "
            f"dtype, but got query.dtype: {q.dtype.name} key.dtype: {k.dtype.name} and "
            f"value.dtype: {v.dtype.name} instead."
        )
    if not q.dtype.is_floating_point:
        raise RuntimeError(
            f"scaled_dot_product_attention: expected floating-point inputs, got {q.dtype.name}"
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(
            f"scaled_dot_product_attention: query {q.shape}, key {k.shape} and value "
            f"{v.shape} do not fit: need query.size(-1) == key.size(-1) and key.size(-2) == "
            "value.size(-2)"
        )
    if attn_mask is not None and attn_mask.dtype != pg.bool and attn_mask.dtype != q.dtype:
        raise RuntimeError(
            "scaled_dot_product_attention: Expected attn_mask dtype to be bool or float or to "
            f"match query dtype, but got attn_mask.dtype: {attn_mask.dtype.name} and "
            f"query.dtype: {q.dtype.name} instead."
        )


def _broadcast(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    n = max(len(s) for s in shapes)
    padded = [(1,) * (n - len(s)) + tuple(s) for s in shapes]
    return tuple(max(d) if min(d) != 0 else 0 for d in zip(*padded))


def _repeat_heads(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """``enable_gqa``: each key/value head serves ``Hq / Hkv`` consecutive query heads."""
    hq, hk, hv = q.shape[-3], k.shape[-3], v.shape[-3]
    if hq % hk or hq % hv:
        raise RuntimeError(
            "scaled_dot_product_attention: Number of heads in key and value must divide the "
            f"number of heads in query (query {q.shape}, key {k.shape}, value {v.shape})"
        )
    if hk != hq:
        k = pg.repeat_interleave(k, hq // hk, dim=-3)
    if hv != hq:
        v = pg.repeat_interleave(v, hq // hv, dim=-3)
    return k, v


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value`` over the last two axes, as torch.

    Parameters
    ----------
    query, key, value : Tensor
        ``(..., L, E)``, ``(..., S, E)``, ``(..., S, Ev)``; leading axes broadcast.
    attn_mask : Tensor, optional
        Boolean (True = take part in attention) or float (added to the scores),
        broadcastable to ``(..., L, S)``. A query row with no allowed key gives zeros.
    dropout_p : float
        Dropout on the attention probabilities, drawn as :func:`polygrad.nn.functional.dropout`
        draws its masks (``polygrad.rand(...) >= p``), so reproducible under ``manual_seed``.
    is_causal : bool
        Query ``i`` attends to keys ``j <= i`` (top-left aligned); an error with ``attn_mask``.
    scale : float, optional
        Defaults to ``1 / sqrt(E)``.
    enable_gqa : bool
        Grouped-query attention: key/value heads (axis -3) repeated to the query's.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn.functional as F
    >>> q = polygrad.randn(2, 4, 5, 8)
    >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
    (2, 4, 5, 8)
    """
    _check(query, key, value, attn_mask)
    p = check_probability(dropout_p, "scaled_dot_product_attention")
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "scaled_dot_product_attention: Explicit attn_mask should not be set when "
            "is_causal=True"
        )
    if enable_gqa:
        key, value = _repeat_heads(query, key, value)
    L, S = query.shape[-2], key.shape[-2]
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    bias = allow = keep = None
    if attn_mask is not None:
        if attn_mask.dtype == pg.bool:
            allow = attn_mask
        else:
            bias = attn_mask
    if is_causal:
        with creating_like(query):
            allow = pg.tril(pg.ones((L, S), dtype=pg.bool))
    if p > 0.0:
        batch = _broadcast(query.shape[:-2], key.shape[:-2], value.shape[:-2])
        with creating_like(query):
            u = pg.rand(tuple(batch) + (L, S), dtype=query.dtype)
        keep = pg.astype(u >= p, query.dtype) * (1.0 / (1.0 - p)) if p < 1.0 else u * 0.0
    return _attention.scaled_dot_product_attention(query, key, value, bias, allow, keep, s)
