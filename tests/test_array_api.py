"""polygrad.array_api against the backend's own standard namespace (array-api-compat's NumPy or
torch namespace, or array-api-strict): random shapes, dtypes and special values (NaN, +-0,
+-inf) from hypothesis's array API strategies built on polygrad.array_api itself.

Each function's result must have the backend's value, dtype and shape and live on the device
under test. The number of examples per function is small in the normal sessions; the
``array-api`` nox session raises it (``--array-api-examples``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_on_backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.array_api import make_strategies_namespace

import polygrad as pg
import polygrad.array_api as xp

BACKEND = pg._backend._active.backend
REF = BACKEND.compat  # the backend's own namespace: the reference
xps = make_strategies_namespace(xp, api_version="2024.12")


def _examples(request) -> int:
    return request.config.getoption("--array-api-examples")


def _host(a) -> np.ndarray:
    if isinstance(a, pg.Tensor):
        return a.numpy()
    return BACKEND.to_numpy(a)


def _same(got, want, exact: bool = False, signed_zeros: bool = True) -> None:
    """``got`` (polygrad) equals ``want`` (backend array): value, dtype, shape, device, and
    the sign of zeros unless ``signed_zeros`` is False."""
    assert isinstance(got, pg.Tensor), f"expected a polygrad Tensor, got {type(got).__name__}"
    assert_on_backend(got)
    w = _host(want)
    g = got.numpy()
    assert g.dtype == w.dtype, f"dtype {g.dtype} != backend's {w.dtype}"
    assert g.shape == w.shape, f"shape {g.shape} != backend's {w.shape}"
    if g.dtype.kind in "fc" and not exact:
        np.testing.assert_allclose(g, w, rtol=2e-6 if g.dtype.itemsize <= 8 else 1e-12,
                                   atol=0, equal_nan=True)  # fmt: skip
        zeros = w == 0
        if signed_zeros:
            np.testing.assert_array_equal(np.signbit(g.real[zeros]), np.signbit(w.real[zeros]))
    else:
        np.testing.assert_array_equal(g, w)


def _backend_dtypes(kind: str) -> list:
    return [d for d in BACKEND.dtypes if xp.isdtype(d, kind)]


def _ref_dtype(d):
    return getattr(REF, d.name)


def arrays(kind: str = "real floating", shape=None, min_dims: int = 0):
    """Arrays of the backend's dtypes of ``kind``, with special values allowed."""
    dtype = st.sampled_from(_backend_dtypes(kind))
    shapes = shape if shape is not None else xps.array_shapes(min_dims=min_dims, max_side=4)
    return dtype.flatmap(lambda d: xps.arrays(d, shapes))


