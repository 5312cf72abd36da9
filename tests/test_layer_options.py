"""Layer options the main layer suites cover thinly, against torch in float64: SDPA's causal
mask with L != S, the recurrent cells without bias, partial dropout between recurrent layers,
and a TransformerDecoder on its own with every mask."""

from __future__ import annotations

import pytest
import torch
from helpers import assert_close, from_torch

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F


def _leaves(*shapes):
    ts = [torch.randn(*s, dtype=torch.float64, requires_grad=True) for s in shapes]
    return ts, [from_torch(t.detach(), requires_grad=True) for t in ts]


def _load(tm, m):
    m.double().load_state_dict({k: from_torch(v) for k, v in tm.state_dict().items()})
    assert sorted(m.state_dict()) == sorted(tm.state_dict())
    return m


@pytest.mark.parametrize("L, S", [(3, 5), (5, 3), (1, 4)])
def test_sdpa_causal_with_different_query_and_key_lengths(L, S):
    """torch's causal mask for L != S is the top-left lower triangle of (L, S)."""
    (q, k, v), (pq, pk, pv) = _leaves((2, 2, L, 4), (2, 2, S, 4), (2, 2, S, 4))
    ty = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    py = F.scaled_dot_product_attention(pq, pk, pv, is_causal=True)
    assert_close(py, ty)
    g = torch.randn(ty.shape, dtype=torch.float64)
    ty.backward(g)
    py.backward(from_torch(g))
    for p, t in ((pq, q), (pk, k), (pv, v)):
        assert_close(p.grad, t.grad)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_without_bias(kind):
    tm = getattr(torch.nn, kind)(3, 4, bias=False).double()
    m = _load(tm, getattr(nn, kind)(3, 4, bias=False))
    assert "bias_ih" not in m.state_dict()
    (x,), (px,) = _leaves((5, 3))
    to, po = tm(x), m(px)
    to, po = (to, po) if kind != "LSTMCell" else (to[0] + 2 * to[1], po[0] + 2 * po[1])
    assert_close(po, to)
    to.sum().backward()
    po.sum().backward()
    assert_close(px.grad, x.grad)
    assert_close(m.weight_ih.grad, tm.weight_ih.grad)
    assert_close(m.weight_hh.grad, tm.weight_hh.grad)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_partial_dropout_only_between_layers(kind):
    """dropout=0.5 in training: the first layer's final state is untouched (dropout acts on
    what goes to the next layer), the top layer's output is not dropped (its last step is
    h_n of the top layer), the second layer sees dropped inputs; eval equals torch."""
    tm = getattr(torch.nn, kind)(3, 4, num_layers=2, dropout=0.5).double()
    m = _load(tm, getattr(nn, kind)(3, 4, num_layers=2, dropout=0.5))
    x = from_torch(torch.randn(6, 2, 3, dtype=torch.float64))
    with pg.no_grad():
        m.eval()
        out_eval, h_eval = m(x)
        h_eval = h_eval[0] if kind == "LSTM" else h_eval
        m.train()
        pg.manual_seed(1)
        out, h = m(x)
        h = h[0] if kind == "LSTM" else h
    assert_close(h[0], h_eval[0])  # layer 0's own state: no dropout
    assert_close(out[-1], h[1])  # the top layer's output is not dropped
    assert (out - out_eval).abs().max().item() > 1e-3  # layer 1 saw dropped inputs
    tm.eval()
    with torch.no_grad():
        t_out, _ = tm(torch.from_numpy(x.numpy()))
    assert_close(out_eval, t_out)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_decoder_alone_with_masks(norm_first):
    def make(lib):
        layer = lib.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                            norm_first=norm_first)
        return lib.TransformerDecoder(layer, 2, norm=lib.LayerNorm(8))

    tm = make(torch.nn).double()
    m = _load(tm, make(nn))
    (tgt, mem), (ptgt, pmem) = _leaves((2, 5, 8), (2, 6, 8))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    kpm = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    tpm = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    kw = dict(tgt_is_causal=True)
    ty = tm(tgt, mem, tgt_mask=mask, memory_key_padding_mask=kpm, tgt_key_padding_mask=tpm, **kw)
    py = m(ptgt, pmem, tgt_mask=from_torch(mask), memory_key_padding_mask=from_torch(kpm),
           tgt_key_padding_mask=from_torch(tpm), **kw)
    assert_close(py, ty)
    g = torch.randn(ty.shape, dtype=torch.float64)
    ty.backward(g)
    py.backward(from_torch(g))
    assert_close(ptgt.grad, tgt.grad)
    assert_close(pmem.grad, mem.grad)
    for name, p in m.named_parameters():
        assert_close(p.grad, dict(tm.named_parameters())[name].grad)


@pytest.mark.parametrize(
    "grad, batch_first, padding, final_norm",
    [(False, True, "end", True), (False, True, "end", False), (True, True, "end", True),
     (False, False, "end", True), (False, True, "middle", True), (False, True, "float", True)],
)
def test_transformer_encoder_inference_padding_as_torch(grad, batch_first, padding, final_norm):
    """torch's encoder takes its nested-tensor path in inference (eval, no gradient, batch
    first, padding at the ends): padded positions come out 0 before the final norm. polygrad
    gives the same outputs on both of torch's paths; the constructor warns as torch's."""
    def make(lib):
        layer = lib.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=batch_first)
        return lib.TransformerEncoder(layer, 2, norm=lib.LayerNorm(8) if final_norm else None)

    with pytest.warns(UserWarning) if not batch_first else _no_warning():
        m = make(nn)
    tm = make(torch.nn).double().eval()
    m = _load(tm, m).eval()
    assert m.use_nested_tensor == tm.use_nested_tensor
    src = torch.randn((2, 5, 8) if batch_first else (5, 2, 8), dtype=torch.float64)
    pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    if padding == "middle":
        pad = torch.tensor([[False] * 5, [False, True, False, False, True]])
    mask = pad if padding != "float" else pad.double() * -1e9
    with torch.set_grad_enabled(grad), pg.set_grad_enabled(grad):
        ty = tm(src, src_key_padding_mask=mask)
        py = m(from_torch(src), src_key_padding_mask=from_torch(mask))
    assert_close(py.detach(), ty.detach())


class _no_warning:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        self._w.__exit__(*exc)
