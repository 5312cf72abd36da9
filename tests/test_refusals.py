"""Off the tested path: bad axes, indices, sizes, dtypes and foreign operands give torch's result
or torch's error type with a message naming what was wrong, and gradient buffers never alias."""

import re

import numpy as np
import pytest
import torch
from helpers import assert_close, assert_on_backend

import polygrad as pg
import polygrad.nn

X = np.arange(24.0).reshape(2, 3, 4)

# (name, polygrad call, torch call) on a (2, 3, 4) tensor with an out-of-range axis
AXIS_CASES = [
    ("sum", lambda x: pg.sum(x, axis=3), lambda t: t.sum(dim=3)),
    ("sum-neg", lambda x: pg.sum(x, axis=-4), lambda t: t.sum(dim=-4)),
    ("mean", lambda x: pg.mean(x, axis=(0, 5)), lambda t: t.mean(dim=(0, 5))),
    ("var", lambda x: pg.var(x, axis=3), lambda t: t.var(dim=3)),
    ("std", lambda x: pg.std(x, axis=-4), lambda t: t.std(dim=-4)),
    ("max", lambda x: pg.amax(x, axis=3), lambda t: t.amax(dim=3)),
    ("min", lambda x: pg.amin(x, axis=-4), lambda t: t.amin(dim=-4)),
    ("prod", lambda x: pg.prod(x, axis=3), lambda t: t.prod(dim=3)),
    ("logsumexp", lambda x: pg.logsumexp(x, axis=3), lambda t: t.logsumexp(dim=3)),
    ("softmax", lambda x: pg.softmax(x, axis=3), lambda t: t.softmax(dim=3)),
    ("log_softmax", lambda x: pg.log_softmax(x, axis=-4), lambda t: t.log_softmax(dim=-4)),
    ("concat", lambda x: pg.concat([x, x], axis=3), lambda t: torch.cat([t, t], dim=3)),
    ("stack", lambda x: pg.stack([x, x], axis=4), lambda t: torch.stack([t, t], dim=4)),
    ("transpose", lambda x: pg.transpose(x, 0, 3), lambda t: t.transpose(0, 3)),
    ("flatten", lambda x: pg.flatten(x, 1, 3), lambda t: t.flatten(1, 3)),
    ("squeeze", lambda x: pg.squeeze(x, axis=3), lambda t: t.squeeze(3)),
    ("expand_dims", lambda x: pg.expand_dims(x, -5), lambda t: t.unsqueeze(-5)),
    ("split", lambda x: pg.split(x, 1, axis=3), lambda t: t.split(1, dim=3)),
    (
        "take",
        lambda x: pg.take(x, pg.tensor([0]), axis=3),
        lambda t: t.index_select(3, torch.tensor([0])),
    ),
    ("permute", lambda x: pg.permute_dims(x, (0, 1, 3)), lambda t: t.permute(0, 1, 3)),
    ("argmax", lambda x: pg.argmax(x, axis=3), lambda t: t.argmax(dim=3)),
]


@pytest.mark.parametrize("name, pg_call, torch_call", AXIS_CASES, ids=[c[0] for c in AXIS_CASES])
def test_axis_out_of_range_raises_index_error_like_torch(name, pg_call, torch_call):
    with pytest.raises(IndexError):
        torch_call(torch.tensor(X))
    with pytest.raises(IndexError, match="out of range|axis"):
        pg_call(pg.tensor(X))


def test_axis_error_is_also_a_value_error_for_array_api_code():
    with pytest.raises(ValueError):
        pg.sum(pg.tensor(X), axis=7)


def test_zero_d_tensors_take_axis_0_and_minus_1_as_torch():
    for axis in (0, -1):
        t = torch.tensor(2.0).softmax(dim=axis)
        assert_close(pg.softmax(pg.tensor(2.0), axis=axis), t.numpy())
        assert_close(pg.sum(pg.tensor(2.0), axis=axis), torch.tensor(2.0).sum(dim=axis).numpy())
        assert pg.flatten(pg.tensor(2.0)).shape == (1,)
        assert pg.transpose(pg.tensor(2.0), 0, -1).shape == ()
    with pytest.raises(IndexError):
        pg.sum(pg.tensor(2.0), axis=1)


