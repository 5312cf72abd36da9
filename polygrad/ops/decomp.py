"""Matrix decompositions and the functions built on them (cholesky, det, slogdet, inv, solve,
qr, svd, eigh): each op's forward beside its vector-Jacobian rule, as torch defines it.

A decomposition has several outputs; the engine records ops with one. So the forward packs
its outputs, each flattened over its matrix axes, side by side along one last axis, and the
public function slices them back out (``_unpack``): a slice is differentiable, so the rule
receives the packed gradient, zeros where an output was not used.

Every rule calls only the array API standard and ``xp.linalg``, so it runs on raw arrays and,
for ``create_graph=True``, on Tensors through ``polygrad.linalg``: second derivatives come
from differentiating the rule itself. Constants a rule needs (an identity, a triangle mask)
come from ``_eye`` and ``_tril``, which build them on the backend whichever mode runs.
"""

from __future__ import annotations

import builtins
import math
from typing import Any, NamedTuple

from .._checks import LinAlgError, ShapeError, is_backend_linalg_error
from .._tensor import Function, Tensor, apply1, apply2
from . import shape as _shape_ops
from ._common import _lift, _promote
from .elementwise import divide, greater, multiply, where
from .linalg import _broadcast_shape, _float_matrices, matmul
from .reduction import max as _max
from .shape import broadcast_to, expand_dims, matrix_transpose, squeeze


class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class QRResult(NamedTuple):
    Q: Any
    R: Any


class SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


# -- packing several outputs into one array ---------------------------------------------------
def _pack(xp, batch: tuple[int, ...], parts) -> Any:
    flat = [xp.reshape(p, batch + (math.prod(p.shape[len(batch):]),)) for p in parts]
    return xp.concat(flat, axis=-1)


def _unpack(xp, packed, batch: tuple[int, ...], shapes) -> list:
    """The inverse of ``_pack``: ``shapes`` are the parts' shapes after the batch axes."""
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(xp.reshape(packed[..., start:start + size], batch + tuple(shape)))
        start += size
    return out


# -- constants a rule needs, built on the backend in both modes -------------------------------
def _constant(a, make) -> Any:
    """``make(xp, array)`` on the backend arrays behind ``a``, a Tensor again if ``a`` is one."""
    if isinstance(a, Tensor):
        return Tensor._wrap(make(a._xp, a._data), a._xp)
    return make(None, a)


def _eye(xp, a, n: int | None = None) -> Any:
    """The ``n`` x ``n`` identity (``n`` defaults to ``a``'s last axis size), in ``a``'s dtype
    and on its device."""

    def make(bxp, d):
        return (bxp or xp).eye(d.shape[-1] if n is None else n, dtype=d.dtype, device=d.device)

    return _constant(a, make)


def _tril(xp, a, k: int = 0) -> Any:
    """A 0/1 mask of ``a``'s dtype, one on and below diagonal ``k`` of ``a``'s square matrices."""

    def make(bxp, d):
        bxp = bxp or xp
        i = bxp.arange(d.shape[-1], device=d.device)
        return bxp.astype(i[:, None] + k >= i[None, :], d.dtype)

    return _constant(a, make)


def _all_zero(xp, g) -> bool:
    """Whether a gradient is zero everywhere: torch's rules skip outputs nobody used (an
    undefined gradient), which keeps them finite where the full formula would divide 0 by 0."""
    data = g._data if isinstance(g, Tensor) else g
    bxp = g._xp if isinstance(g, Tensor) else xp
    return not bool(bxp.any(data != 0))


def _mT(xp, a):
    return xp.matrix_transpose(a)


def _col(xp, v):
    """A vector (..., n) as a column (..., n, 1)... and a scalar stack (...) as (..., 1, 1)."""
    return xp.expand_dims(v, axis=-1)


def _call(op: str, shape: tuple, fn, *args, **kwargs) -> Any:
    """Run a backend linalg kernel; its own LinAlgError becomes polygrad's, naming op and shape."""
    try:
        return fn(*args, **kwargs)
    except Exception as e:
        if is_backend_linalg_error(e):
            raise LinAlgError(f"linalg.{op}: failed for input of shape {shape}: {e}") from e
        raise


# -- ops --------------------------------------------------------------------------------------
class Inv(Function):
    saves = "output"

    def forward(self, xp, x):
        return _call("inv", tuple(x.shape), xp.linalg.inv, x)

    def backward(self, xp, g, y):
        yt = _mT(xp, y)
        return (-xp.matmul(yt, xp.matmul(g, yt)),)


