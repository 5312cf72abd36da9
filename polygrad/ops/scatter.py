"""torch's gather / scatter / index family and masked ops, composed from ``take_along_axis``,
``add_at``, ``where`` and indexing (so each gradient is theirs, to any order)."""

from __future__ import annotations

from typing import Any

from .. import _dtypes
from .._checks import normalize_axis
from .._tensor import Tensor
from ._common import _lift, _tensor_arg, astype
from .arrange import take_along_axis
from .elementwise import add, multiply, where
from .indexing import add_at, getitem, take
from .shape import broadcast_to, reshape


def _index_arg(x: Tensor, index: Any, op: str, ndim: int | None = None) -> Tensor:
    """``index`` as an int64 Tensor on ``x``'s backend, with ``ndim`` dimensions if given."""
    idx = _lift(index, x)
    if not isinstance(idx, Tensor) or idx.dtype is not _dtypes.int64:
        got = idx.dtype.name if isinstance(idx, Tensor) else type(idx).__name__
        raise RuntimeError(f"{op}(): expected an int64 index tensor, got {got}")
    if ndim is not None and idx.ndim != ndim and not (idx.ndim <= 1 and ndim <= 1):
        raise RuntimeError(
            f"{op}(): index of shape {idx.shape} must have as many dimensions as the input "
            f"of shape {x.shape}"
        )
    return idx


def _fits(index: Tensor, other: Tensor, dim: int, op: str, what: str) -> tuple:
    """The slice of ``other`` matching ``index``'s shape (torch lets ``other`` be larger)."""
    key = []
    for d, (i, n) in enumerate(zip(index.shape, other.shape)):
        if i > n and (d != dim or what != "input"):
            raise RuntimeError(
                f"{op}(): index of shape {index.shape} is larger than the {what} of shape "
                f"{other.shape} in dimension {d}"
            )
        key.append(slice(0, i))
    return tuple(key)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:  # noqa: A002
    """``out[i][j] = input[index[i][j]][j]`` for ``dim=0`` (and so on), as torch's ``gather``."""
    x = _tensor_arg(input)
    dim = normalize_axis(dim, x.ndim, "gather")
    idx = _index_arg(x, index, "gather", x.ndim)
    if x.ndim == 0:
        return take_along_axis(reshape(x, (1,)), reshape(idx, (1,)), axis=0).reshape(())
    key = list(_fits(idx, x, dim, "gather", "input"))
    key[dim] = slice(None)
    return take_along_axis(getitem(x, tuple(key)), idx, axis=dim)


def _coords(x: Tensor, dim: int, index: Tensor) -> tuple:
    """The full integer key that ``index`` along ``dim`` names, one array per axis."""
    xp = x._xp
    key = []
    for d in range(index.ndim):
        if d == dim:
            key.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = index.shape[d]
            r = xp.reshape(xp.arange(index.shape[d], dtype=xp.int64, device=x.device), tuple(shape))
            key.append(Tensor._wrap(xp.broadcast_to(r, index.shape), xp))
    return tuple(key)


def _scatter_source(x: Tensor, dim: int, index: Tensor, src: Any, op: str) -> Any:
    if isinstance(src, Tensor):
        return astype(getitem(src, _fits(index, src, dim, op, "source")), x.dtype, copy=False)
    return src


