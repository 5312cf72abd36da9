# ruff: noqa: A002, E501
"""torch.linalg: torch's names, argument names and return types over the ops of
``polygrad.array_api.linalg`` (which stays the array API standard's).

Left out, each raising ``NotImplementedError`` naming the torch function: the complex-valued
and pivoted factorizations (``eig``, ``eigvals``, ``lu``, ``lu_factor``, ``lu_solve``,
``ldl_factor``, ``householder_product``), ``matrix_exp``, the ``driver=`` of ``svd``/``lstsq``.
``lstsq`` returns torch's CPU default (driver 'gelsy'): the solution and the rank, with empty
``residuals`` and ``singular_values``.

Examples
--------
>>> import polygrad
>>> a = polygrad.tensor([[2.0, 0.0], [0.0, 3.0]])
>>> polygrad.linalg.slogdet(a).logabsdet.item() == polygrad.linalg.det(a).log().item()
True
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from .. import _unsupported
from ..array_api import linalg as _la
from ..ops import linalg as _ops_linalg
from . import _dim, return_types, torch_function


def _result(name: str, fields: str) -> type:
    t = namedtuple(name, fields.split())
    t.__module__ = "polygrad.return_types"
    setattr(return_types, name, t)
    return t


_Slogdet = _result("linalg_slogdet", "sign logabsdet")
_QR = _result("linalg_qr", "Q R")
_SVD = _result("linalg_svd", "U S Vh")
_Eigh = _result("linalg_eigh", "eigenvalues eigenvectors")
_Lstsq = _result("linalg_lstsq", "solution residuals rank singular_values")
_InvEx = _result("linalg_inv_ex", "inverse info")
_CholeskyEx = _result("linalg_cholesky_ex", "L info")


def _cast(x: Any, dtype: Any) -> Any:
    return x if dtype is None else x.to(dtype)


def _no_driver(op: str, driver: Any) -> None:
    if driver is not None:
        raise NotImplementedError(
            f"polygrad.linalg.{op}: driver={driver!r} is not supported (torch.linalg.{op}'s "
            "LAPACK driver choice); leave it None"
        )


def _matrix_dims(A: Any, dim: Any, op: str) -> Any:
    """``A`` with the two axes ``dim`` moved last (torch's ``dim=`` of the matrix functions)."""
    dim = tuple(dim)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.{op}: dim must be a 2-tuple, got {dim}")
    d0, d1 = (d % A.ndim if -A.ndim <= d < A.ndim else d for d in dim)
    if not (0 <= d0 < A.ndim and 0 <= d1 < A.ndim) or d0 == d1:
        raise IndexError(f"linalg.{op}: dims {dim} out of range or equal for a {A.ndim}-D input")
    return A.movedim((d0, d1), (-2, -1))


@torch_function
def vector_norm(x: Any, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    """torch.linalg.vector_norm: the ``ord``-norm over ``dim`` (all elements by default)."""
    return _la.vector_norm(_cast(x, dtype), axis=_dim(dim), keepdims=keepdim, ord=ord)


@torch_function
def matrix_norm(A: Any, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *, dtype: Any = None) -> Any:
    """torch.linalg.matrix_norm: 'fro', 'nuc', +-1, +-2, +-inf of the matrices over ``dim``."""
    A = _cast(A, dtype)
    if A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: the input must be at least 2-D, got shape {tuple(A.shape)}")
    out = _la.matrix_norm(_matrix_dims(A, dim, "matrix_norm"), keepdims=keepdim, ord=ord)
    if keepdim:  # the kept size-1 axes go back where ``dim`` was
        d0, d1 = (d % A.ndim for d in dim)
        out = out.movedim((-2, -1), (d0, d1))
    return out


@torch_function
def norm(A: Any, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
    """torch.linalg.norm: a vector norm for an int ``dim`` (or a 1-D input), a matrix norm for
    a 2-tuple ``dim`` (or a 2-D input); with ``ord`` and ``dim`` both None, the 2-norm of all
    elements."""
    dim = (dim,) if isinstance(dim, int) else _dim(dim)
    if dim is None and ord is not None:
        if A.ndim not in (1, 2):
            raise RuntimeError(
                f"linalg.norm: input must be 1-D or 2-D when dim is None and ord is not None, "
                f"got {A.ndim}-D"
            )
        dim = tuple(range(A.ndim))
    if dim is not None and len(dim) == 2:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.norm: ord={ord!r} needs a matrix (a 2-tuple dim or a 2-D input)")
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


def inv(A: Any) -> Any:
    """torch.linalg.inv."""
    return _la.inv(A)


def inv_ex(A: Any, *, check_errors: bool = False) -> Any:
    """torch.linalg.inv_ex: (inverse, info); polygrad raises on a singular matrix instead of
    reporting it in ``info`` (always zeros here)."""
    out = _la.inv(A)
    return _InvEx(out, _zeros_info(A))


def _zeros_info(A: Any) -> Any:
    from .. import zeros

    return zeros(tuple(A.shape[:-2]), dtype="int32", device=A.device)


def det(A: Any) -> Any:
    """torch.linalg.det."""
    return _la.det(A)


def slogdet(A: Any) -> Any:
    """torch.linalg.slogdet: (sign, logabsdet)."""
    return _Slogdet(*_la.slogdet(A))


def cholesky(A: Any, *, upper: bool = False) -> Any:
    """torch.linalg.cholesky: lower ``L`` with ``A = L L^T`` (or upper ``U = L^T``)."""
    return _la.cholesky(A, upper=upper)


def cholesky_ex(A: Any, *, upper: bool = False, check_errors: bool = False) -> Any:
    """torch.linalg.cholesky_ex: (L, info); polygrad raises where torch reports ``info > 0``."""
    return _CholeskyEx(_la.cholesky(A, upper=upper), _zeros_info(A))


def solve(A: Any, B: Any, *, left: bool = True) -> Any:
    """torch.linalg.solve: ``X`` with ``A X = B`` (``X A = B`` when ``left=False``); ``B`` is
    a (batch of) vector(s) when 1-D or of shape ``A.shape[:-1]``, as in torch."""
    if not left:
        return solve(A.mT, B.mT).mT
    if B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1])):
        return _la.solve(A, B.unsqueeze(-1)).squeeze(-1)
    return _la.solve(A, B)


