"""Third-party array API code on polygrad tensors: array-api-extra, SciPy, scikit-learn, marray.

Each library function runs on ``polygrad.array_api`` tensors; its values are compared with the
same function on the backend's own arrays (or on NumPy), and gradients through it with central
differences (``polygrad.testing.gradcheck``) or torch in float64. The libraries come with the
``interop`` extra (``pip install -e ".[interop]"``, which ``nox -s array-api`` installs); a
missing one skips its tests with the pip line.
"""

from __future__ import annotations

import importlib
import os
import sys

import numpy as np
import pytest
import torch
from array_api_compat import array_namespace
from helpers import assert_on_backend

import polygrad as pg
import polygrad.array_api as pxp
from polygrad.testing import gradcheck

REASON = "{} is not installed: pip install -e '.[interop]'"
# SciPy reads SCIPY_ARRAY_API when it is first imported (scikit-learn's dispatch needs it too)
if "scipy" not in sys.modules:
    os.environ.setdefault("SCIPY_ARRAY_API", "1")


def need(module: str, dist: str | None = None):
    return pytest.importorskip(module, reason=REASON.format(dist or module))


def tensor(a, requires_grad: bool = False) -> pg.Tensor:
    t = pxp.asarray(np.asarray(a))
    return t.requires_grad_(True) if requires_grad else t


def host(a) -> np.ndarray:
    """A polygrad tensor or a backend array as a NumPy array."""
    return (a if isinstance(a, pg.Tensor) else pxp.asarray(a)).numpy()


def assert_same_as_backend(fn, *arrays, rtol: float = 1e-12, atol: float = 1e-12) -> pg.Tensor:
    """``fn`` on polygrad tensors equals ``fn`` on the backend's arrays (values, shape, dtype)."""
    out = fn(*arrays)
    expected = fn(*(a._data for a in arrays))
    assert isinstance(out, pg.Tensor), f"{fn} returned {type(out).__name__}, not a Tensor"
    assert_on_backend(out)
    e = host(expected)
    assert out.shape == e.shape and out.numpy().dtype == e.dtype, (out.shape, e.shape, e.dtype)
    np.testing.assert_allclose(out.numpy(), e, rtol=rtol, atol=atol)
    return out


def scipy_array_api() -> None:
    need("scipy")
    from scipy._lib import _array_api

    if not _array_api.SCIPY_ARRAY_API:
        pytest.skip("SciPy was imported before SCIPY_ARRAY_API=1 was set: set it in the shell")


rng = np.random.default_rng(0)
A = rng.normal(size=(3, 4))
B = rng.normal(size=(2, 2))
V = rng.normal(size=6)
P = rng.uniform(0.2, 0.9, size=6)


# -- (a) array-api-extra -----------------------------------------------------------------------
XPX_DIFFERENTIABLE = {
    "cov": (lambda xpx, a: xpx.cov(a), [A]),
    "kron": (lambda xpx, a, b: xpx.kron(a, b), [A, B]),
    "sinc": (lambda xpx, v: xpx.sinc(v), [V]),
    "pad": (lambda xpx, a: xpx.pad(a, ((1, 2), (0, 1)), constant_values=3.0), [A]),
    "atleast_nd": (lambda xpx, v: xpx.atleast_nd(v, ndim=3) * 2.0, [V]),
    "create_diagonal": (lambda xpx, v: xpx.create_diagonal(v, offset=1), [V]),
    "at.set": (lambda xpx, v: xpx.at(v)[1:4].set(0.5, copy=True), [V]),
    "at.multiply": (lambda xpx, v: xpx.at(v)[::2].multiply(v[1::2], copy=True), [V]),
    "apply_where": (
        lambda xpx, v: xpx.apply_where(v > 0, v, lambda x: x**0.5, fill_value=-1.0),
        [V],
    ),
    "nan_to_num": (lambda xpx, v: xpx.nan_to_num(v * v), [V]),
}


