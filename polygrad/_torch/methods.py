# ruff: noqa: E501, A001, A002, A004
"""Tensor methods with torch's names and arguments: the ``functions`` adapters as methods, sizes
as varargs, ``new_*``, in-place forms, ``__format__``, ``register_hook``."""

from __future__ import annotations

from typing import Any

from .. import _autograd, _creation, _inplace
from .. import _tensor as _tensor_module
from .. import ops as _ops
from .._tensor import Tensor
from . import creation as _cr
from . import functions as F
from . import sizes


def _shape_method(fn: Any, name: str) -> Any:
    def method(self: Tensor, *shape: Any) -> Tensor:
        return fn(self, sizes(shape, name))

    method.__name__ = name
    return method


def _expand(self: Tensor, *shape: Any) -> Tensor:
    s = sizes(shape, "expand")
    lead = len(s) - self.ndim
    full = tuple(self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(s))
    return _ops.broadcast_to(self, full)


def _repeat(self: Tensor, *repeats: Any) -> Tensor:
    r = sizes(repeats, "repeat")
    if len(r) < self.ndim:
        raise RuntimeError(
            f"repeat: the number of repeats ({len(r)}) cannot be smaller than the number of "
            f"dimensions of the tensor ({self.ndim})"
        )
    return _ops.tile(self, r)


def _new(fill: Any) -> Any:
    def method(self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: E501
        shape = sizes(size, "new")
        return _creation.full(shape, fill, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)  # noqa: E501

    return method


def _new_full(self: Tensor, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: E501
    return _creation.full(tuple(size), fill_value, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)  # noqa: E501


def _new_tensor(self: Tensor, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:  # noqa: E501
    return _creation.tensor(data.detach() if isinstance(data, Tensor) else data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)  # noqa: E501


def _format(self: Tensor, spec: str) -> str:
    if self.ndim == 0:
        return self.item().__format__(spec)
    return object.__format__(self, spec)


def _element_size(self: Tensor) -> int:
    return self.dtype.bits // 8


def _inplace_method(name: str, fn: Any, needs_old: bool) -> Any:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return _inplace.inplace(self, name, lambda src: fn(src, *args, **kwargs), needs_old)

    method.__name__ = name
    method.__doc__ = f"In-place ``{name[:-1]}``; returns self."
    return method


_FROM_FUNCTIONS = (
    "sum mean prod amax amin logsumexp var std max min argmax argmin all any softmax "
    "log_softmax cumsum cumprod argsort sort topk median nanmedian kthvalue mode narrow norm split chunk unbind "
    "squeeze unsqueeze flatten transpose movedim t roll flip tril triu diagonal diag trace "
    "outer mm bmm mv dot addmm baddbmm eq ne lt le gt ge isclose allclose clamp clip clamp_min "
    "clamp_max lerp nonzero repeat_interleave gather scatter scatter_add index_select "
    "index_add index_fill masked_fill masked_select"
).split()
for _name in _FROM_FUNCTIONS:
    setattr(Tensor, _name, getattr(F, _name))

_METHODS = {
    "reshape": _shape_method(_ops.reshape, "reshape"),
    "view": _shape_method(_ops.reshape, "view"),
    "permute": _shape_method(_ops.permute_dims, "permute"),
    "expand": _expand,
    "repeat": _repeat,
    "swapaxes": F.transpose,
    "swapdims": F.transpose,
    "view_as": lambda self, other: _ops.reshape(self, other.shape),
    "reshape_as": lambda self, other: _ops.reshape(self, other.shape),
    "expand_as": lambda self, other: _ops.broadcast_to(self, other.shape),
    "type_as": lambda self, other: _ops.astype(self, other.dtype, copy=False),
    "contiguous": lambda self, memory_format=None: self,
    "dim": lambda self: self.ndim,
    "nelement": Tensor.numel,
    "element_size": _element_size,
    "new_zeros": _new(0),
    "new_ones": _new(1),
    "new_empty": _new(0),
    "new_full": _new_full,
    "new_tensor": _new_tensor,
    "__format__": _format,
    "register_hook": _autograd.register_hook,
    "square": _ops.square,
    "rsqrt": lambda self: _ops.divide(1.0, _ops.sqrt(self)),
    "reciprocal": _ops.reciprocal,
    "neg": _ops.negative,
    "negative": _ops.negative,
    "floor": _ops.floor,
    "ceil": _ops.ceil,
    "round": _ops.round,
    "multinomial": _cr.multinomial,
    "bernoulli": _cr.bernoulli,
}
for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
Tensor._version = property(_tensor_module.version, doc="in-place writes so far (torch)")

_IN_PLACE = {
    "masked_fill_": (F.masked_fill, False),
    "scatter_": (F.scatter, False),
    "scatter_add_": (F.scatter_add, False),
    "index_add_": (F.index_add, False),
    "index_fill_": (F.index_fill, False),
    "clamp_": (F.clamp, True),
    "clip_": (F.clamp, True),
    "clamp_min_": (F.clamp_min, True),
    "clamp_max_": (F.clamp_max, True),
    "lerp_": (F.lerp, True),
    "tril_": (F.tril, False),
    "triu_": (F.triu, False),
}
for _name, (_fn, _old) in _IN_PLACE.items():
    setattr(Tensor, _name, _inplace_method(_name, _fn, _old))
