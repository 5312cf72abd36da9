"""polygrad.linalg against torch.linalg in float64: values, first-order gradients with random
upstream weights, and Hessian-vector products (grad of grad) where they are defined, batched
and unbatched, on the active backend. Decompositions whose outputs are defined only up to
sign (svd, eigh) are checked through sign-invariant losses, as torch requires."""

import math

import numpy as np
import pytest
import torch
from helpers import assert_close, from_torch

import polygrad as pg
import polygrad.testing  # noqa: F401  (pg.testing)
from polygrad.array_api import linalg as la

RTOL, ATOL = 1e-8, 1e-9


def _general(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def _spd(*shape):
    a = torch.randn(*shape, dtype=torch.float64)
    return a @ a.mT + shape[-1] * torch.eye(shape[-1], dtype=torch.float64)


def _symmetric(*shape):
    a = torch.randn(*shape, dtype=torch.float64)
    return a + a.mT


def _as_tuple(out):
    return tuple(out) if isinstance(out, tuple) else (out,)


def _weighted(outs, weights, square=()):
    """sum_i <w_i, o_i> (or <w_i, o_i * o_i> for i in ``square``: sign-invariant)."""
    total = 0
    for i, (o, w) in enumerate(zip(outs, weights)):
        total = total + ((o * o if i in square else o) * w).sum()
    return total


def check(pg_fn, torch_fn, inputs, square=(), second=True, masks=None, rtol=RTOL, atol=ATOL):
    """Compare values, gradients and (if ``second``) Hessian-vector products with torch.

    ``inputs`` are float64 torch tensors; ``square`` lists outputs entering the loss squared
    (sign-invariant); ``masks`` zero some weights (outputs torch leaves ungraded).
    """
    t_in = [t.clone().requires_grad_(True) for t in inputs]
    p_in = [from_torch(t, requires_grad=True) for t in inputs]
    t_out = _as_tuple(torch_fn(*t_in))
    p_out = _as_tuple(pg_fn(*p_in))
    assert len(t_out) == len(p_out)
    weights = [torch.randn(o.shape, dtype=torch.float64) for o in t_out]
    if masks is not None:
        weights = [w * m for w, m in zip(weights, masks)]
    for i, (p, t) in enumerate(zip(p_out, t_out)):
        if i in square:
            p, t = p * p, t * t
        if masks is not None:
            p, t = p * from_torch(masks[i]), t * masks[i]
        assert_close(p, t, rtol=rtol, atol=atol, dtype=pg.float64)
    t_loss = _weighted(t_out, weights, square)
    p_loss = _weighted(p_out, [from_torch(w) for w in weights], square)
    t_grads = _torch_grad(t_loss, t_in, create_graph=second)
    p_grads = pg.grad(p_loss, p_in, create_graph=second)
    for p, t in zip(p_grads, t_grads):
        assert_close(p, t, rtol=rtol, atol=atol, dtype=pg.float64)
    if not second:
        return
    vs = [torch.randn(t.shape, dtype=torch.float64) for t in inputs]
    t_hvp = _torch_grad(sum((g * v).sum() for g, v in zip(t_grads, vs)), t_in)
    p_sum = sum((g * from_torch(v)).sum() for g, v in zip(p_grads, vs))
    if not p_sum.requires_grad:  # piecewise linear: polygrad's gradient is a constant
        for t in t_hvp:
            assert not t.abs().max() > 0
        return
    p_hvp = pg.grad(p_sum, p_in, allow_unused=True)
    for p, t in zip(p_hvp, t_hvp):
        if p is None:
            assert not t.abs().max() > 0
        else:
            assert_close(p, t, rtol=1e-7, atol=1e-8)


def _torch_grad(loss, inputs, create_graph=False):
    """torch.autograd.grad with unused inputs' (and constant losses') gradients as zeros."""
    if not loss.requires_grad:
        return [torch.zeros_like(t) for t in inputs]
    grads = torch.autograd.grad(loss, inputs, create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(t) if g is None else g for g, t in zip(grads, inputs)]


BATCHES = [(), (2,), (2, 1)]


# -- composites ------------------------------------------------------------------------------
def test_outer():
    check(la.outer, torch.outer, [_general(3), _general(4)])


@pytest.mark.parametrize(
    "shapes,axis", [(((4,), (4,)), -1), (((2, 3, 4), (3, 4)), -1), (((2, 4, 3), (1, 4, 3)), -2)]
)
def test_vecdot(shapes, axis):
    check(
        lambda a, b: la.vecdot(a, b, axis=axis),
        lambda a, b: torch.linalg.vecdot(a, b, dim=axis),
        [_general(*s) for s in shapes],
    )


@pytest.mark.parametrize(
    "shapes,axes",
    [
        (((2, 3, 4), (3, 4, 5)), 2),
        (((2, 3), (3, 2)), 1),
        (((2, 3, 4), (4, 2, 3)), ([1, 2], [2, 0])),
        (((2,), (3,)), 0),
    ],
)
def test_tensordot(shapes, axes):
    check(
        lambda a, b: la.tensordot(a, b, axes=axes),
        lambda a, b: torch.tensordot(a, b, dims=axes),
        [_general(*s) for s in shapes],
    )


@pytest.mark.parametrize("offset", [0, 1, -2, 5])
@pytest.mark.parametrize("batch", BATCHES)
def test_diagonal_and_trace(offset, batch):
    x = _general(*batch, 3, 4)
    check(
        lambda a: la.diagonal(a, offset=offset),
        lambda a: torch.diagonal(a, offset=offset, dim1=-2, dim2=-1),
        [x],
    )
    check(
        lambda a: la.trace(a, offset=offset),
        lambda a: torch.diagonal(a, offset=offset, dim1=-2, dim2=-1).sum(-1),
        [x],
    )


def test_trace_integer_dtype():
    x = pg.tensor([[1, 2], [3, 4]], dtype=pg.int32)
    out = la.trace(x)
    assert out.dtype == pg.int64 and out.item() == 5
    assert la.trace(x, dtype=pg.float64).dtype == pg.float64


@pytest.mark.parametrize(
    "shapes,axis", [(((3,), (3,)), -1), (((2, 4, 3), (4, 3)), -1), (((3, 2), (3, 1)), -2)]
)
def test_cross(shapes, axis):
    check(
        lambda a, b: la.cross(a, b, axis=axis),
        lambda a, b: torch.linalg.cross(*torch.broadcast_tensors(a, b), dim=axis),
        [_general(*s) for s in shapes],
    )


def test_cross_refusals():
    with pytest.raises(ValueError, match="3 elements"):
        la.cross(pg.ones(4), pg.ones(4))
    with pytest.raises(ValueError, match="negative"):
        la.cross(pg.ones(3), pg.ones(3), axis=0)


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, math.inf, -math.inf, 0, -1.5])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (-1, False), ((0, 2), True)])
def test_vector_norm(ord, axis, keepdims):  # noqa: A002
    x = _general(2, 3, 4)
    check(
        lambda a: la.vector_norm(a, axis=axis, keepdims=keepdims, ord=ord),
        lambda a: torch.linalg.vector_norm(a, ord=ord, dim=axis, keepdim=keepdims),
        [x],
        second=ord not in (math.inf, -math.inf, 0),
    )


