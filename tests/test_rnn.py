"""Recurrent layers and nn.utils.rnn against torch: RNN, LSTM, GRU, the cells, packing.

Every layer is built in torch (float64), its state dict is loaded into the polygrad module,
and forward values, every parameter's gradient and the gradients of the input and initial
states are compared under a random upstream gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close, from_torch

import polygrad as pg
import polygrad.nn as nn
from polygrad.nn.utils import rnn as pg_rnn
from polygrad.ops import recurrent

TORCH = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}
CELLS = {"RNNCell": torch.nn.RNNCell, "LSTMCell": torch.nn.LSTMCell, "GRUCell": torch.nn.GRUCell}


def _pair(kind: str, *args, **kwargs):
    """A float64 torch module and the polygrad one with its state dict loaded."""
    tm = {**TORCH, **CELLS}[kind](*args, **kwargs).double()
    m = getattr(nn, kind)(*args, **kwargs).double()
    m.load_state_dict({k: from_torch(v) for k, v in tm.state_dict().items()})
    return tm, m


def _leaf(a: torch.Tensor):
    """The same values as a torch leaf and a polygrad leaf, both requiring grad."""
    a = a.double()
    return a.clone().requires_grad_(True), from_torch(a, requires_grad=True)


def _flat(outs) -> list:
    out = []
    for o in outs:
        if isinstance(o, tuple):
            out.extend(_flat(o))
        else:
            out.append(o)
    return out


def _backward(t_outs: list, p_outs: list) -> None:
    """Backpropagate the same random upstream gradient through both sides."""
    t_loss = 0
    p_loss = 0
    for t, p in zip(t_outs, p_outs):
        u = torch.randn(t.shape, dtype=torch.float64)
        t_loss = t_loss + (t * u).sum()
        p_loss = p_loss + (p * from_torch(u)).sum()
    t_loss.backward()
    p_loss.backward()


def _compare_grads(tm, m, pairs) -> None:
    for (name, tp), (pname, p) in zip(tm.named_parameters(), m.named_parameters()):
        assert name == pname
        assert_close(p.grad, tp.grad, rtol=1e-9, atol=1e-11)
    for t, p in pairs:
        assert_close(p.grad, t.grad, rtol=1e-9, atol=1e-11)


LAYER_CASES = [
    ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=2), True),
    ("LSTM", dict(batch_first=True, bias=False), True),
    ("LSTM", dict(proj_size=3), False),
    ("GRU", dict(num_layers=2, bidirectional=True), True),
    ("GRU", dict(batch_first=True, bias=False), False),
    ("RNN", dict(nonlinearity="relu", num_layers=2), True),
    ("RNN", dict(bidirectional=True, batch_first=True), True),
]


@pytest.mark.parametrize("kind,opts,with_hx", LAYER_CASES)
def test_layer_matches_torch(kind, opts, with_hx):
    tm, m = _pair(kind, 3, 5, **opts)
    steps, batch = 4, 3
    shape = (batch, steps, 3) if opts.get("batch_first") else (steps, batch, 3)
    tx, px = _leaf(torch.randn(shape))
    pairs = [(tx, px)]
    t_args, p_args = [tx], [px]
    if with_hx:
        dirs = 2 if opts.get("bidirectional") else 1
        n = opts.get("num_layers", 1) * dirs
        th, ph = _leaf(torch.randn(n, batch, opts.get("proj_size") or 5))
        pairs.append((th, ph))
        if kind == "LSTM":
            tc, pc = _leaf(torch.randn(n, batch, 5))
            pairs.append((tc, pc))
            t_args.append((th, tc))
            p_args.append((ph, pc))
        else:
            t_args.append(th)
            p_args.append(ph)
    t_outs, p_outs = _flat(tm(*t_args)), _flat(m(*p_args))
    for t, p in zip(t_outs, p_outs):
        assert_close(p, t, rtol=1e-10, atol=1e-12)
    _backward(t_outs, p_outs)
    _compare_grads(tm, m, pairs)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_unbatched_input(kind):
    tm, m = _pair(kind, 3, 4, num_layers=2)
    tx, px = _leaf(torch.randn(5, 3))
    th, ph = _leaf(torch.randn(2, 4))
    if kind == "LSTM":
        tc, pc = _leaf(torch.randn(2, 4))
        t_outs, p_outs = _flat(tm(tx, (th, tc))), _flat(m(px, (ph, pc)))
        pairs = [(tx, px), (th, ph), (tc, pc)]
    else:
        t_outs, p_outs = _flat(tm(tx, th)), _flat(m(px, ph))
        pairs = [(tx, px), (th, ph)]
    assert [p.shape for p in p_outs] == [tuple(t.shape) for t in t_outs]
    for t, p in zip(t_outs, p_outs):
        assert_close(p, t)
    _backward(t_outs, p_outs)
    _compare_grads(tm, m, pairs)


PACKED_CASES = [
    ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=2)),
    ("GRU", dict(bidirectional=True)),
    ("RNN", dict(nonlinearity="relu", num_layers=2)),
]


@pytest.mark.parametrize("kind,opts", PACKED_CASES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_variable_lengths(kind, opts, batch_first):
    lengths = [3, 5, 1, 4]
    tm, m = _pair(kind, 3, 4, **opts)
    shape = (4, 5, 3) if batch_first else (5, 4, 3)
    tx, px = _leaf(torch.randn(shape))
    tpk = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, batch_first, False)
    ppk = pg_rnn.pack_padded_sequence(px, lengths, batch_first, False)
    assert ppk.batch_sizes.tolist() == tpk.batch_sizes.tolist()
    assert ppk.sorted_indices.tolist() == tpk.sorted_indices.tolist()
    assert ppk.unsorted_indices.tolist() == tpk.unsorted_indices.tolist()
    assert_close(ppk.data, tpk.data)
    dirs = 2 if opts.get("bidirectional") else 1
    n = opts.get("num_layers", 1) * dirs
    th, ph = _leaf(torch.randn(n, 4, opts.get("proj_size") or 4))
    pairs = [(tx, px), (th, ph)]
    if kind == "LSTM":
        tc, pc = _leaf(torch.randn(n, 4, 4))
        pairs.append((tc, pc))
        t_out, t_state = tm(tpk, (th, tc))
        p_out, p_state = m(ppk, (ph, pc))
    else:
        t_out, t_state = tm(tpk, th)
        p_out, p_state = m(ppk, ph)
    assert isinstance(p_out, pg_rnn.PackedSequence)
    t_pad, t_len = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first, -1.0, 6)
    p_pad, p_len = pg_rnn.pad_packed_sequence(p_out, batch_first, -1.0, 6)
    assert p_len.tolist() == t_len.tolist() == lengths
    t_outs, p_outs = [t_pad, *_flat((t_state,))], [p_pad, *_flat((p_state,))]
    for t, p in zip(t_outs, p_outs):
        assert_close(p, t, rtol=1e-10, atol=1e-12)
    _backward(t_outs, p_outs)
    _compare_grads(tm, m, pairs)


@pytest.mark.parametrize(
    "kind,opts",
    [
        ("RNNCell", {}),
        ("RNNCell", dict(nonlinearity="relu", bias=False)),
        ("LSTMCell", {}),
        ("GRUCell", {}),
        ("GRUCell", dict(bias=False)),
    ],
)
@pytest.mark.parametrize("batched", [True, False])
def test_cells(kind, opts, batched):
    tm, m = _pair(kind, 3, 4, **opts)
    lead = (2,) if batched else ()
    tx, px = _leaf(torch.randn(*lead, 3))
    th, ph = _leaf(torch.randn(*lead, 4))
    pairs = [(tx, px), (th, ph)]
    if kind == "LSTMCell":
        tc, pc = _leaf(torch.randn(*lead, 4))
        pairs.append((tc, pc))
        t_outs, p_outs = list(tm(tx, (th, tc))), list(m(px, (ph, pc)))
    else:
        t_outs, p_outs = [tm(tx, th)], [m(px, ph)]
    for t, p in zip(t_outs, p_outs):
        assert_close(p, t)
    _backward(t_outs, p_outs)
    _compare_grads(tm, m, pairs)
    # without a state: zeros, as torch
    t0 = _flat((tm(tx.detach()),))
    p0 = _flat((m(px.detach()),))
    for t, p in zip(t0, p0):
        assert_close(p, t)


@pytest.mark.parametrize(
    "kind,opts",
    [
        ("LSTM", dict(num_layers=3, bidirectional=True, proj_size=2, bias=False)),
        ("LSTM", dict(num_layers=2)),
        ("GRU", dict(num_layers=2, bidirectional=True)),
        ("RNN", dict(nonlinearity="relu", bias=False)),
    ],
)
def test_state_dict_matches_torch(kind, opts):
    tm = TORCH[kind](6, 4, **opts)
    m = getattr(nn, kind)(6, 4, **opts)
    want = [(k, tuple(v.shape)) for k, v in tm.state_dict().items()]
    assert [(k, v.shape) for k, v in m.state_dict().items()] == want
    assert [[p.shape for p in w] for w in m.all_weights] == [
        [tuple(p.shape) for p in w] for w in tm.all_weights
    ]
    assert repr(m) == repr(tm)


def test_init_distribution():
    """U(-1/sqrt(hidden), 1/sqrt(hidden)) for every parameter: bounds, mean, variance."""
    m = nn.LSTM(100, 64, num_layers=2, proj_size=16, bidirectional=True)
    bound = 1 / 8
    values = np.concatenate([p.numpy().ravel() for p in m.parameters()])
    assert values.size > 80_000
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.99 * bound and values.max() > 0.99 * bound
    assert abs(values.mean()) < 0.002
    assert abs(values.var() / (bound**2 / 3) - 1) < 0.02
    cell = nn.GRUCell(10, 25)
    for p in cell.parameters():
        assert np.abs(p.numpy()).max() <= 0.2


def test_dropout_between_layers():
    tm, m = _pair("LSTM", 3, 4, num_layers=2, dropout=1.0)
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    # dropout=1 zeroes the first layer's output in training: deterministic, as torch's
    for t, p in zip(_flat(tm(x)), _flat(m(from_torch(x)))):
        assert_close(p, t)
    tm.eval()
    m.eval()
    for t, p in zip(_flat(tm(x)), _flat(m(from_torch(x)))):
        assert_close(p, t)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.5)


@pytest.mark.parametrize("kind,packed", [("LSTM", True), ("GRU", False), ("RNN", True)])
def test_second_order(kind, packed):
    tm, m = _pair(kind, 2, 3, proj_size=2) if kind == "LSTM" else _pair(kind, 2, 3)
    x = torch.randn(4, 3, 2, dtype=torch.float64)
    px = from_torch(x)
    if packed:
        lengths = [4, 2, 3]
        x = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        px = pg_rnn.pack_padded_sequence(px, lengths, enforce_sorted=False)
    t_out, p_out = tm(x)[0], m(px)[0]
    if packed:
        t_out, p_out = t_out.data, p_out.data
    t_loss, p_loss = (t_out**3).sum(), (p_out**3).sum()
    tw, pw = tm.weight_hh_l0, m.weight_hh_l0
    (tg,) = torch.autograd.grad(t_loss, tw, create_graph=True)
    (pgr,) = pg.grad(p_loss, pw, create_graph=True)
    assert_close(pgr, tg, rtol=1e-9, atol=1e-11)
    v = torch.randn(tw.shape, dtype=torch.float64)
    t2 = torch.autograd.grad((tg * v).sum(), [tw, tm.weight_ih_l0])
    p2 = pg.grad((pgr * from_torch(v)).sum(), [pw, m.weight_ih_l0])
    for t, p in zip(t2, p2):
        assert_close(p, t, rtol=1e-8, atol=1e-10)


def test_fused_and_composed_agree(monkeypatch):
    tm, m = _pair("LSTM", 3, 4, num_layers=2, proj_size=2, bidirectional=True)
    x = pg.tensor(np.random.default_rng(1).standard_normal((5, 2, 3)), requires_grad=True)
    grads = []
    for fused in (True, False):
        monkeypatch.setattr(recurrent, "FUSED", fused)
        m.zero_grad()
        x.grad = None
        out, (h, c) = m(x)
        ((out**2).sum() + h.sum() + (c**2).sum()).backward()
        grads.append([out.numpy(), x.grad.numpy()] + [p.grad.numpy() for p in m.parameters()])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_no_grad_forward_matches():
    tm, m = _pair("GRU", 3, 4, num_layers=2)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    with pg.no_grad():
        out, h = m(from_torch(x))
    assert not out.requires_grad
    t_out, t_h = tm(x)
    assert_close(out, t_out)
    assert_close(h, t_h)


# -- nn.utils.rnn ----------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first, side):
    raw = [torch.randn(n, 2, dtype=torch.float64) for n in (3, 1, 4)]
    leaves = [_leaf(r) for r in raw]
    t = torch.nn.utils.rnn.pad_sequence([a for a, _ in leaves], batch_first, 7.0, side)
    p = pg_rnn.pad_sequence([b for _, b in leaves], batch_first, 7.0, side)
    assert_close(p, t)
    _backward([t], [p])
    for a, b in leaves:
        assert_close(b.grad, a.grad)


def test_pack_sequence_roundtrip():
    raw = [torch.randn(n, 3, dtype=torch.float64) for n in (2, 5, 3)]
    leaves = [_leaf(r) for r in raw]
    tp = torch.nn.utils.rnn.pack_sequence([a for a, _ in leaves], enforce_sorted=False)
    pp = pg_rnn.pack_sequence([b for _, b in leaves], enforce_sorted=False)
    assert_close(pp.data, tp.data)
    assert pp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    t_seqs = torch.nn.utils.rnn.unpack_sequence(tp)
    p_seqs = pg_rnn.unpack_sequence(pp)
    for t, p in zip(t_seqs, p_seqs):
        assert_close(p, t)
    _backward(t_seqs, p_seqs)
    for a, b in leaves:
        assert_close(b.grad, a.grad)
    padded, lengths = pg_rnn.pad_packed_sequence(pp)
    for s, r in zip(pg_rnn.unpad_sequence(padded, lengths), raw):
        assert_close(s, r)


def test_packing_errors():
    x = pg.zeros(5, 3, 2)
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        pg_rnn.pack_padded_sequence(x, [5, 2, 3])
    with pytest.raises(RuntimeError, match="greater than 0"):
        pg_rnn.pack_padded_sequence(x, [5, 3, 0])
    with pytest.raises(RuntimeError, match="equal to batch_size"):
        pg_rnn.pack_padded_sequence(x, [5, 3])
    with pytest.raises(RuntimeError, match="longer than"):
        pg_rnn.pack_padded_sequence(x, [6, 3, 2])
    packed = pg_rnn.pack_padded_sequence(x, [5, 3, 2])
    with pytest.raises(ValueError, match="total_length=3"):
        pg_rnn.pad_packed_sequence(packed, total_length=3)
    with pytest.raises(RuntimeError, match="empty list"):
        pg_rnn.pad_sequence([])
    with pytest.raises(RuntimeError, match="padding_side"):
        pg_rnn.pad_sequence([pg.ones(2)], padding_side="up")


def test_layer_errors():
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        nn.LSTM(2, 3, proj_size=3)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.GRU(2, 3, proj_size=1)
    with pytest.raises(ValueError, match="Unknown nonlinearity"):
        nn.RNN(2, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout should be a number"):
        nn.LSTM(2, 3, dropout=1.5)
    with pytest.raises(TypeError, match="hidden_size should be of type int"):
        nn.LSTM(2, 3.0)
    lstm = nn.LSTM(2, 3)
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        lstm(pg.zeros(1, 2, 3, 2))
    with pytest.raises(RuntimeError, match="Expected 2, got 4"):
        lstm(pg.zeros(3, 2, 4))
    with pytest.raises(ValueError, match="does not match weight dtype"):
        lstm(pg.zeros(3, 2, 2, dtype=pg.float64))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(1, 2, 3\)"):
        lstm(pg.zeros(3, 2, 2), (pg.zeros(1, 2, 3), pg.zeros(1, 3, 3)))
    with pytest.raises(RuntimeError, match="larger than 0"):
        lstm(pg.zeros(0, 2, 2))
    with pytest.raises(RuntimeError, match="inconsistent input_size"):
        nn.GRUCell(2, 3)(pg.zeros(4, 5))
    with pytest.raises(RuntimeError, match="Unknown nonlinearity"):
        nn.RNNCell(2, 3, nonlinearity="x")(pg.zeros(4, 2))


def test_packed_sorted_without_state():
    """enforce_sorted=True (no permutation) and the default zero state, as torch."""
    tm, m = _pair("LSTM", 2, 3, bidirectional=True)
    tx, px = _leaf(torch.randn(5, 3, 2))
    t_out, (t_h, t_c) = tm(torch.nn.utils.rnn.pack_padded_sequence(tx, [5, 3, 2]))
    p_out, (p_h, p_c) = m(pg_rnn.pack_padded_sequence(px, [5, 3, 2]))
    assert p_out.sorted_indices is None and p_out.unsorted_indices is None
    t_outs, p_outs = [t_out.data, t_h, t_c], [p_out.data, p_h, p_c]
    for t, p in zip(t_outs, p_outs):
        assert_close(p, t)
    _backward(t_outs, p_outs)
    _compare_grads(tm, m, [(tx, px)])
