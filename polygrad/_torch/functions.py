# ruff: noqa: E501, A001, A002, A004
"""The torch-flavoured functions of the top-level ``polygrad`` (also used as Tensor methods)."""

from __future__ import annotations

import builtins
from typing import Any

from .. import _dtypes
from .. import ops as _ops
from .._tensor import Tensor
from ..array_api import linalg as _la
from ..ops import scatter as _sc
from ..ops.einsum import einsum as _einsum
from . import _dim, return_types, torch_function


def _cast(x: Tensor, dtype: Any) -> Tensor:
    return x if dtype is None else _ops.astype(x, dtype, copy=False)


@torch_function
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A001, A002
    """torch.sum."""
    return _ops.sum(_cast(input, dtype), axis=_dim(dim), keepdims=keepdim)


@torch_function
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.mean."""
    return _ops.mean(_cast(input, dtype), axis=_dim(dim), keepdims=keepdim)


@torch_function
def prod(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.prod."""
    return _ops.prod(_cast(input, dtype), axis=dim, keepdims=keepdim)


@torch_function
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:  # noqa: A002
    """torch.amax (ties share the gradient)."""
    return _ops.max(input, axis=_dim(dim) if dim != () else None, keepdims=keepdim)


@torch_function
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:  # noqa: A002
    """torch.amin (ties share the gradient)."""
    return _ops.min(input, axis=_dim(dim) if dim != () else None, keepdims=keepdim)


@torch_function
def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:  # noqa: A002
    """torch.logsumexp."""
    return _ops.logsumexp(input, axis=_dim(dim), keepdims=keepdim)


def _correction(name: str, dim: Any, unbiased: Any, correction: Any) -> tuple[Any, float]:
    if isinstance(dim, bool):  # var(x, False): the old unbiased positional
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}: pass unbiased= or correction=, not both")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return _dim(dim), float(correction)


@torch_function
def var(
    input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,  # noqa: A002
    *, correction: float | None = None,
) -> Tensor:
    """torch.var: unbiased (correction=1) by default."""
    dim, c = _correction("var", dim, unbiased, correction)
    return _ops.var(input, axis=dim, correction=c, keepdims=keepdim)


@torch_function
def std(
    input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,  # noqa: A002
    *, correction: float | None = None,
) -> Tensor:
    """torch.std: unbiased (correction=1) by default."""
    dim, c = _correction("std", dim, unbiased, correction)
    return _ops.std(input, axis=dim, correction=c, keepdims=keepdim)


def _extreme(name: str, input: Tensor, dim: Any, keepdim: bool, other: Any) -> Any:  # noqa: A002
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return (_ops.maximum if name == "max" else _ops.minimum)(input, other)
    if dim is None:
        return (_ops.max if name == "max" else _ops.min)(input)
    idx = (_ops.argmax if name == "max" else _ops.argmin)(input, axis=dim, keepdims=True)
    values = _ops.take_along_axis(input, idx, axis=dim)  # the gradient goes to the index
    if not keepdim:
        values, idx = _ops.squeeze(values, dim), _ops.squeeze(idx, dim)
    return getattr(return_types, name)(values, idx)


@torch_function
def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:  # noqa: A001, A002
    """torch.max: the maximum; ``(values, indices)`` along ``dim``; ``max(a, b)`` elementwise."""
    return _extreme("max", input, dim, keepdim, other)


@torch_function
def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:  # noqa: A001, A002
    """torch.min: the minimum; ``(values, indices)`` along ``dim``; ``min(a, b)`` elementwise."""
    return _extreme("min", input, dim, keepdim, other)


@torch_function
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """torch.argmax."""
    return _ops.argmax(input, axis=dim, keepdims=keepdim)


@torch_function
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """torch.argmin."""
    return _ops.argmin(input, axis=dim, keepdims=keepdim)


@torch_function
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001, A002
    """torch.all."""
    return _ops.all(input, axis=_dim(dim), keepdims=keepdim)


@torch_function
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001, A002
    """torch.any."""
    return _ops.any(input, axis=_dim(dim), keepdims=keepdim)


@torch_function
def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.softmax."""
    return _ops.softmax(_cast(input, dtype), axis=dim)


@torch_function
def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.log_softmax."""
    return _ops.log_softmax(_cast(input, dtype), axis=dim)