@pytest.mark.parametrize("ord", [2, 1, 3, math.inf])
def test_vector_norm_at_zero_and_ties(ord):  # noqa: A002
    # torch: gradient 0 at a zero vector; split evenly between tied maxima for inf
    x = torch.tensor([[0.0, 0.0, 0.0], [1.0, -1.0, 0.5]], dtype=torch.float64)
    check(
        lambda a: la.vector_norm(a, axis=-1, ord=ord),
        lambda a: torch.linalg.vector_norm(a, ord=ord, dim=-1),
        [x],
        second=False,
    )


@pytest.mark.parametrize("ord", ["fro", 1, -1, math.inf, -math.inf, "nuc", 2, -2])
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_matrix_norm(ord, batch, keepdims):  # noqa: A002
    x = _general(*batch, 3, 4)
    check(
        lambda a: la.matrix_norm(a, ord=ord, keepdims=keepdims),
        lambda a: torch.linalg.matrix_norm(a, ord=ord, keepdim=keepdims),
        [x],
    )


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -3])
@pytest.mark.parametrize("batch", BATCHES)
def test_matrix_power(n, batch):
    x = _general(*batch, 3, 3) / 2 + torch.eye(3, dtype=torch.float64)
    check(lambda a: la.matrix_power(a, n), lambda a: torch.linalg.matrix_power(a, n), [x])


