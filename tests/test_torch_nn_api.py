"""polygrad.nn's Module API, containers, hooks, state dicts, utils and init against torch.nn.

Models are built by the same code with ``torch.nn`` and with ``polygrad.nn`` (the polygrad one
loads the torch one's weights), then names, reprs, values, gradients, returned types and error
types are compared. The initializers are checked statistically against torch's formulas (and
torch's own samples against the same formulas, so the formulas are the right ones).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest
import scipy.stats
import torch
import torch.nn as tnn
from helpers import assert_close

import polygrad as pg
import polygrad.nn as pnn

LIBS = ((torch, tnn), (pg, pnn))


def build(nn):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.register_buffer("steps", (torch if nn is tnn else pg).zeros(2))
            self.register_buffer("scratch", (torch if nn is tnn else pg).ones(1), persistent=False)

        def forward(self, x):
            return self.fc(x).tanh()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.seq = nn.Sequential(OrderedDict([("lin", nn.Linear(3, 5)), ("act", nn.ReLU())]))
            self.heads = nn.ModuleDict({"a": nn.Linear(5, 2), "b": nn.Linear(5, 1)})
            self.extra = nn.ParameterList([nn.Parameter((torch if nn is tnn else pg).ones(2))])
            self.table = nn.ParameterDict({"s": nn.Parameter((torch if nn is tnn else pg).ones(1))})
            self.shared = self.block  # reachable twice

        def forward(self, x):
            h = self.seq(self.block(x))
            return self.heads["a"](h) * self.extra[0] * self.table["s"] + self.heads["b"](h)

    return Net()


def pair():
    t = build(tnn).double()
    p = build(pnn).double()
    p.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return t, p


X = np.random.default_rng(0).standard_normal((6, 4))


def test_names_match_torch():
    t, p = pair()
    for method in ("named_parameters", "named_buffers", "named_modules", "named_children"):
        assert [n for n, _ in getattr(p, method)()] == [n for n, _ in getattr(t, method)()], method
    for kw in (dict(remove_duplicate=False), dict(prefix="net")):
        assert [n for n, _ in p.named_modules(**kw)] == [n for n, _ in t.named_modules(**kw)]
        assert [n for n, _ in p.named_parameters(**kw)] == [n for n, _ in t.named_parameters(**kw)]
    assert [n for n, _ in p.named_parameters(recurse=False)] == []
    assert list(p.state_dict()) == list(t.state_dict())
    assert "block.scratch" not in p.state_dict()
    assert list(p.state_dict(prefix="m.")) == list(t.state_dict(prefix="m."))
    dest_p, dest_t = {"x": 1}, OrderedDict(x=1)
    assert p.state_dict(destination=dest_p) is dest_p
    t.state_dict(destination=dest_t)
    assert list(dest_p) == list(dest_t)


def test_forward_backward_and_zero_grad_match_torch():
    t, p = pair()
    yt, yp = t(torch.tensor(X)), p(pg.tensor(X))
    assert_close(yp, yt)
    yt.sum().backward()
    yp.sum().backward()
    for a, b in zip(p.parameters(), t.parameters()):
        assert_close(a.grad, b.grad)
    p.zero_grad()
    t.zero_grad()
    assert all(q.grad is None for q in p.parameters()) and all(
        q.grad is None for q in t.parameters()
    )


def test_repr_matches_torch():
    for make in (
        lambda nn: nn.Sequential(OrderedDict([("a", nn.Linear(2, 3)), ("b", nn.Tanh())])),
        lambda nn: nn.ModuleDict({"x": nn.Flatten(), "y": nn.Unflatten(1, (2, 3))}),
        lambda nn: nn.ModuleList([nn.Identity(), nn.Sequential(nn.ReLU(), nn.Linear(1, 1))]),
        lambda nn: build(nn).block,
    ):
        assert repr(make(pnn)) == repr(make(tnn))


def test_extra_repr_of_a_custom_module():
    def make(nn):
        class Scale(nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = nn.Linear(2, 2)

            def extra_repr(self):
                return "factor=2"

        return Scale()

    assert repr(make(pnn)) == repr(make(tnn))


def test_registration_and_lookup_match_torch():
    assert registration_results(pg, pnn) == registration_results(torch, tnn)


def registration_results(lib, nn):
    m = build(nn)
    m.register_module("added", nn.Linear(1, 1))
    m.add_module("other", None)
    m.register_parameter("gain", nn.Parameter(lib.ones(1)))
    m.register_parameter("nothing", None)
    got = [
        type(m.get_submodule("seq.lin")).__name__,
        m.get_submodule("") is m,
        tuple(m.get_parameter("block.fc.bias").shape),
        tuple(m.get_buffer("block.steps").shape),
        [n for n, _ in m.named_parameters()][-1],
        "nothing" in m.state_dict(),
    ]
    errors = []
    for attempt in (
        lambda: m.register_buffer("a.b", lib.ones(1)),
        lambda: m.register_buffer("", lib.ones(1)),
        lambda: m.register_buffer("seq", lib.ones(1)),
        lambda: m.register_buffer("ok", 3),
        lambda: m.register_parameter("p", lib.ones(1)),
        lambda: m.register_parameter("seq", None),
        lambda: m.add_module("a.b", nn.ReLU()),
        lambda: m.add_module("bad", 3),
        lambda: m.get_submodule("seq.missing"),
        lambda: m.get_submodule("block.steps"),
        lambda: m.get_parameter("block.steps"),
        lambda: m.train(1),
    ):
        with pytest.raises(Exception) as info:
            attempt()
        errors.append(type(info.value))
    return got, errors


def test_modes_dtypes_and_requires_grad():
    for lib, nn in LIBS:
        m = build(nn)
        assert m.eval() is m and not any(x.training for x in m.modules())
        m.train()
        assert all(x.training for x in m.modules())
        assert m.requires_grad_(False) is m
        assert not any(q.requires_grad for q in m.parameters())
        assert m.double().block.fc.weight.dtype == lib.float64
        assert m.block.steps.dtype == lib.float64
        assert m.float().block.fc.weight.dtype == lib.float32
    # pg.float16 exists as a dtype object (scripts name it), but tensors of it are refused
    with pytest.raises(TypeError, match="float16"):
        build(pnn).half()


def test_state_dict_load_results_and_errors_match_torch():
    t, p = pair()
    sd_t = {k: v.detach().numpy() for k, v in t.state_dict().items()}
    del sd_t["block.fc.bias"]
    sd_t["stray"] = np.ones(1)
    rt = t.load_state_dict({k: torch.tensor(v) for k, v in sd_t.items()}, strict=False)
    rp = p.load_state_dict(sd_t, strict=False)
    assert type(rp).__name__ == "IncompatibleKeys" and rp._fields == rt._fields
    assert (rp.missing_keys, rp.unexpected_keys) == (rt.missing_keys, rt.unexpected_keys)
    messages = []
    for model, sd in ((t, {k: torch.tensor(v) for k, v in sd_t.items()}), (p, sd_t)):
        with pytest.raises(RuntimeError) as info:
            model.load_state_dict(sd)
        messages.append(str(info.value))
    first = [line for line in messages[0].split("\n")]
    ours = [line for line in messages[1].split("\n")]
    assert ours[0] == first[0].replace("Net", "Net")
    assert ours[1:] == first[1:]
    bad = {k: v.detach().numpy() for k, v in t.state_dict().items()}
    bad["block.fc.weight"] = np.ones((2, 2))
    for model, sd in ((t, {k: torch.tensor(v) for k, v in bad.items()}), (p, bad)):
        with pytest.raises(RuntimeError, match="size mismatch for block.fc.weight"):
            model.load_state_dict(sd, strict=False)


# -- hooks ------------------------------------------------------------------------------------
def test_forward_hooks_match_torch():
    logs = [forward_hook_run(lib, nn) for lib, nn in LIBS]
    np.testing.assert_allclose(np.array(logs[1][0]), np.array(logs[0][0]))
    for a, b in zip(logs[1][1:4], logs[0][1:4]):
        np.testing.assert_allclose(np.array(a), np.array(b))
    assert logs[1][4] == logs[0][4]


def forward_hook_run(lib, nn):
    log = []
    m = nn.Linear(3, 2).double()
    m.load_state_dict({"weight": lib.tensor(np.eye(2, 3)), "bias": lib.tensor([0.5, -1.0])})
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h2 = m.register_forward_pre_hook(lambda mod, args: log.append("first"), prepend=True)
    h3 = m.register_forward_hook(lambda mod, args, out: out + 1)
    h4 = m.register_forward_hook(
        lambda mod, args, kwargs, out: log.append(sorted(kwargs)), with_kwargs=True
    )
    h5 = m.register_forward_pre_hook(lambda mod, args, kwargs: (args, kwargs), with_kwargs=True)
    x = lib.tensor(X[:2, :3])
    out1 = m(x).tolist()
    for h in (h1, h3):
        h.remove()
    h1.remove()  # a second remove does nothing
    out2 = m(x).tolist()
    for h in (h2, h4, h5):
        h.remove()
    with m.register_forward_hook(lambda mod, args, out: out * 0):
        out3 = m(x).tolist()
    out4 = m(x).tolist()
    return out1, out2, out3, out4, log


def test_full_backward_hooks_match_torch():
    (ts, tf, tw), (ps, pf, pw) = [backward_hook_run(lib, nn) for lib, nn in LIBS]
    assert [s[0] for s in ps] == [s[0] for s in ts]
    for a, b in zip(ps, ts):
        for u, v in zip(a[1:], b[1:]):
            assert [x is None for x in u] == [x is None for x in v]
            np.testing.assert_allclose(
                np.array([x for x in u if x is not None]), np.array([x for x in v if x is not None])
            )
    np.testing.assert_allclose(pf[0], tf[0])
    np.testing.assert_allclose(pf[1], tf[1])
    np.testing.assert_allclose(pw, tw)


def backward_hook_run(lib, nn):
    seen = []
    m = nn.Linear(3, 2).double()
    m.load_state_dict(
        {"weight": lib.tensor(np.arange(6.0).reshape(2, 3)), "bias": lib.tensor([0.5, -1.0])}
    )

    def hook(mod, gin, gout):
        seen.append(
            (
                "hook",
                [None if g is None else g.tolist() for g in gin],
                [g.tolist() for g in gout],
            )
        )
        return None if gin[0] is None else (gin[0] * 10,)

    def pre(mod, gout):
        seen.append(("pre", [g.tolist() for g in gout]))
        return (gout[0] * 2,)

    m.register_full_backward_hook(hook)
    handle = m.register_full_backward_pre_hook(pre)
    x = lib.tensor(X[:2, :3], requires_grad=True)
    (m(x) * lib.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    first = (x.grad.tolist(), m.weight.grad.tolist())
    handle.remove()
    x2 = lib.tensor(X[:2, :3])  # an input that needs no gradient: grad_input is (None,)
    m(x2).sum().backward()
    return seen, first, m.weight.grad.tolist()


def test_deprecated_backward_hook_is_refused_clearly():
    with pytest.raises(NotImplementedError, match="register_full_backward_hook"):
        pnn.Linear(1, 1).register_backward_hook(lambda *a: None)


# -- containers -------------------------------------------------------------------------------
def test_sequential_and_module_list_operations_match_torch():
    def run(lib, nn):
        s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        out = [len(s), type(s[-1]).__name__, [type(m).__name__ for m in s]]
        sub = s[1:]
        out.append([n for n, _ in sub.named_children()])
        s.append(nn.Tanh())
        s.insert(1, nn.Identity())
        out.append([type(m).__name__ for m in s])
        out.append(type(s.pop(1)).__name__)
        s.extend([nn.Sigmoid()])
        out.append([n for n, _ in s.named_children()])
        out.append(len(s + nn.Sequential(nn.ReLU())))
        del s[0]
        out.append([n for n, _ in s.named_children()])
        od = nn.Sequential(OrderedDict([("x", nn.ReLU()), ("y", nn.Tanh())]))
        out.append([n for n, _ in od[1:].named_children()])
        ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
        ml.insert(0, nn.Identity())
        ml.extend([nn.Sigmoid()])
        out.append([n for n, _ in ml[1:].named_children()])
        with pytest.raises(IndexError):
            s[10]
        return out

    assert run(pg, pnn) == run(torch, tnn)


def test_module_dict_and_parameter_containers_match_torch():
    def run(lib, nn):
        d = nn.ModuleDict([("a", nn.ReLU()), ("b", nn.Tanh())])
        d["c"] = nn.Identity()
        d.update({"a": nn.Sigmoid()})
        out = [list(d), list(d.keys()), type(d["a"]).__name__, "b" in d, len(d)]
        out.append(type(d.pop("b")).__name__)
        out.append([n for n, _ in d.named_children()])
        with pytest.raises(KeyError):
            d["zz"]
        pl = nn.ParameterList([lib.zeros(2), nn.Parameter(lib.ones(3))])
        pl.append(lib.ones(1))
        out += [len(pl), [n for n, _ in pl.named_parameters()], type(pl[0]).__name__]
        pd = nn.ParameterDict({"w": lib.ones(2)})
        pd["b"] = lib.zeros(1)
        out += [
            list(pd),
            [n for n, _ in pd.named_parameters()],
            type(pd["b"]).__name__,
            "w" in pd,
            len(pd),
        ]
        out.append(type(pd.pop("w")).__name__)
        out.append(list(pd.keys()))
        return out

    assert run(pg, pnn) == run(torch, tnn)


def test_flatten_unflatten_identity_match_torch():
    x = np.arange(24.0).reshape(2, 3, 4)
    for make in (
        lambda nn: nn.Flatten(),
        lambda nn: nn.Flatten(0, 1),
        lambda nn: nn.Unflatten(2, (2, 2)),
        lambda nn: nn.Unflatten(-1, [4, 1]),
        lambda nn: nn.Identity(3, unused=True),
    ):
        assert_close(make(pnn)(pg.tensor(x)), make(tnn)(torch.tensor(x)))
    for nn in (tnn, pnn):
        with pytest.raises(TypeError):
            nn.Unflatten(1, 3)


# -- utils ------------------------------------------------------------------------------------
def test_parameters_to_vector_and_back_match_torch():
    t, p = pair()
    vt = tnn.utils.parameters_to_vector(t.parameters())
    vp = pnn.utils.parameters_to_vector(p.parameters())
    assert_close(vp, vt)
    assert vp.requires_grad and vt.requires_grad
    (vp * vp).sum().backward()
    (vt * vt).sum().backward()
    for a, b in zip(p.parameters(), t.parameters()):
        assert_close(a.grad, b.grad)
    new = np.linspace(-1, 1, vt.numel())
    tnn.utils.vector_to_parameters(torch.tensor(new), t.parameters())
    pnn.utils.vector_to_parameters(pg.tensor(new), p.parameters())
    for a, b in zip(p.parameters(), t.parameters()):
        assert_close(a, b)
    for nn, lib in ((tnn, torch), (pnn, pg)):
        with pytest.raises(TypeError):
            nn.utils.vector_to_parameters(new, [lib.ones(2)])
    assert callable(pnn.utils.clip_grad_norm_) and callable(pnn.utils.clip_grad_value_)


# -- init -------------------------------------------------------------------------------------
SHAPE = (300, 200, 2)  # fan_in 400, fan_out 600


def moments(values: np.ndarray) -> tuple[float, float]:
    v = values.ravel().astype(np.float64)
    return float(v.mean()), float(v.std())


def assert_moments(values, mean, std, n_sigma=6.0):
    """Sample mean and std within ``n_sigma`` standard errors of the formula's."""
    n = values.size
    m, s = moments(values)
    assert abs(m - mean) <= n_sigma * std / math.sqrt(n) + 1e-12, (m, mean)
    assert abs(s - std) <= n_sigma * std / math.sqrt(2 * n) + 1e-12, (s, std)