@torch_function
def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.cumsum."""
    return _ops.cumulative_sum(_cast(input, dtype), axis=dim)


@torch_function
def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.cumprod."""
    return _ops.cumulative_prod(_cast(input, dtype), axis=dim)


@torch_function
def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:  # noqa: A002
    """torch.argsort (always stable here)."""
    return _ops.argsort(input, axis=dim, descending=descending, stable=True)


@torch_function
def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:  # noqa: A002
    """torch.sort: ``(values, indices)``."""
    idx = _ops.argsort(input, axis=dim, descending=descending, stable=True)
    return return_types.sort(_ops.take_along_axis(input, idx, axis=dim), idx)


@torch_function
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
    """torch.topk: the ``k`` largest (or smallest) along ``dim``, as ``(values, indices)``."""
    if not 0 <= k <= (input.shape[dim] if input.ndim else 1):
        raise RuntimeError(f"topk: k={k} is out of range for dimension {dim} of {input.shape}")
    idx = _ops.argsort(input, axis=dim, descending=largest, stable=True)
    idx = _narrow(idx, dim, 0, k)
    return return_types.topk(_ops.take_along_axis(input, idx, axis=dim), idx)


def _nan_count(input: Tensor, dim: int) -> Tensor:
    return _ops.sum(_ops.astype(_ops.isnan(input), _dtypes.int64), axis=dim, keepdims=True)


def _at_sorted(input: Tensor, dim: int, keepdim: bool, position: Any, kind: str) -> Any:
    """``(values, indices)`` of the element at ``position`` (an int, or int64 of the kept
    shape) in the stable ascending order along ``dim``, NaN last: the gradient flows to that
    index only, as torch's."""
    order = _ops.argsort(input, axis=dim, stable=True)
    if isinstance(position, int):
        idx = _narrow(order, dim, position, 1)
    else:
        idx = _ops.take_along_axis(order, position, axis=dim)
    values = _ops.take_along_axis(input, idx, axis=dim)
    if not keepdim:
        values, idx = _ops.squeeze(values, dim), _ops.squeeze(idx, dim)
    return getattr(return_types, kind)(values, idx)


def _spread_over_ties(input: Tensor, value: Tensor) -> Tensor:
    """``value`` (a 0-d Tensor equal to elements of ``input``) whose gradient is spread evenly
    over those elements, as torch's full reductions median/nanmedian do."""
    hit = _ops.equal(input, value.detach())
    ties = _ops.sum(_ops.astype(hit, input.dtype))
    return value.detach() + _ops.sum(_ops.where(hit, input - value.detach(), 0.0)) / ties


