"""polygrad.linalg is torch.linalg (issue 11, item 4): the same call with torch and with
polygrad, values, return types (named tuples), float64 gradients and error types; also
Tensor.norm and polygrad.norm. polygrad.array_api.linalg stays the standard's (test_linalg.py)."""

import numpy as np
import pytest
import torch

import polygrad as pg

R = np.random.default_rng(0)
M = R.standard_normal((3, 3)) + 3 * np.eye(3)
SPD = M @ M.T + np.eye(3)
TALL = R.standard_normal((4, 3))
WIDE = R.standard_normal((2, 4))
B = R.standard_normal((2, 3, 3)) + 3 * np.eye(3)
V = R.standard_normal((3,))
X3 = R.standard_normal((2, 3, 4))


def _flat(out):
    return list(out) if isinstance(out, tuple) else [out]


def _compare(got, want, tol=1e-7):
    if isinstance(want, tuple):
        assert type(got).__name__ == type(want).__name__, (type(got), type(want))
        for g, w in zip(got, want):
            _compare(g, w, tol)
        return
    assert isinstance(got, pg.Tensor), type(got)
    assert got.shape == tuple(want.shape), (got.shape, tuple(want.shape))
    assert got.dtype.name == str(want.dtype).removeprefix("torch."), (got.dtype, want.dtype)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=tol, atol=tol)


def _run(call, *arrays, loss=None):
    """``call(lib, *tensors)`` with torch and polygrad: values, types and the float64
    gradients of ``loss(lib, out)`` (default: a random weighting of every float output)."""
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ps = [pg.tensor(a, requires_grad=True) for a in arrays]
    want, got = call(torch, *ts), call(pg, *ps)
    _compare(got, want)
    rng = np.random.default_rng(1)

    def default_loss(lib, out):
        total = 0.0
        for o in _flat(out):
            if o.dtype == lib.float64 and o.requires_grad and o.numel():
                total = total + (o * lib.tensor(rng.standard_normal(tuple(o.shape)))).sum()
        return total

    loss = loss or default_loss
    lt = loss(torch, want)
    rng = np.random.default_rng(1)
    lp = loss(pg, got)
    if isinstance(lt, torch.Tensor) and lt.requires_grad:
        lt.backward()
        lp.backward()
        for t, p in zip(ts, ps):
            want_g = t.grad if t.grad is not None else torch.zeros_like(t)
            np.testing.assert_allclose(p.grad.numpy(), want_g.numpy(), rtol=1e-6, atol=1e-8)


def _sign_free(lib, out):  # losses that do not depend on the signs of singular/eigen vectors
    return sum((o**2).sum() for o in _flat(out) if o.ndim and o.numel())


