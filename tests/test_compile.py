"""polygrad.compile: N replayed training steps are bitwise N eager steps from the same start;
graph breaks fall back to eager (with a warning, or an error under fullgraph=True)."""

from __future__ import annotations

import copy
import time
import warnings

import numpy as np
import pytest

import polygrad as pg
import polygrad.nn as nn
import polygrad.nn.functional as F
from polygrad.nn.utils import clip_grad_norm_


def _host(t):
    return np.array(t.numpy(), copy=True)


def _state_arrays(model, opt):
    """Every array a training run leaves behind: parameters, buffers, gradients, and the
    optimizer's state, as host copies."""
    out = [_host(v) for v in model.state_dict().values()]
    out += [_host(p.grad) for p in model.parameters() if p.grad is not None]
    for p in model.parameters():
        for k in sorted(opt.state.get(p, {})):
            v = opt.state[p][k]
            out.append(
                np.asarray(
                    v.numpy()
                    if isinstance(v, pg.Tensor)
                    else pg.Tensor(v).numpy()
                    if hasattr(v, "shape")
                    else v
                )
            )
    return out


def _assert_bitwise(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        x, y = np.asarray(x), np.asarray(y)
        assert x.shape == y.shape and x.dtype == y.dtype
        assert x.tobytes() == y.tobytes(), (x, y)  # bitwise


def _mlp(dropout=0.0, batchnorm=False):
    pg.manual_seed(0)
    layers = [nn.Linear(8, 16)]
    if batchnorm:
        layers.append(nn.BatchNorm1d(16))
    layers += [nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers += [nn.Linear(16, 4)]
    return nn.Sequential(*layers)


def _batches(n, batch=6, last=None):
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        b = last if (last is not None and i == n - 1) else batch
        x = pg.tensor(rng.standard_normal((b, 8)).astype(np.float32))
        y = pg.tensor(rng.integers(0, 4, size=b))
        out.append((x, y))
    return out


def _run(model, opt, data, compiled, clip=None, sched=None):
    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if clip is not None:
            clip_grad_norm_(model.parameters(), clip)
        opt.step()
        opt.zero_grad()
        return loss

    fn = pg.compile(step) if compiled else step
    losses = []
    for x, y in data:
        losses.append(_host(fn(x, y)))
        if sched is not None:
            sched.step()
    return losses, fn


def _pair(make_opt, data, seed=3, **kw):
    model = kw.pop("model")
    sched_every = kw.pop("sched", False)
    results = []
    for compiled in (False, True):
        m = copy.deepcopy(model)
        opt = make_opt(m.parameters())
        sched = pg.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5) if sched_every else None
        pg.manual_seed(seed)
        losses, fn = _run(m, opt, data, compiled, sched=sched, **kw)
        results.append((losses, _state_arrays(m, opt), fn))
    (le, se, _), (lc, sc, fn) = results
    _assert_bitwise(le, lc)
    _assert_bitwise(se, sc)
    return fn


def test_adam_mlp_bitwise():
    fn = _pair(lambda p: pg.optim.Adam(p, lr=1e-2), _batches(5), model=_mlp())
    assert fn.stats == {"captures": 1, "replays": 4, "eager": 0}


def test_sgd_momentum_dropout_batchnorm_clip_scheduler_bitwise():
    fn = _pair(
        lambda p: pg.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3),
        _batches(5),
        model=_mlp(dropout=0.3, batchnorm=True),
        clip=0.5,
        sched=True,
    )
    assert fn.stats["replays"] == 4 and fn.stats["eager"] == 0


def test_retrace_after_batch_size_change():
    fn = _pair(lambda p: pg.optim.Adam(p, lr=1e-2), _batches(6, last=3), model=_mlp())
    assert fn.stats == {"captures": 2, "replays": 4, "eager": 0}


def test_dropout_draws_fresh_numbers_each_replay():
    x = pg.ones(64)

    @pg.compile
    def f(x):
        return F.dropout(x, 0.5)

    pg.manual_seed(5)
    outs = [_host(f(x)) for _ in range(3)]
    pg.manual_seed(5)
    ref = [_host(F.dropout(x, 0.5)) for _ in range(3)]
    _assert_bitwise(outs, ref)
    assert not np.array_equal(outs[1], outs[2])
    assert f.stats["replays"] == 2