def test_matrix_power_zero_of_non_finite_is_identity():
    x = pg.tensor([[math.inf, 1.0], [math.nan, 2.0]], dtype=pg.float64, requires_grad=True)
    out = la.matrix_power(x, 0)
    assert out.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    out.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_docstring_examples():
    import doctest

    import polygrad.array_api.linalg
    import polygrad.ops.decomp
    import polygrad.ops.linalg

    for module in (polygrad.array_api.linalg, polygrad.ops.decomp, polygrad.ops.linalg):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_matmul_and_transpose():
    check(la.matmul, torch.matmul, [_general(2, 3, 4), _general(4, 2)])
    check(la.matrix_transpose, lambda a: a.mT, [_general(2, 3, 4)])


# -- decompositions --------------------------------------------------------------------------
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("n", [1, 3])
def test_det_inv_slogdet(batch, n):
    x = _general(*batch, n, n)
    check(la.det, torch.linalg.det, [x])
    check(la.inv, torch.linalg.inv, [x])
    # both outputs: sign has no gradient, logabsdet's gradient is inv(x)^T
    check(la.slogdet, torch.linalg.slogdet, [x])


@pytest.mark.parametrize("kind", ["rank_n-1", "rank_n-2"])
def test_det_of_singular_matrices(kind):
    b = _general(4, 4)
    x = _general(4, 3) @ _general(3, 4) if kind == "rank_n-1" else _general(4, 2) @ _general(2, 4)
    check(la.det, torch.linalg.det, [torch.stack([x, b])], second=False, rtol=1e-6, atol=1e-9)


def test_det_of_exactly_singular_matrix_is_the_cofactor_matrix():
    # a zero row makes det exactly 0; its gradient is the cofactor matrix, nonzero on that row.
    # (torch's first-order rule perturbs the LU pivot and returns 0 on that row: polygrad
    # follows the mathematics here, checked by central differences.)
    x = _general(4, 4)
    x[1] = 0
    p = from_torch(x, requires_grad=True)
    assert la.det(p).item() == 0.0
    assert pg.testing.gradcheck(la.det, (p,))
    la.det(p).backward()
    assert np.abs(p.grad.numpy()[1]).max() > 0.1


