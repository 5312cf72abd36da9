"""A property-based fuzz: random small op graphs against torch in float64.

Hypothesis draws one or two leaves (shapes with size-0 and size-1 axes and 0-d tensors, values
with ties and zeros), then a chain of 1-6 ops from the tables below, each taking earlier nodes
as operands (so the graph is a DAG: a node may feed several ops). The last node is the output.
Forward values, first-order gradients (random upstream gradient ``u``) and second order (the
gradient of ``sum(grad * v)`` for a random ``v``, with respect to the leaves and to ``u``) must
equal torch's, NaN where torch gives NaN.

Every op is written once, as ``fn(ns, *xs)`` where ``ns`` is a namespace of the few functions
whose names differ (``P`` for polygrad, ``T`` for torch); the rest are operators. CI runs 60
derandomized examples per backend; ``pytest --fuzz-long`` runs thousands.
"""

from __future__ import annotations

import math
import types
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_second_order import _compare, _np

import polygrad as pg

P = types.SimpleNamespace(
    abs=pg.abs, exp=pg.exp, log=pg.log, sqrt=pg.sqrt, sin=pg.sin, tanh=pg.tanh,
    sigmoid=pg.sigmoid, relu=pg.relu, erf=pg.erf, softplus=pg.softplus, gelu=pg.gelu,
    leaky_relu=lambda x: pg.leaky_relu(x, 0.1), clip=lambda x, lo, hi: pg.clip(x, lo, hi),
    maximum=pg.maximum, minimum=pg.minimum, logaddexp=pg.logaddexp, where=pg.where,
    sum=lambda x, a, k: pg.sum(x, axis=a, keepdims=k),
    mean=lambda x, a, k: pg.mean(x, axis=a, keepdims=k),
    max=lambda x, a, k: pg.amax(x, axis=a, keepdims=k),
    min=lambda x, a, k: pg.amin(x, axis=a, keepdims=k),
    prod=lambda x, a, k: pg.prod(x, axis=a, keepdims=k),
    logsumexp=lambda x, a, k: pg.logsumexp(x, axis=a, keepdims=k),
    var=lambda x, a, k, c: pg.var(x, axis=a, keepdims=k, correction=c),
    std=lambda x, a, k, c: pg.std(x, axis=a, keepdims=k, correction=c),
    softmax=lambda x, a: pg.softmax(x, axis=a), log_softmax=lambda x, a: pg.log_softmax(x, a),
    reshape=pg.reshape, permute=pg.permute_dims, expand_dims=pg.expand_dims,
    squeeze=lambda x, a: pg.squeeze(x, axis=a), broadcast_to=pg.broadcast_to,
    flatten=pg.flatten, concat=lambda xs, a: pg.concat(xs, axis=a),
    stack=lambda xs, a: pg.stack(xs, axis=a), pad=lambda x, p, v: pg.pad(x, p, value=v),
    take=lambda x, i, a: pg.take(x, pg.tensor(i), axis=a), matmul=pg.matmul,
)  # fmt: skip


def _tdims(x: torch.Tensor, axis):
    """polygrad's axis (None, int or tuple) as a torch dim tuple."""
    if axis is None:
        return tuple(range(x.ndim))
    return (axis,) if isinstance(axis, int) else axis


def _tprod(x: torch.Tensor, axis, keepdims):
    dims = sorted({d % max(x.ndim, 1) for d in _tdims(x, axis)}, reverse=True) if x.ndim else []
    for d in dims:
        x = torch.prod(x, dim=d, keepdim=True)
    return x if keepdims else x.reshape([n for i, n in enumerate(x.shape) if i not in dims])


def _tvar(x, axis, keepdims, correction, std=False):
    fn = torch.std if std else torch.var
    return fn(x, dim=None if axis is None else axis, correction=correction, keepdim=keepdims)


T = types.SimpleNamespace(
    abs=torch.abs, exp=torch.exp, log=torch.log, sqrt=torch.sqrt, sin=torch.sin,
    tanh=torch.tanh, sigmoid=torch.sigmoid, relu=torch.relu, erf=torch.erf,
    softplus=F.softplus, gelu=F.gelu, leaky_relu=lambda x: F.leaky_relu(x, 0.1),
    clip=torch.clamp, maximum=torch.maximum, minimum=torch.minimum,
    logaddexp=torch.logaddexp, where=torch.where,
    sum=lambda x, a, k: torch.sum(x, _tdims(x, a), keepdim=k),
    mean=lambda x, a, k: torch.mean(x, _tdims(x, a), keepdim=k),
    max=lambda x, a, k: torch.amax(x, _tdims(x, a), keepdim=k),
    min=lambda x, a, k: torch.amin(x, _tdims(x, a), keepdim=k),
    prod=_tprod,
    logsumexp=lambda x, a, k: torch.logsumexp(x, _tdims(x, a), keepdim=k),
    var=_tvar, std=lambda x, a, k, c: _tvar(x, a, k, c, std=True),
    softmax=lambda x, a: torch.softmax(x, a), log_softmax=lambda x, a: torch.log_softmax(x, a),
    reshape=torch.reshape, permute=torch.permute, expand_dims=torch.unsqueeze,
    squeeze=lambda x, a: torch.squeeze(x, a), broadcast_to=torch.broadcast_to,
    flatten=torch.flatten, concat=lambda xs, a: torch.cat(xs, a),
    stack=lambda xs, a: torch.stack(xs, a), pad=lambda x, p, v: F.pad(x, p, value=v),
    take=lambda x, i, a: torch.index_select(x, a, torch.from_numpy(i)), matmul=torch.matmul,
)  # fmt: skip