def test_mutation_outside_is_seen_by_next_replay():
    w = pg.ones(3, requires_grad=True)

    @pg.compile
    def f(x):
        return (w * x).sum()

    x = pg.tensor([1.0, 2.0, 3.0])
    assert f(x).item() == 6.0
    assert f(x).item() == 6.0
    with pg.no_grad():
        w.mul_(2.0)
    assert f(x).item() == 12.0
    w.data = pg.tensor([1.0, 0.0, 0.0])  # a new array for w: read by reference too
    assert f(x).item() == 1.0
    assert f.stats["replays"] == 3


def test_item_inside_warns_and_stays_eager():
    w = pg.tensor([1.0, 2.0], requires_grad=True)
    opt = pg.optim.SGD([w], lr=0.1)

    def step(x):
        loss = (w * x).sum()
        if loss.item() > 0:  # value-dependent control flow
            loss = loss * 2
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    f = pg.compile(step)
    x = pg.tensor([1.0, -3.0])
    with pytest.warns(UserWarning, match=r"\.item\(\).*test_compile\.py:\d+"):
        got = [f(x).item() for _ in range(3)]
    w2 = pg.tensor([1.0, 2.0], requires_grad=True)
    ref = []
    for _ in range(3):
        loss = (w2 * x).sum()
        if loss.item() > 0:
            loss = loss * 2
        loss.backward()
        with pg.no_grad():
            w2 -= 0.1 * w2.grad
        w2.grad = None
        ref.append(loss.item())
    assert got == ref
    np.testing.assert_array_equal(w.numpy(), w2.numpy())
    assert f.stats == {"captures": 1, "replays": 0, "eager": 2}


def test_fullgraph_names_the_line():
    def g(x):
        return float((x * 2).sum())  # the offending line

    f = pg.compile(g, fullgraph=True)
    with pytest.raises(pg.compile.__globals__["Unsupported"], match=r"test_compile\.py:\d+"):
        f(pg.ones(2))


