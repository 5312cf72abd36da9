"""Matrix products and the linear algebra built from differentiable ops: ``matmul`` (an op and
its rule), ``vector_norm`` (an op: torch's rule at zero and at ties), and the composites
``outer``, ``vecdot``, ``tensordot``, ``diagonal``, ``trace``, ``cross``, ``matrix_norm``,
``matrix_power``, whose first and second derivatives come from the ops they are made of.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

from .. import _dtypes
from .._checks import LinAlgDtypeError, ShapeError, normalize_axes, normalize_axis
from .._creation import tensor_like
from .._tensor import Function, Tensor, apply1, apply2
from ._common import _lift, _promote, _tensor_arg, astype
from .elementwise import abs as _abs
from .elementwise import multiply, subtract
from .indexing import getitem, take
from .reduction import max as _max
from .reduction import min as _min
from .reduction import sum as _sum
from .shape import broadcast_to, expand_dims, permute_dims, reshape, stack


class Matmul(Function):
    fresh = True
    cross = True

    def forward(self, xp, a, b):
        return xp.matmul(a, b)

    def backward(self, xp, g, a, b):
        # 1-D operands are matrices with a unit axis that the forward dropped: put it back
        a_vec, b_vec = a.ndim == 1, b.ndim == 1
        if b_vec:
            g, b = xp.expand_dims(g, axis=-1), xp.expand_dims(b, axis=-1)
        if a_vec:
            g, a = xp.expand_dims(g, axis=-2), xp.expand_dims(a, axis=0)
        ga = gb = None
        if self.next[0] is not None:
            ga = xp.matmul(g, xp.matrix_transpose(b))
            if a_vec:
                ga = xp.squeeze(ga, axis=-2)
        if self.next[1] is not None:
            gb = xp.matmul(xp.matrix_transpose(a), g)
            if b_vec:
                gb = xp.squeeze(gb, axis=-1)
        return ga, gb


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: 1-D operands, 2-D, and batched with broadcasting."""
    a, b = _tensor_arg(a), _lift(b, a if isinstance(a, Tensor) else None)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul does not take 0-d tensors; use * to scale")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise ValueError(f"matmul shape mismatch: {a.shape} @ {b.shape} ({ka} != {kb})")
    a, b = _promote(a, b)
    return apply2(Matmul(), a, b)



def _float_matrices(x: Any, op: str, square: bool = False, ndim: int = 2) -> Tensor:
    """``x`` as a Tensor of floats with at least ``ndim`` axes (square matrices if asked)."""
    x = _tensor_arg(x)
    if x.ndim < ndim or (square and x.shape[-1] != x.shape[-2]):
        what = "batches of square matrices" if square else f"at least {ndim}-D"
        raise ShapeError(f"linalg.{op}: the input must be {what}, got shape {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise LinAlgDtypeError(
            f"linalg.{op}: expected a floating point tensor as input, got {x.dtype.name}"
        )
    return x


def _broadcast_shape(a: tuple, b: tuple, op: str) -> tuple[int, ...]:
    out = []
    for i in range(1, builtins.max(len(a), len(b)) + 1):
        m = a[-i] if i <= len(a) else 1
        n = b[-i] if i <= len(b) else 1
        if m != n and 1 not in (m, n):
            raise ShapeError(f"{op}: shapes {a} and {b} do not broadcast")
        out.append(n if m == 1 else m)
    return tuple(reversed(out))


def outer(x1: Tensor, x2: Tensor, /) -> Tensor:
    """Outer product of two vectors.

    Parameters
    ----------
    x1, x2 : Tensor
        One-dimensional tensors of sizes N and M.

    Returns
    -------
    Tensor
        Shape (N, M): ``out[i, j] = x1[i] * x2[j]``.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.array_api import linalg
    >>> linalg.outer(polygrad.tensor([1.0, 2.0]), polygrad.tensor([3.0, 4.0])).shape
    (2, 2)
    """
    x1, x2 = _tensor_arg(x1), _tensor_arg(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"outer: needs two 1-D tensors, got shapes {x1.shape} and {x2.shape}")
    return multiply(expand_dims(x1, axis=1), expand_dims(x2, axis=0))


def _compute_axis(axis: Any, x1: Tensor, x2: Tensor, op: str) -> int:
    """A negative axis valid for both operands (the standard's [-N, -1], N = min ndim)."""
    n = builtins.min(x1.ndim, x2.ndim)
    if n == 0:
        raise ValueError(f"{op}: needs tensors of at least one dimension, got 0-d")
    a = normalize_axis(axis, n, op) - n
    if x1.shape[a] != x2.shape[a]:
        raise ShapeError(
            f"{op}: x1 and x2 must have the same size along axis {axis}, got shapes "
            f"{x1.shape} and {x2.shape}"
        )
    return a


