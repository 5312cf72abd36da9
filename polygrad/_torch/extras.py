# ruff: noqa: A002
"""More of torch's top-level functions over polygrad's ops: ``finfo``/``iinfo`` (with torch's
``tiny`` and ``resolution``), ``meshgrid``, ``broadcast_tensors``, ``tile``, ``tensordot``,
``count_nonzero``, ``var_mean``/``std_mean``, ``hstack``/``vstack``, ``is_floating_point``,
``is_complex``, ``is_nonzero``, and torch's ``Tensor.to`` (``to(other)``, ``to(device, dtype)``).
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

from .. import _dtypes
from .. import ops as _ops
from .._creation import get_default_dtype
from .._tensor import Tensor
from ..array_api import finfo as _finfo
from ..array_api import iinfo as _iinfo
from ..array_api import linalg as _la
from ..ops import methods as _methods
from . import _dim, torch_function
from . import functions as F


def finfo(type: Any = None) -> SimpleNamespace:
    """torch.finfo: ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``),
    ``resolution`` and ``dtype`` of a float dtype (the default dtype when omitted)."""
    info = _finfo(get_default_dtype() if type is None else type)
    return SimpleNamespace(
        bits=info.bits, eps=info.eps, max=info.max, min=info.min, tiny=info.smallest_normal,
        smallest_normal=info.smallest_normal, resolution=10.0 ** -math.floor(-math.log10(info.eps)),
        dtype=info.dtype,
    )  # fmt: skip


def iinfo(type: Any) -> Any:
    """torch.iinfo: ``bits``, ``max``, ``min`` and ``dtype`` of an integer dtype."""
    return _iinfo(type)


def is_floating_point(input: Tensor) -> bool:
    """torch.is_floating_point."""
    return input.dtype.kind == "float"


def is_complex(input: Tensor) -> bool:
    """torch.is_complex."""
    return input.dtype.kind == "complex"


def is_nonzero(input: Tensor) -> bool:
    """torch.is_nonzero: the truth of a one-element tensor (RuntimeError otherwise)."""
    if input.numel() != 1:
        what = "no values" if not input.numel() else "more than one value"
        raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
    return bool(input.reshape(()).item())


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """torch.meshgrid: 'ij' indexing by default (torch's; it warns when omitted)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return tuple(_ops.meshgrid(*tensors, indexing=indexing))


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """torch.broadcast_tensors."""
    return tuple(_ops.broadcast_arrays(*tensors))


def tile(input: Tensor, dims: Any) -> Tensor:
    """torch.tile."""
    return _ops.tile(input, tuple(dims))


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """torch.tensordot: ``dims`` an int or two lists of axes."""
    return _la.tensordot(a, b, axes=dims if isinstance(dims, int) else tuple(map(tuple, dims)))


@torch_function
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """torch.count_nonzero (int64)."""
    return _ops.count_nonzero(input, axis=_dim(dim))


@torch_function
def var_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: float | None = None) -> tuple[Tensor, Tensor]:  # noqa: E501
    """torch.var_mean: ``(var, mean)``, unbiased by default."""
    v = F.var(input, dim, unbiased, keepdim, correction=correction)
    return v, F.mean(input, dim=dim, keepdim=keepdim)


@torch_function
def std_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *, correction: float | None = None) -> tuple[Tensor, Tensor]:  # noqa: E501
    """torch.std_mean: ``(std, mean)``, unbiased by default."""
    s = F.std(input, dim, unbiased, keepdim, correction=correction)
    return s, F.mean(input, dim=dim, keepdim=keepdim)


def hstack(tensors: Any) -> Tensor:
    """torch.hstack: along dim 1, or dim 0 for 1-D tensors."""
    tensors = list(tensors)
    return _ops.concat(tensors, axis=0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Any) -> Tensor:
    """torch.vstack: 1-D tensors become rows, then along dim 0."""
    return _ops.concat([t.reshape(1, -1) if t.ndim == 1 else t for t in tensors], axis=0)


def to(self: Tensor, *args: Any, non_blocking: bool = False, copy: bool = False,
       memory_format: Any = None, **kwargs: Any) -> Tensor:  # fmt: skip
    """torch's Tensor.to: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``
    (other's dtype and device), ``copy=True`` for a new tensor; ``non_blocking`` and
    ``memory_format`` accepted with no effect (polygrad copies synchronously, has one layout)."""
    if args and isinstance(args[0], Tensor):
        other, args = args[0], args[1:]
        kwargs.setdefault("device", other.device)
        args = (other.dtype, *args)
    elif len(args) == 2 and not isinstance(args[0], _dtypes.DType):
        kwargs.setdefault("device", args[0])
        args = args[1:]
    out = _methods._to(self, *args, **kwargs)
    return out.clone() if copy and out is self else out


for _fn in (is_floating_point, is_complex, is_nonzero, tile, count_nonzero):
    setattr(Tensor, _fn.__name__, _fn)
Tensor.to = to