class Solve(Function):
    """``x1 @ X = x2`` for matrices ``x2`` of the same batch shape as ``x1`` (the public function
    broadcasts and turns a vector right-hand side into a column)."""

    saves = "both"

    def forward(self, xp, a, b):
        return _call("solve", (tuple(a.shape), tuple(b.shape)), xp.linalg.solve, a, b)

    def backward(self, xp, g, a, b, x):
        gb = xp.linalg.solve(_mT(xp, a), g)
        ga = -xp.matmul(gb, _mT(xp, x)) if self.next[0] is not None else None
        return ga, gb


# NOTE: the gradient of det is the cofactor matrix, det * inv(x)^T when x is well conditioned.
# For a singular or nearly singular x (|det| below sqrt(eps) times Hadamard's bound, the product
# of the column norms) det * inv(x)^T is noise over noise, so the cofactors come from the SVD,
# alpha * U diag(prod of the other singular values) Vh with alpha = det(U) det(Vh): torch uses
# the same formula for singular inputs, and rank n-1 matrices get their nonzero gradient.
class Det(Function):
    saves = "both"

    def forward(self, xp, x):
        return xp.linalg.det(x)

    def backward(self, xp, g, x, d):
        gd = _col(xp, _col(xp, g * d))
        near = _near_singular(xp, x, d)
        if near is None:
            return (gd * _mT(xp, xp.linalg.inv(x)),)
        eye = _eye(xp, x)
        mask = _col(xp, _col(xp, near))
        invertible = gd * _mT(xp, xp.linalg.inv(xp.where(mask, eye, x)))
        u, s, vh = xp.linalg.svd(x)
        alpha = xp.linalg.det(u) * xp.linalg.det(vh)
        # row i: the singular values with the i-th replaced by 1, so its product omits s_i
        others = xp.prod(eye + (1 - eye) * xp.expand_dims(s, axis=-2), axis=-1)
        cof = _col(xp, _col(xp, g * alpha)) * xp.matmul(u * xp.expand_dims(others, axis=-2), vh)
        return (xp.where(mask, cof, invertible),)


def _near_singular(xp, x, d) -> Any:
    """A bool mask (a constant) of the matrices whose det is too small for det * inv(x), or
    None when there is none."""
    bxp, xd, dd = (x._xp, x._data, d._data) if isinstance(x, Tensor) else (xp, x, d)
    bound = bxp.prod(bxp.linalg.vector_norm(xd, axis=-2), axis=-1)
    mask = bxp.abs(dd) <= bxp.finfo(xd.dtype).eps ** 0.5 * bound
    if not bool(bxp.any(mask)):
        return None
    return Tensor._wrap(mask, x._xp) if isinstance(x, Tensor) else mask


class Slogdet(Function):
    saves = "both"

    def forward(self, xp, x):
        sign, logabsdet = xp.linalg.slogdet(x)
        self.batch, self.shapes = tuple(x.shape[:-2]), ((), ())
        return _pack(xp, self.batch, (sign, logabsdet))

    def backward(self, xp, g, x, out):
        # the sign is locally constant: only logabsdet has a gradient, inv(x)^T
        _, g_logabsdet = _unpack(xp, g, self.batch, self.shapes)
        return (_col(xp, _col(xp, g_logabsdet)) * _mT(xp, xp.linalg.inv(x)),)


# NOTE: torch's cholesky rule: gA = L^-T Phi L^-1 with Phi the symmetric matrix whose lower
# triangle is tril(L^T gL) and whose diagonal is halved; the triangular solves are general
# solves here (the standard has no solve_triangular).
class Cholesky(Function):
    saves = "output"

    def forward(self, xp, x):
        return _call("cholesky", tuple(x.shape), xp.linalg.cholesky, x)

    def backward(self, xp, g, low):
        lt = _mT(xp, low)
        t = xp.matmul(lt, g) * _tril(xp, low)
        phi = 0.5 * (t + _mT(xp, t * _tril(xp, low, -1)))
        y = xp.linalg.solve(lt, phi)
        return (_mT(xp, xp.linalg.solve(lt, _mT(xp, y))),)


