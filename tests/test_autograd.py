"""The engine's semantics, each compared with torch: accumulation, retain_graph, no_grad,
create_graph and polygrad.grad, deep graphs, memory release, aliasing, and the errors."""

import gc
import math
import weakref

import numpy as np
import pytest
import torch
from helpers import assert_close, from_torch, to_torch

import polygrad as pg
from polygrad.testing import gradcheck, gradgradcheck


def _pair(*shape):
    """The same random float64 leaf in polygrad and torch."""
    t = torch.randn(*shape, dtype=torch.float64)
    return from_torch(t, requires_grad=True), t.clone().requires_grad_(True)


def test_gradients_accumulate_across_backward_calls():
    x, xt = _pair(3, 2)
    for _ in range(3):
        (x.exp() * x).sum().backward()
        (xt.exp() * xt).sum().backward()
    assert_close(x.grad, xt.grad)


def test_second_backward_through_freed_graph_is_an_error():
    x, _ = _pair(4)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x, xt = _pair(4)
    y, yt = (x.sin() * x).sum(), (xt.sin() * xt).sum()
    y.backward(retain_graph=True)
    y.backward()
    yt.backward(retain_graph=True)
    yt.backward()
    assert_close(x.grad, xt.grad)


def test_nonscalar_backward_needs_a_gradient_and_uses_it():
    x, xt = _pair(2, 3)
    y, yt = x.tanh() * 3.0, xt.tanh() * 3.0
    with pytest.raises(RuntimeError, match=r"gradient argument.*\(2, 3\)"):
        y.backward()
    g = torch.randn(2, 3, dtype=torch.float64)
    y.backward(from_torch(g))
    yt.backward(g)
    assert_close(x.grad, xt.grad)


def test_gradient_of_the_wrong_shape_is_an_error():
    x, _ = _pair(2, 3)
    with pytest.raises(RuntimeError, match=r"shape \(3, 2\).*shape \(2, 3\)"):
        (x * 2.0).backward(pg.ones(3, 2, dtype=pg.float64))


def test_backward_on_a_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        pg.ones(3).sum().backward()


def test_no_grad_context_and_decorator():
    x, _ = _pair(3)
    with pg.no_grad():
        y = x * 2.0
        assert not pg.is_grad_enabled()
        with pg.enable_grad():
            z = x * 2.0
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf

    @pg.no_grad()
    def double(t):
        return t * 2.0

    assert not double(x).requires_grad
    assert pg.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ValueError), pg.no_grad():
        raise ValueError
    assert pg.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_values():
    x, xt = _pair(3)
    y = (x.detach() * x).sum()
    yt = (xt.detach() * xt).sum()
    y.backward()
    yt.backward()
    assert_close(x.grad, xt.grad)
    assert x.detach().is_leaf and not x.detach().requires_grad


def test_a_chain_of_100000_ops_backpropagates_without_recursion():
    x = pg.tensor(1.0, dtype=pg.float64, requires_grad=True)
    y = x
    c = 1.00001
    for _ in range(100_000):
        y = y * c
    y.backward()
    assert math.isclose(x.grad.item(), c**100_000, rel_tol=1e-9)


def test_graph_memory_is_released_after_backward():
    x, _ = _pair(50)
    h = x.exp()
    inner = weakref.ref(h._node)
    y = (h * 2.0).sum()
    del h
    gc.collect()
    assert inner() is not None, "the graph should hold its nodes before backward"
    y.backward()
    gc.collect()
    assert inner() is None, "backward without retain_graph must release the graph"


def test_leaf_gradients_never_share_memory():
    # reshape and + both pass the upstream gradient through as a view or as itself
    x, _ = _pair(6)
    b, _ = _pair(2, 3)
    seed = pg.randn(2, 3, dtype=pg.float64)
    seed_copy = seed.numpy()
    (x.reshape(2, 3) + b).backward(seed)
    b_before = b.grad.numpy()
    with pg.no_grad():
        x.grad[...] = 0.0  # in-place on one gradient ...
    np.testing.assert_array_equal(b.grad.numpy(), b_before)  # ... leaves the other alone
    np.testing.assert_array_equal(seed.numpy(), seed_copy)  # ... and the upstream gradient