def draw(name, kwargs):
    mine = getattr(pnn.init, name)(pg.empty(*SHAPE), **kwargs).numpy()
    theirs = getattr(tnn.init, name)(torch.empty(*SHAPE), **kwargs).numpy()
    return mine, theirs


@pytest.mark.parametrize(
    ("name", "kwargs", "kind", "scale"),
    [
        ("uniform_", dict(a=-0.5, b=1.5), "uniform", (-0.5, 1.5)),
        ("normal_", dict(mean=0.3, std=2.0), "normal", (0.3, 2.0)),
        ("xavier_uniform_", dict(gain=2.0), "uniform", 2.0 * math.sqrt(6 / 1000)),
        ("xavier_normal_", dict(gain=0.5), "normal", 0.5 * math.sqrt(2 / 1000)),
        ("kaiming_uniform_", {}, "uniform", math.sqrt(6 / 400)),
        ("kaiming_uniform_", dict(a=math.sqrt(5)), "uniform", math.sqrt(1 / 400)),
        (
            "kaiming_uniform_",
            dict(mode="fan_out", nonlinearity="relu"),
            "uniform",
            math.sqrt(6 / 600),
        ),
        (
            "kaiming_normal_",
            dict(a=0.2, mode="fan_out"),
            "normal",
            math.sqrt(2 / 1.04) / math.sqrt(600),
        ),
        ("kaiming_normal_", dict(nonlinearity="tanh"), "normal", 5 / 3 / math.sqrt(400)),
    ],
)
def test_random_inits_follow_torchs_formulas(name, kwargs, kind, scale):
    mine, theirs = draw(name, kwargs)
    for values in (mine, theirs):  # ours, and torch's as a check of the formula
        if kind == "uniform":
            lo, hi = scale if isinstance(scale, tuple) else (-scale, scale)
            assert lo <= values.min() and values.max() <= hi
            assert values.min() < lo + (hi - lo) * 1e-3 and values.max() > hi - (hi - lo) * 1e-3
            assert_moments(values, (lo + hi) / 2, (hi - lo) / math.sqrt(12))
        else:
            mean, std = scale if isinstance(scale, tuple) else (0.0, scale)
            assert_moments(values, mean, std)
    ks = scipy.stats.ks_2samp(mine.ravel()[:20000], theirs.ravel()[:20000])
    assert ks.pvalue > 1e-4, ks