def _over_gaps(xp, m, lam, eye):
    """``m_ij / (lam_j - lam_i)`` off the diagonal (``m_ii / 1`` on it): the F-matrix step the
    eigh and svd rules share (``lam`` the eigenvalues, or the squared singular values)."""
    return m / (xp.expand_dims(lam, axis=-2) - xp.expand_dims(lam, axis=-1) + eye)


class Eigh(Function):
    saves = "output"

    def forward(self, xp, x):
        w, v = _call("eigh", tuple(x.shape), xp.linalg.eigh, x)
        self.batch, n = tuple(x.shape[:-2]), x.shape[-1]
        self.shapes = ((n,), (n, n))
        return _pack(xp, self.batch, (w, v))

    def backward(self, xp, g, out):
        w, v = _unpack(xp, out, self.batch, self.shapes)
        gw, gv = _unpack(xp, g, self.batch, self.shapes)
        vt = _mT(xp, v)
        inner = xp.expand_dims(gw, axis=-2) * _eye(xp, v)
        if not _all_zero(xp, gv):
            # the skew-symmetric part of V^T gV over the eigenvalue gaps E_ij = w_j - w_i
            # (a unit diagonal, as torch: repeated eigenvalues give inf, as there)
            vtgv = xp.matmul(vt, gv)
            skew = 0.5 * (vtgv - _mT(xp, vtgv))
            inner = inner + _over_gaps(xp, skew, w, _eye(xp, v))
        return (xp.matmul(v, xp.matmul(inner, vt)),)


# NOTE: torch's svd rule (distinct singular values; the loss must not depend on the signs of
# singular vectors). With full_matrices the extra columns of U / rows of Vh get no gradient:
# torch narrows them away before the rule, as here.
class Svd(Function):
    saves = "output"

    def __init__(self, full_matrices: bool) -> None:
        self.full_matrices = full_matrices

    def forward(self, xp, x):
        u, s, vh = _call("svd", tuple(x.shape), xp.linalg.svd, x, full_matrices=self.full_matrices)
        self.batch = tuple(x.shape[:-2])
        self.shapes = (tuple(u.shape[-2:]), tuple(s.shape[-1:]), tuple(vh.shape[-2:]))
        return _pack(xp, self.batch, (u, s, vh))

    def backward(self, xp, g, out):
        u, s, vh = _unpack(xp, out, self.batch, self.shapes)
        gu, gs, gvh = _unpack(xp, g, self.batch, self.shapes)
        (m, _), (k,), (_, n) = self.shapes[0], self.shapes[1], self.shapes[2]
        u, gu, vh, gvh = u[..., :, :k], gu[..., :, :k], vh[..., :k, :], gvh[..., :k, :]
        eye = _eye(xp, gs, k)
        inner = xp.expand_dims(gs, axis=-2) * eye
        use_u, use_vh = not _all_zero(xp, gu), not _all_zero(xp, gvh)
        if not (use_u or use_vh):
            return (xp.matmul(u * xp.expand_dims(gs, axis=-2), vh),)
        s_row, s_col = xp.expand_dims(s, axis=-2), xp.expand_dims(s, axis=-1)
        off = 0.0
        if use_u:
            utgu = xp.matmul(_mT(xp, u), gu)
            off = (utgu - _mT(xp, utgu)) * s_row
        if use_vh:
            vhgv = xp.matmul(vh, _mT(xp, gvh))
            off = off + s_col * (vhgv - _mT(xp, vhgv))
        inner = inner + _over_gaps(xp, off, s * s, eye)
        if m > n and use_u:
            gu_sinv = gu / s_row
            ga = xp.matmul(u, inner) + gu_sinv - xp.matmul(u, xp.matmul(_mT(xp, u), gu_sinv))
            return (xp.matmul(ga, vh),)
        if m < n and use_vh:
            sinv_gvh = gvh / s_col
            ga = xp.matmul(inner, vh) + sinv_gvh - xp.matmul(xp.matmul(sinv_gvh, _mT(xp, vh)), vh)
            return (xp.matmul(u, ga),)
        return (xp.matmul(u, xp.matmul(inner, vh)),)