@torch_function
def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A002
    """torch.median: the lower median, NaN if the slice holds one; ``(values, indices)``
    along ``dim`` (the gradient goes to that index), else a 0-d value whose gradient is
    shared by the elements equal to it. Among equal values the index is the first in a stable
    sort (torch does not document its choice)."""
    if dim is None:
        flat = _ops.reshape(input, (-1,))
        value = median(flat, 0).values
        return value if bool(_ops.isnan(value)) else _spread_over_ties(flat, value)
    n, nans = input.shape[dim], _nan_count(input, dim)
    position = _ops.where(nans > 0, n - nans, (n - 1) // 2)  # the first NaN when there is one
    return _at_sorted(input, dim, keepdim, position, "median")


@torch_function
def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:  # noqa: A002
    """torch.nanmedian: the lower median of the non-NaN values (NaN for an all-NaN slice);
    as :func:`median` otherwise."""
    if dim is None:
        flat = _ops.reshape(input, (-1,))
        value = nanmedian(flat, 0).values
        return value if bool(_ops.isnan(value)) else _spread_over_ties(flat, value)
    left = input.shape[dim] - _nan_count(input, dim)
    position = _ops.where(left > 0, (left - 1) // 2, 0)
    return _at_sorted(input, dim, keepdim, position, "nanmedian")


@torch_function
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:  # noqa: A002
    """torch.kthvalue: the ``k``-th smallest (1-based) along ``dim``, ``(values, indices)``;
    among equal values the index is the first in a stable sort (torch's is undocumented)."""
    n = input.shape[dim] if input.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue: k ({k}) is out of range for dim {dim} of size {n}")
    if input.ndim == 0:
        out = kthvalue(_ops.reshape(input, (1,)), k, 0)
        return return_types.kthvalue(*(_ops.reshape(o, ()) for o in out))
    return _at_sorted(input, dim, keepdim, k - 1, "kthvalue")


@torch_function
def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> Any:  # noqa: A002
    """torch.mode: the most frequent value along ``dim`` (the smallest among equally frequent
    ones) and the last index holding it, as torch; the gradient goes to that index.

    Sort-based, O(n log n) time and O(n) memory per slice: in the stable sorted order each run
    of equal values starts and ends at a change of value; the longest run wins.
    """
    x = _ops.moveaxis(input, dim, -1) if input.ndim else _ops.reshape(input, (1,))
    order = _ops.argsort(x, axis=-1, stable=True)
    s = _ops.take_along_axis(x, order, axis=-1).detach()
    change = _ops.not_equal(s[..., 1:], s[..., :-1])
    edge = _ops.equal(order[..., :1], order[..., :1])  # True
    starts = _ops.concat([edge, change], axis=-1)
    ends = _ops.concat([change, edge], axis=-1)
    # the positions of the k-th start and the k-th end, in order (True sorts first)
    start_pos = _ops.argsort(_ops.astype(~starts, _dtypes.int8), axis=-1, stable=True)
    end_pos = _ops.argsort(_ops.astype(~ends, _dtypes.int8), axis=-1, stable=True)
    runs = _ops.sum(_ops.astype(starts, _dtypes.int64), axis=-1, keepdims=True)
    k = _ops.cumulative_sum(_ops.astype(_ops.equal(order, order), _dtypes.int64), axis=-1) - 1
    length = _ops.where(k < runs, end_pos - start_pos + 1, 0)
    best = _ops.argmax(length, axis=-1, keepdims=True)  # the first: the smallest value
    idx = _ops.take_along_axis(order, _ops.take_along_axis(end_pos, best, axis=-1), axis=-1)
    values = _ops.take_along_axis(x, idx, axis=-1)
    if input.ndim == 0:
        return return_types.mode(_ops.reshape(values, ()), _ops.reshape(idx, ()))
    values, idx = _ops.moveaxis(values, -1, dim), _ops.moveaxis(idx, -1, dim)
    if not keepdim:
        values, idx = _ops.squeeze(values, dim), _ops.squeeze(idx, dim)
    return return_types.mode(values, idx)


def _narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    dim = dim % builtins.max(x.ndim, 1)
    return x[(slice(None),) * dim + (slice(start, start + length),)]


@torch_function
def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:  # noqa: A002
    """torch.narrow: ``length`` elements from ``start`` along ``dim`` (a view)."""
    n = input.shape[dim]
    start = start + n if start < 0 else start
    if not (0 <= start and start + length <= n and length >= 0):
        raise IndexError(f"narrow: start {start} + length {length} exceeds size {n} of dim {dim}")
    return _narrow(input, dim, start, length)


@torch_function
def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:  # noqa: A002
    """torch.norm: the 2-norm ("fro") or p-norm over ``dim`` (all elements by default)."""
    x = _cast(input, dtype)
    if p == "nuc":
        return _la.matrix_norm(x, keepdims=keepdim, ord="nuc")
    return _la.vector_norm(x, axis=_dim(dim), keepdims=keepdim, ord=2 if p == "fro" else p)


@torch_function
def cat(tensors: Any, dim: int = 0) -> Tensor:
    """torch.cat."""
    return _ops.concat(list(tensors), axis=dim)


@torch_function
def stack(tensors: Any, dim: int = 0) -> Tensor:
    """torch.stack."""
    return _ops.stack(list(tensors), axis=dim)


@torch_function
def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """torch.split: chunks of one size (an int) or of the listed sizes."""
    return _ops.split(tensor, split_size_or_sections, axis=dim)


@torch_function
def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """torch.chunk: ``chunks`` pieces of size ``ceil(n / chunks)`` (fewer if that covers n)."""
    n = input.shape[dim]
    return _ops.split(input, builtins.max(1, -(-n // chunks)), axis=dim)


@torch_function
def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """torch.unbind."""
    return _ops.unstack(input, axis=dim)


@torch_function
def squeeze(input: Tensor, dim: Any = None) -> Tensor:  # noqa: A002
    """torch.squeeze: a size-1 ``dim`` is dropped; another size leaves the tensor unchanged."""
    if dim is None:
        return _ops.squeeze(input)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    dims = tuple(d for d in dims if input.shape[d] == 1) if input.ndim else ()
    return _ops.squeeze(input, dims) if dims else _ops.reshape(input, input.shape)


@torch_function
def unsqueeze(input: Tensor, dim: int) -> Tensor:  # noqa: A002
    """torch.unsqueeze."""
    return _ops.expand_dims(input, axis=dim)


@torch_function
def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:  # noqa: A002
    """torch.flatten."""
    return _ops.flatten(input, start_dim, end_dim)


@torch_function
def reshape(input: Tensor, shape: Any) -> Tensor:  # noqa: A002
    """torch.reshape."""
    return _ops.reshape(input, tuple(shape))


@torch_function
def permute(input: Tensor, dims: Any) -> Tensor:  # noqa: A002
    """torch.permute."""
    return _ops.permute_dims(input, tuple(dims))


@torch_function
def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:  # noqa: A002
    """torch.transpose."""
    return _ops.transpose(input, dim0, dim1)


@torch_function
def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:  # noqa: A002
    """torch.movedim."""
    return _ops.moveaxis(input, source, destination)


@torch_function
def t(input: Tensor) -> Tensor:  # noqa: A002
    """torch.t: transposes a 2-D tensor, returns 0-D and 1-D ones as they are."""
    if input.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got {input.shape}")
    return _ops.transpose(input, 0, 1) if input.ndim == 2 else input


@torch_function
def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:  # noqa: A002
    """torch.roll."""
    return _ops.roll(input, shifts, axis=_dim(dims))


@torch_function
def flip(input: Tensor, dims: Any) -> Tensor:  # noqa: A002
    """torch.flip."""
    return _ops.flip(input, axis=_dim(dims))


@torch_function
def tril(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """torch.tril."""
    return _ops.tril(input, k=diagonal)


@torch_function
def triu(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """torch.triu."""
    return _ops.triu(input, k=diagonal)


@torch_function
def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    """torch.diagonal: the diagonal of the (dim1, dim2) planes, as the last axis."""
    return _la.diagonal(_ops.moveaxis(input, (dim1, dim2), (-2, -1)), offset=offset)


@torch_function
def diag(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """torch.diag: the diagonal of a matrix, or the matrix with a vector on a diagonal."""
    if input.ndim == 2:
        return _la.diagonal(input, offset=diagonal)
    if input.ndim != 1:
        raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got {input.shape}")
    n = input.shape[0] + builtins.abs(diagonal)
    from .._creation import tensor_like

    rows = [i + builtins.max(0, -diagonal) for i in range(input.shape[0])]
    key = (tensor_like(rows, input, dtype=_dtypes.int64),
           tensor_like([r + diagonal for r in rows], input, dtype=_dtypes.int64))
    return _ops.add_at((n, n), key, input)


@torch_function
def trace(input: Tensor) -> Tensor:  # noqa: A002
    """torch.trace of a 2-D tensor."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, got shape {input.shape}")
    return _la.trace(input)


@torch_function
def outer(input: Tensor, vec2: Tensor) -> Tensor:  # noqa: A002
    """torch.outer."""
    return _la.outer(input, vec2)


def _dims(name: str, x: Tensor, n: int) -> None:
    if not isinstance(x, Tensor) or x.ndim != n:
        shape = getattr(x, "shape", type(x).__name__)
        raise RuntimeError(f"{name}: expected a {n}-D tensor, got {shape}")


@torch_function
def mm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """torch.mm of two matrices."""
    _dims("mm", input, 2), _dims("mm", mat2, 2)
    return _ops.matmul(input, mat2)


@torch_function
def bmm(input: Tensor, mat2: Tensor) -> Tensor:  # noqa: A002
    """torch.bmm of two batches of matrices."""
    _dims("bmm", input, 3), _dims("bmm", mat2, 3)
    return _ops.matmul(input, mat2)


@torch_function
def mv(input: Tensor, vec: Tensor) -> Tensor:  # noqa: A002
    """torch.mv."""
    _dims("mv", input, 2), _dims("mv", vec, 1)
    return _ops.matmul(input, vec)


@torch_function
def dot(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """torch.dot of two 1-D tensors."""
    _dims("dot", input, 1), _dims("dot", other, 1)
    return _ops.matmul(input, other)


def _scaled(beta: Any, input: Tensor, alpha: Any, product: Tensor) -> Tensor:  # noqa: A002
    p = product if alpha == 1 else _ops.multiply(product, alpha)
    if beta == 0:
        return p
    return _ops.add(input if beta == 1 else _ops.multiply(input, beta), p)


@torch_function
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:  # noqa: A002
    """torch.addmm: ``beta * input + alpha * mat1 @ mat2``."""
    return _scaled(beta, input, alpha, mm(mat1, mat2))


@torch_function
def baddbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1  # noqa: A002
) -> Tensor:
    """torch.baddbmm: ``beta * input + alpha * batch1 @ batch2``."""
    return _scaled(beta, input, alpha, bmm(batch1, batch2))


def einsum(equation: str, *operands: Any) -> Tensor:
    """torch.einsum."""
    return _einsum(equation, *operands)


def _compare(op: Any, name: str) -> Any:
    def fn(input: Tensor, other: Any) -> Tensor:  # noqa: A002
        return op(input, other)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.{name}: elementwise comparison (a bool tensor)."
    return torch_function(fn)


eq = _compare(_ops.equal, "eq")
ne = _compare(_ops.not_equal, "ne")
lt = _compare(_ops.less, "lt")
le = _compare(_ops.less_equal, "le")
gt = _compare(_ops.greater, "gt")
ge = _compare(_ops.greater_equal, "ge")


@torch_function
def isclose(
    input: Tensor, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False  # noqa: A002
) -> Tensor:
    """torch.isclose: ``|input - other| <= atol + rtol * |other|`` (no gradient)."""
    with _no_grad():
        close = _ops.less_equal(
            _ops.abs(_ops.subtract(input, other)), _ops.add(atol, _ops.multiply(rtol, _ops.abs(other)))
        )
        same = _ops.equal(input, other)
        close = _ops.logical_or(close, same)
        if equal_nan:
            both = _ops.logical_and(_ops.isnan(input), _ops.isnan(_lift_to(other, input)))
            close = _ops.logical_or(close, both)
    return close


@torch_function
def allclose(
    input: Tensor, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False  # noqa: A002
) -> bool:
    """torch.allclose: a Python bool."""
    return bool(_ops.all(isclose(input, other, rtol, atol, equal_nan)))


def _lift_to(other: Any, like: Tensor) -> Tensor:
    from .._creation import tensor_like

    return other if isinstance(other, Tensor) else tensor_like(other, like)


def _no_grad() -> Any:
    from .._grad_mode import no_grad

    return no_grad()


@torch_function
def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """torch.clamp: numbers or tensors as bounds; the gradient passes at the bounds."""
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        return _ops.clip(input, min, max)
    y = input
    if min is not None:
        y = _ops.where(_ops.less(y, min), min, y)
    if max is not None:
        y = _ops.where(_ops.greater(y, max), max, y)
    return y


clip = clamp


@torch_function
def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    """torch.clamp_min."""
    return clamp(input, min=min)


@torch_function
def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    """torch.clamp_max."""
    return clamp(input, max=max)


@torch_function
def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:  # noqa: A002
    """torch.lerp: ``input + weight * (end - input)``."""
    return _ops.add(input, _ops.multiply(weight, _ops.subtract(end, input)))


@torch_function
def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:  # noqa: A002
    """torch.where: elementwise choice, or ``where(cond)`` = ``nonzero(cond, as_tuple=True)``."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    return _ops.where(condition, input, other)


@torch_function
def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:  # noqa: A002
    """torch.nonzero: an (n, ndim) int64 tensor of indices, or one 1-D tensor per dim."""
    idx = _ops.nonzero(input if input.ndim else _ops.reshape(input, (1,)))
    if as_tuple:
        return idx
    return _ops.stack(list(idx), axis=1) if input.ndim else _ops.stack(list(idx), axis=1)[:, :0]


@torch_function
def repeat_interleave(input: Tensor, repeats: Any, dim: int | None = None) -> Tensor:  # noqa: A002
    """torch.repeat_interleave."""
    return _ops.repeat(input, repeats, axis=dim)


gather = torch_function(_sc.gather)
scatter = torch_function(_sc.scatter)
scatter_add = torch_function(_sc.scatter_add)
index_select = torch_function(_sc.index_select)
index_add = torch_function(_sc.index_add)
index_fill = torch_function(_sc.index_fill)
masked_fill = torch_function(_sc.masked_fill)
masked_select = torch_function(_sc.masked_select)


def numel(input: Tensor) -> int:  # noqa: A002
    """torch.numel."""
    return input.numel()


def is_tensor(obj: Any) -> bool:
    """torch.is_tensor."""
    return isinstance(obj, Tensor)