@pytest.mark.parametrize("name", list(XPX_DIFFERENTIABLE))
def test_array_api_extra_values_and_gradients(name):
    xpx = need("array_api_extra", "array-api-extra")
    fn, inputs = XPX_DIFFERENTIABLE[name]
    tensors = [tensor(a) for a in inputs]
    assert_same_as_backend(lambda *a: fn(xpx, *a), *tensors)
    for t in tensors:
        t.requires_grad_(True)
    assert fn(xpx, *tensors).requires_grad
    assert gradcheck(lambda *a: fn(xpx, *a), tensors)


def test_array_api_extra_cov_gradient_matches_torch():
    xpx = need("array_api_extra", "array-api-extra")
    g = rng.normal(size=(3, 3))
    x = tensor(A, requires_grad=True)
    (xpx.cov(x) * tensor(g)).sum().backward()
    xt = torch.tensor(A, requires_grad=True)
    (torch.cov(xt) * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_array_api_extra_set_functions_and_predicates():
    xpx = need("array_api_extra", "array-api-extra")
    ints = tensor(np.array([3, 1, 4, 1, 5, 9, 2, 6]))
    out = assert_same_as_backend(xpx.nunique, ints)
    assert int(out) == 7
    out = assert_same_as_backend(lambda a, b: xpx.setdiff1d(a, b), ints, tensor(np.array([1, 9])))
    assert out.numpy().tolist() == [2, 3, 4, 5, 6]
    near = tensor(V + np.where(np.arange(6) % 2 == 0, 1e-10, 1e-3))
    out = assert_same_as_backend(xpx.isclose, tensor(V), near)
    assert out.numpy().tolist() == [True, False] * 3
    out = xpx.one_hot(ints, 10)
    assert out.dtype == pxp.float32  # the default float dtype: torch's, not NumPy's float64
    np.testing.assert_array_equal(out.numpy(), np.eye(10)[[3, 1, 4, 1, 5, 9, 2, 6]])


def test_array_api_extra_at_on_a_leaf_that_requires_grad_needs_copy_true():
    # xpx.at writes in place by default on writeable arrays, as it would on a torch leaf
    xpx = need("array_api_extra", "array-api-extra")
    with pytest.raises(RuntimeError, match="in-place"):
        xpx.at(tensor(V, requires_grad=True))[0].set(1.0)
    with pytest.raises(RuntimeError, match="in-place"):
        xpx.at(torch.tensor(V, requires_grad=True))[0].set(1.0)


# -- (b) SciPy and scikit-learn ----------------------------------------------------------------
SCIPY_CASES = {
    "special.logsumexp": (lambda sp, a: sp.special.logsumexp(a, axis=1), [A]),
    "special.softmax": (lambda sp, a: sp.special.softmax(a, axis=0), [A]),
    "special.xlogy": (lambda sp, p, q: sp.special.xlogy(p, q), [P, P[::-1]]),
    "stats.zscore": (lambda sp, a: sp.stats.zscore(a, axis=1), [A]),
    "stats.skew": (lambda sp, v: sp.stats.skew(v), [V]),
    "stats.kurtosis": (lambda sp, v: sp.stats.kurtosis(v), [V]),
    "stats.gmean": (lambda sp, p: sp.stats.gmean(p), [P]),
    "stats.entropy": (lambda sp, p, q: sp.stats.entropy(p, q), [P, P[::-1]]),
    "stats.variation": (lambda sp, p: sp.stats.variation(p), [P]),
}


@pytest.mark.parametrize("name", list(SCIPY_CASES))
def test_scipy_array_api_values_and_gradients(name):
    scipy_array_api()
    sp = importlib.import_module("scipy")
    for sub in ("special", "stats"):
        importlib.import_module(f"scipy.{sub}")
    fn, inputs = SCIPY_CASES[name]
    tensors = [tensor(np.ascontiguousarray(a)) for a in inputs]
    out = fn(sp, *tensors)
    expected = fn(sp, *(np.ascontiguousarray(a) for a in inputs))  # SciPy's own NumPy path
    assert isinstance(out, pg.Tensor)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
    for t in tensors:
        t.requires_grad_(True)
    assert gradcheck(lambda *a: fn(sp, *a), tensors)


def test_scipy_code_calling_numpy_refuses_instead_of_dropping_the_gradient():
    # scipy.signal.detrend converts with np.asarray, outside the standard: an error, not a
    # result that silently has no gradient
    scipy_array_api()
    from scipy import signal

    with pytest.raises(RuntimeError, match="requires grad"):
        signal.detrend(tensor(V, requires_grad=True))


@pytest.fixture
def sklearn_dispatch():
    scipy_array_api()
    sklearn = need("sklearn", "scikit-learn")
    with sklearn.config_context(array_api_dispatch=True):
        yield


X = rng.normal(size=(8, 3))
Y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=8)


