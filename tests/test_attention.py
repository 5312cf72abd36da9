"""Attention against torch in float64: F.scaled_dot_product_attention (masks, causal, scale,
GQA, fully masked rows, dropout against an explicit composition with the same mask)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close, from_torch

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F


def _leaves(*shapes):
    ts = [torch.randn(*s, dtype=torch.float64, requires_grad=True) for s in shapes]
    return ts, [from_torch(t.detach(), requires_grad=True) for t in ts]


def _both(ts, ps, t_out, p_out):
    u = torch.randn(t_out.shape, dtype=torch.float64)
    t_out.backward(u)
    p_out.backward(from_torch(u))
    assert_close(p_out, t_out.detach(), rtol=1e-10, atol=1e-12)
    for t, p in zip(ts, ps):
        assert_close(p.grad, t.grad, rtol=1e-10, atol=1e-12)


CASES = [
    # (q shape, kv shape, mask kind, kwargs)
    ((2, 3, 4, 8), (2, 3, 6, 8), None, {}),
    ((2, 3, 5, 8), (2, 3, 5, 8), None, {"is_causal": True}),
    ((2, 3, 4, 8), (2, 3, 6, 8), "bool", {"scale": 0.3}),
    ((2, 3, 4, 8), (2, 3, 6, 8), "float", {}),
    ((3, 4, 8), (3, 6, 8), "pad", {}),
    ((2, 4, 5, 8), (2, 2, 5, 8), None, {"enable_gqa": True, "is_causal": True}),
    ((4, 8), (6, 8), "bool", {}),
]


@pytest.mark.parametrize("qs,ks,mask,kw", CASES)
def test_sdpa_matches_torch(qs, ks, mask, kw):
    (tq, tk, tv), (pq, pk, pv) = _leaves(qs, ks, ks)
    L, S = qs[-2], ks[-2]
    tm = pm = None
    if mask == "bool":
        tm = torch.rand(L, S) > 0.4
        tm[1] = False  # a fully masked row: zeros, as torch
    elif mask == "float":
        tm = torch.randn(L, S, dtype=torch.float64, requires_grad=True)
    elif mask == "pad":  # a key padding mask broadcast over queries, one row padded out
        tm = torch.ones(qs[0], 1, S, dtype=torch.bool)
        tm[0, :, -2:] = False
    if tm is not None:
        pm = from_torch(tm.detach(), requires_grad=tm.requires_grad)
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, **kw)
    p_out = F.scaled_dot_product_attention(pq, pk, pv, attn_mask=pm, **kw)
    ts, ps = [tq, tk, tv], [pq, pk, pv]
    if mask == "float":
        ts, ps = ts + [tm], ps + [pm]
    _both(ts, ps, t_out, p_out)


def test_sdpa_causal_with_padding_mask_as_one_bool_mask():
    """Causal attention with a key padding mask: torch's usual composition (a bool mask)."""
    (tq, tk, tv), (pq, pk, pv) = _leaves((2, 2, 5, 4), (2, 2, 5, 4), (2, 2, 5, 4))
    pad = torch.ones(2, 1, 1, 5, dtype=torch.bool)
    pad[1, ..., 3:] = False
    tm = torch.ones(5, 5, dtype=torch.bool).tril() & pad
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm)
    p_out = F.scaled_dot_product_attention(pq, pk, pv, attn_mask=from_torch(tm))
    _both([tq, tk, tv], [pq, pk, pv], t_out, p_out)


def test_sdpa_errors():
    q = pg.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=pg.ones(3, 3), is_causal=True)
    with pytest.raises(RuntimeError, match="dtype"):
        F.scaled_dot_product_attention(q, pg.astype(q, pg.float64), q)
    with pytest.raises(RuntimeError, match="at least 2"):
        F.scaled_dot_product_attention(q[0, 0], q[0, 0], q[0, 0])
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=pg.ones(3, 3, dtype=pg.int64))
    with pytest.raises(RuntimeError, match="divide"):
        g = pg.randn(1, 3, 2, 4)
        F.scaled_dot_product_attention(g, g[:, :2], g[:, :2], enable_gqa=True)