def test_eager_fallback_returns_eager_results_on_each_call():
    calls = []

    def g(x):
        calls.append(1)
        n = int(x.sum().item())
        return x * n

    f = pg.compile(g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for v in (1.0, 2.0, 3.0):
            out = f(pg.full((2,), v))
            np.testing.assert_array_equal(out.numpy(), np.full(2, v * int(2 * v)))
    assert len(calls) == 3


def test_module_compile_eval_and_attributes():
    model = _mlp(batchnorm=True)
    cm = pg.compile(model)
    x = _batches(1)[0][0]
    model.eval()
    with pg.no_grad():
        ref = _host(model(x))
        outs = [_host(cm(x)) for _ in range(3)]
    _assert_bitwise([ref] * 3, outs)
    assert cm._forward.stats["replays"] == 2
    assert cm.state_dict().keys() == model.state_dict().keys()
    assert len(list(cm.parameters())) == len(list(model.parameters()))
    model.train()  # a training flag change captures again, so BatchNorm uses batch statistics
    with pg.no_grad():
        pg.manual_seed(1)
        a = _host(cm(x))
    m2 = copy.deepcopy(model)
    with pg.no_grad():
        b = _host(m2(x))
    assert not np.array_equal(a, ref)
    np.testing.assert_array_equal(a, b)
    y = cm(x)  # needs a gradient: eager, differentiable
    y.sum().backward()
    assert model[0].weight.grad is not None


def test_replayed_outputs_require_grad_and_refuse_backward():
    # eager: out requires grad and out.backward() (or a backward through a sum with it)
    # would reach w; the replay keeps no graph, so that must be an error, never a gradient
    # silently missing
    w = pg.ones(2, requires_grad=True)
    f = pg.compile(lambda x: (w * x).sum())
    f(pg.ones(2))
    out = f(pg.ones(2))
    assert f.stats["replays"] == 1
    assert out.requires_grad
    with pytest.raises(RuntimeError, match="compiled replay"):
        out.backward()
    total = f(pg.ones(2)) + (w * w).sum()
    with pytest.raises(RuntimeError, match="compiled replay"):
        total.backward()


def test_options():
    with pytest.raises(NotImplementedError, match="dynamic"):
        pg.compile(lambda x: x, dynamic=True)
    with pytest.raises(NotImplementedError, match="cudagraphs"):
        pg.compile(lambda x: x, backend="cudagraphs")
    assert pg.compile(mode="max-autotune")(lambda x: x + 1)(pg.ones(1)).item() == 2.0


def test_capture_cost_measured():
    model = _mlp()
    opt = pg.optim.Adam(model.parameters(), lr=1e-3)
    data = _batches(1, batch=32)[0]

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    step(*data)  # Adam's state exists from here on, in both
    t0 = time.perf_counter()
    step(*data)
    eager = time.perf_counter() - t0
    f = pg.compile(step)
    t0 = time.perf_counter()
    f(*data)
    capture = time.perf_counter() - t0
    assert f.stats["captures"] == 1
    assert capture < 50 * eager + 0.05  # loose: a report, not a benchmark (benchmarks/compile.py)


def test_guards_dtype_and_requires_grad_capture_again():
    w = pg.ones(2, requires_grad=True)
    f = pg.compile(lambda x: (w * x).sum())
    a = f(pg.ones(2))
    b = f(pg.ones(2, dtype=pg.float64))  # a new dtype: a new program
    assert a.dtype == pg.float32 and b.dtype == pg.float64
    f(pg.ones(2, requires_grad=True))  # a new requires_grad flag of an argument
    assert f.stats["captures"] == 3
    w.requires_grad_(False)  # a flag of a tensor read by reference: the guard fails
    f(pg.ones(2))
    assert f.stats["captures"] == 4 and f.stats["replays"] == 0


def test_replaced_parameter_is_read_not_the_old_one():
    pg.manual_seed(0)
    lin = nn.Linear(3, 2)
    f = pg.compile(lambda x: lin(x))
    x = pg.ones(1, 3)
    with pg.no_grad():
        f(x)
        f(x)
        lin.weight = nn.Parameter(pg.zeros(2, 3))  # a new Parameter object, same shape
        got = _host(f(x))
        np.testing.assert_array_equal(got, _host(lin(x)))


def test_cache_is_small_and_keeps_the_recent_signatures():
    f = pg.compile(lambda x: x * 2)
    for n in range(1, 12):
        np.testing.assert_array_equal(f(pg.ones(n)).numpy(), np.full(n, 2.0, np.float32))
    assert len(f.programs) <= 8
    f(pg.ones(11))
    assert f.stats["replays"] == 1


def test_inplace_write_and_version_counter_as_in_eager():
    def g(x, acc):
        acc.add_(x * 2)
        return acc.sum()

    f = pg.compile(g)
    accs = [pg.zeros(3), pg.zeros(3)]
    for _ in range(3):
        e = g(pg.ones(3), accs[0])
        c = f(pg.ones(3), accs[1])
        assert e.item() == c.item()
    np.testing.assert_array_equal(accs[0].numpy(), accs[1].numpy())
    assert accs[0]._version == accs[1]._version
    assert f.stats["replays"] == 2
    w = pg.ones(3, requires_grad=True)

    def bad(x):
        y = w * x
        z = y.sin()
        y.mul_(2)  # sin saves its input for the backward
        z.sum().backward()

    with pytest.raises(RuntimeError, match="modified by an in-place"):
        pg.compile(bad)(pg.ones(3))


def test_held_replay_output_is_not_overwritten_by_a_later_replay():
    w = pg.tensor([1.0, 2.0, 3.0])
    f = pg.compile(lambda x: (w * x).exp())
    f(pg.ones(3))
    first = f(pg.ones(3))
    held = _host(first)
    second = f(pg.full((3,), 2.0))
    np.testing.assert_array_equal(first.numpy(), held)  # replay 2 left replay 1's result alone
    np.testing.assert_array_equal(second.numpy(), (w * pg.full((3,), 2.0)).exp().numpy())
    assert not np.array_equal(held, second.numpy())
    assert f.stats["replays"] == 2


def test_module_guard_sees_a_none_attribute_become_a_parameter():
    pg.manual_seed(0)
    lin = nn.Linear(3, 2, bias=False)
    f = pg.compile(lambda x: lin(x))
    x = pg.ones(1, 3)
    with pg.no_grad():
        f(x)
        f(x)
        lin.bias = nn.Parameter(pg.ones(2))  # None before: the program has no bias add
        got = _host(f(x))
        np.testing.assert_array_equal(got, _host(lin(x)))
    assert f.stats["captures"] == 2


def test_tensor_and_keyword_arguments_replay_alike():
    w = pg.tensor([1.0, -2.0])
    f = pg.compile(lambda x, scale=1.0: (w * x * scale).sum())
    x = pg.tensor([3.0, 4.0])
    assert [f(x).item() for _ in range(2)] == [-5.0, -5.0]
    assert [f(x, scale=2.0).item() for _ in range(2)] == [-10.0, -10.0]
    assert f.stats == {"captures": 2, "replays": 2, "eager": 0}


# -- steps that index with tensor indices: the index arithmetic and its range check replay --
def _token_batches(n, vocab, shape=(4, 6), seed=2):
    rng = np.random.default_rng(seed)
    ids = [pg.tensor(rng.integers(0, vocab, size=shape)) for _ in range(2 * n)]
    return list(zip(ids[::2], ids[1::2]))


class _TokenModel(nn.Module):
    """Embedding, then an LSTM (``rnn=True``) or a causal self-attention block, then Linear."""

    def __init__(self, vocab=11, d=8, rnn=False):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.rnn = nn.LSTM(d, d, batch_first=True) if rnn else None
        if not rnn:
            self.pos = nn.Embedding(6, d)
            self.ln = nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
        self.head = nn.Linear(d, vocab)

    def forward(self, ids):
        h = self.tok(ids)
        if self.rnn is not None:
            h, _ = self.rnn(h)
        else:
            b, t = ids.shape
            h = h + self.pos(pg.arange(t))
            q, k, v = self.qkv(self.ln(h)).reshape(b, t, 3, 2, -1).permute(2, 0, 3, 1, 4)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            h = h + a.transpose(1, 2).reshape(b, t, -1)
        return self.head(h)


def _token_pair(model, data, make_opt=lambda p: pg.optim.Adam(p, lr=1e-2)):
    """Run the same training steps eagerly and compiled (graph breaks are errors); compare
    losses, parameters, gradients and optimizer state bitwise."""
    results = []
    for compiled in (False, True):
        m = copy.deepcopy(model)
        opt = make_opt(m.parameters())

        def step(ids, target, m=m, opt=opt):
            logits = m(ids)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        fn = pg.compile(step, fullgraph=True) if compiled else step
        losses = [_host(fn(ids, target)) for ids, target in data]
        results.append((losses, _state_arrays(m, opt), fn))
    (le, se, _), (lc, sc, fn) = results
    _assert_bitwise(le, lc)
    _assert_bitwise(se, sc)
    assert len({x.tobytes() for x in le}) == len(le)  # new ids each step: new losses
    return fn


def test_embedding_linear_cross_entropy_replays_new_ids_and_targets_bitwise():
    pg.manual_seed(0)
    model = nn.Sequential(nn.Embedding(11, 8), nn.Linear(8, 11))
    fn = _token_pair(model, _token_batches(5, 11))
    assert fn.stats == {"captures": 1, "replays": 4, "eager": 0}


def test_lstm_step_captured_without_a_graph_break_bitwise():
    pg.manual_seed(0)
    fn = _token_pair(_TokenModel(rnn=True), _token_batches(4, 11))
    assert fn.stats == {"captures": 1, "replays": 3, "eager": 0}


def test_gpt_style_step_captured_without_a_graph_break_bitwise():
    pg.manual_seed(0)
    fn = _token_pair(
        _TokenModel(), _token_batches(4, 11), lambda p: pg.optim.AdamW(p, lr=1e-2)
    )
    assert fn.stats == {"captures": 1, "replays": 3, "eager": 0}


def test_index_read_live_on_each_replay():
    w = pg.arange(10.0).reshape(5, 2)
    idx = pg.tensor([0, 1])  # closed over: read by reference, as any tensor
    f = pg.compile(lambda i, j: w[i].sum() + w[idx].sum() + pg.gather(w, 1, j).sum())
    rng = np.random.default_rng(0)
    for _ in range(4):
        i = pg.tensor(rng.integers(-5, 5, size=3))
        j = pg.tensor(rng.integers(0, 2, size=(5, 3)))
        idx.copy_(pg.tensor(rng.integers(0, 5, size=2)))
        ref = w[i].sum() + w[idx].sum() + pg.gather(w, 1, j).sum()
        assert f(i, j).item() == ref.item()
    assert f.stats["replays"] == 3


def test_out_of_range_index_on_replay_raises_index_error():
    pg.manual_seed(0)
    w = nn.Parameter(pg.randn(10, 3))
    opt = pg.optim.SGD([w], lr=0.1)

    @pg.compile(fullgraph=True)
    def step(i):
        loss = w[i].sum()
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    step(pg.tensor([1, 2]))
    step(pg.tensor([3, -10]))
    before = _host(w)
    with pytest.raises(IndexError, match=r"indexing: index 10 is out of range for size 10.*"
                       r"shape \(10, 3\).*-10 to 9"):
        step(pg.tensor([0, 10]))
    with pytest.raises(IndexError, match="index -11 is out of range for size 10"):
        step(pg.tensor([-11, 0]))
    np.testing.assert_array_equal(_host(w), before)  # raised before the update, as eager
    assert step.stats == {"captures": 1, "replays": 3, "eager": 0}
    step(pg.tensor([4, 5]))  # the program still replays after an error
    assert step.stats["replays"] == 4
    g = pg.compile(lambda x, i: pg.gather(x, 1, i))
    x = pg.ones(2, 3)
    g(x, pg.tensor([[0], [2]]))
    with pytest.raises(IndexError, match="take_along_axis: index 3 is out of range for size 3"):
        g(x, pg.tensor([[0], [3]]))
    assert g.stats["replays"] == 1
    emb = nn.Embedding(4, 2)
    e = pg.compile(lambda i: emb(i))
    with pg.no_grad():
        e(pg.tensor([0, 3]))
        with pytest.raises(IndexError, match="embedding"):
            e(pg.tensor([0, 4]))
    assert e.stats["replays"] == 1


def test_setitem_with_a_tensor_index_replays_the_new_index():
    def g(acc, i, v):
        acc[i] = v
        return acc.sum()

    f = pg.compile(g)
    rng = np.random.default_rng(0)
    a, b = pg.zeros(6), pg.zeros(6)
    for _ in range(4):
        i = pg.tensor(rng.permutation(6)[:2])
        v = pg.tensor(rng.standard_normal(2).astype(np.float32))
        assert f(a, i, v).item() == g(b, i, v).item()
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert f.stats["replays"] == 3


def test_boolean_mask_index_runs_eagerly():
    f = pg.compile(lambda x, m: x[m].sum())
    x = pg.arange(6.0)
    with pytest.warns(UserWarning, match="boolean mask"):
        got = [f(x, pg.tensor(m)).item() for m in ([True] * 3 + [False] * 3, [True] * 6)]
    assert got == [3.0, 15.0]
    assert f.stats == {"captures": 1, "replays": 0, "eager": 1}


# -- guards that keep a replay from silently using what the capture saw ------------------
_G_SCALE = 1.0
_G_W = pg.tensor([1.0, 2.0, 3.0])


def _g_step(x):
    return (_G_W * x).sum() * _G_SCALE


def test_rebound_globals_and_closure_names_capture_again():
    global _G_SCALE, _G_W
    f = pg.compile(_g_step)
    x = pg.ones(3)
    assert f(x).item() == 6.0 and f(x).item() == 6.0
    _G_SCALE = 5.0  # a number read by name: by value
    try:
        assert f(x).item() == 30.0
        _G_W = pg.tensor([10.0, 20.0, 30.0])  # a tensor rebound: by identity
        assert f(x).item() == 300.0
    finally:
        _G_SCALE, _G_W = 1.0, pg.tensor([1.0, 2.0, 3.0])
    w = pg.ones(2)

    def g(x):
        return (w * x).sum()

    cg = pg.compile(g)
    assert cg(pg.ones(2)).item() == 2.0 and cg(pg.ones(2)).item() == 2.0
    w = pg.full((2,), 4.0)  # noqa: F841  (the closure cell now holds another tensor)
    assert cg(pg.ones(2)).item() == 8.0


def test_aliased_arguments_are_part_of_the_signature():
    f = pg.compile(lambda a, b: a * 10 + b)
    x = pg.ones(3)
    f(x, x)
    f(x, x)
    got = f(pg.ones(3), pg.full((3,), 5.0))
    np.testing.assert_array_equal(got.numpy(), np.full(3, 15.0, np.float32))


def test_replaced_submodule_and_changed_module_number_capture_again():
    pg.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Dropout(1.0))  # p=1: all zeros
    f = pg.compile(lambda x: net(x))
    x = pg.randn(4, 3)
    with pg.no_grad():
        for _ in range(2):
            np.testing.assert_array_equal(f(x).numpy(), np.zeros((4, 2), np.float32))
        net[2].p = 0.0  # baked into the captured dropout: must capture again
        np.testing.assert_array_equal(f(x).numpy(), net(x).numpy())
        f(x)
        net[0] = nn.Linear(3, 2)  # a replaced submodule
        np.testing.assert_array_equal(f(x).numpy(), net(x).numpy())
        f(x)
        net[1] = nn.ReLU()
        np.testing.assert_array_equal(f(x).numpy(), net(x).numpy())
    assert f.stats["replays"] >= 3


