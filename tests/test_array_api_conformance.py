"""What the official array API test suite (data-apis/array-api-tests, run by
tools/array_api_tests.sh) found in polygrad.array_api, kept here against the backend's own
namespace, since CI cannot fetch that suite: complex values, mixed-kind promotion, DLPack and
the array object's methods, dtypes of integer results, signatures.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
from hypothesis import strategies as st
from test_array_api import BACKEND, REF, _run, _same, arrays, xps

import polygrad as pg
import polygrad.array_api as xp

COMPLEX = [d for d in BACKEND.dtypes if d.kind == "complex"]
needs_complex = pytest.mark.skipif(not COMPLEX, reason="the backend has no complex dtypes")

UNARY_COMPLEX = [
    "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "exp", "expm1", "log",
    "log1p", "sign", "sin", "sinh", "sqrt", "square", "tan", "tanh", "abs", "conj", "real",
    "imag", "isfinite", "isnan", "isinf",
]  # fmt: skip


@needs_complex
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", UNARY_COMPLEX)
def test_unary_functions_of_complex_values_match_the_backend(request, name):
    def check(x):
        _same(getattr(xp, name)(x), getattr(REF, name)(x._data), signed_zeros=False)

    _run(request, arrays("complex floating"), check)


@needs_complex
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_mean_of_complex_values_matches_the_backend():
    x = xp.asarray([1 + 2j, 3 - 1j], dtype=xp.complex128)
    _same(xp.mean(x), REF.mean(x._data))


@needs_complex
def test_python_complex_scalars_take_the_tensor_dtype():
    big = 6.0e16 + 4.0e85j  # its imaginary part overflows complex64
    x = xp.zeros((2,), dtype=xp.complex128)
    x[0] = big
    ref = REF.zeros((2,), dtype=REF.complex128)
    ref[0] = big
    _same(x, ref)
    _same(x + big, ref + big)
    _same(big * x, big * ref)
    assert complex(x[0]) == big and complex(xp.asarray(1.5)) == 1.5 + 0j


@needs_complex
@pytest.mark.parametrize("real", ["float32", "float64"])
@pytest.mark.parametrize("cplx", ["complex64", "complex128"])
@pytest.mark.parametrize("op", ["add", "multiply", "divide", "subtract"])
def test_real_and_complex_tensors_promote_to_complex(real, cplx, op):
    a = xp.asarray([1.5, -2.0], dtype=getattr(xp, real))
    b = xp.asarray([1 + 2j, 0.5 - 1j], dtype=getattr(xp, cplx))
    for x1, x2 in ((a, b), (b, a)):
        want = getattr(REF, op)(x1._data, x2._data)
        _same(getattr(xp, op)(x1, x2), want)
    assert xp.result_type(a, b) == getattr(xp, op)(a, b).dtype


@needs_complex
def test_complex_divided_by_complex_stays_complex():
    b = xp.asarray([1 + 2j, 0.5 - 1j], dtype=xp.complex64)
    _same(b / b, REF.divide(b._data, b._data))
    _same(b / 2, b._data / 2)
    _same(b / (1 - 1j), b._data / (1 - 1j))


@needs_complex
def test_a_real_tensor_that_requires_grad_does_not_silently_become_complex():
    w = pg.tensor([1.0, 2.0], requires_grad=True)
    c = xp.asarray([1j, 2j], dtype=xp.complex64)
    for make in (lambda: w * c, lambda: w * 1j, lambda: xp.astype(w, xp.complex64),
                 lambda: xp.linalg.vecdot(w, c)):  # fmt: skip
        with pytest.raises(TypeError, match="values only"):
            make()
    with pg.no_grad():
        _same(w * c, w._data * c._data)


@needs_complex
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("det", {}), ("inv", {}), ("slogdet", {}), ("svdvals", {}), ("matrix_norm", {}),
        ("vector_norm", {}), ("matrix_power", {"n": 3}), ("pinv", {}), ("trace", {}),
        ("diagonal", {}), ("qr", {}), ("svd", {"full_matrices": False}), ("eigvalsh", {}),
        ("matrix_rank", {}),
    ],
)  # fmt: skip
def test_linalg_of_complex_values_matches_the_backend(name, kwargs):
    rng = np.random.default_rng(0)
    host = rng.normal(size=(2, 3, 3)) + 1j * rng.normal(size=(2, 3, 3))
    host = host + 3 * np.eye(3)
    x = xp.asarray(host, dtype=xp.complex128)
    args = (kwargs.pop("n"),) if "n" in kwargs else ()
    got = getattr(xp.linalg, name)(x, *args, **kwargs)
    want = getattr(REF.linalg, name)(x._data, *args, **kwargs)
    if isinstance(want, tuple):
        assert type(got).__name__ == type(want).__name__ or len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w, signed_zeros=False)
    else:
        _same(got, want, signed_zeros=False)


@needs_complex
def test_complex_cholesky_solve_and_vecdot_match_the_backend():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    h = xp.asarray(m @ m.conj().T + 3 * np.eye(3), dtype=xp.complex128)
    v = xp.asarray(rng.normal(size=(3,)) + 1j * rng.normal(size=(3,)), dtype=xp.complex128)
    _same(xp.linalg.cholesky(h), REF.linalg.cholesky(h._data))
    _same(xp.linalg.eigh(h).eigenvalues, REF.linalg.eigh(h._data).eigenvalues)
    _same(xp.linalg.solve(h, v), REF.linalg.solve(h._data, v._data))
    _same(xp.vecdot(v, v), REF.vecdot(v._data, v._data))  # conjugates x1
    _same(xp.linalg.outer(v, v), REF.linalg.outer(v._data, v._data))
    rtol = xp.asarray(0.5, dtype=xp.float64)  # a tensor keyword argument
    _same(xp.linalg.pinv(h, rtol=rtol), REF.linalg.pinv(h._data, rtol=rtol._data))


def _positional_only(fn) -> list[str]:
    return [p.kind.name for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize(
    "name", ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
             "bitwise_right_shift", "bitwise_invert", "isinf", "signbit"],
)  # fmt: skip
def test_values_only_functions_take_the_standard_signature(name):
    import array_api_strict

    assert _positional_only(getattr(xp, name)) == _positional_only(
        getattr(array_api_strict, name)
    )
    x = xp.asarray([1, 6], dtype=xp.int32)
    if name in ("isinf", "signbit"):
        _same(getattr(xp, name)(xp.asarray([-0.0, math.inf])),
              getattr(REF, name)(REF.asarray([-0.0, math.inf])))  # fmt: skip
    elif name == "bitwise_invert":
        _same(xp.bitwise_invert(x), REF.bitwise_invert(x._data))
    else:
        _same(getattr(xp, name)(x, x), getattr(REF, name)(x._data, x._data))


def test_dlpack_exports_the_data_and_refuses_tensors_that_require_grad():
    x = xp.asarray([[1.0, 2.0], [3.0, -0.0]], dtype=xp.float64)
    assert x.__dlpack_device__() == x._data.__dlpack_device__()
    if x.__dlpack_device__()[0] == 1:  # a CPU device: NumPy can import it
        np.testing.assert_array_equal(np.from_dlpack(x), x.numpy())
    back = xp.from_dlpack(x)
    _same(back, x._data)
    w = pg.tensor([1.0], requires_grad=True)
    with pytest.raises(BufferError) as ours:
        w.__dlpack__()
    with pytest.raises(type(ours.value)):
        torch.tensor([1.0], requires_grad=True).__dlpack__()  # torch's error type


def test_to_device_keeps_values_and_takes_the_standard_arguments():
    x = xp.asarray([1.0, 2.0])
    y = x.to_device(x.device)
    _same(y, x._data)
    assert _positional_only(type(x).to_device)[:2] == ["POSITIONAL_ONLY", "POSITIONAL_ONLY"]


@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32"])
def test_vecdot_of_integers_keeps_their_dtype(dtype):
    if getattr(xp, dtype) not in BACKEND.dtypes:
        pytest.skip(f"the backend has no {dtype}")
    a = xp.asarray([[1, 2, 3], [4, 5, 6]], dtype=getattr(xp, dtype))
    assert xp.vecdot(a, a).dtype == getattr(xp, dtype)
    np.testing.assert_array_equal(xp.vecdot(a, a).numpy(), [14, 77])


def test_trace_of_unsigned_integers_is_unsigned():
    u = xp.asarray([[1, 2], [3, 4]], dtype=xp.uint8)
    out = xp.linalg.trace(u)
    wide = xp.uint64 if xp.uint64 in BACKEND.dtypes else xp.int64  # torch has no uint64
    assert out.dtype == wide and out.item() == 5
    assert xp.linalg.trace(xp.asarray([[1, 2], [3, 4]], dtype=xp.int8)).dtype == xp.int64


@pytest.mark.parametrize("fn", ["cumulative_sum", "cumulative_prod"])
def test_integer_scans_with_a_dtype_return_that_dtype(request, fn):
    def check(x):
        got = getattr(xp, fn)(x, dtype=xp.int32)
        if not hasattr(REF, fn):  # array-api-compat 1.10 (the floor) has no cumulative_prod
            want = {"cumulative_sum": np.cumsum, "cumulative_prod": np.cumprod}[fn]
            expected = want(x.numpy().astype(np.int32), dtype=np.int32)
            assert got.numpy().dtype == expected.dtype
            np.testing.assert_array_equal(got.numpy(), expected)
            return
        want = getattr(REF, fn)(REF.astype(x._data, REF.int32), dtype=REF.int32)
        _same(got, want)

    _run(request, xps.arrays(xp.int8, st.integers(1, 5), elements=st.integers(-3, 3)), check)


def test_writes_into_bool_tensors_match_the_backend():
    for key, value in ((..., True), ((0,), False), (slice(None), True)):
        x = xp.asarray([False, True])
        x[key] = xp.asarray(value)
        ref = REF.asarray([False, True])
        ref[key] = REF.asarray(value)
        _same(x, ref)
    x = xp.asarray([False, True, False])
    x[xp.asarray([True, False, True])] = True  # a mask: the flat-position path
    _same(x, REF.asarray([True, True, True]))


@pytest.mark.parametrize("dtype", ["uint16", "int8", "bool"])
def test_writes_through_a_view_keep_the_dtype(dtype):
    if getattr(xp, dtype) not in BACKEND.dtypes:
        pytest.skip(f"the backend has no {dtype}")
    d = getattr(xp, dtype)
    base = xp.asarray([1, 0, 1], dtype=d)
    view = base[1:]  # a write into a view reaches the base through a scatter-add
    view[0] = xp.asarray(1, dtype=d)
    assert base.dtype == d and view.dtype == d
    np.testing.assert_array_equal(base.numpy(), np.asarray([1, 1, 1], dtype=dtype))


def test_namespace_info_dtypes_follow_the_device():
    info = xp.__array_namespace_info__()
    ref = REF.__array_namespace_info__()
    for device in info.devices():
        have = info.dtypes(device=device)
        assert set(have) == set(ref.dtypes(device=device)) & {d.name for d in BACKEND.dtypes}
        for dtype in have.values():
            assert xp.empty(1, dtype=dtype, device=device).dtype == dtype
