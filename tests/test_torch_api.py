"""The torch front door: the same snippet run with torch and with polygrad (issue 11, items 2,
4 and 5): values, dtypes, shapes, return types and float64 gradients."""

import numpy as np
import pytest
import torch

import polygrad as pg


def _same(got, want, tol=1e-6):
    if isinstance(want, tuple):
        assert type(got).__name__ == type(want).__name__ and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w, tol)
        return
    if isinstance(want, torch.Tensor):
        assert isinstance(got, pg.Tensor), type(got)
        assert got.shape == tuple(want.shape), (got.shape, want.shape)
        assert got.dtype.name == str(want.dtype).removeprefix("torch."), (got.dtype, want.dtype)
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=tol, atol=tol)
    else:
        assert type(got) is type(want) and got == want, (got, want)


def _run(snippet, *arrays, grad=True):
    """``snippet(lib, *tensors)`` with torch and polygrad; values and float64 gradients."""
    ts = [torch.tensor(a, requires_grad=grad and a.dtype == np.float64) for a in arrays]
    ps = [pg.tensor(a, requires_grad=grad and a.dtype == np.float64) for a in arrays]
    want, got = snippet(torch, *ts), snippet(pg, *ps)
    _same(got, want)
    out_t = want[0] if isinstance(want, tuple) else want
    out_p = got[0] if isinstance(got, tuple) else got
    if grad and isinstance(out_t, torch.Tensor) and out_t.requires_grad:
        up = np.random.default_rng(1).standard_normal(tuple(out_t.shape))
        out_t.backward(torch.tensor(up))
        out_p.backward(pg.tensor(up))
        for t, p in zip(ts, ps):
            if t.requires_grad:
                _same(p.grad, t.grad if t.grad is not None else torch.zeros_like(t))


R = np.random.default_rng(0)
X = R.standard_normal((3, 4))
X3 = R.standard_normal((2, 3, 4))
IDX = np.array([[0, 2, 1, 0], [2, 1, 0, 1]])
MASK = X > 0

