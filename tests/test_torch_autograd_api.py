"""polygrad.autograd against torch.autograd: grad/backward with torch's arguments, custom
Functions (ctx, saved tensors, needs_input_grad, non-differentiable outputs, create_graph,
version checks, error types), grad-mode switches as context managers and decorators, and
autograd.functional's jacobian / hessian / vjp / jvp / hvp / vhp.

Each snippet is written once and run with ``torch`` and with ``polygrad`` as the library
(float64 inputs from the same NumPy arrays); values, gradients and structures are compared.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.functional as tf
from helpers import assert_close

import polygrad as pg
import polygrad.autograd as pga
import polygrad.autograd.functional as pgf

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3))
Y = RNG.standard_normal((3,))


def both(fn):
    """Run ``fn(lib, autograd)`` for torch and polygrad; return (torch result, polygrad's)."""
    return fn(torch, torch.autograd), fn(pg, pga)


def assert_same(ours, theirs):
    """Same structure (tuple nesting, None positions), values and shapes."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple), f"expected a tuple, got {type(ours).__name__}"
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    elif theirs is None:
        assert ours is None
    else:
        assert_close(ours, theirs)


# -- grad and backward ------------------------------------------------------------------------
def test_grad_arguments_match_torch():
    def run(lib, ag):
        x = lib.tensor(X, requires_grad=True)
        y = lib.tensor(Y, requires_grad=True)
        u = lib.tensor(Y, requires_grad=True)  # unused
        z = ((x * y).sin() ** 2).sum()
        g1 = ag.grad(z, (x, y), retain_graph=True, create_graph=True, only_inputs=True)
        (g2,) = ag.grad(g1[0].sum(), y, retain_graph=True)
        unused = ag.grad(z, [x, u], allow_unused=True, retain_graph=True)
        mat = ag.grad(z, [x, u], materialize_grads=True)
        return g1, g2, unused, mat

    t, p = both(run)
    assert_same(p, t)


def test_grad_batched_grad_outputs():
    def run(lib, ag):
        x = lib.tensor(X, requires_grad=True)
        y = x.exp() * 2
        v = lib.tensor(np.stack([X, 2 * X, -X]))
        return ag.grad(y, x, v, is_grads_batched=True)

    t, p = both(run)
    assert_same(p, t)


@pytest.mark.parametrize(
    "case",
    ["unused", "no_grad_input", "materialize_with_false"],
)
def test_grad_errors_match_torch_types(case):
    def run(lib, ag):
        x = lib.tensor(X, requires_grad=True)
        u = lib.tensor(Y, requires_grad=True)
        c = lib.tensor(Y)
        z = (x * 2).sum()
        if case == "unused":
            ag.grad(z, [x, u])
        elif case == "no_grad_input":
            ag.grad(z, [c])
        else:
            ag.grad(z, [x], allow_unused=False, materialize_grads=True)

    errors = []
    for lib, ag in ((torch, torch.autograd), (pg, pga)):
        with pytest.raises(Exception) as info:
            run(lib, ag)
        errors.append(type(info.value))
    assert errors[0] is errors[1], errors


def test_backward_with_inputs_and_grad_tensors():
    def run(lib, ag):
        x = lib.tensor(X, requires_grad=True)
        y = lib.tensor(Y, requires_grad=True)
        z = x * y
        ag.backward([z], [lib.tensor(X)], inputs=[y])
        return x.grad, y.grad

    t, p = both(run)
    assert_same(p, t)


# -- custom Functions -------------------------------------------------------------------------
def make_functions(lib, ag):
    class Cube(ag.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return scale * x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * ctx.scale * x**2 * g, None

    class MulOut(ag.Function):  # saves its output; two Tensor inputs
        @staticmethod
        def forward(ctx, a, b):
            out = (a * b).exp()
            ctx.save_for_backward(a, b, out)
            return out

        @staticmethod
        def backward(ctx, g):
            a, b, out = ctx.saved_tensors
            ga = g * out * b if ctx.needs_input_grad[0] else None
            gb = g * out * a if ctx.needs_input_grad[1] else None
            return ga, gb

    class SplitSign(ag.Function):  # two outputs, one non-differentiable
        @staticmethod
        def forward(ctx, x):
            pos = x * (x > 0)
            mask = x > 0
            ctx.mark_non_differentiable(mask)
            ctx.save_for_backward(mask)
            return pos, mask, x * 2

        @staticmethod
        def backward(ctx, g_pos, g_mask, g_double):
            (mask,) = ctx.saved_tensors
            return g_pos * mask + 2 * g_double

    class Setup(ag.Function):  # forward without ctx, setup_context
        @staticmethod
        def forward(x, y):
            return x.sin() * y

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * x.cos() * y, g * x.sin()

    return Cube, MulOut, SplitSign, Setup


def test_function_values_gradients_and_double_backward():
    def run(lib, ag):
        Cube, MulOut, SplitSign, Setup = make_functions(lib, ag)
        x = lib.tensor(X, requires_grad=True)
        y = lib.tensor(Y, requires_grad=True)
        c = Cube.apply(x, 0.5)
        m = MulOut.apply(x, y)
        pos, mask, dbl = SplitSign.apply(x)
        s = Setup.apply(x, y)
        loss = (c * m).sum() + (pos * 3).sum() + (s * s).sum() + dbl.sum()
        gx, gy = ag.grad(loss, (x, y), create_graph=True)
        hx, hy = ag.grad((gx**2).sum() + (gy * gy).sum(), (x, y))
        return (c, m, pos, s, dbl), (gx, gy), (hx, hy), mask.requires_grad, c.requires_grad

    t, p = both(run)
    assert_same(p[:3], t[:3])
    assert p[3] is t[3] is False and p[4] is t[4] is True


def test_function_grad_fn_name_needs_input_grad_and_no_grad():
    seen = []

    class Probe(pga.Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen.append((ctx.needs_input_grad, pg.is_grad_enabled()))
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            return g, None, None

    a = pg.tensor(X, requires_grad=True)
    b = pg.tensor(X)
    out = Probe.apply(a, b, 2.0)
    assert type(out.grad_fn).__name__ == "ProbeBackward"
    with pg.no_grad():
        plain = Probe.apply(a, b, 2.0)
    assert not plain.requires_grad and plain.grad_fn is None
    assert seen == [((True, False, False), False), ((False, False, False), False)]


def test_function_materialize_grads_and_unused_outputs():
    def run(lib, ag, materialize):
        got = []

        class Two(ag.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(materialize)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, g1, g2):
                got.append((g1 is None, g2 is None))
                return (0 if g1 is None else g1 * 2) + (0 if g2 is None else g2 * 3)

        x = lib.tensor(X, requires_grad=True)
        a, _ = Two.apply(x)
        a.sum().backward()
        return got, x.grad

    for materialize in (True, False):
        (tg, tx), (pgot, px) = run(torch, torch.autograd, materialize), run(pg, pga, materialize)
        assert pgot == tg
        assert_close(px, tx)


def test_function_broadcast_gradient_is_summed_and_bad_shapes_refused():
    def run(lib, ag, shape):
        class Bad(ag.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 1

            @staticmethod
            def backward(ctx, g):
                return lib.ones(shape, dtype=lib.float64)

        x = lib.tensor(Y, requires_grad=True)
        Bad.apply(x).sum().backward()
        return x.grad

    assert_close(run(pg, pga, (4, 3)), run(torch, torch.autograd, (4, 3)))
    for lib, ag in ((torch, torch.autograd), (pg, pga)):
        with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
            run(lib, ag, (2,))


@pytest.mark.parametrize("case", ["count", "non_tensor", "legacy"])
def test_function_errors_match_torch(case):
    def run(lib, ag):
        class F(ag.Function):
            if case == "legacy":

                def forward(self, x):
                    return x * 1

            else:

                @staticmethod
                def forward(ctx, x, k):
                    return x * k

            @staticmethod
            def backward(ctx, g):
                return (g,) if case == "count" else (g, g)

        x = lib.tensor(Y, requires_grad=True)
        if case == "legacy":
            F()(x)
        F.apply(x, 2.0).sum().backward()

    messages = []
    for lib, ag in ((torch, torch.autograd), (pg, pga)):
        with pytest.raises(RuntimeError) as info:
            run(lib, ag)
        messages.append(str(info.value))
    key = {
        "count": "incorrect number of gradients",
        "non_tensor": "different than None",
        "legacy": "Legacy autograd function",
    }[case]
    assert all(key in m for m in messages), messages


def test_function_saved_tensor_modified_in_place_raises():
    for lib, ag in ((torch, torch.autograd), (pg, pga)):
        Cube = make_functions(lib, ag)[0]
        x = lib.tensor(X, requires_grad=True)
        h = x * 1
        y = Cube.apply(h, 1.0)
        with lib.no_grad():
            h.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_once_differentiable_refuses_double_backward():
    for lib, ag in ((torch, torch.autograd), (pg, pga)):
        from_mod = torch.autograd.function if lib is torch else pga.function

        class Sq(ag.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @from_mod.once_differentiable
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = lib.tensor(Y, requires_grad=True)
        v = lib.tensor(Y, requires_grad=True)  # an upstream gradient that requires grad
        (g,) = ag.grad(Sq.apply(x), x, v, create_graph=True)
        if lib is pg:
            assert_close(g, 2 * torch.tensor(Y) ** 2)
        with pytest.raises(RuntimeError, match="once_differentiable"):
            g.sum().backward()


# -- grad mode --------------------------------------------------------------------------------
def test_grad_mode_switches_as_context_managers_and_decorators():
    def run(lib, ag, inference_enabled):
        x = lib.tensor(Y, requires_grad=True)
        out = []
        with ag.no_grad():
            out.append((x * 2).requires_grad)
            with ag.enable_grad():
                out.append((x * 2).requires_grad)
        with ag.set_grad_enabled(False):
            out.append((x * 2).requires_grad)
        out.append(lib.is_grad_enabled())
        with ag.inference_mode():
            out.append((x * 2).requires_grad)
            out.append(inference_enabled())
        out.append(inference_enabled())
        with ag.inference_mode(False):
            out.append((x * 2).requires_grad)

        @ag.no_grad()
        def f1():
            return (x * 2).requires_grad

        @ag.no_grad
        def f2():
            return (x * 2).requires_grad

        @ag.set_grad_enabled(False)
        def f3():
            return (x * 2).requires_grad

        @ag.inference_mode
        def f4():
            return (x * 2).requires_grad

        @ag.inference_mode()
        def f5():
            return (x * 2).requires_grad

        @ag.enable_grad()
        def f6():
            return (x * 2).requires_grad

        out.append(lib.is_grad_enabled())  # decorating with set_grad_enabled changes nothing
        out += [f1(), f2(), f3(), f4(), f5(), lib.is_grad_enabled()]
        with ag.no_grad():
            out.append(f6())
        ag.set_grad_enabled(False)  # a plain call switches at once
        out.append(lib.is_grad_enabled())
        ag.set_grad_enabled(True)
        out.append(lib.is_grad_enabled())
        return out

    expected = run(torch, torch.autograd, torch.is_inference_mode_enabled)
    assert run(pg, pga, pga.is_inference_mode_enabled) == expected


def test_set_grad_enabled_refuses_non_bool():
    with pytest.raises(TypeError):
        torch.set_grad_enabled(1)
    with pytest.raises(TypeError):
        pga.set_grad_enabled(1)


# -- autograd.functional ----------------------------------------------------------------------
def f_single(x):
    return (x.sin() * x).sum(-1)


def f_pair(x, y):
    return (x * y).exp(), (x**2).sum() + y.sum()


def f_scalar(x, y):
    return ((x * y).sin() ** 2).sum() + (y**3).sum()


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("vectorize", [False, True])
def test_jacobian_structures_match_torch(create_graph, vectorize):
    tx, ty = torch.tensor(X), torch.tensor(Y)
    px, py = pg.tensor(X), pg.tensor(Y)
    kw = dict(create_graph=create_graph, vectorize=vectorize)
    assert_same(pgf.jacobian(f_single, px, **kw), tf.jacobian(f_single, tx, **kw))
    assert_same(pgf.jacobian(f_single, (px,), **kw), tf.jacobian(f_single, (tx,), **kw))
    assert_same(pgf.jacobian(f_pair, (px, py), **kw), tf.jacobian(f_pair, (tx, ty), **kw))


def test_jacobian_strict_and_forward_mode_rules():
    def g(x, y):
        return x * 2

    tx, ty = torch.tensor(X), torch.tensor(Y)
    px, py = pg.tensor(X), pg.tensor(Y)
    assert_same(pgf.jacobian(g, (px, py)), tf.jacobian(g, (tx, ty)))
    for mod, a, b in ((tf, tx, ty), (pgf, px, py)):
        with pytest.raises(RuntimeError, match="independent of input 1"):
            mod.jacobian(g, (a, b), strict=True)
        with pytest.raises(NotImplementedError):
            mod.jacobian(g, (a, b), strategy="forward-mode")
        with pytest.raises(AssertionError):
            mod.jacobian(g, (a, b), strategy="sideways")
        with pytest.raises(TypeError):
            mod.jacobian(g, [a, b])
    # torch's forward-mode returns lists where reverse-mode returns tuples; ours: tuples
    expected = tf.jacobian(f_pair, (tx, ty), vectorize=True, strategy="forward-mode")
    assert_same(
        pgf.jacobian(f_pair, (px, py), vectorize=True, strategy="forward-mode"),
        tuple(tuple(row) for row in expected),
    )


def test_jacobian_create_graph_is_differentiable():
    def run(lib, fmod):
        x = lib.tensor(Y, requires_grad=True)
        j = fmod.jacobian(lambda v: v.exp() * v.sum(), x, create_graph=True)
        (g,) = (torch.autograd if lib is torch else pga).grad((j * j).sum(), x)
        return j.requires_grad, g

    (tr, tg), (pr, pgr) = run(torch, tf), run(pg, pgf)
    assert tr is pr is True
    assert_close(pgr, tg)


def test_hessian_matches_torch():
    tx, ty = torch.tensor(X), torch.tensor(Y)
    px, py = pg.tensor(X), pg.tensor(Y)
    assert_same(
        pgf.hessian(lambda y: f_scalar(px, y), py), tf.hessian(lambda y: f_scalar(tx, y), ty)
    )
    assert_same(pgf.hessian(f_scalar, (px, py)), tf.hessian(f_scalar, (tx, ty)))
    assert_same(
        pgf.hessian(f_scalar, (px, py), vectorize=True),
        tf.hessian(f_scalar, (tx, ty), vectorize=True),
    )
    for mod, a in ((tf, tx), (pgf, px)):
        with pytest.raises(RuntimeError, match="single"):
            mod.hessian(lambda v: v * 2, a)


@pytest.mark.parametrize("name", ["vjp", "jvp", "hvp", "vhp"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_products_match_torch(name, create_graph):
    tx, ty = torch.tensor(X), torch.tensor(Y)
    px, py = pg.tensor(X), pg.tensor(Y)
    if name == "vjp":
        tv, pv = (torch.tensor(X), torch.tensor(1.5)), (pg.tensor(X), pg.tensor(1.5))
        fn = f_pair
    elif name == "jvp":
        tv, pv = (torch.tensor(2 * X), torch.tensor(-Y)), (pg.tensor(2 * X), pg.tensor(-Y))
        fn = f_pair
    else:
        tv, pv = (torch.tensor(2 * X), torch.tensor(-Y)), (pg.tensor(2 * X), pg.tensor(-Y))
        fn = f_scalar
    t = getattr(tf, name)(fn, (tx, ty), tv, create_graph=create_graph)
    p = getattr(pgf, name)(fn, (px, py), pv, create_graph=create_graph)
    assert_same(p, t)


def test_products_defaults_and_strict():
    tx, px = torch.tensor(Y), pg.tensor(Y)
    assert_same(pgf.vjp(lambda x: (x**2).sum(), px), tf.vjp(lambda x: (x**2).sum(), tx))
    t1, p1 = torch.tensor(0.7), pg.tensor(0.7)
    assert_same(pgf.jvp(lambda x: x.sin(), p1), tf.jvp(lambda x: x.sin(), t1))
    assert_same(pgf.hvp(lambda x: x**3, p1), tf.hvp(lambda x: x**3, t1))
    assert_same(
        pgf.jvp(lambda x, y: x * 2, (px, px), (px, px)),
        tf.jvp(lambda x, y: x * 2, (tx, tx), (tx, tx)),
    )
    for mod, a in ((tf, tx), (pgf, px)):
        with pytest.raises(RuntimeError):
            mod.vjp(lambda x: x * 2, a)  # v needed for a non-scalar output
        with pytest.raises(RuntimeError):
            mod.vjp(lambda x, y: x * 2, (a, a), a * 0 + 1, strict=True)
        with pytest.raises(RuntimeError):
            mod.vjp(lambda x: (x * 2).sum(), a, (a, a))  # v of the wrong structure


def _double_in_place(lib):
    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    return Double


@pytest.mark.parametrize("lib", [torch, pg], ids=["torch", "polygrad"])
def test_mark_dirty_in_place_function(lib):
    """As torch: the output is the input itself, its version bumped, the graph rebased."""
    a = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=True)
    b = a * 3
    before = b._version
    c = _double_in_place(lib).apply(b)
    assert c is b and b._version - before == 2
    assert type(c.grad_fn).__name__ == "DoubleBackward"
    assert c.tolist() == [6.0, -12.0]
    (c * c).sum().backward()
    assert a.grad.tolist() == [72.0, -144.0]  # d/da (6a)^2 = 72a
    with pytest.raises(RuntimeError, match="leaf"):
        _double_in_place(lib).apply(lib.tensor([1.0], requires_grad=True))
    plain = lib.tensor([1.0])  # nothing requires grad: modified in place, no graph
    assert _double_in_place(lib).apply(plain) is plain and plain.tolist() == [2.0]


def test_forward_ad_is_refused_naming_torch():
    from polygrad.autograd import forward_ad as fwad

    with pytest.raises(NotImplementedError, match="torch.autograd.forward_ad.dual_level"):
        with fwad.dual_level():
            pass
    for name in ("make_dual", "unpack_dual"):
        with pytest.raises(NotImplementedError, match=f"torch.autograd.forward_ad.{name}"):
            getattr(fwad, name)(pg.ones(2), pg.ones(2))
    assert pg.autograd.forward_ad is fwad
