"""Backends, devices, dtypes, creation functions and Tensor basics."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from helpers import assert_close, assert_on_backend, from_torch

import polygrad as pg
from polygrad import _backend

ACTIVE = pg.get_backend()


# -- backend selection -------------------------------------------------------------------------
def test_the_session_runs_on_the_backend_its_environment_names():
    assert ACTIVE.name == os.environ.get("POLYGRAD_BACKEND", "numpy")
    if ACTIVE.name == "strict":
        import array_api_strict

        want = array_api_strict.Device(os.environ.get("POLYGRAD_DEVICE") or "device1")
        assert ACTIVE.device == want
    assert_on_backend(pg.ones(2))


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(pg.BackendError, match="unknown backend 'jax'.*numpy, cupy, torch, strict"):
        pg.set_backend("jax")
    assert pg.get_backend() == ACTIVE


def test_unknown_backend_in_the_environment_fails_at_import():
    env = dict(os.environ, POLYGRAD_BACKEND="nonsense")
    run = subprocess.run(
        [sys.executable, "-c", "import polygrad"], env=env, capture_output=True, text=True
    )
    assert run.returncode != 0
    assert "unknown backend 'nonsense'" in run.stderr


def test_cupy_without_a_gpu_is_a_clear_error_and_with_one_works():
    if _backend._cuda_gpu_count() == 0:
        with pytest.raises(pg.BackendError, match="cupy"):
            pg.set_backend("cupy")
        assert pg.get_backend() == ACTIVE
    else:
        with pg.use_backend("cupy") as info:
            assert info.name == "cupy"
            assert pg.ones(2).backend == "cupy"


def test_use_backend_switches_and_restores():
    with pg.use_backend("torch") as info:
        assert info.name == "torch" and pg.get_backend().name == "torch"
        t = pg.ones(3)
        assert t.backend == "torch" and isinstance(t._data, torch.Tensor)
    assert pg.get_backend() == ACTIVE
    pg.set_backend("numpy")
    assert isinstance(pg.zeros(1)._data, np.ndarray)


def test_combining_two_backends_is_an_error_naming_both():
    a = pg.ones(2) if ACTIVE.name != "torch" else None
    with pg.use_backend("torch"):
        b = pg.ones(2)
    if a is None:
        with pg.use_backend("numpy"):
            a = pg.ones(2)
    with pytest.raises(pg.BackendError, match=r"backends (numpy|strict) and torch|torch and"):
        a + b


def test_combining_two_devices_is_an_error_naming_both():
    with pg.use_backend("strict", "CPU_DEVICE"):
        a = pg.ones(2)
    with pg.use_backend("strict", "device1"):
        b = pg.ones(2)
    assert a.device != b.device
    with pytest.raises(pg.BackendError, match="CPU_DEVICE.*device1|device1.*CPU_DEVICE"):
        a * b


def test_bad_device_is_a_clear_error():
    with pytest.raises(pg.BackendError, match="numpy backend has only the 'cpu' device"):
        pg.set_backend("numpy", "cuda:3")
    with pytest.raises(pg.BackendError, match="strict backend has no device 'gpu9'"):
        pg.set_backend("strict", "gpu9")


def test_tensor_of_another_backends_array_is_refused():
    other = torch.ones(2) if ACTIVE.name != "torch" else None
    if other is None:
        import array_api_strict

        other = array_api_strict.ones(2)
    with pytest.raises(pg.BackendError, match="active backend"):
        pg.tensor(other)


# -- creation ----------------------------------------------------------------------------------
def test_tensor_dtype_inference_follows_torch():
    cases = [
        ([1.0, 2.0], torch.tensor([1.0, 2.0])),
        ([1, 2], torch.tensor([1, 2])),
        ([True, False], torch.tensor([True, False])),
        (np.arange(3.0), torch.tensor(np.arange(3.0))),
        (np.arange(3, dtype=np.int32), torch.tensor(np.arange(3, dtype=np.int32))),
        (2.5, torch.tensor(2.5)),
    ]
    for data, want in cases:
        t = pg.tensor(data)
        assert t.dtype == str(want.dtype).replace("torch.", ""), (data, t.dtype, want.dtype)
        assert_close(t, want, rtol=0)


def test_default_dtype_can_be_changed():
    pg.set_default_dtype(pg.float64)
    assert pg.tensor([1.5]).dtype == pg.float64 and pg.zeros(2).dtype == pg.float64
    assert pg.get_default_dtype() == pg.float64
    with pytest.raises(TypeError, match="float"):
        pg.set_default_dtype(pg.int32)


def test_tensor_copies_its_input():
    a = np.ones(3)
    t = pg.tensor(a)
    a[0] = 5.0
    assert t.numpy()[0] == 1.0


def test_tensor_from_a_list_of_tensors():
    t = pg.tensor([pg.tensor(1.0), pg.tensor(2.0)])
    assert_close(t, torch.tensor([1.0, 2.0]), dtype=pg.float32)


def test_creation_functions_match_torch():
    cases = [
        (pg.zeros(2, 3), torch.zeros(2, 3)),
        (pg.ones((2, 3)), torch.ones(2, 3)),
        (pg.full((2,), 7), torch.full((2,), 7)),
        (pg.full((2,), 0.5), torch.full((2,), 0.5)),
        (pg.arange(5), torch.arange(5)),
        (pg.arange(1, 2, 0.25), torch.arange(1, 2, 0.25)),
        (pg.linspace(-1, 1, 5), torch.linspace(-1, 1, 5)),
        (pg.eye(3), torch.eye(3)),
        (pg.eye(2, 4, dtype=pg.float64), torch.eye(2, 4, dtype=torch.float64)),
        (pg.zeros_like(pg.ones(2, 2, dtype=pg.float64)), torch.zeros(2, 2, dtype=torch.float64)),
        (pg.ones_like(pg.zeros(3)), torch.ones(3)),
        (pg.full_like(pg.zeros(3), 2.0), torch.full((3,), 2.0)),
    ]
    for got, want in cases:
        assert_close(got, want, rtol=1e-7, dtype=str(want.dtype).replace("torch.", ""))


def test_random_functions_are_reproducible_and_distributed_as_named():
    pg.manual_seed(123)
    a = [pg.rand(1000), pg.randn(1000), pg.randint(3, 7, (1000,))]
    pg.manual_seed(123)
    b = [pg.rand(1000), pg.randn(1000), pg.randint(3, 7, (1000,))]
    for x, y in zip(a, b):
        assert_on_backend(x)
        np.testing.assert_array_equal(x.numpy(), y.numpy())
    assert not np.array_equal(pg.rand(1000).numpy(), a[0].numpy())
    u, n, i = (t.numpy() for t in a)
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.05
    assert abs(n.mean()) < 0.1 and abs(n.std() - 1.0) < 0.1
    assert set(np.unique(i)) == {3, 4, 5, 6} and a[2].dtype == pg.int64
    assert a[0].dtype == pg.float32


def test_random_numbers_are_the_same_on_every_backend():
    pg.manual_seed(7)
    here = pg.randn(5).numpy()
    with pg.use_backend("torch"):
        pg.manual_seed(7)
        there = pg.randn(5).numpy()
    np.testing.assert_array_equal(here, there)


# -- Tensor basics -------------------------------------------------------------------------------
def test_attributes():
    t = pg.randn(2, 3, requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and len(t) == 2 and t.numel() == 6
    assert t.dtype == pg.float32 and t.dtype == "float32" and t.dtype.is_floating_point
    assert t.device == ACTIVE.device
    assert t.is_leaf and t.requires_grad and t.grad is None and t.grad_fn is None
    y = t * 2.0
    assert not y.is_leaf and y.grad_fn is not None


def test_numpy_is_a_host_copy_and_item_a_python_number():
    t = pg.tensor([[1.5, 2.5]])
    a = t.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    a[0, 0] = 9.0
    assert t.numpy()[0, 0] == 1.5
    assert pg.tensor(3.5).item() == 3.5 and isinstance(pg.tensor(3).item(), int)
    with pytest.raises(ValueError, match=r"one element.*\(1, 2\)"):
        t.item()
    assert t.tolist() == [[1.5, 2.5]]


def test_repr_is_readable():
    t = pg.tensor([1.0, 2.0], requires_grad=True)
    text = repr(t)
    assert text.startswith("tensor([1., 2.]") and "requires_grad=True" in text
    assert "grad_fn=<MulBackward>" in repr(t * 2.0)
    assert "dtype=polygrad.float64" in repr(pg.zeros(1, dtype=pg.float64))
    if ACTIVE.name != "numpy":
        assert f"backend='{ACTIVE.name}'" in text


def test_bool_of_a_many_element_tensor_is_ambiguous():
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(pg.ones(2))
    assert bool(pg.ones(1)) is True


def test_dtype_conversions_and_to():
    t = pg.randn(3, requires_grad=True)
    d = t.double()
    assert d.dtype == pg.float64 and d.requires_grad
    d.sum().backward()
    assert t.grad.dtype == pg.float32
    assert_close(t.grad, torch.ones(3), dtype=pg.float32)
    assert t.to(pg.float64).dtype == pg.float64
    assert t.long().dtype == pg.int64 and not t.long().requires_grad
    moved = t.to(backend="torch")
    assert moved.backend == "torch" and moved.is_leaf
    np.testing.assert_array_equal(moved.numpy(), t.numpy())


def test_array_namespace_of_a_tensor_is_polygrad_array_api():
    import array_api_compat

    x = pg.ones(2)
    assert x.__array_namespace__() is pg.array_api
    assert array_api_compat.array_namespace(x) is pg.array_api


def test_python_scalars_on_either_side_and_int_float_promotion():
    x = from_torch(torch.tensor([1.0, 2.0]), requires_grad=True)
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    y = 2 - x / 4 + 3 * x**2 - 1 / x
    yt = 2 - xt / 4 + 3 * xt**2 - 1 / xt
    assert_close(y, yt, rtol=1e-6)
    i = pg.tensor([1, 2])
    assert (i * 0.5).dtype == pg.float32 and (i / 2).dtype == pg.float32
    assert (i + 1).dtype == pg.int64
    assert (i + pg.ones(2, dtype=pg.float64)).dtype == pg.float64


def test_deepcopy_and_pickle_keep_values_backend_device_and_flags():
    import copy
    import pickle

    t = pg.randn(2, 3, requires_grad=True)
    (t * 2.0).sum().backward()
    for clone in (copy.deepcopy(t), pickle.loads(pickle.dumps(t))):
        assert_on_backend(clone)
        np.testing.assert_array_equal(clone.numpy(), t.numpy())
        assert clone.requires_grad and clone.is_leaf and clone.dtype == t.dtype
    deep = copy.deepcopy(t)
    np.testing.assert_array_equal(deep.grad.numpy(), t.grad.numpy())
    with pg.no_grad():
        deep[0, 0] = 100.0
    assert t.numpy()[0, 0] != 100.0, "a deep copy must not share data"
    with pytest.raises(RuntimeError, match="leaf"):
        copy.deepcopy(t * 2.0)


def test_in_place_write_into_a_zero_d_result():
    with pg.no_grad():
        t = pg.tensor(2.0) * 3.0
        t[...] = 1.0
    assert t.item() == 1.0


def test_helper_tensors_follow_their_operand_not_the_active_backend():
    with pg.use_backend("torch"):
        c = pg.tensor([True, False])
        x = pg.ones(3)
    for out in (pg.where(c, 1.0, 0.0), x[[0, 2]], x + [1.0, 2.0, 3.0]):
        assert out.backend == "torch"
    np.testing.assert_array_equal(pg.where(c, 1.0, 0.0).numpy(), [1.0, 0.0])


def test_to_takes_a_dtype_a_backend_or_a_device_positionally():
    t = pg.ones(2)
    assert t.to("float64").dtype == pg.float64
    assert t.to("torch").backend == "torch"
    assert t.to(str(ACTIVE.device) if ACTIVE.name != "strict" else "device1").device == t.device
    with pytest.raises(pg.BackendError):
        t.to("no-such-device")


def test_sum_of_bools_counts_them_as_int64_like_torch():
    x = pg.tensor([1.0, -2.0, 3.0])
    t = torch.tensor([1.0, -2.0, 3.0])
    assert_close((x > 0).sum(), (t > 0).sum(), dtype=pg.int64)


def test_numpy_conversion_refuses_a_tensor_that_requires_grad_as_torch():
    data = [[1.5, -2.0], [3.0, 0.25]]
    with pytest.raises(RuntimeError):
        np.asarray(torch.tensor(data, requires_grad=True))
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(pg.tensor(data, requires_grad=True))
    t = pg.tensor(data, dtype=pg.float64)
    a = np.asarray(t)
    assert a.dtype == np.float64 and np.array_equal(a, torch.tensor(data).double().numpy())
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    a[0, 0] = 9.0  # a copy: the tensor is unchanged
    assert t.numpy()[0, 0] == 1.5
    detached = pg.tensor(data, requires_grad=True).detach()
    assert np.array_equal(np.asarray(detached), np.asarray(data, dtype=np.float32))
