"""MultiheadAttention, as torch's module: parameter names, shapes, initialisation, masks."""

from __future__ import annotations

from typing import Any

import polygrad as pg
from polygrad import Tensor

from .. import functional as F
from .. import init
from .linear import Linear
from .module import Module, Parameter


def _as_float_mask(mask: Tensor | None, like: Tensor, who: str) -> Tensor | None:
    """torch's MHA masks: bool True = *not* allowed, becomes -inf; a float mask is added."""
    if mask is None:
        return None
    if mask.dtype == pg.bool:
        return pg.where(mask, float("-inf"), 0.0).to(like.dtype)
    if not mask.dtype.is_floating_point:
        raise AssertionError(
            f"MultiheadAttention: only bool and floating types of {who} are "
            f"supported, got {mask.dtype.name}"
        )
    return mask


def _pad_keys(mask: Tensor, n: int) -> Tensor:
    """``n`` zero (allowed) columns for the keys ``add_bias_kv``/``add_zero_attn`` append."""
    return pg.cat([mask] + [pg.zeros_like(mask[..., :1])] * n, dim=-1)


class MultiheadAttention(Module):
    """Multi-head attention ``out_proj(concat_h softmax(q_h k_h^T / sqrt(d) + mask) v_h)``.

    Parameters follow torch: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` when key and
    value have ``embed_dim`` features, else ``q_proj_weight``, ``k_proj_weight`` and
    ``v_proj_weight``; ``out_proj`` (a Linear); ``bias_k``/``bias_v`` with ``add_bias_kv``.
    Projections are Xavier-uniform, biases zero, ``bias_k``/``bias_v`` Xavier-normal.

    Examples
    --------
    >>> import polygrad
    >>> import polygrad.nn as nn
    >>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = polygrad.randn(3, 5, 8)
    >>> out, w = mha(x, x, x)
    >>> out.shape, w.shape
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                f"and num_heads={num_heads} instead"
            )
        if embed_dim % num_heads:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, float(dropout)
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.batch_first, self.head_dim = batch_first, embed_dim // num_heads
        self.add_zero_attn = add_zero_attn

        def new(*shape: int) -> Parameter:
            return Parameter(pg.empty(*shape, dtype=dtype, device=device))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = new(3 * embed_dim, embed_dim)
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.q_proj_weight = new(embed_dim, embed_dim)
            self.k_proj_weight = new(embed_dim, self.kdim)
            self.v_proj_weight = new(embed_dim, self.vdim)
            self.in_proj_weight = None
        self.in_proj_bias = new(3 * embed_dim) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k, self.bias_v = new(1, 1, embed_dim), new(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple:
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None,) * 3 if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:  # self-attention: one matmul for q, k and v
                qkv = F.linear(query, w, b)
                return qkv[..., :e], qkv[..., e : 2 * e], qkv[..., 2 * e :]
            wq, wk, wv = w[:e], w[e : 2 * e], w[2 * e :]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` (L, N, E) to ``key``/``value`` (S, N, kdim/vdim), or
        (N, L, E) with ``batch_first``, or unbatched (L, E). ``key_padding_mask`` (N, S) and
        ``attn_mask`` (L, S) or (N * num_heads, L, S): bool True = ignore, float = added.
        Returns (output, weights averaged over heads, (N, L, S), or per head, or None)."""
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "MultiheadAttention: Need attn_mask if specifying the is_causal hint. You may "
                "use the Transformer module method `generate_square_subsequent_mask` to "
                "create this mask."
            )
        unbatched = query.ndim == 2
        same = query is key and key is value
        if unbatched:
            query, key, value = (pg.unsqueeze(t, 1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = pg.unsqueeze(key_padding_mask, 0)
        elif self.batch_first:
            query, key, value = (pg.transpose(t, 0, 1) for t in (query, key, value))
        if same:
            key = value = query
        L, N, E = query.shape
        H, D = self.num_heads, self.head_dim
        q, k, v = self._project(query, key, value)
        if self.bias_k is not None:
            k = pg.cat([k, self.bias_k.expand(1, N, E)], dim=0)
            v = pg.cat([v, self.bias_v.expand(1, N, E)], dim=0)
        mask = _as_float_mask(attn_mask, q, "attn_mask")
        pad = _as_float_mask(key_padding_mask, q, "key_padding_mask")
        extra = (self.bias_k is not None) + bool(self.add_zero_attn)

        def heads(t: Tensor) -> Tensor:  # (S, N, E) -> (N, H, S, D)
            return pg.permute(pg.reshape(t, (t.shape[0], N, H, D)), (1, 2, 0, 3))

        q, k, v = heads(q), heads(k), heads(v)
        if self.add_zero_attn:
            z = pg.zeros_like(k[:, :, :1])
            k, v = pg.cat([k, z], dim=2), pg.cat([v, z], dim=2)
        S = k.shape[2]
        bias = None
        if mask is not None:
            mask = pg.reshape(mask, (1, 1) + mask.shape if mask.ndim == 2 else (N, H, L, -1))
            bias = _pad_keys(mask, extra) if extra else mask
        if pad is not None:
            pad = pg.reshape(_pad_keys(pad, extra) if extra else pad, (N, 1, 1, S))
            bias = pad if bias is None else bias + pad
        p = self.dropout if self.training else 0.0
        if need_weights:
            scores = pg.matmul(q * (1.0 / D**0.5), pg.transpose(k, -2, -1))
            w = F.softmax(scores if bias is None else scores + bias, dim=-1)
            out = pg.matmul(F.dropout(w, p) if p > 0 else w, v)
        else:
            w = None
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p)
        out = pg.reshape(pg.permute(out, (2, 0, 1, 3)), (L, N, E))
        out = self.out_proj(out)
        if w is not None and average_attn_weights:
            w = pg.mean(w, dim=1)
        if unbatched:
            out = pg.squeeze(out, 1)
            w = None if w is None else pg.squeeze(w, 0)
        elif self.batch_first:
            out = pg.transpose(out, 0, 1)
        return out, w