def test_sdpa_dropout_is_the_composition_with_the_same_mask():
    p = 0.4
    q, k, v = (pg.randn(2, 3, 6, 4, dtype=pg.float64) for _ in range(3))
    pg.manual_seed(7)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=p)
    pg.manual_seed(7)
    keep = pg.astype(pg.rand((2, 3, 6, 6), dtype=pg.float64) >= p, pg.float64) / (1 - p)
    tq, tk, tv = (torch.tensor(x.tolist(), dtype=torch.float64) for x in (q, k, v))
    attn = torch.softmax(tq @ tk.transpose(-1, -2) / 2.0, dim=-1)
    t_keep = torch.tensor(keep.tolist(), dtype=torch.float64)
    assert_close(out, (attn * t_keep) @ tv, rtol=1e-10, atol=1e-12)
    kept = float(pg.mean(pg.astype(keep > 0, pg.float64)))
    assert abs(kept - (1 - p)) < 0.15  # 216 draws: the kept fraction near 1 - p
    big = F.scaled_dot_product_attention(
        pg.zeros(1, 1, 200, 4), pg.zeros(1, 1, 200, 4), pg.ones(1, 1, 200, 1), dropout_p=p
    )  # uniform attention on ones: each output is the kept fraction times 1 / (1 - p)
    assert abs(float(pg.mean(big)) - 1.0) < 0.02


def _mha_pair(*args, **kwargs):
    tm = torch.nn.MultiheadAttention(*args, **kwargs).double()
    m = nn.MultiheadAttention(*args, **kwargs).double()
    assert list(m.state_dict()) == list(tm.state_dict())
    m.load_state_dict({k: from_torch(v) for k, v in tm.state_dict().items()})
    return tm, m


MHA_CASES = [
    # (constructor kwargs, forward kwargs, self-attention, unbatched)
    ({}, {}, True, False),
    ({"batch_first": True}, {"need_weights": False, "mask": "causal"}, True, False),
    ({"kdim": 5, "vdim": 3}, {"average_attn_weights": False, "pad": True}, False, False),
    ({"add_bias_kv": True, "add_zero_attn": True}, {"pad": True, "mask": "float"}, False, False),
    ({"bias": False}, {"need_weights": False, "pad": True}, False, True),
]


@pytest.mark.parametrize("ckw,fkw,self_attn,unbatched", MHA_CASES)
def test_multihead_attention_matches_torch(ckw, fkw, self_attn, unbatched):
    E, H, L, S, N = 8, 2, 4, 5, 3
    tm, m = _mha_pair(E, H, **ckw)
    fkw = dict(fkw)
    mask_kind, pad = fkw.pop("mask", None), fkw.pop("pad", False)
    S = L if self_attn else S

    def shape(n, d):
        if unbatched:
            return (n, d)
        return (N, n, d) if ckw.get("batch_first") else (n, N, d)

    tq = torch.randn(*shape(L, E), dtype=torch.float64, requires_grad=True)
    if self_attn:
        tk = tv = tq
    else:
        tk = torch.randn(*shape(S, ckw.get("kdim", E)), dtype=torch.float64, requires_grad=True)
        tv = torch.randn(*shape(S, ckw.get("vdim", E)), dtype=torch.float64, requires_grad=True)
    pq = from_torch(tq.detach(), requires_grad=True)
    pk = pv = pq
    if not self_attn:
        pk, pv = (from_torch(t.detach(), requires_grad=True) for t in (tk, tv))
    t_args, p_args = {}, {}
    if mask_kind == "causal":
        t_args["attn_mask"] = torch.nn.Transformer.generate_square_subsequent_mask(
            L, dtype=torch.float64
        )
        t_args["is_causal"] = True
    elif mask_kind == "float":
        t_args["attn_mask"] = torch.randn(L, S, dtype=torch.float64)
    if pad:
        kpm = torch.zeros(*(() if unbatched else (N,)), S, dtype=torch.bool)
        kpm[..., -1] = True
        t_args["key_padding_mask"] = kpm
    p_args = {k: (from_torch(v) if isinstance(v, torch.Tensor) else v) for k, v in t_args.items()}
    t_out, t_w = tm(tq, tk, tv, **t_args, **fkw)
    p_out, p_w = m(pq, pk, pv, **p_args, **fkw)
    if t_w is None:
        assert p_w is None
    else:
        assert_close(p_w, t_w.detach(), rtol=1e-10, atol=1e-12)
    ts, ps = [tq] if self_attn else [tq, tk, tv], [pq] if self_attn else [pq, pk, pv]
    _both(ts, ps, t_out, p_out)
    tp = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        assert_close(p.grad, tp[name].grad, rtol=1e-10, atol=1e-12)