class Qr(Function):
    saves = "output"

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def forward(self, xp, x):
        q, r = _call("qr", tuple(x.shape), xp.linalg.qr, x, mode=self.mode)
        self.batch = tuple(x.shape[:-2])
        self.shapes = (tuple(q.shape[-2:]), tuple(r.shape[-2:]))
        return _pack(xp, self.batch, (q, r))

    def backward(self, xp, g, out):
        q, r = _unpack(xp, out, self.batch, self.shapes)
        gq, gr = _unpack(xp, g, self.batch, self.shapes)
        (m, k), (_, n) = self.shapes
        if m > n and k == m:
            raise RuntimeError(
                "linalg.qr: the QR decomposition is not differentiable when mode='complete' and "
                f"nrows > ncols (input matrices {m} x {n}); use mode='reduced'"
            )
        if m >= n:
            return (_qr_square_backward(xp, gq, gr, q, r),)
        # wide: x = Q [X | Y] with R = [R_X | R_Y]; Y = Q R_Y feeds Q's gradient
        r_x, r_y, gr_x, gr_y = r[..., :, :m], r[..., :, m:], gr[..., :, :m], gr[..., :, m:]
        gq = gq + xp.matmul(xp.matmul(q, r_y), _mT(xp, gr_y))
        gx = _qr_square_backward(xp, gq, gr_x, q, r_x)
        return (xp.concat([gx, xp.matmul(q, gr_y)], axis=-1),)


def _qr_square_backward(xp, gq, gr, q, r):
    """torch's rule for a tall or square x = QR (R square): (gQ + Q C) R^-T, where C is the
    symmetric matrix whose upper triangle is that of gR R^T - Q^T gQ."""
    m = xp.matmul(gr, _mT(xp, r)) - xp.matmul(_mT(xp, q), gq)
    upper = m * _mT(xp, _tril(xp, r))
    c = upper + _mT(xp, upper * _mT(xp, _tril(xp, r, -1)))
    return _mT(xp, xp.linalg.solve(r, _mT(xp, gq + xp.matmul(q, c))))


# -- the public functions ---------------------------------------------------------------------
def _outputs(packed: Tensor, op: Function) -> list:
    return _unpack(_shape_ops, packed, op.batch, op.shapes)


