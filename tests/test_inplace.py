"""In-place writes and views against torch: values, gradients, and the errors torch raises.

Each case is a function written once with methods that torch and polygrad share; it runs on
torch float64 leaves and on polygrad float64 leaves of the backend under test, and the loss and
every leaf's gradient must agree.
"""

import numpy as np
import pytest
import torch
from helpers import assert_close, assert_on_backend

import polygrad as pg


def _run(case, shapes, seed=0):
    rng = np.random.default_rng(seed)
    host = [rng.uniform(0.5, 1.5, s) for s in shapes]
    tt = [torch.tensor(h, dtype=torch.float64, requires_grad=True) for h in host]
    pt = [pg.tensor(h, dtype=pg.float64, requires_grad=True) for h in host]
    t_out = case(*tt)
    p_out = case(*pt)
    assert_close(p_out, t_out.detach().numpy())
    t_out.backward()
    p_out.backward()
    for i, (a, b) in enumerate(zip(pt, tt)):
        if b.grad is None:
            assert a.grad is None, f"leaf {i}: torch has no gradient, polygrad has one"
        else:
            assert a.grad is not None, f"leaf {i}: no gradient"
            assert_close(a.grad, b.grad.numpy())


def c_setitem_value(x, v):
    y = x * 2
    y[0] = v
    return (y * y).sum()


def c_setitem_slice(x, v):
    y = x * 1.5
    y[1:3] = v
    return (y * x).sum()


def c_setitem_number(x):
    y = x.sin()
    y[1] = 3.0
    return (y * y).sum()


def c_setitem_mask(x):
    y = x * 3
    y[y > 3.3] = 0.5
    return (y * y).sum()


def c_setitem_index_array(x, v):
    y = x + 0
    y[[0, 2]] = v
    return (y * y * y).sum()


def c_augmented_index(x, v):
    y = x * 1
    y[1:] += v
    return (y * y).sum()


def c_iadd(x, z):
    y = x * 2
    y += z
    return (y * y).sum()


def c_imul(x, z):
    y = x + 1
    y *= z
    y /= z + 1
    return (y * y).sum()


def c_methods(x):
    y = x * 1
    y.mul_(3).add_(x, alpha=2).sub_(1).div_(2)
    y.pow_(2)
    y.clamp_(0.2, 0.99)
    y.tanh_()  # saves its output: nothing may write into y after it
    return (y * x).sum()


def c_output_saving_methods(x):
    a = x * 1
    a.exp_()
    b = x * 1
    b.sqrt_()
    c = x * 1
    c.sigmoid_()
    d = x - 1
    d.relu_()
    e = x * 1
    e.neg_()
    return (a * b * c + d * e).sum()


def c_zero_fill(x):
    y = x * 2
    y[0].zero_()
    y[1].fill_(4.0)
    return (y * y * x).sum()


def c_copy_broadcast(x, z):
    y = x * 2
    y.copy_(z)  # z is (3,), y is (2, 3)
    return (y * x).sum()


def c_view_write(x):
    y = x * 2
    v = y[1:]
    v.mul_(3)
    return (y * y).sum() + v.sum()


def c_sibling_views(x):
    y = x * 2
    a = y[0:2]
    b = y[1:3]
    a.add_(1)
    return (b * b).sum()


def c_reshape_view_write(x):
    y = x * 2
    r = y.reshape(3, 2)
    r[0] = 0
    return (y * y).sum()


def c_transpose_view_write(x):
    y = x * 1
    t = y.T
    t[0].mul_(5)
    return (y * y).sum() + (t * x.T).sum()


def c_constant_gets_grad(x):
    c = x.detach() * 0
    c[1] = x[0] * 3
    return (c * c).sum()


def c_write_after_use(x):
    y = x * 2
    z = y + 1  # Add saves nothing: writing y afterwards is fine
    y.mul_(4)
    return (z * y).sum()


def c_accumulate_into_products_and_quotients(x):
    # torch's Mul by a number and Div save no output: writing the result in place is fine
    d = x * 2
    d += 3 * d + x
    g = d / 2.0
    g += 10.0 / d
    return g.sum()