# -- the op tables: name -> fn(ns, x) or fn(ns, a, b) ----------------------------------------
UNARY: dict[str, Callable] = {
    "neg": lambda ns, x: -x,
    "abs": lambda ns, x: ns.abs(x),
    "relu": lambda ns, x: ns.relu(x),
    "leaky_relu": lambda ns, x: ns.leaky_relu(x),
    "tanh": lambda ns, x: ns.tanh(x),
    "sigmoid": lambda ns, x: ns.sigmoid(x),
    "sin": lambda ns, x: ns.sin(x),
    "exp_tanh": lambda ns, x: ns.exp(ns.tanh(x)),
    "square": lambda ns, x: x * x,
    "cube": lambda ns, x: x**3,
    "pow_half_shifted": lambda ns, x: (x * x + 0.25) ** 0.5,
    "sqrt_shifted": lambda ns, x: ns.sqrt(x * x + 1.0),
    "log_shifted": lambda ns, x: ns.log(x * x + 0.5),
    "softplus": lambda ns, x: ns.softplus(x),
    "gelu": lambda ns, x: ns.gelu(x),
    "gelu_tanh": lambda ns, x: ns.gelu(x, approximate="tanh"),
    "erf": lambda ns, x: ns.erf(x),
    "clip": lambda ns, x: ns.clip(x, -0.5, 0.5),
    "scale_shift": lambda ns, x: 2.0 * x - 1.0,
    "rdiv": lambda ns, x: 1.0 / (x * x + 1.0),
    "rpow": lambda ns, x: 2.0**x,
}
BINARY: dict[str, Callable] = {
    "add": lambda ns, a, b: a + b,
    "sub": lambda ns, a, b: a - b,
    "mul": lambda ns, a, b: a * b,
    "div": lambda ns, a, b: a / (b * b + 0.5),
    "maximum": lambda ns, a, b: ns.maximum(a, b),
    "minimum": lambda ns, a, b: ns.minimum(a, b),
    "logaddexp": lambda ns, a, b: ns.logaddexp(a, b),
    "pow": lambda ns, a, b: (a * a + 0.25) ** ns.tanh(b),
    "where": lambda ns, a, b: ns.where(a > b, a * b, b),
}
REDUCTIONS = ("sum", "mean", "max", "min", "prod", "logsumexp", "var", "std")


#: HOOK for in-place writes, to be filled once the lead's in-place ops land. Each entry is
#: ``fn(ns, x, data) -> y``: it copies a non-leaf ``x`` (``x * 1.0``), writes into the copy in
#: place (``y.add_(..)``, ``y[idx] = v`` — the same call on both sides) and returns it;
#: ``data`` is the hypothesis draw for its arguments. ``_step`` mixes them in with the rest.
def _ip_add(ns, x, data):
    y = x * 1.0
    y.add_(x * 0.5, alpha=2)
    return y


def _ip_mul(ns, x, data):
    y = x + 0.0
    y *= x + 2.5
    return y


def _ip_setitem_first(ns, x, data):
    y = x * 1.0
    if y.ndim == 0 or y.shape[0] == 0:
        return y.clamp_(-1.5, 1.5)
    y[0] = x[0] * 3.0  # a write that reads what it overwrites
    return y


def _ip_view_write(ns, x, data):
    y = x * 2.0
    if y.ndim == 0:
        y.mul_(0.5)
        return y
    v = y[..., :1]  # a view: the write reaches y
    v.sub_(1.0)
    return y + v.sum()


def _ip_fill_tail(ns, x, data):
    y = x * 1.0
    if y.ndim and y.shape[-1] > 1:
        y[..., 1:].fill_(0.25)
    return y


INPLACE: list[Callable] = [_ip_add, _ip_mul, _ip_setitem_first, _ip_view_write, _ip_fill_tail]


# -- drawing -------------------------------------------------------------------------------------
GRID = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0])  # exact values: ties and zeros


