"""The array API standard's linear algebra extension (2024.12), differentiable.

Every function takes and returns polygrad Tensors and records the graph when an input requires
grad; gradients are torch's (``torch.linalg``), to second order where they are defined. The
implementations live in ``polygrad.ops.linalg`` (products, norms, composites) and
``polygrad.ops.decomp`` (decompositions).

Where polygrad differs from torch or the standard, and why:

- ``det`` of a matrix with an exactly zero LU pivot (a zero row, say): the gradient is the
  exact cofactor matrix (from the SVD). torch's first-order rule perturbs the pivot and gives
  zeros on that row, which central differences contradict.
- ``solve``: ``x2`` is a vector only when 1-D, as the standard says; torch also reads an
  ``x2`` of shape ``x1.shape[:-1]`` as a batch of vectors.
- ``svd``/``eigh``: as in torch, gradients are defined for losses that do not depend on the
  signs of singular vectors/eigenvectors, and are infinite for repeated values unless only
  ``S``/``eigenvalues`` are used. ``qr(mode='complete')`` of a tall matrix has no gradient
  (torch's RuntimeError).
- ``pinv`` is differentiated through the SVD (as torch): its gradient is tested where the
  rank is full; at a deficient rank the SVD rule divides by zero singular values, as torch's.
- Complex inputs give values only, computed by the backend's own ``linalg`` (complex
  tensors cannot require grad; a real operand that requires grad beside a complex one raises
  TypeError). Integer inputs of the decompositions raise torch's RuntimeError. ``trace`` of
  integers sums in int64, as torch, of unsigned integers in uint64, as the standard.

Examples
--------
>>> import polygrad
>>> a = polygrad.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=polygrad.float64, requires_grad=True)
>>> polygrad.array_api.linalg.det(a).backward()
>>> [[round(v, 12) for v in row] for row in a.grad.tolist()]  # the cofactors
[[3.0, -1.0], [-1.0, 2.0]]
"""

import functools
from collections.abc import Callable
from typing import Any

from .._checks import LinAlgError
from .._tensor import Tensor, grad_mode
from ..ops.decomp import (
    EighResult,
    QRResult,
    SlogdetResult,
    SVDResult,
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    matrix_rank,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
)
from ..ops.linalg import (
    cross,
    diagonal,
    matrix_norm,
    matrix_power,
    outer,
    trace,
    vector_norm,
)
from ..ops.linalg import matmul as _matmul
from ..ops.linalg import tensordot as _tensordot
from ..ops.linalg import vecdot as _vecdot
from ..ops.shape import matrix_transpose as _matrix_transpose


def matmul(x1: Tensor, x2: Tensor, /) -> Tensor:
    """Matrix product (the main namespace's ``matmul``).

    Parameters
    ----------
    x1, x2 : Tensor
        At least 1-D; batch axes broadcast.

    Returns
    -------
    Tensor
        ``x1 @ x2``.

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.matmul(polygrad.eye(2), polygrad.ones(2)).tolist()
    [1.0, 1.0]
    """
    return _matmul(x1, x2)


def matrix_transpose(x: Tensor, /) -> Tensor:
    """Transpose of each matrix in ``x`` (the main namespace's ``matrix_transpose``).

    Parameters
    ----------
    x : Tensor
        At least 2-D.

    Returns
    -------
    Tensor
        ``x`` with its last two axes swapped.

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.matrix_transpose(polygrad.ones(2, 3)).shape
    (3, 2)
    """
    return _matrix_transpose(x)


_RESULTS = {"eigh": EighResult, "qr": QRResult, "slogdet": SlogdetResult, "svd": SVDResult}


def _complex_values(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, except that complex operands go to the backend's own ``linalg`` (values only:
    polygrad's differentiable implementations are real)."""
    name = fn.__name__

    @functools.wraps(fn)
    def dispatch(*args: Any, **kwargs: Any) -> Any:
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, Tensor)]
        if not any(t.dtype.kind == "complex" for t in tensors):
            return fn(*args, **kwargs)
        if grad_mode.enabled and any(t.requires_grad for t in tensors):
            raise TypeError(
                f"linalg.{name}: an operand requires grad beside a complex one, but complex "
                "results hold values only in polygrad; detach() it first"
            )
        xp = tensors[0]._xp
        def raw(a: Any) -> Any:
            return a._data if isinstance(a, Tensor) else a

        out = getattr(xp.linalg, name)(*map(raw, args), **{k: raw(v) for k, v in kwargs.items()})
        if name in _RESULTS:
            return _RESULTS[name](*(Tensor._wrap(o, xp) for o in out))
        return Tensor._wrap(out, xp)

    return dispatch


(
    cholesky, cross, det, diagonal, eigh, eigvalsh, inv, matrix_norm, matrix_power,
    matrix_rank, outer, pinv, qr, slogdet, solve, svd, svdvals, tensordot, trace, vecdot,
    vector_norm,
) = (
    _complex_values(f)
    for f in (
        cholesky, cross, det, diagonal, eigh, eigvalsh, inv, matrix_norm, matrix_power,
        matrix_rank, outer, pinv, qr, slogdet, solve, svd, svdvals, _tensordot, trace,
        _vecdot, vector_norm,
    )
)  # fmt: skip


__all__ = [
    "EighResult",
    "LinAlgError",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "trace",
    "vecdot",
    "vector_norm",
]