CASES = [
    (c_accumulate_into_products_and_quotients, [(3,)]),
    (c_setitem_value, [(3,), ()]),
    (c_setitem_slice, [(5,), (2,)]),
    (c_setitem_number, [(3,)]),
    (c_setitem_mask, [(6,)]),
    (c_augmented_index, [(4,), (3,)]),
    (c_iadd, [(2, 3), (3,)]),
    (c_imul, [(2, 3), (2, 3)]),
    (c_methods, [(4,)]),
    (c_output_saving_methods, [(4,)]),
    (c_zero_fill, [(3, 2)]),
    (c_copy_broadcast, [(2, 3), (3,)]),
    (c_view_write, [(4,)]),
    (c_sibling_views, [(3,)]),
    (c_reshape_view_write, [(6,)]),
    (c_transpose_view_write, [(2, 3)]),
    (c_constant_gets_grad, [(3,)]),
    (c_write_after_use, [(3,)]),
]


@pytest.mark.parametrize("case, shapes", CASES, ids=[c.__name__ for c, _ in CASES])
def test_inplace_matches_torch(case, shapes):
    _run(case, shapes)


def test_setitem_with_index_array_matches_torch():
    _run(c_setitem_index_array, [(4,), (2,)])


def test_setitem_with_repeated_indices_is_refused():
    x = pg.zeros(4)
    with pytest.raises(ValueError, match="more than once"):
        x[pg.tensor([1, 1])] = pg.tensor([1.0, 2.0])


@pytest.mark.parametrize("dtype", ["float64", "bool", "int64"])
def test_setitem_with_a_mask_writes_exact_values_of_any_dtype(dtype):
    # values far apart in magnitude, the dtype's extreme and bools: written exactly, as torch
    rng = np.random.default_rng(0)
    if dtype == "float64":
        base = rng.normal(size=(3, 4))
        values = [1e20, 1.0, np.finfo(np.float64).max, -3.5, 1e-300]
    elif dtype == "bool":
        base = rng.normal(size=(3, 4)) > 0
        values = [True, False, True, True, False]
    else:
        base = rng.integers(-9, 9, size=(3, 4))
        values = [2**62, 1, -(2**62), 7, 0]
    mask = np.zeros((3, 4), dtype=bool)
    mask.flat[[0, 3, 5, 6, 11]] = True
    expected = torch.tensor(base)
    expected[torch.tensor(mask)] = torch.tensor(values, dtype=expected.dtype)
    x = pg.tensor(base)
    x[pg.tensor(mask)] = pg.tensor(values, dtype=x.dtype)
    assert_on_backend(x)
    assert x.dtype.name == dtype
    assert np.array_equal(x.numpy(), expected.numpy())
    idx = [11, 0, 6]
    flat = torch.tensor(base).reshape(-1)
    flat[torch.tensor(idx)] = torch.tensor(values[:3], dtype=flat.dtype)
    y = pg.tensor(base).reshape(-1)
    y[pg.tensor(idx)] = pg.tensor(values[:3], dtype=y.dtype)
    assert np.array_equal(y.numpy(), flat.numpy())


def test_power_output_written_in_place_keeps_the_backward_as_torch():
    # SciPy's moments do s = s**2; s *= d: torch's pow by a number saves only its input
    data = [0.5, -1.5, 2.0]
    xt = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    st = xt**2
    st *= xt
    (st * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    x = pg.tensor(data, dtype=pg.float64, requires_grad=True)
    s = x**2
    s *= x
    (s * pg.tensor([1.0, 2.0, 3.0], dtype=pg.float64)).sum().backward()
    assert_close(x.grad, xt.grad)


# -- saved tensors changed in place: backward refuses ------------------------------------------
def test_saved_output_modified_raises_as_in_torch():
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    yt = xt.exp()
    yt[1] = 3.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        yt.sum().backward()
    x = pg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y[1] = 3.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_saved_output_modified_raises():
    x = pg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"output of shape \(2,\) saved by Exp is at version 1"):
        y.sum().backward()


def test_saved_non_leaf_input_modified_raises():
    x = pg.tensor([1.0, 2.0], requires_grad=True)
    w = x * 1
    z = x * w  # Mul saves w
    w.mul_(2)
    with pytest.raises(RuntimeError, match="input 1 of shape .* saved by Mul"):
        z.sum().backward()


def test_write_through_a_view_invalidates_saves_of_the_base():
    x = pg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    z = y * y
    y[0:1].add_(1)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.sum().backward()