def test_hessian_vector_product_matches_torch():
    x, xt = _pair(4)
    v = torch.randn(4, dtype=torch.float64)

    def f(lib, t):
        return (lib.sin(t) * t * t).sum() + (t**3).sum()

    (g,) = pg.grad(f(pg, x), x, create_graph=True)
    (hv,) = pg.grad((g * from_torch(v)).sum(), x)
    (gt,) = torch.autograd.grad(f(torch, xt), xt, create_graph=True)
    (hvt,) = torch.autograd.grad((gt * v).sum(), xt)
    assert_close(hv, hvt)


def test_third_derivative_matches_torch():
    x, xt = _pair(3)
    y, yt = (x.tanh() * x.exp()).sum(), (xt.tanh() * xt.exp()).sum()
    for _ in range(3):
        (y,) = pg.grad(y.sum(), x, create_graph=True)
        (yt,) = torch.autograd.grad(yt.sum(), xt, create_graph=True)
    assert_close(y, yt)


def test_gradient_penalty_through_backward_with_create_graph():
    w, wt = _pair(3, 2)
    x, xt = _pair(5, 3)
    out, outt = (x @ w).tanh().sum(), (xt @ wt).tanh().sum()
    out.backward(create_graph=True)
    outt.backward(create_graph=True)
    penalty, penaltyt = (x.grad**2).sum(), (xt.grad**2).sum()
    w.grad = None
    wt.grad = None
    penalty.backward()
    penaltyt.backward()
    assert_close(w.grad, wt.grad)


def test_grad_does_not_touch_dot_grad_and_reaches_intermediates():
    x, xt = _pair(3)
    h, ht = x.exp(), xt.exp()
    y, yt = (h * h).sum(), (ht * ht).sum()
    gx, gh = pg.grad(y, [x, h])
    gxt, ght = torch.autograd.grad(yt, [xt, ht])
    assert_close(gx, gxt)
    assert_close(gh, ght)
    assert x.grad is None


def test_grad_with_grad_outputs_and_several_outputs():
    x, xt = _pair(2, 2)
    go = [torch.randn(2, 2, dtype=torch.float64), torch.randn(2, dtype=torch.float64)]
    outs = [x.sin(), x.sum(axis=0)]
    outst = [xt.sin(), xt.sum(dim=0)]
    (g,) = pg.grad(outs, x, [from_torch(t) for t in go])
    (gt,) = torch.autograd.grad(outst, xt, go)
    assert_close(g, gt)


def test_grad_unused_input():
    x, _ = _pair(2)
    z, _ = _pair(2)
    y = (x * 2.0).sum()
    with pytest.raises(RuntimeError, match="input 1.*not used.*allow_unused"):
        pg.grad(y, [x, z], retain_graph=True)
    gx, gz = pg.grad(y, [x, z], allow_unused=True)
    assert gz is None
    assert_close(gx, torch.full((2,), 2.0, dtype=torch.float64))


def test_retain_grad_keeps_an_intermediate_gradient():
    x, xt = _pair(3)
    h, ht = x * 3.0, xt * 3.0
    h.retain_grad()
    ht.retain_grad()
    (h.exp()).sum().backward()
    (ht.exp()).sum().backward()
    assert_close(h.grad, ht.grad)


def test_float32_input_gets_float32_gradient_when_mixed_with_float64():
    a = pg.randn(3, requires_grad=True)  # float32
    b = pg.randn(3, dtype=pg.float64, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == pg.float32 and b.grad.dtype == pg.float64
    assert_close(a.grad, b.numpy().astype(np.float32), rtol=1e-6)


class _Cube(pg.Function):
    """A user-defined op: forward and backward on arrays."""

    def forward(self, xp, x):
        return x * x * x

    def backward(self, xp, g, x):
        return (3.0 * x * x * g,)


def test_user_defined_function_matches_torch_and_passes_gradchecks():
    x, xt = _pair(5)
    _Cube()(x).sum().backward()
    (xt**3).sum().backward()
    assert_close(x.grad, xt.grad)
    assert gradcheck(lambda t: _Cube()(t), [x])
    assert gradgradcheck(lambda t: _Cube()(t), [x])


def test_user_defined_function_saving_the_output():
    class Exp2(pg.Function):
        saves = "output"

        def forward(self, xp, x):
            return xp.exp(2.0 * x)

        def backward(self, xp, g, y):
            return (2.0 * g * y,)

    x, xt = _pair(4)
    Exp2.apply(x).sum().backward()
    torch.exp(2.0 * xt).sum().backward()
    assert_close(x.grad, xt.grad)
    assert gradgradcheck(lambda t: Exp2.apply(t), [x])


def test_integer_and_bool_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="int64"):
        pg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="bool"):
        pg.tensor([True]).requires_grad_()