def cholesky(x: Tensor, /, *, upper: bool = False) -> Tensor:
    """Cholesky factor of each symmetric positive-definite matrix in ``x``.

    Only the lower triangle of ``x`` is read (as torch and LAPACK).

    Parameters
    ----------
    x : Tensor
        Shape (..., M, M), floating point.
    upper : bool
        Return the upper factor U (``x = U^T U``) instead of the lower L (``x = L L^T``).

    Returns
    -------
    Tensor
        The triangular factors, of ``x``'s shape.

    Raises
    ------
    LinAlgError
        If a matrix is not positive-definite.

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.cholesky(polygrad.tensor([[4.0, 2.0], [2.0, 2.0]])).tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    low = apply1(Cholesky(), _float_matrices(x, "cholesky", square=True))
    return matrix_transpose(low) if upper else low


def det(x: Tensor, /) -> Tensor:
    """Determinant of each square matrix in ``x``.

    The gradient is the cofactor matrix, also for singular matrices (as torch).

    Parameters
    ----------
    x : Tensor
        Shape (..., M, M), floating point.

    Returns
    -------
    Tensor
        Shape (...).

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.det(polygrad.tensor([[2.0, 1.0], [1.0, 3.0]])).item()
    5.0
    """
    return apply1(Det(), _float_matrices(x, "det", square=True))


def slogdet(x: Tensor, /) -> SlogdetResult:
    """Sign and log of the absolute value of the determinant of each square matrix in ``x``.

    Parameters
    ----------
    x : Tensor
        Shape (..., M, M), floating point.

    Returns
    -------
    SlogdetResult
        ``(sign, logabsdet)``, each of shape (...); a singular matrix gives ``(0, -inf)``.
        Only ``logabsdet`` has a gradient.

    Examples
    --------
    >>> import polygrad
    >>> sign, logabsdet = polygrad.linalg.slogdet(polygrad.tensor([[-2.0, 0.0], [0.0, 1.0]]))
    >>> sign.item(), round(logabsdet.item(), 6)
    (-1.0, 0.693147)
    """
    op = Slogdet()
    packed = apply1(op, _float_matrices(x, "slogdet", square=True))
    return SlogdetResult(*_outputs(packed, op))


def inv(x: Tensor, /) -> Tensor:
    """Inverse of each square matrix in ``x``.

    Parameters
    ----------
    x : Tensor
        Shape (..., M, M), floating point.

    Returns
    -------
    Tensor
        The inverses, of ``x``'s shape.

    Raises
    ------
    LinAlgError
        If a matrix is singular.

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.inv(polygrad.tensor([[2.0, 0.0], [0.0, 4.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    return apply1(Inv(), _float_matrices(x, "inv", square=True))


def solve(x1: Tensor, x2: Tensor, /) -> Tensor:
    """Solution ``X`` of ``x1 @ X = x2`` for each square matrix of ``x1``.

    As the standard says, ``x2`` is a vector only when it is 1-D (shape (M,)); otherwise it is
    a stack of (M, K) matrices, its batch axes broadcast against ``x1``'s.

    Parameters
    ----------
    x1 : Tensor
        Shape (..., M, M), invertible, floating point.
    x2 : Tensor
        Shape (M,) or (..., M, K).

    Returns
    -------
    Tensor
        Shape ``x1.shape[:-2] + (M,)`` for a vector ``x2``, else the broadcast (..., M, K).

    Raises
    ------
    LinAlgError
        If a matrix of ``x1`` is singular.

    Examples
    --------
    >>> import polygrad
    >>> a = polygrad.tensor([[2.0, 0.0], [0.0, 4.0]])
    >>> polygrad.array_api.linalg.solve(a, polygrad.tensor([1.0, 1.0])).tolist()
    [0.5, 0.25]
    """
    a = _float_matrices(x1, "solve", square=True)
    b = _lift(x2, a)
    if not isinstance(b, Tensor) or b.ndim == 0:
        raise ShapeError(f"linalg.solve: x2 must be at least 1-D, got {b!r}")
    vector = b.ndim == 1
    if vector:
        b = expand_dims(b, axis=-1)
    if b.shape[-2] != a.shape[-1]:
        raise ShapeError(
            f"linalg.solve: incompatible shapes {tuple(a.shape)} and {tuple(x2.shape)}: "
            f"x2 needs {a.shape[-1]} rows"
        )
    batch = _broadcast_shape(tuple(a.shape[:-2]), tuple(b.shape[:-2]), "linalg.solve")
    a = broadcast_to(a, batch + tuple(a.shape[-2:]))
    b = broadcast_to(b, batch + tuple(b.shape[-2:]))
    a, b = _promote(a, b)
    out = apply2(Solve(), a, b)
    return squeeze(out, axis=-1) if vector else out


def eigh(x: Tensor, /) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of each symmetric matrix in ``x``.

    Only the lower triangle of ``x`` is read. Eigenvectors are defined up to sign, so only a
    loss that does not depend on their signs has a meaningful gradient (as in torch); with
    repeated eigenvalues the eigenvector gradient is infinite, as in torch.

    Parameters
    ----------
    x : Tensor
        Shape (..., M, M), floating point.

    Returns
    -------
    EighResult
        ``(eigenvalues, eigenvectors)`` of shapes (..., M) and (..., M, M), the eigenvectors
        in the columns.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.array_api import linalg
    >>> linalg.eigh(polygrad.tensor([[2.0, 0.0], [0.0, 1.0]])).eigenvalues.tolist()
    [1.0, 2.0]
    """
    op = Eigh()
    packed = apply1(op, _float_matrices(x, "eigh", square=True))
    return EighResult(*_outputs(packed, op))


def eigvalsh(x: Tensor, /) -> Tensor:
    """Eigenvalues (ascending) of each symmetric matrix in ``x``: ``eigh(x).eigenvalues``.

    Parameters
    ----------
    x : Tensor
        Shape (..., M, M), floating point.

    Returns
    -------
    Tensor
        Shape (..., M).

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.eigvalsh(polygrad.tensor([[2.0, 0.0], [0.0, 1.0]])).tolist()
    [1.0, 2.0]
    """
    return eigh(x).eigenvalues


def svd(x: Tensor, /, *, full_matrices: bool = True) -> SVDResult:
    """Singular value decomposition ``x = U diag(S) Vh`` of each matrix in ``x``.

    Singular vectors are defined up to sign: only losses that do not depend on their signs
    have a meaningful gradient (torch's convention), and the singular values must be distinct
    for the gradient through U or Vh. With ``full_matrices`` the columns of U (rows of Vh)
    beyond K = min(M, N) get no gradient, as in torch.

    Parameters
    ----------
    x : Tensor
        Shape (..., M, N), floating point.
    full_matrices : bool
        U of shape (..., M, M) and Vh (..., N, N) if True, else (..., M, K) and (..., K, N).

    Returns
    -------
    SVDResult
        ``(U, S, Vh)``; S of shape (..., K), descending.

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.svd(polygrad.tensor([[3.0, 0.0], [0.0, -4.0]])).S.tolist()
    [4.0, 3.0]
    """
    op = Svd(bool(full_matrices))
    packed = apply1(op, _float_matrices(x, "svd"))
    return SVDResult(*_outputs(packed, op))


def svdvals(x: Tensor, /) -> Tensor:
    """Singular values (descending) of each matrix in ``x``.

    Parameters
    ----------
    x : Tensor
        Shape (..., M, N), floating point.

    Returns
    -------
    Tensor
        Shape (..., min(M, N)).

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.svdvals(polygrad.tensor([[3.0, 0.0], [0.0, -4.0]])).tolist()
    [4.0, 3.0]
    """
    return svd(x, full_matrices=False).S


def qr(x: Tensor, /, *, mode: str = "reduced") -> QRResult:
    """QR decomposition ``x = Q R`` of each matrix in ``x`` (Householder, as LAPACK: the
    diagonal of R may be negative).

    Parameters
    ----------
    x : Tensor
        Shape (..., M, N), floating point, its first min(M, N) columns independent.
    mode : {'reduced', 'complete'}
        Q of shape (..., M, K) and R (..., K, N) with K = min(M, N), or Q (..., M, M) and
        R (..., M, N). As in torch, mode='complete' with M > N has no gradient.

    Returns
    -------
    QRResult
        ``(Q, R)``.

    Examples
    --------
    >>> import polygrad
    >>> q, r = polygrad.linalg.qr(polygrad.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    >>> q.shape, r.shape
    ((3, 2), (2, 2))
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"linalg.qr: mode must be 'reduced' or 'complete', got {mode!r}")
    op = Qr(mode)
    packed = apply1(op, _float_matrices(x, "qr"))
    return QRResult(*_outputs(packed, op))


def _rtol(x: Tensor, rtol: Any, s: Tensor) -> Any:
    """The cutoff ``rtol * largest singular value``, shaped (..., 1) to compare with ``s``."""
    if rtol is None:
        rtol = builtins.max(x.shape[-2:]) * x._xp.finfo(x._data.dtype).eps
    elif isinstance(rtol, Tensor):
        rtol = expand_dims(rtol.detach(), axis=-1)
    return multiply(_max(s.detach(), axis=-1, keepdims=True), rtol)


def pinv(x: Tensor, /, *, rtol: Any = None) -> Tensor:
    """Moore-Penrose pseudo-inverse of each matrix in ``x``, through its SVD.

    Singular values at most ``rtol`` times the largest count as zero. The gradient is that of
    the SVD composite (as torch's): defined where the rank does not change.

    Parameters
    ----------
    x : Tensor
        Shape (..., M, N), floating point.
    rtol : float or Tensor, optional
        Relative cutoff, a number or broadcastable to ``x.shape[:-2]``; default
        ``max(M, N) * eps``.

    Returns
    -------
    Tensor
        Shape (..., N, M).

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.pinv(polygrad.tensor([[2.0, 0.0], [0.0, 0.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.0]]
    """
    x = _float_matrices(x, "pinv")
    u, s, vh = svd(x, full_matrices=False)
    keep = greater(s, _rtol(x, rtol, s))
    s_inv = where(keep, divide(1.0, where(keep, s, 1.0)), 0.0)
    return matmul(matrix_transpose(vh) * expand_dims(s_inv, axis=-2), matrix_transpose(u))


def matrix_rank(x: Tensor, /, *, rtol: Any = None) -> Tensor:
    """Rank of each matrix in ``x``: the number of singular values above ``rtol`` times the
    largest. No gradient (an integer).

    Parameters
    ----------
    x : Tensor
        Shape (..., M, N), floating point.
    rtol : float or Tensor, optional
        Relative cutoff, default ``max(M, N) * eps``.

    Returns
    -------
    Tensor
        int64 ranks, shape (...).

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.matrix_rank(polygrad.tensor([[1.0, 2.0], [2.0, 4.0]])).item()
    1
    """
    x = _float_matrices(x, "matrix_rank")
    xp = x._xp
    s = Tensor._wrap(xp.linalg.svdvals(x._data), xp)
    keep = xp.astype(greater(s, _rtol(x, rtol, s))._data, xp.int64)
    return Tensor._wrap(xp.sum(keep, axis=-1), xp)