CALLS = {
    "norm-default": (lambda L, a: L.linalg.norm(a), X3),
    "norm-dim-int": (lambda L, a: L.linalg.norm(a, dim=1, keepdim=True), X3),
    "norm-ord-vector": (lambda L, a: L.linalg.norm(a, 3), V),
    "norm-ord-matrix": (lambda L, a: L.linalg.norm(a, 1), M),
    "norm-nuc": (lambda L, a: L.linalg.norm(a, "nuc"), M),
    "norm-dim-tuple": (lambda L, a: L.linalg.norm(a, ord=np.inf, dim=(0, 2)), X3),
    "norm-fro-dtype": (lambda L, a: L.linalg.norm(a, dim=(1, 2), dtype=L.float64), X3),
    "vector_norm": (lambda L, a: L.linalg.vector_norm(a, 1, dim=(0, 2), keepdim=True), X3),
    "vector_norm-inf": (lambda L, a: L.linalg.vector_norm(a, ord=float("inf")), X3),
    "matrix_norm": (lambda L, a: L.linalg.matrix_norm(a), X3),
    "matrix_norm-dim": (lambda L, a: L.linalg.matrix_norm(a, -1, dim=(2, 0), keepdim=True), X3),
    "inv": (lambda L, a: L.linalg.inv(a), B),
    "inv_ex": (lambda L, a: L.linalg.inv_ex(a), M),
    "det": (lambda L, a: L.linalg.det(a), B),
    "slogdet": (lambda L, a: L.linalg.slogdet(-a), M),
    "solve": (lambda L, a, b: L.linalg.solve(a, b), B, TALL[:3]),
    "solve-vector-batch": (lambda L, a, b: L.linalg.solve(a, b), B, TALL[:2, :3]),
    "solve-right": (lambda L, a, b: L.linalg.solve(a, b, left=False), M, WIDE[:, :3]),
    "cholesky": (lambda L, a: L.linalg.cholesky(a @ a.mT), M),
    "cholesky-upper": (lambda L, a: L.linalg.cholesky(a @ a.mT, upper=True), M),
    "cholesky_ex": (lambda L, a: L.linalg.cholesky_ex(a @ a.mT), M),
    "matrix_power": (lambda L, a: L.linalg.matrix_power(a, 3), M),
    "pinv": (lambda L, a: L.linalg.pinv(a), TALL),
    "pinv-hermitian": (lambda L, a: L.linalg.pinv(a @ a.mT, hermitian=True), M),
    "cross": (lambda L, a, b: L.linalg.cross(a, b, dim=0), TALL[:3], M),
    "vecdot": (lambda L, a, b: L.linalg.vecdot(a, b, dim=0), TALL[:3], M),
    "multi_dot": (lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), V, M, TALL.T),
    "diagonal": (lambda L, a: L.linalg.diagonal(a, offset=1, dim1=0, dim2=2), X3),
    "vander": (lambda L, a: L.linalg.vander(a, N=4), V),
    "lstsq-tall": (lambda L, a, b: L.linalg.lstsq(a, b), TALL, TALL[:, :2]),
}
SIGN_FREE = {
    "qr": (lambda L, a: L.linalg.qr(a), TALL),
    "qr-complete": (lambda L, a: L.linalg.qr(a, mode="complete"), WIDE),
    "svd": (lambda L, a: L.linalg.svd(a, full_matrices=False), TALL),
    "svd-full": (lambda L, a: L.linalg.svd(a), WIDE),
    "svdvals": (lambda L, a: L.linalg.svdvals(a), TALL),
    "eigh": (lambda L, a: L.linalg.eigh(a), SPD),
    "eigh-upper": (lambda L, a: L.linalg.eigh(a + L.triu(a, 1), UPLO="U"), SPD),
    "eigvalsh-upper": (lambda L, a: L.linalg.eigvalsh(a, UPLO="U"), SPD),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_torch_linalg(name):
    call, *arrays = CALLS[name]
    _run(call, *arrays)


@pytest.mark.parametrize("name", sorted(SIGN_FREE))
def test_torch_linalg_decompositions(name):
    call, *arrays = SIGN_FREE[name]

    def values(lib, *ts):  # compare the sign-free parts: absolute values of the factors
        out = call(lib, *ts)
        return tuple(o.abs() for o in out) if isinstance(out, tuple) else out

    got, want = call(pg, *map(pg.tensor, arrays)), call(torch, *map(torch.tensor, arrays))
    assert type(got).__name__ == type(want).__name__
    if isinstance(want, tuple):
        names = {"linalg_qr": "Q R", "linalg_svd": "U S Vh"}.get(
            type(want).__name__, "eigenvalues eigenvectors"
        )
        for field in names.split():
            _compare(getattr(got, field).abs(), getattr(want, field).abs())

    _run(values, *arrays, loss=_sign_free)


def test_matrix_rank_and_lstsq_rank():
    low = TALL[:, :2] @ WIDE[:, :3]
    assert pg.linalg.matrix_rank(pg.tensor(low)).item() == torch.linalg.matrix_rank(
        torch.tensor(low)
    ).item() == 2
    got = pg.linalg.matrix_rank(pg.tensor(low), rtol=0.9)
    want = torch.linalg.matrix_rank(torch.tensor(low), rtol=0.9)
    assert got.item() == want.item() and got.dtype == pg.int64
    assert pg.linalg.lstsq(pg.tensor(TALL), pg.tensor(TALL)).rank.item() == 3


@pytest.mark.parametrize(
    "snippet",
    [
        lambda L, x: x.norm(),
        lambda L, x: x.norm(dim=1),
        lambda L, x: x.norm(p=1, dim=(0, 2), keepdim=True),
        lambda L, x: L.norm(x, p="fro", dim=(1, 2)),
        lambda L, x: L.norm(x[0], p="nuc"),
        lambda L, x: L.norm(x, 3),
    ],
)
def test_tensor_norm_as_torch(snippet):
    _run(snippet, X3)


def test_qr_mode_r_has_no_gradient():
    got, want = pg.linalg.qr(pg.tensor(TALL), mode="r"), torch.linalg.qr(torch.tensor(TALL), "r")
    assert got.Q.shape == tuple(want.Q.shape) == (0,)
    _compare(got.R.abs(), want.R.abs())
    with pytest.raises(RuntimeError):
        torch.linalg.qr(torch.tensor(TALL, requires_grad=True), mode="r").R.sum().backward()
    with pytest.raises(RuntimeError):
        pg.linalg.qr(pg.tensor(TALL, requires_grad=True), mode="r").R.sum().backward()


def test_layout_and_errors():
    import polygrad.linalg as la

    assert la is pg.linalg and pg.linalg is not pg.array_api.linalg
    assert pg.array_api.linalg.vector_norm(pg.tensor(V), axis=0).item() == pytest.approx(
        np.linalg.norm(V)
    )
    with pytest.raises(RuntimeError):  # torch: ord with dim None needs a 1-D or 2-D input
        torch.linalg.norm(torch.tensor(X3), 2)
    with pytest.raises(RuntimeError):
        pg.linalg.norm(pg.tensor(X3), 2)
    with pytest.raises(RuntimeError):
        torch.linalg.eigh(torch.tensor(SPD), UPLO="X")
    with pytest.raises(RuntimeError):
        pg.linalg.eigh(pg.tensor(SPD), UPLO="X")
    with pytest.raises(torch.linalg.LinAlgError):
        torch.linalg.inv(torch.zeros(2, 2, dtype=torch.float64))
    with pytest.raises(pg.linalg.LinAlgError):
        pg.linalg.inv(pg.zeros(2, 2, dtype=pg.float64))
    for name in ("eig", "lu_factor", "matrix_exp"):
        with pytest.raises(NotImplementedError, match=f"torch.linalg.{name}"):
            getattr(pg.linalg, name)(pg.tensor(M))
    with pytest.raises(AttributeError, match="torch.linalg.nosuch"):
        pg.linalg.nosuch  # noqa: B018