SNIPPETS = {
    # item 2: argument conventions
    "sum-dim-keepdim": (lambda L, x: L.sum(x, dim=1, keepdim=True), X),
    "sum-axis-keepdims": (lambda L, x: x.sum(axis=0, keepdims=True), X),
    "mean-tuple-dim": (lambda L, x: x.mean(dim=(0, 2)), X3),
    "input-kw": (lambda L, x: L.mean(input=x, dim=-1), X),
    "other-kw": (lambda L, x: L.eq(x, other=x * 1.0), X),
    "max-dim": (lambda L, x: L.max(x, 1), X),
    "max-dim-keepdim": (lambda L, x: x.max(dim=0, keepdim=True), X),
    "min-dim": (lambda L, x: L.min(x, dim=-1), X),
    "max-all": (lambda L, x: x.max(), X),
    "max-binary": (lambda L, x, y: L.max(x, y), X, X[::-1].copy()),
    "sort": (lambda L, x: L.sort(x, dim=1, descending=True), X),
    "topk": (lambda L, x: x.topk(2, dim=1), X),
    "topk-smallest": (lambda L, x: L.topk(x, 2, dim=0, largest=False), X),
    "median-dim": (lambda L, x: L.median(x, 1), X),
    "median-all": (lambda L, x: x.median(), X),
    "view-varargs": (lambda L, x: x.view(-1, 4), X3),
    "view-tuple": (lambda L, x: x.reshape((4, 6)), X3),
    "expand": (lambda L, x: x[:, :1].expand(-1, 3), X),
    "permute": (lambda L, x: x.permute(0, 2, 1), X3),
    "repeat": (lambda L, x: x.repeat(2, 1), X),
    "zeros-varargs": (lambda L, x: x + L.zeros(3, 4, dtype=L.float64), X),
    "ones-tuple": (lambda L, x: x * L.ones((3, 4), dtype=L.float64), X),
    # item 4: methods and functions
    "tril": (lambda L, x: x.tril(), X),
    "triu-diag": (lambda L, x: L.triu(x, diagonal=1), X),
    "masked_fill": (lambda L, x, m: x.masked_fill(m, -1.0), X, MASK),
    "view_as": (lambda L, x: x.view_as(x.t()), X),
    "expand_as": (lambda L, x: x[:1].expand_as(x), X),
    "narrow": (lambda L, x: x.narrow(1, 1, 2), X),
    "t": (lambda L, x: x.t(), X),
    "T-mT": (lambda L, x: x.T.sum() + x.mT.sum(), X3),
    "new_ones": (lambda L, x: x + x.new_ones(3, 4), X),
    "new_full": (lambda L, x: x * x.new_full((3, 4), 2.0), X),
    "new_tensor": (lambda L, x: x.new_tensor([1.0, 2.0]), X),
    "zeros_like-dtype": (lambda L, x: L.zeros_like(x, dtype=L.int32), X),
    "roll": (lambda L, x: x.roll(1, dims=1), X),
    "flip": (lambda L, x: L.flip(x, dims=(0,)), X),
    "chunk": (lambda L, x: x.chunk(2, dim=1), X),
    "split-int": (lambda L, x: x.split(3, dim=1), X),
    "split-list": (lambda L, x: L.split(x, [1, 3], dim=1), X),
    "unbind": (lambda L, x: x.unbind(1), X),
    "gather": (lambda L, x, i: x.gather(0, i), X, IDX),
    "scatter_add": (lambda L, x, i: (x * 0).scatter_add(0, i, x[:2]), X, IDX),
    "scatter-value": (lambda L, x, i: x.scatter(1, i[:, :1], 5.0), X, IDX),
    "index_select": (lambda L, x: x.index_select(1, L.tensor([3, 0, 3])), X),
    "index_add": (lambda L, x: x.index_add(0, L.tensor([0, 2, 0]), x * 2, alpha=0.5), X),
    "index_fill": (lambda L, x: x.index_fill(1, L.tensor([1, 3]), 0.5), X),
    "masked_select": (lambda L, x, m: x.masked_select(m), X, MASK),
    "nonzero": (lambda L, m: L.nonzero(m), MASK),
    "where-cond": (lambda L, m: L.where(m), MASK),
    "compare-number": (lambda L, x: (x.gt(0), x.le(0.5), x.ne(1), x >= 0.1), X),
    "isclose": (lambda L, x: L.isclose(x, x + 1e-9), X),
    "clamp": (lambda L, x: x.clamp(min=-0.5, max=0.5), X),
    "clamp-tensor": (lambda L, x: L.clamp(x, min=x[0]), X),
    "clamp_min_max": (lambda L, x: x.clamp_min(0.1) + x.clamp_max(0.2), X),
    "lerp": (lambda L, x: L.lerp(x, x * x, 0.3), X),
    "addmm": (lambda L, x: L.addmm(x, x, x.t() @ x, beta=0.5, alpha=2), X),
    "baddbmm": (lambda L, x: L.baddbmm(x @ x.mT, x, x.mT, alpha=0.5), X3),
    "bmm": (lambda L, x: L.bmm(x, x.transpose(1, 2)), X3),
    "einsum": (lambda L, x, y: L.einsum("bij,bkj->bik", x, y), X3, X3 * 2),
    "cumsum": (lambda L, x: x.cumsum(dim=1), X),
    "cumprod": (lambda L, x: L.cumprod(x, 0), X),
    "argsort": (lambda L, x: x.argsort(dim=1, descending=True), X),
    "outer": (lambda L, x: L.outer(x[0], x[1]), X),
    "diag-2d": (lambda L, x: L.diag(x, 1), X),
    "diag-1d": (lambda L, x: x[0].diag(-1), X),
    "diagonal": (lambda L, x: x.diagonal(dim1=1, dim2=2), X3),
    "trace": (lambda L, x: x[:, :3].trace(), X),
    "norm": (lambda L, x: x.norm(), X),
    "norm-p-dim": (lambda L, x: L.norm(x, p=1, dim=1, keepdim=True), X),
    "std-default": (lambda L, x: x.std(dim=1), X),
    "var-unbiased": (lambda L, x: L.var(x, 0, unbiased=False), X),
    "var-correction": (lambda L, x: x.var(dim=1, correction=0, keepdim=True), X),
    "all-any-dim": (lambda L, m: (m.all(dim=1), L.any(m, dim=0)), MASK),
}


@pytest.mark.parametrize("name", SNIPPETS)
def test_snippet_matches_torch(name):
    fn, *arrays = SNIPPETS[name]
    _run(fn, *arrays)


def test_return_types_are_named_tuples():
    x = pg.tensor(X)
    r = pg.max(x, dim=1)
    assert isinstance(r, tuple) and type(r).__name__ == "max"
    assert r.values.shape == (3,) and r.indices.dtype == pg.int64
    for op in (pg.sort(x), pg.topk(x, 2), pg.median(x, 0), pg.mode(x, 0), pg.min(x, 0)):
        assert hasattr(op, "values") and hasattr(op, "indices")


def test_mode_matches_torch():
    a = np.array([[1.0, 2.0, 2.0, 3.0], [4.0, 4.0, 1.0, 1.0]])
    got, want = pg.mode(pg.tensor(a), 1), torch.mode(torch.tensor(a), 1)
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())


def test_out_is_refused_naming_the_op():
    x = pg.ones(2)
    with pytest.raises(NotImplementedError, match="sum"):
        pg.sum(x, out=pg.zeros(()))