def test_multihead_attention_initialisation():
    m = nn.MultiheadAttention(64, 4, add_bias_kv=True)
    w = np.asarray(m.in_proj_weight.tolist())
    bound = (6.0 / (64 + 3 * 64)) ** 0.5  # xavier_uniform on (192, 64)
    assert w.max() <= bound and w.min() >= -bound
    assert abs(w.std() - bound / 3**0.5) < 0.05 * bound
    assert float(pg.amax(pg.abs(m.in_proj_bias))) == 0.0
    assert float(pg.amax(pg.abs(m.out_proj.bias))) == 0.0
    assert m.bias_k.shape == (1, 1, 64)


def _load(tm, m):
    assert list(m.state_dict()) == list(tm.state_dict())
    m.load_state_dict({k: from_torch(v) for k, v in tm.state_dict().items()})
    tm.eval()
    m.eval()


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"norm_first": True, "activation": "gelu", "batch_first": True},
        {"activation": torch.nn.functional.silu, "bias": False},
    ],
)
def test_transformer_matches_torch(kw):
    E, H, FF, L, S, N = 8, 2, 16, 4, 5, 3
    pkw = dict(kw)
    if callable(kw.get("activation")):
        pkw["activation"] = F.silu
    tm = torch.nn.Transformer(E, H, 2, 1, FF, dropout=0.0, **kw).double()
    m = nn.Transformer(E, H, 2, 1, FF, dropout=0.0, **pkw).double()
    _load(tm, m)
    bf = kw.get("batch_first", False)
    ts = torch.randn(*((N, S, E) if bf else (S, N, E)), dtype=torch.float64, requires_grad=True)
    tt = torch.randn(*((N, L, E) if bf else (L, N, E)), dtype=torch.float64, requires_grad=True)
    ps, pt = (from_torch(t.detach(), requires_grad=True) for t in (ts, tt))
    t_mask = torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64)
    p_mask = nn.Transformer.generate_square_subsequent_mask(L, dtype=pg.float64)
    assert_close(p_mask, t_mask)
    kpm = torch.zeros(N, S, dtype=torch.bool)
    kpm[0, -2:] = True
    t_out = tm(ts, tt, tgt_mask=t_mask, src_key_padding_mask=kpm,
               memory_key_padding_mask=kpm, tgt_is_causal=True)  # fmt: skip
    p_out = m(ps, pt, tgt_mask=p_mask, src_key_padding_mask=from_torch(kpm),
              memory_key_padding_mask=from_torch(kpm), tgt_is_causal=True)  # fmt: skip
    _both([ts, tt], [ps, pt], t_out, p_out)
    tp = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        assert_close(p.grad, tp[name].grad, rtol=1e-9, atol=1e-11)


def test_encoder_stack_with_norm_matches_torch():
    layer_t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, norm_first=True)
    tm = torch.nn.TransformerEncoder(layer_t, 2, norm=torch.nn.LayerNorm(8)).double()
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, norm_first=True)
    m = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8)).double()
    _load(tm, m)
    assert "layers.1.self_attn.in_proj_weight" in m.state_dict()
    tx = torch.randn(5, 2, 8, dtype=torch.float64, requires_grad=True)
    px = from_torch(tx.detach(), requires_grad=True)
    mask = torch.rand(5, 5) > 0.8  # bool: True = not allowed (diagonal kept)
    mask.fill_diagonal_(False)
    _both([tx], [px], tm(tx, mask=mask), m(px, mask=from_torch(mask)))