def test_det_singular_gradient_is_nonzero():
    # the cofactors of a rank-(n-1) matrix are not all zero: a test that could fail silently
    x = pg.tensor(
        [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 1.0, 1.0]], dtype=pg.float64, requires_grad=True
    )
    la.det(x).backward()
    # d det(A) / dA[i, j] is the cofactor C[i, j] = (-1)^(i+j) det(A without row i, column j),
    # computed here from its definition (the pinned torch build returns zeros for this matrix)
    a = x.detach().numpy()
    cofactors = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(a, i, 0), j, 1))
                           for j in range(3)] for i in range(3)])  # fmt: skip
    assert np.abs(cofactors).max() > 0.5
    assert_close(x.grad, cofactors, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("shape_b", ["vector", "matrix", "batched"])
def test_solve(batch, shape_b):
    a = _general(*batch, 3, 3) + 3 * torch.eye(3, dtype=torch.float64)
    b = {"vector": _general(3), "matrix": _general(3, 2), "batched": _general(2, *batch, 3, 2)}
    b = b[shape_b]

    def ref(a, b):
        if b.ndim == 1:  # the standard's vector case (torch would also treat (..., M) so)
            return torch.linalg.solve(a, b.unsqueeze(-1)).squeeze(-1)
        return torch.linalg.solve(a, b)

    check(la.solve, ref, [a, b])


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(batch, upper):
    check(
        lambda a: la.cholesky(a, upper=upper),
        lambda a: torch.linalg.cholesky(a, upper=upper),
        [_spd(*batch, 4, 4)],
    )


@pytest.mark.parametrize("batch", BATCHES)
def test_eigh(batch):
    x = _symmetric(*batch, 4, 4)
    check(la.eigh, torch.linalg.eigh, [x], square=(1,))
    check(la.eigvalsh, torch.linalg.eigvalsh, [x])


def test_eigvalsh_repeated_eigenvalues_finite():
    # torch skips the eigenvector term when only eigenvalues are used: finite at the identity
    check(la.eigvalsh, torch.linalg.eigvalsh, [torch.eye(3, dtype=torch.float64)], second=False)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("mn", [(4, 3), (3, 3), (3, 5)])
@pytest.mark.parametrize("full", [False, True])
def test_svd(batch, mn, full):
    m, n = mn
    k = min(m, n)
    x = _general(*batch, m, n)
    masks = None
    if full:  # columns of U / rows of Vh past K are not unique and get no gradient in torch
        mu = torch.zeros(*batch, m, m, dtype=torch.float64)
        mu[..., :, :k] = 1
        mv = torch.zeros(*batch, n, n, dtype=torch.float64)
        mv[..., :k, :] = 1
        masks = [mu, torch.ones(*batch, k, dtype=torch.float64), mv]
    check(
        lambda a: la.svd(a, full_matrices=full),
        lambda a: torch.linalg.svd(a, full_matrices=full),
        [x],
        square=(0, 2),
        masks=masks,
        rtol=1e-7,
        atol=1e-8,
    )


@pytest.mark.parametrize("mn", [(4, 3), (3, 5)])
def test_svdvals_and_rank_deficient(mn):
    check(la.svdvals, torch.linalg.svdvals, [_general(2, *mn)])
    # a zero singular value: torch's svdvals gradient stays finite (U diag(gS) Vh)
    x = _general(*mn)
    x[:, 0] = 0
    x[0, :] = 0
    check(la.svdvals, torch.linalg.svdvals, [x], second=False)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("mn", [(4, 3), (3, 3), (3, 5)])
def test_qr(batch, mn):
    x = _general(*batch, *mn)
    check(la.qr, torch.linalg.qr, [x])


def test_qr_complete():
    check(
        lambda a: la.qr(a, mode="complete"),
        lambda a: torch.linalg.qr(a, mode="complete"),
        [_general(3, 5)],
    )
    q, r = la.qr(pg.randn(4, 3, dtype=pg.float64, requires_grad=True), mode="complete")
    with pytest.raises(RuntimeError, match="not differentiable"):
        (q.sum() + r.sum()).backward()


@pytest.mark.parametrize("mn", [(4, 3), (3, 3), (2, 5)])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_pinv(mn, batch):
    check(la.pinv, torch.linalg.pinv, [_general(*batch, *mn)], rtol=1e-7, atol=1e-8)


def test_pinv_and_rank_with_cutoff():
    x = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1e-3, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    p = from_torch(x)
    assert_close(la.pinv(p, rtol=1e-2), torch.linalg.pinv(x, rtol=1e-2))
    assert_close(la.pinv(p), torch.linalg.pinv(x))
    assert la.matrix_rank(p).item() == 2 and la.matrix_rank(p, rtol=1e-2).item() == 1
    ranks = la.matrix_rank(from_torch(torch.stack([x, torch.eye(3, dtype=torch.float64)])))
    assert ranks.dtype == pg.int64 and ranks.tolist() == [2, 3]


# -- float32, errors -------------------------------------------------------------------------
def test_float32_keeps_dtype():
    x = pg.tensor(_spd(3, 3).numpy(), dtype=pg.float32, requires_grad=True)
    outs = [
        la.det(x),
        la.inv(x),
        la.cholesky(x),
        la.eigh(x).eigenvalues,
        la.svdvals(x),
        la.qr(x).R,
        la.slogdet(x).logabsdet,
        la.matrix_norm(x, ord="nuc"),
        la.pinv(x),
    ]
    for o in outs:
        assert o.dtype == pg.float32
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == pg.float32 and x.grad.shape == (3, 3)


@pytest.mark.parametrize(
    "fn",
    [
        la.det,
        la.inv,
        la.cholesky,
        la.slogdet,
        la.eigh,
        la.eigvalsh,
        lambda a: la.matrix_power(a, 2),
    ],
)
def test_non_square_refused(fn):
    with pytest.raises(RuntimeError, match=r"square matrices, got shape \(2, 3\)"):
        fn(pg.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"shape \(3,\)"):
        fn(pg.ones(3))


@pytest.mark.parametrize("fn", [la.det, la.inv, la.svd, la.qr, la.vector_norm, la.matrix_norm])
def test_integer_input_refused(fn):
    with pytest.raises(RuntimeError, match="floating point"):
        fn(pg.tensor([[1, 2], [3, 4]]))


def test_cholesky_not_positive_definite():
    with pytest.raises(la.LinAlgError, match=r"cholesky.*\(2, 2\)") as info:
        la.cholesky(pg.tensor([[1.0, 2.0], [2.0, 1.0]]))
    assert isinstance(info.value, RuntimeError)  # torch.linalg.LinAlgError is one


def test_singular_inverse_and_solve():
    s = pg.tensor([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(la.LinAlgError, match="inv"):
        la.inv(s)
    with pytest.raises(la.LinAlgError, match="solve"):
        la.solve(s, pg.ones(2))
    with pytest.raises(RuntimeError, match="rows"):
        la.solve(pg.eye(2), pg.ones(3))


def test_second_derivative_of_logdet_by_gradcheck():
    # an independent check of a second-order path: finite differences, not torch
    x = pg.tensor(_spd(3, 3).numpy(), dtype=pg.float64, requires_grad=True)
    assert pg.testing.gradcheck(
        lambda a: pg.grad(la.slogdet(a).logabsdet, a, create_graph=True)[0], (x,)
    )


def test_slice_gradient_with_create_graph():
    # add_at (the rule of x[a:b]) clamped the slice against the gradient's shape, not the
    # input's: x[0:4] of 20 elements scattered its gradient over all 20 under create_graph
    x = pg.randn(20, dtype=pg.float64, requires_grad=True)
    (g,) = pg.grad(x[..., 0:4].sum(), [x], create_graph=True)
    assert g.tolist() == [1.0] * 4 + [0.0] * 16
    # and x[..., a:b] counted the '...' as an axis, so on 2-D it clamped against axis 0
    assert pg.randn(2, 20)[..., 0:4].shape == (2, 4)


SIGNATURES = {  # the 2024.12 standard's, with its positional-only and keyword-only markers
    "cholesky": "(x, /, *, upper=False)",
    "cross": "(x1, x2, /, *, axis=-1)",
    "det": "(x, /)",
    "diagonal": "(x, /, *, offset=0)",
    "eigh": "(x, /)",
    "eigvalsh": "(x, /)",
    "inv": "(x, /)",
    "matmul": "(x1, x2, /)",
    "matrix_norm": "(x, /, *, keepdims=False, ord='fro')",
    "matrix_power": "(x, n, /)",
    "matrix_rank": "(x, /, *, rtol=None)",
    "matrix_transpose": "(x, /)",
    "outer": "(x1, x2, /)",
    "pinv": "(x, /, *, rtol=None)",
    "qr": "(x, /, *, mode='reduced')",
    "slogdet": "(x, /)",
    "solve": "(x1, x2, /)",
    "svd": "(x, /, *, full_matrices=True)",
    "svdvals": "(x, /)",
    "tensordot": "(x1, x2, /, *, axes=2)",
    "trace": "(x, /, *, offset=0, dtype=None)",
    "vecdot": "(x1, x2, /, *, axis=-1)",
    "vector_norm": "(x, /, *, axis=None, keepdims=False, ord=2)",
}


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signature_is_the_standards(name):
    import inspect

    sig = inspect.signature(getattr(la, name))
    plain = sig.replace(
        parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()],
        return_annotation=inspect.Signature.empty,
    )
    assert str(plain) == SIGNATURES[name]
    assert getattr(la, name).__doc__


def test_namespace_is_the_linalg_module():
    from polygrad import array_api

    # the top-level polygrad.linalg is torch.linalg's (tests/test_torch_linalg_api.py)
    assert array_api.linalg is la and pg.linalg is not la
    missing = [f for f in la.__all__ if not hasattr(la, f)]
    assert not missing