@st.composite
def shapes(draw, ndim=None):
    ndim = draw(st.integers(0, 3)) if ndim is None else ndim
    return tuple(draw(st.sampled_from([0, 1, 1, 2, 2, 3, 3, 4])) for _ in range(ndim))


def _values(rng: np.random.Generator, shape, tie_share: float) -> np.ndarray:
    smooth = rng.uniform(-2.0, 2.0, shape)
    return np.where(rng.random(shape) < tie_share, rng.choice(GRID, shape), smooth)


def _broadcastable(data, shape):
    """A shape broadcasting with ``shape``: some axes dropped from the front or set to 1."""
    lead = data.draw(st.integers(0, len(shape)))
    return tuple(1 if data.draw(st.booleans()) else n for n in shape[lead:])


def _axis(data, ndim, several=True):
    """An axis of a tensor with ``ndim`` axes; with ``several`` also None or a tuple."""
    if ndim == 0:
        return data.draw(st.sampled_from([None, 0, -1] if several else [0, -1]))
    one = data.draw(st.integers(-ndim, ndim - 1))
    if not several:
        return one
    options = [None, one]
    if several and ndim >= 2:
        options.append(tuple(sorted(data.draw(st.sets(st.integers(0, ndim - 1), min_size=1)))))
    return data.draw(st.sampled_from(options))


def _step(data, nodes):
    """One op on earlier nodes: (pg tensor, torch tensor), or None when it does not apply."""
    kind = data.draw(st.sampled_from(["unary"] * 3 + ["binary"] * 2 + ["reduce"] * 2 + ["shape"]
                                     * 2 + (["inplace"] if INPLACE else [])))  # fmt: skip
    x, t = nodes[data.draw(st.integers(0, len(nodes) - 1))]
    if kind == "unary":
        fn = UNARY[data.draw(st.sampled_from(sorted(UNARY)))]
        return fn(P, x), fn(T, t)
    if kind == "inplace":
        fn = data.draw(st.sampled_from(INPLACE))
        return fn(P, x, data), fn(T, t, data)
    if kind == "binary":
        y, u = nodes[data.draw(st.integers(0, len(nodes) - 1))]
        try:
            torch.broadcast_shapes(t.shape, u.shape)
        except RuntimeError:
            return None
        fn = BINARY[data.draw(st.sampled_from(sorted(BINARY)))]
        if data.draw(st.booleans()):
            x, t, y, u = y, u, x, t
        return fn(P, x, y), fn(T, t, u)
    if kind == "reduce":
        name = data.draw(st.sampled_from(REDUCTIONS + ("softmax", "log_softmax")))
        if name in ("softmax", "log_softmax"):
            axis = _axis(data, t.ndim, several=False)
            return getattr(P, name)(x, axis), getattr(T, name)(t, axis)
        axis, keep = _axis(data, t.ndim), data.draw(st.booleans())
        axes = range(t.ndim) if axis is None else [axis] if isinstance(axis, int) else axis
        if name in ("max", "min") and t.ndim and math.prod(t.shape[a] for a in axes) == 0:
            return None  # an error in both (tested in test_second_order)
        if name in ("var", "std"):
            c = data.draw(st.sampled_from([0, 1]))
            if t.ndim == 0 and axis is not None:
                return None  # torch's var does not take a dim on a 0-d tensor
            return getattr(P, name)(x, axis, keep, c), getattr(T, name)(t, axis, keep, c)
        return getattr(P, name)(x, axis, keep), getattr(T, name)(t, axis, keep)
    return _shape_step(data, x, t, nodes)