def vecdot(x1: Tensor, x2: Tensor, /, *, axis: int = -1) -> Tensor:
    """Dot product of vectors along ``axis``, broadcasting the other axes.

    Parameters
    ----------
    x1, x2 : Tensor
        Tensors of the same size along ``axis`` and broadcastable elsewhere.
    axis : int
        The axis of the vectors, counted from the end (``[-N, -1]`` with N the smaller ndim).

    Returns
    -------
    Tensor
        ``_sum(x1 * x2, axis=axis)`` over the broadcast shape.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.array_api import linalg
    >>> linalg.vecdot(polygrad.tensor([1.0, 2.0]), polygrad.tensor([3.0, 4.0])).item()
    11.0
    """
    x1, x2 = _tensor_arg(x1), _lift(x2, x1)
    a = _compute_axis(axis, x1, x2, "vecdot")
    products = multiply(x1, x2)
    out = _sum(products, axis=a)
    # integers: the standard's dtype (the operands' promotion), not the sum's int64
    return out if out.dtype is products.dtype else astype(out, products.dtype)


def tensordot(x1: Tensor, x2: Tensor, /, *, axes: Any = 2) -> Tensor:
    """Sum of products over the given axes (NumPy's ``tensordot``), as one matrix product.

    Parameters
    ----------
    x1, x2 : Tensor
        The operands.
    axes : int or (sequence of int, sequence of int)
        An int N contracts the last N axes of ``x1`` with the first N of ``x2``; a pair of
        sequences lists the axes of each to contract, in order.

    Returns
    -------
    Tensor
        The free axes of ``x1`` followed by those of ``x2``.

    Examples
    --------
    >>> import polygrad
    >>> a, b = polygrad.ones(2, 3, 4), polygrad.ones(3, 4, 5)
    >>> polygrad.array_api.linalg.tensordot(a, b, axes=2).shape
    (2, 5)
    """
    x1, x2 = _tensor_arg(x1), _lift(x2, x1)
    if isinstance(axes, int):
        if axes < 0 or axes > builtins.min(x1.ndim, x2.ndim):
            raise ValueError(
                f"tensordot: axes={axes} must be in [0, min ndim] for shapes {x1.shape} and "
                f"{x2.shape}"
            )
        ax1, ax2 = tuple(range(x1.ndim - axes, x1.ndim)), tuple(range(axes))
    else:
        ax1, ax2 = (tuple(normalize_axis(a, x.ndim, "tensordot") for a in seq)
                    for x, seq in zip((x1, x2), axes))
        if len(ax1) != len(ax2) or len(set(ax1)) != len(ax1) or len(set(ax2)) != len(ax2):
            raise ValueError(f"tensordot: axes {axes} must list distinct axes, as many for each")
    for a, b in zip(ax1, ax2):
        if x1.shape[a] != x2.shape[b]:
            raise ShapeError(
                f"tensordot: contracted sizes differ: axis {a} of {x1.shape} and axis {b} of "
                f"{x2.shape}"
            )
    free1 = [a for a in range(x1.ndim) if a not in ax1]
    free2 = [b for b in range(x2.ndim) if b not in ax2]
    k = math.prod(x1.shape[a] for a in ax1)
    left = reshape(permute_dims(x1, free1 + list(ax1)), (math.prod(x1.shape[a] for a in free1), k))
    right = reshape(permute_dims(x2, list(ax2) + free2), (k, math.prod(x2.shape[b] for b in free2)))
    out_shape = tuple(x1.shape[a] for a in free1) + tuple(x2.shape[b] for b in free2)
    return reshape(matmul(left, right), out_shape)


def diagonal(x: Tensor, /, *, offset: int = 0) -> Tensor:
    """The diagonal ``offset`` of each matrix in ``x`` (above the main one for offset > 0).

    Parameters
    ----------
    x : Tensor
        Shape (..., M, N).
    offset : int
        Which diagonal: 0 the main one, positive above it, negative below.

    Returns
    -------
    Tensor
        Shape (..., K), K the length of that diagonal (0 when it lies outside the matrix).

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.diagonal(polygrad.eye(3), offset=1).tolist()
    [0.0, 0.0]
    """
    x = _tensor_arg(x)
    if x.ndim < 2:
        raise ShapeError(f"linalg.diagonal: the input must be at least 2-D, got {x.shape}")
    m, n = x.shape[-2:]
    rows = range(builtins.max(0, -offset), builtins.min(m, n - offset))
    flat = [i * n + i + offset for i in rows]
    index = tensor_like(flat, x, dtype=_dtypes.int64)
    return take(reshape(x, tuple(x.shape[:-2]) + (m * n,)), index, axis=-1)