def qr(A: Any, mode: str = "reduced") -> Any:
    """torch.linalg.qr: (Q, R); ``mode`` 'reduced', 'complete' or 'r' (Q empty, and R without
    a gradient: torch's backward refuses it)."""
    if mode == "r":
        q, r = _la.qr(A.detach(), mode="reduced")
        return _QR(q.new_zeros((0,)), r)
    return _QR(*_la.qr(A, mode=mode))


def svd(A: Any, full_matrices: bool = True, *, driver: Any = None) -> Any:
    """torch.linalg.svd: (U, S, Vh)."""
    _no_driver("svd", driver)
    return _SVD(*_la.svd(A, full_matrices=full_matrices))


def svdvals(A: Any, *, driver: Any = None) -> Any:
    """torch.linalg.svdvals: the singular values, descending."""
    _no_driver("svdvals", driver)
    return _la.svdvals(A)


def _uplo(A: Any, UPLO: str, op: str) -> Any:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.{op}: UPLO must be 'L' or 'U', got {UPLO!r}")
    # the backend reads the lower triangle; the upper one of A is the lower one of A^T
    return A if UPLO == "L" else A.mT


def eigh(A: Any, UPLO: str = "L") -> Any:
    """torch.linalg.eigh: (eigenvalues ascending, eigenvectors) from the ``UPLO`` triangle."""
    return _Eigh(*_la.eigh(_uplo(A, UPLO, "eigh")))


def eigvalsh(A: Any, UPLO: str = "L") -> Any:
    """torch.linalg.eigvalsh: the eigenvalues, ascending, from the ``UPLO`` triangle."""
    return _la.eigvalsh(_uplo(A, UPLO, "eigvalsh"))


def _tolerance(op: str, atol: Any, rtol: Any, hermitian: bool) -> Any:
    if atol is not None:
        raise NotImplementedError(
            f"polygrad.linalg.{op}: atol= is not supported (torch.linalg.{op}'s absolute "
            "tolerance); use rtol="
        )
    # hermitian only picks torch's eigenvalue path: the SVD gives the same values
    return rtol