def ridge_coef_torch(x: torch.Tensor, y: torch.Tensor, alpha: float) -> torch.Tensor:
    """Ridge with an intercept: the centred normal equations."""
    xc, yc = x - x.mean(0), y - y.mean()
    return torch.linalg.solve(xc.T @ xc + alpha * torch.eye(x.shape[1], dtype=x.dtype), xc.T @ yc)


def test_sklearn_ridge_coefficients_are_differentiable(sklearn_dispatch):
    from sklearn.linear_model import Ridge

    x, y = tensor(X, requires_grad=True), tensor(Y, requires_grad=True)
    coef = Ridge(alpha=0.7, solver="svd").fit(x, y).coef_
    xt = torch.tensor(X, requires_grad=True)
    yt = torch.tensor(Y, requires_grad=True)
    coef_t = ridge_coef_torch(xt, yt, 0.7)
    np.testing.assert_allclose(coef.numpy(), coef_t.detach().numpy(), rtol=1e-10)
    w = rng.normal(size=3)
    (coef * tensor(w)).sum().backward()
    (coef_t * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(y.grad.numpy(), yt.grad.numpy(), rtol=1e-8, atol=1e-10)
    assert gradcheck(lambda a, b: Ridge(alpha=0.7, solver="svd").fit(a, b).coef_, [x, y])


def test_sklearn_scaler_kernel_and_pca_values_and_gradients(sklearn_dispatch):
    from sklearn.decomposition import PCA
    from sklearn.metrics.pairwise import rbf_kernel
    from sklearn.preprocessing import MinMaxScaler

    def loss(a):
        z = MinMaxScaler().fit_transform(a)
        return rbf_kernel(z[:3], z[3:], gamma=0.5)

    def pca(a):
        return PCA(n_components=2, svd_solver="covariance_eigh").fit_transform(a)

    x = tensor(X)
    # scikit-learn on NumPy arrays; PCA's components are defined up to sign
    np.testing.assert_allclose(loss(x).numpy(), loss(X), rtol=1e-12)
    np.testing.assert_allclose(np.abs(pca(x).numpy()), np.abs(pca(X)), rtol=1e-10, atol=1e-12)
    x.requires_grad_(True)
    assert gradcheck(loss, [x])
    assert gradcheck(pca, [x])


def test_sklearn_lda_decision_function_is_differentiable(sklearn_dispatch):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    labels = np.array([0, 1, 0, 1, 2, 2, 0, 1])
    expected = LinearDiscriminantAnalysis().fit(X, labels).decision_function(X)
    lda = LinearDiscriminantAnalysis().fit(tensor(X), tensor(labels))
    x = tensor(X, requires_grad=True)
    np.testing.assert_allclose(lda.decision_function(x).numpy(), expected, rtol=1e-10)
    assert gradcheck(lda.decision_function, [x])


def test_sklearn_in_place_writes_are_refused_as_in_torch(sklearn_dispatch):
    # StandardScaler writes into the std it computed (scale[scale == 0] = 1): torch's backward
    # refuses that, and so does polygrad's, naming the op
    from sklearn.preprocessing import StandardScaler

    xt = torch.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        StandardScaler().fit_transform(xt).sum().backward()
    x = tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        StandardScaler().fit_transform(x).sum().backward()


# -- (c) marray's masked arrays ----------------------------------------------------------------
DATA = np.array([[1.0, 2.0, 3.0, 0.5], [4.0, -5.0, 6.0, 2.5], [0.3, 0.7, -0.2, 1.1]])
MASK = np.array([[False, True, False, False], [False, False, True, True], [True, True, True, True]])


@pytest.fixture
def marray_ns():
    # the reference is marray over NumPy: over array-api-strict's device1 marray itself fails
    # (it creates its fill values on the default device)
    marray = need("marray")
    return marray.masked_namespace(pxp), marray.masked_namespace(array_namespace(DATA))


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min", "var", "std", "sort"])
def test_marray_masked_reductions_match_the_backend_and_numpy_ma(marray_ns, name):
    mxp, mbackend = marray_ns
    mine = getattr(mxp, name)(mxp.asarray(tensor(DATA), mask=tensor(MASK)), axis=1)
    theirs = getattr(mbackend, name)(mbackend.asarray(DATA, mask=MASK), axis=1)
    assert_on_backend(mine.data)
    np.testing.assert_array_equal(mine.mask.numpy(), theirs.mask)
    keep = ~mine.mask.numpy()
    np.testing.assert_allclose(mine.data.numpy()[keep], theirs.data[keep], rtol=1e-12)
    if name != "sort":
        ma = getattr(np.ma.masked_array(DATA, MASK), name)(axis=1)
        np.testing.assert_allclose(mine.data.numpy()[keep], ma.data[keep], rtol=1e-12)


def test_marray_gradient_through_a_masked_reduction(marray_ns):
    mxp, _ = marray_ns
    mask = tensor(MASK[:2])

    def masked_loss(x):
        a = mxp.asarray(x, mask=mask)
        return (mxp.var(a, axis=1) + mxp.mean(mxp.exp(a) * a, axis=1)).data

    x = tensor(DATA[:2], requires_grad=True)
    masked_loss(x).sum().backward()
    # torch on the unmasked elements only: masked elements get a zero gradient
    xt = torch.tensor(DATA[:2], requires_grad=True)
    keep = torch.tensor(~MASK[:2])
    total = 0
    for i in range(2):
        row = xt[i][keep[i]]
        total = total + row.var(correction=0) + (row.exp() * row).mean()
    total.backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert np.all(x.grad.numpy()[MASK[:2]] == 0)
    assert gradcheck(masked_loss, [x])


@pytest.mark.parametrize("scipy_array_api_env", ["0", "1"])
def test_erf_fast_path_with_scipy_matches_torch_either_way(scipy_array_api_env):
    """The numpy backend's erf goes through SciPy when installed; with SCIPY_ARRAY_API=1
    SciPy's erf is a Python function (not a ufunc), which once got the backend as its input."""
    need("scipy")
    import subprocess

    code = (
        "import numpy as np, torch, polygrad as pg\n"
        "x = np.linspace(-6, 6, 101)\n"
        "for dt in (pg.float32, pg.float64):\n"
        "    got = pg.erf(pg.tensor(x, dtype=dt)).numpy()\n"
        "    want = torch.special.erf(torch.tensor(got.dtype.type(x))).numpy()\n"
        "    assert got.dtype == want.dtype, (got.dtype, want.dtype)\n"
        "    np.testing.assert_allclose(got, want, rtol=1e-6 if dt == pg.float32 else 1e-15)\n"
        "    assert pg.erf(pg.tensor(0.5, dtype=dt)).shape == ()\n"
        "print('ok')\n"
    )
    env = {**os.environ, "SCIPY_ARRAY_API": scipy_array_api_env, "POLYGRAD_BACKEND": "numpy"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
