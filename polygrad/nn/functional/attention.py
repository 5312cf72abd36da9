"""Scaled dot-product attention (torch's ``F.scaled_dot_product_attention``) on the fused
attention node of :mod:`polygrad.ops.attention`."""

from __future__ import annotations

import math

import polygrad as pg
from polygrad import Tensor

from ..._checks import check_probability
from ...ops import attention as _attention
from ._utils import creating_like
from .activation import softmax
from .dropout import dropout
from .linear import linear


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


def _check_broadcast(
    q: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None, enable_gqa: bool
) -> None:
    """The batch axes of query, key and value broadcast together, and ``attn_mask`` to
    ``(..., L, S)``: a RuntimeError naming the shapes (torch's type), not a backend's."""
    batch = [tuple(t.shape[:-2]) for t in (q, k, v)]
    shapes = batch + ([] if attn_mask is None else [tuple(attn_mask.shape)])
    full = [(1,) * (8 - len(s)) + s for s in batch]
    ok = all(len({d for d in dims if d != 1}) <= 1 for dims in zip(*full))
    if ok and attn_mask is not None:
        want = (1,) * 8 + tuple(_broadcast(*batch)) + (q.shape[-2], k.shape[-2])
        m = (1,) * (len(want) - attn_mask.ndim) + tuple(attn_mask.shape)
        ok = all(a in (1, b) for a, b in zip(m, want[-len(m) :]))
    if not ok:
        hint = "" if enable_gqa else " (different head counts need enable_gqa=True)"
        raise RuntimeError(
            "scaled_dot_product_attention: the batch axes of query, key, value and the shape "
            f"of attn_mask do not broadcast{hint}: query {q.shape}, key {k.shape}, value "
            f"{v.shape}, attn_mask {None if attn_mask is None else attn_mask.shape}; shapes "
            f"{shapes}"
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
    try:
        p = check_probability(dropout_p, "scaled_dot_product_attention")
    except ValueError as e:  # torch's check here is a RuntimeError
        raise RuntimeError(str(e)) from None
    if is_causal and attn_mask is not None:
        raise RuntimeError(
            "scaled_dot_product_attention: Explicit attn_mask should not be set when "
            "is_causal=True"
        )
    if enable_gqa:
        key, value = _repeat_heads(query, key, value)
    L, S = query.shape[-2], key.shape[-2]
    _check_broadcast(query, key, value, attn_mask, enable_gqa)
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


def _as_float_mask(mask: Tensor | None, like: Tensor, who: str) -> Tensor | None:
    """torch's MHA masks: bool True = *not* allowed, becomes -inf; a float mask is added."""
    if mask is None:
        return None
    if mask.dtype == pg.bool:
        return pg.where(mask, float("-inf"), 0.0).to(like.dtype)
    if not mask.dtype.is_floating_point:
        raise AssertionError(
            f"multi_head_attention_forward: only bool and floating types of {who} are "
            f"supported, got {mask.dtype.name}"
        )
    return mask


def _pad_keys(mask: Tensor, n: int) -> Tensor:
    """``n`` zero (allowed) columns for the keys ``bias_k``/``add_zero_attn`` append."""
    return pg.cat([mask] + [pg.zeros_like(mask[..., :1])] * n, dim=-1)


def _check_mha_shapes(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim: int,
    num_heads: int,
    key_padding_mask: Tensor | None,
    attn_mask: Tensor | None,
    separate: bool,
) -> None:
    """torch's checks, with its error types: AssertionError for the inputs' shapes and the
    padding mask, RuntimeError for ``attn_mask``. Inputs are already batched (L, N, E)."""
    (L, N, E), S = query.shape, key.shape[0]
    if query.ndim != 3 or key.ndim != 3 or value.ndim != 3:
        raise AssertionError(
            "multi_head_attention_forward: query, key and value must all be 2-D (unbatched) "
            f"or 3-D (batched), got {query.shape}, {key.shape} and {value.shape}"
        )
    if E != embed_dim:
        raise AssertionError(
            f"multi_head_attention_forward: was expecting embedding dimension of {embed_dim}, "
            f"but got {E} (query {query.shape})"
        )
    if embed_dim % num_heads:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if separate and key.shape[:2] != value.shape[:2]:
        raise AssertionError(
            f"multi_head_attention_forward: key's sequence and batch dims {key.shape[:2]} do "
            f"not match value's {value.shape[:2]}"
        )
    if not separate and key.shape != value.shape:
        raise AssertionError(
            f"multi_head_attention_forward: key shape {key.shape} does not match value shape "
            f"{value.shape}"
        )
    if key.shape[1] != N:
        raise AssertionError(
            f"multi_head_attention_forward: query {query.shape} and key {key.shape} have "
            "different batch sizes"
        )
    if key_padding_mask is not None and key_padding_mask.shape != (N, S):
        raise AssertionError(
            f"multi_head_attention_forward: expecting key_padding_mask shape of {(N, S)}, but "
            f"got {key_padding_mask.shape}"
        )
    if attn_mask is not None:
        want = {2: (L, S), 3: (N * num_heads, L, S)}.get(attn_mask.ndim)
        if want is None:
            raise RuntimeError(
                f"multi_head_attention_forward: attn_mask's dimension {attn_mask.ndim} is not "
                "supported (2 or 3)"
            )
        if attn_mask.shape != want:
            raise RuntimeError(
                f"multi_head_attention_forward: The shape of the {attn_mask.ndim}D attn_mask "
                f"is {attn_mask.shape}, but should be {want}."
            )


def _in_projection(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    separate: tuple | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """q, k, v projected; one matmul for all three in self-attention with a packed weight."""
    e = query.shape[-1]
    b = in_proj_bias
    bq, bk, bv = (None,) * 3 if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
    if separate is None:
        w = in_proj_weight
        if query is key and key is value:
            qkv = linear(query, w, b)
            return qkv[..., :e], qkv[..., e : 2 * e], qkv[..., 2 * e :]
        wq, wk, wv = w[:e], w[e : 2 * e], w[2 * e :]
    else:
        wq, wk, wv = separate
    return linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on explicit weights, torch's ``F.multi_head_attention_forward``
    (what :class:`polygrad.nn.MultiheadAttention` calls).

    Parameters
    ----------
    query, key, value : Tensor
        ``(L, N, E)``, ``(S, N, kdim)``, ``(S, N, vdim)``, or unbatched ``(L, E)`` ...
    embed_dim_to_check, num_heads : int
        ``E`` (checked against the query) and the number of heads ``H`` (dividing ``E``).
    in_proj_weight, in_proj_bias : Tensor or None
        The packed ``(3E, E)`` q/k/v projection and its ``(3E,)`` bias.
    bias_k, bias_v : Tensor or None
        ``(1, 1, E)`` rows appended to the projected keys and values.
    add_zero_attn : bool
        Append a zero key and value after the projection (and ``bias_k``).
    dropout_p : float
        Dropout on the attention weights, applied only when ``training``.
    out_proj_weight, out_proj_bias : Tensor
        The output projection.
    training : bool
    key_padding_mask : Tensor, optional
        ``(N, S)``: bool True = ignore that key, or float added to its scores.
    need_weights : bool
        Also return the attention weights (after dropout, as torch): ``(N, L, S)`` averaged
        over heads with ``average_attn_weights``, else ``(N, H, L, S)``.
    attn_mask : Tensor, optional
        ``(L, S)`` or ``(N * H, L, S)``, bool True = not allowed, or float added.
    use_separate_proj_weight : bool
        Use ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` instead of the packed one.
    static_k, static_v : Tensor, optional
        ``(N * H, S, E / H)`` keys / values used as they are instead of projecting ``key`` /
        ``value`` (then ``bias_k`` / ``bias_v`` must be None).
    average_attn_weights : bool
    is_causal : bool
        A hint that ``attn_mask`` is causal; the mask is what is used. Without a mask, an
        error, as torch.

    Returns
    -------
    (Tensor, Tensor or None)
        The output ``(L, N, E)`` (``(L, E)`` unbatched) and the weights or None.
    """
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "multi_head_attention_forward: Need attn_mask if specifying the is_causal hint. "
            "You may use the Transformer module method `generate_square_subsequent_mask` to "
            "create this mask."
        )
    unbatched = query.ndim == 2
    if unbatched:
        same = query is key and key is value
        query, key, value = (pg.unsqueeze(t, 1) for t in (query, key, value))
        if same:
            key = value = query
        if key_padding_mask is not None:
            key_padding_mask = pg.unsqueeze(key_padding_mask, 0)
        if attn_mask is not None and attn_mask.ndim == 3:
            raise RuntimeError(
                "multi_head_attention_forward: an unbatched query takes a 2-D attn_mask, got "
                f"{attn_mask.shape}"
            )
    sep = (q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight else None
    _check_mha_shapes(
        query, key, value, embed_dim_to_check, num_heads, key_padding_mask, attn_mask,
        sep is not None,
    )  # fmt: skip
    L, N, E = query.shape
    H = num_heads
    D = E // H
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, sep)
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("multi_head_attention_forward: bias cannot be added to static "
                                 "key or value.")  # fmt: skip
        k = pg.cat([k, bias_k.expand(1, N, E)], dim=0)
        v = pg.cat([v, bias_v.expand(1, N, E)], dim=0)
    elif (bias_k is None) != (bias_v is None):
        raise AssertionError("multi_head_attention_forward: bias_k and bias_v go together")
    mask = _as_float_mask(attn_mask, q, "attn_mask")
    pad = _as_float_mask(key_padding_mask, q, "key_padding_mask")
    extra = (bias_k is not None) + bool(add_zero_attn)

    def heads(t: Tensor, static: Tensor | None, who: str) -> Tensor:  # -> (N, H, S, D)
        if static is None:
            return pg.permute(pg.reshape(t, (t.shape[0], N, H, D)), (1, 2, 0, 3))
        if static.ndim != 3 or static.shape[0] != N * H or static.shape[2] != D:
            raise AssertionError(
                f"multi_head_attention_forward: expecting {who} of shape ({N * H}, S, {D}), "
                f"got {static.shape}"
            )
        return pg.reshape(static, (N, H, static.shape[1], D))

    q, k, v = heads(q, None, "q"), heads(k, static_k, "static_k"), heads(v, static_v, "static_v")
    if add_zero_attn:
        z = pg.zeros_like(k[:, :, :1])
        k, v = pg.cat([k, z], dim=2), pg.cat([v, pg.zeros_like(v[:, :, :1])], dim=2)
    S = k.shape[2]
    bias = None
    if mask is not None:
        mask = pg.reshape(mask, (1, 1) + mask.shape if mask.ndim == 2 else (N, H, L, -1))
        bias = _pad_keys(mask, extra) if extra else mask
    if pad is not None:
        pad = pg.reshape(_pad_keys(pad, extra) if extra else pad, (N, 1, 1, S))
        bias = pad if bias is None else bias + pad
    p = float(dropout_p) if training else 0.0
    if need_weights:
        # NOTE: torch scales q by sqrt(1 / D) (not 1 / sqrt(D): they differ in the last bit)
        scores = pg.matmul(q * math.sqrt(1.0 / D), pg.transpose(k, -2, -1))
        w = softmax(scores if bias is None else scores + bias, dim=-1)
        if p > 0:
            w = dropout(w, p)  # torch returns the weights after dropout
        out = pg.matmul(w, v)
    else:
        w = None
        out = scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p)
    out = pg.reshape(pg.permute(out, (2, 0, 1, 3)), (L, N, E))
    out = linear(out, out_proj_weight, out_proj_bias)
    if w is not None and average_attn_weights:
        w = pg.mean(w, dim=1)
    if unbatched:
        out = pg.squeeze(out, 1)
        w = None if w is None else pg.squeeze(w, 0)
    return out, w