# -- indices ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key",
    [
        lambda: (pg.tensor([-4]),),
        lambda: (pg.tensor([0, 2]),),
        lambda: (slice(None), pg.tensor([3])),
        lambda: (slice(None), pg.tensor([-4])),
        lambda: (pg.tensor([0]), pg.tensor([5])),
        lambda: (5,),
        lambda: (-3,),
        lambda: (0, -4),
    ],
)
def test_index_out_of_range_raises_index_error(key):
    x = pg.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(IndexError):
        x[key()]


def test_take_and_embedding_indices_are_checked():
    x = pg.tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(IndexError, match="index 3 is out of range for size 3"):
        pg.take(x, pg.tensor([0, 3]), axis=1)
    with pytest.raises(IndexError, match="index -4"):
        pg.take(x, pg.tensor([-4]), axis=1)
    emb = pg.nn.Embedding(4, 2)
    for bad in ([4], [-5]):
        with pytest.raises(IndexError):
            emb(pg.tensor(bad))


def test_negative_indices_in_range_match_torch():
    a = np.arange(12.0).reshape(3, 4)
    x = pg.tensor(a, dtype=pg.float64, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    idx = [-1, 0, -3, -1]
    y = x[pg.tensor(idx)]
    yt = t[torch.tensor(idx)]
    assert_close(y, yt.detach().numpy())
    g = np.arange(16.0).reshape(4, 4)
    y.backward(pg.tensor(g, dtype=pg.float64))
    yt.backward(torch.tensor(g))
    assert_close(x.grad, t.grad.numpy())


# -- gradient buffers -------------------------------------------------------------------------
def _shares(a: pg.Tensor, b: pg.Tensor) -> bool:
    if pg.get_backend().name == "numpy":
        return np.shares_memory(a._data, b._data)
    return False


@pytest.mark.parametrize("create_graph", [False, True])
def test_leaves_never_share_grad_buffers(create_graph):
    x = pg.tensor([1.0, 2.0], requires_grad=True)
    y = pg.tensor([3.0, 4.0], requires_grad=True)
    w = pg.tensor(5.0, requires_grad=True)
    up = pg.tensor([1.0, 1.0])
    z = x + y + w
    z.backward(up, create_graph=create_graph)
    grads = [x.grad, y.grad, w.grad]
    for i, a in enumerate(grads):
        assert_on_backend(a)
        assert a is not up and not _shares(a, up)
        for b in grads[i + 1 :]:
            assert a is not b and not _shares(a, b)
    with pg.no_grad():
        x.grad += 10  # accumulating into one changes no other
    assert y.grad.tolist() == [1.0, 1.0] and w.grad.item() == 2.0 and up.tolist() == [1.0, 1.0]


def test_grad_with_create_graph_returns_distinct_tensors():
    x = pg.tensor([1.0, 2.0], requires_grad=True)
    y = pg.tensor([3.0, 4.0], requires_grad=True)
    gx, gy = pg.grad((x + y).sum(), [x, y], create_graph=True)
    assert gx is not gy
    with pg.no_grad():
        gx += 1
    assert gy.tolist() == [1.0, 1.0]


def test_second_backward_with_create_graph_accumulates_without_aliasing():
    x = pg.tensor([1.0, 2.0], dtype=pg.float64, requires_grad=True)
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    for _ in range(2):
        (x**3).sum().backward(create_graph=True)
        (xt**3).sum().backward(create_graph=True)
    assert_close(x.grad, xt.grad.detach().numpy())
    x.grad.sum().backward()
    xt.grad.sum().backward()
    assert_close(x.grad, xt.grad.detach().numpy())


# -- foreign operands -------------------------------------------------------------------------
def _torch_side(a):
    return torch.from_numpy(a) if isinstance(a, np.ndarray) else a


@pytest.mark.parametrize(
    "left, right",
    [
        (np.float64(2), None),
        (np.float32(2), None),
        (np.ones(3), None),
        (None, np.int64(1)),
        (np.int64(1), None),
        (np.arange(3.0), None),
        (None, np.ones(3, np.float32)),
    ],
)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow"])
def test_numpy_operands_give_tensors_with_torch_dtypes(left, right, op):
    import operator

    f = getattr(operator, op)
    t = pg.tensor([1.0, 2.0, 3.0])
    tt = torch.tensor([1.0, 2.0, 3.0])
    if left is not None:
        got, want = f(left, t), f(_torch_side(left), tt)
    else:
        got, want = f(t, right), f(tt, _torch_side(right))
    assert isinstance(got, pg.Tensor), f"got {type(got).__name__}"
    assert got.dtype.name == str(want.dtype).replace("torch.", "")
    assert_close(got, want.numpy(), rtol=1e-6)


def test_python_scalars_keep_torch_promotion():
    i = pg.tensor([1, 2])
    assert (i + 1).dtype == pg.int64
    assert (i + 1.5).dtype == pg.float32
    assert (i * True).dtype == pg.int64
    f = pg.tensor([1.0], dtype=pg.float64)
    assert (f + 1).dtype == pg.float64


# -- dtypes -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "array",
    [
        np.ones(2, np.float16),
        np.array(["a", "b"]),
        np.array([object(), object()]),
        np.zeros(2, dtype=[("a", "f4")]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
    ],
    ids=["float16", "str", "object", "structured", "datetime"],
)
def test_unsupported_dtypes_are_refused_naming_the_supported_ones(array):
    pattern = re.escape(str(array.dtype)) + ".*supported dtypes: float32, float64, complex64"
    with pytest.raises(TypeError, match=pattern):
        pg.tensor(array)
    with pytest.raises(TypeError, match="supported dtypes"):
        pg.asarray(array)


@pytest.mark.parametrize("data", [[1, 2], [True, False]])
def test_integer_and_bool_tensors_refuse_requires_grad_as_torch(data):
    with pytest.raises(RuntimeError):
        torch.tensor(data, requires_grad=True)
    with pytest.raises(RuntimeError, match="floating-point"):
        pg.tensor(data, requires_grad=True)
    with pytest.raises(RuntimeError, match="floating-point"):
        pg.tensor(data).requires_grad_()


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_tensors_hold_values_and_refuse_requires_grad(dtype):
    a = np.array([1 + 2j, -3.5j], dtype=dtype)
    t = pg.tensor(a)
    assert t.dtype == np.dtype(dtype).name and t.dtype.is_complex
    np.testing.assert_array_equal(t.numpy(), a)
    with pytest.raises(TypeError, match="complex tensors in polygrad hold values only"):
        pg.tensor(a, requires_grad=True)
    assert pg.tensor([1 + 1j]).dtype == pg.complex64  # torch: follows the default float32


# -- sizes ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, torch_call, error",
    [
        (lambda: pg.zeros(-1), lambda: torch.zeros(-1), RuntimeError),
        (lambda: pg.ones(2, -3), lambda: torch.ones(2, -3), RuntimeError),
        (lambda: pg.randn(-2), lambda: torch.randn(-2), RuntimeError),
        (lambda: pg.zeros(2.5), lambda: torch.zeros(2.5), TypeError),
        (lambda: pg.rand(2.0, 3), lambda: torch.rand(2.0, 3), TypeError),
        (lambda: pg.full((2, -1), 1.0), lambda: torch.full((2, -1), 1.0), RuntimeError),
        (lambda: pg.eye(-1), lambda: torch.eye(-1), RuntimeError),
        (lambda: pg.arange(6).reshape(4, 2), lambda: torch.arange(6).reshape(4, 2), RuntimeError),
        (lambda: pg.arange(6).view(-1, 4), lambda: torch.arange(6).view(-1, 4), RuntimeError),
        (lambda: pg.arange(6).view(-1, -1), lambda: torch.arange(6).view(-1, -1), RuntimeError),
        (lambda: pg.arange(6).reshape(2, -2), lambda: torch.arange(6).reshape(2, -2), RuntimeError),
    ],
)
def test_bad_sizes_raise_torch_error_types(call, torch_call, error):
    with pytest.raises(error):
        torch_call()
    with pytest.raises(error, match="size|dimension|shape"):
        call()