def trace(x: Tensor, /, *, offset: int = 0, dtype: Any = None) -> Tensor:
    """Sum of the diagonal ``offset`` of each matrix in ``x``.

    Parameters
    ----------
    x : Tensor
        Shape (..., M, N).
    offset : int
        Which diagonal (see :func:`diagonal`).
    dtype : dtype, optional
        The result's dtype; by default ``x``'s, with integers summed as int64 (as torch) and
        unsigned ones as uint64 (the standard's rule) where the backend has it.

    Returns
    -------
    Tensor
        Shape (...).

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.trace(polygrad.eye(3)).item()
    3.0
    """
    d = diagonal(x, offset=offset)
    if dtype is not None:
        d = astype(d, dtype)
    elif d.dtype.kind in ("bool", "int", "uint"):
        # the standard's: unsigned stays unsigned, where the backend has uint64 (not torch)
        unsigned = d.dtype.kind == "uint" and _dtypes.uint64 in d._xp.backend.dtypes
        wide = _dtypes.uint64 if unsigned else _dtypes.int64
        d = d if d.dtype is wide else astype(d, wide)
    return _sum(d, axis=-1)


def cross(x1: Tensor, x2: Tensor, /, *, axis: int = -1) -> Tensor:
    """Cross product of 3-element vectors along ``axis``, broadcasting the other axes.

    Parameters
    ----------
    x1, x2 : Tensor
        Size 3 along ``axis``, broadcastable elsewhere.
    axis : int
        The axis of the vectors, a negative integer in ``[-N, -1]`` (N the smaller ndim).

    Returns
    -------
    Tensor
        The cross products, of the broadcast shape.

    Examples
    --------
    >>> import polygrad
    >>> e1, e2 = polygrad.tensor([1.0, 0.0, 0.0]), polygrad.tensor([0.0, 1.0, 0.0])
    >>> polygrad.array_api.linalg.cross(e1, e2).tolist()
    [0.0, 0.0, 1.0]
    """
    x1, x2 = _tensor_arg(x1), _lift(x2, x1)
    if isinstance(axis, int) and axis >= 0:
        raise ValueError(f"cross: axis must be a negative integer (the standard's), got {axis}")
    a = _compute_axis(axis, x1, x2, "cross")
    if x1.shape[a] != 3:
        raise ShapeError(f"cross: the vectors must have 3 elements along axis {axis}: {x1.shape}")
    shape = _broadcast_shape(tuple(x1.shape), tuple(x2.shape), "cross")
    x1, x2 = _promote(broadcast_to(x1, shape), broadcast_to(x2, shape))
    rest = (slice(None),) * (-a - 1)
    u = [getitem(x1, (Ellipsis, i) + rest) for i in range(3)]
    v = [getitem(x2, (Ellipsis, i) + rest) for i in range(3)]
    parts = [
        subtract(multiply(u[(i + 1) % 3], v[(i + 2) % 3]), multiply(u[(i + 2) % 3], v[(i + 1) % 3]))
        for i in range(3)
    ]
    return stack(parts, axis=a)


# NOTE: torch's vector_norm rule: the gradient is 0 where the norm is 0 (p >= 1) or where an
# element is 0 (p < 1); for p = +-inf it is split evenly between the elements attaining the norm.
class VectorNorm(Function):
    saves = "both"

    def __init__(self, axes: tuple[int, ...], keepdims: bool, ord: float) -> None:  # noqa: A002
        self.axes, self.keepdims, self.ord = axes, keepdims, ord

    def forward(self, xp, x):
        return xp.linalg.vector_norm(x, axis=self.axes, keepdims=self.keepdims, ord=self.ord)

    def backward(self, xp, g, x, norm):
        if not self.keepdims:
            kept = tuple(1 if i in self.axes else n for i, n in enumerate(x.shape))
            g, norm = xp.reshape(g, kept), xp.reshape(norm, kept)
        p = self.ord
        if p == 0:
            return (xp.zeros_like(x),)
        if p == 1:
            return (xp.sign(x) * g,)
        if p in (math.inf, -math.inf):
            ax = xp.abs(x)
            hit = xp.astype(xp.logical_or(ax == norm, xp.isnan(ax)), x.dtype)
            return (xp.sign(x) * hit * (g / xp.sum(hit, axis=self.axes, keepdims=True)),)
        zero = norm == 0
        safe = xp.where(zero, xp.ones_like(norm), norm)
        scale = g * xp.astype(xp.logical_not(zero), g.dtype)
        if p == 2:
            return (x * (scale / safe),)
        ax = xp.abs(x)
        x_zero = ax == 0
        ax = xp.where(x_zero, xp.ones_like(ax), ax)
        if p < 2:
            grad = xp.sign(x) * ax ** (p - 1) * scale * safe ** (1 - p)
        else:
            grad = x * ax ** (p - 2) * scale / safe ** (p - 1)
        return (grad * xp.astype(xp.logical_not(x_zero), x.dtype),)