def test_trunc_normal_matches_the_truncated_distribution():
    kwargs = dict(mean=0.5, std=2.0, a=-1.0, b=3.0)
    mine = pnn.init.trunc_normal_(pg.empty(200, 300), **kwargs).numpy()
    theirs = tnn.init.trunc_normal_(torch.empty(200, 300), **kwargs).numpy()
    dist = scipy.stats.truncnorm((-1.0 - 0.5) / 2.0, (3.0 - 0.5) / 2.0, loc=0.5, scale=2.0)
    for values in (mine, theirs):
        assert values.min() >= -1.0 and values.max() <= 3.0
        assert_moments(values, dist.mean(), dist.std())
    assert scipy.stats.kstest(mine.ravel()[:20000], dist.cdf).pvalue > 1e-4
    with pytest.raises(ValueError):
        pnn.init.trunc_normal_(pg.empty(3), mean=0.0, std=1.0, a=8.0, b=9.0)


@pytest.mark.parametrize("shape", [(4, 7), (7, 4), (3, 2, 5)])
def test_orthogonal_is_orthogonal_with_gain(shape):
    w = pnn.init.orthogonal_(pg.empty(*shape, dtype=pg.float64), gain=2.0).numpy()
    flat = w.reshape(shape[0], -1)
    small = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(small, 4.0 * np.eye(min(flat.shape)), atol=1e-12)
    for nn, lib in ((tnn, torch), (pnn, pg)):
        with pytest.raises(ValueError):
            nn.init.orthogonal_(lib.empty(3))