def test_python_protocols_match_torch():
    for a in (np.float64(2.5), np.array([3.0])):
        t, p = torch.tensor(a), pg.tensor(a)
        assert float(p) == float(t) and int(p) == int(t) and bool(p) == bool(t)
    assert f"{pg.tensor(3.14159):.2f}" == f"{torch.tensor(3.14159):.2f}"
    with pytest.raises(TypeError):
        format(pg.ones(2), ".2f")
    x = pg.tensor(X)
    assert len(x) == 3 and [r.shape for r in x] == [(4,)] * 3
    assert [1, 2, 3][pg.tensor(1)] == 2
    assert x.dim() == 2 and x.nelement() == 12 and x.size(1) == 4 and x.element_size() == 8
    assert x.tolist() == torch.tensor(X).tolist() and pg.tensor(2.0).item() == 2.0
    assert pg.allclose(x, x + 1e-9) is True
    a = np.arange(4.0)
    assert pg.from_numpy(a).dtype == pg.float64 and pg.as_tensor(a).shape == (4,)


def test_random_functions_have_torch_shapes_dtypes_and_ranges():
    assert pg.randint(5, (3, 2)).shape == (3, 2) and pg.randint(5, (3,)).dtype == pg.int64
    r = pg.randint(3, 7, (1000,)).numpy()
    assert r.min() == 3 and r.max() == 6
    p = pg.randperm(10).numpy()
    assert sorted(p.tolist()) == list(range(10)) and pg.randperm(3).dtype == pg.int64
    x = pg.ones(2, 3, dtype=pg.float64)
    for f in (pg.rand_like, pg.randn_like):
        assert f(x).shape == (2, 3) and f(x).dtype == pg.float64
    assert pg.randint_like(x, 4).dtype == pg.float64
    w = pg.tensor([[0.0, 1.0, 3.0], [1.0, 1.0, 0.0]])
    m = pg.multinomial(w, 2)
    assert m.shape == (2, 2) and m.dtype == pg.int64 and sorted(m[0].tolist()) == [1, 2]
    assert sorted(m[1].tolist()) == [0, 1]
    mr = pg.multinomial(w[0], 2000, replacement=True).numpy()
    assert abs((mr == 2).mean() - 0.75) < 0.05 and not (mr == 0).any()
    with pytest.raises(RuntimeError):
        pg.multinomial(w[1], 3)
    b = pg.bernoulli(pg.full((4000,), 0.3)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.03
    n = pg.normal(2.0, 0.5, (4000,)).numpy()
    assert abs(n.mean() - 2.0) < 0.05 and abs(n.std() - 0.5) < 0.05
    assert pg.normal(pg.zeros(3), pg.ones(3)).shape == (3,)


def test_inplace_methods_match_torch():
    def snippet(L, x):
        y = x * 1
        y.add_(1.0).mul_(2).sub_(x, alpha=0.5).div_(3)
        y.clamp_(-1, 1)
        y.masked_fill_(y > 0.5, 0.5)
        y += x
        y *= 2
        return y

    _run(snippet, X)


def test_inplace_under_no_grad_updates_parameters():
    p = pg.tensor(X, requires_grad=True)
    (p * p).sum().backward()
    with pg.no_grad():
        p -= 0.1 * p.grad
    np.testing.assert_allclose(p.detach().numpy(), X - 0.2 * X)


def test_data_is_a_detached_alias_sharing_storage():
    p = pg.tensor(X, requires_grad=True)
    d = p.data
    assert isinstance(d, pg.Tensor) and not d.requires_grad and d.is_leaf
    d.mul_(2)  # a leaf that requires grad, written through .data without an error
    np.testing.assert_allclose(p.detach().numpy(), 2 * X)
    p.data = pg.zeros(2)
    assert p.shape == (2,) and p.requires_grad
    t = torch.tensor(X, requires_grad=True)
    t.data.mul_(2)
    np.testing.assert_allclose(t.detach().numpy(), 2 * X)


def test_hooks_and_retain_grad_match_torch():
    def run(L):
        x = L.tensor(X, requires_grad=True)
        seen = []
        x.register_hook(lambda g: g * 2)
        y = x * 3
        y.retain_grad()
        h = y.register_hook(lambda g: seen.append(g.sum().item()))
        (y * y).sum().backward()
        h.remove()
        return x.grad, y.grad, seen

    gp, yp, sp = run(pg)
    gt, yt, st = run(torch)
    _same(gp, gt)
    _same(yp, yt)
    assert np.allclose(sp, st)
    x = pg.tensor(1.0, requires_grad=True)
    assert x.requires_grad_(False) is x and not x.requires_grad