def test_default_dtype_is_part_of_the_signature():
    f = pg.compile(lambda x: x * 1.2)
    x = pg.ones(2, dtype=pg.float64)
    f(x)
    f(x)
    old = pg.get_default_dtype()
    pg.set_default_dtype(pg.float64)
    try:
        assert f(x).dtype == (x * 1.2).dtype
        np.testing.assert_array_equal(f(x).numpy(), (x * 1.2).numpy())
    finally:
        pg.set_default_dtype(old)


def test_argument_that_requires_grad_gets_its_own_gradient():
    w = pg.tensor([1.0, 2.0, 3.0])

    def step(x):
        loss = (w * x * x).sum()
        loss.backward()
        return loss

    f = pg.compile(step)
    xs = [pg.full((3,), float(i + 1), requires_grad=True) for i in range(3)]
    with pytest.warns(UserWarning, match="gradient into an argument"):
        f(xs[0])
    for x in xs[1:]:
        f(x)
    for i, x in enumerate(xs):  # d/dx sum(w x^2) = 2 w x
        np.testing.assert_array_equal(x.grad.numpy(), 2 * np.array([1, 2, 3.0]) * (i + 1))


def test_inplace_write_bumps_the_version_of_each_calls_argument():
    w = pg.ones(3, requires_grad=True)

    def g(x):
        x.mul_(2.0)
        return x.sum()

    f = pg.compile(g)
    for _ in range(3):
        x = pg.ones(3)
        y = (w * x).sum()  # saves x for w's gradient
        f(x)
        assert x._version == 1
        with pytest.raises(RuntimeError, match="modified by an in-place operation"):
            y.backward()
    assert f.stats["replays"] == 2


def test_argument_that_is_a_stale_view_reads_its_base():
    base = pg.zeros(2, 3)
    v = base.t().reshape(6)
    f = pg.compile(lambda a: a * 1.0)
    got = []
    for _ in range(3):
        got.append(f(v).numpy().tolist())
        with pg.no_grad():
            base.add_(1.0)
    assert got == [[0.0] * 6, [1.0] * 6, [2.0] * 6]


def test_unrepeatable_random_draw_falls_back_to_eager():
    f = pg.compile(lambda x: x + pg.randint(0, 10, (6,)))
    x = pg.zeros(6)
    with pytest.warns(UserWarning, match="random draw"):
        first = f(x)
    assert first.shape == (6,)
    assert f(x).shape == (6,) and f.stats["eager"] == 1