def test_zero_sizes_work_as_in_torch():
    assert pg.zeros(0, 3).shape == (0, 3)
    assert pg.zeros((2, 0)).sum().item() == 0
    assert pg.ones(0).reshape(0, 5).shape == (0, 5)
    with pytest.raises(RuntimeError):
        torch.zeros(3, 0).reshape(-1, 0)
    with pytest.raises(RuntimeError):
        pg.zeros(3, 0).reshape(-1, 0)


def test_matrix_transpose_of_1d_raises_runtime_error_like_torch():
    with pytest.raises(RuntimeError):
        _ = torch.tensor([1.0, 2.0]).mT
    with pytest.raises(RuntimeError, match=r"\.mT.*\(2,\)"):
        _ = pg.tensor([1.0, 2.0]).mT


NAN_ROWS = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 1.0], [1.0, 5.0, 5.0]])


@pytest.mark.parametrize(
    "pg_call, torch_call",
    [
        (lambda x: x.max(), lambda t: t.max()),  # the NaNs share the gradient
        (lambda x: x.min(), lambda t: t.min()),
        (lambda x: pg.amax(x, axis=1), lambda t: t.amax(1)),  # a NaN row's gradient is NaN
        (lambda x: pg.amin(x, axis=0), lambda t: t.amin(0)),
    ],
    ids=["max", "min", "amax-axis", "amin-axis"],
)
def test_max_min_with_nan_give_torch_values_and_gradients(pg_call, torch_call):
    x = pg.tensor(NAN_ROWS, requires_grad=True)
    t = torch.tensor(NAN_ROWS, requires_grad=True)
    y, ty = pg_call(x), torch_call(t)
    (y * pg.tensor(np.arange(1.0, 1.0 + y.numel()).reshape(y.shape))).sum().backward()
    (ty * torch.arange(1.0, 1.0 + ty.numel(), dtype=ty.dtype).reshape(ty.shape)).sum().backward()
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize(
    "key",
    [
        slice(5, None),
        slice(-10, 2),
        slice(1, 0),
        slice(0, 10, 2),
        (Ellipsis, slice(1, 9)),
        (None, slice(-7, 1), slice(3, None)),
        (slice(None), slice(-1, None)),
    ],
    ids=str,
)
def test_out_of_bounds_slice_bounds_clamp_as_torch(key):
    a = np.arange(6.0).reshape(3, 2)
    x = pg.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    y, ty = x[key], t[key]
    assert_close(y, ty)
    (y * 2.0).sum().backward()
    (ty * 2.0).sum().backward()
    assert_close(x.grad, t.grad)


def test_slices_of_empty_axes_are_empty_as_torch():
    z, tz = pg.zeros(0, 3), torch.zeros(0, 3)
    assert z[5:].shape == tuple(tz[5:].shape) == (0, 3)
    assert z[:, 7:].shape == tuple(tz[:, 7:].shape) == (0, 0)


def test_slice_bounds_clamp_on_the_axes_an_ellipsis_leaves():
    a = np.arange(24.0).reshape(2, 3, 4)
    keys = [(Ellipsis, slice(None, 3)), (Ellipsis, slice(1, None)), (0, Ellipsis, slice(-9, 2))]
    for key in keys:
        assert_close(pg.tensor(a)[key], torch.tensor(a)[key])