def vector_norm(
    x: Tensor, /, *, axis: Any = None, keepdims: bool = False, ord: float = 2  # noqa: A002
) -> Tensor:
    """Vector p-norm of ``x`` over ``axis`` (all axes by default, as one flat vector).

    Parameters
    ----------
    x : Tensor
        A floating-point tensor.
    axis : int, tuple of int or None
        The axes to reduce.
    keepdims : bool
        Keep the reduced axes as size 1.
    ord : int or float
        ``p``: any real, ``inf`` (max of ``|x|``), ``-inf`` (min), 0 (count of nonzeros).

    Returns
    -------
    Tensor
        The norms.

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.vector_norm(polygrad.tensor([3.0, 4.0])).item()
    5.0
    """
    x = _float_matrices(x, "vector_norm", ndim=0)
    axes = normalize_axes(axis, x.ndim, "vector_norm")
    return apply1(VectorNorm(axes, keepdims, float(ord)), x)


def matrix_norm(x: Tensor, /, *, keepdims: bool = False, ord: Any = "fro") -> Tensor:  # noqa: A002
    """Matrix norm of each matrix in ``x``.

    Parameters
    ----------
    x : Tensor
        Shape (..., M, N), floating point.
    keepdims : bool
        Keep the two matrix axes as size 1.
    ord : {'fro', 'nuc', 1, -1, 2, -2, inf, -inf}
        Frobenius, nuclear (sum of singular values), max/min absolute column sum (1/-1),
        largest/smallest singular value (2/-2), max/min absolute row sum (inf/-inf).

    Returns
    -------
    Tensor
        Shape (...), or (..., 1, 1) with ``keepdims``.

    Examples
    --------
    >>> import polygrad
    >>> polygrad.array_api.linalg.matrix_norm(polygrad.tensor([[3.0, 0.0], [0.0, 4.0]])).item()
    5.0
    """
    x = _float_matrices(x, "matrix_norm")
    if ord == "fro":
        return vector_norm(x, axis=(-2, -1), keepdims=keepdims)
    if ord in ("nuc", 2, -2):
        from .decomp import svdvals

        s = svdvals(x)
        out = _sum(s, axis=-1) if ord == "nuc" else (_max if ord == 2 else _min)(s, axis=-1)
    elif ord in (1, -1, math.inf, -math.inf):
        sums = _sum(_abs(x), axis=-2 if ord in (1, -1) else -1)
        out = (_max if ord > 0 else _min)(sums, axis=-1)
    else:
        raise ValueError(
            f"matrix_norm: unsupported ord {ord!r} (use 'fro', 'nuc', +-1, +-2, +-inf)"
        )
    return expand_dims(expand_dims(out, axis=-1), axis=-1) if keepdims else out


class _Identities(Function):
    """``x ** 0``: identity matrices of ``x``'s shape, with a zero gradient (as torch)."""

    saves = ""

    def forward(self, xp, x):
        eye = xp.eye(x.shape[-1], dtype=x.dtype, device=x.device)
        return xp.broadcast_to(eye, x.shape) + xp.zeros_like(x)

    def backward(self, xp, g):
        return (xp.zeros_like(g),)


def matrix_power(x: Tensor, n: int, /) -> Tensor:
    """``x`` raised to the integer power ``n`` by repeated squaring (``n < 0``: of ``inv(x)``).

    Parameters
    ----------
    x : Tensor
        Shape (..., M, M), floating point.
    n : int
        The exponent; 0 gives identity matrices.

    Returns
    -------
    Tensor
        Shape (..., M, M).

    Examples
    --------
    >>> import polygrad
    >>> a = polygrad.tensor([[1.0, 1.0], [0.0, 1.0]])
    >>> polygrad.array_api.linalg.matrix_power(a, 3).tolist()
    [[1.0, 3.0], [0.0, 1.0]]
    """
    x = _float_matrices(x, "matrix_power", square=True)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"matrix_power: n must be an int, got {type(n).__name__}")
    if n == 0:
        return apply1(_Identities(), x)
    if n < 0:
        from .decomp import inv

        x, n = inv(x), -n
    result = None
    while n:
        if n & 1:
            result = x if result is None else matmul(result, x)
        n >>= 1
        if n:
            x = matmul(x, x)
    return result