def _run(request, strategy, check):
    @settings(
        max_examples=_examples(request),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(strategy)
    def inner(args):
        check(*args) if isinstance(args, tuple) else check(args)

    inner()


UNARY_FLOAT = [
    "abs", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh", "exp",
    "expm1", "floor", "isfinite", "isinf", "isnan", "log", "log1p", "log2", "log10",
    "negative", "positive", "reciprocal", "round", "sign", "signbit", "sin", "sinh", "sqrt",
    "square", "tan", "tanh", "trunc",
]  # fmt: skip
BINARY_FLOAT = [
    "add", "atan2", "copysign", "divide", "equal", "floor_divide", "greater",
    "greater_equal", "hypot", "less", "less_equal", "logaddexp", "maximum", "minimum",
    "multiply", "nextafter", "not_equal", "pow", "remainder", "subtract",
]  # fmt: skip
BINARY_INT = [
    "add", "bitwise_and", "bitwise_or", "bitwise_xor", "equal", "floor_divide", "greater",
    "less", "maximum", "minimum", "multiply", "not_equal", "remainder", "subtract",
]  # fmt: skip
UNARY_INT = ["abs", "bitwise_invert", "negative", "positive", "sign", "square", "ceil", "floor"]


def _two_of_one_dtype(kind: str):
    def pair(d):
        shape = xps.array_shapes(max_dims=3, max_side=3)
        return shape.flatmap(lambda s: st.tuples(xps.arrays(d, s), xps.arrays(d, s)))

    return st.sampled_from(_backend_dtypes(kind)).flatmap(pair)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", UNARY_FLOAT)
def test_unary_float_functions_match_the_backend(request, name):
    if name in ("round",) and BACKEND.name == "torch":
        pass  # torch rounds halves to even too
    _run(
        request,
        arrays("real floating"),
        lambda x: _same(getattr(xp, name)(x), getattr(REF, name)(x._data)),
    )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", BINARY_FLOAT)
def test_binary_float_functions_match_the_backend(request, name):
    _run(
        request,
        _two_of_one_dtype("real floating"),
        lambda a, b: _same(getattr(xp, name)(a, b), getattr(REF, name)(a._data, b._data)),
    )


def _nonzero_int_pair(name):
    def check(a, b):
        if name in ("floor_divide", "remainder"):
            if bool(REF.any(b._data == 0)):
                return  # integer division by zero is unspecified by the standard
        _same(getattr(xp, name)(a, b), getattr(REF, name)(a._data, b._data))

    return check


@pytest.mark.parametrize("name", BINARY_INT)
def test_binary_integer_functions_match_the_backend(request, name):
    _run(request, _two_of_one_dtype("signed integer"), _nonzero_int_pair(name))


@pytest.mark.parametrize("name", UNARY_INT)
def test_unary_integer_functions_match_the_backend(request, name):
    _run(
        request,
        arrays("integral"),
        lambda x: _same(getattr(xp, name)(x), getattr(REF, name)(x._data)),
    )


@pytest.mark.parametrize("op", ["&", "|", "^", "<<", ">>", "//", "%", "+", "*", "-"])
def test_integer_operators_follow_the_standard(request, op):
    def check(a, b):
        if op in ("<<", ">>"):
            b = xp.abs(b) % 8
        if op in ("//", "%") and bool(REF.any(b._data == 0)):
            return
        got = eval(f"a {op} b")  # noqa: S307 (the operator under test)
        _same(got, eval(f"a._data {op} b._data"))  # noqa: S307

    _run(request, _two_of_one_dtype("signed integer"), check)


def _axis_and_keepdims(x):
    axes = st.none() | st.integers(-max(x.ndim, 1), max(x.ndim, 1) - 1) if x.ndim else st.none()
    return st.tuples(st.just(x), axes, st.booleans())


REDUCTIONS = ["sum", "prod", "max", "min", "mean", "std", "var", "argmax", "argmin", "all", "any"]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions_match_the_backend(request, name):
    kind = "numeric" if name in ("sum", "prod", "max", "min") else "real floating"
    if name in ("all", "any"):
        kind = "bool"
    if kind == "numeric":
        kind = ("integral", "real floating")

    def check(x, axis, keepdims):
        empty = 0 in x.shape
        if empty and name in ("max", "min", "argmax", "argmin"):
            return  # no identity: refused (tested in test_refusals)
        kwargs = {"axis": axis, "keepdims": keepdims}
        if name in ("argmax", "argmin") and axis is None and keepdims:
            return
        if name in ("std", "var"):
            kwargs["correction"] = 0
        want = getattr(REF, name)(x._data, **kwargs)
        if name == "prod" and xp.isdtype(x.dtype, "real floating"):
            h = x.numpy()
            logs = np.log(np.abs(h[(h != 0) & np.isfinite(h)]).astype(np.float64))
            info = np.finfo(h.dtype)
            if (
                logs.clip(0).sum() > np.log(float(info.max)) - 1
                or logs.clip(None, 0).sum() < np.log(float(info.smallest_normal)) + 1
            ):
                return  # a partial product may overflow or underflow in one order and not
                # another (a zero then gives nan or 0, 1e-200 * 1e-200 * 1e200 gives 0 or
                # 1e-200): the result depends on the order the backend multiplies in
        _same(getattr(xp, name)(x, **kwargs), want)

    dtypes = st.sampled_from([d for d in BACKEND.dtypes if xp.isdtype(d, kind)])
    strategy = dtypes.flatmap(
        lambda d: xps.arrays(d, xps.array_shapes(max_dims=3, max_side=3))
    ).flatmap(_axis_and_keepdims)
    _run(request, strategy, check)


MANIPULATION = {
    "flip": (lambda x: xp.flip(x, axis=-1), lambda a: REF.flip(a, axis=-1)),
    "roll": (lambda x: xp.roll(x, 2, axis=0), lambda a: REF.roll(a, 2, axis=0)),
    "repeat": (lambda x: xp.repeat(x, 2, axis=0), lambda a: REF.repeat(a, 2, axis=0)),
    "tile": (lambda x: xp.tile(x, (2, 1)), lambda a: REF.tile(a, (2, 1))),
    "moveaxis": (lambda x: xp.moveaxis(x, 0, -1), lambda a: REF.moveaxis(a, 0, -1)),
    "concat-none": (
        lambda x: xp.concat([x, x], axis=None),
        lambda a: REF.concat([REF.reshape(a, (-1,))] * 2, axis=0),
    ),
    "stack": (lambda x: xp.stack([x, x], axis=1), lambda a: REF.stack([a, a], axis=1)),
    "tril": (lambda x: xp.tril(x, k=1), lambda a: REF.tril(a, k=1)),
    "triu": (lambda x: xp.triu(x, k=-1), lambda a: REF.triu(a, k=-1)),
    "sort": (lambda x: xp.sort(x, axis=0), lambda a: REF.sort(a, axis=0)),
    "sort-desc": (
        lambda x: xp.sort(x, axis=-1, descending=True),
        lambda a: REF.sort(a, axis=-1, descending=True),
    ),
    "argsort": (lambda x: xp.argsort(x, axis=0), lambda a: REF.argsort(a, axis=0)),
    "cumulative_sum": (
        lambda x: xp.cumulative_sum(x, axis=1, include_initial=True),
        lambda a: REF.cumulative_sum(a, axis=1, include_initial=True),
    ),
    "diff": (lambda x: xp.diff(x, axis=0), lambda a: REF.diff(a, axis=0)),
    "matrix_transpose": (xp.matrix_transpose, lambda a: REF.matrix_transpose(a)),
    "unstack": (lambda x: xp.unstack(x, axis=1)[0], lambda a: REF.unstack(a, axis=1)[0]),
    "count_nonzero": (
        lambda x: xp.count_nonzero(x, axis=0),
        lambda a: REF.count_nonzero(a, axis=0),
    ),
    "take": (
        lambda x: xp.take(x, xp.asarray([0, 1, 0]), axis=1),
        lambda a: REF.take(a, REF.asarray([0, 1, 0], device=BACKEND.device_of(a)), axis=1),
    ),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(MANIPULATION))
def test_manipulation_matches_the_backend(request, name):
    ours, theirs = MANIPULATION[name]
    shapes = st.tuples(st.integers(2, 4), st.integers(2, 4))
    dtypes = st.sampled_from(_backend_dtypes("real floating") + [pg.int32, pg.int64])

    def check(x):
        if name in ("sort", "sort-desc", "argsort") and bool(REF.any(REF.isnan(x._data))):
            return  # NaN order differs between libraries (the standard leaves it open)
        # -0.0 and 0.0 are equal keys: their order after a sort is the library's
        # (and a running sum of -0.0 may start from +0.0: the sign of zero is the library's)
        _same(
            ours(x),
            theirs(x._data),
            signed_zeros=name not in ("sort", "sort-desc", "cumulative_sum"),
        )

    _run(request, dtypes.flatmap(lambda d: xps.arrays(d, shapes)), check)


@pytest.mark.parametrize(
    "call, ref",
    [
        (lambda: xp.arange(5), lambda: REF.arange(5, dtype=REF.int64)),
        (lambda: xp.arange(1, 7, 2), lambda: REF.arange(1, 7, 2, dtype=REF.int64)),
        (lambda: xp.arange(0.5, 3.0, 0.5), lambda: REF.arange(0.5, 3.0, 0.5, dtype=REF.float32)),
        (lambda: xp.arange(5, stop=1, step=-1), lambda: REF.arange(5, 1, -1, dtype=REF.int64)),
        (lambda: xp.zeros((2, 3)), lambda: REF.zeros((2, 3), dtype=REF.float32)),
        (lambda: xp.ones(3, dtype=xp.int8), lambda: REF.ones(3, dtype=REF.int8)),
        (lambda: xp.full((2,), True), lambda: REF.full((2,), True, dtype=REF.bool)),
        (lambda: xp.full((2,), 1 + 2j), lambda: REF.full((2,), 1 + 2j, dtype=REF.complex64)),
        (lambda: xp.eye(3, 4, k=1), lambda: REF.eye(3, 4, k=1, dtype=REF.float32)),
        (lambda: xp.eye(3, k=-2), lambda: REF.eye(3, k=-2, dtype=REF.float32)),
        (
            lambda: xp.linspace(0, 1, num=4, endpoint=False),
            lambda: REF.linspace(0, 1, 4, endpoint=False, dtype=REF.float32),
        ),
        (
            lambda: xp.linspace(2.0, 3.0, 5, dtype=xp.float64),
            lambda: REF.linspace(2.0, 3.0, 5, dtype=REF.float64),
        ),
        (lambda: xp.empty((0, 2)), lambda: REF.zeros((0, 2), dtype=REF.float32)),
    ],
    ids=lambda f: "",
)
def test_creation_functions_take_the_standard_signatures(call, ref):
    with pg.use_backend(BACKEND.name):
        _same(call(), ref())


def test_like_functions_take_dtype_and_device():
    x = xp.asarray([[1.0, 2.0]])
    for fn in ("zeros_like", "ones_like", "empty_like"):
        out = getattr(xp, fn)(x, dtype=xp.int32, device=x.device)
        assert out.dtype == xp.int32 and out.shape == (1, 2) and out.device == x.device
    assert xp.full_like(x, 7, dtype=xp.int16).numpy().tolist() == [[7, 7]]


def test_sum_and_prod_take_dtype_and_upcast_integers_as_the_standard():
    u8 = xp.asarray([200, 100], dtype=xp.uint8)
    _same(xp.sum(u8), REF.sum(u8._data))
    _same(xp.prod(xp.asarray([3, 4], dtype=xp.int8)), REF.prod(REF.asarray([3, 4], dtype=REF.int8)))
    x = xp.asarray([1.5, 2.5], dtype=xp.float32)
    assert xp.sum(x, dtype=xp.float64).dtype == xp.float64


def test_dtype_functions():
    assert xp.finfo(xp.float32).eps == float(np.finfo(np.float32).eps)
    assert xp.finfo(xp.complex128).dtype == xp.float64
    assert xp.iinfo(xp.uint8).max == 255 and xp.iinfo(xp.int64).min == -(2**63)
    with pytest.raises(TypeError):
        xp.finfo(xp.int32)
    assert xp.isdtype(xp.int8, "signed integer") and not xp.isdtype(xp.uint8, "signed integer")
    assert xp.isdtype(xp.complex64, ("real floating", "complex floating"))
    assert xp.result_type(xp.int8, xp.int16) == xp.int16
    assert xp.result_type(xp.uint8, xp.int8) == xp.int16
    assert xp.result_type(xp.float32, xp.complex64) == xp.complex64
    assert xp.result_type(xp.float64, xp.complex64) == xp.complex128
    assert xp.result_type(xp.asarray([1], dtype=xp.int8), 1) == xp.int8
    assert xp.result_type(xp.float32, 1.0) == xp.float32
    assert xp.can_cast(xp.int8, xp.int16) and not xp.can_cast(xp.int16, xp.int8)
    assert xp.can_cast(xp.uint8, xp.int16) and not xp.can_cast(xp.int8, xp.uint8)
    assert not xp.can_cast(xp.float64, xp.float32) and xp.can_cast(xp.float32, xp.complex64)


def test_namespace_info_reports_the_backend():
    info = xp.__array_namespace_info__()
    assert set(info.dtypes()) == {d.name for d in BACKEND.dtypes}
    assert set(info.dtypes(kind="integral")) <= {"int8", "int16", "int32", "int64", "uint8",
                                                   "uint16", "uint32", "uint64"}  # fmt: skip
    assert info.default_dtypes()["real floating"] == pg.get_default_dtype()
    assert info.default_device() == pg.get_backend().device
    assert info.capabilities()["boolean indexing"] is True
    assert xp.__array_api_version__ == "2024.12"
    assert pg.ones(1).__array_namespace__() is xp
    with pytest.raises(ValueError, match="2024.12"):
        pg.ones(1).__array_namespace__(api_version="2099.12")


def test_every_function_of_the_standard_is_there():
    import array_api_strict

    missing = [
        n
        for n in array_api_strict.__all__
        if not n[0].isupper() and "strict" not in n and n != "__version__" and not hasattr(xp, n)
    ]
    assert missing == [], f"polygrad.array_api lacks {missing}"
    assert math.isnan(xp.nan) and xp.inf == math.inf and xp.newaxis is None


def test_sets_and_searching_match_the_backend():
    x = xp.asarray([3, 1, 2, 3, 1, 1])
    got = xp.unique_all(x)
    want = np.unique(x.numpy(), return_index=True, return_inverse=True, return_counts=True)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g.numpy(), w)
        assert_on_backend(g)
    _same(xp.unique_values(x), REF.unique_values(x._data))
    _same(xp.unique_counts(x).counts, REF.unique_counts(x._data).counts)
    _same(xp.unique_inverse(x).inverse_indices, REF.unique_inverse(x._data).inverse_indices)
    m = xp.asarray([[0, 2], [3, 0]])
    for g, w in zip(xp.nonzero(m), REF.nonzero(m._data)):
        _same(g, w)
    s = xp.asarray([1.0, 2.0, 3.0])
    v = xp.asarray([0.5, 2.0, 9.0])
    for side in ("left", "right"):
        _same(xp.searchsorted(s, v, side=side), REF.searchsorted(s._data, v._data, side=side))
    assert xp.isin(x, xp.asarray([1, 3])).numpy().tolist() == [1, 1, 0, 1, 1, 1]