def _shape_step(data, x, t, nodes):
    nd = t.ndim
    name = data.draw(st.sampled_from(
        ["reshape", "permute", "expand_dims", "squeeze", "broadcast", "flatten", "slice",
         "take", "concat", "stack", "pad", "matmul"]))  # fmt: skip
    if name == "reshape":
        shape = (-1,) if t.numel() else (0, *t.shape[:0])
        if t.numel() and data.draw(st.booleans()):
            shape = (1, t.numel(), 1)
        return P.reshape(x, shape), T.reshape(t, shape)
    if name == "permute":
        perm = tuple(data.draw(st.permutations(range(nd))))
        return P.permute(x, perm), T.permute(t, perm)
    if name == "expand_dims":
        a = data.draw(st.integers(-nd - 1, nd))
        return P.expand_dims(x, a), T.expand_dims(t, a)
    if name == "squeeze":
        ones = [i for i, n in enumerate(t.shape) if n == 1]
        a = data.draw(st.sampled_from(ones)) if ones else None
        return (P.squeeze(x, a), T.squeeze(t, a)) if a is not None else (pg.squeeze(x), t.squeeze())
    if name == "broadcast":
        shape = (2, *[3 if n == 1 and data.draw(st.booleans()) else n for n in t.shape])
        return P.broadcast_to(x, shape), T.broadcast_to(t, shape)
    if name == "flatten":
        return P.flatten(x), T.flatten(t)
    if name == "slice" and nd:
        step, start, lead = (data.draw(st.integers(*r)) for r in ((1, 2), (0, 1), (0, nd - 1)))
        # (array-api-strict refuses a start past the end of a size-0 axis: an IndexError, as
        # reported; torch gives an empty result)
        start = min(start, t.shape[lead])
        key = (slice(None),) * lead + (slice(start, None, step),)
        return x[key], t[key]
    if name == "take" and nd and t.shape[-1]:
        idx = np.array(data.draw(st.lists(st.integers(0, t.shape[-1] - 1), max_size=4)))
        idx = idx.astype(np.int64)
        return P.take(x, idx, nd - 1), T.take(t, idx, nd - 1)
    if name == "concat" and nd:
        a = data.draw(st.integers(-nd, nd - 1))
        return P.concat([x, x * 2.0], a), T.concat([t, t * 2.0], a)
    if name == "stack":
        same = [(y, u) for y, u in nodes if u.shape == t.shape]
        y, u = same[data.draw(st.integers(0, len(same) - 1))]
        a = data.draw(st.integers(-nd - 1, nd))
        return P.stack([x, y], a), T.stack([t, u], a)
    if name == "pad" and nd:
        p = tuple(data.draw(st.integers(0, 2)) for _ in range(2 * min(nd, 2)))
        v = data.draw(st.sampled_from([0.0, 1.5]))
        return P.pad(x, p, v), T.pad(t, p, v)
    if name == "matmul" and nd:
        if nd == 1:
            return P.matmul(x, x), T.matmul(t, t)
        return P.matmul(x, x.mT), T.matmul(t, t.mT)
    return None


# -- the property --------------------------------------------------------------------------------
TOL = {"rtol": 1e-7, "atol": 1e-9}


def _graph(data):
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    tie_share = data.draw(st.sampled_from([0.0, 0.5, 1.0]), label="tie share")
    first = data.draw(shapes(), label="shape 0")
    host = [_values(rng, first, tie_share)]
    if data.draw(st.booleans(), label="two leaves"):
        host.append(_values(rng, _broadcastable(data, first), tie_share))
    leaves = [pg.tensor(h, requires_grad=True) for h in host]
    tleaves = [torch.from_numpy(h.copy()).requires_grad_() for h in host]
    nodes = list(zip(leaves, tleaves))
    n_ops = data.draw(st.integers(1, 6), label="ops")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while len(nodes) - len(leaves) < n_ops:
            made = _step(data, nodes)
            if made is not None:
                nodes.append(made)
    return rng, leaves, tleaves, nodes[-1]


def _check(data):
    rng, leaves, tleaves, (out, ref) = _graph(data)
    _compare("forward", out, _np(ref, ref.shape), TOL)
    u = rng.standard_normal(tuple(ref.shape))
    pu, tu = pg.tensor(u, requires_grad=True), torch.from_numpy(u).requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g1 = pg.grad(out, leaves, pu, create_graph=True, allow_unused=True)
        t1 = torch.autograd.grad(ref, tleaves, tu, create_graph=True, allow_unused=True)
    for i, (g, t, x) in enumerate(zip(g1, t1, tleaves)):
        _compare(f"gradient of leaf {i}", g, _np(t, x.shape), TOL)
    vs = [rng.standard_normal(tuple(x.shape)) for x in tleaves]
    s, ts = pg.tensor(0.0, dtype=pg.float64), torch.zeros((), dtype=torch.float64)
    for g, t, v in zip(g1, t1, vs):
        if g is not None:
            s = s + pg.sum(g * pg.tensor(v))
        if t is not None:
            ts = ts + (t * torch.from_numpy(v)).sum()
    # (a gradient that is a constant, as of an empty tensor, may be recorded in one of the two
    # and not the other: its second order is zeros either way)
    n = len(leaves) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g2 = pg.grad(s, [*leaves, pu], allow_unused=True) if s.requires_grad else [None] * n
        t2 = (
            torch.autograd.grad(ts, [*tleaves, tu], allow_unused=True)
            if ts.requires_grad
            else [None] * n
        )
    for i, (g, t, x) in enumerate(zip(g2, t2, [*tleaves, tu])):
        _compare(f"second order, input {i}", g, _np(t, x.shape), TOL)


def test_fuzz_random_graphs_match_torch(request: pytest.FixtureRequest) -> None:
    long = request.config.getoption("--fuzz-long")

    @settings(
        max_examples=3000 if long else 60,
        deadline=None,
        derandomize=not long,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(st.data())
    def run(data):
        _check(data)

    run()