def test_requires_grad_cannot_change_on_a_non_leaf():
    x, _ = _pair(2)
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2.0).requires_grad_(False)


def test_in_place_write_into_a_tensor_that_requires_grad_is_refused():
    x, _ = _pair(3)
    with pytest.raises(RuntimeError, match="in-place"):
        x[0] = 1.0
    with pg.no_grad():
        x[0] = 1.0
    assert x.numpy()[0] == 1.0


def test_inputs_are_not_modified_by_forward_or_backward():
    x, _ = _pair(3, 4)
    before = x.numpy()
    y = (x.softmax(axis=1) * x).sum() + x.max() + x[:, 1].sum()
    y.backward()
    np.testing.assert_array_equal(x.numpy(), before)


def test_comparisons_and_argmax_have_no_gradient_and_match_torch():
    x, xt = _pair(3, 4)
    for got, want in [
        (x < 0.1, xt < 0.1),
        (x >= x[0], xt >= xt[0]),
        (x == x, xt == xt),
        (x != 0.0, xt != 0.0),
        (x.argmax(axis=1), xt.argmax(dim=1)),
        (x.argmin(), xt.argmin()),
    ]:
        assert not got.requires_grad
        assert_close(got, want, rtol=0)
    assert (x > 0).dtype == pg.bool and x.argmax(axis=0).dtype == pg.int64


def test_gradient_shapes_dtypes_and_devices_follow_their_inputs():
    a = pg.randn(1, 3, requires_grad=True)
    b = pg.randn(4, 1, dtype=pg.float64, requires_grad=True)
    c = pg.randn((), requires_grad=True)
    (a * b + c).sum().backward()
    for t in (a, b, c):
        assert t.grad.shape == t.shape
        assert t.grad.dtype == t.dtype
        assert t.grad.device == t.device
    assert_close(c.grad, to_torch(pg.tensor(12.0)).float())


def test_in_place_change_of_a_saved_leaf_between_forward_and_backward_is_an_error():
    import polygrad.optim as optim

    w = pg.tensor([1.0, 2.0], dtype=pg.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.5)
    (w * w).sum().backward()
    y = (w * w).sum()
    opt.step()  # in place: changes the array y's graph saved
    with pytest.raises(RuntimeError, match=r"modified by an in-place operation.*version 1.*0"):
        y.backward()
    # an op that saved nothing of w is unaffected, as in torch
    z = (w + 1.0).sum()
    opt.step()
    z.backward()
    y = (w * w).sum()
    with pg.no_grad():
        w[0] = 5.0  # __setitem__ counts as an in-place write too
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_an_upstream_gradient_of_another_float_dtype_is_cast_like_torch():
    x = pg.randn(3, requires_grad=True)  # float32
    xt = torch.from_numpy(x.numpy()).requires_grad_()
    g = torch.randn(3, dtype=torch.float64)
    (x * 2.0).backward(from_torch(g))
    (xt * 2.0).backward(g.float())
    assert x.grad.dtype == pg.float32
    assert_close(x.grad, xt.grad, rtol=1e-6)


def test_index_gradient_keeps_small_sums_beside_large_ones_as_torch():
    """Repeated indices accumulate per position: a large gradient at one position must not eat
    the digits of another's (a running-total scatter-add gave 0 here in float32)."""
    x = pg.tensor([0.0, 0.0, 0.0], requires_grad=True)
    g = pg.tensor([1e8, 1.0, 1.0, 3.0])
    (x[pg.tensor([0, 1, 1, 2])] * g).sum().backward()
    tx = torch.zeros(3, requires_grad=True)
    (tx[torch.tensor([0, 1, 1, 2])] * torch.tensor([1e8, 1.0, 1.0, 3.0])).sum().backward()
    assert x.grad.dtype == pg.float32
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