def test_bool_masks_and_operators_on_bools():
    a = xp.asarray([True, False, True])
    b = xp.asarray([True, True, False])
    _same(a & b, REF.logical_and(a._data, b._data))
    _same(a | b, REF.logical_or(a._data, b._data))
    _same(a ^ b, REF.logical_xor(a._data, b._data))
    _same(~a, REF.logical_not(a._data))


FFT = [
    ("fft", {}), ("ifft", {"n": 6}), ("rfft", {"axis": 0}), ("irfft", {}), ("hfft", {}),
    ("ihfft", {}), ("fftn", {}), ("ifftn", {"axes": (0,)}), ("rfftn", {"s": (4, 4)}),
    ("irfftn", {}),
]  # fmt: skip


@pytest.mark.parametrize("name, kwargs", FFT, ids=[n for n, _ in FFT])
def test_fft_matches_the_backend_and_refuses_to_drop_gradients(name, kwargs):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 5))
    if name not in ("rfft", "rfftn", "ihfft"):  # the others take complex input
        a = a + 1j * rng.standard_normal((4, 5))
    x = xp.asarray(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64))
    _same(getattr(xp.fft, name)(x, **kwargs), getattr(REF.fft, name)(x._data, **kwargs))
    if not np.iscomplexobj(a):
        with pytest.raises(TypeError, match="requires grad"):
            getattr(xp.fft, name)(pg.tensor(a, requires_grad=True))


def test_fft_shifts_and_frequencies():
    x = xp.asarray(np.arange(10.0).reshape(2, 5))
    _same(xp.fft.fftshift(x), REF.fft.fftshift(x._data))
    _same(xp.fft.ifftshift(x, axes=1), REF.fft.ifftshift(x._data, axes=1))
    _same(xp.fft.ifftshift(xp.fft.fftshift(x)), x._data)
    for n in (1, 4, 5):  # (the reference's dtype= is missing in older array-api-compat)
        _same(xp.fft.fftfreq(n, d=0.5), REF.astype(REF.fft.fftfreq(n, d=0.5), REF.float32))
        _same(xp.fft.rfftfreq(n, dtype=xp.float64), REF.astype(REF.fft.rfftfreq(n), REF.float64))