def test_write_into_detached_changes_the_original_and_is_caught():
    x = pg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y
    d = y.detach()
    d.add_(10)
    assert y.tolist() == [11.0, 12.0]  # shared storage, as torch
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.sum().backward()


def test_detach_then_write_without_saves_keeps_gradient():
    x = pg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.detach().zero_()
    y.sum().backward()  # the Mul by 3 saved nothing about y itself
    assert x.grad.tolist() == [3.0, 3.0]


# -- what torch refuses --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "write",
    [
        lambda t: t.add_(1),
        lambda t: t.mul_(2),
        lambda t: t.zero_(),
        lambda t: t.__setitem__(0, 1.0),
        lambda t: t.__iadd__(1),
        lambda t: t.copy_(pg.ones(3)),
    ],
)
def test_inplace_on_leaf_requiring_grad_raises(write):
    w = pg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        write(w)
    with pg.no_grad():  # as in torch, allowed without recording
        write(w)
    assert w.is_leaf and w.requires_grad


def test_inplace_on_view_of_leaf_raises():
    w = pg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    v = w[1:]
    with pytest.raises(RuntimeError, match="view of a leaf tensor that requires grad"):
        v.mul_(2)


def test_inplace_on_broadcast_view_raises():
    x = pg.tensor([1.0, 2.0])
    e = x.expand(3, 2)
    with pytest.raises(RuntimeError, match="broadcast"):
        e.add_(1)


def test_no_grad_write_into_view_reaches_base():
    w = pg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    with pg.no_grad():
        w[1:3].mul_(10)
        w.reshape(2, 2)[1, 1] = -1.0
    assert w.tolist() == [1.0, 20.0, 30.0, -1.0]
    assert w.is_leaf and w.requires_grad


def test_inplace_dtype_rules():
    i = pg.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="float.* can't be cast to the int64"):
        i += 1.5
    i += 2
    assert i.tolist() == [3, 4, 5] and i.dtype == pg.int64
    f = pg.tensor([1.0, 2.0])
    f += pg.tensor([0.5, 0.5], dtype=pg.float64)
    assert f.dtype == pg.float32 and f.tolist() == [1.5, 2.5]
    f[0] = 7  # an int value written into a float tensor is cast
    assert f.tolist() == [7.0, 2.5]


def test_inplace_shape_rules():
    x = pg.zeros(3)
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\).*tensor of shape \(3,\)"):
        x.add_(pg.ones(2, 3))
    with pytest.raises(ValueError, match="cannot assign values of shape"):
        x[0:2] = pg.ones(3)


def test_augmented_operator_keeps_identity_and_storage():
    x = pg.zeros(3)
    alias = x.detach()
    before = id(x)
    x += 1
    x *= 3
    assert id(x) == before
    assert alias.tolist() == [3.0, 3.0, 3.0]
    assert_on_backend(x)


def test_param_update_under_no_grad_is_a_real_update():
    # the silent bug issue 11 found: param -= lr * param.grad did nothing
    w = pg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with pg.no_grad():
        w -= 0.1 * w.grad
    np.testing.assert_allclose(w.numpy(), [0.8, 1.6], rtol=1e-6)
    assert w.is_leaf and w.requires_grad


def test_versions_count_writes_shared_by_views():
    x = pg.zeros(4)
    v = x[1:3]
    d = x.detach()
    assert pg._tensor.version(x) == 0
    v.add_(1)
    d.mul_(2)
    assert pg._tensor.version(x) == pg._tensor.version(v) == pg._tensor.version(d) == 2
    assert x.tolist() == [0.0, 2.0, 2.0, 0.0]


def test_double_backward_through_a_write():
    x = pg.tensor([0.5, 1.5], dtype=pg.float64, requires_grad=True)
    y = x * x
    y[0] = x[1] ** 3
    (g,) = pg.grad(y.sum(), x, create_graph=True)
    (h,) = pg.grad((g * g).sum(), x)
    xt = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    yt = xt * xt
    yt[0] = xt[1] ** 3
    (gt,) = torch.autograd.grad(yt.sum(), xt, create_graph=True)
    (ht,) = torch.autograd.grad((gt * gt).sum(), xt)
    assert_close(g, gt.detach().numpy())
    assert_close(h, ht.numpy())