def pinv(A: Any, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Any:
    """torch.linalg.pinv through the SVD; singular values at most ``rtol`` times the largest
    count as zero (default ``max(M, N) * eps``)."""
    return _la.pinv(A, rtol=_tolerance("pinv", atol, rtol, hermitian))


def matrix_rank(A: Any, *, atol: Any = None, rtol: Any = None, hermitian: bool = False) -> Any:
    """torch.linalg.matrix_rank (int64)."""
    return _la.matrix_rank(A, rtol=_tolerance("matrix_rank", atol, rtol, hermitian))


def lstsq(A: Any, B: Any, rcond: Any = None, *, driver: Any = None) -> Any:
    """torch.linalg.lstsq as on CPU (driver 'gelsy'): the minimum-norm least-squares solution
    ``pinv(A) @ B`` (rank cut at ``rcond`` times the largest singular value), the rank, and
    empty ``residuals`` and ``singular_values``."""
    _no_driver("lstsq", driver)
    rtol = rcond if rcond is not None and rcond >= 0 else None
    vector = B.ndim == A.ndim - 1
    solution = _la.pinv(A, rtol=rtol) @ (B.unsqueeze(-1) if vector else B)
    empty = A.new_zeros((0,))
    rank = _la.matrix_rank(A.detach(), rtol=rtol)
    return _Lstsq(solution.squeeze(-1) if vector else solution, empty, rank, empty)


def matrix_power(A: Any, n: int) -> Any:
    """torch.linalg.matrix_power."""
    return _la.matrix_power(A, n)


def cross(input: Any, other: Any, *, dim: int = -1) -> Any:
    """torch.linalg.cross (``dim`` counts in the broadcast shape, from either end)."""
    ndim = max(input.ndim, other.ndim)
    return _la.cross(input, other, axis=dim - ndim if dim >= 0 else dim)


def vecdot(x: Any, y: Any, *, dim: int = -1) -> Any:
    """torch.linalg.vecdot."""
    ndim = max(x.ndim, y.ndim)
    return _la.vecdot(x, y, axis=dim - ndim if dim >= 0 else dim)


def matmul(input: Any, other: Any) -> Any:
    """torch.linalg.matmul."""
    return _la.matmul(input, other)


def diagonal(A: Any, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Any:
    """torch.linalg.diagonal."""
    return _la.diagonal(_matrix_dims(A, (dim1, dim2), "diagonal"), offset=offset)


def multi_dot(tensors: Any) -> Any:
    """torch.linalg.multi_dot: the product of the matrices, left to right (the first may be
    1-D as a row, the last 1-D as a column)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"linalg.multi_dot: expected at least 2 tensors, got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = _ops_linalg.matmul(out, t)
    return out


def vander(x: Any, *, N: int | None = None) -> Any:
    """torch.linalg.vander: columns ``x**0, x**1, ..., x**(N-1)``."""
    n = x.shape[-1] if N is None else N
    from .. import stack

    return stack([x**k for k in range(n)], dim=-1)


LinAlgError = _la.LinAlgError
_MISSING = {
    "eig": "polygrad's decompositions are real; complex eigenvalues are not supported",
    "eigvals": "polygrad's decompositions are real; complex eigenvalues are not supported",
    "lu": "use solve/det/inv",
    "lu_factor": "use solve/det/inv",
    "lu_factor_ex": "use solve/det/inv",
    "lu_solve": "use solve",
    "ldl_factor": "use cholesky or solve",
    "ldl_factor_ex": "use cholesky or solve",
    "ldl_solve": "use solve",
    "householder_product": "use qr",
    "matrix_exp": "not implemented",
    "solve_ex": "use solve (it raises on a singular matrix)",
    "solve_triangular": "use solve",
    "tensorinv": "reshape and use inv",
    "tensorsolve": "reshape and use solve",
    "cond": "use svdvals",
}
for _name, _hint in _MISSING.items():
    globals()[_name] = _unsupported.function(f"torch.linalg.{_name}", _hint)

def __getattr__(name: str) -> object:
    raise _unsupported.missing_attribute("torch.linalg", name)