def test_orthogonal_is_haar_distributed():
    # the first entry of a Haar-random 2x2 rotation/reflection is cos(theta), theta uniform
    vals = np.array([pnn.init.orthogonal_(pg.empty(2, 2)).numpy()[0, 0] for _ in range(400)])
    assert scipy.stats.kstest(vals, scipy.stats.arcsine(loc=-1, scale=2).cdf).pvalue > 1e-4


def test_deterministic_inits_equal_torchs():
    for name, args, shape in [
        ("constant_", (0.7,), (3, 4)),
        ("zeros_", (), (3,)),
        ("ones_", (), (2, 2)),
        ("eye_", (), (3, 5)),
        ("dirac_", (), (4, 2, 3)),
        ("dirac_", (2,), (4, 2, 3, 3)),
    ]:
        mine = getattr(pnn.init, name)(pg.empty(*shape), *args)
        theirs = getattr(tnn.init, name)(torch.empty(*shape), *args)
        assert_close(mine, theirs)
    for nn, lib in ((tnn, torch), (pnn, pg)):
        with pytest.raises(ValueError):
            nn.init.eye_(lib.empty(3))
        with pytest.raises(ValueError):
            nn.init.dirac_(lib.empty(3, 3))


def test_calculate_gain_and_fans_equal_torchs():
    for args in [
        ("linear",),
        ("conv2d",),
        ("sigmoid",),
        ("tanh",),
        ("relu",),
        ("selu",),
        ("leaky_relu",),
        ("leaky_relu", 0.2),
    ]:
        assert pnn.init.calculate_gain(*args) == tnn.init.calculate_gain(*args)
    for nn in (tnn, pnn):
        with pytest.raises(ValueError):
            nn.init.calculate_gain("swish")
    assert pnn.init._calculate_fan_in_and_fan_out(pg.empty(8, 3, 5, 5)) == (
        tnn.init._calculate_fan_in_and_fan_out(torch.empty(8, 3, 5, 5))
    )