def scatter(
    input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,  # noqa: A002
    reduce: str | None = None,
) -> Tensor:
    """``input`` with ``src`` (or ``value``) written at the positions ``index`` names along
    ``dim``: ``out[index[i][j]][j] = src[i][j]`` for ``dim=0``, as torch's ``scatter``.

    Raises
    ------
    ValueError
        If ``index`` names one position twice with a tensor ``src`` (torch leaves which value
        wins undefined; polygrad refuses).
    """
    from .._inplace import _setitem_result

    if reduce is not None:
        raise NotImplementedError(
            "polygrad does not implement torch.scatter(reduce=...); use scatter_add or "
            "scatter_reduce-free code"
        )
    src = value if src is None else src
    x = _tensor_arg(input)
    dim = normalize_axis(dim, x.ndim, "scatter")
    idx = _index_arg(x, index, "scatter", x.ndim)
    key = _coords(x, dim, idx)
    if not isinstance(src, Tensor):  # one value: repeated positions are harmless
        hit = add_at(x.shape, key, Tensor._wrap(x._xp.ones(idx.shape, device=x.device), x._xp))
        return _cast(where(hit > 0, src, x), x)
    return _setitem_result(x, key, _scatter_source(x, dim, idx, src, "scatter"))


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:  # noqa: A002
    """``input`` plus ``src`` added at the positions ``index`` names along ``dim``; repeated
    positions accumulate (torch's ``scatter_add``)."""
    x = _tensor_arg(input)
    dim = normalize_axis(dim, x.ndim, "scatter_add")
    idx = _index_arg(x, index, "scatter_add", x.ndim)
    values = _scatter_source(x, dim, idx, _tensor_arg(src), "scatter_add")
    return add(x, add_at(x.shape, _coords(x, dim, idx), values))


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:  # noqa: A002
    """The slices of ``input`` at the 1-D ``index`` along ``dim`` (torch's ``index_select``)."""
    x = _tensor_arg(input)
    idx = _index_arg(x, index, "index_select")
    if idx.ndim > 1:
        raise IndexError(f"index_select(): index must be 0-D or 1-D, got shape {idx.shape}")
    return take(x, reshape(idx, (-1,)), axis=dim)


def _along(x: Tensor, dim: int, index: Tensor, op: str) -> tuple[int, Tensor]:
    """``dim`` normalized and the 1-D ``index`` spread over x's shape (``index`` elements
    along ``dim``), as ``scatter`` takes it."""
    dim = normalize_axis(dim, x.ndim, op)
    idx = _index_arg(x, index, op)
    if idx.ndim > 1:
        raise IndexError(f"{op}(): index must be 0-D or 1-D, got shape {idx.shape}")
    shape = [1] * x.ndim
    shape[dim] = idx.numel()
    full = list(x.shape)
    full[dim] = idx.numel()
    return dim, broadcast_to(reshape(idx, tuple(shape)), tuple(full))


def index_add(
    input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1  # noqa: A002
) -> Tensor:
    """``input`` with ``alpha * source`` added at the slices ``index`` names along ``dim``;
    repeated indices accumulate (torch's ``index_add``)."""
    x = _tensor_arg(input)
    dim, idx = _along(x, dim, index, "index_add")
    source = _tensor_arg(source)
    if source.shape != idx.shape:
        raise RuntimeError(
            f"index_add(): source of shape {source.shape} must have shape {idx.shape}"
        )
    values = source if alpha == 1 else multiply(source, alpha)
    return scatter_add(x, dim, idx, values)


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:  # noqa: A002
    """``input`` with the slices ``index`` names along ``dim`` set to ``value``."""
    x = _tensor_arg(input)
    dim, idx = _along(x, dim, index, "index_fill")
    return scatter(x, dim, idx, value=value)


def _cast(r: Tensor, x: Tensor) -> Tensor:
    return r if r.dtype is x.dtype else astype(r, x.dtype)


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:  # noqa: A002
    """``input`` with ``value`` where the bool ``mask`` (broadcast to it) is True."""
    x = _tensor_arg(input)
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(
            f"masked_fill only supports a 0-dimensional value tensor, got shape {value.shape}"
        )
    if not isinstance(mask, Tensor) or mask.dtype is not _dtypes.bool_:
        raise RuntimeError("masked_fill: expected a bool mask tensor")
    r = where(mask, value, x)
    if r.shape != x.shape:
        raise RuntimeError(
            f"masked_fill: the mask of shape {mask.shape} does not broadcast to {x.shape}"
        )
    return _cast(r, x)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:  # noqa: A002
    """The 1-D tensor of the elements of ``input`` where ``mask`` is True (both broadcast)."""
    x = _tensor_arg(input)
    if not isinstance(mask, Tensor) or mask.dtype is not _dtypes.bool_:
        raise RuntimeError("masked_select: expected a bool mask tensor")
    from .arrange import broadcast_shapes

    shape = broadcast_shapes(x.shape, mask.shape)
    m = x._xp.broadcast_to(mask._data, shape)
    return getitem(broadcast_to(x, shape), Tensor._wrap(m, x._xp))
